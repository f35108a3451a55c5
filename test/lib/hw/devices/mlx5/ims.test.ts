// SPDX-License-Identifier: GPL-2.0-only
// irqlab's RAM-backed IMS store of the mlx5-like NIC (no real mlx5 has one):
// the IMS commands, signalling through an entry, the on-die cache, its
// miss-fetch latency and the three write-back policies.
import { expect } from "chai";
import { fw_syndrome } from "../../../../../lib/hw/devices/mlx5/commands.ts";
import type { Mlx5Options } from "../../../../../lib/hw/devices/mlx5/mlx5.ts";
import { alloc_uar, be32, bring_up, cmd_in, create_eq, eq_doorbell, EQ_RING, gen_eqe, hwRig, ims_cmd, raw_cmd, setup_cmdq, usleep, type HwRig } from "./rig.ts";

const QUERY_IMS_CAP = 0xe00;
const INIT_IMS_STORE = 0xe01;
const SET_IMS_ENTRY = 0xe02;
const QUERY_IMS_ENTRY = 0xe03;
const INVALIDATE_IMS_CACHE = 0xe04;
const BIND_EQ_TO_IMS = 0xe05;
const STORE = 0x1200_0000;

interface Ent {
  cpu: number;
  vector: number;
  masked?: boolean;
}

const msg = (e: Ent): { lo: number; data: number } => ({ lo: (0xfee00000 | (e.cpu << 12)) >>> 0, data: e.vector });

async function set_entry(h: HwRig, index: number, e: Ent): Promise<number> {
  const m = msg(e);
  const r = await ims_cmd(h, SET_IMS_ENTRY, (dv) => {
    dv.setUint32(0x08, index);
    dv.setUint32(0x10, m.lo);
    dv.setUint32(0x14, 0);
    dv.setUint32(0x18, m.data);
    dv.setUint32(0x1c, e.masked ? 1 : 0);
  });
  return r.out[0]!;
}

async function query_entry(h: HwRig, index: number): Promise<{ status: number; flags: number; lo: number; data: number; ctrl: number }> {
  const r = await ims_cmd(h, QUERY_IMS_ENTRY, (dv) => dv.setUint32(0x08, index), { len: 0x10, outlen: 0x20 });
  return { status: r.out[0]!, flags: be32(r.out, 8), lo: be32(r.out, 0x10), data: be32(r.out, 0x18), ctrl: be32(r.out, 0x1c) };
}

async function bind(h: HwRig, eqn: number, index: number): Promise<number> {
  const r = await ims_cmd(h, BIND_EQ_TO_IMS, (dv) => {
    dv.setUint8(0x0b, eqn);
    dv.setUint32(0x0c, index);
  }, { len: 0x10, outlen: 0x10 });
  return r.out[0]!;
}

async function invalidate(h: HwRig, index: number | null): Promise<number> {
  const r = await ims_cmd(h, INVALIDATE_IMS_CACHE, (dv) => dv.setUint32(0x08, index ?? 0), { len: 0x10, outlen: 0x10, opMod: index === null ? 1 : 0 });
  return r.out[0]!;
}

/** The CPU stores an entry in the RAM store without a command. */
function cpu_write(h: HwRig, index: number, e: Ent): void {
  const ram = h.m.platform.ram;
  const m = msg(e);
  ram.write32be(STORE + index * 16, m.lo);
  ram.write32be(STORE + index * 16 + 8, m.data);
}

/**
 * A device brought up with an IMS store of `num` entries at STORE and one EQ
 * (never consumed, so each arm raises once): `fire(k)` binds the EQ to entry
 * k and raises it.
 */
async function imsRig(opts: Partial<Mlx5Options> = {}, num = 64): Promise<{ h: HwRig; fire: (k: number) => Promise<void> }> {
  const h = await hwRig(opts);
  const fire = await h.m.run(async () => {
    await bring_up(h);
    const r = await ims_cmd(h, INIT_IMS_STORE, (dv) => {
      dv.setBigUint64(0x08, BigInt(STORE));
      dv.setUint32(0x10, num);
    });
    if (r.out[0]) throw new Error("INIT_IMS_STORE failed");
    const uar = await alloc_uar(h);
    const eqn = await create_eq(h, { uar, logSize: 4, intr: 0, mask: 0n, ring: EQ_RING });
    await gen_eqe(h, eqn);
    return async (k: number): Promise<void> => {
      if (await bind(h, eqn, k)) throw new Error("BIND_EQ_TO_IMS failed");
      eq_doorbell(h, uar, eqn, 0, true);
      await usleep(5);
    };
  });
  return { h, fire };
}

const vectors = (h: HwRig): number[] => h.taken.map((t) => t.vector);

describe("lib/hw/devices/mlx5 IMS store (irqlab)", function () {
  this.timeout(20_000);

  it("reports its entries and cache size once the HCA is enabled", async () => {
    const h = await hwRig({ imsEntries: 96, imsCacheSize: 8 });
    const r = await h.m.run(async () => {
      await setup_cmdq(h);
      const before = await ims_cmd(h, QUERY_IMS_CAP, () => {}, { len: 0x10, outlen: 0x10 });
      const enable = await raw_cmd(h, { input: cmd_in(0x104), outlen: 16 });
      if (enable?.out[0] !== 0) throw new Error("ENABLE_HCA failed");
      const after = await ims_cmd(h, QUERY_IMS_CAP, () => {}, { len: 0x10, outlen: 0x10 });
      return [before.out[0], after.out[0], be32(after.out, 8), be32(after.out, 12)];
    });
    // like every command but NOP it needs ENABLE_HCA; it does not need INIT_HCA
    expect(r).to.deep.equal([0x4, 0, 96, 8]);
  });

  it("takes a store at a 4 KiB-aligned address and writes every entry masked", async () => {
    const h = await hwRig();
    const r = await h.m.run(async () => {
      await bring_up(h);
      h.m.platform.ram.write32be(STORE + 5 * 16 + 8, 0xdead);
      const bad = await ims_cmd(h, INIT_IMS_STORE, (dv) => {
        dv.setBigUint64(0x08, BigInt(STORE + 0x100));
        dv.setUint32(0x10, 64);
      });
      const ok = await ims_cmd(h, INIT_IMS_STORE, (dv) => {
        dv.setBigUint64(0x08, BigInt(STORE));
        dv.setUint32(0x10, 64);
      });
      const ram = h.m.platform.ram;
      const ctrls = Array.from({ length: 64 }, (_, i) => ram.read32be(STORE + i * 16 + 12));
      return { bad: [bad.out[0], be32(bad.out, 4)], ok: ok.out[0], ctrls, data5: ram.read32be(STORE + 5 * 16 + 8) };
    });
    expect(r.bad).to.deep.equal([0x3, fw_syndrome(INIT_IMS_STORE, 16)]);
    expect(r.ok).to.equal(0);
    expect(new Set(r.ctrls)).to.deep.equal(new Set([1]));
    expect(r.data5).to.equal(0);
  });

  it("SET writes the entry to RAM, QUERY returns it; out-of-range indices, unknown ctrl bits and a missing store fail", async () => {
    const h = await hwRig();
    const r = await h.m.run(async () => {
      await bring_up(h);
      const noStore = await set_entry(h, 0, { cpu: 1, vector: 0x60 });
      await ims_cmd(h, INIT_IMS_STORE, (dv) => {
        dv.setBigUint64(0x08, BigInt(STORE));
        dv.setUint32(0x10, 64);
      });
      const set = await set_entry(h, 7, { cpu: 1, vector: 0x60 });
      const q = await query_entry(h, 7);
      const ram = { lo: h.m.platform.ram.read32be(STORE + 7 * 16), data: h.m.platform.ram.read32be(STORE + 7 * 16 + 8) };
      const range = await set_entry(h, 64, { cpu: 0, vector: 0x61 });
      const ctrl = await ims_cmd(h, SET_IMS_ENTRY, (dv) => {
        dv.setUint32(0x08, 1);
        dv.setUint32(0x1c, 0x2);
      });
      return { noStore, set, q, ram, range, ctrl: ctrl.out[0] };
    });
    expect(r.noStore).to.equal(0x4);
    expect(r.set).to.equal(0);
    expect(r.q).to.deep.equal({ status: 0, flags: 0, lo: 0xfee01000, data: 0x60, ctrl: 0 });
    expect(r.ram).to.deep.equal({ lo: 0xfee01000, data: 0x60 });
    expect(r.range).to.equal(0x3);
    expect(r.ctrl).to.equal(0x3);
  });

  it("signals an EQ bound to entry k through entry k's message, not its MSI-X vector", async () => {
    const { h, fire } = await imsRig();
    await h.m.run(async () => {
      await set_entry(h, 9, { cpu: 1, vector: 0x70 });
      await fire(9);
    });
    expect(h.taken.map((t) => [t.cpu, t.vector])).to.deep.equal([[1, 0x70]]);
    expect(h.nic.ims.stats).to.include({ misses: 1, emitted: 1 });
  });

  it("latches a signal through a masked entry as pending and sends it when SET unmasks the entry", async () => {
    const { h, fire } = await imsRig();
    const r = await h.m.run(async () => {
      await set_entry(h, 3, { cpu: 0, vector: 0x72, masked: true });
      await fire(3);
      const q = await query_entry(h, 3);
      const taken = h.taken.length;
      await set_entry(h, 3, { cpu: 0, vector: 0x72 });
      await usleep(5);
      return { flags: q.flags, taken, q2: (await query_entry(h, 3)).flags };
    });
    // flags: bit 0 cached, bit 1 pending
    expect(r).to.deep.equal({ flags: 0x3, taken: 0, q2: 0x1 });
    expect(vectors(h)).to.deep.equal([0x72]);
  });

  it("fetches an entry that is not cached from RAM within the miss latency and serves the next signal from the cache", async () => {
    const { h, fire } = await imsRig({ imsFetchNs: [500, 2000] });
    await h.m.run(async () => {
      await set_entry(h, 4, { cpu: 0, vector: 0x73 });
      await fire(4);
      await fire(4);
    });
    const at = (what: string): number[] =>
      h.m
        .trace()
        .filter((r) => r.kind === "hw.mlx5" && r.what === what)
        .map((r) => r.t);
    const fires = at("eq-fire");
    const emits = at("ims-emit");
    expect(fires).to.have.length(2);
    expect(emits).to.have.length(2);
    expect(emits[0]! - fires[0]!).to.be.within(500, 2000);
    expect(emits[1]! - fires[1]!).to.equal(0);
    expect(h.nic.ims.stats).to.include({ misses: 1, hits: 1 });
  });

  it("evicts the least recently used line when the cache is full", async () => {
    const { h, fire } = await imsRig({ imsCacheSize: 2 });
    await h.m.run(async () => {
      for (const k of [0, 1, 2]) await set_entry(h, k, { cpu: 0, vector: 0x60 + k });
      await fire(0);
      await fire(1);
      await fire(0);
      await fire(2);
    });
    expect(h.nic.ims.cachedIndices().sort()).to.deep.equal([0, 2]);
    expect(h.nic.ims.stats).to.include({ evictions: 1 });
  });

  describe("a direct CPU write to a cached entry", () => {
    const run = async (writeback: "none" | "dirty" | "stale"): Promise<{ h: HwRig; ram: number; seen: number[] }> => {
      const { h, fire } = await imsRig({ imsWriteback: writeback });
      const r = await h.m.run(async () => {
        await set_entry(h, 5, { cpu: 0, vector: 0x60 });
        await fire(5);
        // the CPU moves entry 5 to vector 0x66 behind the device's back
        cpu_write(h, 5, { cpu: 0, vector: 0x66 });
        await fire(5);
        await invalidate(h, 5);
        const ram = h.m.platform.ram.read32be(STORE + 5 * 16 + 8);
        await fire(5);
        return ram;
      });
      return { h, ram: r, seen: vectors(h) };
    };

    it("none: is ignored while the line is cached and takes effect once invalidated", async () => {
      const r = await run("none");
      expect(r.seen).to.deep.equal([0x60, 0x60, 0x66]);
      expect(r.ram).to.equal(0x66);
    });

    it("stale: is ignored until the line is invalidated", async () => {
      const r = await run("stale");
      expect(r.seen).to.deep.equal([0x60, 0x60, 0x66]);
    });

    it("dirty: is clobbered by the write-back of the cached line, and is lost for good", async () => {
      const r = await run("dirty");
      expect(r.ram, "the write-back overwrote the CPU's store").to.equal(0x60);
      expect(r.seen).to.deep.equal([0x60, 0x60, 0x60]);
      expect(r.h.nic.ims.stats.writebacks).to.equal(1);
    });

    it("dirty: the command path (SET_IMS_ENTRY) still moves the entry, before and after a write-back", async () => {
      const { h, fire } = await imsRig({ imsWriteback: "dirty", imsCacheSize: 1 });
      await h.m.run(async () => {
        await set_entry(h, 5, { cpu: 0, vector: 0x60 });
        await fire(5);
        await set_entry(h, 5, { cpu: 1, vector: 0x66 });
        await fire(5);
        // entry 6 evicts (and writes back) entry 5's line
        await set_entry(h, 6, { cpu: 0, vector: 0x67 });
        await fire(6);
        await fire(5);
      });
      expect(h.taken.map((t) => [t.cpu, t.vector])).to.deep.equal([
        [0, 0x60],
        [1, 0x66],
        [0, 0x67],
        [1, 0x66],
      ]);
      expect(h.nic.ims.ramEntry(5)!.data).to.equal(0x66);
    });
  });

  it("stale: a miss with a full cache bypasses it instead of evicting", async () => {
    const { h, fire } = await imsRig({ imsWriteback: "stale", imsCacheSize: 1 });
    await h.m.run(async () => {
      await set_entry(h, 0, { cpu: 0, vector: 0x60 });
      await set_entry(h, 1, { cpu: 0, vector: 0x61 });
      await fire(0);
      await fire(1);
      await fire(1);
    });
    expect(vectors(h)).to.deep.equal([0x60, 0x61, 0x61]);
    expect(h.nic.ims.cachedIndices()).to.deep.equal([0]);
    // entry 1 never gets a line: each of its signals is a miss
    expect(h.nic.ims.stats).to.include({ misses: 3, evictions: 0 });
  });

  it("INVALIDATE of the whole cache empties it; BIND of an EQ that does not exist is BAD_RES", async () => {
    const { h, fire } = await imsRig();
    const r = await h.m.run(async () => {
      for (const k of [0, 1, 2]) {
        await set_entry(h, k, { cpu: 0, vector: 0x60 + k });
        await fire(k);
      }
      const before = h.nic.ims.cachedIndices().length;
      const st = await invalidate(h, null);
      return { before, st, after: h.nic.ims.cachedIndices().length, bind: await bind(h, 77, 0) };
    });
    expect(r).to.deep.equal({ before: 3, st: 0, after: 0, bind: 0x5 });
  });

  it("forgets the store and its cache on FLR: signals are dropped until a new store is given", async () => {
    const { h } = await imsRig();
    await h.m.run(async () => {
      await set_entry(h, 2, { cpu: 0, vector: 0x60 });
      h.nic.flr();
    });
    h.nic.ims.signal(2);
    expect(h.nic.ims.base).to.equal(null);
    expect(h.nic.ims.stats.dropped).to.equal(1);
    expect(h.taken).to.deep.equal([]);
  });
});
