// SPDX-License-Identifier: GPL-2.0-only
// mlx5_core's health poller and recovery against the mlx5-like NIC: missed
// health-counter ticks, syndromes with and without the reset-requested bit,
// the firmware-hang recovery (error state, SW reset, slot reset, reload) with
// traffic on every queue, and a device that is gone.
import { expect } from "chai";
import { ENOLINK } from "../../../../lib/kernel/errno.ts";
import { K } from "../../../../lib/kernel/kernel.ts";
import { msleep } from "../../../../lib/kernel/delay.ts";
import { mlx5_irqlab_register_recovery_notifier } from "../../../../drivers/net/mlx5/core/health.ts";
import { MLX5_DEV_EVENT_IRQLAB_RECOVERED, MLX5_DEV_EVENT_SYS_ERROR, MLX5_DEVICE_STATE_INTERNAL_ERROR, MLX5_DEVICE_STATE_UP, CMD_MODE_EVENTS } from "../../../../drivers/net/mlx5/core/driver.ts";
import { atomic_notifier_chain_register } from "../../../../drivers/net/mlx5/core/klib.ts";
import { mlx5_remove } from "../../../../drivers/net/mlx5/core/main.ts";
import { dmesgLines } from "../../../harness.ts";
import { exec, MLX5_BDF, MLX5_CMD_OP_NOP, mlx5Rig } from "./mlx5_fixture.ts";

const NOP = MLX5_CMD_OP_NOP;
const PFX = `mlx5_core ${MLX5_BDF}: `;
const lines = (m: Parameters<typeof dmesgLines>[0]): string[] => dmesgLines(m).map((l) => l.replace(/\(pid \d+\)/, "(pid X)"));

/** `want` appear in `got` in this order (other lines may sit between them). */
function expectInOrder(got: string[], want: string[]): void {
  let i = 0;
  for (const l of got) if (i < want.length && l === want[i]) i++;
  expect(i, `missing, in order: ${JSON.stringify(want[i])}\n${got.join("\n")}`).to.equal(want.length);
}

describe("drivers/net/mlx5 health and recovery", function () {
  this.timeout(120_000);

  it("reports a firmware that stops its health counter once it reached the miss count, and does not reset it", async () => {
    const { m, hw, dev } = await mlx5Rig({ machine: { trace: false } });
    hw.hangFirmware();
    await m.run(() => msleep(8000), { limitNs: 20e9 });
    const l = lines(m).filter((x) => x.includes("poll_health"));
    expect(l).to.deep.equal([`${PFX}poll_health:776:(pid X): device's health compromised - reached miss count`]);
    expect(dev.state).to.equal(MLX5_DEVICE_STATE_UP);
    expect(hw.fw.resets).to.deep.include({ flr: 0, sw: 0 });
  });

  it("prints a health syndrome without the reset-requested bit and keeps the device up", async () => {
    const { m, hw, dev } = await mlx5Rig({ machine: { trace: false } });
    hw.assertHealthSyndrome(0x1, false);
    const err = await m.run(async () => {
      await msleep(3000);
      return (await exec(dev, NOP)).err;
    });
    const l = lines(m);
    expect(l).to.include(`${PFX}print_health_info:465:(pid X): Health issue observed, firmware internal error, severity(3) ERROR:`);
    expect(l).to.include(`${PFX}print_health_info:482:(pid X): synd 0x1: firmware internal error`);
    expect(l).to.include(`${PFX}print_health_info:478:(pid X): rfr 0`);
    expect(l.some((x) => x.includes("Fatal error"))).to.equal(false);
    expect({ err, state: dev.state, resets: hw.fw.resets.sw }).to.deep.equal({ err: 0, state: MLX5_DEVICE_STATE_UP, resets: 0 });
  });

  describe("a firmware hang that the watchdog turns into DEAD_IRISC with reset requested", () => {
    const QUEUES = 4;
    const run = async () => {
      const r = await mlx5Rig({ machine: { trace: false }, queues: QUEUES, nic: { queues: QUEUES, traffic: { periodNs: 1e6 } } });
      const { m, hw, dev, queues } = r;
      const events: number[] = [];
      const notified: { mode: number; eqs: number; t: number }[] = [];
      m.enter(() =>
        atomic_notifier_chain_register(dev.priv.events, {
          notifier_call: (_nb, action) => {
            events.push(action);
            return 0;
          },
        }),
      );
      mlx5_irqlab_register_recovery_notifier(dev, (d) => {
        notified.push({ mode: d.cmd.mode, eqs: hw.eqs().length, t: K.sim.now });
        return Promise.resolve();
      });
      await m.run(() => msleep(20));
      const before = queues!.queues.map((q) => q.completions);
      hw.hangFirmware({ assertAfterNs: 2e9 });
      const inflight = await m.run(
        async () => {
          const e = (await exec(dev, NOP)).err;
          await msleep(6000);
          return e;
        },
        { limitNs: 30e9 },
      );
      const mid = queues!.queues.map((q) => q.completions);
      const after = await m.run(async () => {
        await msleep(50);
        hw.stopTraffic();
        await msleep(50);
        return (await exec(dev, NOP)).err;
      });
      return { ...r, events, notified, before, mid, inflight, after };
    };
    let res: Awaited<ReturnType<typeof run>>;
    before(async () => {
      res = await run();
    });

    it("goes through the kernel's recovery flow, message by message", () => {
      expectInOrder(lines(res.m), [
        `${PFX}poll_health:760:(pid X): Fatal error 5 detected`,
        `${PFX}print_health_info:465:(pid X): Health issue observed, irisc not responding, severity(3) ERROR:`,
        `${PFX}print_health_info:478:(pid X): rfr 1`,
        `${PFX}print_health_info:482:(pid X): synd 0x7: irisc not responding`,
        `${PFX}mlx5_health_try_recover:315:(pid X): handling bad device here`,
        `${PFX}mlx5_handle_bad_state:259:(pid X): Expected to see disabled NIC but it is full driver`,
        `${PFX}mlx5_error_sw_reset:208:(pid X): start`,
        `${PFX}reset_fw_if_needed:159:(pid X): Issuing FW Reset`,
        `${PFX}mlx5_error_sw_reset:246:(pid X): end`,
        `${PFX}mlx5_health_try_recover:321:(pid X): starting health recovery flow`,
        `${PFX}mlx5_pci_slot_reset Device state = 2 pci_status: 0. Enter`,
        `${PFX}mlx5_pci_slot_reset Device state = 2 pci_status: 1. Exit, err = 0, result = 5, recovered`,
        `${PFX}firmware version: 22.39.1002`,
        `${PFX}health recovery succeeded`,
      ]);
      expect(res.hw.fw.resets.sw).to.equal(1);
      expect(res.dev.state).to.equal(MLX5_DEVICE_STATE_UP);
    });

    it("aborts the command the firmware held with the emulated status of its opcode (NOP: -ENOLINK); commands work again after", () => {
      expect(res.inflight).to.equal(-ENOLINK);
      expect(res.after).to.equal(0);
      expect(lines(res.m)).to.include(`${PFX}wait_func_handle_exec_timeout:1116:(pid X): cmd[0]: NOP(0x80d) recovered after timeout`);
    });

    it("runs the recovery notifiers once, after the reload, in events mode with the EQs back, and sends SYS_ERROR then RECOVERED", () => {
      expect(res.notified).to.have.length(1);
      expect(res.notified[0]!.mode).to.equal(CMD_MODE_EVENTS);
      // cmd, async, pages and one completion EQ per queue
      expect(res.notified[0]!.eqs).to.equal(3 + QUEUES);
      expect(res.events.filter((e) => e === MLX5_DEV_EVENT_SYS_ERROR).length).to.be.at.least(1);
      expect(res.events.at(-1)).to.equal(MLX5_DEV_EVENT_IRQLAB_RECOVERED);
      expect(res.queues!.attaches).to.equal(2);
    });

    it("delivers on every queue's EQ again after the recovery", () => {
      for (let q = 0; q < QUEUES; q++) expect(res.queues!.queues[q]!.completions, `queue ${q}`).to.be.above(res.mid[q]! + 20);
      for (let q = 0; q < QUEUES; q++) expect(res.mid[q]!, `queue ${q} before`).to.be.above(res.before[q]!);
    });

    it("loses no completion: every completion the device produced was handled by its queue exactly once", () => {
      for (let q = 0; q < QUEUES; q++) {
        const c = res.hw.counters(q);
        expect({ q, ...c, handled: res.queues!.queues[q]!.completions }).to.deep.equal({ q, produced: c.produced, reported: c.produced, waiting: 0, handled: c.produced });
        expect(c.produced).to.be.above(1000);
      }
    });
  });

  it("polls every EQ once the recovery notifiers ran: a completion whose interrupt was lost meanwhile is still handled", async () => {
    const { m, hw, dev, queues } = await mlx5Rig({ machine: { trace: false }, queues: 2, nic: { queues: 2 } });
    const q0 = queues!.queues[0]!;
    let lost = false;
    mlx5_irqlab_register_recovery_notifier(dev, () => {
      // a completion arrives while the notifiers restore state, and its interrupt is lost
      lost = hw.loseInterrupts(q0.eqn);
      hw.complete(0);
      return Promise.resolve();
    });
    hw.hangFirmware({ assertAfterNs: 1e9 });
    await m.run(() => msleep(6000), { limitNs: 30e9 });
    expect(lost).to.equal(true);
    expect(hw.eq(q0.eqn)!.stats.interrupts, "the EQ fired once, for the lost interrupt").to.equal(1);
    expect(dev.priv.health.recovered_eqes).to.equal(1);
    expect(q0.completions).to.equal(hw.counters(0).produced);
    expect(q0.completions).to.equal(1);
  });

  it("a device that is gone: the poller reports PCI_COMM_ERR, commands end with their emulated status, recovery gives up and remove completes", async () => {
    const { m, hw, dev } = await mlx5Rig({ machine: { trace: false }, queues: 2 });
    hw.setDead(true);
    const r = await m.run(
      async () => {
        const first = (await exec(dev, NOP)).err;
        await msleep(3000);
        const t0 = K.sim.now;
        const later = (await exec(dev, NOP)).err;
        const dt = K.sim.now - t0;
        const state = dev.state;
        await mlx5_remove(dev);
        return { first, later, dt, state };
      },
      { limitNs: 60e9 },
    );
    expect(r).to.deep.equal({ first: -ENOLINK, later: -ENOLINK, dt: 0, state: MLX5_DEVICE_STATE_INTERNAL_ERROR });
    expectInOrder(lines(m), [
      `${PFX}poll_health:760:(pid X): Fatal error 1 detected`,
      `${PFX}print_health_info:459:(pid X): PCI slot is unavailable`,
      `${PFX}mlx5_health_try_recover:315:(pid X): handling bad device here`,
      `${PFX}mlx5_error_sw_reset:208:(pid X): start`,
      `${PFX}NIC IFC still 7 after 20ms.`,
      `${PFX}mlx5_error_sw_reset:246:(pid X): end`,
      `${PFX}mlx5_health_try_recover:318:(pid X): health recovery flow aborted, PCI reads still not working`,
      `${PFX}mlx5_uninit_one:1507:(pid X): mlx5_uninit_one: interface is down, NOP`,
    ]);
    expect(lines(m).some((l) => l.includes("Issuing FW Reset"))).to.equal(false);
    expect(m.procInterrupts()).to.not.include("mlx5_");
  });
});
