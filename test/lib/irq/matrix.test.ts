// SPDX-License-Identifier: GPL-2.0-only
// kernel/irq/matrix.c on its own: the per-CPU bitmap allocator behind the
// x86 vector domain (online/offline, system bits, regular, managed and
// reserved allocations), its debugfs rendering and its trace events.

import { expect } from "chai";
import { createMachine, type Machine } from "../../../lib/machine.ts";
import { K } from "../../../lib/kernel/kernel.ts";
import { EINVAL, ENOSPC } from "../../../lib/kernel/errno.ts";
import { cpumask_from, cpumask_of } from "../../../lib/kernel/cpumask.ts";
import {
  irq_alloc_matrix,
  irq_matrix_alloc,
  irq_matrix_alloc_managed,
  irq_matrix_assign,
  irq_matrix_assign_system,
  irq_matrix_available,
  irq_matrix_debug_show,
  irq_matrix_free,
  irq_matrix_offline,
  irq_matrix_online,
  irq_matrix_remove_managed,
  irq_matrix_remove_reserved,
  irq_matrix_reserve,
  irq_matrix_reserve_managed,
  irq_matrix_reserved,
  irq_matrix_allocated,
  type irq_matrix,
} from "../../../lib/irq/matrix.ts";
import type { seq_file } from "../../../lib/irq/irq.ts";
import { vsprintf } from "../../../lib/kernel/vsprintf.ts";
import { dmesgLines, expectSplat } from "../../harness.ts";

/** A matrix like x86's (256 bits, [0x20, 0xec)), with the given system bits, online on `online` CPUs. */
async function setup(cpus: number, online: number[], system: number[] = [0x80]): Promise<{ m: Machine; mx: irq_matrix }> {
  const m = await createMachine({ cpus, arch: "none" });
  const mx = await m.run(() => {
    const mx = irq_alloc_matrix(256, 0x20, 0xec);
    for (const b of system) irq_matrix_assign_system(mx, b, false);
    for (const c of online) K.sim.on(K.sim.cpus[c]!, () => irq_matrix_online(mx));
    return mx;
  });
  return { m, mx };
}

function on<T>(cpu: number, fn: () => T): T {
  return K.sim.on(K.sim.cpus[cpu]!, fn);
}

function show(mx: irq_matrix, ind = 1): string {
  let out = "";
  const sf = {
    printf(fmt: string, ...args: unknown[]) {
      out += vsprintf(fmt, args);
    },
    puts(s: string) {
      out += s;
    },
  } as unknown as seq_file;
  irq_matrix_debug_show(sf, mx, ind);
  return out;
}

function events(m: Machine, from = 0): string[] {
  return m
    .trace()
    .slice(from)
    .filter((r) => r.kind === "tp" && r.system === "irq_matrix")
    .map((r) => (r.kind === "tp" ? `${r.event}: ${r.text}` : ""));
}

describe("lib/irq/matrix: online, offline and system bits", () => {
  it("irq_matrix_online() makes alloc_size minus the system bits in range available once; irq_matrix_offline() takes the CPU's count out of the global one", async () => {
    const { m, mx } = await setup(2, [], [0x80, 0xef, 0xff]);
    const got = await m.run(() => {
      on(0, () => irq_matrix_online(mx));
      const one = { g: mx.global_available, c: mx.maps[0]!.available, online: mx.online_maps };
      on(1, () => irq_matrix_online(mx));
      const bit = on(1, () => irq_matrix_alloc(mx, cpumask_of(1), false, { cpu: -1 }));
      on(1, () => irq_matrix_offline(mx));
      const off = { g: mx.global_available, c: mx.maps[1]!.available, online: mx.online_maps, total: mx.total_allocated };
      // a CPU comes back with what it had: its map is initialized once
      on(1, () => irq_matrix_online(mx));
      return { one, bit, off, back: { g: mx.global_available, c: mx.maps[1]!.available } };
    });
    // only 0x80 lies in [0x20, 0xec)
    expect(mx.systembits_inalloc).to.equal(1);
    expect(got.one).to.deep.equal({ g: 203, c: 203, online: 1 });
    expect(got.bit).to.equal(0x20);
    expect(got.off).to.deep.equal({ g: 203, c: 202, online: 1, total: 1 });
    expect(got.back).to.deep.equal({ g: 405, c: 202 });
  });

  it("irq_matrix_online() of a CPU already online is a BUG", async () => {
    const { m, mx } = await setup(2, [0]);
    await expectSplat(m, /kernel BUG at kernel\/irq\/matrix\.c/, () => m.run(() => on(0, () => irq_matrix_online(mx))));
  });

  it("irq_matrix_assign_system() once a CPU map is online (without replace) or on a second online map is a BUG", async () => {
    const one = await setup(2, [0]);
    await expectSplat(one.m, /kernel BUG at kernel\/irq\/matrix\.c/, () => one.m.run(() => irq_matrix_assign_system(one.mx, 0x30, false)));
    const two = await setup(2, [0, 1]);
    await expectSplat(two.m, /kernel BUG at kernel\/irq\/matrix\.c/, () => two.m.run(() => irq_matrix_assign_system(two.mx, 0x30, true)));
  });

  it("irq_matrix_assign_system(replace) turns this CPU's allocated bit into a system bit (lapic_assign_legacy_vector())", async () => {
    const { m, mx } = await setup(2, [0]);
    const got = await m.run(() => {
      on(0, () => irq_matrix_assign(mx, 0x32));
      const before = { act: mx.maps[0]!.allocated, total: mx.total_allocated, inalloc: mx.systembits_inalloc };
      on(0, () => irq_matrix_assign_system(mx, 0x32, true));
      return { before, after: { act: mx.maps[0]!.allocated, total: mx.total_allocated, inalloc: mx.systembits_inalloc, sys: mx.system_map[0x32] } };
    });
    expect(got.before).to.deep.equal({ act: 1, total: 1, inalloc: 1 });
    expect(got.after).to.deep.equal({ act: 0, total: 0, inalloc: 2, sys: 1 });
  });

  it("irq_matrix_assign() marks a preallocated bit of this CPU; assigning it twice or outside the range only warns", async () => {
    const { m, mx } = await setup(2, [0, 1]);
    m.expectSplat(/WARNING: .* irq_matrix_assign/, 2);
    const got = await m.run(() => {
      on(1, () => irq_matrix_assign(mx, 0x30));
      const once = { c: mx.maps[1]!.available, act: mx.maps[1]!.allocated, g: mx.global_available, total: mx.total_allocated };
      on(1, () => irq_matrix_assign(mx, 0x30));
      on(1, () => irq_matrix_assign(mx, 0xf0));
      // the assigned bit is never handed out by irq_matrix_alloc()
      const bits = new Set<number>();
      for (let i = 0; i < 5; i++) bits.add(on(1, () => irq_matrix_alloc(mx, cpumask_of(1), false, { cpu: -1 })));
      return { once, after: { c: mx.maps[1]!.available, act: mx.maps[1]!.allocated }, bits: [...bits] };
    });
    expect(got.once).to.deep.equal({ c: 202, act: 1, g: 405, total: 1 });
    expect(got.bits).to.deep.equal([0x20, 0x21, 0x22, 0x23, 0x24]);
    expect(got.after).to.deep.equal({ c: 197, act: 6 });
  });
});

describe("lib/irq/matrix: regular allocations", () => {
  it("irq_matrix_alloc() picks the online CPU with the most available bits (the first on a tie) and its lowest free bit", async () => {
    const { m, mx } = await setup(4, [0, 1, 2, 3]);
    const got = await m.run(() => {
      const picks: [number, number][] = [];
      for (let i = 0; i < 6; i++) {
        const out = { cpu: -1 };
        const bit = irq_matrix_alloc(mx, cpumask_from([1, 2, 3]), false, out);
        picks.push([out.cpu, bit]);
      }
      return picks;
    });
    expect(got).to.deep.equal([
      [1, 0x20],
      [2, 0x20],
      [3, 0x20],
      [1, 0x21],
      [2, 0x21],
      [3, 0x21],
    ]);
  });

  it("irq_matrix_alloc() of an empty mask is -EINVAL, of offline CPUs only -ENOSPC, of a full CPU -ENOSPC", async () => {
    const { m, mx } = await setup(4, [0, 1]);
    const got = await m.run(() => {
      const empty = irq_matrix_alloc(mx, cpumask_from([]), false, { cpu: -1 });
      const offline = irq_matrix_alloc(mx, cpumask_from([2, 3]), false, { cpu: -1 });
      let n = 0;
      while (irq_matrix_alloc(mx, cpumask_of(0), false, { cpu: -1 }) >= 0) n++;
      const full = irq_matrix_alloc(mx, cpumask_of(0), false, { cpu: -1 });
      return { empty, offline, n, full, c: mx.maps[0]!.available };
    });
    expect(got).to.deep.equal({ empty: -EINVAL, offline: -ENOSPC, n: 203, full: -ENOSPC, c: 0 });
  });

  it("irq_matrix_free() returns a regular bit to its CPU; on an offline CPU the global counts are left alone", async () => {
    const { m, mx } = await setup(2, [0, 1]);
    const got = await m.run(() => {
      const out = { cpu: -1 };
      const a = irq_matrix_alloc(mx, cpumask_of(1), false, out);
      const b = irq_matrix_alloc(mx, cpumask_of(1), false, out);
      irq_matrix_free(mx, 1, a, false);
      const freed = { c: mx.maps[1]!.available, g: mx.global_available, total: mx.total_allocated };
      on(1, () => irq_matrix_offline(mx));
      irq_matrix_free(mx, 1, b, false);
      return { freed, offline: { c: mx.maps[1]!.available, act: mx.maps[1]!.allocated, g: mx.global_available, total: mx.total_allocated } };
    });
    expect(got.freed).to.deep.equal({ c: 202, g: 405, total: 1 });
    // kernel/irq/matrix.c counts total_allocated only for online maps
    expect(got.offline).to.deep.equal({ c: 203, act: 0, g: 203, total: 1 });
  });

  it("irq_matrix_free() of a bit that is not allocated, or outside the range, warns and changes nothing", async () => {
    const { m, mx } = await setup(2, [0, 1]);
    m.expectSplat(/WARNING: .* irq_matrix_free/, 2);
    const got = await m.run(() => {
      const before = JSON.stringify(mx.maps[0]);
      irq_matrix_free(mx, 0, 0x40, false);
      irq_matrix_free(mx, 0, 0x10, false);
      return before === JSON.stringify(mx.maps[0]);
    });
    expect(got).to.equal(true);
  });
});

describe("lib/irq/matrix: managed reservations", () => {
  it("irq_matrix_reserve_managed() reserves one bit on every CPU of the mask, offline ones included, and only online ones count against the global availability", async () => {
    const { m, mx } = await setup(4, [0, 1, 2]);
    const got = await m.run(() => {
      const ret = irq_matrix_reserve_managed(mx, cpumask_from([1, 3]));
      return { ret, cpus: mx.maps.map((c) => [c.managed, c.available]), g: mx.global_available };
    });
    expect(got.ret).to.equal(0);
    expect(got.cpus).to.deep.equal([
      [0, 203],
      [1, 202],
      [0, 203],
      [1, 0],
    ]);
    expect(got.g).to.equal(3 * 203 - 1);
    // CPU3 comes online with its reservation already taken out
    await m.run(() => on(3, () => irq_matrix_online(mx)));
    expect(mx.maps[3]!.available).to.equal(202);
  });

  it("a failing irq_matrix_reserve_managed() hands the earlier CPUs' bits back through irq_matrix_remove_managed() and returns -ENOSPC", async () => {
    const { m, mx } = await setup(3, [0, 1, 2]);
    const got = await m.run(() => {
      // fill CPU2
      while (irq_matrix_alloc(mx, cpumask_of(2), false, { cpu: -1 }) >= 0);
      const before = mx.maps.map((c) => ({ ...c, managed_map: [...c.managed_map].join(""), alloc_map: [...c.alloc_map].join("") }));
      const g = mx.global_available;
      const from = m.trace().length;
      const ret = irq_matrix_reserve_managed(mx, cpumask_from([0, 1, 2]));
      const after = mx.maps.map((c) => ({ ...c, managed_map: [...c.managed_map].join(""), alloc_map: [...c.alloc_map].join("") }));
      return { ret, same: JSON.stringify(before) === JSON.stringify(after), g, g2: mx.global_available, ev: events(m, from).map((e) => e.replace(/ avl=.*/, "")) };
    });
    expect(got.ret).to.equal(-ENOSPC);
    expect(got.same).to.equal(true);
    expect(got.g2).to.equal(got.g);
    expect(got.ev).to.deep.equal([
      "irq_matrix_reserve_managed: bit=32 cpu=0 online=1",
      "irq_matrix_reserve_managed: bit=32 cpu=1 online=1",
      "irq_matrix_remove_managed: bit=32 cpu=0 online=1",
      "irq_matrix_remove_managed: bit=32 cpu=1 online=1",
    ]);
  });

  it("irq_matrix_remove_managed() warns for a CPU with no managed bit left and goes on with the next CPU of the mask", async () => {
    const { m, mx } = await setup(2, [0, 1]);
    m.expectSplat(/WARNING: .* irq_matrix_remove_managed/);
    const got = await m.run(() => {
      irq_matrix_reserve_managed(mx, cpumask_of(1));
      irq_matrix_remove_managed(mx, cpumask_from([0, 1]));
      return mx.maps.map((c) => [c.managed, c.available]);
    });
    expect(got).to.deep.equal([
      [0, 203],
      [0, 203],
    ]);
  });

  it("irq_matrix_alloc_managed() takes a reserved bit from the CPU with the fewest managed allocations (the last on a tie); nothing reserved or an empty mask fails", async () => {
    const { m, mx } = await setup(3, [0, 1, 2]);
    const got = await m.run(() => {
      const none = irq_matrix_alloc_managed(mx, cpumask_from([0, 1, 2]), { cpu: -1 });
      const empty = irq_matrix_alloc_managed(mx, cpumask_from([]), { cpu: -1 });
      irq_matrix_reserve_managed(mx, cpumask_from([0, 1, 2]));
      irq_matrix_reserve_managed(mx, cpumask_from([0, 1, 2]));
      const picks: [number, number][] = [];
      for (let i = 0; i < 3; i++) {
        const out = { cpu: -1 };
        const bit = irq_matrix_alloc_managed(mx, cpumask_from([0, 1]), out);
        picks.push([out.cpu, bit]);
      }
      const exhausted = irq_matrix_alloc_managed(mx, cpumask_of(1), { cpu: -1 });
      return { none, empty, picks, exhausted, cpus: mx.maps.map((c) => [c.managed, c.managed_allocated, c.available, c.allocated]), g: mx.global_available };
    });
    expect(got.none).to.equal(-ENOSPC);
    expect(got.empty).to.equal(-EINVAL);
    expect(got.picks).to.deep.equal([
      [1, 0x20],
      [0, 0x20],
      [1, 0x21],
    ]);
    expect(got.exhausted).to.equal(-ENOSPC);
    // managed allocations do not change the availability: the reservation did
    expect(got.cpus).to.deep.equal([
      [2, 1, 201, 1],
      [2, 2, 201, 2],
      [2, 0, 201, 0],
    ]);
    expect(got.g).to.equal(3 * 201);
  });

  it("irq_matrix_free() of a managed bit returns it to the CPU's reservation, not to the available count", async () => {
    const { m, mx } = await setup(2, [0, 1]);
    const got = await m.run(() => {
      irq_matrix_reserve_managed(mx, cpumask_of(1));
      const out = { cpu: -1 };
      const bit = irq_matrix_alloc_managed(mx, cpumask_of(1), out);
      irq_matrix_free(mx, 1, bit, true);
      const again = irq_matrix_alloc_managed(mx, cpumask_of(1), out);
      return { bit, again, c: [mx.maps[1]!.managed, mx.maps[1]!.managed_allocated, mx.maps[1]!.available], g: mx.global_available };
    });
    expect(got.again).to.equal(got.bit);
    expect(got.c).to.deep.equal([1, 1, 202]);
    expect(got.g).to.equal(405);
  });
});

describe("lib/irq/matrix: global reservations", () => {
  it("irq_matrix_reserve() warns 'Interrupt reservation exceeds available resources' when the reservations reach the available count; irq_matrix_alloc(reserved) converts one", async () => {
    const { m, mx } = await setup(1, [0], [0x80]);
    const got = await m.run(() => {
      for (let i = 0; i < 205; i++) irq_matrix_reserve(mx);
      const r = irq_matrix_reserved(mx);
      const out = { cpu: -1 };
      irq_matrix_alloc(mx, cpumask_of(0), true, out);
      irq_matrix_remove_reserved(mx);
      return { r, after: [irq_matrix_reserved(mx), irq_matrix_available(mx, false)] };
    });
    // the check is for equality: it fires once, on the 204th reservation
    expect(dmesgLines(m).filter((l) => l === "Interrupt reservation exceeds available resources")).to.have.length(1);
    expect(got.r).to.equal(205);
    expect(got.after).to.deep.equal([203, 202]);
  });

  it("irq_matrix_available(cpudown) leaves out this CPU; irq_matrix_allocated() counts this CPU's non-managed bits", async () => {
    const { m, mx } = await setup(2, [0, 1]);
    const got = await m.run(() => {
      irq_matrix_alloc(mx, cpumask_of(1), false, { cpu: -1 });
      irq_matrix_reserve_managed(mx, cpumask_of(1));
      irq_matrix_alloc_managed(mx, cpumask_of(1), { cpu: -1 });
      return on(1, () => ({ all: irq_matrix_available(mx, false), down: irq_matrix_available(mx, true), allocated: irq_matrix_allocated(mx) }));
    });
    expect(got).to.deep.equal({ all: 203 + 201, down: 203, allocated: 1 });
  });
});

describe("lib/irq/matrix: debugfs and trace events", () => {
  it("irq_matrix_debug_show() prints the counters, the system bits and one row per online CPU as kernel/irq/matrix.c does", async () => {
    const { m, mx } = await setup(3, [0, 1, 2], [0x80, 0xec, 0xef, 0xf0, 0xf1, 0xf2]);
    await m.run(() => {
      for (let i = 0; i < 3; i++) irq_matrix_alloc(mx, cpumask_of(0), false, { cpu: -1 });
      irq_matrix_alloc(mx, cpumask_of(2), false, { cpu: -1 });
      irq_matrix_reserve_managed(mx, cpumask_from([1, 2]));
      irq_matrix_alloc_managed(mx, cpumask_of(2), { cpu: -1 });
      irq_matrix_reserve(mx);
      on(1, () => irq_matrix_offline(mx));
    });
    expect(show(mx, 1)).to.equal(
      [
        "Online bitmaps:        2",
        "Global available:    401",
        "Global reserved:       1",
        "Total allocated:       5",
        "System: 6: 128,236,239-242",
        " | CPU | avl | man | mac | act | vectors",
        "     0   200     0     0    3  32-34",
        "     2   201     1     1    2  32-33",
        "",
      ].join("\n"),
    );
    // the x86 vector domain's file indents by one more level per parent
    expect(show(mx, 4).split("\n")[5]).to.equal("    | CPU | avl | man | mac | act | vectors");
  });

  it("every irq_matrix event prints the TP_printk() layout of include/trace/events/irq_matrix.h", async () => {
    const { m, mx } = await setup(2, [], [0x80]);
    await m.run(() => {
      on(0, () => irq_matrix_online(mx));
      on(1, () => irq_matrix_online(mx));
      irq_matrix_reserve(mx);
      const out = { cpu: -1 };
      const bit = irq_matrix_alloc(mx, cpumask_of(1), true, out);
      irq_matrix_free(mx, 1, bit, false);
      irq_matrix_remove_reserved(mx);
      irq_matrix_reserve_managed(mx, cpumask_of(0));
      const mb = irq_matrix_alloc_managed(mx, cpumask_of(0), out);
      irq_matrix_free(mx, 0, mb, true);
      irq_matrix_remove_managed(mx, cpumask_of(0));
      on(1, () => irq_matrix_assign(mx, 0x31));
      on(1, () => irq_matrix_offline(mx));
    });
    const shapes = new Map<string, string>();
    for (const e of events(m)) {
      const [name, text] = [e.slice(0, e.indexOf(":")), e.slice(e.indexOf(": ") + 2)];
      shapes.set(name, text.replace(/-?\d+/g, "#"));
    }
    const global = "online_maps=# global_avl=#, global_rsvd=#, total_alloc=#";
    const cpu = "bit=# cpu=# online=# avl=# alloc=# managed=# online_maps=# global_avl=#, global_rsvd=#, total_alloc=#";
    expect(Object.fromEntries(shapes)).to.deep.equal({
      irq_matrix_assign_system: `bit=# ${global}`,
      irq_matrix_online: global,
      irq_matrix_reserve: global,
      irq_matrix_alloc: cpu,
      irq_matrix_free: cpu,
      irq_matrix_remove_reserved: global,
      irq_matrix_reserve_managed: cpu,
      irq_matrix_alloc_managed: cpu,
      irq_matrix_remove_managed: cpu,
      irq_matrix_assign: cpu,
      irq_matrix_offline: global,
    });
    // the values are the state after the change, as TP_fast_assign() samples it
    expect(events(m).find((e) => e.startsWith("irq_matrix_alloc:"))).to.equal(
      "irq_matrix_alloc: bit=32 cpu=1 online=1 avl=202 alloc=1 managed=0 online_maps=2 global_avl=405, global_rsvd=0, total_alloc=1",
    );
  });
});
