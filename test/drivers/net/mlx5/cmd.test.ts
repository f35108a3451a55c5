// SPDX-License-Identifier: GPL-2.0-only
// mlx5_core's command interface against the mlx5-like NIC: polling and event
// mode, the firmware's statuses and delivery statuses as the errnos and
// messages of cmd.c, timeouts and the completion that arrives after one.
import { expect } from "chai";
import { EAGAIN, EBADR, EBUSY, EFAULT, EINVAL, EIO, ENOMEM, ENOMSG, ETIMEDOUT } from "../../../../lib/kernel/errno.ts";
import { K } from "../../../../lib/kernel/kernel.ts";
import { msleep } from "../../../../lib/kernel/delay.ts";
import { fw_syndrome } from "../../../../lib/hw/devices/mlx5/commands.ts";
import { mlx5_cmd_busy_slots } from "../../../../drivers/net/mlx5/core/cmd.ts";
import { CMD_MODE_EVENTS } from "../../../../drivers/net/mlx5/core/driver.ts";
import { pci_get_device_by_name } from "../../../../drivers/pci/pci.ts";
import { mlx5_probe } from "../../../../drivers/net/mlx5/core/main.ts";
import { createMachine } from "../../../../lib/machine.ts";
import type { Mlx5Nic } from "../../../../lib/hw/devices/mlx5/mlx5.ts";
import { dmesgLines } from "../../../harness.ts";
import { exec, MLX5_BDF, MLX5_CMD_OP_NOP, mlx5Rig } from "./mlx5_fixture.ts";

const NOP = MLX5_CMD_OP_NOP;
const PFX = `mlx5_core ${MLX5_BDF}: `;
/** CMD timeout the fixture's firmware reports: lib/tout.c's 60 s / 100. */
const CMD_TO_NS = 600e6;

const asyncIrqCount = (m: Awaited<ReturnType<typeof mlx5Rig>>["m"]): number => {
  const row = m.procInterrupts().split("\n").find((l) => l.includes("mlx5_async0@pci"));
  if (!row) throw new Error("no mlx5_async0 row");
  return row.trim().split(/\s+/).slice(1, 5).reduce((a, c) => a + Number(c), 0);
};

describe("drivers/net/mlx5 command interface", function () {
  this.timeout(60_000);

  it("uses events once the command EQ exists: each command completes from the async EQ's interrupt", async () => {
    const { m, hw, dev } = await mlx5Rig({ machine: { trace: false } });
    const before = asyncIrqCount(m);
    const r = await m.run(async () => {
      const mode = dev.cmd.mode;
      const res = [];
      for (let i = 0; i < 3; i++) res.push((await exec(dev, NOP)).err);
      return { mode, res };
    });
    expect(r).to.deep.equal({ mode: CMD_MODE_EVENTS, res: [0, 0, 0] });
    expect(asyncIrqCount(m) - before).to.equal(3);
    expect(hw.eqs().find((e) => e.wantsEvent(0x0a))!.stats.eqes).to.be.at.least(3);
  });

  it("polls before the command EQ exists: probe's early commands complete without CMD events", async () => {
    const m = await createMachine({ cpus: 2, trace: false, pci: { devices: [{ type: "mlx5", bdf: MLX5_BDF, timeouts: { scale: 100 } }] } });
    const hw = m.pci.device<Mlx5Nic>(MLX5_BDF);
    const rung = { before: 0, after: 0 };
    const r = await m.run(async () => {
      const orig = hw.fw.cmd.doorbell.bind(hw.fw.cmd);
      hw.fw.cmd.doorbell = (mask: number): void => {
        rung[hw.fw.hasCmdEq() ? "after" : "before"]++;
        orig(mask);
      };
      const dev = await mlx5_probe(pci_get_device_by_name(MLX5_BDF)!);
      if (typeof dev === "number") throw new Error(`probe: ${dev}`);
      await exec(dev, NOP);
      return { mode: dev.cmd.mode, cmdEqes: hw.eqs().find((e) => e.wantsEvent(0x0a))!.stats.eqes };
    });
    expect(rung.before).to.be.above(5);
    expect(rung.after).to.be.above(0);
    // one CMD EQE per command rung once the command EQ existed, none for the earlier ones
    expect(r).to.deep.equal({ mode: CMD_MODE_EVENTS, cmdEqes: rung.after });
  });

  describe("outbox status to errno (cmd_status_to_err) with mlx5_cmd_out_err's message", () => {
    const table: [number, string, number][] = [
      [0x01, "internal error", -EIO],
      [0x02, "bad operation", -EINVAL],
      [0x03, "bad parameter", -EINVAL],
      [0x04, "bad system state", -EIO],
      [0x05, "bad resource", -EINVAL],
      [0x06, "resource busy", -EBUSY],
      [0x07, "FW not ready", -EAGAIN],
      [0x08, "limits exceeded", -ENOMEM],
      [0x09, "bad resource state", -EINVAL],
      [0x0a, "bad index", -EINVAL],
      [0x0f, "no resources", -EAGAIN],
      [0x50, "bad input length", -EIO],
      [0x51, "bad output length", -EIO],
    ];
    it("maps every status the firmware returns; NOT_READY is not printed", async () => {
      const { m, hw, dev } = await mlx5Rig({ machine: { trace: false } });
      const errs = await m.run(
        async () => {
          const r: number[] = [];
          for (const [i, [status]] of table.entries()) {
            // mlx5_cmd_out_err() is rate limited (10 per 5 s): wait out the burst
            if (i === 9) await msleep(5100);
            hw.failCommands({ opcode: NOP, status, syndrome: 0x1000 + status });
            r.push((await exec(dev, NOP)).err);
          }
          return r;
        },
        { limitNs: 20e9 },
      );
      expect(errs).to.deep.equal(table.map((t) => t[2]));
      const printed = dmesgLines(m).filter((l) => l.includes("mlx5_cmd_out_err:817"));
      const want = table
        .filter(([s]) => s !== 0x07)
        .map(([s, str, err]) => `${PFX}mlx5_cmd_out_err:817:(pid X): NOP(0x80d) op_mod(0x0) failed, status ${str}(0x${s.toString(16)}), syndrome (0x${(0x1000 + s).toString(16)}), err(${err})`);
      expect(printed.map((l) => l.replace(/\(pid \d+\)/, "(pid X)"))).to.deep.equal(want);
    });

    it("rate-limits mlx5_cmd_out_err() to a burst of 10 per 5 s, as dev_err_ratelimited() does", async () => {
      const { m, dev } = await mlx5Rig({ machine: { trace: false } });
      const errs = await m.run(async () => {
        const r: number[] = [];
        for (let i = 0; i < 14; i++) r.push((await exec(dev, 0x7ff)).err);
        return r;
      });
      expect(new Set(errs)).to.deep.equal(new Set([-EINVAL]));
      expect(dmesgLines(m).filter((l) => l.includes("mlx5_cmd_out_err:817"))).to.have.length(10);
    });

    it("reports an unknown opcode as -EINVAL with the firmware's syndrome", async () => {
      const { m, dev } = await mlx5Rig({ machine: { trace: false } });
      const r = await m.run(() => exec(dev, 0x7ff));
      expect(r.err).to.equal(-EINVAL);
      expect(dmesgLines(m).at(-1)).to.match(new RegExp(`mlx5_cmd_out_err:817:\\(pid \\d+\\): unknown command opcode\\(0x7ff\\) op_mod\\(0x0\\) failed, status bad operation\\(0x2\\), syndrome \\(0x${fw_syndrome(0x7ff, 0).toString(16)}\\), err\\(-22\\)$`));
    });

    it("reports an input shorter than the opcode's layout as bad input length, -EIO", async () => {
      const { m, dev } = await mlx5Rig({ machine: { trace: false } });
      const r = await m.run(() => exec(dev, 0x301, 0x40));
      expect(r.err).to.equal(-EIO);
      expect(dmesgLines(m).at(-1)).to.include("CREATE_EQ(0x301) op_mod(0x0) failed, status bad input length(0x50)");
    });
  });

  it("maps each delivery status to the errno of deliv_status_to_err(), silently", async () => {
    const table: [number, number][] = [
      [0x1, -EBADR],
      [0x2, -EBADR],
      [0x3, -EFAULT],
      [0x4, -EFAULT],
      [0x5, -EFAULT],
      [0x6, -EIO],
      [0x7, -ENOMSG],
      [0x8, -ENOMSG],
      [0x9, -ENOMSG],
      [0x10, -ENOMSG],
      [0x11, -EINVAL],
    ];
    const { m, hw, dev } = await mlx5Rig({ machine: { trace: false } });
    const lines = dmesgLines(m).length;
    const errs = await m.run(async () => {
      const r: number[] = [];
      for (const [d] of table) {
        hw.failCommands({ opcode: NOP, delivery: d });
        r.push((await exec(dev, NOP)).err);
      }
      r.push((await exec(dev, NOP)).err);
      return r;
    });
    expect(errs).to.deep.equal([...table.map((t) => t[1]), 0]);
    expect(dmesgLines(m).length).to.equal(lines);
  });

  it("times out an event-mode command after the CMD timeout and the 5 s EQ recovery wait, then frees the slot when the completion arrives late", async () => {
    const { m, hw, dev } = await mlx5Rig({ machine: { trace: false } });
    const delay = CMD_TO_NS + 5e9 + 2e9;
    const r = await m.run(
      async () => {
        hw.failCommands({ opcode: NOP, delayNs: delay });
        const t0 = K.sim.now;
        const { err } = await exec(dev, NOP);
        const dt = K.sim.now - t0;
        const busyAtTimeout = mlx5_cmd_busy_slots(dev);
        await msleep(3000);
        return { err, dt, busyAtTimeout, busyLater: mlx5_cmd_busy_slots(dev), next: (await exec(dev, NOP)).err };
      },
      { limitNs: 30e9 },
    );
    expect(r.err).to.equal(-ETIMEDOUT);
    // timer-wheel slack: a timer_list expires up to 1/8 of its timeout late
    expect(r.dt).to.be.within(CMD_TO_NS + 5e9, (CMD_TO_NS + 5e9) * 1.125 + 8e6);
    expect(r.busyAtTimeout).to.have.length(1);
    expect(r.busyLater).to.deep.equal([]);
    expect(r.next).to.equal(0);
    const idx = r.busyAtTimeout[0]!;
    const l = dmesgLines(m).map((x) => x.replace(/\(pid \d+\)/, "(pid X)"));
    expect(l.slice(-3)).to.deep.equal([
      `${PFX}wait_func_handle_exec_timeout:1121:(pid X): cmd[${idx}]: NOP(0x80d) No done completion`,
      `${PFX}wait_func:1145:(pid X): NOP(0x80d) timeout. Will cause a leak of a command resource`,
      `${PFX}mlx5_cmd_comp_handler:1648:(pid X): Command completion arrived after timeout (entry idx = ${idx}).`,
    ]);
  });

  it("gives up on a polled command CMD + 1 s after it started when the firmware hangs before probe", async () => {
    const m = await createMachine({ cpus: 2, trace: false, pci: { devices: [{ type: "mlx5", bdf: MLX5_BDF, timeouts: { scale: 100 } }] } });
    const hw = m.pci.device<Mlx5Nic>(MLX5_BDF);
    hw.hangFirmware();
    const r = await m.run(
      async () => {
        const t0 = K.sim.now;
        const dev = await mlx5_probe(pci_get_device_by_name(MLX5_BDF)!);
        return { dev, dt: K.sim.now - t0 };
      },
      { limitNs: 60e9 },
    );
    expect(r.dev).to.equal(-ETIMEDOUT);
    // poll_timeout() gives the command MLX5_CMD_TIMEOUT + 1 s; probe waited for firmware init first
    expect(r.dt).to.be.within(CMD_TO_NS + 1e9, CMD_TO_NS + 1e9 + 50e6);
    const l = dmesgLines(m).map((x) => x.replace(/\(pid \d+\)/, "(pid X)"));
    expect(l).to.include(`${PFX}wait_func:1145:(pid X): ENABLE_HCA(0x104) timeout. Will cause a leak of a command resource`);
    expect(l.at(-1)).to.match(/probe_one:2020:\(pid X\): mlx5_init_one failed with error code -110$/);
  });
});
