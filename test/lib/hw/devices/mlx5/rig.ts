// SPDX-License-Identifier: GPL-2.0-only
// A bare machine (arch "none") with the mlx5-like NIC and a test-side
// command writer: descriptors and mailboxes laid out in RAM by hand, so that
// tests can send the device exactly the malformed commands a driver never
// would. Interrupts are recorded by an arch vector handler.

import { createMachine, type Machine } from "../../../../../lib/machine.ts";
import { K } from "../../../../../lib/kernel/kernel.ts";
import { apic_eoi, set_arch_vector_handler } from "../../../../../lib/kernel/apic.ts";
import { readl, readw, writel, writew, type iomem } from "../../../../../lib/kernel/io.ts";
import { msleep, usleep_range } from "../../../../../lib/kernel/delay.ts";
import type { Mlx5Nic, Mlx5Options } from "../../../../../lib/hw/devices/mlx5/mlx5.ts";
import { ISEG_CMD_DBELL, ISEG_CMDQ_ADDR_H, ISEG_CMDQ_ADDR_L_SZ, LAY_IN, LAY_IN_PTR, LAY_INLEN, LAY_OUT, LAY_OUT_PTR, LAY_OUTLEN, LAY_STATUS_OWN, LAY_TOKEN, LAY_TYPE, MLX5_CMD_DATA_BLOCK_SIZE, BLOCK_NEXT, BLOCK_NUM, BLOCK_TOKEN, MLX5_UAR_CQ_DOORBELL, MLX5_UAR_EQ_ARM, MLX5_UAR_EQ_CI, MLX5_UAR_PAGE_SIZE } from "../../../../../lib/hw/devices/mlx5/defs.ts";

export const BDF = "0000:3b:00.0";
export const CMDQ = 0x1000_0000;
/** Mailboxes: 1 KiB apart from here. */
export const MBOX = 0x1001_0000;
export const EQ_RING = 0x1100_0000;

export interface Taken {
  cpu: number;
  vector: number;
  t: number;
}

export interface HwRig {
  m: Machine;
  nic: Mlx5Nic;
  taken: Taken[];
  cfg: iomem;
  bar: iomem;
  msix: number;
}

export async function hwRig(opts: Partial<Mlx5Options> = {}): Promise<HwRig> {
  const m = await createMachine({ arch: "none", cpus: 2, pci: { devices: [{ type: "mlx5", bdf: BDF, ...opts }] } });
  const nic = m.pci.device<Mlx5Nic>(BDF);
  const taken: Taken[] = [];
  m.enter(() =>
    set_arch_vector_handler((cpu, vector) => {
      taken.push({ cpu: cpu.id, vector, t: K.sim.now });
      apic_eoi();
    }),
  );
  const r = await m.run(() => {
    const cfg = m.platform.pci.ecamAddress(nic.bus, nic.dev, nic.fn);
    writew(readw(cfg + 4) | 0x6, cfg + 4);
    const bar = (readl(cfg + 0x10) & ~0xf) >>> 0;
    let msix = readl(cfg + 0x34) & 0xfc;
    while (msix && (readl(cfg + msix) & 0xff) !== 0x11) msix = (readl(cfg + msix) >>> 8) & 0xfc;
    return { cfg, bar, msix };
  });
  return { m, nic, taken, ...r };
}

const sw = (v: number): number => (((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | ((v >>> 24) & 0xff)) >>> 0;

/** iowrite32be() to the init segment. */
export function iseg_write(h: HwRig, off: number, v: number): void {
  writel(sw(v), h.bar + off);
}

/** ioread32be() of the init segment. */
export function iseg_read(h: HwRig, off: number): number {
  return sw(readl(h.bar + off));
}

/** Wait until the firmware is initialized, then give it the command queue page. */
export async function setup_cmdq(h: HwRig): Promise<void> {
  while (iseg_read(h, 0x1fc) >>> 31) await msleep(1);
  iseg_write(h, ISEG_CMDQ_ADDR_H, 0);
  iseg_write(h, ISEG_CMDQ_ADDR_L_SZ, CMDQ);
}

export interface RawCmd {
  slot?: number;
  /** The whole input (the first 16 bytes go inline). */
  input: Uint8Array;
  outlen: number;
  token?: number;
  type?: number;
  /** Override fields to make the descriptor malformed. */
  inlen?: number;
  inPtr?: number;
  outPtr?: number;
  /** Corrupt the token of one mailbox (index) or its block number. */
  badBlockToken?: number;
  badBlockNum?: number;
  rsvd?: boolean;
  ownerSw?: boolean;
}

export interface RawResult {
  delivery: number;
  out: Uint8Array;
  doneAt: number;
}

const blocks = (len: number): number => Math.ceil(Math.max(0, len - 16) / MLX5_CMD_DATA_BLOCK_SIZE);

/** Lay a command out in RAM (descriptor and mailbox chains); returns its slot. */
export function raw_post(h: HwRig, c: RawCmd): number {
  const ram = h.m.platform.ram;
  const slot = c.slot ?? 0;
  const lay = CMDQ + slot * 64;
  const token = c.token ?? 0x5a;
  ram.zero(lay, 64);
  const inBase = MBOX + slot * 0x8000;
  const outBase = inBase + 0x4000;
  const chain = (base: number, n: number, data: Uint8Array | null, bad: { tok?: number; num?: number }): number => {
    for (let i = 0; i < n; i++) {
      const b = base + i * 1024;
      ram.zero(b, 1024);
      if (data) ram.write(b, data.subarray(16 + i * 512, Math.min(data.length, 16 + (i + 1) * 512)));
      ram.write64be(b + BLOCK_NEXT, BigInt(i + 1 < n ? b + 1024 : 0));
      ram.write32be(b + BLOCK_NUM, bad.num === i ? 99 : i);
      ram.write8(b + BLOCK_TOKEN, bad.tok === i ? token ^ 0xff : token);
    }
    return n ? base : 0;
  };
  const ip = chain(inBase, blocks(c.input.length), c.input, { tok: c.badBlockToken, num: c.badBlockNum });
  const op = chain(outBase, blocks(c.outlen), null, {});
  ram.write8(lay + LAY_TYPE, c.type ?? 7);
  if (c.rsvd) ram.write8(lay + 1, 1);
  ram.write32be(lay + LAY_INLEN, c.inlen ?? c.input.length);
  ram.write64be(lay + LAY_IN_PTR, BigInt(c.inPtr ?? ip));
  ram.write(lay + LAY_IN, c.input.subarray(0, 16));
  ram.write64be(lay + LAY_OUT_PTR, BigInt(c.outPtr ?? op));
  ram.write32be(lay + LAY_OUTLEN, c.outlen);
  ram.write8(lay + LAY_TOKEN, token);
  ram.write8(lay + LAY_STATUS_OWN, c.ownerSw ? 0 : 1);
  return slot;
}

/** Ring the doorbell for `mask`. */
export function raw_ring(h: HwRig, mask: number): void {
  iseg_write(h, ISEG_CMD_DBELL, mask >>> 0);
}

/** Poll status_own (sleeping 1 us at a time) until the firmware hands the slot back, or `timeoutNs`. */
export async function raw_wait(h: HwRig, slot: number, outlen: number, timeoutNs = 1e9): Promise<RawResult | null> {
  const ram = h.m.platform.ram;
  const lay = CMDQ + slot * 64;
  const end = K.sim.now + timeoutNs;
  // 1 us steps first (short commands), then 20 us ones
  for (let n = 0; ram.read8(lay + LAY_STATUS_OWN) & 1; n++) {
    if (K.sim.now > end) return null;
    await usleep_range(n < 50 ? 1 : 20, n < 50 ? 1 : 20);
  }
  const out = new Uint8Array(outlen);
  out.set(ram.read(lay + LAY_OUT, Math.min(16, outlen)));
  const outBase = MBOX + slot * 0x8000 + 0x4000;
  for (let i = 0; 16 + i * 512 < outlen; i++) out.set(ram.read(outBase + i * 1024, Math.min(512, outlen - 16 - i * 512)), 16 + i * 512);
  return { delivery: ram.read8(lay + LAY_STATUS_OWN) >> 1, out, doneAt: K.sim.now };
}

/** Post, ring and wait. */
export async function raw_cmd(h: HwRig, c: RawCmd, timeoutNs = 1e9): Promise<RawResult | null> {
  const slot = raw_post(h, c);
  raw_ring(h, 1 << slot);
  return raw_wait(h, slot, c.outlen, timeoutNs);
}

/** An input buffer of `len` bytes with the opcode and op_mod set. */
export function cmd_in(opcode: number, len = 16, opMod = 0): Uint8Array {
  const b = new Uint8Array(len);
  const dv = new DataView(b.buffer);
  dv.setUint16(0, opcode);
  dv.setUint16(6, opMod);
  return b;
}

export const be32 = (b: Uint8Array, off: number): number => new DataView(b.buffer, b.byteOffset).getUint32(off);

/** ENABLE_HCA and INIT_HCA through raw commands. */
export async function bring_up(h: HwRig): Promise<void> {
  await setup_cmdq(h);
  for (const op of [0x104, 0x102]) {
    const r = await raw_cmd(h, { input: cmd_in(op, op === 0x102 ? 0x20 : 0x10), outlen: 16 });
    if (!r || r.delivery || r.out[0]) throw new Error(`bring-up command 0x${op.toString(16)} failed`);
  }
}

/** UAR doorbell of an EQ: ci (and arm). */
export function eq_doorbell(h: HwRig, uar: number, eqn: number, ci: number, arm: boolean): void {
  writel(sw(((ci & 0xffffff) | (eqn << 24)) >>> 0), h.bar + uar * MLX5_UAR_PAGE_SIZE + (arm ? MLX5_UAR_EQ_ARM : MLX5_UAR_EQ_CI));
  readl(h.bar); // flush the posted write
}

/** Point MSI-X table entry `entry` (BAR0 + 0x2000) at (cpu, vector), unmasked. */
export function msix_vector(h: HwRig, entry: number, cpu: number, vector: number): void {
  const e = h.bar + 0x2000 + entry * 16;
  writel(1, e + 12);
  writel((0xfee00000 | (cpu << 12)) >>> 0, e);
  writel(0, e + 4);
  writel(vector, e + 8);
  writel(0, e + 12);
  readl(e + 12);
}

/** Enable MSI-X in the capability's message control. */
export function msix_enable(h: HwRig): void {
  writew(0x8000, h.cfg + h.msix + 2);
  readw(h.cfg + h.msix + 2);
}

/** ALLOC_UAR; returns the UAR index. */
export async function alloc_uar(h: HwRig): Promise<number> {
  const r = await raw_cmd(h, { input: cmd_in(0x802), outlen: 16 });
  if (!r || r.delivery || r.out[0]) throw new Error("ALLOC_UAR failed");
  return be32(r.out, 8) & 0xffffff;
}

export interface EqSpec {
  uar: number;
  logSize: number;
  intr: number;
  /** event_bitmask[0] */
  mask: bigint;
  /** Ring address (4 KiB aligned, one page per 64 EQEs). */
  ring: number;
}

/** CREATE_EQ input for `e`. */
export function create_eq_in(e: EqSpec): Uint8Array {
  const npages = Math.max(1, Math.ceil(((1 << e.logSize) * 64) / 4096));
  const b = cmd_in(0x301, 0x110 + 8 * npages);
  const dv = new DataView(b.buffer);
  dv.setUint32(0x10 + 0x0c, ((e.logSize << 24) | e.uar) >>> 0);
  dv.setUint32(0x10 + 0x14, e.intr);
  dv.setUint32(0x58, Number(e.mask >> 32n));
  dv.setUint32(0x5c, Number(e.mask & 0xffffffffn));
  for (let i = 0; i < npages; i++) dv.setBigUint64(0x110 + 8 * i, BigInt(e.ring + i * 4096));
  return b;
}

/** CREATE_EQ; returns the EQ number. */
export async function create_eq(h: HwRig, e: EqSpec): Promise<number> {
  const r = await raw_cmd(h, { input: create_eq_in(e), outlen: 16 });
  if (!r || r.delivery || r.out[0]) throw new Error(`CREATE_EQ failed: ${r?.delivery} ${r?.out[0]}`);
  return r.out[0x0b]!;
}

/** EQE `i` of a ring: type, owner bit and the first data dword. */
export function read_eqe(h: HwRig, ring: number, i: number): { type: number; owner: number; data0: number; cqn: number } {
  const ram = h.m.platform.ram;
  const a = ring + i * 64;
  return { type: ram.read8(a + 1), owner: ram.read8(a + 0x3f) & 1, data0: ram.read32be(a + 0x20), cqn: ram.read32be(a + 0x38) & 0xffffff };
}

/** CREATE_CQ on EQ `eqn`; returns the CQ number. */
export async function create_cq(h: HwRig, eqn: number): Promise<number> {
  const b = cmd_in(0x400, 0x110);
  new DataView(b.buffer).setUint32(0x10 + 0x14, eqn);
  const r = await raw_cmd(h, { input: b, outlen: 16 });
  if (!r || r.delivery || r.out[0]) throw new Error("CREATE_CQ failed");
  return be32(r.out, 8) & 0xffffff;
}

/** The CQ doorbell (mlx5_cq_arm()): {sn << 28 | cmd | ci, cqn} as two big-endian dwords. */
export function cq_arm(h: HwRig, uar: number, cqn: number): void {
  const db = h.bar + uar * MLX5_UAR_PAGE_SIZE + MLX5_UAR_CQ_DOORBELL;
  writel(sw(0), db);
  writel(sw(cqn & 0xffffff), db + 4);
  readl(h.bar);
}

/** Sleep exactly `us` microseconds of virtual time (msleep() rounds to jiffies). */
export function usleep(us: number): Promise<void> {
  return usleep_range(us, us);
}

/** GEN_EQE: the firmware writes an EQE of `type` on EQ `eqn`. */
export async function gen_eqe(h: HwRig, eqn: number, type = 0x3): Promise<void> {
  const b = cmd_in(0x304, 0x50);
  b[0x0b] = eqn;
  b[0x10 + 0x01] = type;
  const r = await raw_cmd(h, { input: b, outlen: 16 });
  if (!r || r.delivery || r.out[0]) throw new Error("GEN_EQE failed");
}

/** An irqlab IMS command (opcodes 0xe00..0xe05), raw. */
export async function ims_cmd(h: HwRig, opcode: number, fill: (dv: DataView) => void, opts: { len?: number; outlen?: number; opMod?: number } = {}): Promise<RawResult> {
  const b = cmd_in(opcode, opts.len ?? 0x20, opts.opMod ?? 0);
  fill(new DataView(b.buffer));
  const r = await raw_cmd(h, { input: b, outlen: opts.outlen ?? 0x20 });
  if (!r || r.delivery) throw new Error(`IMS command 0x${opcode.toString(16)} was not delivered`);
  return r;
}
