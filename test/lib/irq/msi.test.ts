// SPDX-License-Identifier: GPL-2.0-only
// kernel/irq/msi.c and include/linux/msi.h, the data structures and the
// descriptor store (genirq-C.md C28-C37), on a bare MSI parent domain.

import { expect } from "chai";
import { cpumask_of } from "../../../lib/kernel/cpumask.ts";
import { EBUSY, EINVAL, ENODEV, ERANGE } from "../../../lib/kernel/errno.ts";
import { device } from "../../../lib/kernel/device.ts";
import { irq_get_msi_desc } from "../../../lib/irq/chip.ts";
import { irq_domain_alloc_named_fwnode } from "../../../lib/irq/irqdomain.ts";
import {
  get_cached_msi_msg,
  msi_alloc_desc,
  msi_create_irq_domain,
  msi_domain_for_each_desc,
  msi_domain_free_msi_descs_range,
  msi_domain_get_hwsize,
  msi_domain_get_virq,
  msi_domain_insert_msi_desc,
  msi_for_each_desc,
  msi_get_device_domain,
  msi_get_virq,
  msi_lock_descs,
  msi_setup_device_data,
  msi_unlock_descs,
  MSI_ANY_INDEX,
  MSI_DEFAULT_DOMAIN,
  MSI_DESC_ALL,
  MSI_DESC_ASSOCIATED,
  MSI_DESC_NOTASSOCIATED,
  MSI_FLAG_ALLOC_SIMPLE_MSI_DESCS,
  MSI_FLAG_FREE_MSI_DESCS,
  MSI_FLAG_USE_DEF_CHIP_OPS,
  MSI_FLAG_USE_DEF_DOM_OPS,
  MSI_MAX_DEVICE_IRQDOMAINS,
  MSI_MAX_INDEX,
  MSI_SECONDARY_DOMAIN,
  MSI_XA_DOMAIN_SIZE,
  MSI_XA_MAX_INDEX,
  type msi_device_data,
  type msi_domain_info,
} from "../../../lib/irq/msi.ts";
import { msi_domain_alloc_irq_at, msi_domain_alloc_irqs_range, msi_domain_free_irqs_range } from "../../../lib/irq/msi_alloc.ts";
import { msi_desc, msi_msg } from "../../../lib/irq/msi_types.ts";
import { expectSplat } from "../../harness.ts";
import { createDeviceDomain, device_chip, msiRig, parent_msg, template, type MsiRig } from "./msi_fixture.ts";

/** Run `fn` with the device's descriptor mutex held. */
async function locked<T>(r: MsiRig, fn: () => T | Promise<T>): Promise<T> {
  return r.m.run(async () => {
    const l = msi_lock_descs(r.dev);
    if (l) await l;
    try {
      return await fn();
    } finally {
      msi_unlock_descs(r.dev);
    }
  });
}

function md(r: MsiRig): msi_device_data {
  return r.dev.msi.data as msi_device_data;
}

function indices(r: MsiRig, domid = MSI_DEFAULT_DOMAIN, filter = MSI_DESC_ALL): Promise<number[]> {
  return locked(r, () => [...msi_domain_for_each_desc(r.dev, domid, filter)].map((d) => d.msi_index));
}

describe("lib/irq/msi: data structures (C28-C31)", () => {
  it("C28 msi_msg is three u32 words, all zero in a zeroed message", () => {
    const z = new msi_msg();
    expect([z.address_lo, z.address_hi, z.data]).to.deep.equal([0, 0, 0]);
    const m = new msi_msg(0xfee01000, -1, 0x80000041);
    expect([m.address_lo, m.address_hi, m.data]).to.deep.equal([0xfee01000, 0xffffffff, 0x80000041]);
  });

  it("C29 msi_desc: irq 0 until associated, nvec_used, dev, msi_index, the last written message and a private copy of the affinity", async () => {
    const r = await msiRig();
    expect(await createDeviceDomain(r, MSI_DEFAULT_DOMAIN, template(r), 8)).to.equal(true);
    const aff = { mask: cpumask_of(1), is_managed: true };
    const got = await r.m.run(async () => {
      const map = await msi_domain_alloc_irq_at(r.dev, MSI_DEFAULT_DOMAIN, 3, aff, { value: 0x1234n });
      const desc = irq_get_msi_desc(map.virq)!;
      const cached = new msi_msg();
      get_cached_msi_msg(map.virq, cached);
      return { map, desc, cached };
    });
    expect(got.map.index).to.equal(3);
    expect(got.desc.irq).to.equal(got.map.virq);
    expect(got.desc.nvec_used).to.equal(1);
    expect(got.desc.dev).to.equal(r.dev);
    expect(got.desc.msi_index).to.equal(3);
    // C29 msi_desc_data: the instance cookie is copied into the descriptor
    expect(got.desc.data.icookie.value).to.equal(0x1234n);
    // kmemdup(): equal, not the caller's array
    expect(got.desc.affinity).to.deep.equal([aff]);
    expect(got.desc.affinity![0]).to.not.equal(aff);
    // the write at activation is what get_cached_msi_msg() returns
    const hw = r.m.run(() => r.parent.revmap_size);
    void hw;
    expect({ address_lo: got.cached.address_lo, address_hi: got.cached.address_hi, data: got.cached.data }).to.deep.equal({
      address_lo: got.desc.msg.address_lo,
      address_hi: got.desc.msg.address_hi,
      data: got.desc.msg.data,
    });
    expect(got.cached.address_lo).to.equal(parent_msg(0x100).address_lo);
    // a fresh descriptor is not associated
    const fresh = msi_alloc_desc(r.dev, 1, null);
    expect([fresh.irq, fresh.nvec_used, fresh.affinity, fresh.msi_index]).to.deep.equal([0, 1, null, 0]);
  });

  it("C30 msi_setup_device_data() is idempotent and keeps one store per domain id", async () => {
    const r = await msiRig();
    const got = await r.m.run(() => {
      const a = msi_setup_device_data(r.dev);
      const data = r.dev.msi.data;
      const b = msi_setup_device_data(r.dev);
      return { a, b, same: data === r.dev.msi.data };
    });
    expect(got).to.deep.equal({ a: 0, b: 0, same: true });
    expect(MSI_MAX_DEVICE_IRQDOMAINS).to.equal(2);
    expect([MSI_DEFAULT_DOMAIN, MSI_SECONDARY_DOMAIN]).to.deep.equal([0, 1]);
    expect(md(r).__domains).to.have.length(2);
    // an MSI parent in dev->msi.domain is not a device domain
    expect(md(r).__domains.map((d) => d.domain)).to.deep.equal([null, null]);
  });

  it("C30 a global MSI domain in dev->msi.domain is copied into the MSI_DEFAULT_DOMAIN slot", async () => {
    const r = await msiRig();
    const got = await r.m.run(async () => {
      const info: msi_domain_info = {
        flags: MSI_FLAG_USE_DEF_DOM_OPS | MSI_FLAG_USE_DEF_CHIP_OPS,
        bus_token: 0,
        hwsize: 0,
        ops: null,
        chip: device_chip(r.log, "GLOBAL"),
        chip_data: null,
        handler: null,
        handler_data: null,
        handler_name: null,
        data: null,
      };
      const global = await msi_create_irq_domain(irq_domain_alloc_named_fwnode("GLOBAL-MSI"), info, r.parent);
      const dev = new device("legacy0");
      dev.msi.domain = global;
      msi_setup_device_data(dev);
      const l = msi_lock_descs(dev);
      if (l) await l;
      const d = msi_get_device_domain(dev, MSI_DEFAULT_DOMAIN);
      msi_unlock_descs(dev);
      return { global, d };
    });
    expect(got.d).to.equal(got.global);
  });

  it("C31 msi_unlock_descs() puts the iterator cursor beyond any index (MSI_XA_MAX_INDEX)", async () => {
    const r = await msiRig();
    expect(await createDeviceDomain(r, MSI_DEFAULT_DOMAIN, template(r), 8)).to.equal(true);
    const got = await r.m.run(async () => {
      await msi_domain_alloc_irqs_range(r.dev, MSI_DEFAULT_DOMAIN, 0, 2);
      const l = msi_lock_descs(r.dev);
      if (l) await l;
      const it = msi_domain_for_each_desc(r.dev, MSI_DEFAULT_DOMAIN, MSI_DESC_ALL);
      it.next();
      it.next();
      const during = md(r).__iter_idx;
      msi_unlock_descs(r.dev);
      return { during, after: md(r).__iter_idx };
    });
    expect(got.during).to.equal(1);
    expect(got.after).to.equal(MSI_XA_MAX_INDEX);
  });

  it("C31 the descriptor store operations assert the descriptor mutex (lockdep_assert_held)", async () => {
    const r = await msiRig();
    expect(await createDeviceDomain(r, MSI_DEFAULT_DOMAIN, template(r), 8)).to.equal(true);
    await expectSplat(r.m, /WARNING: .* msi_domain_insert_msi_desc/, () =>
      r.m.run(() => {
        const init = msi_alloc_desc(r.dev, 1, null);
        init.msi_index = 5;
        return msi_domain_insert_msi_desc(r.dev, MSI_DEFAULT_DOMAIN, init);
      }),
    );
  });
});

describe("lib/irq/msi: descriptor management (C32-C37)", () => {
  it("C32 msi_alloc_desc() gives a zeroed descriptor for nvec vectors with a copy of nvec affinity entries", async () => {
    const r = await msiRig();
    const aff = [
      { mask: cpumask_of(0), is_managed: true },
      { mask: cpumask_of(1), is_managed: true },
    ];
    const d = msi_alloc_desc(r.dev, 2, aff);
    expect([d.irq, d.nvec_used, d.dev]).to.deep.equal([0, 2, r.dev]);
    expect(d.affinity).to.deep.equal(aff);
    expect(d.affinity).to.not.equal(aff);
    expect([d.msg.address_lo, d.msg.address_hi, d.msg.data]).to.deep.equal([0, 0, 0]);
  });

  it("C33 msi_domain_insert_msi_desc(): the index must lie below hwsize (-ERANGE) and be free (-EBUSY); a failed insert keeps nothing", async () => {
    const r = await msiRig();
    expect(await createDeviceDomain(r, MSI_DEFAULT_DOMAIN, template(r, { flags: 0 }), 4)).to.equal(true);
    const got = await locked(r, () => {
      const ins = (i: number): number => {
        const init = msi_alloc_desc(r.dev, 1, null);
        init.msi_index = i;
        init.pci.msi_attrib.is_msix = true;
        return msi_domain_insert_msi_desc(r.dev, MSI_DEFAULT_DOMAIN, init);
      };
      const rets = [ins(1), ins(1), ins(4), ins(3)];
      const descs = [...msi_for_each_desc(r.dev, MSI_DESC_ALL)];
      return { rets, idx: descs.map((d) => d.msi_index), copied: descs.every((d) => d.pci.msi_attrib.is_msix) };
    });
    expect(got.rets).to.deep.equal([0, -EBUSY, -ERANGE, 0]);
    expect(got.idx).to.deep.equal([1, 3]);
    // the pci part of the init descriptor is copied
    expect(got.copied).to.equal(true);
  });

  it("C33 MSI_ANY_INDEX takes the lowest free index below hwsize; a full store is -EBUSY", async () => {
    const r = await msiRig();
    expect(await createDeviceDomain(r, MSI_DEFAULT_DOMAIN, template(r), 3)).to.equal(true);
    const got = await r.m.run(async () => {
      const maps = [];
      maps.push(await msi_domain_alloc_irq_at(r.dev, MSI_DEFAULT_DOMAIN, 1, null, null));
      for (let i = 0; i < 3; i++) maps.push(await msi_domain_alloc_irq_at(r.dev, MSI_DEFAULT_DOMAIN, MSI_ANY_INDEX, null, null));
      return maps.map((m) => m.index);
    });
    expect(got).to.deep.equal([1, 0, 2, -EBUSY]);
    expect(await indices(r)).to.deep.equal([0, 1, 2]);
  });

  it("C34 the walk visits stored descriptors in index order, filtered by association, and survives removal of the current one", async () => {
    const r = await msiRig();
    expect(await createDeviceDomain(r, MSI_DEFAULT_DOMAIN, template(r, { flags: MSI_FLAG_FREE_MSI_DESCS }), 16)).to.equal(true);
    const got = await locked(r, () => {
      // insert out of order, associate two of them
      for (const i of [9, 2, 5, 12]) {
        const init = msi_alloc_desc(r.dev, 1, null);
        init.msi_index = i;
        msi_domain_insert_msi_desc(r.dev, MSI_DEFAULT_DOMAIN, init);
      }
      const all = [...msi_for_each_desc(r.dev, MSI_DESC_ALL)].map((d) => d.msi_index);
      for (const d of msi_for_each_desc(r.dev, MSI_DESC_ALL)) if (d.msi_index === 5 || d.msi_index === 12) d.irq = 1000 + d.msi_index;
      const assoc = [...msi_for_each_desc(r.dev, MSI_DESC_ASSOCIATED)].map((d) => d.msi_index);
      const notassoc = [...msi_for_each_desc(r.dev, MSI_DESC_NOTASSOCIATED)].map((d) => d.msi_index);
      for (const d of msi_for_each_desc(r.dev, MSI_DESC_ALL)) d.irq = 0;
      // removing the current descriptor inside the loop
      const seen: number[] = [];
      for (const d of msi_for_each_desc(r.dev, MSI_DESC_ALL)) {
        seen.push(d.msi_index);
        msi_domain_free_msi_descs_range(r.dev, MSI_DEFAULT_DOMAIN, d.msi_index, d.msi_index);
      }
      return { all, assoc, notassoc, seen, left: [...msi_for_each_desc(r.dev, MSI_DESC_ALL)].length };
    });
    expect(got.all).to.deep.equal([2, 5, 9, 12]);
    expect(got.assoc).to.deep.equal([5, 12]);
    expect(got.notassoc).to.deep.equal([2, 9]);
    expect(got.seen).to.deep.equal([2, 5, 9, 12]);
    expect(got.left).to.equal(0);
  });

  it("C34 the walk continues from its cursor: a descriptor stored behind it during the walk is visited", async () => {
    const r = await msiRig();
    expect(await createDeviceDomain(r, MSI_DEFAULT_DOMAIN, template(r, { flags: 0 }), 16)).to.equal(true);
    const got = await locked(r, () => {
      const ins = (i: number): void => {
        const init = msi_alloc_desc(r.dev, 1, null);
        init.msi_index = i;
        msi_domain_insert_msi_desc(r.dev, MSI_DEFAULT_DOMAIN, init);
      };
      ins(1);
      ins(4);
      const seen: number[] = [];
      for (const d of msi_for_each_desc(r.dev, MSI_DESC_ALL)) {
        seen.push(d.msi_index);
        if (d.msi_index === 1) {
          ins(3);
          ins(0);
        }
      }
      return seen;
    });
    expect(got).to.deep.equal([1, 3, 4]);
  });

  it("C34 an unknown filter WARNs once and matches nothing; a walk without MSI data or with a bad domain id WARNs and yields nothing", async () => {
    const r = await msiRig();
    expect(await createDeviceDomain(r, MSI_DEFAULT_DOMAIN, template(r), 8)).to.equal(true);
    r.m.expectSplat(/WARNING: .* msi_desc_match/);
    r.m.expectSplat(/WARNING: .* msi_domain_first_desc/);
    const got = await r.m.run(async () => {
      await msi_domain_alloc_irqs_range(r.dev, MSI_DEFAULT_DOMAIN, 0, 1);
      const l = msi_lock_descs(r.dev);
      if (l) await l;
      const bad = [...msi_domain_for_each_desc(r.dev, MSI_DEFAULT_DOMAIN, 7)].length;
      const badDom = [...msi_domain_for_each_desc(r.dev, MSI_MAX_DEVICE_IRQDOMAINS, MSI_DESC_ALL)].length;
      msi_unlock_descs(r.dev);
      const none = [...msi_domain_for_each_desc(new device("nodata"), MSI_DEFAULT_DOMAIN, MSI_DESC_ALL)].length;
      return { bad, badDom, none };
    });
    expect(got).to.deep.equal({ bad: 0, badDom: 0, none: 0 });
  });

  it("C35 msi_ctrl_valid(): a bad domain id, a missing device domain, first > last or an index beyond hwsize WARN and give -EINVAL", async () => {
    const r = await msiRig();
    expect(await createDeviceDomain(r, MSI_DEFAULT_DOMAIN, template(r), 4)).to.equal(true);
    r.m.expectSplat(/WARNING: .* msi_ctrl_valid/, 2);
    const got = await r.m.run(async () => [
      await msi_domain_alloc_irqs_range(r.dev, MSI_MAX_DEVICE_IRQDOMAINS, 0, 0),
      // dev->msi.domain is set but no secondary domain was created
      await msi_domain_alloc_irqs_range(r.dev, MSI_SECONDARY_DOMAIN, 0, 0),
      await msi_domain_alloc_irqs_range(r.dev, MSI_DEFAULT_DOMAIN, 2, 1),
      await msi_domain_alloc_irqs_range(r.dev, MSI_DEFAULT_DOMAIN, 0, 4),
      await msi_domain_alloc_irqs_range(r.dev, MSI_DEFAULT_DOMAIN, 4, 4),
    ]);
    expect(got).to.deep.equal([-EINVAL, -EINVAL, -EINVAL, -EINVAL, -EINVAL]);
    expect(await indices(r)).to.deep.equal([]);
  });

  it("C36 freeing a descriptor range erases every stored index; a still associated one WARNs and is left to leak", async () => {
    const r = await msiRig();
    expect(await createDeviceDomain(r, MSI_DEFAULT_DOMAIN, template(r, { flags: 0 }), 8)).to.equal(true);
    r.m.expectSplat(/WARNING: .* msi_domain_free_descs/);
    const got = await locked(r, () => {
      for (const i of [1, 2, 3]) {
        const init = msi_alloc_desc(r.dev, 1, null);
        init.msi_index = i;
        msi_domain_insert_msi_desc(r.dev, MSI_DEFAULT_DOMAIN, init);
      }
      const two = [...msi_for_each_desc(r.dev, MSI_DESC_ALL)][1]!;
      two.irq = 77;
      msi_domain_free_msi_descs_range(r.dev, MSI_DEFAULT_DOMAIN, 0, 7);
      return { left: [...msi_for_each_desc(r.dev, MSI_DESC_ALL)].length, leaked: two.irq };
    });
    expect(got).to.deep.equal({ left: 0, leaked: 77 });
  });

  it("C36 simple descriptors: an occupied index fails the whole range with -EBUSY and frees every unassociated descriptor in it, old ones included", async () => {
    const r = await msiRig();
    expect(await createDeviceDomain(r, MSI_DEFAULT_DOMAIN, template(r, { flags: MSI_FLAG_ALLOC_SIMPLE_MSI_DESCS }), 8)).to.equal(true);
    const got = await r.m.run(async () => {
      const pre = await msi_domain_alloc_irq_at(r.dev, MSI_DEFAULT_DOMAIN, 5, null, null);
      const l = msi_lock_descs(r.dev);
      if (l) await l;
      const init = msi_alloc_desc(r.dev, 1, null);
      init.msi_index = 2;
      msi_domain_insert_msi_desc(r.dev, MSI_DEFAULT_DOMAIN, init);
      msi_unlock_descs(r.dev);
      const ret = await msi_domain_alloc_irqs_range(r.dev, MSI_DEFAULT_DOMAIN, 0, 3);
      return { pre, ret };
    });
    expect(got.ret).to.equal(-EBUSY);
    // index 5 (associated, outside the range) stays; index 2 went with the range
    expect(await indices(r)).to.deep.equal([5]);
    expect(r.log.filter((l) => l.startsWith("alloc MSIP"))).to.have.length(1);
  });

  it("C37 msi_domain_get_virq(): 0 without MSI data, for a free or unassociated index; WARN and 0 beyond MSI_MAX_INDEX or a bad domain id", async () => {
    const r = await msiRig();
    expect(await createDeviceDomain(r, MSI_DEFAULT_DOMAIN, template(r), 8)).to.equal(true);
    r.m.expectSplat(/WARNING: .* msi_domain_get_virq/);
    const got = await r.m.run(async () => {
      const none = msi_get_virq(new device("nodata"), 0);
      const map = await msi_domain_alloc_irq_at(r.dev, MSI_DEFAULT_DOMAIN, 6, null, null);
      return {
        none,
        map,
        at6: msi_get_virq(r.dev, 6),
        at5: msi_get_virq(r.dev, 5),
        big: msi_domain_get_virq(r.dev, MSI_DEFAULT_DOMAIN, MSI_MAX_INDEX + 1),
        baddom: msi_domain_get_virq(r.dev, MSI_MAX_DEVICE_IRQDOMAINS, 0),
        secondary: msi_domain_get_virq(r.dev, MSI_SECONDARY_DOMAIN, 6),
      };
    });
    expect(got.none).to.equal(0);
    expect(got.at6).to.equal(got.map.virq).and.to.be.greaterThan(0);
    expect([got.at5, got.big, got.baddom, got.secondary]).to.deep.equal([0, 0, 0, 0]);
  });

  it("C37 msi_domain_get_hwsize(): the device domain's hwsize, 65536 for hwsize 0 and without a domain", async () => {
    const r = await msiRig();
    expect(await createDeviceDomain(r, MSI_DEFAULT_DOMAIN, template(r), 0)).to.equal(true);
    expect(await createDeviceDomain(r, MSI_SECONDARY_DOMAIN, template(r, { name: "TSEC" }), 24)).to.equal(true);
    const got = await locked(r, () => [msi_domain_get_hwsize(r.dev, MSI_DEFAULT_DOMAIN), msi_domain_get_hwsize(r.dev, MSI_SECONDARY_DOMAIN)]);
    expect(got).to.deep.equal([MSI_XA_DOMAIN_SIZE, 24]);
    expect(MSI_XA_DOMAIN_SIZE).to.equal(65536);
    const bare = await msiRig();
    const none = await bare.m.run(() => msi_setup_device_data(bare.dev)).then(() => locked(bare, () => msi_domain_get_hwsize(bare.dev, MSI_DEFAULT_DOMAIN)));
    expect(none).to.equal(65536);
  });

  it("C37 msi_get_device_domain(): NULL for an empty slot, WARN and NULL for a bad domain id", async () => {
    const r = await msiRig();
    expect(await createDeviceDomain(r, MSI_DEFAULT_DOMAIN, template(r), 4)).to.equal(true);
    r.m.expectSplat(/WARNING: .* msi_get_device_domain/);
    const got = await locked(r, () => ({
      def: msi_get_device_domain(r.dev, MSI_DEFAULT_DOMAIN)?.name,
      sec: msi_get_device_domain(r.dev, MSI_SECONDARY_DOMAIN),
      bad: msi_get_device_domain(r.dev, 2),
    }));
    expect(got).to.deep.equal({ def: "TST-TDEV-tdev0-4", sec: null, bad: null });
  });

  it("C37 msi_domain_alloc_irqs_range() without any device domain (no dev->msi.domain) is -ENODEV", async () => {
    const r = await msiRig();
    const got = await r.m.run(async () => {
      const dev = new device("legacy1");
      msi_setup_device_data(dev);
      return msi_domain_alloc_irqs_range(dev, MSI_DEFAULT_DOMAIN, 0, 0);
    });
    expect(got).to.equal(-ENODEV);
    void msi_desc;
    void msi_domain_free_irqs_range;
  });
});
