// SPDX-License-Identifier: GPL-2.0-only
// arch/x86/kernel/apic/vector.c, the move and cleanup machinery
// (irqchip/x86/vector_cleanup.ts) on the simulated machine: an affinity move
// keeps the old vector until the first interrupt on the new one, the cleanup
// timer on the old CPU, -EBUSY for a second move inside the cleanup jiffy, a
// moved vector still pending in the old APIC, and CPU offline completing a
// pending move.
import { expect } from "chai";
import { cpumask_of } from "../../../lib/kernel/cpumask.ts";
import { msleep } from "../../../lib/kernel/delay.ts";
import { K } from "../../../lib/kernel/kernel.ts";
import { apic_write, APIC_TASKPRI } from "../../../lib/kernel/apic.ts";
import { remove_cpu } from "../../../lib/kernel/cpu.ts";
import { irq_set_affinity } from "../../../lib/irq/manage_affinity.ts";
import { irq_get_irq_data, irq_to_desc } from "../../../lib/irq/irqdesc.ts";
import {
  apic_chip_data,
  irqd_cfg,
  vector_irq,
  VECTOR_UNUSED,
} from "../../../irqchip/x86/vector.ts";
import { dmesgLines } from "../../harness.ts";
import { nic, settle, tp } from "./vector_fixture.ts";

describe("irqchip/x86 vector domain: affinity moves", () => {
  it("a move keeps the old vector (move_in_progress) until the first interrupt on the new one; a timer on the old CPU frees it a jiffy later", async () => {
    const { m, hw, priv } = await nic(4);
    const q = priv.queues[0]!;
    await settle(m, hw, priv, 0, 1);
    const old = await m.run(() => ({ ...irqd_cfg(irq_get_irq_data(q.irq)!)! }));
    const seen = q.cpus.length;
    const from = m.trace().length;
    // IRQCHIP_MOVE_DEFERRED: nothing happens until the next interrupt on the old CPU
    await m.run(() => expect(irq_set_affinity(q.irq, cpumask_of(2))).to.equal(0));
    expect(m.debugfsIrq(q.irq)).to.match(/pending: {2}2\n/);
    expect(m.debugfsIrq(q.irq)).to.include(`Vector: ${String(old.vector).padStart(5)}\n`);
    hw.raise(0);
    await m.run(() => msleep(1));
    expect(q.cpus.slice(seen)).to.deep.equal([1]);
    const moving = await m.run(() => ({ ...apic_chip_data(irq_get_irq_data(q.irq))! }));
    expect(moving.cpu).to.equal(2);
    expect(moving.move_in_progress).to.equal(true);
    expect([moving.prev_vector, moving.prev_cpu]).to.deep.equal([old.vector, 1]);
    const dbg = m.debugfsIrq(q.irq)!;
    expect(dbg).to.include(`Previous vector: ${String(old.vector).padStart(5)}\n`);
    expect(dbg).to.include("Previous target:     1\n");
    expect(dbg).to.match(/move_in_progress: 1\n[^]*cleanup_pending: {2}0\n/);
    // the old vector still leads to the descriptor
    expect(await m.run(() => vector_irq(1)[old.vector])).to.equal(irq_to_desc(q.irq));
    const queued = await m.run(() => {
      hw.raise(0);
      K.sim.spinFor(2000, "test");
      return { ...apic_chip_data(irq_get_irq_data(q.irq))!, dbg: m.debugfsIrq(q.irq)!, t: K.sim.now };
    });
    expect(q.cpus.slice(seen)).to.deep.equal([1, 2]);
    expect(queued.move_in_progress).to.equal(false);
    expect(queued.clist).to.equal(true);
    expect(queued.dbg).to.include("cleanup_pending:  1\n");
    await m.run(() => msleep(10));
    const done = await m.run(() => ({ ...apic_chip_data(irq_get_irq_data(q.irq))!, slot: vector_irq(1)[old.vector] }));
    expect([done.prev_vector, done.clist, done.slot]).to.deep.equal([0, false, VECTOR_UNUSED]);
    expect(m.debugfsIrq(q.irq)).to.not.include("Previous vector");
    const ev = m
      .trace()
      .slice(from)
      .filter((r) => r.kind === "tp" && (r.system === "irq_vectors" || r.system === "irq_matrix"))
      .map((r) => (r.kind === "tp" ? `${r.cpu} ${r.event}: ${r.text.replace(/ online=.*/, "")}` : ""));
    const n = done.vector;
    expect(ev).to.deep.equal([
      `1 irq_matrix_alloc: bit=${n} cpu=2`,
      `1 vector_alloc: irq=${q.irq} vector=${n} reserved=0 ret=0`,
      `1 vector_update: irq=${q.irq} vector=${n} cpu=2 prev_vector=${old.vector} prev_cpu=1`,
      `1 vector_config: irq=${q.irq} vector=${n} cpu=2 apicdest=0x00000002`,
      `1 vector_free_moved: irq=${q.irq} cpu=1 vector=${old.vector} is_managed=0`,
      `1 irq_matrix_free: bit=${old.vector} cpu=1`,
    ]);
    // a message on the freed vector now reaches no handler
    const before = dmesgLines(m).length;
    await m.run(async () => {
      hw.emitMsi(0xfee01000, 0, old.vector);
      await msleep(1);
    });
    expect(dmesgLines(m).slice(before)).to.deep.equal([`No irq handler for 1.${old.vector}`]);
  });

  it("with remapping, a second move inside the cleanup jiffy is -EBUSY at the vector domain and the core keeps it pending for the next interrupt", async () => {
    const { m, hw, priv } = await nic(4, true);
    const q = priv.queues[0]!;
    await m.run(async () => {
      expect(irq_set_affinity(q.irq, cpumask_of(1))).to.equal(0);
      await msleep(10);
    });
    const got = await m.run(() => {
      const from = m.trace().length;
      const first = irq_set_affinity(q.irq, cpumask_of(2));
      const a = { ...apic_chip_data(irq_get_irq_data(q.irq))! };
      const second = irq_set_affinity(q.irq, cpumask_of(3));
      return { first, a, second, allocs: tp(m, from, "irq_matrix_alloc").length, dbg: m.debugfsIrq(q.irq)! };
    });
    expect([got.first, got.second]).to.deep.equal([0, 0]);
    // remapping schedules the cleanup at once (vector_schedule_cleanup() in intel_ir_set_affinity())
    expect([got.a.cpu, got.a.move_in_progress, got.a.clist]).to.deep.equal([2, false, true]);
    expect(got.allocs).to.equal(1);
    expect(got.dbg).to.match(/pending: {2}3\n/);
    expect(got.dbg).to.match(/IRQD_SETAFFINITY_PENDING/);
    await m.run(() => msleep(10));
    hw.raise(0);
    await m.run(() => msleep(1));
    hw.raise(0);
    await m.run(() => msleep(1));
    expect(q.cpus).to.deep.equal([2, 3]);
    expect(m.debugfsIrq(q.irq)).to.not.match(/IRQD_SETAFFINITY_PENDING/);
  });

  it("a moved vector still pending in the old CPU's IRR when the cleanup timer fires: 'Moved interrupt pending in old target APIC', the timer is re-armed and the interrupt is not lost", async () => {
    const { m, hw, priv } = await nic(4);
    const q = priv.queues[0]!;
    await settle(m, hw, priv, 0, 1);
    const old = await m.run(() => ({ ...irqd_cfg(irq_get_irq_data(q.irq)!)! }));
    const oldmsg = hw.msix.entry(0);
    const before = dmesgLines(m).length;
    const got = await m.run(
      async () => {
        expect(irq_set_affinity(q.irq, cpumask_of(2))).to.equal(0);
        hw.raise(0);
        await msleep(1);
        // the task priority keeps device vectors in this CPU's IRR
        apic_write(APIC_TASKPRI, 0xf0);
        hw.raise(0);
        // a late message with the old (CPU1, vector) pair, as a device
        // that latched it before the update would send it
        hw.emitMsi(oldmsg.addrLo, oldmsg.addrHi, oldmsg.data);
        await msleep(10);
        const stuck = { ...apic_chip_data(irq_get_irq_data(q.irq))! };
        apic_write(APIC_TASKPRI, 0);
        await msleep(10);
        return { stuck, done: { ...apic_chip_data(irq_get_irq_data(q.irq))! } };
      },
      { cpu: 1 },
    );
    expect(dmesgLines(m).slice(before)).to.deep.equal([`Moved interrupt pending in old target APIC ${q.irq}`]);
    expect([got.stuck.prev_vector, got.stuck.clist]).to.deep.equal([old.vector, true]);
    expect([got.done.prev_vector, got.done.clist]).to.deep.equal([0, false]);
    // handled on the old CPU once the priority dropped, then freed
    expect(q.cpus.slice(-3)).to.deep.equal([1, 2, 1]);
  });

  it("CPU offline completes a pending move only when the outgoing CPU is the current or previous target ('IRQ fixup: irq %d move in progress, old vector %d')", async () => {
    const { m, hw, priv } = await nic(4);
    const q = priv.queues[0]!;
    await settle(m, hw, priv, 0, 1);
    const old = await m.run(() => ({ ...irqd_cfg(irq_get_irq_data(q.irq)!)! }));
    await m.run(async () => {
      expect(irq_set_affinity(q.irq, cpumask_of(2))).to.equal(0);
      hw.raise(0);
      await msleep(1);
    });
    const before = dmesgLines(m).length;
    const unrelated = await m.run(async () => {
      expect(await remove_cpu(3)).to.equal(0);
      return { ...apic_chip_data(irq_get_irq_data(q.irq))! };
    });
    expect([unrelated.move_in_progress, unrelated.prev_vector]).to.deep.equal([true, old.vector]);
    expect(dmesgLines(m).slice(before)).to.deep.equal(["smpboot: CPU 3 is now offline"]);
    const fixed = await m.run(async () => {
      expect(await remove_cpu(1)).to.equal(0);
      return { ...apic_chip_data(irq_get_irq_data(q.irq))!, slot: vector_irq(1)[old.vector] };
    });
    expect(dmesgLines(m).slice(before + 1)).to.deep.equal([`IRQ fixup: irq ${q.irq} move in progress, old vector ${old.vector}`, "smpboot: CPU 1 is now offline"]);
    expect([fixed.move_in_progress, fixed.prev_vector, fixed.cpu]).to.deep.equal([false, 0, 2]);
    // the interrupt works on its new CPU
    hw.raise(0);
    await m.run(() => msleep(1));
    expect(q.cpus.at(-1)).to.equal(2);
  });
});
