// SPDX-License-Identifier: GPL-2.0-only
// Managed-interrupt spreading (kernel/irq/affinity.c, lib/group_cpus.c,
// pci_alloc_irq_vectors_affinity()) against Linux 6.12 on 4 and 6 CPUs:
// docs/oracle/spread.txt and docs/oracle/spread-smp6-max8.txt. Each step of
// the captures is repeated on irqlab and compared vector by vector: the
// affinity, the effective CPU, managed or not, node, and the /proc/interrupts
// columns. Where 6.17 changed the algorithm (a set with more vectors than
// CPUs), the test derives the 6.18 result from the groups Linux printed and
// checks that the oracle shows the 6.12 WARN and retry instead.
import { expect } from "chai";
import type { Machine } from "../../../lib/machine.ts";
import { group_cpus_evenly } from "../../../lib/irq/affinity.ts";
import { cpumask_pr_list } from "../../../lib/kernel/cpumask.ts";
import { add_cpu, remove_cpu } from "../../../lib/kernel/cpu.ts";
import { PCI_IRQ_AFFINITY, PCI_IRQ_ALL_TYPES, PCI_IRQ_INTX, PCI_IRQ_MSIX } from "../../../drivers/pci/msi/msi.ts";
import {
  allocParams,
  calcSets,
  cpuList,
  E1000E,
  effectiveWithin,
  interruptRows,
  load,
  NVME,
  oracleGroups,
  ourTable,
  parseSpread,
  sectionOf,
  spreadMachine,
  oracleText,
  unload,
  VIRTIO,
  type AllocParams,
  type Loaded,
  type Section,
  type TabRow,
  type VecRow,
} from "./affinity_oracle_fixture.ts";

const CAPTURES = [
  { file: "spread.txt", cpus: 4 },
  { file: "spread-smp6-max8.txt", cpus: 6 },
];

/** Rows of one vector table against the oracle's: non-managed effective CPUs only need to be in the mask and online. */
function expectVecRows(what: string, ours: VecRow[], oracle: VecRow[], online: number[]): void {
  expect(ours.map((r) => [r.vec, r.managed, r.shutdown, r.aff]), `${what}: managed/shutdown/affinity`).to.deep.equal(oracle.map((r) => [r.vec, r.managed, r.shutdown, r.aff]));
  for (const [i, o] of oracle.entries()) {
    if (o.managed || what.startsWith("alloc")) expect(ours[i]!.eff, `${what} vec ${i} effective`).to.equal(o.eff);
    else expect(effectiveWithin(ours[i]!, online), `${what} vec ${i} effective ${ours[i]!.eff} in ${ours[i]!.aff}`).to.equal(true);
  }
}

function expectTable(what: string, ours: TabRow[], oracle: TabRow[], online: number[]): void {
  expect(ours.map((r) => [r.name, r.aff, r.managed, r.node]), `${what}: name/affinity/managed/node`).to.deep.equal(oracle.map((r) => [r.name, r.aff, r.managed, r.node]));
  for (const [i, o] of oracle.entries()) {
    if (o.managed) expect(ours[i]!.eff, `${what} ${o.name} effective`).to.equal(o.eff);
    else expect(effectiveWithin(ours[i]!, online), `${what} ${o.name} effective ${ours[i]!.eff} in ${ours[i]!.aff}`).to.equal(true);
  }
}

/** The state after one step, all of it against the capture's section. */
function expectState(m: Machine, l: Loaded, o: Section, names: string[]): void {
  const online = cpuList(o.online);
  expectTable(o.title, ourTable(m, l.irqs), o.table, online);
  expect(interruptRows(m.procInterrupts().split("\n"), names), `${o.title}: /proc/interrupts`).to.deep.equal(interruptRows(o.interrupts, names));
}

function affd(p: AllocParams, log: string[]): { pre_vectors: number; post_vectors: number; calc_sets: ReturnType<typeof calcSets> } {
  return { pre_vectors: p.pre, post_vectors: p.post, calc_sets: calcSets(p.sets, log) };
}

async function loadAlloc(m: Machine, p: AllocParams): Promise<Loaded> {
  const log: string[] = [];
  return load(m, p.dev === "nvme" ? NVME : E1000E, p.min, p.max, p.flags, affd(p, log), (i) => `spr${i}`, log);
}

/**
 * What 6.17+ makes of a step whose set has more vectors than CPUs: no retry;
 * each set gets its initialized groups (the non-empty masks Linux printed for
 * group_cpus_evenly(size)), the next set moves up, and every vector left
 * before the post vectors gets the default affinity, still managed.
 */
function expected618(o: Section, p: AllocParams, groups: Map<number, string[]>, all: string): { ret: number; calc: string; rows: { aff: string; managed: number }[] } {
  const first = /^calc_sets\(nvecs=(\d+)\) -> nr_sets=\d+ set_size=(\S+)$/.exec(o.calc[0]!)!;
  const affvecs = Number(first[1]);
  const rows: { aff: string; managed: number }[] = [];
  for (let i = 0; i < p.pre; i++) rows.push({ aff: all, managed: 0 });
  for (const size of first[2]!.split(",").map(Number)) for (const g of groups.get(size)!.filter((x) => x !== "")) rows.push({ aff: g, managed: 1 });
  while (rows.length < p.pre + affvecs) rows.push({ aff: all, managed: 1 });
  for (let i = 0; i < p.post; i++) rows.push({ aff: all, managed: 0 });
  return { ret: p.pre + affvecs + p.post, calc: o.calc[0]!, rows };
}

for (const cap of CAPTURES) {
  const S = parseSpread(oracleText(cap.file));
  const GROUPS = oracleGroups(S);
  const ALL = `0-${cap.cpus - 1}`;
  const ONLINE = cpuList(ALL);

  describe(`lib/irq/affinity: spreading against Linux 6.12 on ${cap.cpus} CPUs (docs/oracle/${cap.file})`, () => {
    it(`the capture is of ${cap.cpus} possible, present and online CPUs (QEMU's absent CPUs never became possible in this 6.12 build)`, () => {
      expect(S.find((s) => s.title === "kernel")!.lines).to.include(`possible CPUs: ${cap.cpus}`);
      expect(sectionOf(S, "group_cpus_evenly").lines).to.include(`spread: cpus possible=${ALL} present=${ALL} online=${ALL}`);
    });

    it("group_cpus_evenly(1..10): the groups Linux printed; the groups beyond the CPUs stay empty and are counted out (6.17+), where 6.12 WARNed", async () => {
      const m = await spreadMachine(cap.cpus);
      const warns = sectionOf(S, "group_cpus_evenly").lines.filter((l) => /^WARNING: .* at lib\/group_cpus\.c:\d+ group_cpus_evenly/.test(l)).length;
      // 6.12: WARN_ON(nr_present + nr_others < numgrps), once per call with more groups than CPUs
      expect(warns).to.equal([...GROUPS.keys()].filter((n) => n > cap.cpus).length);
      for (const [n, want] of GROUPS) {
        const got = m.enter(() => group_cpus_evenly(n))!;
        expect(got.masks.map((x) => cpumask_pr_list(x)), `group_cpus_evenly(${n})`).to.deep.equal(want);
        expect(got.nummasks, `nummasks of ${n}`).to.equal(want.filter((x) => x !== "").length);
      }
      expect(m.enter(() => group_cpus_evenly(0))).to.equal(null);
    });

    it("the nvme and virtio-blk drivers' own spreads: at boot, with write/poll queues, and with CPU2 offline at probe time", async () => {
      const m = await spreadMachine(cap.cpus);
      const nvme = async (write: number, poll: number): Promise<Loaded> => {
        // nvme_setup_io_queues()/nvme_setup_irqs(): one I/O queue per possible
        // CPU plus the write and poll queues (QEMU allows 64), poll queues
        // without a vector, the admin queue as pre vector
        const nr_io_queues = Math.min(cap.cpus + write + poll, 64);
        const poll_queues = Math.min(poll, nr_io_queues - 1);
        const log: string[] = [];
        const a = affd({ dev: "nvme", min: 1, max: 0, pre: 1, post: 0, sets: `nvme:${write}`, flags: 0 }, log);
        return load(m, NVME, 1, 1 + nr_io_queues - poll_queues, PCI_IRQ_ALL_TYPES | PCI_IRQ_AFFINITY, a, (i) => `nvme0q${i}`);
      };
      // vp_find_vqs_msix(): config vector plus one per request queue (one per possible CPU), all or nothing
      const vio = await (async () => {
        const nv = await nvme(0, 0);
        const n = cap.cpus + 1;
        const v = await load(m, VIRTIO, n, n, PCI_IRQ_MSIX | PCI_IRQ_AFFINITY, { pre_vectors: 1, post_vectors: 0 }, (i) => (i ? `virtio0-req.${i - 1}` : "virtio0-config"));
        const boot = sectionOf(S, "boot: nvme and virtio-blk as probed");
        const both = new Map([...nv.irqs, ...v.irqs]);
        expectTable(boot.title, ourTable(m, both), boot.table, ONLINE);
        expect(interruptRows(m.procInterrupts().split("\n"), both.keys())).to.deep.equal(interruptRows(boot.interrupts, both.keys()));
        await unload(m, nv);
        return v;
      })();
      for (const [title, write, poll] of [
        ["nvme: write_queues=2 poll_queues=1", 2, 1],
        [`nvme: write_queues=${cap.cpus} poll_queues=0`, cap.cpus, 0],
      ] as const) {
        const l = await nvme(write, poll);
        expectState(m, l, sectionOf(S, title), [...l.irqs.keys()]);
        await unload(m, l);
      }
      expect(await m.run(() => remove_cpu(2))).to.equal(0);
      const off = await nvme(0, 0);
      expectState(m, off, sectionOf(S, "nvme: CPU2 offline at probe time"), [...off.irqs.keys()]);
      expect(await m.run(() => add_cpu(2))).to.equal(0);
      await m.idle(10e6);
      expectState(m, off, sectionOf(S, "nvme: CPU2 online again"), [...off.irqs.keys()]);
      await unload(m, off);
      await unload(m, vio);
    });

    for (const o of S.filter((s) => s.title.startsWith("alloc: "))) {
      const p = allocParams(o.title);
      if (p.flags & PCI_IRQ_INTX) continue; // the INTx fallback: irqlab models no INTx line
      const title = o.warn
        ? `${o.title}: a set larger than the CPUs, all vectors spread as 6.17+ does (6.12 WARNed and retried with fewer)`
        : `${o.title}: vector count, calc_sets() calls, masks, managed, effective CPUs, node, /proc/interrupts`;
      it(title, async () => {
        const m = await spreadMachine(cap.cpus);
        const l = await loadAlloc(m, p);
        if (!o.warn) {
          expect(l.ret, "return value").to.equal(o.ret);
          expect(l.calc, "calc_sets() calls").to.deep.equal(o.calc);
          expectVecRows("alloc", l.alloc, o.alloc, ONLINE);
          expectVecRows("req", l.req, o.req, ONLINE);
          if (l.ret > 0) expectState(m, l, o, [...l.irqs.keys()]);
        } else {
          // the oracle: the empty group failed the allocation at its vector,
          // and the retry with the vectors allocated before it recomputed
          // the sets (a second calc_sets() call, fewer vectors)
          const want = expected618(o, p, GROUPS, ALL);
          expect(o.calc.length).to.equal(2);
          expect(o.ret).to.be.lessThan(want.ret);
          expect(l.ret, "return value").to.equal(want.ret);
          expect(l.calc, "calc_sets() calls").to.deep.equal([want.calc]);
          expect(l.req.map((r) => ({ aff: r.aff, managed: r.managed }))).to.deep.equal(want.rows);
          for (const r of l.req) expect(effectiveWithin(r, ONLINE), `vec ${r.vec} effective ${r.eff} in ${r.aff}`).to.equal(true);
          // 6.12's retry asked for the vectors allocated before the empty
          // group; asked for that many directly, 6.18 spreads them the same
          // way (also when the cut-down sets end in an empty one: no masks)
          await unload(m, l);
          const retry = await loadAlloc(m, { ...p, max: o.ret! });
          expect(retry.ret, "retry: return value").to.equal(o.ret);
          expect(retry.calc, "retry: calc_sets() calls").to.deep.equal([o.calc[1]]);
          expectVecRows("alloc", retry.alloc, o.alloc, ONLINE);
          expectVecRows("req", retry.req, o.req, ONLINE);
          expectState(m, retry, o, [...retry.irqs.keys()]);
          await unload(m, retry);
          return;
        }
        if (l.ret > 0) await unload(m, l);
      });
    }

    for (const o of S.filter((s) => s.title.startsWith("alloc with CPU2 offline: "))) {
      it(`${o.title}, then CPU2 online: the spread ignores online state, CPU2's vector stays shut down on CPU0 until CPU2 returns`, async () => {
        const p = allocParams(o.title);
        const m = await spreadMachine(cap.cpus);
        expect(await m.run(() => remove_cpu(2))).to.equal(0);
        const l = await loadAlloc(m, p);
        const online = cpuList(o.online);
        expect(l.ret).to.equal(o.ret);
        expectVecRows("alloc", l.alloc, o.alloc, online);
        expectVecRows("req", l.req, o.req, online);
        expectState(m, l, o, [...l.irqs.keys()]);
        expect(await m.run(() => add_cpu(2))).to.equal(0);
        await m.idle(10e6);
        const after = S[S.indexOf(o) + 1]!;
        expect(after.title).to.match(/^CPU2 online again/);
        expectState(m, l, after, [...l.irqs.keys()]);
        await unload(m, l);
      });
    }
  });
}
