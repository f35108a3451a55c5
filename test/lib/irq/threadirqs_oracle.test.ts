// SPDX-License-Identifier: GPL-2.0-only
// Forced irq threading ("threadirqs", kernel/irq/manage.c
// irq_setup_forced_threading(), irq_forced_thread_fn(), the secondary
// thread) checked against Linux 6.12: docs/oracle/threadirqs.txt (booted with
// threadirqs) and the "thr scenarios without threadirqs" of
// docs/oracle/spurious.txt, made by the oracle_spurious module of
// docs/oracle/spurious.patch. Every handler logs the context it runs in
// (comm, hardirq, bh disabled, irqs disabled, preempt_count, policy,
// rt_priority), so the comparison covers where each callback runs, in which
// order, the action flags and the thread names.

import { expect } from "chai";
import { createMachine } from "../../../lib/machine.ts";
import { for_each_irq_desc } from "../../../lib/irq/irqdesc.ts";
import { IRQF_NO_THREAD } from "../../../lib/irq/interrupt.ts";
import { Rig, captureSection, machineLines, normalize, scenarioLines } from "./spurious_oracle_fixture.ts";
import { SCENARIOS, THR_ALL, thr_keep } from "./spurious_oracle_scenarios.ts";
import { nicRig } from "../../drivers/nic_fixture.ts";

const LINUX_VIRQ = 38;

async function runThr(threadirqs: boolean, list: readonly string[]): Promise<{ lines: string[]; virq: number; threads: { comm: string; policy: string; rt_priority: number }[] }> {
  const m = await createMachine({ cpus: 4, config: { threadirqs } });
  let virq = 0;
  const threads: { comm: string; policy: string; rt_priority: number }[] = [];
  await m.run(async () => {
    const r = new Rig();
    await r.init();
    for (const sc of list) {
      r.announce(sc);
      await (sc === "thr_keep" ? thr_keep : SCENARIOS[sc]!)(r);
    }
    virq = Number(/ret=(\d+)/.exec(machineLines(m.dmesg()).find((l) => l.includes(": irq_create_mapping "))!)![1]);
    for (const desc of for_each_irq_desc()) {
      for (let a = desc.action; a; a = a.next) {
        for (const t of [a.thread, a.secondary?.thread]) if (t) threads.push({ comm: t.comm, policy: t.policy, rt_priority: t.rt_priority });
      }
    }
  });
  return { lines: machineLines(m.dmesg()), virq, threads };
}

/** thr_shared: the count note_interrupt() read races with the threads of the same interrupt on the real guest (see spurious_oracle.test.ts). */
const deferredCount = (l: string): string => l.replace(/threads_handled_last=0x8[0-9a-f]{7}/, "threads_handled_last=0x8deferred");

describe("forced irq threading against Linux 6.12 (docs/oracle/threadirqs.txt)", function () {
  this.timeout(60000);

  for (const threadirqs of [false, true]) {
    describe(threadirqs ? "booted with threadirqs" : "without threadirqs (spurious.txt)", () => {
      let run: { lines: string[]; virq: number };
      before(async () => {
        run = await runThr(threadirqs, THR_ALL);
      });
      const file = threadirqs ? "threadirqs.txt" : "spurious.txt";
      const section = threadirqs ? "thr scenarios" : "thr scenarios without threadirqs";
      const what: Record<string, string> = threadirqs
        ? {
            thr_plain: "request_irq() gets IRQF_ONESHOT, irq_default_primary_handler and a thread irq/N-name; the handler runs there with bh and irqs off (preempt_count 0x200), SCHED_FIFO 50; the level line is unmasked when the thread is done",
            thr_simple: "the same on handle_simple_irq: no mask, no unmask",
            thr_split: "a primary and a thread_fn: the primary is forced into irq/N-name, the thread_fn runs in the secondary irq/N-s-name (irqs on, bh on, FIFO 50 in 6.12 and 6.18) after the unmask",
            thr_nothread: "IRQF_NO_THREAD stays in hard interrupt context",
            thr_oneshot: "an explicit IRQF_ONESHOT primary is not forced",
            thr_null: "a NULL primary is not forced; without ONESHOT it is refused with -22",
            thr_shared: "two forced sharers get thread_mask 0x1 and 0x2 and the line is unmasked after both threads",
            thr_shared_mix: "NO_THREAD first then a forced sharer: flags mismatch (-16); the other order shares, the NO_THREAD action taking ONESHOT through IRQF_COND_ONESHOT",
            thr_desc_nothread: "IRQ_NOTHREAD on the descriptor keeps request_irq() in hard interrupt context",
          }
        : {
            thr_plain: "request_irq(): hard interrupt context, no thread, the interrupted task's comm",
            thr_simple: "the same on handle_simple_irq",
            thr_split: "primary in hard interrupt context, thread_fn in irq/N-name (FIFO 50); the level line is unmasked before the thread runs",
            thr_nothread: "IRQF_NO_THREAD: as without it",
            thr_oneshot: "ONESHOT: the line stays masked until the thread is done",
            thr_null: "a NULL primary needs ONESHOT (-22 and the genirq message without)",
            thr_shared: "two sharers run in order in hard interrupt context",
            thr_shared_mix: "IRQF_NO_THREAD makes no difference to sharing",
            thr_desc_nothread: "IRQ_NOTHREAD makes no difference",
          };
      for (const sc of THR_ALL) {
        it(`B5 ${sc}: ${what[sc]}`, () => {
          const o = { rewrite: deferredCount };
          const linux = normalize(scenarioLines(captureSection(file, section), sc), { virq: LINUX_VIRQ, ...o });
          expect(normalize(scenarioLines(run.lines, sc), { virq: run.virq, ...o })).to.deep.equal(linux);
        });
      }
    });
  }

  it("B5 thread names: 'irq/%d-%s' and 'irq/%d-s-%s' cut to 15 characters (the task comm), SCHED_FIFO 50, as /proc/PID shows them in full", async () => {
    const run = await runThr(true, ["thr_keep"]);
    const keep = captureSection("threadirqs.txt", "thr_keep");
    const linux = normalize(scenarioLines(keep, "thr_keep"), { virq: LINUX_VIRQ });
    expect(normalize(scenarioLines(run.lines, "thr_keep"), { virq: run.virq })).to.deep.equal(linux);
    // the /proc list: the full kthread names, 6.12's priority -51 = FIFO 50
    const proc = keep.filter((l) => l.startsWith("comm irq/")).map((l) => /^comm (\S+) +stat (\S+) +priority=(-?\d+) nice=0 rt_priority=(\d+) policy=(\d)$/.exec(l)!);
    expect(proc.map((p) => p[1])).to.deep.equal(["irq/38-oracle_long_devname", "irq/39-oracle-split", "irq/39-s-oracle-split"]);
    const rename = (full: string): string => full.replace(/^irq\/38-/, `irq/${run.virq}-`).replace(/^irq\/39-/, `irq/${run.virq + 1}-`);
    for (const p of proc) {
      expect([p[3], p[4], p[5]]).to.deep.equal(["-51", "50", "1"]);
      expect(run.threads).to.deep.include({ comm: rename(p[1]!).slice(0, 15), policy: "SCHED_FIFO", rt_priority: 50 });
    }
    expect(run.threads).to.have.length(3);
  });

  it("B5 at boot with threadirqs every requested device interrupt has its thread but the IRQF_NO_THREAD DMAR fault interrupt", async () => {
    const boot = captureSection("threadirqs.txt", "irq threads after boot")
      .map((l) => /^comm irq\/(\d+)-(\S+)/.exec(l))
      .filter((x) => x !== null)
      .map((x) => Number(x[1]));
    // 6.12: the i8042/serial/rtc/acpi lines and the nvme and virtio MSI-X
    // vectors 25-34 have threads; irq 24 (dmar0, requested IRQF_NO_THREAD)
    // and the timer have none
    expect(boot).to.include.members([25, 26, 27, 28, 29, 30, 31, 32, 33, 34]);
    expect(boot).to.not.include(24);
    expect(boot).to.not.include(0);
    const { m } = await nicRig({ machine: { config: { threadirqs: true } } });
    const seen: { name: string; noThread: boolean; thread: string | null }[] = [];
    await m.run(() => {
      for (const desc of for_each_irq_desc()) {
        for (let a = desc.action; a; a = a.next) seen.push({ name: a.name ?? "", noThread: (a.flags & IRQF_NO_THREAD) !== 0, thread: a.thread?.comm ?? null });
      }
    });
    const dmar = seen.filter((s) => s.name === "dmar0");
    expect(dmar).to.deep.equal([{ name: "dmar0", noThread: true, thread: null }]);
    const nic = seen.filter((s) => !s.noThread);
    expect(nic.length).to.be.greaterThan(0);
    for (const s of nic) expect(s.thread).to.match(/^irq\/\d+-/);
  });
});
