// SPDX-License-Identifier: GPL-2.0-only
// lib/explore checkers: each one reports the breakage it is named after (a
// corrupted descriptor, vector, IRTE, message, a lost interrupt, a leak) and
// stays silent on the same scenario unbroken.
import { expect } from "chai";
import type { TraceRecord } from "../../../lib/sim/trace.ts";
import { msleep, usleep_range } from "../../../lib/kernel/delay.ts";
import { cpumask_of } from "../../../lib/kernel/cpumask.ts";
import { readl, writel } from "../../../lib/kernel/io.ts";
import { idxd_pci_probe, idxd_remove } from "../../../drivers/dma/idxd/init.ts";
import type { idxd_device } from "../../../drivers/dma/idxd/idxd.ts";
import { enable_irq } from "../../../lib/irq/manage.ts";
import { irq_set_affinity } from "../../../lib/irq/manage_affinity.ts";
import { irq_alloc_desc, irq_to_desc } from "../../../lib/irq/irqdesc.ts";
import { IRQD_IRQ_MASKED } from "../../../lib/irq/irq.ts";
import { composeCompat } from "../../../lib/hw/fabric.ts";
import type { TestNic } from "../../../lib/hw/devices/testnic.ts";
import { apic_chip_data, vector_irq, vector_matrix } from "../../../irqchip/x86/vector.ts";
import { intel_ir_irte_of, irqlab_ir_skip_iec_flush } from "../../../drivers/iommu/intel/irq_remapping.ts";
import { pci_get_device_by_name } from "../../../drivers/pci/pci.ts";
import { testnic_probe, testnic_remove, type testnic_priv } from "../../../drivers/net/testnic/testnic.ts";
import { checker, runSeed, type CheckEnv, type ExploreScenario, type RunResult, type ScenarioCtx } from "../../../lib/explore/index.ts";

const BDF = "0000:3b:00.0";
const IMS_BDF = "0000:6a:01.0";

/**
 * A NIC scenario: probe, watch the four lines, `body` (which may break
 * something and put it back), tear down. `traffic` starts the device's
 * seeded traffic first.
 */
function nic(body: (ctx: ScenarioCtx, priv: testnic_priv, hw: TestNic) => Promise<void>, ir = false, traffic = false): ExploreScenario {
  return {
    name: ir ? "test-nic-ir" : "test-nic",
    description: "checker test",
    machine: () => ({ cpus: 4, iommu: { interruptRemapping: ir }, pci: { devices: [{ type: "testnic", bdf: BDF, vectors: 4 }] } }),
    devices: [BDF],
    horizonNs: 500_000,
    async run(ctx) {
      const priv = (await testnic_probe(pci_get_device_by_name(BDF)!, {})) as testnic_priv;
      const hw = ctx.m.pci.device<TestNic>(BDF);
      ctx.watch(priv.queues.map((q) => ({ bdf: BDF, index: q.index, irq: q.irq, name: q.name })));
      if (traffic) hw.startTraffic({ periodNs: 20_000, jitterNs: 5_000 });
      ctx.armFaults();
      await body(ctx, priv, hw);
      await ctx.disarmFaults();
      hw.stopTraffic();
      await msleep(1);
      await testnic_remove(priv);
      await msleep(12);
    },
  };
}

async function only(name: string, sc: ExploreScenario, faults: Parameters<typeof runSeed>[3] = null): Promise<RunResult> {
  return runSeed(sc, 1, "fifo", faults, { checkers: [name], keep: true });
}

function messages(r: RunResult): string[] {
  return r.violations.map((v) => `${v.checker}: ${v.message}`);
}

const pause = (): Promise<void> => usleep_range(20, 20);

describe("lib/explore checkers", () => {
  it("irq-state-consistent: a depth that disagrees with IRQD_IRQ_DISABLED, and an enabled line left masked", async () => {
    const ok = await only("irq-state-consistent", nic(() => pause()));
    expect(messages(ok)).to.deep.equal([]);
    const depth = await only(
      "irq-state-consistent",
      nic(async (_c, priv) => {
        const desc = irq_to_desc(priv.queues[0]!.irq)!;
        desc.depth = 2;
        await pause();
        desc.depth = 0;
      }),
    );
    expect(messages(depth)).to.deep.equal([`irq-state-consistent: irq ${firstIrq(depth)}: desc->depth 2 but IRQD_IRQ_DISABLED is clear`]);
    const masked = await only(
      "irq-state-consistent",
      nic(async (_c, priv) => {
        const d = irq_to_desc(priv.queues[1]!.irq)!.irq_data;
        d.common.state_use_accessors |= IRQD_IRQ_MASKED;
        await pause();
        d.common.state_use_accessors &= ~IRQD_IRQ_MASKED;
      }),
    );
    expect(messages(masked)).to.have.length(1);
    expect(messages(masked)[0]).to.match(/enabled and idle but IRQD_IRQ_MASKED/);
  });

  it("hierarchy-activated: an activated interrupt whose vector slot or IRTE is gone", async () => {
    let own = {};
    const vec = await only(
      "hierarchy-activated",
      nic(async (_c, priv) => {
        const d = irq_to_desc(priv.queues[2]!.irq)!.irq_data;
        const apicd = apic_chip_data(d)!;
        own = { irq: priv.queues[2]!.irq, cpu: apicd.cpu, vector: apicd.vector };
        const slot = vector_irq(apicd.cpu)[apicd.vector];
        vector_irq(apicd.cpu)[apicd.vector] = null;
        await pause();
        vector_irq(apicd.cpu)[apicd.vector] = slot!;
      }),
    );
    expect(messages(vec)).to.have.length(1);
    expect(messages(vec)[0]).to.match(/at level APIC \(x86-vector\): vector_irq\[CPU\d\]\[0x[0-9a-f]+\] is VECTOR_UNUSED, not this descriptor/);
    // the interrupt's own vector is dead: the finding names it (a known race may claim it)
    expect(vec.violations[0]!.about).to.deep.equal(own);
    const irte = await only(
      "hierarchy-activated",
      nic(async (ctx, priv) => {
        const d = irq_to_desc(priv.queues[2]!.irq)!.irq_data;
        const { index } = intel_ir_irte_of(d)!;
        const ram = ctx.m.platform.ram;
        const a = ctx.m.iommu!.activeTable!.base + 16 * index;
        const [lo, hi] = [ram.read64(a), ram.read64(a + 8)];
        ram.write64(a, 0n);
        ram.write64(a + 8, 0n);
        await pause();
        ram.write64(a, lo);
        ram.write64(a + 8, hi);
      }, true),
    );
    expect(messages(irte)).to.have.length(1);
    expect(messages(irte)[0]).to.match(/at level INTEL-IR \(intel-ir\): IRTE \d+ not present/);
    expect(irte.violations[0]!.about).to.equal(undefined);
  });

  it("vector-matrix-balanced: a matrix bit without a vector_irq entry, and its allocation count", async () => {
    const r = await only(
      "vector-matrix-balanced",
      nic(async () => {
        const cm = vector_matrix().maps[1]!;
        cm.alloc_map[0x90] = 1;
        await pause();
        cm.alloc_map[0x90] = 0;
      }),
    );
    expect(messages(r)).to.have.length(2);
    expect(messages(r)[0]).to.equal("vector-matrix-balanced: CPU1 vector 0x90 allocated in the matrix, vector_irq has VECTOR_UNUSED");
    expect(r.violations.map((v) => v.about)).to.deep.equal([{ cpu: 1, vector: 0x90 }, undefined]);
    const m = /^vector-matrix-balanced: CPU1: allocated (\d+), alloc_map has (\d+) bits$/.exec(messages(r)[1]!);
    expect(m, messages(r)[1]).to.not.equal(null);
    expect(Number(m![2])).to.equal(Number(m![1]) + 1);
  });

  it("irte-live-vector: an interrupt entry cache left stale by a missing flush", async () => {
    const body = async (_c: ScenarioCtx, priv: testnic_priv, hw: TestNic, skip: boolean): Promise<void> => {
      const q = priv.queues[0]!;
      hw.raise(0);
      await pause();
      const old = irqlab_ir_skip_iec_flush(skip);
      irq_set_affinity(q.irq, cpumask_of(2));
      await pause();
      irqlab_ir_skip_iec_flush(old);
      // a correct flush now drops the stale entry again
      irq_set_affinity(q.irq, cpumask_of(3));
    };
    const ok = await only("irte-live-vector", nic((c, p, h) => body(c, p, h, false), true));
    expect(messages(ok)).to.deep.equal([]);
    const bad = await only("irte-live-vector", nic((c, p, h) => body(c, p, h, true), true));
    expect(messages(bad)[0]).to.match(/IEC caches IRTE \d+ as vector 0x[0-9a-f]+ on APIC \d, the table says vector 0x[0-9a-f]+ on APIC 2: a flush is missing/);
    // a missing flush is nobody's vector gone stale: no known race claims it
    expect(bad.violations[0]!.about).to.equal(undefined);
  });

  it("msi-message-composed: a table entry rewritten behind the kernel's back", async () => {
    const r = await only(
      "msi-message-composed",
      nic(async (_c, priv) => {
        writel(0x99, priv.bar0 + 3 * 16 + 8);
        await pause();
      }),
    );
    expect(messages(r)).to.have.length(1);
    expect(messages(r)[0]).to.match(new RegExp(`${BDF} msix 3 \\(irq \\d+\\): device holds 0x0:0xfee0[0-9a-f]+/0x99, msi_desc caches`));
  });

  it("msi-message-composed: an IMS slot rewritten behind the kernel's back (IMS keeps no cached copy: the slot is compared with the composed message)", async () => {
    const ims = (body: (idxd: idxd_device) => Promise<void>): ExploreScenario => ({
      name: "test-ims",
      description: "checker test",
      machine: () => ({ cpus: 4, pci: { devices: [{ type: "ims", bdf: IMS_BDF, wqs: 2 }] } }),
      devices: [IMS_BDF],
      horizonNs: 100_000,
      async run() {
        const idxd = (await idxd_pci_probe(pci_get_device_by_name(IMS_BDF)!, { wqs: 2 })) as idxd_device;
        await body(idxd);
        await idxd_remove(idxd);
        await msleep(12);
      },
    });
    expect(messages(await only("msi-message-composed", ims(() => pause())))).to.deep.equal([]);
    const r = await only(
      "msi-message-composed",
      ims(async (idxd) => {
        const k = idxd.wqs[1]!.ie.int_handle;
        writel(0x77, idxd.ims_base + 16 * k + 8);
        readl(idxd.ims_base);
        await pause();
      }),
    );
    expect(messages(r)).to.have.length(1);
    expect(messages(r)[0]).to.match(/0000:6a:01.0 ims \d+ \(irq \d+\): the hierarchy composes 0x0:0xfee[0-9a-f]+\/0x[0-9a-f]+, the device holds 0x0:0xfee[0-9a-f]+\/0x77/);
  });

  it("no-lost-interrupt: a line masked behind the kernel's back latches and never delivers; a fault's dropped write is exempt", async () => {
    const lost = await only(
      "no-lost-interrupt",
      nic(async (_c, priv, hw) => {
        writel(1, priv.bar0 + 0 * 16 + 12);
        await pause();
        hw.raise(0);
        await msleep(8);
      }),
    );
    expect(messages(lost)).to.have.length(1);
    expect(messages(lost)[0]).to.match(/irq \d+ \(testnic-q0, 0000:3b:00.0 vector 0\): the interrupt sent at [\d.]+ us was not handled within 5000 us/);
    expect(lost.violations[0]!.about).to.deep.equal({ irq: lost.lines[0]!.irq });
    const dropped = await only(
      "no-lost-interrupt",
      nic(async (_c, _p, hw) => {
        await pause();
        hw.raise(1);
        await msleep(8);
      }),
      { faults: [{ kind: "msi-drop", at: 0, target: BDF, params: { count: 1 } }] },
    );
    expect(messages(dropped)).to.deep.equal([]);
    // the same history without the fault's record is a lost interrupt
    const env: CheckEnv = { m: dropped.machine!, records: dropped.trace!.filter((x) => x.kind !== "explore.fault"), lines: dropped.lines, boundNs: 5_000_000, baseline: null, expectedSplats: [] };
    expect(dropped.machine!.enter(() => checker("no-lost-interrupt").check(env)).map((f: { message: string }) => f.message)).to.have.length(1);
  });

  it("no-handler-after-free: a handler entry between free_irq() and the next request", () => {
    const rec = (seq: number, kind: string, extra: object): TraceRecord => ({ seq, t: seq, cpu: 0, ctx: "task", pid: 1, comm: "t", irqsOff: false, preempt: 0, locks: [], kind, ...extra }) as unknown as TraceRecord;
    const env = (records: TraceRecord[]): CheckEnv => ({ m: null as never, records, lines: [], boundNs: 1, baseline: null, expectedSplats: [] });
    const c = checker("no-handler-after-free");
    const freed = rec(1, "irq.api", { phase: "exit", fn: "free_irq", irq: 30 });
    const entry = rec(3, "irq_handler_entry", { irq: 30, name: "x" });
    expect(c.check(env([freed, entry])).map((f: { message: string }) => f.message)).to.deep.equal(["irq 30: a handler started after free_irq() returned (#1)"]);
    expect(c.check(env([freed, rec(2, "irq.api", { phase: "enter", fn: "request_threaded_irq", irq: 30 }), entry]))).to.deep.equal([]);
    expect(c.check(env([freed, rec(3, "irq_handler_entry", { irq: 31, name: "y" })]))).to.deep.equal([]);
  });

  it("no-splat: an unbalanced enable_irq() unless the scenario expects it", async () => {
    const warn = (expect_: boolean): ExploreScenario =>
      nic(async (ctx, priv) => {
        if (expect_) ctx.expectSplat(/^Unbalanced enable for IRQ/);
        await enable_irq(priv.queues[0]!.irq);
      });
    expect(messages(await only("no-splat", warn(false)))).to.deep.equal([`no-splat: WARNING: Unbalanced enable for IRQ ${await firstIrqOf()}`]);
    expect(messages(await only("no-splat", warn(true)))).to.deep.equal([]);
  });

  it("no-stray-vector: a message to a vector nobody routes", async () => {
    const r = await only(
      "no-stray-vector",
      nic(async (ctx) => {
        const msg = composeCompat({ dest: 1, vector: 0x99 });
        ctx.m.platform.fabric.receive(0x3b00, msg.addrLo, msg.addrHi, msg.data);
        await pause();
      }),
    );
    expect(messages(r)).to.have.length(1);
    expect(messages(r)[0]).to.match(/No irq handler for 1\.153/);
    expect(r.violations[0]!.about).to.deep.equal({ cpu: 1, vector: 0x99 });
  });

  it("no-stray-vector: one report per CPU and vector, not per run", async () => {
    const r = await only(
      "no-stray-vector",
      nic(async (ctx) => {
        for (const [dest, vector] of [[1, 0x99], [1, 0x99], [2, 0x98]] as const) {
          const msg = composeCompat({ dest, vector });
          ctx.m.platform.fabric.receive(0x3b00, msg.addrLo, msg.addrHi, msg.data);
          await pause();
        }
      }),
    );
    expect(r.violations.map((v) => v.about)).to.deep.equal([{ cpu: 1, vector: 0x99 }, { cpu: 2, vector: 0x98 }]);
  });

  it("no-leaks: a descriptor allocated and never freed", async () => {
    const r = await only(
      "no-leaks",
      nic(async () => {
        irq_alloc_desc(-1);
        await pause();
      }),
    );
    expect(messages(r)).to.have.length(1);
    expect(messages(r)[0]).to.match(/^no-leaks: irq.descs: (\d+) after boot, (\d+) after teardown$/);
  });

  it("machine and scenario: an exception out of the scenario, and its own failures", async () => {
    const boom = await runSeed(
      nic(() => {
        throw new Error("boom");
      }),
      1,
      "fifo",
      null,
      { checkers: [] },
    );
    expect(messages(boom)).to.deep.equal(["machine: Error: boom"]);
    const failed = await runSeed(
      nic(async (ctx) => {
        ctx.fail("the device said no");
        await pause();
      }),
      1,
      "fifo",
      null,
      { checkers: [] },
    );
    expect(messages(failed)).to.deep.equal(["scenario: the device said no"]);
  });
});

/** The Linux irq of queue 0 in a run (the NIC's first vector). */
function firstIrq(r: RunResult): number {
  const e = r.trace!.find((x) => x.kind === "irq_handler_entry" || (x.kind === "irq.api" && x.fn === "request_threaded_irq"));
  return (e as { irq: number }).irq;
}

async function firstIrqOf(): Promise<number> {
  const r = await runSeed(nic(() => pause()), 1, "fifo", null, { checkers: [], keep: true });
  return firstIrq(r);
}
