// SPDX-License-Identifier: GPL-2.0-only
// Event queues of the mlx5-like NIC from the bus: EQEs and owner bits in RAM,
// one-shot arming through the UAR doorbell, command-completion events,
// completion EQEs of armed CQs, storms, resets and a device that is gone.
import { expect } from "chai";
import { msleep } from "../../../../../lib/kernel/delay.ts";
import { K } from "../../../../../lib/kernel/kernel.ts";
import { alloc_uar, bring_up, cmd_in, cq_arm, create_cq, create_eq, eq_doorbell, EQ_RING, gen_eqe, hwRig, iseg_read, iseg_write, msix_enable, msix_vector, raw_cmd, read_eqe, setup_cmdq, usleep, type HwRig } from "./rig.ts";

const NOP = 0x80d;
const CMD_EVENT = 1n << 0xan;
const VEC = 0x51;

/** Bring up, MSI-X entry `intr` -> CPU 1 vector VEC, a UAR and an EQ. */
async function withEq(h: HwRig, mask: bigint, logSize = 4, intr = 0): Promise<{ uar: number; eqn: number }> {
  await bring_up(h);
  msix_vector(h, intr, 1, VEC);
  msix_enable(h);
  const uar = await alloc_uar(h);
  const eqn = await create_eq(h, { uar, logSize, intr, mask, ring: EQ_RING });
  return { uar, eqn };
}

describe("lib/hw/devices/mlx5 event queues", function () {
  this.timeout(20_000);

  it("reports a command as a CMD EQE naming its slot once a command EQ exists, but not the CREATE_EQ that made it", async () => {
    const h = await hwRig();
    const r = await h.m.run(async () => {
      const { eqn } = await withEq(h, CMD_EVENT);
      const before = h.nic.eq(eqn)!.pi;
      await raw_cmd(h, { slot: 5, input: cmd_in(NOP), outlen: 16 });
      await msleep(1);
      return { before, eqe: read_eqe(h, EQ_RING, 0), pi: h.nic.eq(eqn)!.pi };
    });
    expect(r.before).to.equal(0);
    expect(r.pi).to.equal(1);
    expect(r.eqe).to.include({ type: 0x0a, owner: 0, data0: 1 << 5 });
  });

  it("raises nothing from an EQ that was never armed, and raises at once when armed behind its producer", async () => {
    const h = await hwRig();
    const r = await h.m.run(async () => {
      const { uar, eqn } = await withEq(h, CMD_EVENT);
      await raw_cmd(h, { input: cmd_in(NOP), outlen: 16 });
      await msleep(1);
      const unarmed = h.taken.length;
      eq_doorbell(h, uar, eqn, 0, true);
      await msleep(1);
      return { unarmed, armed: h.taken.length };
    });
    expect(r).to.deep.equal({ unarmed: 0, armed: 1 });
    expect(h.taken[0]).to.include({ cpu: 1, vector: VEC });
  });

  it("is one-shot: one interrupt per arm, however many EQEs follow", async () => {
    const h = await hwRig();
    const counts = await h.m.run(async () => {
      const { uar, eqn } = await withEq(h, CMD_EVENT);
      eq_doorbell(h, uar, eqn, 0, true);
      const seen: number[] = [];
      for (let i = 0; i < 3; i++) await raw_cmd(h, { input: cmd_in(NOP), outlen: 16 });
      await msleep(1);
      seen.push(h.taken.length);
      // consume all three and re-arm: nothing is outstanding, nothing raised
      eq_doorbell(h, uar, eqn, 3, true);
      await msleep(1);
      seen.push(h.taken.length);
      await raw_cmd(h, { input: cmd_in(NOP), outlen: 16 });
      await msleep(1);
      seen.push(h.taken.length);
      return seen;
    });
    expect(counts).to.deep.equal([1, 1, 2]);
  });

  it("flips the owner bit on each wrap of the ring and counts an overrun instead of overwriting", async () => {
    const h = await hwRig();
    const r = await h.m.run(async () => {
      const { uar, eqn } = await withEq(h, 0n, 2);
      for (let i = 0; i < 4; i++) await gen_eqe(h, eqn);
      const first = [0, 1, 2, 3].map((i) => read_eqe(h, EQ_RING, i).owner);
      await gen_eqe(h, eqn);
      const overruns = h.nic.eq(eqn)!.stats.overruns;
      eq_doorbell(h, uar, eqn, 4, false);
      for (let i = 0; i < 4; i++) await gen_eqe(h, eqn);
      const second = [0, 1, 2, 3].map((i) => read_eqe(h, EQ_RING, i).owner);
      return { first, second, overruns, taken: h.taken.length };
    });
    expect(r).to.deep.equal({ first: [0, 0, 0, 0], second: [1, 1, 1, 1], overruns: 1, taken: 0 });
  });

  it("signals through the MSI-X vector CREATE_EQ named", async () => {
    const h = await hwRig();
    await h.m.run(async () => {
      await bring_up(h);
      msix_vector(h, 0, 0, 0x41);
      msix_vector(h, 3, 1, 0x44);
      msix_enable(h);
      const uar = await alloc_uar(h);
      const eqn = await create_eq(h, { uar, logSize: 4, intr: 3, mask: 0n, ring: EQ_RING });
      await gen_eqe(h, eqn);
      eq_doorbell(h, uar, eqn, 0, true);
      await msleep(1);
    });
    expect(h.taken.map((t) => [t.cpu, t.vector])).to.deep.equal([[1, 0x44]]);
  });

  it("holds a CQ's completions until the CQ is armed, then reports one COMP EQE per completion naming the CQ", async () => {
    const h = await hwRig({ queues: 4 });
    const r = await h.m.run(async () => {
      const { uar, eqn } = await withEq(h, 0n, 4);
      await create_cq(h, eqn);
      const cqn = await create_cq(h, eqn);
      h.nic.complete(cqn);
      h.nic.complete(cqn);
      const held = { ...h.nic.counters(cqn), pi: h.nic.eq(eqn)!.pi };
      cq_arm(h, uar, cqn);
      eq_doorbell(h, uar, eqn, 0, true);
      await msleep(1);
      return { cqn, held, after: h.nic.counters(cqn), eqes: [0, 1].map((i) => read_eqe(h, EQ_RING, i)), taken: h.taken.length };
    });
    expect(r.cqn).to.equal(1);
    expect(r.held).to.deep.equal({ produced: 2, reported: 0, waiting: 2, pi: 0 });
    expect(r.after).to.deep.equal({ produced: 2, reported: 2, waiting: 0 });
    expect(r.eqes.map((e) => [e.type, e.cqn])).to.deep.equal([
      [0, 1],
      [0, 1],
    ]);
    expect(r.taken).to.equal(1);
  });

  it("keeps completions waiting while the EQ is full and releases them when the consumer index moves", async () => {
    const h = await hwRig({ queues: 1 });
    const r = await h.m.run(async () => {
      const { uar, eqn } = await withEq(h, 0n, 1);
      const cqn = await create_cq(h, eqn);
      cq_arm(h, uar, cqn);
      for (let i = 0; i < 5; i++) h.nic.complete(cqn);
      const full = h.nic.counters(cqn);
      eq_doorbell(h, uar, eqn, 2, false);
      return { full, after: h.nic.counters(cqn), overruns: h.nic.eq(eqn)!.stats.overruns };
    });
    expect(r.full).to.deep.equal({ produced: 5, reported: 2, waiting: 3 });
    expect(r.after).to.deep.equal({ produced: 5, reported: 4, waiting: 1 });
    expect(r.overruns).to.equal(0);
  });

  it("storms: an EQ under the storm fault raises every period without being armed", async () => {
    const h = await hwRig();
    const n = await h.m.run(async () => {
      const { eqn } = await withEq(h, 0n);
      expect(h.nic.storm(eqn, 100_000)).to.equal(true);
      await usleep(1000);
      h.nic.stopStorm(eqn);
      const during = h.taken.length;
      await usleep(1000);
      return { during, after: h.taken.length };
    });
    expect(n.during).to.be.within(9, 10);
    // at most the one already on its way when the storm stopped
    expect(n.after - n.during).to.be.at.most(1);
    expect(h.nic.eq(0)!.stats.arms).to.equal(0);
  });

  it("loses an interrupt under the lost-interrupt fault: the EQ goes fired, its EQE waits until software re-arms behind it", async () => {
    const h = await hwRig();
    const r = await h.m.run(async () => {
      const { uar, eqn } = await withEq(h, 0n);
      eq_doorbell(h, uar, eqn, 0, true);
      expect(h.nic.loseInterrupts(eqn)).to.equal(true);
      await gen_eqe(h, eqn);
      await usleep(10);
      const lost = { taken: h.taken.length, armed: h.nic.eq(eqn)!.armed, pi: h.nic.eq(eqn)!.pi };
      eq_doorbell(h, uar, eqn, 0, true);
      await usleep(10);
      return { lost, taken: h.taken.length };
    });
    expect(r).to.deep.equal({ lost: { taken: 0, armed: false, pi: 1 }, taken: 1 });
  });

  it("software reset through the NIC interface field forgets the command queue, EQs and UARs and re-initializes", async () => {
    const h = await hwRig({ timings: { swResetNs: 2e6, fwInitNs: 3e6 } });
    const r = await h.m.run(async () => {
      await withEq(h, CMD_EVENT);
      iseg_write(h, 0x14, 7 << 8);
      const during = (iseg_read(h, 0x14) >>> 8) & 7;
      await usleep(2500);
      const after = { eqs: h.nic.eqs().length, init: iseg_read(h, 0x1fc) >>> 31, addr: iseg_read(h, 0x14) & 0xfffff000, ifc: (iseg_read(h, 0x14) >>> 8) & 7 };
      await usleep(4000);
      const ready = iseg_read(h, 0x1fc) >>> 31;
      await setup_cmdq(h);
      const nop = await raw_cmd(h, { input: cmd_in(NOP), outlen: 16 });
      const cap = await raw_cmd(h, { input: cmd_in(0x100), outlen: 0x1010 });
      return { during, after, ready, nop: nop!.out[0], cap: cap!.out[0], resets: h.nic.fw.resets.sw };
    });
    expect(r).to.deep.equal({ during: 7, after: { eqs: 0, init: 1, addr: 0, ifc: 1 }, ready: 0, nop: 0, cap: 0x4, resets: 1 });
  });

  it("ticks the health counter, stops it when the firmware hangs, and asserts DEAD_IRISC with reset requested from its watchdog", async () => {
    const h = await hwRig({ timings: { healthTickNs: 1e6 } });
    const r = await h.m.run(async () => {
      await setup_cmdq(h);
      const c0 = iseg_read(h, 0x1010);
      await usleep(5000);
      const c1 = iseg_read(h, 0x1010);
      h.nic.hangFirmware({ assertAfterNs: 3e6 });
      await usleep(1000);
      const c2 = iseg_read(h, 0x1010);
      const synd0 = iseg_read(h, 0x23c);
      await usleep(4000);
      return { ticked: c1 - c0, stopped: iseg_read(h, 0x1010) - c2, synd0, synd: (iseg_read(h, 0x23c) >>> 16) & 0xff, rfr: iseg_read(h, 0x238) >>> 31 };
    });
    expect(r.ticked).to.be.within(4, 5);
    expect(r).to.deep.include({ stopped: 0, synd0: 0, synd: 0x7, rfr: 1 });
  });

  it("answers all-ones to every BAR read when the device is gone, and completes nothing", async () => {
    const h = await hwRig();
    const r = await h.m.run(async () => {
      const { uar, eqn } = await withEq(h, CMD_EVENT);
      h.nic.setDead(true);
      const reads = [iseg_read(h, 0x0), iseg_read(h, 0x1010), iseg_read(h, 0x1fc)];
      const cmd = await raw_cmd(h, { input: cmd_in(NOP), outlen: 16 }, 5e6);
      eq_doorbell(h, uar, eqn, 0, true);
      await msleep(1);
      return { reads, cmd, taken: h.taken.length, t: K.sim.now };
    });
    expect(r.reads).to.deep.equal([0xffffffff, 0xffffffff, 0xffffffff]);
    expect(r.cmd).to.equal(null);
    expect(r.taken).to.equal(0);
  });
});
