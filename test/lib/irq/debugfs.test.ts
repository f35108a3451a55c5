// SPDX-License-Identifier: GPL-2.0-only
// kernel/irq/debugfs.c and the domain files of kernel/irq/irqdomain.c:
// /sys/kernel/debug/irq/irqs/<N> and domains/<name> (C59, C60).

import { expect } from "chai";
import { createMachine, type Machine } from "../../../lib/machine.ts";
import { seq_printf, type seq_file } from "../../../lib/kernel/seq_file.ts";
import { handle_edge_irq } from "../../../lib/irq/flow.ts";
import { irq_alloc_descs, irq_to_desc } from "../../../lib/irq/irqdesc.ts";
import { IRQ_HANDLED } from "../../../lib/irq/interrupt.ts";
import { free_irq, request_irq } from "../../../lib/irq/manage.ts";
import { irq_set_status_flags } from "../../../lib/irq/chip.ts";
import { irq_debug_write } from "../../../lib/irq/debugfs.ts";
import {
  IRQ_NOAUTOEN,
  IRQ_TYPE_EDGE_RISING,
  IRQCHIP_AFFINITY_PRE_STARTUP,
  IRQCHIP_MOVE_DEFERRED,
  IRQCHIP_ONESHOT_SAFE,
  IRQCHIP_SKIP_SET_WAKE,
  irqd_set_trigger_type,
  type irq_chip,
  type irq_data,
} from "../../../lib/irq/irq.ts";
import {
  IRQ_DOMAIN_FLAG_ISOLATED_MSI,
  IRQ_DOMAIN_FLAG_MSI,
  IRQ_DOMAIN_FLAG_NONCORE,
  IRQ_DOMAIN_FLAG_DESTROY_GC,
  irq_create_mapping,
  irq_domain_alloc_irqs,
  irq_domain_alloc_irqs_parent,
  irq_domain_alloc_named_fwnode,
  irq_domain_create_hierarchy,
  irq_domain_create_tree,
  irq_domain_free_irqs_common,
  irq_domain_instantiate,
  irq_domain_remove,
  irq_domain_set_hwirq_and_chip,
  irq_domain_set_info,
  irq_domain_update_bus_token,
  irq_set_default_domain,
  type irq_domain,
} from "../../../lib/irq/irqdomain.ts";
import { irq_domain_create_sim } from "../../../lib/irq/irq_sim.ts";
import { set_affinity_highest, settle } from "./domain_fixtures.ts";

function dom(x: irq_domain | number | null): irq_domain {
  if (x === null || typeof x === "number") throw new Error(`no domain: ${String(x)}`);
  return x;
}

/** A two-level hierarchy TOPD (print_chip chip, ONESHOT_SAFE) over VEC (vector-like chip with debug_show). */
async function two_level(): Promise<{ R: irq_domain; T: irq_domain; virq: number }> {
  const vchip: irq_chip = {
    name: "VEC",
    flags: IRQCHIP_SKIP_SET_WAKE | IRQCHIP_MOVE_DEFERRED | IRQCHIP_AFFINITY_PRE_STARTUP,
    irq_mask() {},
    irq_unmask() {},
    irq_ack() {},
    irq_set_affinity: set_affinity_highest,
  };
  const tchip: irq_chip = {
    name: "TOP",
    flags: IRQCHIP_ONESHOT_SAFE,
    irq_mask() {},
    irq_unmask() {},
    irq_ack() {},
    irq_set_affinity: (d, dest, f) => d.parent_data!.chip.irq_set_affinity!(d.parent_data!, dest, f),
    irq_print_chip: (d, p) => p.printf("TOP-%lu", d.hwirq),
  };
  const R = dom(
    await settle(
      irq_domain_create_tree(irq_domain_alloc_named_fwnode("VEC"), {
        alloc(d, v, nr) {
          for (let i = 0; i < nr; i++) irq_domain_set_hwirq_and_chip(d, v + i, 0x21 + i, vchip, null);
          return 0;
        },
        free: irq_domain_free_irqs_common,
        debug_show(m, _d, irqd, ind) {
          if (irqd) seq_printf(m as seq_file, "%*svector: %u\n", ind, "", 0x21);
          else seq_printf(m as seq_file, "%*smatrix: ok\n", ind, "");
        },
      }, null),
    ),
  );
  const T = dom(
    await settle(
      irq_domain_create_hierarchy(R, IRQ_DOMAIN_FLAG_MSI, 0, irq_domain_alloc_named_fwnode("TOPD"), {
        alloc(d, v, nr, arg) {
          const r = irq_domain_alloc_irqs_parent(d, v, nr, arg);
          if (r) return r;
          irq_domain_set_info(d, v, 7, tchip, null, handle_edge_irq, null, "edge");
          return 0;
        },
        free: irq_domain_free_irqs_common,
      }, null),
    ),
  );
  const virq = await settle(irq_domain_alloc_irqs(T, 1, -1, null));
  return { R, T, virq };
}

async function boot(): Promise<Machine> {
  return createMachine({ cpus: 4 });
}

describe("lib/irq/debugfs irqs/<N>", () => {
  it("C59 irqs/<N> of a started two-level interrupt: labels, decoded flags and per-level indentation (golden)", async () => {
    const m = await boot();
    let virq = 0;
    await m.run(async () => {
      const s = await two_level();
      virq = s.virq;
      irqd_set_trigger_type(irq_to_desc(virq)!.irq_data, IRQ_TYPE_EDGE_RISING);
      expect(await request_irq(virq, () => IRQ_HANDLED, 0, "dev", 1)).to.equal(0);
      irq_to_desc(virq)!.dev_name = "0000:00:02.0";
      irq_to_desc(virq)!.istate |= 0x40;
    });
    const d = irq_to_desc(virq)!;
    const status = d.status_use_accessors;
    expect(m.debugfsIrq(virq)).to.equal(
      [
        "handler:  handle_edge_irq",
        "device:   0000:00:02.0",
        `status:   0x${status.toString(16).padStart(8, "0")}`,
        ...(status & 0x400 ? ["            _IRQ_NOPROBE"] : []),
        // IRQS_SYSFS (0x4000, irq_sysfs_add()) has no name in irqdesc_istates[]
        "istate:   0x00004040",
        "            IRQS_REPLAY",
        "ddepth:   0",
        "wdepth:   0",
        "dstate:   0x02400201",
        "            IRQ_TYPE_EDGE_RISING",
        "            IRQD_ACTIVATED",
        "            IRQD_IRQ_STARTED",
        "            IRQD_DEFAULT_TRIGGER_SET",
        "node:     -1",
        "affinity: 0-3",
        "effectiv: 3",
        "pending:  ",
        "domain:  TOPD",
        " hwirq:   0x7",
        " chip:    TOP-7",
        "  flags:   0x20",
        "             IRQCHIP_ONESHOT_SAFE",
        " parent:",
        "    domain:  VEC",
        "     hwirq:   0x21",
        "     chip:    VEC",
        "      flags:   0x1410",
        "                 IRQCHIP_SKIP_SET_WAKE",
        "                 IRQCHIP_MOVE_DEFERRED",
        "     vector: 33",
        "",
      ].join("\n"),
    );
  });

  it("C59 a fresh descriptor shows handle_bad_irq, (null) device, decoded status and disabled/masked state; a NULL chip line is not indented", async () => {
    const m = await boot();
    let fresh = 0;
    let virq = 0;
    await m.run(async () => {
      fresh = irq_alloc_descs(-1, 1, 1, 0);
      irq_set_status_flags(fresh, IRQ_NOAUTOEN);
      const s = await two_level();
      virq = s.virq;
      // a level whose chip is NULL, as inner levels are during an allocation
      (irq_to_desc(virq)!.irq_data.parent_data as irq_data).chip = null as unknown as irq_chip;
    });
    expect(m.debugfsIrq(fresh)).to.equal(
      [
        "handler:  handle_bad_irq",
        "device:   (null)",
        "status:   0x00001000",
        "            _IRQ_NOAUTOEN",
        "istate:   0x00004000",
        "ddepth:   1",
        "wdepth:   0",
        "dstate:   0x00030000",
        "            IRQD_IRQ_DISABLED",
        "            IRQD_IRQ_MASKED",
        "node:     0",
        "affinity: 0-3",
        "effectiv: ",
        "pending:  ",
        "domain:  ",
        " hwirq:   0x0",
        " chip:    none",
        "  flags:   0x10",
        "             IRQCHIP_SKIP_SET_WAKE",
        "",
      ].join("\n"),
    );
    const text = m.debugfsIrq(virq)!;
    expect(text.endsWith(" parent:\n    domain:  VEC\n     hwirq:   0x21\nchip: None\n     vector: 33\n")).to.equal(true);
    expect(m.debugfsIrq(4000)).to.equal(null);
  });

  it("C59 any prefix of \"trigger\" (up to 7 bytes) injects the interrupt and returns the count; anything else is ignored", async () => {
    const m = await boot();
    let n = 0;
    await m.run(async () => {
      const d = dom(await settle(irq_domain_create_sim(null, 4)));
      const virq = await settle(irq_create_mapping(d, 1));
      await request_irq(virq, () => (n++, IRQ_HANDLED), 0, "sim", 1);
      expect(await irq_debug_write(virq, "trigger\n")).to.equal(8);
      expect(await irq_debug_write(virq, "trig")).to.equal(4);
      expect(await irq_debug_write(virq, "t")).to.equal(1);
      expect(await irq_debug_write(virq, "")).to.equal(0);
      expect(n).to.equal(4);
      expect(await irq_debug_write(virq, "t\n")).to.equal(2);
      expect(await irq_debug_write(virq, "trick")).to.equal(5);
      expect(await irq_debug_write(virq, "x")).to.equal(1);
      expect(n).to.equal(4);
      await free_irq(virq, 1);
      // the masked irq_sim line accepts the PENDING write and drops the event
      expect(await irq_debug_write(virq, "trigger")).to.equal(7);
      expect(n).to.equal(4);
      // no irqchip state and not activated: irq_inject_interrupt() fails and so does the write
      const s = await two_level();
      expect(await irq_debug_write(s.virq, "trigger")).to.equal(-22);
      expect(await irq_debug_write(4000, "trigger")).to.equal(-2);
    });
  });
});

describe("lib/irq/debugfs domains/<name>", () => {
  it("C60 domains/<name> prints the domain and every parent four columns further in (golden)", async () => {
    const m = await boot();
    await m.run(async () => {
      const s = await two_level();
      s.T.flags |= IRQ_DOMAIN_FLAG_ISOLATED_MSI | IRQ_DOMAIN_FLAG_DESTROY_GC | IRQ_DOMAIN_FLAG_NONCORE;
    });
    expect(m.debugfsDomain("TOPD")).to.equal(
      [
        "name:   TOPD",
        " size:   0",
        " mapped: 1",
        " flags:  0x00010433",
        "            IRQ_DOMAIN_FLAG_HIERARCHY",
        "            IRQ_DOMAIN_NAME_ALLOCATED",
        "            IRQ_DOMAIN_FLAG_MSI",
        "            IRQ_DOMAIN_FLAG_ISOLATED_MSI",
        "            IRQ_DOMAIN_FLAG_NONCORE",
        " parent: VEC",
        "    name:   VEC",
        "     size:   0",
        "     mapped: 1",
        "     flags:  0x00000003",
        "                IRQ_DOMAIN_FLAG_HIERARCHY",
        "                IRQ_DOMAIN_NAME_ALLOCATED",
        "     matrix: ok",
        "",
      ].join("\n"),
    );
  });

  it("C60 \"default\" shows the default domain or nothing; a taken name gets no second file; rename and removal go by name", async () => {
    const m = await boot();
    await m.run(async () => {
      irq_set_default_domain(null);
      expect(m.debugfsDomain("default")).to.equal("");
      const a = dom(await settle(irq_domain_instantiate({ fwnode: irq_domain_alloc_named_fwnode("twin"), size: 2, hwirq_max: 2, ops: {} })));
      const b = dom(await settle(irq_domain_instantiate({ fwnode: irq_domain_alloc_named_fwnode("twin"), ops: {} })));
      irq_set_default_domain(b);
      expect(m.debugfsDomain("default")).to.equal("name:   twin\n size:   0\n mapped: 0\n flags:  0x00000002\n            IRQ_DOMAIN_NAME_ALLOCATED\n");
      expect(m.debugfsDomain("twin")).to.equal("name:   twin\n size:   2\n mapped: 0\n flags:  0x00000002\n            IRQ_DOMAIN_NAME_ALLOCATED\n");
      // removing b removes "twin", although the file showed a
      await settle(irq_domain_remove(b));
      expect(m.debugfsDomain("twin")).to.equal(null);
      expect(m.debugfsDomain("default")).to.equal("");
      await settle(irq_domain_update_bus_token(a, 1));
      expect(m.debugfsDomain("twin-1")).to.include("name:   twin-1\n");
      expect(m.debugfsDomain("nosuch")).to.equal(null);
    });
  });
});
