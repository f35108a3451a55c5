// SPDX-License-Identifier: GPL-2.0-only
// kernel/irq/msi.c: allocating and freeing MSI interrupts, the MSI domain
// ops (alloc, free, activate, deactivate, set_affinity), the legacy
// populate interface and wired-to-MSI (genirq-C.md C46-C55).

import { expect } from "chai";
import { cpumask_of } from "../../../lib/kernel/cpumask.ts";
import { EBUSY, EEXIST, EINVAL, ENODEV, ENOMEM, ENOSPC, ERANGE } from "../../../lib/kernel/errno.ts";
import { device } from "../../../lib/kernel/device.ts";
import { remove_cpu } from "../../../lib/kernel/cpu.ts";
import { IRQ_HANDLED } from "../../../lib/irq/interrupt.ts";
import { request_irq } from "../../../lib/irq/manage.ts";
import { irq_set_affinity } from "../../../lib/irq/manage_affinity.ts";
import { irq_get_irq_data } from "../../../lib/irq/irqdesc.ts";
import { irq_get_msi_desc } from "../../../lib/irq/chip.ts";
import {
  irqd_is_activated,
  irqd_is_managed_and_shutdown,
  IRQ_SET_MASK_OK,
  IRQ_SET_MASK_OK_DONE,
  IRQ_SET_MASK_OK_NOCOPY,
  IRQD_CAN_RESERVE,
  type irq_data,
} from "../../../lib/irq/irq.ts";
import {
  irq_create_fwspec_mapping,
  irq_dispose_mapping,
  irq_domain_activate_irq,
  irq_domain_alloc_irqs,
  irq_domain_alloc_irqs_parent,
  irq_domain_alloc_named_fwnode,
  irq_domain_create_hierarchy,
  irq_domain_create_tree,
  irq_domain_free_irqs_common,
  irq_domain_set_hwirq_and_chip,
  DOMAIN_BUS_PCI_DEVICE_MSIX,
  type irq_domain,
} from "../../../lib/irq/irqdomain.ts";
import {
  msi_alloc_desc,
  msi_create_irq_domain,
  msi_domain_insert_msi_desc,
  msi_lock_descs,
  msi_setup_device_data,
  msi_unlock_descs,
  MSI_ANY_INDEX,
  MSI_DEFAULT_DOMAIN,
  MSI_FLAG_ACTIVATE_EARLY,
  MSI_FLAG_ALLOC_SIMPLE_MSI_DESCS,
  MSI_FLAG_FREE_MSI_DESCS,
  MSI_FLAG_MUST_REACTIVATE,
  MSI_FLAG_USE_DEF_CHIP_OPS,
  MSI_FLAG_USE_DEF_DOM_OPS,
  type msi_device_data,
  type msi_domain_info,
  type msi_domain_ops,
} from "../../../lib/irq/msi.ts";
import {
  msi_domain_alloc_irq_at,
  msi_domain_alloc_irqs,
  msi_domain_alloc_irqs_all_locked,
  msi_domain_alloc_irqs_range,
  msi_domain_free_irqs_range,
  msi_domain_populate_irqs,
  DOMAIN_BUS_WIRED_TO_MSI,
} from "../../../lib/irq/msi_alloc.ts";
import { msi_msg } from "../../../lib/irq/msi_types.ts";
import { get_cached_msi_msg } from "../../../lib/irq/msi.ts";
import { expectSplat } from "../../harness.ts";
import { createDeviceDomain, device_chip, msiRig, parent_msg, set_desc_index, template, TEST_BUS, type MsiRig } from "./msi_fixture.ts";

function store(r: MsiRig, domid = MSI_DEFAULT_DOMAIN): { index: number; irq: number }[] {
  return (r.dev.msi.data as msi_device_data).__domains[domid]!.store.values().map((d) => ({ index: d.msi_index, irq: d.irq }));
}

function info(r: MsiRig, flags: number, ops: msi_domain_ops | null): msi_domain_info {
  return { flags, bus_token: 0, hwsize: 0, ops, chip: device_chip(r.log, "GLB"), chip_data: null, handler: null, handler_data: null, handler_name: null, data: null };
}

/** Insert plain descriptors at `indices` (as PCI/MSI-X does before allocating), MSI-X ones if asked. */
async function insert(r: MsiRig, indices: number[], msix = false): Promise<void> {
  await r.m.run(async () => {
    const l = msi_lock_descs(r.dev);
    if (l) await l;
    for (const i of indices) {
      const init = msi_alloc_desc(r.dev, 1, null);
      init.msi_index = i;
      init.pci.msi_attrib.is_msix = msix;
      expect(msi_domain_insert_msi_desc(r.dev, MSI_DEFAULT_DOMAIN, init)).to.equal(0);
    }
    msi_unlock_descs(r.dev);
  });
}

const NO_SIMPLE = MSI_FLAG_FREE_MSI_DESCS | MSI_FLAG_ACTIVATE_EARLY;

describe("lib/irq/msi: msi_domain_alloc() and friends (C46-C48)", () => {
  it("C46 msi_domain_alloc() allocates in the parent first, then runs msi_init per virq with consecutive hwirqs from get_hwirq", async () => {
    const r = await msiRig();
    const { virq, d } = await r.m.run(async () => {
      const ops: msi_domain_ops = {
        msi_init: (dom, _i, v, hwirq) => {
          r.log.push(`msi_init ${v} ${hwirq}`);
          return irq_domain_set_hwirq_and_chip(dom, v, hwirq, { name: "GLB" }, null);
        },
      };
      const d = (await msi_create_irq_domain(irq_domain_alloc_named_fwnode("GLB"), info(r, MSI_FLAG_USE_DEF_DOM_OPS, ops), r.parent))!;
      r.log.length = 0;
      return { virq: await irq_domain_alloc_irqs(d, 3, -1, { hwirq: 0x20 }), d };
    });
    expect(r.log).to.deep.equal([`alloc MSIP ${virq} 3`, `msi_init ${virq} 32`, `msi_init ${virq + 1} 33`, `msi_init ${virq + 2} 34`]);
    expect([0, 1, 2].map((i) => irq_get_irq_data(virq + i)!.hwirq)).to.deep.equal([0x20, 0x21, 0x22]);
    void d;
  });

  it("C46 a hwirq already mapped in the domain is -EEXIST, which the MSI core reports as -ENOSPC (the template's set_desc left hwirq 0)", async () => {
    const r = await msiRig();
    expect(await createDeviceDomain(r, MSI_DEFAULT_DOMAIN, template(r, { ops: {} }), 8)).to.equal(true);
    const got = await r.m.run(async () => {
      const a = await msi_domain_alloc_irq_at(r.dev, MSI_DEFAULT_DOMAIN, 0, null, null);
      const from = r.m.trace().length;
      const b = await msi_domain_alloc_irq_at(r.dev, MSI_DEFAULT_DOMAIN, 1, null, null);
      const ret = r.m
        .trace()
        .slice(from)
        .filter((e) => e.kind === "irq.domain" && e.op === "alloc" && e.phase === "exit")
        .map((e) => (e.kind === "irq.domain" ? e.ret : ""));
      return { a: a.index, b: b.index, ret };
    });
    expect(got.a).to.equal(0);
    expect(got.ret).to.deep.equal([String(-EEXIST)]);
    expect(got.b).to.equal(-ENOSPC);
  });

  it("C46 a failing msi_init: msi_free runs for the earlier virqs but the first (the upstream loop stops at i > 0), then all of them are freed top down", async () => {
    const r = await msiRig();
    const got = await r.m.run(async () => {
      let n = 0;
      const ops: msi_domain_ops = {
        msi_init: (dom, _i, v, hwirq) => {
          if (n++ === 2) return -ENOMEM;
          return irq_domain_set_hwirq_and_chip(dom, v, hwirq, { name: "GLB" }, null);
        },
        msi_free: (_dom, _i, v) => void r.log.push(`msi_free ${v}`),
      };
      const d = (await msi_create_irq_domain(irq_domain_alloc_named_fwnode("GLB"), info(r, MSI_FLAG_USE_DEF_DOM_OPS, ops), r.parent))!;
      r.log.length = 0;
      const ret = await irq_domain_alloc_irqs(d, 3, -1, { hwirq: 0 });
      return { ret, log: [...r.log] };
    });
    expect(got.ret).to.equal(-ENOMEM);
    const base = Number(got.log[0]!.split(" ")[2]);
    expect(got.log).to.deep.equal([`alloc MSIP ${base} 3`, `msi_free ${base + 1}`, `free MSIP ${base} 1`, `free MSIP ${base + 1} 1`, `free MSIP ${base + 2} 1`]);
  });

  it("C47 a failure anywhere in msi_domain_alloc_irqs_range() rolls back the whole range, descriptors too with MSI_FLAG_FREE_MSI_DESCS", async () => {
    const r = await msiRig({ fail_alloc_at: 3 });
    expect(await createDeviceDomain(r, MSI_DEFAULT_DOMAIN, template(r), 8)).to.equal(true);
    const ret = await r.m.run(() => msi_domain_alloc_irqs_range(r.dev, MSI_DEFAULT_DOMAIN, 0, 3));
    expect(ret).to.equal(-ENOSPC);
    expect(store(r)).to.deep.equal([]);
    const allocs = r.log.filter((l) => l.startsWith("alloc MSIP")).map((l) => l.split(" ")[2]);
    expect(r.log.filter((l) => l.startsWith("free MSIP")).map((l) => l.split(" ")[2])).to.deep.equal(allocs.slice(0, 2));
  });

  it("C47 without MSI_FLAG_FREE_MSI_DESCS the rolled-back descriptors stay, unassociated", async () => {
    const r = await msiRig({ fail_alloc_at: 2 });
    expect(await createDeviceDomain(r, MSI_DEFAULT_DOMAIN, template(r, { flags: MSI_FLAG_ALLOC_SIMPLE_MSI_DESCS | MSI_FLAG_ACTIVATE_EARLY }), 8)).to.equal(true);
    expect(await r.m.run(() => msi_domain_alloc_irqs(r.dev, MSI_DEFAULT_DOMAIN, 3))).to.equal(-ENOSPC);
    expect(store(r)).to.deep.equal([
      { index: 0, irq: 0 },
      { index: 1, irq: 0 },
      { index: 2, irq: 0 },
    ]);
  });

  it("C48 the allocation walks the unassociated descriptors of the range in index order and skips associated ones", async () => {
    const r = await msiRig();
    expect(await createDeviceDomain(r, MSI_DEFAULT_DOMAIN, template(r, { flags: NO_SIMPLE }), 8)).to.equal(true);
    await insert(r, [3, 0, 2, 1]);
    expect(await r.m.run(() => msi_domain_alloc_irqs_range(r.dev, MSI_DEFAULT_DOMAIN, 2, 2))).to.equal(0);
    const first = store(r).find((d) => d.index === 2)!.irq;
    r.log.length = 0;
    expect(await r.m.run(() => msi_domain_alloc_irqs_range(r.dev, MSI_DEFAULT_DOMAIN, 0, 3))).to.equal(0);
    const s = store(r);
    expect(s.find((d) => d.index === 2)!.irq).to.equal(first);
    const order = r.log.filter((l) => l.startsWith("alloc MSIP")).map((l) => Number(l.split(" ")[2]));
    expect(order).to.deep.equal([0, 1, 3].map((i) => s.find((d) => d.index === i)!.irq));
    // each virq knows its descriptor, and debugfs its device
    const d1 = irq_get_msi_desc(s[1]!.irq)!;
    expect(d1.msi_index).to.equal(1);
    expect(r.m.debugfsIrq(s[1]!.irq)).to.include("device:   tdev0\n");
  });

  it("C48 more unassociated descriptors than nirqs WARN once and fail the whole allocation with -EINVAL", async () => {
    const r = await msiRig();
    expect(await createDeviceDomain(r, MSI_DEFAULT_DOMAIN, template(r, { flags: NO_SIMPLE }), 8)).to.equal(true);
    await insert(r, [0, 1, 2]);
    const ret = await expectSplat(r.m, /WARNING: .* __msi_domain_alloc_irqs/, () =>
      r.m.run(async () => {
        const l = msi_lock_descs(r.dev);
        if (l) await l;
        const v = await msi_domain_alloc_irqs_all_locked(r.dev, MSI_DEFAULT_DOMAIN, 1);
        msi_unlock_descs(r.dev);
        return v;
      }),
    );
    expect(ret.value).to.equal(-EINVAL);
    expect(store(r).map((d) => d.irq)).to.deep.equal([]);
  });

  it("C48 on a PCI bus token a failure after successful descriptors returns their count (retry with fewer), before any -ENOSPC; either way the range is rolled back", async () => {
    const r = await msiRig({ fail_alloc_at: 3 });
    expect(await createDeviceDomain(r, MSI_DEFAULT_DOMAIN, template(r, { bus_token: DOMAIN_BUS_PCI_DEVICE_MSIX }), 8)).to.equal(true);
    expect(await r.m.run(() => msi_domain_alloc_irqs_range(r.dev, MSI_DEFAULT_DOMAIN, 0, 3))).to.equal(2);
    expect(store(r)).to.deep.equal([]);
    const r2 = await msiRig({ fail_alloc_at: 1 });
    expect(await createDeviceDomain(r2, MSI_DEFAULT_DOMAIN, template(r2, { bus_token: DOMAIN_BUS_PCI_DEVICE_MSIX }), 8)).to.equal(true);
    expect(await r2.m.run(() => msi_domain_alloc_irqs_range(r2.dev, MSI_DEFAULT_DOMAIN, 0, 3))).to.equal(-ENOSPC);
  });
});

describe("lib/irq/msi: activation at allocation (C49)", () => {
  it("C49 with MSI_FLAG_ACTIVATE_EARLY each virq is activated at allocation, innermost first, and its message written", async () => {
    const r = await msiRig();
    expect(await createDeviceDomain(r, MSI_DEFAULT_DOMAIN, template(r), 8)).to.equal(true);
    r.log.length = 0;
    const map = await r.m.run(() => msi_domain_alloc_irq_at(r.dev, MSI_DEFAULT_DOMAIN, 0, null, null));
    const want = parent_msg(0x100);
    expect(r.log).to.deep.equal([`alloc MSIP ${map.virq} 1`, `activate MSIP ${map.virq} 0`, `compose MSIP ${map.virq}`, `write TDEV ${map.virq} ${want.address_lo.toString(16)}/0/${want.data.toString(16)}`]);
    const d = irq_get_irq_data(map.virq)!;
    expect(irqd_is_activated(d)).to.equal(true);
    // no reservation mode on a non-PCI token
    expect(d.common.state_use_accessors & IRQD_CAN_RESERVE).to.equal(0);
  });

  it("C49 without MSI_FLAG_ACTIVATE_EARLY nothing is activated until request_irq()", async () => {
    const r = await msiRig();
    expect(await createDeviceDomain(r, MSI_DEFAULT_DOMAIN, template(r, { flags: MSI_FLAG_ALLOC_SIMPLE_MSI_DESCS | MSI_FLAG_FREE_MSI_DESCS }), 8)).to.equal(true);
    r.log.length = 0;
    const map = await r.m.run(() => msi_domain_alloc_irq_at(r.dev, MSI_DEFAULT_DOMAIN, 0, null, null));
    expect(r.log).to.deep.equal([`alloc MSIP ${map.virq} 1`]);
    expect(irqd_is_activated(irq_get_irq_data(map.virq)!)).to.equal(false);
    await r.m.run(async () => expect(await request_irq(map.virq, () => IRQ_HANDLED, 0, "t", r)).to.equal(0));
    expect(r.log.slice(1, 3)).to.deep.equal([`activate MSIP ${map.virq} 0`, `compose MSIP ${map.virq}`]);
  });

  it("C49 reservation mode (PCI token, MUST_REACTIVATE, a maskable first descriptor): the early activation reserves and IRQD_ACTIVATED is cleared, so request_irq() activates for real", async () => {
    const r = await msiRig();
    expect(await createDeviceDomain(r, MSI_DEFAULT_DOMAIN, template(r, { bus_token: DOMAIN_BUS_PCI_DEVICE_MSIX, flags: NO_SIMPLE | MSI_FLAG_MUST_REACTIVATE }), 8)).to.equal(true);
    await insert(r, [0], true);
    r.log.length = 0;
    expect(await r.m.run(() => msi_domain_alloc_irqs_range(r.dev, MSI_DEFAULT_DOMAIN, 0, 0))).to.equal(0);
    const virq = store(r)[0]!.irq;
    expect(r.log.filter((l) => l.startsWith("activate"))).to.deep.equal([`activate MSIP ${virq} 1`]);
    expect(irqd_is_activated(irq_get_irq_data(virq)!)).to.equal(false);
    await r.m.run(async () => expect(await request_irq(virq, () => IRQ_HANDLED, 0, "t", r)).to.equal(0));
    expect(r.log.filter((l) => l.startsWith("activate"))).to.deep.equal([`activate MSIP ${virq} 1`, `activate MSIP ${virq} 0`]);
    expect(irqd_is_activated(irq_get_irq_data(virq)!)).to.equal(true);
  });

  it("C49 a non-maskable first descriptor, or no MUST_REACTIVATE, means no reservation mode", async () => {
    for (const [msix, flags] of [
      [false, NO_SIMPLE | MSI_FLAG_MUST_REACTIVATE],
      [true, NO_SIMPLE],
    ] as const) {
      const r = await msiRig();
      expect(await createDeviceDomain(r, MSI_DEFAULT_DOMAIN, template(r, { bus_token: DOMAIN_BUS_PCI_DEVICE_MSIX, flags }), 8)).to.equal(true);
      await insert(r, [0], msix);
      r.log.length = 0;
      expect(await r.m.run(() => msi_domain_alloc_irqs_range(r.dev, MSI_DEFAULT_DOMAIN, 0, 0))).to.equal(0);
      expect(r.log.filter((l) => l.startsWith("activate")).map((l) => l.slice(-1))).to.deep.equal(["0"]);
    }
  });

  it("C49 a managed interrupt whose affinity has no online CPU is marked IRQD_MANAGED_SHUTDOWN instead of being activated", async () => {
    const r = await msiRig();
    expect(await createDeviceDomain(r, MSI_DEFAULT_DOMAIN, template(r), 8)).to.equal(true);
    await r.m.run(async () => expect(await remove_cpu(1)).to.equal(0));
    r.log.length = 0;
    const map = await r.m.run(() => msi_domain_alloc_irq_at(r.dev, MSI_DEFAULT_DOMAIN, 0, { mask: cpumask_of(1), is_managed: true }, null));
    const d = irq_get_irq_data(map.virq)!;
    expect(irqd_is_managed_and_shutdown(d)).to.equal(true);
    expect(irqd_is_activated(d)).to.equal(false);
    expect(r.log).to.deep.equal([`alloc MSIP ${map.virq} 1`]);
  });
});

describe("lib/irq/msi: msi_domain_alloc_irq_at() and freeing (C50, C51)", () => {
  it("C50 msi_domain_alloc_irq_at() reports errors in map.index with virq 0: -ENODEV without the device domain, -ERANGE beyond hwsize, -EBUSY for a taken index", async () => {
    const r = await msiRig();
    expect(await createDeviceDomain(r, MSI_DEFAULT_DOMAIN, template(r), 4)).to.equal(true);
    const got = await r.m.run(async () => {
      const nodom = await msi_domain_alloc_irq_at(r.dev, 1, 0, null, null);
      const ok = await msi_domain_alloc_irq_at(r.dev, MSI_DEFAULT_DOMAIN, 2, null, null);
      const taken = await msi_domain_alloc_irq_at(r.dev, MSI_DEFAULT_DOMAIN, 2, null, null);
      const range = await msi_domain_alloc_irq_at(r.dev, MSI_DEFAULT_DOMAIN, 4, null, null);
      const any = await msi_domain_alloc_irq_at(r.dev, MSI_DEFAULT_DOMAIN, MSI_ANY_INDEX, null, null);
      return { nodom, ok: ok.index, taken, range, any: any.index };
    });
    expect(got.nodom).to.deep.equal({ index: -ENODEV, virq: 0 });
    expect(got.ok).to.equal(2);
    expect(got.taken).to.deep.equal({ index: -EBUSY, virq: 0 });
    expect(got.range).to.deep.equal({ index: -ERANGE, virq: 0 });
    expect(got.any).to.equal(0);
  });

  it("C50 a failed allocation frees its new descriptor only with MSI_FLAG_FREE_MSI_DESCS", async () => {
    for (const free of [true, false]) {
      const r = await msiRig({ fail_alloc_at: 1 });
      const flags = MSI_FLAG_ACTIVATE_EARLY | (free ? MSI_FLAG_FREE_MSI_DESCS : 0);
      expect(await createDeviceDomain(r, MSI_DEFAULT_DOMAIN, template(r, { flags }), 4)).to.equal(true);
      const map = await r.m.run(() => msi_domain_alloc_irq_at(r.dev, MSI_DEFAULT_DOMAIN, 1, null, null));
      expect(map).to.deep.equal({ index: -ENOSPC, virq: 0 });
      expect(store(r), `FREE_MSI_DESCS ${free}`).to.deep.equal(free ? [] : [{ index: 1, irq: 0 }]);
    }
  });

  it("C50 it always creates its own descriptor and never calls domain_alloc_irqs()", async () => {
    const r = await msiRig();
    const ops: msi_domain_ops = {
      set_desc: set_desc_index,
      domain_alloc_irqs: () => {
        r.log.push("domain_alloc_irqs");
        return 0;
      },
    };
    expect(await createDeviceDomain(r, MSI_DEFAULT_DOMAIN, template(r, { ops, flags: MSI_FLAG_FREE_MSI_DESCS }), 4)).to.equal(true);
    r.log.length = 0;
    const map = await r.m.run(() => msi_domain_alloc_irq_at(r.dev, MSI_DEFAULT_DOMAIN, 3, null, null));
    expect(map.index).to.equal(3);
    expect(r.log).to.deep.equal([`alloc MSIP ${map.virq} 1`]);
  });

  it("C51 freeing deactivates the activated virqs (the MSI level writes a zero message first, then the parent), frees them and the descriptors, and clears desc->irq", async () => {
    const r = await msiRig();
    expect(await createDeviceDomain(r, MSI_DEFAULT_DOMAIN, template(r), 8)).to.equal(true);
    const map = await r.m.run(() => msi_domain_alloc_irq_at(r.dev, MSI_DEFAULT_DOMAIN, 5, null, null));
    const desc = irq_get_msi_desc(map.virq)!;
    r.log.length = 0;
    await r.m.run(() => msi_domain_free_irqs_range(r.dev, MSI_DEFAULT_DOMAIN, 0, 7));
    expect(r.log).to.deep.equal([`write TDEV ${map.virq} 0/0/0`, `deactivate MSIP ${map.virq}`, `free MSIP ${map.virq} 1`]);
    expect(desc.irq).to.equal(0);
    expect(store(r)).to.deep.equal([]);
    expect(irq_get_irq_data(map.virq)).to.equal(null);
  });

  it("C51 a range with only unassociated descriptors frees nothing but the descriptors; an invalid range only WARNs", async () => {
    const r = await msiRig();
    expect(await createDeviceDomain(r, MSI_DEFAULT_DOMAIN, template(r, { flags: NO_SIMPLE }), 8)).to.equal(true);
    await insert(r, [1, 2]);
    r.log.length = 0;
    await r.m.run(() => msi_domain_free_irqs_range(r.dev, MSI_DEFAULT_DOMAIN, 0, 7));
    expect(r.log).to.deep.equal([]);
    expect(store(r)).to.deep.equal([]);
    await insert(r, [1]);
    await expectSplat(r.m, /WARNING: .* msi_ctrl_valid/, () => r.m.run(() => msi_domain_free_irqs_range(r.dev, MSI_DEFAULT_DOMAIN, 3, 2)));
    expect(store(r)).to.deep.equal([{ index: 1, irq: 0 }]);
  });
});

describe("lib/irq/msi: messages and affinity (C52, C53)", () => {
  it("C52 activation composes with the outermost chip that can compose and writes through the MSI level's chip; get_cached_msi_msg() returns what the writer cached", async () => {
    const r = await msiRig();
    const got = await r.m.run(async () => {
      // an intermediate level between the device and MSIP with its own compose
      const mid = (await irq_domain_create_hierarchy(
        r.parent,
        0,
        0,
        irq_domain_alloc_named_fwnode("REMAP"),
        {
          alloc(d, virq, nr, arg) {
            const ret = irq_domain_alloc_irqs_parent(d, virq, nr, arg);
            if (ret) return ret;
            const chip = {
              name: "REMAP",
              irq_compose_msi_msg: (dd: irq_data, msg: msi_msg) => {
                r.log.push(`compose REMAP ${dd.irq}`);
                msg.address_lo = 0xfee00010;
                msg.address_hi = 0;
                msg.data = 0x1234;
              },
            };
            for (let i = 0; i < nr; i++) irq_domain_set_hwirq_and_chip(d, virq + i, i, chip, null);
            return 0;
          },
          free: irq_domain_free_irqs_common,
        },
        null,
      ))!;
      const i = info(r, MSI_FLAG_USE_DEF_DOM_OPS | MSI_FLAG_USE_DEF_CHIP_OPS, null);
      const d = (await msi_create_irq_domain(irq_domain_alloc_named_fwnode("TOP"), i, mid))!;
      const virq = await irq_domain_alloc_irqs(d, 1, -1, { hwirq: 0 });
      r.log.length = 0;
      irq_get_irq_data(virq)!.common.msi_desc = msi_alloc_desc(r.dev, 1, null);
      expect(irq_domain_activate_irq(irq_get_irq_data(virq)!, false)).to.equal(0);
      const cached = new msi_msg();
      get_cached_msi_msg(virq, cached);
      return { virq, cached, log: [...r.log] };
    });
    expect(got.log).to.deep.equal([`activate MSIP ${got.virq} 0`, `compose REMAP ${got.virq}`, `write GLB ${got.virq} fee00010/0/1234`]);
    expect([got.cached.address_lo, got.cached.data]).to.deep.equal([0xfee00010, 0x1234]);
  });

  it("C52 a hierarchy in which no chip can compose a message is a BUG at activation", async () => {
    const r = await msiRig();
    const { error } = await expectSplat(r.m, /kernel BUG at/, () =>
      r.m.run(async () => {
        const root = (await irq_domain_create_tree(
          irq_domain_alloc_named_fwnode("NOCOMPOSE"),
          {
            alloc(d, virq, nr) {
              for (let i = 0; i < nr; i++) irq_domain_set_hwirq_and_chip(d, virq + i, i, { name: "NOCOMPOSE" }, null);
              return 0;
            },
          },
          null,
        ))!;
        const d = (await msi_create_irq_domain(irq_domain_alloc_named_fwnode("TOP2"), info(r, MSI_FLAG_USE_DEF_DOM_OPS | MSI_FLAG_USE_DEF_CHIP_OPS, null), root))!;
        const virq = await irq_domain_alloc_irqs(d, 1, -1, { hwirq: 0 });
        return irq_domain_activate_irq(irq_get_irq_data(virq)!, false);
      }),
    );
    expect(error).to.not.equal(undefined);
  });

  it("C53 msi_domain_set_affinity(): the parent's irq_set_affinity first; OK and OK_NOCOPY recompose and write, OK_DONE writes nothing, an error is returned with nothing written", async () => {
    const r = await msiRig();
    expect(await createDeviceDomain(r, MSI_DEFAULT_DOMAIN, template(r), 8)).to.equal(true);
    const map = await r.m.run(() => msi_domain_alloc_irq_at(r.dev, MSI_DEFAULT_DOMAIN, 0, null, null));
    const seen: [number, number, string[]][] = [];
    // (-EBUSY would be turned into a pending move by irq_try_set_affinity())
    for (const ret of [IRQ_SET_MASK_OK, IRQ_SET_MASK_OK_NOCOPY, IRQ_SET_MASK_OK_DONE, -ENOSPC]) {
      r.opts.set_affinity_ret = ret;
      r.log.length = 0;
      const got = await r.m.run(() => irq_set_affinity(map.virq, cpumask_of(1)));
      seen.push([ret, got, [...r.log]]);
    }
    const v = map.virq;
    expect(seen).to.deep.equal([
      [IRQ_SET_MASK_OK, 0, [`set_affinity MSIP ${v}`, `compose MSIP ${v}`, `write TDEV ${v} fee01000/1/140`]],
      [IRQ_SET_MASK_OK_NOCOPY, 0, [`set_affinity MSIP ${v}`, `compose MSIP ${v}`, `write TDEV ${v} fee01000/2/140`]],
      [IRQ_SET_MASK_OK_DONE, 0, [`set_affinity MSIP ${v}`]],
      [-ENOSPC, -ENOSPC, [`set_affinity MSIP ${v}`]],
    ]);
  });
});

describe("lib/irq/msi: the legacy populate interface and wired-to-MSI (C54, C55)", () => {
  it("C54 msi_domain_populate_irqs() from a child's alloc: descriptors indexed by Linux irq number, ops->alloc on the existing levels, irq_set_msi_desc()", async () => {
    const r = await msiRig();
    // the lockdep assertion of the next test
    r.m.expectSplat(/WARNING: .* msi_get_device_domain/);
    const got = await r.m.run(async () => {
      const g = (await msi_create_irq_domain(irq_domain_alloc_named_fwnode("PLAT-MSI"), info(r, MSI_FLAG_USE_DEF_DOM_OPS | MSI_FLAG_USE_DEF_CHIP_OPS, { set_desc: set_desc_index }), r.parent))!;
      const dev = new device("platdev0");
      dev.msi.domain = g;
      msi_setup_device_data(dev);
      const child = (await irq_domain_create_hierarchy(
        g,
        0,
        0,
        irq_domain_alloc_named_fwnode("PLAT-DEV"),
        {
          alloc: (_d, virq, nr) => msi_domain_populate_irqs(g, dev, virq, nr, {}) as number,
        },
        null,
      ))!;
      const virq = await irq_domain_alloc_irqs(child, 2, -1, {});
      const descs = (dev.msi.data as msi_device_data).__domains[0]!.store.values();
      return { virq, descs: descs.map((d) => [d.msi_index, d.irq]), msi: [irq_get_msi_desc(virq), irq_get_msi_desc(virq + 1)].map((d) => d?.msi_index), hwirqs: [virq, virq + 1].map((v) => irq_get_irq_data(v)!.parent_data!.hwirq) };
    });
    expect(got.descs).to.deep.equal([
      [got.virq, got.virq],
      [got.virq + 1, got.virq + 1],
    ]);
    expect(got.msi).to.deep.equal([got.virq, got.virq + 1]);
    // the MSI level's hwirq is the descriptor index, i.e. the irq number
    expect(got.hwirqs).to.deep.equal([got.virq, got.virq + 1]);
  });

  it("C54 as written (v6.2..v6.9) msi_domain_populate_irqs() validates before taking the descriptor mutex: lockdep WARNs in msi_get_device_domain()", async () => {
    const r = await msiRig();
    await expectSplat(r.m, /WARNING: .* msi_get_device_domain/, () =>
      r.m.run(async () => {
        const g = (await msi_create_irq_domain(irq_domain_alloc_named_fwnode("PLAT-MSI"), info(r, MSI_FLAG_USE_DEF_DOM_OPS | MSI_FLAG_USE_DEF_CHIP_OPS, { set_desc: set_desc_index }), r.parent))!;
        const dev = new device("platdev1");
        dev.msi.domain = g;
        msi_setup_device_data(dev);
        return msi_domain_populate_irqs(g, dev, 4000, 1, {});
      }),
    );
  });

  async function wired(r: MsiRig, bus_token: number, translate = true): Promise<irq_domain> {
    const ops: msi_domain_ops = { set_desc: set_desc_index };
    if (translate) {
      ops.msi_translate = (_d, fwspec, out) => {
        out.hwirq = fwspec.param[0]!;
        out.type = fwspec.param[1]!;
        return 0;
      };
    }
    expect(await createDeviceDomain(r, MSI_DEFAULT_DOMAIN, template(r, { ops, bus_token, flags: MSI_FLAG_FREE_MSI_DESCS | MSI_FLAG_ACTIVATE_EARLY }), 64)).to.equal(true);
    return (r.dev.msi.data as msi_device_data).__domains[0]!.domain!;
  }

  it("C55 irq_create_fwspec_mapping() on a WIRED_TO_MSI device domain takes the lowest free index and keeps hwirq and type in the cookie; irq_dispose_mapping() frees it", async () => {
    const r = await msiRig();
    const d = await wired(r, DOMAIN_BUS_WIRED_TO_MSI);
    const got = await r.m.run(async () => {
      const a = await irq_create_fwspec_mapping({ fwnode: d.fwnode, param: [0x2a, 4], param_count: 2 });
      const b = await irq_create_fwspec_mapping({ fwnode: d.fwnode, param: [0x11, 1], param_count: 2 });
      const cookies = [a, b].map((v) => irq_get_msi_desc(v)!.data.icookie.value);
      const idx = [a, b].map((v) => irq_get_msi_desc(v)!.msi_index);
      await irq_dispose_mapping(a);
      return { a, b, cookies, idx, left: store(r) };
    });
    expect(got.a).to.be.greaterThan(0);
    expect(got.idx).to.deep.equal([0, 1]);
    expect(got.cookies).to.deep.equal([(4n << 32n) | 0x2an, (1n << 32n) | 0x11n]);
    expect(got.left).to.deep.equal([{ index: 1, irq: got.b }]);
  });

  it("C55 a wired allocation on a domain without the WIRED_TO_MSI token WARNs and maps nothing; an MSI domain without msi_translate refuses the fwspec (-ENOTSUPP)", async () => {
    const r = await msiRig();
    const d = await wired(r, TEST_BUS);
    const got = await expectSplat(r.m, /WARNING: .* msi_device_domain_alloc_wired/, () => r.m.run(() => irq_create_fwspec_mapping({ fwnode: d.fwnode, param: [1, 4], param_count: 2 })));
    expect(got.value).to.equal(0);
    const r2 = await msiRig();
    const d2 = await wired(r2, DOMAIN_BUS_WIRED_TO_MSI, false);
    r2.log.length = 0;
    expect(await r2.m.run(() => irq_create_fwspec_mapping({ fwnode: d2.fwnode, param: [1, 4], param_count: 2 }))).to.equal(0);
    expect(r2.log).to.deep.equal([]);
  });
});
