// SPDX-License-Identifier: GPL-2.0-only
// kernel/irq/irqdomain.c, hierarchy part (C14-C19) and the chip.c helpers
// that walk a hierarchy (C26, C27).

import { expect } from "chai";
import sinon from "sinon";
import { createMachine, type Machine } from "../../../lib/machine.ts";
import { dmesgLines } from "../../harness.ts";
import { irq_to_desc, irq_alloc_descs } from "../../../lib/irq/irqdesc.ts";
import { dummy_irq_chip, no_irq_chip } from "../../../lib/irq/dummychip.ts";
import { handle_bad_irq } from "../../../lib/irq/handle.ts";
import { handle_edge_irq } from "../../../lib/irq/flow.ts";
import { msi_msg } from "../../../lib/irq/msi_types.ts";
import { request_irq, free_irq } from "../../../lib/irq/manage.ts";
import { IRQ_HANDLED } from "../../../lib/irq/interrupt.ts";
import {
  irq_chip_compose_msi_msg,
  irq_chip_disable_parent,
  irq_chip_enable_parent,
  irq_chip_get_parent_state,
  irq_chip_mask_parent,
  irq_chip_retrigger_hierarchy,
  irq_chip_set_affinity_parent,
  irq_chip_set_parent_state,
  irq_chip_set_type_parent,
  irq_chip_set_wake_parent,
  irq_chip_unmask_parent,
} from "../../../lib/irq/chip.ts";
import { irq_chip_orig } from "../../../lib/irq/trace.ts";
import { cpumask_of } from "../../../lib/kernel/cpumask.ts";
import { ENOSPC } from "../../../lib/kernel/errno.ts";
import {
  IRQ_NOREQUEST,
  IRQCHIP_SKIP_SET_WAKE,
  IRQCHIP_STATE_PENDING,
  type irq_chip,
  type irq_data,
} from "../../../lib/irq/irq.ts";
import {
  IRQ_DOMAIN_FLAG_MSI_DEVICE,
  __irq_domain_alloc_irqs,
  irq_chip_err_ptr,
  irq_dispose_mapping,
  irq_domain_alloc_irqs,
  irq_domain_alloc_irqs_parent,
  irq_domain_alloc_named_fwnode,
  irq_domain_create_hierarchy,
  irq_domain_create_tree,
  irq_domain_disconnect_hierarchy,
  irq_domain_free_irqs,
  irq_domain_free_irqs_parent,
  irq_domain_free_irqs_top,
  irq_domain_get_irq_data,
  irq_domain_instantiate,
  irq_domain_msi_hooks,
  irq_domain_pop_irq,
  irq_domain_push_irq,
  irq_domain_reset_irq_data,
  irq_domain_set_hwirq_and_chip,
  irq_domain_set_info,
  irq_find_mapping,
  irq_set_default_domain,
  type irq_domain,
} from "../../../lib/irq/irqdomain.ts";
import { hier_ops, log_chip, settle, type HierOpts } from "./domain_fixtures.ts";

async function boot(): Promise<Machine> {
  return createMachine({ cpus: 2 });
}

function dom(x: irq_domain | number | null): irq_domain {
  if (x === null || typeof x === "number") throw new Error(`no domain: ${String(x)}`);
  return x;
}

interface Stack {
  R: irq_domain;
  M: irq_domain;
  T: irq_domain;
  log: string[];
}

/** T (top) -> M -> R (root), each with hier_ops; per-level options. */
async function stack(o: { R?: HierOpts; M?: HierOpts; T?: HierOpts; chips?: { R?: irq_chip | null; M?: irq_chip | null; T?: irq_chip | null } } = {}): Promise<Stack> {
  const log: string[] = [];
  const c = o.chips ?? {};
  const R = dom(await settle(irq_domain_create_tree(irq_domain_alloc_named_fwnode("R"), hier_ops("R", log, c.R ?? dummy_irq_chip, { hwirq_base: 0x300, ...o.R }), null)));
  const M = dom(await settle(irq_domain_create_hierarchy(R, 0, 0, irq_domain_alloc_named_fwnode("M"), hier_ops("M", log, c.M ?? dummy_irq_chip, { hwirq_base: 0x200, ...o.M }), null)));
  const T = dom(await settle(irq_domain_create_hierarchy(M, 0, 0, irq_domain_alloc_named_fwnode("T"), hier_ops("T", log, c.T ?? dummy_irq_chip, { hwirq_base: 0x100, ...o.T }), null)));
  return { R, M, T, log };
}

function levels(virq: number): irq_data[] {
  const out: irq_data[] = [];
  for (let d = irq_to_desc(virq)?.irq_data ?? null; d; d = d.parent_data) out.push(d);
  return out;
}

describe("lib/irq/irqdomain hierarchical allocation", () => {
  it("C14 builds one irq_data per level sharing irq and common data, with the outermost embedded in the descriptor", async () => {
    const m = await boot();
    await m.run(async () => {
      const s = await stack();
      const virq = await settle(irq_domain_alloc_irqs(s.T, 3, -1, null));
      expect(virq).to.be.greaterThan(0);
      for (let i = 0; i < 3; i++) {
        const l = levels(virq + i);
        expect(l.map((d) => d.domain)).to.deep.equal([s.T, s.M, s.R]);
        expect(l[0]).to.equal(irq_to_desc(virq + i)!.irq_data);
        expect(l.map((d) => d.irq)).to.deep.equal([virq + i, virq + i, virq + i]);
        expect(new Set(l.map((d) => d.common)).size).to.equal(1);
        expect(l.map((d) => d.hwirq)).to.deep.equal([0x100 + i, 0x200 + i, 0x300 + i]);
      }
    });
  });

  it("C14 ops->alloc runs once per domain for the whole range, outermost first, while the work completes innermost first", async () => {
    const m = await boot();
    await m.run(async () => {
      const s = await stack();
      const spies = [s.T, s.M, s.R].map((d) => sinon.spy(d.ops, "alloc"));
      const virq = await settle(irq_domain_alloc_irqs(s.T, 2, -1, null));
      sinon.assert.callOrder(spies[0]!, spies[1]!, spies[2]!);
      for (const sp of spies) expect(sp.calledOnce).to.equal(true);
      expect(spies[0]!.firstCall.args.slice(1, 3)).to.deep.equal([virq, 2]);
      expect(s.log).to.deep.equal([`alloc T ${virq} 2`, `alloc M ${virq} 2`, `alloc R ${virq} 2`, "done R", "done M", "done T"]);
    });
  });

  it("C14 inner levels start with a NULL chip, the outermost with no_irq_chip", async () => {
    const m = await boot();
    await m.run(async () => {
      const seen: (string | null)[] = [];
      const s = await stack({
        T: {
          extra: {
            alloc: (d, virq, nr, arg) => {
              for (const l of levels(virq)) seen.push((l.chip as irq_chip | null) === null ? null : irq_chip_orig(l.chip).name);
              seen.push(String(levels(virq)[0]!.hwirq));
              return hier_ops("T", [], dummy_irq_chip).alloc!(d, virq, nr, arg);
            },
          },
        },
      });
      await settle(irq_domain_alloc_irqs(s.T, 1, -1, null));
      expect(seen).to.deep.equal(["none", null, null, "0"]);
    });
  });

  it("C14 every level gets a revmap entry and a mapcount, so a parent's lookup finds the child's virq; IRQ_NOREQUEST is cleared", async () => {
    const m = await boot();
    await m.run(async () => {
      const s = await stack();
      const virq = await settle(irq_domain_alloc_irqs(s.T, 2, -1, null));
      expect([s.T.mapcount, s.M.mapcount, s.R.mapcount]).to.deep.equal([2, 2, 2]);
      expect([irq_find_mapping(s.T, 0x101), irq_find_mapping(s.M, 0x201), irq_find_mapping(s.R, 0x301)]).to.deep.equal([virq + 1, virq + 1, virq + 1]);
      expect(s.M.revmap_tree.get(0x200)).to.equal(levels(virq)[1]);
      expect(irq_to_desc(virq)!.status_use_accessors & IRQ_NOREQUEST).to.equal(0);
    });
  });

  it("C14 a failing ops->alloc frees descriptors and irq_data without calling any ops->free", async () => {
    const m = await boot();
    await m.run(async () => {
      const s = await stack({ M: { fail: -ENOSPC } });
      const frees = [s.T, s.M, s.R].map((d) => sinon.spy(d.ops, "free"));
      const next = irq_alloc_descs(-1, 1, 1, -1);
      const r = irq_domain_alloc_irqs(s.T, 2, -1, null);
      expect(r).to.equal(-ENOSPC);
      expect(s.log).to.deep.equal([`alloc T ${next + 1} 2`, `alloc M ${next + 1} 2`, `alloc R ${next + 1} 2`, "done R"]);
      for (const f of frees) expect(f.called).to.equal(false);
      expect(irq_to_desc(next + 1)).to.equal(null);
      expect([s.T.mapcount, s.M.mapcount, s.R.mapcount]).to.deep.equal([0, 0, 0]);
      expect(s.R.revmap_tree.size).to.equal(0);
    });
  });

  it("C14 a domain without alloc gives -ENOSYS; irq_domain_alloc_irqs_parent without a parent too", async () => {
    const m = await boot();
    await m.run(async () => {
      const plain = dom(await settle(irq_domain_instantiate({ ops: { map: () => 0 } })));
      expect(await settle(irq_domain_alloc_irqs(plain, 1, -1, null))).to.equal(-38);
      expect(irq_domain_alloc_irqs_parent(plain, 1, 1, null)).to.equal(-38);
    });
  });

  it("C14 a NULL domain uses the default domain, and without one WARNs \"domain is NULL; cannot allocate IRQ\"", async () => {
    const m = await boot();
    m.expectSplat(/^domain is NULL; cannot allocate IRQ$/);
    await m.run(async () => {
      irq_set_default_domain(null);
      expect(await settle(irq_domain_alloc_irqs(null, 1, -1, null))).to.equal(-22);
      const s = await stack();
      irq_set_default_domain(s.T);
      const v = await settle(irq_domain_alloc_irqs(null, 1, -1, null));
      expect(irq_to_desc(v)!.irq_data.domain).to.equal(s.T);
    });
  });

  it("C14 completes synchronously when nothing sleeps and the alloc ops appear on the trace bus, nested", async () => {
    const m = await boot();
    await m.run(async () => {
      const s = await stack();
      const before = m.trace().length;
      const virq = irq_domain_alloc_irqs(s.T, 1, -1, null);
      expect(typeof virq).to.equal("number");
      const ev = m
        .trace()
        .slice(before)
        .flatMap((r) => (r.kind === "irq.domain" ? [`${r.phase} ${r.op} ${r.domain} ${r.depth}`] : []));
      expect(ev).to.deep.equal(["enter alloc T 0", "enter alloc M 1", "enter alloc R 2", "exit alloc R 2", "exit alloc M 1", "exit alloc T 0"]);
    });
  });

  it("C14 realloc with irq_base uses the existing descriptors", async () => {
    const m = await boot();
    await m.run(async () => {
      const s = await stack();
      expect(irq_alloc_descs(700, 700, 1, -1)).to.equal(700);
      expect(await settle(__irq_domain_alloc_irqs(s.T, 700, 1, -1, null, true, null))).to.equal(700);
      expect(irq_to_desc(700)!.irq_data.domain).to.equal(s.T);
    });
  });

  it("C15 set_hwirq_and_chip finds this domain's level (-ENOENT otherwise), and a NULL chip becomes no_irq_chip", async () => {
    const m = await boot();
    await m.run(async () => {
      const s = await stack();
      const virq = await settle(irq_domain_alloc_irqs(s.T, 1, -1, null));
      const other = dom(await settle(irq_domain_create_tree(null, {}, null)));
      expect(irq_domain_set_hwirq_and_chip(other, virq, 1, dummy_irq_chip, null)).to.equal(-2);
      expect(irq_domain_get_irq_data(other, virq)).to.equal(null);
      expect(irq_domain_set_hwirq_and_chip(s.M, virq, 0x2ff, null, "cd")).to.equal(0);
      const mid = irq_domain_get_irq_data(s.M, virq)!;
      expect([mid.hwirq, irq_chip_orig(mid.chip), mid.chip_data]).to.deep.equal([0x2ff, no_irq_chip, "cd"]);
      irq_domain_reset_irq_data(mid);
      expect([mid.hwirq, irq_chip_orig(mid.chip), mid.chip_data]).to.deep.equal([0, no_irq_chip, null]);
    });
  });

  it("C15 irq_domain_set_info sets the level, then the descriptor's flow handler and name, then the shared handler data", async () => {
    const m = await boot();
    await m.run(async () => {
      const s = await stack({
        T: {
          extra: {
            alloc: (d, virq, nr, arg) => {
              const r = irq_domain_alloc_irqs_parent(d, virq, nr, arg);
              if (r) return r;
              irq_domain_set_info(d, virq, 0x1aa, dummy_irq_chip, "chipdata", handle_edge_irq, "hdata", "edge");
              return 0;
            },
          },
        },
      });
      const virq = await settle(irq_domain_alloc_irqs(s.T, 1, -1, null));
      const desc = irq_to_desc(virq)!;
      expect([desc.irq_data.hwirq, desc.irq_data.chip_data, desc.handle_irq, desc.name]).to.deep.equal([0x1aa, "chipdata", handle_edge_irq, "edge"]);
      expect(levels(virq).map((l) => l.common.handler_data)).to.deep.equal(["hdata", "hdata", "hdata"]);
    });
  });

  it("C16 irq_domain_free_irqs calls ops->free once per virq with nr 1 and resets the levels top-down", async () => {
    const m = await boot();
    await m.run(async () => {
      const seen: string[] = [];
      const s = await stack({
        M: { extra: { free: (d, virq, nr) => {
          seen.push(`M free ${virq - base} ${nr} top=${irq_chip_orig(levels(virq)[0]!.chip).name} T-level-hwirq=${levels(virq)[0]!.hwirq}`);
          hier_ops("M", [], null).free!(d, virq, nr);
        } } },
      });
      const base = await settle(irq_domain_alloc_irqs(s.T, 3, -1, null));
      s.log.length = 0;
      await settle(irq_domain_free_irqs(base, 3));
      expect(s.log).to.deep.equal([`free T ${base} 1`, `free R ${base} 1`, `free T ${base + 1} 1`, `free R ${base + 1} 1`, `free T ${base + 2} 1`, `free R ${base + 2} 1`]);
      expect(seen).to.deep.equal(["M free 0 1 top=none T-level-hwirq=0", "M free 1 1 top=none T-level-hwirq=0", "M free 2 1 top=none T-level-hwirq=0"]);
    });
  });

  it("C16 freeing removes every level from the revmaps and mapcounts, then the chains and the descriptors", async () => {
    const m = await boot();
    await m.run(async () => {
      const s = await stack();
      const virq = await settle(irq_domain_alloc_irqs(s.T, 2, -1, null));
      const embedded = irq_to_desc(virq)!.irq_data;
      await settle(irq_domain_free_irqs(virq, 2));
      expect([s.T.mapcount, s.M.mapcount, s.R.mapcount]).to.deep.equal([0, 0, 0]);
      expect([s.T.revmap_tree.size, s.M.revmap_tree.size, s.R.revmap_tree.size]).to.deep.equal([0, 0, 0]);
      expect([embedded.parent_data, embedded.domain]).to.deep.equal([null, null]);
      expect([irq_to_desc(virq), irq_to_desc(virq + 1)]).to.deep.equal([null, null]);
    });
  });

  it("C16 irq_domain_free_irqs WARNs \"NULL pointer, cannot free irq\" and frees nothing without data, domain or ops->free", async () => {
    const m = await boot();
    m.expectSplat(/^NULL pointer, cannot free irq$/, 3);
    await m.run(async () => {
      await settle(irq_domain_free_irqs(4000, 1));
      const bare = irq_alloc_descs(-1, 1, 1, -1);
      await settle(irq_domain_free_irqs(bare, 1));
      const nofree = dom(await settle(irq_domain_create_tree(null, { alloc: (d, v) => irq_domain_set_hwirq_and_chip(d, v, 1, dummy_irq_chip, null) }, null)));
      const v = await settle(irq_domain_alloc_irqs(nofree, 1, -1, null));
      await settle(irq_domain_free_irqs(v, 1));
      expect(irq_to_desc(bare)).to.not.equal(null);
      expect([irq_to_desc(v)!.irq_data.domain, nofree.mapcount]).to.deep.equal([nofree, 1]);
    });
    expect(m.splats()).to.have.length(3);
  });

  it("C16 irq_domain_free_irqs_top clears handler data and the flow handler before resetting the level", async () => {
    const m = await boot();
    await m.run(async () => {
      const seen: string[] = [];
      const s = await stack({
        T: { extra: { free: (d, virq, nr) => {
          irq_domain_free_irqs_top(d, virq, nr);
          const desc = irq_to_desc(virq)!;
          seen.push(`${String(desc.irq_common_data.handler_data)} ${desc.handle_irq === handle_bad_irq}`);
        } } },
      });
      const virq = await settle(irq_domain_alloc_irqs(s.T, 1, -1, null));
      irq_to_desc(virq)!.irq_common_data.handler_data = "x";
      await settle(irq_domain_free_irqs(virq, 1));
      expect(seen).to.deep.equal(["null true"]);
      expect(s.log.slice(-2)).to.deep.equal([`free M ${virq} 1`, `free R ${virq} 1`]);
    });
  });

  it("C16 irq_domain_free_irqs_parent without a parent does nothing", async () => {
    const m = await boot();
    await m.run(async () => {
      const s = await stack();
      irq_domain_free_irqs_parent(s.R, 1, 1);
      expect(s.log).to.deep.equal([]);
    });
  });

  it("C17 irq_dispose_mapping frees one interrupt of a hierarchy, or hands an MSI device domain's to the MSI core", async () => {
    const m = await boot();
    const saved = { ...irq_domain_msi_hooks };
    try {
      await m.run(async () => {
        const s = await stack();
        const v = await settle(irq_domain_alloc_irqs(s.T, 2, -1, null));
        await settle(irq_dispose_mapping(v + 1));
        expect([irq_to_desc(v) !== null, irq_to_desc(v + 1)]).to.deep.equal([true, null]);
        const wired = sinon.spy((_d: irq_domain, _v: number) => undefined);
        irq_domain_msi_hooks.free_wired = wired;
        const md = dom(await settle(irq_domain_instantiate({ ops: hier_ops("MD", [], dummy_irq_chip), domain_flags: IRQ_DOMAIN_FLAG_MSI_DEVICE })));
        const w = await settle(irq_domain_alloc_irqs(md, 1, -1, null));
        await settle(irq_dispose_mapping(w));
        expect(wired.calledOnceWith(md, w)).to.equal(true);
        expect(irq_to_desc(w)).to.not.equal(null);
      });
    } finally {
      Object.assign(irq_domain_msi_hooks, saved);
    }
  });

  it("C18 irq_domain_disconnect_hierarchy from alloc trims the chain above the marker and says so", async () => {
    const m = await boot();
    let virq = 0;
    await m.run(async () => {
      const s = await stack({
        M: {
          extra: {
            alloc: (d, v, nr) => {
              expect(irq_domain_disconnect_hierarchy(d.parent!, v)).to.equal(0);
              for (let i = 0; i < nr; i++) irq_domain_set_hwirq_and_chip(d, v + i, 0x222, dummy_irq_chip, null);
              return 0;
            },
          },
        },
      });
      virq = await settle(irq_domain_alloc_irqs(s.T, 1, -1, null));
      expect(levels(virq).map((l) => l.domain)).to.deep.equal([s.T, s.M]);
      expect([s.T.mapcount, s.M.mapcount, s.R.mapcount]).to.deep.equal([1, 1, 0]);
      const other = dom(await settle(irq_domain_create_tree(null, {}, null)));
      expect(irq_domain_disconnect_hierarchy(other, virq)).to.equal(-22);
    });
    expect(dmesgLines(m)).to.include(`irq: IRQ${virq}: trimming hierarchy from R`);
  });

  it("C18 an inner level left without a chip, an ERR chip other than -ENOTCONN, or a chip below a marker fail with -EINVAL and no ops->free", async () => {
    const m = await boot();
    await m.run(async () => {
      const a = await stack({ R: { no_chip: true } });
      const fa = sinon.spy(a.T.ops, "free");
      expect(await settle(irq_domain_alloc_irqs(a.T, 1, -1, null))).to.equal(-22);
      expect(fa.called).to.equal(false);
      const b = await stack({ M: { extra: { alloc: (d, v) => {
        irq_domain_alloc_irqs_parent(d, v, 1, null);
        irq_domain_get_irq_data(d, v)!.chip = irq_chip_err_ptr(-5);
        return 0;
      } } } });
      expect(await settle(irq_domain_alloc_irqs(b.T, 1, -1, null))).to.equal(-22);
      const c = await stack({ M: { extra: { alloc: (d, v) => {
        irq_domain_alloc_irqs_parent(d, v, 1, null);
        irq_domain_disconnect_hierarchy(d, v);
        return 0;
      } } } });
      expect(await settle(irq_domain_alloc_irqs(c.T, 1, -1, null))).to.equal(-22);
      const d = await stack({ T: { extra: { alloc: (dd, v) => {
        irq_domain_alloc_irqs_parent(dd, v, 1, null);
        irq_domain_disconnect_hierarchy(dd, v);
        return 0;
      } } } });
      expect(await settle(irq_domain_alloc_irqs(d.T, 1, -1, null))).to.equal(-22);
      expect([a.R.mapcount, b.R.mapcount, c.R.mapcount, d.R.mapcount]).to.deep.equal([0, 0, 0, 0]);
    });
  });

  it("C18 an outermost level that never sets a chip silently keeps no_irq_chip", async () => {
    const m = await boot();
    await m.run(async () => {
      const s = await stack({ T: { no_chip: true } });
      const v = await settle(irq_domain_alloc_irqs(s.T, 1, -1, null));
      expect(v).to.be.greaterThan(0);
      expect(irq_chip_orig(irq_to_desc(v)!.irq_data.chip)).to.equal(no_irq_chip);
    });
  });

  it("C19 irq_domain_push_irq puts a domain on top: the old top moves to a copy whose revmap slot is fixed, mapcount unchanged", async () => {
    const m = await boot();
    await m.run(async () => {
      const log: string[] = [];
      const R = dom(await settle(irq_domain_create_tree(null, hier_ops("R", log, dummy_irq_chip, { hwirq_base: 5 }), null)));
      const pchip = log_chip("P", log);
      const P = dom(
        await settle(
          irq_domain_create_hierarchy(R, 0, 0, null, hier_ops("P", log, pchip, { extra: { alloc: (d, v) => irq_domain_set_hwirq_and_chip(d, v, 0x50, pchip, null) } }), null),
        ),
      );
      const virq = await settle(irq_domain_alloc_irqs(R, 1, -1, null));
      const old = irq_to_desc(virq)!.irq_data;
      const pushed = await settle(irq_domain_push_irq(P, virq, null));
      expect(pushed).to.equal(0);
      const l = levels(virq);
      expect(l.map((d) => d.domain)).to.deep.equal([P, R]);
      expect(l[0]).to.equal(old);
      expect([l[0]!.hwirq, l[1]!.hwirq]).to.deep.equal([0x50, 5]);
      expect(R.revmap_tree.get(5)).to.equal(l[1]);
      expect(irq_find_mapping(P, 0x50)).to.equal(virq);
      expect([P.mapcount, R.mapcount]).to.deep.equal([0, 1]);
      expect(await settle(irq_domain_pop_irq(P, virq))).to.equal(0);
      expect(levels(virq).map((d) => d.domain)).to.deep.equal([R]);
      expect(R.revmap_tree.get(5)).to.equal(irq_to_desc(virq)!.irq_data);
      expect(irq_find_mapping(P, 0x50)).to.equal(0);
      expect(log.filter((x) => x.startsWith("free"))).to.deep.equal([`free P ${virq} 1`]);
    });
  });

  it("C19 push rejects bad input with the kernel's errnos and restores the data when alloc fails", async () => {
    const m = await boot();
    m.expectSplat(/WARNING: CPU: \d+ PID: \d+ at /, 2);
    await m.run(async () => {
      const R = dom(await settle(irq_domain_create_tree(null, hier_ops("R", [], dummy_irq_chip), null)));
      const bad = dom(await settle(irq_domain_create_hierarchy(R, 0, 0, null, { alloc: () => -12, free: () => undefined }, null)));
      const notchild = dom(await settle(irq_domain_create_tree(null, hier_ops("N", [], dummy_irq_chip), null)));
      const plain = dom(await settle(irq_domain_instantiate({ ops: { map: () => 0 } })));
      const virq = await settle(irq_domain_alloc_irqs(R, 1, -1, null));
      expect(await settle(irq_domain_push_irq(bad, 4000, null))).to.equal(-22);
      expect(await settle(irq_domain_push_irq(null, virq, null))).to.equal(-22);
      expect(await settle(irq_domain_push_irq(plain, virq, null))).to.equal(-22);
      expect(await settle(irq_domain_push_irq(notchild, virq, null))).to.equal(-22);
      const d = irq_to_desc(virq)!.irq_data;
      const before = [d.domain, d.hwirq, d.chip, d.parent_data];
      expect(await settle(irq_domain_push_irq(bad, virq, null))).to.equal(-12);
      const after = [d.domain, d.hwirq, d.chip, d.parent_data];
      for (let i = 0; i < 4; i++) expect(after[i]).to.equal(before[i]);
      expect(R.revmap_tree.get(d.hwirq)).to.equal(d);
      expect(await request_irq(virq, () => IRQ_HANDLED, 0, "busy", 1)).to.equal(0);
      expect(await settle(irq_domain_push_irq(bad, virq, null))).to.equal(-16);
      await free_irq(virq, 1);
    });
  });

  it("C19 pop only removes the top domain, with WARNs and -EINVAL otherwise", async () => {
    const m = await boot();
    m.expectSplat(/WARNING: CPU: \d+ PID: \d+ at /, 2);
    await m.run(async () => {
      const s = await stack();
      const virq = await settle(irq_domain_alloc_irqs(s.T, 1, -1, null));
      expect(await settle(irq_domain_pop_irq(s.M, virq))).to.equal(-22);
      expect(await settle(irq_domain_pop_irq(null, virq))).to.equal(-22);
      const solo = dom(await settle(irq_domain_create_tree(null, hier_ops("S", [], dummy_irq_chip), null)));
      const v2 = await settle(irq_domain_alloc_irqs(solo, 1, -1, null));
      expect(await settle(irq_domain_pop_irq(solo, v2))).to.equal(-22);
      expect(levels(virq).map((l) => l.domain)).to.deep.equal([s.T, s.M, s.R]);
    });
  });
});

describe("lib/irq/chip hierarchy helpers", () => {
  async function two(m: Machine, top: irq_chip, parent: irq_chip): Promise<irq_data> {
    void m;
    const R = dom(await settle(irq_domain_create_tree(null, hier_ops("R", [], parent), null)));
    const T = dom(await settle(irq_domain_create_hierarchy(R, 0, 0, null, hier_ops("T", [], top), null)));
    const virq = await settle(irq_domain_alloc_irqs(T, 1, -1, null));
    return irq_to_desc(virq)!.irq_data;
  }

  it("C26 irq_chip_compose_msi_msg uses the outermost chip that can compose, or returns -ENOSYS", async () => {
    const m = await boot();
    await m.run(async () => {
      const R = dom(await settle(irq_domain_create_tree(null, hier_ops("R", [], { name: "vector", irq_compose_msi_msg: (_d, msg) => void (msg.data = 0xa) }), null)));
      const M = dom(await settle(irq_domain_create_hierarchy(R, 0, 0, null, hier_ops("M", [], { name: "IR", irq_compose_msi_msg: (_d, msg) => void (msg.data = 0xb) }), null)));
      const T = dom(await settle(irq_domain_create_hierarchy(M, 0, 0, null, hier_ops("T", [], { name: "PCI-MSI" }), null)));
      const virq = await settle(irq_domain_alloc_irqs(T, 1, -1, null));
      const msg = new msi_msg();
      expect(irq_chip_compose_msi_msg(irq_to_desc(virq)!.irq_data, msg)).to.equal(0);
      expect(msg.data).to.equal(0xb);
      const none = await two(m, { name: "a" }, { name: "b" });
      expect(irq_chip_compose_msi_msg(none, new msi_msg())).to.equal(-38);
    });
  });

  it("C27 the *_parent helpers call the next level inward, with the documented fallbacks and defaults", async () => {
    const m = await boot();
    await m.run(async () => {
      const log: string[] = [];
      const parent = log_chip("P", log, {
        irq_set_type: (_d, t) => (log.push(`set_type ${t}`), 0),
        irq_retrigger: () => (log.push("retrigger"), 1),
        flags: IRQCHIP_SKIP_SET_WAKE,
      });
      const d = await two(m, log_chip("C", log), parent);
      irq_chip_mask_parent(d);
      irq_chip_unmask_parent(d);
      irq_chip_enable_parent(d);
      irq_chip_disable_parent(d);
      expect(irq_chip_set_type_parent(d, 1)).to.equal(0);
      expect(irq_chip_set_affinity_parent(d, cpumask_of(0), false)).to.equal(-38);
      expect(irq_chip_set_wake_parent(d, 1)).to.equal(0);
      expect(irq_chip_set_parent_state(d, IRQCHIP_STATE_PENDING, true)).to.equal(0);
      expect(irq_chip_get_parent_state(d, IRQCHIP_STATE_PENDING, { value: false })).to.equal(0);
      expect(irq_chip_retrigger_hierarchy(d)).to.equal(1);
      const hw = d.parent_data!.hwirq;
      expect(log).to.deep.equal([`irq_mask P ${d.irq}/${hw}`, `irq_unmask P ${d.irq}/${hw}`, `irq_unmask P ${d.irq}/${hw}`, `irq_mask P ${d.irq}/${hw}`, "set_type 1", "retrigger"]);
    });
  });
});
