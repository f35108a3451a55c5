// SPDX-License-Identifier: GPL-2.0-only
// The mlx5-like NIC's command interface seen from the bus: descriptors and
// mailboxes written by hand, the doorbell, ownership, delivery statuses and
// outbox statuses.
import { expect } from "chai";
import { K } from "../../../../../lib/kernel/kernel.ts";
import { msleep } from "../../../../../lib/kernel/delay.ts";
import { fw_syndrome } from "../../../../../lib/hw/devices/mlx5/commands.ts";
import { be32, bring_up, cmd_in, CMDQ, hwRig, iseg_read, raw_cmd, raw_post, raw_ring, raw_wait, setup_cmdq } from "./rig.ts";

const NOP = 0x80d;
const QUERY_HCA_CAP = 0x100;
const QUERY_ADAPTER = 0x101;

describe("lib/hw/devices/mlx5 command interface", function () {
  this.timeout(20_000);
  it("reports firmware 22.39.1002 and cmdif rev 5 in the init segment, and a 32 x 64 B queue", async () => {
    const h = await hwRig();
    const r = await h.m.run(async () => {
      await setup_cmdq(h);
      return { fw: iseg_read(h, 0x0), sub: iseg_read(h, 0x4), lsz: iseg_read(h, 0x14) };
    });
    expect(r.fw).to.equal((39 << 16) | 22);
    expect(r.sub).to.equal((5 << 16) | 1002);
    expect((r.lsz >>> 4) & 0xf).to.equal(5);
    expect(r.lsz & 0xf).to.equal(6);
    expect((r.lsz & 0xfffff000) >>> 0).to.equal(CMDQ);
  });

  it("holds the initializing bit until firmware init is over", async () => {
    const h = await hwRig({ timings: { fwInitNs: 3e6 } });
    const r = await h.m.run(async () => {
      const early = iseg_read(h, 0x1fc) >>> 31;
      await msleep(4);
      return { early, late: iseg_read(h, 0x1fc) >>> 31 };
    });
    expect(r).to.deep.equal({ early: 1, late: 0 });
  });

  it("completes a polled NOP: output inline, delivery 0, ownership back to software after fetch + NOP latency", async () => {
    const h = await hwRig({ timings: { cmdFetchNs: 3000, opNs: { [NOP]: 40_000 } } });
    const r = await h.m.run(async () => {
      await setup_cmdq(h);
      const t0 = K.sim.now;
      const slot = raw_post(h, { slot: 3, input: cmd_in(NOP), outlen: 16 });
      raw_ring(h, 1 << slot);
      const ownedEarly = h.m.platform.ram.read8(CMDQ + 3 * 64 + 0x3f) & 1;
      const res = await raw_wait(h, slot, 16);
      return { ownedEarly, res, dt: res!.doneAt - t0 };
    });
    expect(r.ownedEarly).to.equal(1);
    expect(r.res!.delivery).to.equal(0);
    expect(r.res!.out[0]).to.equal(0);
    expect(r.dt).to.be.at.least(43_000);
    expect(h.taken).to.deep.equal([]);
  });

  it("refuses every opcode but ENABLE_HCA and NOP before ENABLE_HCA with BAD_SYS_STATE and a per-site syndrome", async () => {
    const h = await hwRig();
    const r = await h.m.run(async () => {
      await setup_cmdq(h);
      return raw_cmd(h, { input: cmd_in(QUERY_HCA_CAP), outlen: 0x1010 });
    });
    expect(r!.delivery).to.equal(0);
    expect(r!.out[0]).to.equal(0x4);
    expect(be32(r!.out, 4)).to.equal(fw_syndrome(QUERY_HCA_CAP, 3));
  });

  it("returns QUERY_HCA_CAP's 4 KiB of capabilities through the output mailbox chain", async () => {
    const h = await hwRig({ maxEqs: 40 });
    const r = await h.m.run(async () => {
      await bring_up(h);
      return raw_cmd(h, { input: cmd_in(QUERY_HCA_CAP, 0x10, 1), outlen: 0x1010 });
    });
    expect(r!.out[0]).to.equal(0);
    // max_num_eqs sits at 0x8e of the capability, i.e. in the first mailbox
    expect((r!.out[0x10 + 0x8e]! << 8) | r!.out[0x10 + 0x8f]!).to.equal(40);
    expect(r!.out[0x10 + 0x1c]).to.equal(22);
  });

  it("returns QUERY_ADAPTER's PSID past the inline output", async () => {
    const h = await hwRig();
    const r = await h.m.run(async () => {
      await bring_up(h);
      return raw_cmd(h, { input: cmd_in(QUERY_ADAPTER), outlen: 0x110 });
    });
    const psid = String.fromCharCode(...r!.out.subarray(0x100, 0x110)).replace(/\0+$/, "");
    expect(r!.out[0]).to.equal(0);
    expect(psid).to.have.length.above(0);
    expect(psid).to.equal(h.nic.fw.psid);
  });

  describe("outbox statuses", () => {
    const cases: [string, () => { input: Uint8Array; outlen: number }, number, number, number][] = [
      ["an unknown opcode", () => ({ input: cmd_in(0x7ff), outlen: 16 }), 0x2, 0x7ff, 0],
      ["an input shorter than the opcode's", () => ({ input: cmd_in(0x301, 0x40), outlen: 16 }), 0x50, 0x301, 1],
      ["an output shorter than the opcode's", () => ({ input: cmd_in(QUERY_ADAPTER), outlen: 0x20 }), 0x51, QUERY_ADAPTER, 2],
      ["a bad parameter (DESTROY_EQ of an EQ that does not exist)", () => ({ input: cmd_in(0x302), outlen: 16 }), 0x5, 0x302, 16],
      ["a second INIT_HCA", () => ({ input: cmd_in(0x102, 0x20), outlen: 16 }), 0x4, 0x102, 16],
    ];
    for (const [what, mk, status, op, site] of cases) {
      it(`answers ${what} with status 0x${status.toString(16)} and its syndrome, delivery OK`, async () => {
        const h = await hwRig();
        const r = await h.m.run(async () => {
          await bring_up(h);
          return raw_cmd(h, mk());
        });
        expect(r, "the command completed").to.not.equal(null);
        expect(r!.delivery).to.equal(0);
        expect(r!.out[0]).to.equal(status);
        expect(be32(r!.out, 4)).to.equal(fw_syndrome(op, site));
      });
    }
  });

  describe("delivery statuses", () => {
    const big = (): Uint8Array => cmd_in(0x301, 0x118);
    const cases: [string, Parameters<typeof raw_cmd>[1], number, boolean?][] = [
      ["a descriptor type other than PCIe (7)", { input: cmd_in(NOP), outlen: 16, type: 3 }, 0x10],
      ["a reserved field not cleared", { input: cmd_in(NOP), outlen: 16, rsvd: true }, 0x9],
      ["an inlen below the 8-byte header", { input: cmd_in(NOP), outlen: 16, inlen: 4 }, 0x7],
      ["an outlen below the 8-byte header", { input: cmd_in(NOP), outlen: 4 }, 0x8],
      ["an input mailbox whose token differs", { input: big(), outlen: 16, badBlockToken: 0 }, 0x2],
      ["an input mailbox with the wrong block number", { input: big(), outlen: 16, badBlockNum: 0 }, 0x3],
      ["a misaligned input mailbox pointer", { input: big(), outlen: 16, inPtr: 0x1001_0040 }, 0x5],
      ["a misaligned output mailbox pointer", { input: cmd_in(QUERY_ADAPTER), outlen: 0x110, outPtr: 0x1001_4200 }, 0x4],
      ["an input chain shorter than inlen", { input: big(), outlen: 16, inPtr: 0 }, 0x7],
      ["a layout signature that does not check (signatures on)", { input: cmd_in(NOP), outlen: 16 }, 0x1, true],
    ];
    for (const [what, c, delivery, sig] of cases) {
      it(`reports ${what} as delivery status 0x${delivery.toString(16)} without executing it`, async () => {
        const h = await hwRig();
        const r = await h.m.run(async () => {
          await bring_up(h);
          if (sig) h.nic.fw.cmd.checkSignatures = true;
          const eqsBefore = h.nic.eqs().length;
          const res = await raw_cmd(h, c);
          return { res, eqsAfter: h.nic.eqs().length - eqsBefore };
        });
        expect(r.res, "the command completed").to.not.equal(null);
        expect(r.res!.delivery).to.equal(delivery);
        expect(r.res!.out[0], "no output was written").to.equal(0);
        expect(r.eqsAfter).to.equal(0);
        expect(h.nic.fw.cmd.stats.deliveryErrors).to.equal(1);
      });
    }
  });

  it("executes at most `parallelism` commands at once and queues the rest in doorbell order", async () => {
    const lat = 100_000;
    const h = await hwRig({ timings: { parallelism: 2, cmdFetchNs: 1000, opNs: { [NOP]: lat } } });
    const t0 = await h.m.run(async () => {
      await setup_cmdq(h);
      for (let s = 0; s < 6; s++) raw_post(h, { slot: s, input: cmd_in(NOP), outlen: 16 });
      const t = K.sim.now;
      raw_ring(h, 0x3f);
      for (let s = 0; s < 6; s++) await raw_wait(h, s, 16);
      return t;
    });
    const done = h.m
      .trace()
      .filter((r) => r.kind === "hw.mlx5" && r.what === "cmd-done" && r.t >= t0)
      .map((r) => ({ slot: (r as { slot?: number }).slot, dt: r.t - t0 }));
    expect(done.map((d) => d.slot)).to.deep.equal([0, 1, 2, 3, 4, 5]);
    // three waves of two: fetch + latency apart
    const waves = done.map((d) => Math.floor(d.dt / (lat + 1000)));
    expect(waves).to.deep.equal([1, 1, 2, 2, 3, 3]);
  });

  it("leaves a rung slot alone when its descriptor is still software-owned", async () => {
    const h = await hwRig();
    const r = await h.m.run(async () => {
      await setup_cmdq(h);
      raw_post(h, { slot: 1, input: cmd_in(NOP), outlen: 16, ownerSw: true });
      raw_ring(h, 1 << 1);
      await msleep(1);
      return { status: h.m.platform.ram.read8(CMDQ + 64 + 0x3f), busy: h.nic.fw.cmd.busySlots, done: h.nic.fw.cmd.stats.completed };
    });
    expect(r).to.deep.equal({ status: 0, busy: [], done: 0 });
  });

  it("never completes a command while the firmware is hung, and drops it on FLR", async () => {
    const h = await hwRig();
    const r = await h.m.run(async () => {
      await setup_cmdq(h);
      h.nic.hangFirmware();
      const res = await raw_cmd(h, { input: cmd_in(NOP), outlen: 16 }, 50e6);
      const busyHung = h.nic.fw.cmd.busySlots;
      h.nic.flr();
      return { res, busyHung, busyAfter: h.nic.fw.cmd.busySlots, hung: h.nic.fw.isHung };
    });
    expect(r).to.deep.equal({ res: null, busyHung: [0], busyAfter: [], hung: false });
  });

  it("applies an injected fault to the next command of its opcode only", async () => {
    const h = await hwRig();
    const r = await h.m.run(async () => {
      await setup_cmdq(h);
      h.nic.failCommands({ opcode: NOP, status: 0x3, syndrome: 0x1234 });
      const a = await raw_cmd(h, { input: cmd_in(NOP), outlen: 16 });
      const b = await raw_cmd(h, { input: cmd_in(NOP), outlen: 16 });
      return [a!.out[0], be32(a!.out, 4), b!.out[0]];
    });
    expect(r).to.deep.equal([0x3, 0x1234, 0]);
  });
});
