// SPDX-License-Identifier: GPL-2.0-only
// kernel/irq/msi.c: MSI domain info, ops, defaults and flags, and creating
// MSI domains, global and per device (genirq-C.md C38-C45).

import { expect } from "chai";
import { device } from "../../../lib/kernel/device.ts";
import { irq_get_irq_data, irq_to_desc } from "../../../lib/irq/irqdesc.ts";
import { handle_edge_irq } from "../../../lib/irq/flow.ts";
import { irq_chip_ack_parent, irq_chip_retrigger_hierarchy } from "../../../lib/irq/chip.ts";
import { IRQCHIP_AFFINITY_PRE_STARTUP, IRQCHIP_SKIP_SET_WAKE, type irq_chip } from "../../../lib/irq/irq.ts";
import {
  irq_domain_alloc_irqs,
  irq_domain_alloc_irqs_parent,
  irq_domain_alloc_named_fwnode,
  irq_domain_create_hierarchy,
  irq_domain_free_irqs_common,
  irq_domain_set_hwirq_and_chip,
  DOMAIN_BUS_PCI_DEVICE_IMS,
  DOMAIN_BUS_PCI_DEVICE_MSIX,
  DOMAIN_BUS_PCI_MSI,
  IRQ_DOMAIN_FLAG_HIERARCHY,
  IRQ_DOMAIN_FLAG_MSI,
  IRQ_DOMAIN_FLAG_MSI_DEVICE,
  IRQ_DOMAIN_FLAG_MSI_PARENT,
  type irq_domain,
} from "../../../lib/irq/irqdomain.ts";
import {
  msi_create_device_irq_domain,
  msi_create_irq_domain,
  msi_get_domain_info,
  msi_lock_descs,
  msi_match_device_irq_domain,
  msi_parent_init_dev_msi_info,
  msi_remove_device_irq_domain,
  msi_unlock_descs,
  msi_get_device_domain,
  MSI_DEFAULT_DOMAIN,
  MSI_DOMAIN_FLAGS_MASK,
  MSI_FLAG_ACTIVATE_EARLY,
  MSI_FLAG_ALLOC_SIMPLE_MSI_DESCS,
  MSI_FLAG_DEV_SYSFS,
  MSI_FLAG_FREE_MSI_DESCS,
  MSI_FLAG_LEVEL_CAPABLE,
  MSI_FLAG_MSIX_CONTIGUOUS,
  MSI_FLAG_MULTI_PCI_MSI,
  MSI_FLAG_MUST_REACTIVATE,
  MSI_FLAG_NOMASK_QUIRK,
  MSI_FLAG_PARENT_PM_DEV,
  MSI_FLAG_PCI_IMS,
  MSI_FLAG_PCI_MSI_MASK_PARENT,
  MSI_FLAG_PCI_MSIX,
  MSI_FLAG_PCI_MSIX_ALLOC_DYN,
  MSI_FLAG_USE_DEF_CHIP_OPS,
  MSI_FLAG_USE_DEF_DOM_OPS,
  MSI_GENERIC_FLAGS_MASK,
  MSI_MAX_DEVICE_IRQDOMAINS,
  MSI_SECONDARY_DOMAIN,
  MSI_XA_DOMAIN_SIZE,
  type msi_alloc_info_t,
  type msi_device_data,
  type msi_domain_info,
  type msi_domain_ops,
} from "../../../lib/irq/msi.ts";
import { msi_domain_alloc_irq_at, msi_domain_alloc_irqs_range, msi_domain_free_irqs_range, msi_domain_set_affinity, msi_sysfs_entries } from "../../../lib/irq/msi_alloc.ts";
import { msi_desc } from "../../../lib/irq/msi_types.ts";
import type { msi_parent_ops } from "../../../lib/irq/msi_types.ts";
import { x86_vector_domain } from "../../../irqchip/x86/vector.ts";
import { msi_set_affinity } from "../../../irqchip/x86/msi.ts";
import { expectSplat } from "../../harness.ts";
import { createDeviceDomain, device_chip, msiRig, set_desc_index, template, TEST_BUS, type MsiRig } from "./msi_fixture.ts";

function info_of(r: MsiRig, domid = MSI_DEFAULT_DOMAIN): msi_domain_info {
  return (r.dev.msi.data as msi_device_data).__domains[domid]!.domain!.host_data as msi_domain_info;
}

function domain_of(r: MsiRig, domid = MSI_DEFAULT_DOMAIN): irq_domain {
  return (r.dev.msi.data as msi_device_data).__domains[domid]!.domain!;
}

function plain_info(r: MsiRig, flags: number, ops: msi_domain_ops | null, chip: irq_chip = device_chip(r.log, "GLB")): msi_domain_info {
  return { flags, bus_token: 0, hwsize: 0, ops, chip, chip_data: null, handler: null, handler_data: null, handler_name: null, data: null };
}

describe("lib/irq/msi: domain info, ops and defaults (C38-C42)", () => {
  it("C38 a device domain's info carries hwsize, domain data and chip data; the bus token is appended to the domain name but not to the chip name", async () => {
    const r = await msiRig();
    const data = { tag: "domain-data" };
    const chip_data = { tag: "chip-data" };
    expect(await createDeviceDomain(r, MSI_DEFAULT_DOMAIN, template(r), 8, data, chip_data)).to.equal(true);
    const info = info_of(r);
    expect([info.hwsize, info.data, info.chip_data]).to.deep.equal([8, data, chip_data]);
    expect(domain_of(r).name).to.equal(`TST-TDEV-tdev0-${TEST_BUS}`);
    const virq = await r.m.run(async () => (await msi_domain_alloc_irq_at(r.dev, MSI_DEFAULT_DOMAIN, 0, null, null)).virq);
    const d = irq_get_irq_data(virq)!;
    expect(d.chip.name).to.equal("TST-TDEV-tdev0");
    // the default msi_init hands chip_data to the device level
    expect(d.chip_data).to.equal(chip_data);
  });

  it("C38 every device domain works on its own copy of the template: the template and other devices' domains are untouched", async () => {
    const r = await msiRig();
    const tmpl = template(r);
    const before = { chip: { ...tmpl.chip }, ops: { ...tmpl.ops }, flags: tmpl.info.flags };
    expect(await createDeviceDomain(r, MSI_DEFAULT_DOMAIN, tmpl, 8)).to.equal(true);
    const other = new device("tdev1");
    other.msi.domain = r.parent;
    expect(await r.m.run(() => msi_create_device_irq_domain(other, MSI_DEFAULT_DOMAIN, tmpl, 4, null, null))).to.equal(true);
    expect({ chip: { ...tmpl.chip }, ops: { ...tmpl.ops }, flags: tmpl.info.flags }).to.deep.equal(before);
    const a = info_of(r);
    const b = ((other.msi.data as msi_device_data).__domains[0]!.domain!.host_data as msi_domain_info);
    expect(a.chip).to.not.equal(b.chip);
    expect([a.chip!.name, b.chip!.name]).to.deep.equal(["TST-TDEV-tdev0", "TST-TDEV-tdev1"]);
    expect([a.hwsize, b.hwsize]).to.deep.equal([8, 4]);
    expect(tmpl.chip.irq_set_affinity).to.equal(undefined);
    expect(a.chip!.irq_set_affinity).to.equal(msi_domain_set_affinity);
  });

  it("C38 hwsize 0 grants MSI_XA_DOMAIN_SIZE indices; a hwsize above it refuses the domain", async () => {
    const r = await msiRig();
    expect(await createDeviceDomain(r, MSI_DEFAULT_DOMAIN, template(r), 0)).to.equal(true);
    expect(info_of(r).hwsize).to.equal(MSI_XA_DOMAIN_SIZE);
    expect(await createDeviceDomain(r, MSI_SECONDARY_DOMAIN, template(r, { name: "BIG" }), MSI_XA_DOMAIN_SIZE + 1)).to.equal(false);
    expect((r.dev.msi.data as msi_device_data).__domains[MSI_SECONDARY_DOMAIN]!.domain).to.equal(null);
  });

  it("C39 msi_domain_ops: msi_prepare once with the count, prepare_desc then set_desc per descriptor, msi_free per virq, msi_post_free after the free", async () => {
    const r = await msiRig();
    const ops: msi_domain_ops = {
      msi_prepare: (_d, _dev, nvec, _arg) => {
        r.log.push(`msi_prepare ${nvec}`);
        return 0;
      },
      prepare_desc: (_d, _arg, desc) => void r.log.push(`prepare_desc ${desc.msi_index}`),
      set_desc: (arg, desc) => {
        r.log.push(`set_desc ${desc.msi_index}`);
        set_desc_index(arg, desc);
      },
      msi_free: (_d, _info, virq) => void r.log.push(`msi_free ${virq}`),
      msi_post_free: () => void r.log.push("msi_post_free"),
    };
    expect(await createDeviceDomain(r, MSI_DEFAULT_DOMAIN, template(r, { ops }), 8)).to.equal(true);
    r.log.length = 0;
    const virqs = await r.m.run(async () => {
      expect(await msi_domain_alloc_irqs_range(r.dev, MSI_DEFAULT_DOMAIN, 2, 3)).to.equal(0);
      const v = [2, 3].map((i) => (r.dev.msi.data as msi_device_data).__domains[0]!.store.load(i)!.irq);
      await msi_domain_free_irqs_range(r.dev, MSI_DEFAULT_DOMAIN, 2, 3);
      return v;
    });
    const calls = r.log.filter((l) => /^(msi_prepare|prepare_desc|set_desc|msi_free|msi_post_free|alloc MSIP)/.test(l));
    expect(calls).to.deep.equal([
      "msi_prepare 2",
      "prepare_desc 2",
      "set_desc 2",
      `alloc MSIP ${virqs[0]!} 1`,
      "prepare_desc 3",
      "set_desc 3",
      `alloc MSIP ${virqs[1]!} 1`,
      `msi_free ${virqs[0]!}`,
      `msi_free ${virqs[1]!}`,
      "msi_post_free",
    ]);
  });

  it("C39 domain_alloc_irqs()/domain_free_irqs() replace the core's per-descriptor allocation and free", async () => {
    const r = await msiRig();
    const ops: msi_domain_ops = {
      set_desc: set_desc_index,
      domain_alloc_irqs: (_d, _dev, nvec) => {
        r.log.push(`domain_alloc_irqs ${nvec}`);
        return 0;
      },
      domain_free_irqs: () => void r.log.push("domain_free_irqs"),
    };
    expect(await createDeviceDomain(r, MSI_DEFAULT_DOMAIN, template(r, { ops }), 8)).to.equal(true);
    r.log.length = 0;
    await r.m.run(async () => {
      expect(await msi_domain_alloc_irqs_range(r.dev, MSI_DEFAULT_DOMAIN, 0, 2)).to.equal(0);
      await msi_domain_free_irqs_range(r.dev, MSI_DEFAULT_DOMAIN, 0, 2);
    });
    expect(r.log).to.deep.equal(["domain_alloc_irqs 3", "domain_free_irqs"]);
  });

  it("C40 MSI_FLAG_USE_DEF_DOM_OPS fills only the missing get_hwirq, msi_init, msi_prepare and set_desc; without it nothing is filled; no ops at all means the default table", async () => {
    const r = await msiRig();
    const got = await r.m.run(async () => {
      const mine = (): void => {};
      const withFlag = plain_info(r, MSI_FLAG_USE_DEF_DOM_OPS, { msi_free: mine, set_desc: set_desc_index });
      await msi_create_irq_domain(irq_domain_alloc_named_fwnode("DEF1"), withFlag, r.parent);
      const without = plain_info(r, 0, { msi_free: mine });
      await msi_create_irq_domain(irq_domain_alloc_named_fwnode("DEF2"), without, r.parent);
      const none = plain_info(r, 0, null);
      await msi_create_irq_domain(irq_domain_alloc_named_fwnode("DEF3"), none, r.parent);
      const keys = (o: object | null): string[] => Object.keys(o ?? {}).filter((k) => (o as Record<string, unknown>)[k] !== undefined).sort();
      return {
        withFlag: keys(withFlag.ops),
        kept: withFlag.ops!.msi_free === mine && withFlag.ops!.set_desc === set_desc_index,
        without: keys(without.ops),
        none: keys(none.ops),
      };
    });
    expect(got.withFlag).to.deep.equal(["get_hwirq", "msi_free", "msi_init", "msi_prepare", "set_desc"]);
    expect(got.kept).to.equal(true);
    expect(got.without).to.deep.equal(["msi_free"]);
    expect(got.none).to.deep.equal(["get_hwirq", "msi_init", "msi_prepare", "set_desc"]);
  });

  it("C40 the default ops: get_hwirq is arg->hwirq, msi_prepare zeroes the info, set_desc stores the descriptor, msi_init sets the chip and installs the handler only with a handler name", async () => {
    const r = await msiRig();
    const got = await r.m.run(async () => {
      const named = plain_info(r, 0, null);
      named.handler = handle_edge_irq;
      named.handler_name = "edge";
      named.chip_data = "cd";
      const d1 = (await msi_create_irq_domain(irq_domain_alloc_named_fwnode("NAMED"), named, r.parent))!;
      const unnamed = plain_info(r, 0, null);
      unnamed.handler = handle_edge_irq;
      const d2 = (await msi_create_irq_domain(irq_domain_alloc_named_fwnode("UNNAMED"), unnamed, r.parent))!;
      const arg: msi_alloc_info_t = { hwirq: 7, junk: 1 };
      const prep = named.ops!.msi_prepare!(d1, r.dev, 1, arg);
      const zeroed = { ...arg };
      const desc = new msi_desc(r.dev, 1);
      named.ops!.set_desc!(arg, desc);
      const v1 = await irq_domain_alloc_irqs(d1, 1, -1, { hwirq: 7 });
      const v2 = await irq_domain_alloc_irqs(d2, 1, -1, { hwirq: 9 });
      const l1 = irq_get_irq_data(v1)!;
      const l2 = irq_get_irq_data(v2)!;
      return {
        prep,
        zeroed,
        desc: arg.desc === desc,
        l1: [l1.hwirq, l1.chip.name, l1.chip_data, irq_to_desc(v1)!.handle_irq === handle_edge_irq, irq_to_desc(v1)!.name],
        l2: [l2.hwirq, irq_to_desc(v2)!.handle_irq === handle_edge_irq],
      };
    });
    expect(got.prep).to.equal(0);
    expect(got.zeroed).to.deep.equal({});
    expect(got.desc).to.equal(true);
    expect(got.l1).to.deep.equal([7, "GLB", "cd", true, "edge"]);
    expect(got.l2).to.deep.equal([9, false]);
  });

  it("C41 MSI_FLAG_USE_DEF_CHIP_OPS installs msi_domain_set_affinity only when the chip has none, and nothing else", async () => {
    const r = await msiRig();
    const got = await r.m.run(async () => {
      const own = (): number => 0;
      const a = plain_info(r, MSI_FLAG_USE_DEF_CHIP_OPS, null);
      await msi_create_irq_domain(irq_domain_alloc_named_fwnode("CHIP1"), a, r.parent);
      const b = plain_info(r, MSI_FLAG_USE_DEF_CHIP_OPS, null, device_chip(r.log, "OWN", { irq_set_affinity: own }));
      await msi_create_irq_domain(irq_domain_alloc_named_fwnode("CHIP2"), b, r.parent);
      const c = plain_info(r, 0, null);
      await msi_create_irq_domain(irq_domain_alloc_named_fwnode("CHIP3"), c, r.parent);
      return {
        a: a.chip!.irq_set_affinity === msi_domain_set_affinity,
        b: b.chip!.irq_set_affinity === own,
        c: c.chip!.irq_set_affinity,
        compose: a.chip!.irq_compose_msi_msg,
      };
    });
    expect(got).to.deep.equal({ a: true, b: true, c: undefined, compose: undefined });
  });

  it("C41 MSI_FLAG_USE_DEF_CHIP_OPS on a chip without irq_mask or irq_unmask is a BUG", async () => {
    const r = await msiRig();
    const { error } = await expectSplat(r.m, /kernel BUG at kernel\/irq\/msi\.c/, () =>
      r.m.run(async () => {
        const info = plain_info(r, MSI_FLAG_USE_DEF_CHIP_OPS, null, { name: "NOMASK", irq_write_msi_msg: () => {} });
        return msi_create_irq_domain(irq_domain_alloc_named_fwnode("BAD"), info, r.parent);
      }),
    );
    expect(error).to.not.equal(undefined);
  });

  it("C42 MSI_FLAG_* have the v6.2..v6.9 values: generic flags in bits 0-15, domain-specific ones in bits 16-31", () => {
    expect([
      MSI_FLAG_USE_DEF_DOM_OPS,
      MSI_FLAG_USE_DEF_CHIP_OPS,
      MSI_FLAG_ACTIVATE_EARLY,
      MSI_FLAG_MUST_REACTIVATE,
      MSI_FLAG_DEV_SYSFS,
      MSI_FLAG_ALLOC_SIMPLE_MSI_DESCS,
      MSI_FLAG_FREE_MSI_DESCS,
      MSI_FLAG_NOMASK_QUIRK,
      MSI_FLAG_PARENT_PM_DEV,
      MSI_FLAG_PCI_MSI_MASK_PARENT,
    ]).to.deep.equal([1, 2, 4, 8, 16, 32, 64, 128, 256, 512]);
    expect([MSI_FLAG_MULTI_PCI_MSI, MSI_FLAG_PCI_MSIX, MSI_FLAG_LEVEL_CAPABLE, MSI_FLAG_MSIX_CONTIGUOUS, MSI_FLAG_PCI_MSIX_ALLOC_DYN, MSI_FLAG_PCI_IMS]).to.deep.equal([
      1 << 16,
      1 << 17,
      1 << 18,
      1 << 19,
      1 << 20,
      1 << 21,
    ]);
    expect(MSI_GENERIC_FLAGS_MASK).to.equal(0xffff);
    expect(MSI_DOMAIN_FLAGS_MASK >>> 0).to.equal(0xffff0000);
  });

  it("C42 the x86 parent keeps the generic flags, drops the domain flags it does not support (MULTI_PCI_MSI) and forces USE_DEF_DOM_OPS|USE_DEF_CHIP_OPS", async () => {
    const r = await msiRig();
    const got = await r.m.run(async () => {
      const dev = new device("0000:00:1f.0");
      dev.msi.domain = x86_vector_domain();
      const t = template(r, { bus_token: DOMAIN_BUS_PCI_DEVICE_MSIX, flags: MSI_FLAG_MULTI_PCI_MSI | MSI_FLAG_PCI_MSIX | MSI_FLAG_PCI_MSIX_ALLOC_DYN | MSI_FLAG_DEV_SYSFS | MSI_FLAG_FREE_MSI_DESCS });
      expect(await msi_create_device_irq_domain(dev, MSI_DEFAULT_DOMAIN, t, 8, null, null)).to.equal(true);
      const l = msi_lock_descs(dev);
      if (l) await l;
      const info = msi_get_domain_info(msi_get_device_domain(dev, MSI_DEFAULT_DOMAIN)!);
      msi_unlock_descs(dev);
      return info;
    });
    expect(got.flags).to.equal(MSI_FLAG_PCI_MSIX | MSI_FLAG_PCI_MSIX_ALLOC_DYN | MSI_FLAG_DEV_SYSFS | MSI_FLAG_FREE_MSI_DESCS | MSI_FLAG_USE_DEF_DOM_OPS | MSI_FLAG_USE_DEF_CHIP_OPS);
    // x86_init_dev_msi_info(): the vector domain is the real parent
    expect(got.chip!.irq_set_affinity).to.equal(msi_set_affinity);
    expect(got.chip!.irq_ack).to.equal(irq_chip_ack_parent);
    expect(got.chip!.irq_retrigger).to.equal(irq_chip_retrigger_hierarchy);
    expect(got.chip!.flags! & (IRQCHIP_SKIP_SET_WAKE | IRQCHIP_AFFINITY_PRE_STARTUP)).to.equal(IRQCHIP_SKIP_SET_WAKE | IRQCHIP_AFFINITY_PRE_STARTUP);
    expect([got.handler === handle_edge_irq, got.handler_name]).to.deep.equal([true, "edge"]);
  });

  it("C42 MSI_FLAG_DEV_SYSFS creates msi_irqs/<irq> per vector at allocation and removes it at free", async () => {
    const r = await msiRig();
    expect(await createDeviceDomain(r, MSI_DEFAULT_DOMAIN, template(r, { flags: MSI_FLAG_ALLOC_SIMPLE_MSI_DESCS | MSI_FLAG_FREE_MSI_DESCS | MSI_FLAG_DEV_SYSFS }), 8)).to.equal(true);
    const got = await r.m.run(async () => {
      await msi_domain_alloc_irqs_range(r.dev, MSI_DEFAULT_DOMAIN, 0, 2);
      const files = [...msi_sysfs_entries(r.dev)];
      await msi_domain_free_irqs_range(r.dev, MSI_DEFAULT_DOMAIN, 1, 1);
      return { files, after: [...msi_sysfs_entries(r.dev).keys()] };
    });
    expect(got.files.map(([, mode]) => mode)).to.deep.equal(["msi", "msi", "msi"]);
    expect(got.after).to.deep.equal([got.files[0]![0], got.files[2]![0]]);
  });
});

describe("lib/irq/msi: creating MSI domains (C43-C45)", () => {
  it("C43 msi_create_irq_domain(): a radix-only MSI hierarchy domain whose host_data is the caller's info, renamed '%s-%d' by its bus token; NULL above 65536 entries", async () => {
    const r = await msiRig();
    const got = await r.m.run(async () => {
      const info = plain_info(r, MSI_FLAG_USE_DEF_DOM_OPS | MSI_FLAG_USE_DEF_CHIP_OPS, null);
      info.bus_token = DOMAIN_BUS_PCI_MSI;
      const d = (await msi_create_irq_domain(irq_domain_alloc_named_fwnode("PCI-MSI"), info, r.parent))!;
      const big = plain_info(r, 0, null);
      big.hwsize = MSI_XA_DOMAIN_SIZE + 1;
      const none = await msi_create_irq_domain(irq_domain_alloc_named_fwnode("BIG"), big, r.parent);
      return { d, info, none };
    });
    expect(got.d.name).to.equal("PCI-MSI-3");
    expect(got.d.flags & (IRQ_DOMAIN_FLAG_MSI | IRQ_DOMAIN_FLAG_HIERARCHY)).to.equal(IRQ_DOMAIN_FLAG_MSI | IRQ_DOMAIN_FLAG_HIERARCHY);
    expect(got.d.flags & IRQ_DOMAIN_FLAG_MSI_DEVICE).to.equal(0);
    expect(got.d.revmap_size).to.equal(0);
    expect(got.d.parent).to.equal(r.parent);
    expect(msi_get_domain_info(got.d)).to.equal(got.info);
    expect(got.info.hwsize).to.equal(MSI_XA_DOMAIN_SIZE);
    expect(got.none).to.equal(null);
  });

  it("C44 an intermediate MSI parent delegates init_dev_msi_info() down the hierarchy; the root decides for the real parent", async () => {
    const r = await msiRig();
    const got = await r.m.run(async () => {
      const mid = (await irq_domain_create_hierarchy(
        r.parent,
        IRQ_DOMAIN_FLAG_MSI_PARENT,
        0,
        irq_domain_alloc_named_fwnode("MID"),
        {
          alloc(d, virq, nr, arg) {
            const ret = irq_domain_alloc_irqs_parent(d, virq, nr, arg);
            if (ret) return ret;
            for (let i = 0; i < nr; i++) irq_domain_set_hwirq_and_chip(d, virq + i, 0x900 + i, { name: "MID" }, null);
            return 0;
          },
          free: irq_domain_free_irqs_common,
        },
        null,
      ))!;
      mid.msi_parent_ops = { supported_flags: MSI_GENERIC_FLAGS_MASK, prefix: "MID-", init_dev_msi_info: msi_parent_init_dev_msi_info as msi_parent_ops["init_dev_msi_info"] };
      const dev = new device("tdev9");
      dev.msi.domain = mid;
      return { ok: await msi_create_device_irq_domain(dev, MSI_DEFAULT_DOMAIN, template(r), 4, null, null), dev };
    });
    expect(got.ok).to.equal(true);
    expect(r.log).to.include("init_dev_msi_info MSIP MID");
    expect(((got.dev.msi.data as msi_device_data).__domains[0]!.domain!).name).to.equal(`MID-TDEV-tdev9-${TEST_BUS}`);
  });

  it("C44 msi_parent_init_dev_msi_info() WARNs and refuses when the next domain down has no msi_parent_ops", async () => {
    const r = await msiRig();
    r.parent.msi_parent_ops = null;
    await expectSplat(r.m, /WARNING: .* msi_parent_init_dev_msi_info/, async () => {
      const ok = await r.m.run(async () => {
        const mid = (await irq_domain_create_hierarchy(r.parent, IRQ_DOMAIN_FLAG_MSI_PARENT, 0, irq_domain_alloc_named_fwnode("MID2"), {}, null))!;
        mid.msi_parent_ops = { supported_flags: 0, prefix: "", init_dev_msi_info: msi_parent_init_dev_msi_info as msi_parent_ops["init_dev_msi_info"] };
        const dev = new device("tdev8");
        dev.msi.domain = mid;
        return msi_create_device_irq_domain(dev, MSI_DEFAULT_DOMAIN, template(r), 4, null, null);
      });
      expect(ok).to.equal(false);
    });
  });

  it("C44 the x86 vector domain refuses a PCI/IMS child unless its supported flags carry MSI_FLAG_PCI_IMS", async () => {
    const r = await msiRig();
    const got = await r.m.run(async () => {
      const dev = new device("0000:00:1e.0");
      dev.msi.domain = x86_vector_domain();
      const t = template(r, { bus_token: DOMAIN_BUS_PCI_DEVICE_IMS });
      return msi_create_device_irq_domain(dev, MSI_SECONDARY_DOMAIN, t, 8, null, null);
    });
    expect(got).to.equal(false);
  });

  it("C45 msi_create_device_irq_domain() refuses a device without an MSI parent and a domain id beyond MSI_MAX_DEVICE_IRQDOMAINS", async () => {
    const r = await msiRig();
    const got = await r.m.run(async () => {
      const plain = new device("plain0");
      const a = await msi_create_device_irq_domain(plain, MSI_DEFAULT_DOMAIN, template(r), 4, null, null);
      const info = plain_info(r, 0, null);
      const global = await msi_create_irq_domain(irq_domain_alloc_named_fwnode("GLOBAL"), info, r.parent);
      const legacy = new device("legacy0");
      legacy.msi.domain = global;
      const b = await msi_create_device_irq_domain(legacy, MSI_DEFAULT_DOMAIN, template(r), 4, null, null);
      const c = await msi_create_device_irq_domain(r.dev, MSI_MAX_DEVICE_IRQDOMAINS, template(r), 4, null, null);
      return [a, b, c, r.dev.msi.data];
    });
    expect(got).to.deep.equal([false, false, false, null]);
  });

  it("C45 the names are '<prefix><chip>-<device>' cut to 47 characters, the domain's with '-<bus token>' after it", async () => {
    const r = await msiRig();
    const got = await r.m.run(async () => {
      const dev = new device("a-device-with-a-rather-long-name-for-the-test");
      dev.msi.domain = r.parent;
      await msi_create_device_irq_domain(dev, MSI_DEFAULT_DOMAIN, template(r), 4, null, null);
      const d = (dev.msi.data as msi_device_data).__domains[0]!.domain!;
      return { domain: d.name, chip: (d.host_data as msi_domain_info).chip!.name };
    });
    const full = "TST-TDEV-a-device-with-a-rather-long-name-for-the-test";
    expect(got.chip).to.equal(full.slice(0, 47));
    expect(got.domain).to.equal(`${full.slice(0, 47)}-${TEST_BUS}`);
  });

  it("C45 a second domain on the same id WARNs and fails; a parent that refuses the info fails; the domain records its device", async () => {
    const r = await msiRig();
    expect(await createDeviceDomain(r, MSI_DEFAULT_DOMAIN, template(r), 4)).to.equal(true);
    expect(domain_of(r).dev).to.equal(r.dev);
    expect(domain_of(r).flags & IRQ_DOMAIN_FLAG_MSI_DEVICE).to.not.equal(0);
    await expectSplat(r.m, /WARNING: .* msi_create_device_irq_domain/, async () => {
      expect(await createDeviceDomain(r, MSI_DEFAULT_DOMAIN, template(r), 4)).to.equal(false);
    });
    r.opts.accept = false;
    expect(await createDeviceDomain(r, MSI_SECONDARY_DOMAIN, template(r), 4)).to.equal(false);
    expect((r.dev.msi.data as msi_device_data).__domains[MSI_SECONDARY_DOMAIN]!.domain).to.equal(null);
  });

  it("C45 msi_remove_device_irq_domain() removes the domain without freeing its interrupts or descriptors (irq_domain_remove() WARNs on the mapped radix entries)", async () => {
    const r = await msiRig();
    expect(await createDeviceDomain(r, MSI_DEFAULT_DOMAIN, template(r), 4)).to.equal(true);
    const virq = await r.m.run(async () => (await msi_domain_alloc_irq_at(r.dev, MSI_DEFAULT_DOMAIN, 1, null, null)).virq);
    await expectSplat(r.m, /WARNING: .* irq_domain_remove/, () => r.m.run(() => msi_remove_device_irq_domain(r.dev, MSI_DEFAULT_DOMAIN)));
    const md = r.dev.msi.data as msi_device_data;
    expect(md.__domains[MSI_DEFAULT_DOMAIN]!.domain).to.equal(null);
    expect(md.__domains[MSI_DEFAULT_DOMAIN]!.store.load(1)!.irq).to.equal(virq);
    // nothing to remove the second time
    await r.m.run(() => msi_remove_device_irq_domain(r.dev, MSI_DEFAULT_DOMAIN));
  });

  it("C45 msi_match_device_irq_domain() is true only for a device domain at that id with that bus token", async () => {
    const r = await msiRig();
    expect(await createDeviceDomain(r, MSI_DEFAULT_DOMAIN, template(r), 4)).to.equal(true);
    const got = await r.m.run(async () => [
      await msi_match_device_irq_domain(r.dev, MSI_DEFAULT_DOMAIN, TEST_BUS),
      await msi_match_device_irq_domain(r.dev, MSI_DEFAULT_DOMAIN, DOMAIN_BUS_PCI_DEVICE_MSIX),
      await msi_match_device_irq_domain(r.dev, MSI_SECONDARY_DOMAIN, TEST_BUS),
    ]);
    expect(got).to.deep.equal([true, false, false]);
    void MSI_FLAG_ACTIVATE_EARLY;
    void MSI_FLAG_MUST_REACTIVATE;
  });
});
