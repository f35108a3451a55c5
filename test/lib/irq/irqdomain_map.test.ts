// SPDX-License-Identifier: GPL-2.0-only
// kernel/irq/irqdomain.c: the reverse map, the associate/map path,
// fwspec mappings, translation helpers, dispose and descriptor allocation
// (C6-C13).

import { expect } from "chai";
import sinon from "sinon";
import { createMachine, type Machine } from "../../../lib/machine.ts";
import { dmesgLines } from "../../harness.ts";
import { irq_to_desc, irq_alloc_descs, nr_irqs } from "../../../lib/irq/irqdesc.ts";
import { dummy_irq_chip } from "../../../lib/irq/dummychip.ts";
import { handle_bad_irq } from "../../../lib/irq/handle.ts";
import { handle_simple_irq } from "../../../lib/irq/flow.ts";
import { irq_set_chip_and_handler } from "../../../lib/irq/chip.ts";
import { mutex_lock, mutex_unlock } from "../../../lib/kernel/mutex.ts";
import { msleep } from "../../../lib/kernel/delay.ts";
import { kthread_run } from "../../../lib/kernel/kthread.ts";
import {
  IRQ_NOREQUEST,
  IRQ_TYPE_EDGE_RISING,
  IRQ_TYPE_LEVEL_HIGH,
  IRQ_TYPE_NONE,
  irqd_get_trigger_type,
  irqd_trigger_type_was_set,
} from "../../../lib/irq/irq.ts";
import {
  DOMAIN_BUS_WIRED,
  __irq_resolve_mapping,
  irq_create_direct_mapping,
  irq_create_fwspec_mapping,
  irq_create_mapping,
  irq_dispose_mapping,
  irq_domain_alloc_descs,
  irq_domain_alloc_irqs,
  irq_domain_alloc_named_fwnode,
  irq_domain_associate,
  irq_domain_associate_many,
  irq_domain_create_hierarchy,
  irq_domain_create_linear,
  irq_domain_create_nomap,
  irq_domain_create_tree,
  irq_domain_instantiate,
  irq_domain_translate_onecell,
  irq_domain_translate_twocell,
  irq_domain_xlate_onecell,
  irq_domain_xlate_onetwocell,
  irq_domain_xlate_twocell,
  irq_find_mapping,
  irq_set_default_domain,
  type irq_domain,
  type irq_domain_ops,
  type irq_fwspec,
} from "../../../lib/irq/irqdomain.ts";
import { hier_ops, settle } from "./domain_fixtures.ts";

async function boot(): Promise<Machine> {
  return createMachine({ cpus: 2 });
}

function dom(x: irq_domain | number | null): irq_domain {
  if (x === null || typeof x === "number") throw new Error(`no domain: ${String(x)}`);
  return x;
}

const map_ok: irq_domain_ops = { map: () => 0 };

describe("lib/irq/irqdomain reverse map and the map path", () => {
  it("C6 hwirqs below revmap_size live in the linear revmap, the others in the radix tree", async () => {
    const m = await boot();
    await m.run(async () => {
      const d = dom(await settle(irq_domain_instantiate({ size: 4, hwirq_max: 100, ops: map_ok })));
      const a = await settle(irq_create_mapping(d, 3));
      const b = await settle(irq_create_mapping(d, 50));
      expect(d.revmap[3]).to.equal(irq_to_desc(a)!.irq_data);
      expect(d.revmap_tree.get(50)).to.equal(irq_to_desc(b)!.irq_data);
      expect(d.revmap_tree.has(3)).to.equal(false);
      expect([irq_find_mapping(d, 3), irq_find_mapping(d, 50), irq_find_mapping(d, 4)]).to.deep.equal([a, b, 0]);
      const irq = { value: 0 };
      expect(__irq_resolve_mapping(d, 50, irq)).to.equal(irq_to_desc(b));
      expect(irq.value).to.equal(b);
    });
  });

  it("C6 a NULL domain means the default domain, and without one the lookup finds nothing", async () => {
    const m = await boot();
    await m.run(async () => {
      const d = dom(await settle(irq_domain_create_linear(null, 8, map_ok, null)));
      const v = await settle(irq_create_mapping(d, 5));
      irq_set_default_domain(null);
      expect(irq_find_mapping(null, 5)).to.equal(0);
      irq_set_default_domain(d);
      expect(irq_find_mapping(null, 5)).to.equal(v);
      expect(__irq_resolve_mapping(null, 5)).to.equal(irq_to_desc(v));
    });
  });

  it("C6 a NO_MAP domain keeps no revmap and resolves hwirq == virq through the irq_data", async () => {
    const m = await boot();
    await m.run(async () => {
      const d = dom(await settle(irq_domain_create_nomap(null, 4096, map_ok, null)));
      const v = await settle(irq_create_direct_mapping(d));
      expect(v).to.be.greaterThan(0);
      expect(irq_to_desc(v)!.irq_data.hwirq).to.equal(v);
      expect(d.revmap_tree.size).to.equal(0);
      expect(irq_find_mapping(d, v)).to.equal(v);
      expect(irq_find_mapping(d, v + 1)).to.equal(0);
      expect(irq_find_mapping(d, 5000)).to.equal(0);
    });
  });

  it("C6 lookups stay O(1): 20000 radix and linear mappings resolve to their own interrupts", async () => {
    const m = await createMachine({ cpus: 2, trace: false, config: { lockdep: false } });
    await m.run(async () => {
      const n = 20000;
      let next = 0x100000;
      const tree = dom(
        await settle(
          irq_domain_create_tree(null, { alloc: (dd, virq, nr) => {
            for (let i = 0; i < nr; i++) {
              const d = irq_to_desc(virq + i)!.irq_data;
              d.hwirq = next++;
              d.chip = dummy_irq_chip;
            }
            return 0;
          } }, null),
        ),
      );
      const first = await settle(irq_domain_alloc_irqs(tree, n, -1, null));
      expect(tree.revmap_tree.size).to.equal(n);
      expect(tree.mapcount).to.equal(n);
      for (let i = 0; i < n; i += 997) expect(irq_find_mapping(tree, 0x100000 + i)).to.equal(first + i);
      expect(irq_find_mapping(tree, 0x100000 + n)).to.equal(0);
    });
  });

  it("C7 irq_domain_associate sets hwirq and domain, calls map, counts the mapping and clears IRQ_NOREQUEST", async () => {
    const m = await boot();
    await m.run(async () => {
      const map = sinon.spy((dd: irq_domain, virq: number, _hw: number) => {
        expect(irq_to_desc(virq)!.irq_data.domain).to.equal(dd);
        irq_set_chip_and_handler(virq, dummy_irq_chip, handle_simple_irq);
        return 0;
      });
      const d = dom(await settle(irq_domain_create_linear(null, 8, { map }, null)));
      const v = irq_alloc_descs(-1, 1, 1, -1);
      const desc = irq_to_desc(v)!;
      expect(desc.status_use_accessors & IRQ_NOREQUEST).to.equal(0);
      desc.status_use_accessors |= IRQ_NOREQUEST;
      expect(irq_domain_associate(d, v, 6)).to.equal(0);
      expect(map.calledOnceWith(d, v, 6)).to.equal(true);
      expect([desc.irq_data.hwirq, d.mapcount, irq_find_mapping(d, 6)]).to.deep.equal([6, 1, v]);
      expect(desc.status_use_accessors & IRQ_NOREQUEST).to.equal(0);
    });
  });

  it("C7 a too large hwirq, an unallocated or an already associated virq WARN with the kernel's text and change nothing", async () => {
    const m = await boot();
    m.expectSplat(/^error: hwirq 0x8 is too large for small$/);
    m.expectSplat(/^error: virq4000 is not allocated$/);
    m.expectSplat(/^error: virq\d+ is already associated$/);
    await m.run(async () => {
      const map = sinon.spy((_d: irq_domain, _v: number, _h: number) => 0);
      const d = dom(await settle(irq_domain_create_linear(irq_domain_alloc_named_fwnode("small"), 8, { map }, null)));
      const v = irq_alloc_descs(-1, 1, 1, -1);
      expect(await settle(irq_domain_associate(d, v, 8))).to.equal(-22);
      expect(await settle(irq_domain_associate(d, 4000, 1))).to.equal(-22);
      expect(await settle(irq_domain_associate(d, v, 1))).to.equal(0);
      expect(await settle(irq_domain_associate(d, v, 2))).to.equal(-22);
      expect(map.callCount).to.equal(1);
      expect([d.mapcount, irq_find_mapping(d, 1), irq_find_mapping(d, 2), irq_to_desc(v)!.irq_data.hwirq]).to.deep.equal([1, v, 0, 1]);
    });
    expect(dmesgLines(m)).to.include.members(["error: hwirq 0x8 is too large for small", "error: virq4000 is not allocated"]);
  });

  it("C7 a failing map() undoes the association and is reported unless it is -EPERM", async () => {
    const m = await boot();
    let v = 0;
    await m.run(async () => {
      const d = dom(await settle(irq_domain_create_linear(irq_domain_alloc_named_fwnode("picky"), 8, { map: (_d, _v, hw) => (hw === 1 ? -1 : -16) }, null)));
      v = irq_alloc_descs(-1, 1, 2, -1);
      expect(await settle(irq_domain_associate(d, v, 2))).to.equal(-16);
      expect(await settle(irq_domain_associate(d, v + 1, 1))).to.equal(-1);
      expect([d.mapcount, irq_to_desc(v)!.irq_data.domain, irq_to_desc(v)!.irq_data.hwirq]).to.deep.equal([0, null, 0]);
      // associate_many ignores the individual errors
      await settle(irq_domain_associate_many(d, v, 1, 2));
    });
    const lines = dmesgLines(m);
    expect(lines).to.include(`irq: picky didn't like hwirq-0x2 to VIRQ${v} mapping (rc=-16)`);
    expect(lines.filter((l) => l.includes("rc=-1)"))).to.have.length(0);
  });

  it("C8 dispose of a plain mapping: NOREQUEST, chip and handler removed, then unmap, then the revmap slot and mapcount", async () => {
    const m = await boot();
    await m.run(async () => {
      const seen: string[] = [];
      const d = dom(
        await settle(
          irq_domain_create_linear(null, 8, {
            map: (_d, virq) => {
              irq_set_chip_and_handler(virq, dummy_irq_chip, handle_simple_irq);
              return 0;
            },
            unmap: (dd, virq) => {
              const desc = irq_to_desc(virq)!;
              seen.push(`unmap chip=${desc.irq_data.chip.name} noreq=${(desc.status_use_accessors & IRQ_NOREQUEST) !== 0} bad=${desc.handle_irq === handle_bad_irq} mapped=${irq_find_mapping(dd, 3) === virq}`);
            },
          }, null),
        ),
      );
      const v = await settle(irq_create_mapping(d, 3));
      await settle(irq_dispose_mapping(v));
      expect(seen).to.deep.equal(["unmap chip=none noreq=true bad=true mapped=true"]);
      expect([d.mapcount, irq_find_mapping(d, 3), irq_to_desc(v)]).to.deep.equal([0, 0, null]);
    });
  });

  it("C9 irq_create_mapping is idempotent, uses the default domain for NULL and completes synchronously", async () => {
    const m = await boot();
    await m.run(async () => {
      const map = sinon.spy(() => 0);
      const d = dom(await settle(irq_domain_create_linear(null, 8, { map }, null)));
      const v = irq_create_mapping(d, 2);
      expect(typeof v).to.equal("number");
      expect(irq_create_mapping(d, 2)).to.equal(v);
      expect(map.callCount).to.equal(1);
      irq_set_default_domain(d);
      expect(irq_create_mapping(null, 2)).to.equal(v);
    });
  });

  it("C9 irq_create_mapping with no domain at all WARNs and returns 0", async () => {
    const m = await boot();
    m.expectSplat(/^irq_create_mapping_affinity\(, 5\) called with NULL domain$/);
    await m.run(async () => {
      irq_set_default_domain(null);
      expect(await settle(irq_create_mapping(null, 5))).to.equal(0);
    });
  });

  it("C9 irq_create_mapping returns 0 when map() refuses and frees the descriptor it took", async () => {
    const m = await boot();
    await m.run(async () => {
      const d = dom(await settle(irq_domain_create_linear(null, 8, { map: () => -1 }, null)));
      const next = irq_alloc_descs(-1, 1, 1, -1);
      expect(await settle(irq_create_mapping(d, 1))).to.equal(0);
      expect(irq_to_desc(next + 1)).to.equal(null);
    });
  });

  it("C9 irq_create_mapping on a hierarchy domain goes through associate/map, never ops->alloc", async () => {
    const m = await boot();
    await m.run(async () => {
      const alloc = sinon.spy(() => 0);
      const map = sinon.spy(() => 0);
      const d = dom(await settle(irq_domain_create_tree(null, { alloc, map }, null)));
      expect(await settle(irq_create_mapping(d, 9))).to.be.greaterThan(0);
      expect([alloc.callCount, map.callCount]).to.deep.equal([0, 1]);
    });
  });

  it("C9 the root mutex makes irq_create_mapping sleep while another task holds it", async () => {
    const m = await boot();
    await m.run(async () => {
      const d = dom(await settle(irq_domain_create_linear(null, 8, map_ok, null)));
      kthread_run(
        async () => {
          await mutex_lock(d.root.mutex!);
          await msleep(5);
          mutex_unlock(d.root.mutex!);
          return 0;
        },
        null,
        "holder",
      );
      await msleep(1);
      const r = irq_create_mapping(d, 1);
      expect(r).to.be.instanceOf(Promise);
      const t0 = m.now;
      expect(await r).to.be.greaterThan(0);
      expect(m.now - t0).to.be.greaterThan(3e6);
    });
  });

  it("C10 irq_create_fwspec_mapping prefers a WIRED domain, translates and stores the trigger type without irq_set_type", async () => {
    const m = await boot();
    await m.run(async () => {
      const fw = irq_domain_alloc_named_fwnode("gpio");
      const set_type = sinon.spy(() => 0);
      const any = dom(await settle(irq_domain_instantiate({ fwnode: fw, size: 32, hwirq_max: 32, ops: { translate: irq_domain_translate_twocell, map: () => 0 } })));
      const wired = dom(
        await settle(
          irq_domain_instantiate({
            fwnode: fw,
            size: 32,
            hwirq_max: 32,
            bus_token: DOMAIN_BUS_WIRED,
            ops: {
              translate: irq_domain_translate_twocell,
              map: (_d, virq) => {
                irq_set_chip_and_handler(virq, { ...dummy_irq_chip, irq_set_type: set_type }, handle_simple_irq);
                return 0;
              },
            },
          }),
        ),
      );
      const spec: irq_fwspec = { fwnode: fw, param_count: 2, param: [7, IRQ_TYPE_LEVEL_HIGH] };
      const v = await settle(irq_create_fwspec_mapping(spec));
      expect(irq_find_mapping(wired, 7)).to.equal(v);
      expect(irq_find_mapping(any, 7)).to.equal(0);
      const d = irq_to_desc(v)!.irq_data;
      expect([irqd_get_trigger_type(d), irqd_trigger_type_was_set(d), set_type.called]).to.deep.equal([IRQ_TYPE_LEVEL_HIGH, true, false]);
    });
  });

  it("C10 an existing mapping is returned for a matching or NONE type, takes a type if it had none, and refuses a mismatch", async () => {
    const m = await boot();
    await m.run(async () => {
      const fw = irq_domain_alloc_named_fwnode("pins");
      const d = dom(await settle(irq_domain_instantiate({ fwnode: fw, size: 8, hwirq_max: 8, ops: { translate: irq_domain_translate_twocell, map: () => 0 } })));
      const v = await settle(irq_create_mapping(d, 3));
      const spec = (t: number): irq_fwspec => ({ fwnode: fw, param_count: 2, param: [3, t] });
      expect(await settle(irq_create_fwspec_mapping(spec(IRQ_TYPE_NONE)))).to.equal(v);
      expect(await settle(irq_create_fwspec_mapping(spec(IRQ_TYPE_EDGE_RISING)))).to.equal(v);
      expect(irqd_get_trigger_type(irq_to_desc(v)!.irq_data)).to.equal(IRQ_TYPE_EDGE_RISING);
      expect(await settle(irq_create_fwspec_mapping(spec(IRQ_TYPE_EDGE_RISING)))).to.equal(v);
      expect(await settle(irq_create_fwspec_mapping(spec(IRQ_TYPE_LEVEL_HIGH)))).to.equal(0);
      expect(irqd_get_trigger_type(irq_to_desc(v)!.irq_data)).to.equal(IRQ_TYPE_EDGE_RISING);
    });
    expect(dmesgLines(m)).to.include("irq: type mismatch, failed to map hwirq-3 for <no-node>!");
  });

  it("C10 no domain is a pr_warn and 0; a type outside the sense mask WARNs and is masked; a hierarchy domain allocates", async () => {
    const m = await boot();
    m.expectSplat(/WARNING: CPU: \d+ PID: \d+ at /);
    await m.run(async () => {
      irq_set_default_domain(null);
      expect(await settle(irq_create_fwspec_mapping({ fwnode: irq_domain_alloc_named_fwnode("nobody"), param_count: 1, param: [1] }))).to.equal(0);
      expect(await settle(irq_create_fwspec_mapping({ fwnode: null, param_count: 1, param: [1] }))).to.equal(0);
      const fw = irq_domain_alloc_named_fwnode("hier");
      const log: string[] = [];
      const ops = hier_ops("H", log, dummy_irq_chip, { extra: { translate: (_d, f, out) => {
        out.hwirq = f.param[0]!;
        out.type = 0x31;
        return 0;
      } } });
      const d = dom(await settle(irq_domain_instantiate({ fwnode: fw, ops })));
      const v = await settle(irq_create_fwspec_mapping({ fwnode: fw, param_count: 1, param: [4] }));
      expect(v).to.be.greaterThan(0);
      expect(log).to.deep.equal([`alloc H ${v} 1`, "done H"]);
      expect(irqd_get_trigger_type(irq_to_desc(v)!.irq_data)).to.equal(1);
      expect(irq_to_desc(v)!.irq_data.domain).to.equal(d);
    });
    expect(dmesgLines(m).filter((l) => l === "irq: no irq domain found for <no-node> !")).to.have.length(2);
  });

  it("C11 translate wins over xlate, xlate over the one-cell default, and a translation error gives 0", async () => {
    const m = await boot();
    await m.run(async () => {
      const fw = irq_domain_alloc_named_fwnode("t");
      const translate = sinon.spy((_d: irq_domain, f: irq_fwspec, out: { hwirq: number; type: number }) => {
        out.hwirq = f.param[0]! + 1;
        return 0;
      });
      const xlate = sinon.spy(() => -22);
      const d = dom(await settle(irq_domain_instantiate({ fwnode: fw, size: 16, hwirq_max: 16, ops: { translate, xlate, map: () => 0 } })));
      const v = await settle(irq_create_fwspec_mapping({ fwnode: fw, param_count: 1, param: [4] }));
      expect(irq_find_mapping(d, 5)).to.equal(v);
      expect(xlate.called).to.equal(false);
      const fw2 = irq_domain_alloc_named_fwnode("x");
      await settle(irq_domain_instantiate({ fwnode: fw2, size: 16, hwirq_max: 16, ops: { xlate, map: () => 0 } }));
      expect(await settle(irq_create_fwspec_mapping({ fwnode: fw2, param_count: 1, param: [4] }))).to.equal(0);
      const fw3 = irq_domain_alloc_named_fwnode("plain");
      const d3 = dom(await settle(irq_domain_instantiate({ fwnode: fw3, size: 16, hwirq_max: 16, ops: { map: () => 0 } })));
      const v3 = await settle(irq_create_fwspec_mapping({ fwnode: fw3, param_count: 2, param: [9, 4] }));
      expect(irq_find_mapping(d3, 9)).to.equal(v3);
      expect(irqd_get_trigger_type(irq_to_desc(v3)!.irq_data)).to.equal(IRQ_TYPE_NONE);
    });
  });

  it("C11 the one- and two-cell helpers decode cells and WARN on too few", async () => {
    const m = await boot();
    m.expectSplat(/WARNING/, 4);
    await m.run(async () => {
      const d = dom(await settle(irq_domain_create_linear(null, 1, {}, null)));
      const out = { hwirq: -1, type: -1 };
      expect(irq_domain_xlate_onecell(d, null, [5, 3], 2, out)).to.equal(0);
      expect(out).to.deep.equal({ hwirq: 5, type: IRQ_TYPE_NONE });
      expect(irq_domain_xlate_twocell(d, null, [6, 0x13], 2, out)).to.equal(0);
      expect(out).to.deep.equal({ hwirq: 6, type: 3 });
      expect(irq_domain_xlate_onetwocell(d, null, [7], 1, out)).to.equal(0);
      expect(out).to.deep.equal({ hwirq: 7, type: IRQ_TYPE_NONE });
      expect(irq_domain_xlate_onetwocell(d, null, [7, 0x24], 2, out)).to.equal(0);
      expect(out).to.deep.equal({ hwirq: 7, type: 4 });
      expect(irq_domain_translate_onecell(d, { fwnode: null, param_count: 1, param: [8] }, out)).to.equal(0);
      expect(out).to.deep.equal({ hwirq: 8, type: IRQ_TYPE_NONE });
      expect(irq_domain_translate_twocell(d, { fwnode: null, param_count: 2, param: [9, 8] }, out)).to.equal(0);
      expect(out).to.deep.equal({ hwirq: 9, type: 8 });
      expect(irq_domain_xlate_onecell(d, null, [], 0, out)).to.equal(-22);
      expect(irq_domain_xlate_twocell(d, null, [1], 1, out)).to.equal(-22);
      expect(irq_domain_translate_onecell(d, { fwnode: null, param_count: 0, param: [] }, out)).to.equal(-22);
      expect(irq_domain_translate_twocell(d, { fwnode: null, param_count: 1, param: [1] }, out)).to.equal(-22);
      expect(out).to.deep.equal({ hwirq: 9, type: 8 });
    });
  });

  it("C12 irq_dispose_mapping ignores 0 and unallocated numbers and WARNs for an interrupt without a domain", async () => {
    const m = await boot();
    m.expectSplat(/WARNING: CPU: \d+ PID: \d+ at /);
    await m.run(async () => {
      await settle(irq_dispose_mapping(0));
      await settle(irq_dispose_mapping(4000));
      expect(m.splats()).to.have.length(0);
      const v = irq_alloc_descs(-1, 1, 1, -1);
      await settle(irq_dispose_mapping(v));
      expect(irq_to_desc(v)).to.not.equal(null);
    });
    expect(m.dmesg()).to.include("irq_dispose_mapping");
  });

  it("C12 irq_dispose_mapping on a hierarchy domain frees through ops->free", async () => {
    const m = await boot();
    await m.run(async () => {
      const log: string[] = [];
      const d = dom(await settle(irq_domain_create_tree(null, hier_ops("H", log, dummy_irq_chip), null)));
      const v = await settle(irq_domain_alloc_irqs(d, 1, -1, null));
      await settle(irq_dispose_mapping(v));
      expect(log).to.deep.equal([`alloc H ${v} 1`, "done H", `free H ${v} 1`]);
      expect(irq_to_desc(v)).to.equal(null);
    });
  });

  it("C13 irq_domain_alloc_descs takes an exact number when asked and searches from hwirq % nr_irqs otherwise", async () => {
    const m = await boot();
    await m.run(() => {
      const a = irq_domain_alloc_descs(600, 2, 0, -1, null);
      expect(a).to.equal(600);
      expect(irq_domain_alloc_descs(601, 1, 0, -1, null)).to.equal(-17);
      const n = nr_irqs();
      const b = irq_domain_alloc_descs(-1, 1, n + 300, -1, null);
      expect(b).to.equal(300);
      const c = irq_domain_alloc_descs(-1, 1, 0, -1, null);
      expect(c).to.be.greaterThan(0);
      expect(c).to.be.lessThan(300);
    });
  });
});

describe("lib/irq/irqdomain hierarchy domain with the associate path", () => {
  it("C7 mappings through irq_domain_create_hierarchy with size use the linear revmap of that size", async () => {
    const m = await boot();
    await m.run(async () => {
      const root = dom(await settle(irq_domain_create_tree(null, hier_ops("R", [], dummy_irq_chip), null)));
      const h = dom(await settle(irq_domain_create_hierarchy(root, 0, 4, null, map_ok, null)));
      const v = await settle(irq_create_mapping(h, 3));
      expect(h.revmap[3]!.irq).to.equal(v);
    });
  });
});
