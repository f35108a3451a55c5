// SPDX-License-Identifier: GPL-2.0-only
// kernel/irq/irqdomain.c: creation, naming, removal, lookup, activation,
// flags and bus tokens (C1-C5, C20-C25).

import { expect } from "chai";
import sinon from "sinon";
import { createMachine, type Machine } from "../../../lib/machine.ts";
import { dmesgLines } from "../../harness.ts";
import { irq_to_desc } from "../../../lib/irq/irqdesc.ts";
import { mutex_is_locked } from "../../../lib/kernel/mutex.ts";
import { IRQD_ACTIVATED, irqd_is_activated, type irq_data } from "../../../lib/irq/irq.ts";
import { dummy_irq_chip } from "../../../lib/irq/dummychip.ts";
import {
  DOMAIN_BUS_AMDVI,
  DOMAIN_BUS_ANY,
  DOMAIN_BUS_DMAR,
  DOMAIN_BUS_FSL_MC_MSI,
  DOMAIN_BUS_GENERIC_MSI,
  DOMAIN_BUS_IPI,
  DOMAIN_BUS_NEXUS,
  DOMAIN_BUS_PCI_DEVICE_IMS,
  DOMAIN_BUS_PCI_DEVICE_MSI,
  DOMAIN_BUS_PCI_DEVICE_MSIX,
  DOMAIN_BUS_PCI_MSI,
  DOMAIN_BUS_PLATFORM_MSI,
  DOMAIN_BUS_TI_SCI_INTA_MSI,
  DOMAIN_BUS_VMD_MSI,
  DOMAIN_BUS_WAKEUP,
  DOMAIN_BUS_WIRED,
  IRQ_DOMAIN_FLAG_DESTROY_GC,
  IRQ_DOMAIN_FLAG_HIERARCHY,
  IRQ_DOMAIN_FLAG_IPI_PER_CPU,
  IRQ_DOMAIN_FLAG_IPI_SINGLE,
  IRQ_DOMAIN_FLAG_ISOLATED_MSI,
  IRQ_DOMAIN_FLAG_MSI,
  IRQ_DOMAIN_FLAG_MSI_DEVICE,
  IRQ_DOMAIN_FLAG_MSI_PARENT,
  IRQ_DOMAIN_FLAG_NO_MAP,
  IRQ_DOMAIN_FLAG_NONCORE,
  IRQ_DOMAIN_NAME_ALLOCATED,
  IS_ERR,
  UINT_MAX,
  ULONG_MAX,
  irq_create_mapping,
  irq_domain_activate_irq,
  irq_domain_alloc_fwnode,
  irq_domain_alloc_irqs,
  irq_domain_alloc_named_fwnode,
  irq_domain_alloc_named_id_fwnode,
  irq_domain_create_hierarchy,
  irq_domain_create_legacy,
  irq_domain_create_linear,
  irq_domain_create_nomap,
  irq_domain_create_simple,
  irq_domain_create_tree,
  irq_domain_deactivate_irq,
  irq_domain_debugfs_lookup,
  irq_domain_free_fwnode,
  irq_domain_instantiate,
  irq_domain_is_hierarchy,
  irq_domain_is_ipi,
  irq_domain_is_msi_device,
  irq_domain_list,
  irq_domain_remove,
  irq_domain_set_nomap_config,
  irq_domain_update_bus_token,
  irq_find_mapping,
  irq_find_matching_fwnode,
  irq_find_matching_fwspec,
  irq_get_default_domain,
  irq_set_default_domain,
  type fwnode_handle,
  type irq_domain,
  type irq_domain_ops,
} from "../../../lib/irq/irqdomain.ts";
import { irq_alloc_descs } from "../../../lib/irq/irqdesc.ts";
import { hier_ops, settle } from "./domain_fixtures.ts";

const noops: irq_domain_ops = {};

async function boot(): Promise<Machine> {
  return createMachine({ cpus: 2 });
}

function dom(x: irq_domain | number | null): irq_domain {
  if (x === null || typeof x === "number") throw new Error(`no domain: ${String(x)}`);
  return x;
}

describe("lib/irq/irqdomain creation, naming and lookup", () => {
  it("C1 irq_domain_instantiate fills the domain from the info and publishes it at the head of the list", async () => {
    const m = await boot();
    await m.run(async () => {
      const init = sinon.spy((_d: irq_domain) => 0);
      const exit = (_d: irq_domain): void => undefined;
      const fw = irq_domain_alloc_named_fwnode("first");
      const a = dom(await settle(irq_domain_instantiate({ fwnode: fw, size: 4, hwirq_max: 4, ops: noops, host_data: 7, init, exit, domain_flags: IRQ_DOMAIN_FLAG_NONCORE, bus_token: DOMAIN_BUS_WIRED })));
      expect(a.name).to.equal("first-1");
      expect(a.revmap_size).to.equal(4);
      expect(a.revmap).to.have.length(4);
      expect(a.hwirq_max).to.equal(4);
      expect(a.host_data).to.equal(7);
      expect(a.fwnode).to.equal(fw);
      expect(a.bus_token).to.equal(DOMAIN_BUS_WIRED);
      expect(a.flags).to.equal(IRQ_DOMAIN_NAME_ALLOCATED | IRQ_DOMAIN_FLAG_NONCORE);
      expect(a.exit).to.equal(exit);
      expect(a.root).to.equal(a);
      expect(init.calledOnceWithExactly(a)).to.equal(true);
      const b = dom(await settle(irq_domain_instantiate({ fwnode: irq_domain_alloc_named_fwnode("second"), ops: noops })));
      expect(irq_domain_list().slice(0, 2)).to.deep.equal([b, a]);
      expect(irq_domain_debugfs_lookup("first-1")).to.equal(a);
    });
  });

  it("C1 irq_domain_instantiate returns the error of init() and publishes nothing", async () => {
    const m = await boot();
    await m.run(async () => {
      const before = irq_domain_list().length;
      const r = await settle(irq_domain_instantiate({ fwnode: irq_domain_alloc_named_fwnode("bad"), ops: noops, init: () => -12 }));
      expect(r).to.equal(-12);
      expect(irq_domain_list()).to.have.length(before);
      expect(irq_domain_debugfs_lookup("bad")).to.equal(undefined);
    });
  });

  it("C1 rejects size together with direct_max, or direct_max != hwirq_max, with WARN_ON and -EINVAL", async () => {
    const m = await boot();
    m.expectSplat(/WARNING: CPU: \d+ PID: \d+ at /, 3);
    await m.run(async () => {
      expect(await settle(irq_domain_instantiate({ size: 4, hwirq_max: 4, direct_max: 4, ops: noops }))).to.equal(-22);
      expect(await settle(irq_domain_instantiate({ hwirq_max: 8, direct_max: 4, ops: noops }))).to.equal(-22);
      irq_domain_set_nomap_config(false);
      expect(await settle(irq_domain_instantiate({ hwirq_max: 4, direct_max: 4, ops: noops }))).to.equal(-22);
    });
    expect(m.dmesg().match(/__irq_domain_create/g)).to.have.length.greaterThanOrEqual(3);
    expect(m.splats().filter((s) => s.kind === "WARNING")).to.have.length(3);
  });

  it("C1 a domain with a parent takes the parent's root and with it the root's mutex", async () => {
    const m = await boot();
    await m.run(async () => {
      const log: string[] = [];
      const root = dom(await settle(irq_domain_create_tree(irq_domain_alloc_named_fwnode("ROOT"), hier_ops("root", log, dummy_irq_chip), null)));
      const mid = dom(await settle(irq_domain_create_hierarchy(root, 0, 0, irq_domain_alloc_named_fwnode("MID"), hier_ops("mid", log, dummy_irq_chip), null)));
      const top = dom(await settle(irq_domain_create_hierarchy(mid, 0, 0, irq_domain_alloc_named_fwnode("TOP"), hier_ops("top", log, dummy_irq_chip), null)));
      expect(top.parent).to.equal(mid);
      expect(top.root).to.equal(root);
      expect(mid.root).to.equal(root);
      expect(top.root.mutex).to.equal(root.mutex);
      expect(top.mutex).to.not.equal(root.mutex);
    });
  });

  it("C1 virq_base > 0 associates the range from hwirq_base at creation", async () => {
    const m = await boot();
    await m.run(async () => {
      expect(irq_alloc_descs(100, 100, 3, -1)).to.equal(100);
      const map = sinon.spy((_d: irq_domain, _virq: number, _hw: number) => 0);
      const d = dom(await settle(irq_domain_instantiate({ fwnode: irq_domain_alloc_named_fwnode("vb"), size: 4, hwirq_max: 4, hwirq_base: 1, virq_base: 100, ops: { map } })));
      expect(map.args.map((a) => [a[1], a[2]])).to.deep.equal([[100, 1], [101, 2], [102, 3]]);
      expect(irq_find_mapping(d, 2)).to.equal(101);
      expect(d.mapcount).to.equal(3);
    });
  });

  it("C2 named and named-id fwnodes give \"%s\" and \"%s-%d\" names, with the bus token appended as -%d", async () => {
    const m = await boot();
    await m.run(async () => {
      const a = dom(await settle(irq_domain_create_linear(irq_domain_alloc_named_fwnode("PCI-MSI"), 1, noops, null)));
      const b = dom(await settle(irq_domain_create_linear(irq_domain_alloc_named_id_fwnode("IR-IOAPIC", 3), 1, noops, null)));
      const c = dom(await settle(irq_domain_instantiate({ fwnode: irq_domain_alloc_named_id_fwnode("DMAR-MSI", 0), bus_token: DOMAIN_BUS_DMAR, ops: noops })));
      expect([a.name, b.name, c.name]).to.deep.equal(["PCI-MSI", "IR-IOAPIC-3", "DMAR-MSI-0-13"]);
      for (const d of [a, b, c]) expect(d.flags & IRQ_DOMAIN_NAME_ALLOCATED).to.equal(IRQ_DOMAIN_NAME_ALLOCATED);
    });
  });

  it("C2 a real irqchip fwnode lends its \"irqchip@%pa\" name unless a bus token needs \"%s-%d\"", async () => {
    const m = await boot();
    await m.run(async () => {
      const fw = irq_domain_alloc_fwnode(0xfed90000);
      expect(fw.name).to.equal("irqchip@0x00000000fed90000");
      const a = dom(await settle(irq_domain_create_tree(fw, noops, null)));
      expect(a.name).to.equal("irqchip@0x00000000fed90000");
      expect(a.flags & IRQ_DOMAIN_NAME_ALLOCATED).to.equal(0);
      const b = dom(await settle(irq_domain_instantiate({ fwnode: fw, bus_token: DOMAIN_BUS_WIRED, ops: noops })));
      expect(b.name).to.equal("irqchip@0x00000000fed90000-1");
      expect(b.flags & IRQ_DOMAIN_NAME_ALLOCATED).to.equal(IRQ_DOMAIN_NAME_ALLOCATED);
    });
  });

  it("C2 a name_suffix with an irqchip fwnode is -EINVAL", async () => {
    const m = await boot();
    await m.run(async () => {
      const r = await settle(irq_domain_instantiate({ fwnode: irq_domain_alloc_named_fwnode("x"), name_suffix: "a", ops: noops }));
      expect(r).to.equal(-22);
    });
  });

  it("C2 OF and software nodes give \"%pfw\" names with '/' turned into ':', the suffix and the bus token", async () => {
    const m = await boot();
    await m.run(async () => {
      const of: fwnode_handle = { type: "of", name: "/soc/interrupt-controller@1000" };
      const sw: fwnode_handle = { type: "swnode", name: "regmap/irq" };
      const a = dom(await settle(irq_domain_instantiate({ fwnode: of, ops: noops })));
      const b = dom(await settle(irq_domain_instantiate({ fwnode: of, name_suffix: "wake", bus_token: DOMAIN_BUS_WAKEUP, ops: noops })));
      const c = dom(await settle(irq_domain_instantiate({ fwnode: sw, name_suffix: "1", ops: noops })));
      expect([a.name, b.name, c.name]).to.deep.equal([":soc:interrupt-controller@1000", ":soc:interrupt-controller@1000-wake-9", "regmap:irq-1"]);
    });
  });

  it("C2 without a usable fwnode the name is \"unknown-%d\" from a machine-wide counter, with \"-%d\" for a bus token", async () => {
    const m = await boot();
    await m.run(async () => {
      const a = dom(await settle(irq_domain_create_linear(null, 1, noops, null)));
      const n = Number(/^unknown-(\d+)$/.exec(a.name)![1]);
      const b = dom(await settle(irq_domain_instantiate({ bus_token: DOMAIN_BUS_IPI, ops: noops })));
      const bogus = { type: "acpi", name: "\\_SB" } as unknown as fwnode_handle;
      const c = dom(await settle(irq_domain_instantiate({ fwnode: bogus, ops: noops })));
      expect([b.name, c.name]).to.deep.equal([`unknown-${n + 1}-6`, `unknown-${n + 2}`]);
      expect(c.flags & IRQ_DOMAIN_NAME_ALLOCATED).to.equal(IRQ_DOMAIN_NAME_ALLOCATED);
    });
    expect(dmesgLines(m)).to.include("irq: Invalid fwnode type for irqdomain");
  });

  it("C2 irq_domain_free_fwnode WARNs for a node that is not an irqchip fwnode", async () => {
    const m = await boot();
    m.expectSplat(/WARNING/);
    await m.run(() => {
      irq_domain_free_fwnode(irq_domain_alloc_named_fwnode("ok"));
      irq_domain_free_fwnode(null);
      irq_domain_free_fwnode({ type: "of", name: "/x" });
    });
    expect(m.splats()).to.have.length(1);
  });

  it("C3 the create wrappers set size and hwirq_max as the inline helpers do", async () => {
    const m = await boot();
    await m.run(async () => {
      const lin = dom(await settle(irq_domain_create_linear(null, 16, noops, null)));
      expect([lin.revmap_size, lin.hwirq_max]).to.deep.equal([16, 16]);
      const tree = dom(await settle(irq_domain_create_tree(null, noops, null)));
      expect([tree.revmap_size, tree.hwirq_max]).to.deep.equal([0, ULONG_MAX]);
      const nomap = dom(await settle(irq_domain_create_nomap(null, 64, noops, null)));
      expect([nomap.revmap_size, nomap.hwirq_max, nomap.flags & IRQ_DOMAIN_FLAG_NO_MAP]).to.deep.equal([0, 64, IRQ_DOMAIN_FLAG_NO_MAP]);
      const h0 = dom(await settle(irq_domain_create_hierarchy(tree, IRQ_DOMAIN_FLAG_MSI, 0, null, hier_ops("h", [], dummy_irq_chip), null)));
      expect([h0.revmap_size, h0.hwirq_max, h0.parent === tree]).to.deep.equal([0, UINT_MAX, true]);
      expect(h0.flags).to.equal(IRQ_DOMAIN_FLAG_HIERARCHY | IRQ_DOMAIN_NAME_ALLOCATED | IRQ_DOMAIN_FLAG_MSI);
      const h8 = dom(await settle(irq_domain_create_hierarchy(tree, 0, 8, null, noops, null)));
      expect([h8.revmap_size, h8.hwirq_max]).to.deep.equal([8, 8]);
    });
  });

  it("C3 the create wrappers return NULL where irq_domain_instantiate returns an error", async () => {
    const m = await boot();
    m.expectSplat(/WARNING: CPU: \d+ PID: \d+ at __irq_domain_create/, 2);
    await m.run(async () => {
      irq_domain_set_nomap_config(false);
      expect(await settle(irq_domain_create_nomap(null, 64, noops, null))).to.equal(null);
      const r = await settle(irq_domain_instantiate({ hwirq_max: 64, direct_max: 64, ops: noops }));
      expect(IS_ERR(r)).to.equal(true);
    });
  });

  it("C3 irq_domain_create_simple allocates descriptors at first_irq and maps every hwirq", async () => {
    const m = await boot();
    m.expectSplat(/^error: virq200 is already associated$/);
    await m.run(async () => {
      const map = sinon.spy((_d: irq_domain, _v: number, _h: number) => 0);
      const d = dom(await settle(irq_domain_create_simple(null, 3, 200, { map }, null)));
      expect(map.args.map((a) => [a[1], a[2]])).to.deep.equal([[200, 0], [201, 1], [202, 2]]);
      expect(irq_to_desc(202)!.irq_data.domain).to.equal(d);
      // descriptors that exist already are only reported
      const d2 = dom(await settle(irq_domain_create_simple(null, 1, 200, noops, null)));
      expect(d2.mapcount).to.equal(0);
    });
    expect(dmesgLines(m)).to.include("irq: Cannot allocate irq_descs @ IRQ200, assuming pre-allocated");
  });

  it("C3 irq_domain_create_legacy maps size interrupts from first_hwirq with hwirq_max first_hwirq + size", async () => {
    const m = await boot();
    await m.run(async () => {
      expect(irq_alloc_descs(300, 300, 2, -1)).to.equal(300);
      const map = sinon.spy((_d: irq_domain, _v: number, _h: number) => 0);
      const d = dom(await settle(irq_domain_create_legacy(null, 2, 300, 5, { map }, null)));
      expect([d.revmap_size, d.hwirq_max]).to.deep.equal([7, 7]);
      expect(map.args.map((a) => [a[1], a[2]])).to.deep.equal([[300, 5], [301, 6]]);
      expect(irq_find_mapping(d, 6)).to.equal(301);
    });
  });

  it("C3 irq_domain_update_bus_token renames to \"%s-%d\" and moves the debugfs file; an equal token is a no-op", async () => {
    const m = await boot();
    await m.run(async () => {
      const d = dom(await settle(irq_domain_create_linear(irq_domain_alloc_fwnode(0x1000), 1, noops, null)));
      const old = d.name;
      await settle(irq_domain_update_bus_token(d, DOMAIN_BUS_ANY));
      expect(d.name).to.equal(old);
      await settle(irq_domain_update_bus_token(d, DOMAIN_BUS_PCI_MSI));
      expect(d.name).to.equal(`${old}-3`);
      expect(d.bus_token).to.equal(DOMAIN_BUS_PCI_MSI);
      expect(d.flags & IRQ_DOMAIN_NAME_ALLOCATED).to.equal(IRQ_DOMAIN_NAME_ALLOCATED);
      expect(irq_domain_debugfs_lookup(old)).to.equal(undefined);
      expect(irq_domain_debugfs_lookup(`${old}-3`)).to.equal(d);
    });
  });

  it("C4 irq_domain_remove calls exit first, unlinks the domain, resets the default domain and drops its debugfs file", async () => {
    const m = await boot();
    await m.run(async () => {
      const order: string[] = [];
      const d = dom(await settle(irq_domain_instantiate({ fwnode: irq_domain_alloc_named_fwnode("gone"), ops: noops, exit: () => void order.push(`exit listed=${irq_domain_list().includes(d)}`) })));
      irq_set_default_domain(d);
      await settle(irq_domain_remove(d));
      order.push(`after listed=${irq_domain_list().includes(d)}`);
      expect(order).to.deep.equal(["exit listed=true", "after listed=false"]);
      expect(irq_get_default_domain()).to.equal(null);
      expect(irq_domain_debugfs_lookup("gone")).to.equal(undefined);
    });
  });

  it("C4 removing a domain with radix-tree mappings WARNs and removes it anyway; linear mappings go unnoticed", async () => {
    const m = await boot();
    m.expectSplat(/WARNING: CPU: \d+ PID: \d+ at /);
    await m.run(async () => {
      const lin = dom(await settle(irq_domain_create_linear(null, 4, noops, null)));
      expect(await settle(irq_create_mapping(lin, 1))).to.be.greaterThan(0);
      await settle(irq_domain_remove(lin));
      expect(m.splats()).to.have.length(0);
      const tree = dom(await settle(irq_domain_create_tree(null, noops, null)));
      const virq = await settle(irq_create_mapping(tree, 0x1234));
      await settle(irq_domain_remove(tree));
      expect(irq_domain_list()).to.not.include(tree);
      expect(tree.revmap_tree.get(0x1234)!.irq).to.equal(virq);
    });
    expect(m.splats()).to.have.length(1);
    expect(m.dmesg()).to.include("irq_domain_remove");
  });

  it("C5 irq_find_matching_fwspec matches newest first, by fwnode and bus token, or through select/match", async () => {
    const m = await boot();
    await m.run(async () => {
      const fw = irq_domain_alloc_named_fwnode("shared");
      const wired = dom(await settle(irq_domain_instantiate({ fwnode: fw, bus_token: DOMAIN_BUS_WIRED, ops: noops })));
      const msi = dom(await settle(irq_domain_instantiate({ fwnode: fw, bus_token: DOMAIN_BUS_PCI_MSI, ops: noops })));
      const spec = { fwnode: fw, param_count: 1, param: [3] };
      expect(await settle(irq_find_matching_fwspec(spec, DOMAIN_BUS_ANY))).to.equal(msi);
      expect(await settle(irq_find_matching_fwspec(spec, DOMAIN_BUS_WIRED))).to.equal(wired);
      expect(await settle(irq_find_matching_fwnode(fw, DOMAIN_BUS_PCI_MSI))).to.equal(msi);
      expect(await settle(irq_find_matching_fwspec({ fwnode: null, param_count: 0, param: [] }, DOMAIN_BUS_ANY))).to.equal(null);
      const select = sinon.spy((_h: irq_domain, _f: unknown, _t: number) => 1);
      const match = sinon.spy((_h: irq_domain, _n: unknown, _t: number) => 0);
      const sel = dom(await settle(irq_domain_instantiate({ ops: { select, match } })));
      // select only for a specific bus token; match otherwise
      expect(await settle(irq_find_matching_fwspec(spec, DOMAIN_BUS_ANY))).to.equal(msi);
      expect(match.calledOnce).to.equal(true);
      expect(select.called).to.equal(false);
      expect(await settle(irq_find_matching_fwspec(spec, DOMAIN_BUS_WIRED))).to.equal(sel);
      expect(select.calledOnceWith(sel, spec, DOMAIN_BUS_WIRED)).to.equal(true);
    });
  });
});

describe("lib/irq/irqdomain activation, flags and structure", () => {
  async function stack3(m: Machine, ops: { root?: Partial<irq_domain_ops>; mid?: Partial<irq_domain_ops>; top?: Partial<irq_domain_ops> }) {
    const log: string[] = [];
    const root = dom(await settle(irq_domain_create_tree(irq_domain_alloc_named_fwnode("R"), hier_ops("R", log, dummy_irq_chip, { extra: ops.root }), null)));
    const mid = dom(await settle(irq_domain_create_hierarchy(root, 0, 0, irq_domain_alloc_named_fwnode("M"), hier_ops("M", log, dummy_irq_chip, { extra: ops.mid }), null)));
    const top = dom(await settle(irq_domain_create_hierarchy(mid, 0, 0, irq_domain_alloc_named_fwnode("T"), hier_ops("T", log, dummy_irq_chip, { extra: ops.top }), null)));
    const virq = await settle(irq_domain_alloc_irqs(top, 1, -1, null));
    void m;
    return { root, mid, top, virq, data: irq_to_desc(virq)!.irq_data };
  }

  it("C20 irq_domain_activate_irq activates innermost first and sets IRQD_ACTIVATED on the outermost level only once", async () => {
    const m = await boot();
    await m.run(async () => {
      const act = { R: sinon.spy(() => 0), M: sinon.spy(() => 0), T: sinon.spy(() => 0) };
      const s = await stack3(m, { root: { activate: act.R }, mid: { activate: act.M }, top: { activate: act.T } });
      expect(irq_domain_activate_irq(s.data, true)).to.equal(0);
      sinon.assert.callOrder(act.R, act.M, act.T);
      expect(act.R.firstCall.args).to.deep.equal([s.root, s.data.parent_data!.parent_data, true]);
      expect(s.data.common.state_use_accessors & IRQD_ACTIVATED).to.equal(IRQD_ACTIVATED);
      expect(irq_domain_activate_irq(s.data, false)).to.equal(0);
      expect(act.T.callCount).to.equal(1);
    });
  });

  it("C20 a failing activate rolls back only the parent levels and returns the error; IRQD_ACTIVATED stays clear", async () => {
    const m = await boot();
    await m.run(async () => {
      const de = { R: sinon.spy(), M: sinon.spy(), T: sinon.spy() };
      const s = await stack3(m, {
        root: { activate: () => 0, deactivate: de.R },
        mid: { activate: () => -28, deactivate: de.M },
        top: { activate: sinon.spy(() => 0), deactivate: de.T },
      });
      expect(irq_domain_activate_irq(s.data, false)).to.equal(-28);
      expect([de.R.callCount, de.M.callCount, de.T.callCount]).to.deep.equal([1, 0, 0]);
      expect(irqd_is_activated(s.data)).to.equal(false);
    });
  });

  it("C21 irq_domain_deactivate_irq runs outermost first and only for an activated interrupt", async () => {
    const m = await boot();
    await m.run(async () => {
      const de = { R: sinon.spy(), M: sinon.spy(), T: sinon.spy() };
      const s = await stack3(m, { root: { deactivate: de.R }, mid: { deactivate: de.M }, top: { deactivate: de.T } });
      irq_domain_deactivate_irq(s.data);
      expect(de.T.called).to.equal(false);
      irq_domain_activate_irq(s.data, false);
      irq_domain_deactivate_irq(s.data);
      sinon.assert.callOrder(de.T, de.M, de.R);
      expect(irqd_is_activated(s.data)).to.equal(false);
    });
  });

  it("C22 ops->alloc makes a domain hierarchical even without a parent, and that picks the alloc path over map", async () => {
    const m = await boot();
    await m.run(async () => {
      const alloc = sinon.spy((d: irq_domain, virq: number) => {
        void d;
        void virq;
        return 0;
      });
      const h = dom(await settle(irq_domain_create_tree(null, { alloc, free: () => undefined }, null)));
      const p = dom(await settle(irq_domain_create_tree(null, { map: () => 0 }, null)));
      expect(irq_domain_is_hierarchy(h)).to.equal(true);
      expect(irq_domain_is_hierarchy(p)).to.equal(false);
      expect(h.flags & IRQ_DOMAIN_FLAG_HIERARCHY).to.equal(IRQ_DOMAIN_FLAG_HIERARCHY);
    });
  });

  it("C23 domain flags have the values of include/linux/irqdomain.h and the predicates test them", async () => {
    expect([
      IRQ_DOMAIN_FLAG_HIERARCHY,
      IRQ_DOMAIN_NAME_ALLOCATED,
      IRQ_DOMAIN_FLAG_IPI_PER_CPU,
      IRQ_DOMAIN_FLAG_IPI_SINGLE,
      IRQ_DOMAIN_FLAG_MSI,
      IRQ_DOMAIN_FLAG_ISOLATED_MSI,
      IRQ_DOMAIN_FLAG_NO_MAP,
      IRQ_DOMAIN_FLAG_MSI_PARENT,
      IRQ_DOMAIN_FLAG_MSI_DEVICE,
      IRQ_DOMAIN_FLAG_DESTROY_GC,
      IRQ_DOMAIN_FLAG_NONCORE,
    ]).to.deep.equal([1, 2, 4, 8, 16, 32, 64, 256, 512, 1024, 65536]);
    const m = await boot();
    await m.run(async () => {
      const d = dom(await settle(irq_domain_instantiate({ ops: noops, domain_flags: IRQ_DOMAIN_FLAG_IPI_SINGLE | IRQ_DOMAIN_FLAG_MSI_DEVICE })));
      expect([irq_domain_is_ipi(d), irq_domain_is_msi_device(d), irq_domain_is_hierarchy(d)]).to.deep.equal([true, true, false]);
    });
  });

  it("C24 bus tokens have the v6.2..v6.9 numbering that names carry", () => {
    expect([
      DOMAIN_BUS_ANY,
      DOMAIN_BUS_WIRED,
      DOMAIN_BUS_GENERIC_MSI,
      DOMAIN_BUS_PCI_MSI,
      DOMAIN_BUS_PLATFORM_MSI,
      DOMAIN_BUS_NEXUS,
      DOMAIN_BUS_IPI,
      DOMAIN_BUS_FSL_MC_MSI,
      DOMAIN_BUS_TI_SCI_INTA_MSI,
      DOMAIN_BUS_WAKEUP,
      DOMAIN_BUS_VMD_MSI,
      DOMAIN_BUS_PCI_DEVICE_MSI,
      DOMAIN_BUS_PCI_DEVICE_MSIX,
      DOMAIN_BUS_DMAR,
      DOMAIN_BUS_AMDVI,
      DOMAIN_BUS_PCI_DEVICE_IMS,
    ]).to.deep.equal([...Array(16).keys()]);
  });

  it("C25 every domain of a hierarchy serialises on the root's mutex, which ops->alloc runs under", async () => {
    const m = await boot();
    await m.run(async () => {
      const held: boolean[] = [];
      const root = dom(await settle(irq_domain_create_tree(null, hier_ops("R", [], dummy_irq_chip, { extra: {} }), null)));
      const top = dom(
        await settle(
          irq_domain_create_hierarchy(root, 0, 0, null, hier_ops("T", [], dummy_irq_chip, {
            extra: {
              alloc: (d, virq, nr, arg) => {
                held.push(mutex_is_locked(root.mutex!), mutex_is_locked(top.mutex!));
                return hier_ops("T2", [], dummy_irq_chip).alloc!(d, virq, nr, arg);
              },
            },
          }), null),
        ),
      );
      const virq = irq_domain_alloc_irqs(top, 1, -1, null);
      expect(typeof virq).to.equal("number");
      expect(held).to.deep.equal([true, false]);
      expect(mutex_is_locked(root.mutex!)).to.equal(false);
      expect((irq_to_desc(virq as number)!.irq_data as irq_data).domain).to.equal(top);
    });
  });
});
