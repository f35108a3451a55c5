// SPDX-License-Identifier: GPL-2.0-only
// lib/explore/faults.ts: each fault kind does what its plan entry says, at
// the time or trigger it names, and the engine restores every knob.
import { expect } from "chai";
import { createMachine, type Machine } from "../../../lib/machine.ts";
import type { TestNic } from "../../../lib/hw/devices/testnic.ts";
import type { Mlx5Nic } from "../../../lib/hw/devices/mlx5/mlx5.ts";
import { msleep, usleep_range } from "../../../lib/kernel/delay.ts";
import { cpu_online, cpumask_of } from "../../../lib/kernel/cpumask.ts";
import { K } from "../../../lib/kernel/kernel.ts";
import { kthread_create_on_cpu } from "../../../lib/kernel/kthread.ts";
import { wake_up_process } from "../../../lib/kernel/sched.ts";
import { composeCompat } from "../../../lib/hw/fabric.ts";
import { irq_set_affinity } from "../../../lib/irq/manage_affinity.ts";
import { pci_get_device_by_name } from "../../../drivers/pci/pci.ts";
import { testnic_probe, type testnic_priv } from "../../../drivers/net/testnic/testnic.ts";
import { irqlab_ir_skip_iec_flush } from "../../../drivers/iommu/intel/irq_remapping.ts";
import { FaultEngine, faultKind, faultKinds, generatePlan, registerFaultKind, type FaultPlan } from "../../../lib/explore/faults.ts";
import "../../../lib/explore/index.ts";

const BDF = "0000:3b:00.0";
const US = 1000;

interface Rig {
  m: Machine;
  hw: TestNic;
  priv: testnic_priv;
}

async function rig(ir = false): Promise<Rig> {
  const m = await createMachine({ cpus: 4, iommu: { interruptRemapping: ir }, pci: { devices: [{ type: "testnic", bdf: BDF, vectors: 4 }] } });
  const priv = await m.run(async () => {
    const r = await testnic_probe(pci_get_device_by_name(BDF)!, { record: true });
    if (typeof r === "number") throw new Error(`probe ${r}`);
    return r;
  });
  return { m, hw: m.pci.device<TestNic>(BDF), priv };
}

/** Arm `plan` in a task, run `body`, disarm. */
async function withPlan(r: Rig, plan: FaultPlan, body: (e: FaultEngine) => Promise<void>): Promise<FaultEngine> {
  const e = new FaultEngine(r.m, plan, 1, [BDF], 1_000_000);
  await r.m.run(async () => {
    e.arm();
    await body(e);
    await e.disarm();
  });
  return e;
}

function faultEvents(m: Machine, what?: string): number {
  return m.trace().filter((x) => x.kind === "explore.fault" && (what === undefined || x.what === what)).length;
}

describe("lib/explore fault plans", () => {
  it("msi-drop loses exactly `count` writes on the link, then the tap is gone", async () => {
    const r = await rig();
    const q = r.priv.queues[0]!;
    await withPlan(r, { faults: [{ kind: "msi-drop", at: 0, target: BDF, params: { count: 2 } }] }, async () => {
      await usleep_range(1, 1);
      for (let i = 0; i < 4; i++) {
        r.hw.raise(0);
        await usleep_range(10, 10);
      }
    });
    expect(r.hw.counters(0).emitted).to.equal(4);
    expect(q.count).to.equal(2);
    expect(faultEvents(r.m, "drop-msi")).to.equal(2);
    r.hw.raise(0);
    await r.m.run(() => msleep(1));
    expect(q.count).to.equal(3);
  });

  it("msi-dup delivers `count` writes twice, the copy `gapNs` later", async () => {
    const r = await rig();
    const q = r.priv.queues[1]!;
    await withPlan(r, { faults: [{ kind: "msi-dup", at: 0, target: BDF, params: { count: 1, gapNs: 3000 } }] }, async () => {
      await usleep_range(1, 1);
      r.hw.raise(1);
      await usleep_range(20, 20);
      r.hw.raise(1);
      await usleep_range(20, 20);
    });
    expect(q.count).to.equal(3);
    expect(q.times[1]! - q.times[0]!).to.be.within(3000, 4000);
    expect(faultEvents(r.m, "dup-msi")).to.equal(1);
  });

  it("msi-delay makes the device send `latencyNs` after the cause for `durationNs`, in order", async () => {
    const r = await rig();
    const q = r.priv.queues[2]!;
    const raised: number[] = [];
    await withPlan(r, { faults: [{ kind: "msi-delay", at: 0, target: BDF, params: { latencyNs: 50 * US, durationNs: 100 * US } }] }, async () => {
      await usleep_range(1, 1);
      for (let i = 0; i < 3; i++) {
        raised.push(K.sim.now);
        r.hw.raise(2);
        await usleep_range(10, 10);
      }
      await usleep_range(200, 200);
      raised.push(K.sim.now);
      r.hw.raise(2);
      await usleep_range(20, 20);
    });
    expect(q.times).to.have.length(4);
    for (let i = 0; i < 3; i++) expect(q.times[i]! - raised[i]!, `raise ${i}`).to.be.within(50 * US, 51 * US);
    // after the window the device is prompt again
    expect(q.times[3]! - raised[3]!).to.be.below(2 * US);
  });

  it("msix-torn switches the device to torn latching and back on disarm", async () => {
    const r = await rig();
    await withPlan(r, { faults: [{ kind: "msix-torn", at: 0, target: BDF, params: { tearWindowNs: 700 } }] }, async () => {
      await usleep_range(1, 1);
      expect(r.hw.msix.latching).to.equal("torn");
      expect(r.hw.msix.tearWindowNs).to.equal(700);
    });
    expect(r.hw.msix.latching).to.equal("atomic");
  });

  it("iec-stale slows the remapping unit's invalidations for `durationNs`: an IRTE update waits for it", async () => {
    const r = await rig(true);
    const q = r.priv.queues[0]!;
    const took: number[] = [];
    await withPlan(r, { faults: [{ kind: "iec-stale", at: 0, params: { stallNs: 40 * US, durationNs: 200 * US } }] }, async () => {
      await usleep_range(1, 1);
      for (const cpu of [1, 2]) {
        const t = K.sim.now;
        expect(irq_set_affinity(q.irq, cpumask_of(cpu))).to.equal(0);
        took.push(K.sim.now - t);
        await usleep_range(300, 300);
      }
    });
    // two descriptors (invalidate, wait) at 40 us each, then back to 500 ns
    expect(took[0]).to.be.at.least(80 * US);
    expect(took[1]).to.be.below(10 * US);
  });

  it("cpu-offline takes the CPU down after the nth matching trace event and brings it back `durationNs` later", async () => {
    // with remapping an affinity change reaches the chips at once (no deferred move)
    const r = await rig(true);
    const q = r.priv.queues[3]!;
    const seen: boolean[] = [];
    const e = await withPlan(
      r,
      // depth 0: the outermost chip's callback, once per affinity change
      { faults: [{ kind: "cpu-offline", after: { kind: "irq.chip", match: { cb: "irq_set_affinity", phase: "enter", depth: 0 }, nth: 2 }, at: 0, target: "cpu2", params: { durationNs: 20_000 * US } }] },
      async () => {
        irq_set_affinity(q.irq, cpumask_of(1));
        await msleep(5);
        seen.push(cpu_online(2));
        irq_set_affinity(q.irq, cpumask_of(3));
        await msleep(5);
        seen.push(cpu_online(2));
        await msleep(20);
        seen.push(cpu_online(2));
      },
    );
    expect(seen).to.deep.equal([true, false, true]);
    expect(e.fired.map((f) => f.kind)).to.deep.equal(["cpu-offline"]);
    expect(r.m.dmesg()).to.include("smpboot: CPU 2 is now offline");
  });

  it("cpu-offline brings the CPU back on disarm when the plan ends first", async () => {
    const r = await rig();
    await withPlan(r, { faults: [{ kind: "cpu-offline", at: 0, target: "cpu3", params: { durationNs: 1e12 } }] }, async () => {
      await msleep(2);
      expect(cpu_online(3)).to.equal(false);
    });
    expect(r.m.enter(() => cpu_online(3))).to.equal(true);
  });

  it("cpu-offline: a thread asleep on the dying CPU still wakes on time (its hrtimer moves), and nothing left in that CPU's APIC survives the INIT of add_cpu()", async () => {
    const r = await rig();
    let woke = 0;
    let asleepAt = 0;
    // remove_cpu() spins 1 ms in fixup_irqs() (all CPUs are in stop_machine);
    // the sleep and the stray message come after it
    await withPlan(r, { faults: [{ kind: "cpu-offline", at: 20 * US, target: "cpu2", params: { durationNs: 5_000 * US } }] }, async () => {
      const t = kthread_create_on_cpu(
        async () => {
          asleepAt = K.sim.now;
          await usleep_range(3000, 3000);
          woke = K.sim.now;
          return 0;
        },
        null,
        2,
        "sleeper",
      );
      wake_up_process(t);
      await usleep_range(2000, 2000);
      expect(cpu_online(2)).to.equal(false);
      // a message for a vector nobody routes reaches the offline CPU's APIC
      const msg = composeCompat({ dest: 2, vector: 0x99 });
      r.m.platform.fabric.receive(0x3b00, msg.addrLo, msg.addrHi, msg.data);
      await msleep(10);
    });
    expect(woke - asleepAt).to.be.within(3000 * US, 3001 * US);
    expect(r.m.enter(() => cpu_online(2))).to.equal(true);
    expect(r.m.dmesg()).to.not.include("No irq handler");
  });

  it("flr resets the function behind the driver's back: MSI-X off, later raises dropped", async () => {
    const r = await rig();
    await withPlan(r, { faults: [{ kind: "flr", at: 5 * US, target: BDF }] }, async () => {
      await usleep_range(10, 10);
      r.hw.raise(0);
      await usleep_range(10, 10);
    });
    expect(r.hw.msix.enabled).to.equal(false);
    expect(r.hw.counters(0).dropped).to.equal(1);
    expect(r.priv.queues[0]!.count).to.equal(0);
  });

  it("iec-skip-flush (a kernel bug) turns the test hook on for its window and restores it", async () => {
    const r = await rig(true);
    await withPlan(r, { faults: [{ kind: "iec-skip-flush", at: 0, params: { durationNs: 20 * US } }] }, async () => {
      await usleep_range(1, 1);
      expect(irqlab_ir_skip_iec_flush(true)).to.equal(true);
      await usleep_range(30, 30);
      expect(irqlab_ir_skip_iec_flush(false)).to.equal(false);
    });
    expect(faultKind("iec-skip-flush").bug).to.equal(true);
  });

  it("mlx5 kinds arm the mlx5-like NIC's own fault knobs, and do not apply to other devices", async () => {
    const MLX = "0000:3b:00.0";
    const m = await createMachine({ cpus: 2, pci: { devices: [{ type: "mlx5", bdf: MLX }] } });
    const nic = m.pci.device<Mlx5Nic>(MLX);
    const calls: string[] = [];
    nic.failCommands = (f) => void calls.push(`failCommands ${JSON.stringify(f)}`);
    nic.assertHealthSyndrome = (s, rfr) => void calls.push(`assertHealthSyndrome ${s} ${String(rfr)}`);
    const e = new FaultEngine(
      m,
      {
        faults: [
          { kind: "mlx5-cmd", at: 0, target: MLX, params: { opcode: 0x104, delayNs: 2e6, count: 2 } },
          { kind: "mlx5-fw-hang", at: 1000, target: MLX, params: { assertAfterNs: 5e6 } },
          { kind: "mlx5-health", at: 2000, target: MLX, params: { syndrome: 0x8, rfr: false } },
        ],
      },
      1,
      [MLX],
      1e6,
    );
    await m.run(async () => {
      e.arm();
      await usleep_range(5, 5);
      await e.disarm();
    });
    expect(calls).to.deep.equal(['failCommands {"opcode":260,"delayNs":2000000,"count":2}', "assertHealthSyndrome 8 false"]);
    expect(nic.fw.isHung).to.equal(true);
    const r = await rig();
    for (const k of ["mlx5-cmd", "mlx5-fw-hang", "mlx5-health"]) expect(faultKind(k).applicable!(r.m, [BDF]), k).to.equal(false);
    expect(faultKind("mlx5-cmd").applicable!(m, [MLX])).to.equal(true);
  });

  it("generates the same plan for the same seed and different plans across seeds", async () => {
    const r = await rig();
    for (const k of faultKinds().filter((k) => !k.applicable || k.applicable(r.m, [BDF]))) {
      const a = JSON.stringify(generatePlan(k.name, 11, 1_000_000, [BDF], r.m));
      expect(JSON.stringify(generatePlan(k.name, 11, 1_000_000, [BDF], r.m)), k.name).to.equal(a);
      const other = new Set([12, 13, 14, 15].map((s) => JSON.stringify(generatePlan(k.name, s, 1_000_000, [BDF], r.m))));
      expect(other.size, k.name).to.be.greaterThan(1);
    }
  });

  it("takes device-specific kinds registered by other code and rejects unknown ones", async () => {
    let fired = 0;
    registerFaultKind({
      name: "test-doorbell-storm",
      description: "a test kind: the device raises queue 0 `count` times",
      context: "hardware",
      generate: () => [],
      apply(env, spec) {
        const hw = env.m.pci.device<TestNic>(spec.target!);
        for (let i = 0; i < Number(spec.params?.["count"] ?? 1); i++) hw.raise(0);
        fired++;
      },
    });
    const r = await rig();
    await withPlan(r, { faults: [{ kind: "test-doorbell-storm", at: 2 * US, target: BDF, params: { count: 3 } }] }, () => usleep_range(10, 10));
    expect(fired).to.equal(1);
    expect(r.hw.counters(0).raised).to.equal(3);
    expect(() => new FaultEngine(r.m, { faults: [{ kind: "no-such-fault" }] }, 1, [BDF], 1)).to.throw(/unknown fault kind "no-such-fault"/);
  });
});
