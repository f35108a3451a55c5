// SPDX-License-Identifier: GPL-2.0-only
// What the mlx5-like firmware does for each opcode: input and output layouts
// of mlx5_ifc.h (mlx5_ifc_*_in_bits / *_out_bits), state checks, and the
// MLX5_CMD_STAT_* status with a syndrome when a command fails.
//
// Syndromes of real firmware are opaque 32-bit values; this model derives one
// per opcode and failure site (fw_syndrome()), stable across runs, so a test
// can tell two failures of the same status apart. The irqlab IMS opcodes
// (0xe00..0xe05) are this model's own.

import {
  IMS_CTRL_MASKED,
  MLX5_REG_DTOR,
  OP_ACCESS_REG,
  OP_ALLOC_UAR,
  OP_CREATE_CQ,
  OP_CREATE_EQ,
  OP_DEALLOC_UAR,
  OP_DESTROY_CQ,
  OP_DESTROY_EQ,
  OP_DISABLE_HCA,
  OP_ENABLE_HCA,
  OP_GEN_EQE,
  OP_INIT_HCA,
  OP_IRQLAB_BIND_EQ_TO_IMS,
  OP_IRQLAB_INIT_IMS_STORE,
  OP_IRQLAB_INVALIDATE_IMS_CACHE,
  OP_IRQLAB_QUERY_IMS_CAP,
  OP_IRQLAB_QUERY_IMS_ENTRY,
  OP_IRQLAB_SET_IMS_ENTRY,
  OP_MANAGE_PAGES,
  OP_NOP,
  OP_QUERY_ADAPTER,
  OP_QUERY_EQ,
  OP_QUERY_HCA_CAP,
  OP_QUERY_ISSI,
  OP_QUERY_PAGES,
  OP_SET_HCA_CAP,
  OP_SET_ISSI,
  OP_TEARDOWN_HCA,
  STAT_BAD_INP_LEN_ERR,
  STAT_BAD_OP_ERR,
  STAT_BAD_OUTP_LEN_ERR,
  STAT_BAD_PARAM_ERR,
  STAT_BAD_RES_ERR,
  STAT_BAD_RES_STATE_ERR,
  STAT_BAD_SYS_STATE_ERR,
  STAT_LIM_ERR,
  STAT_OK,
} from "./defs.ts";
import type { CmdCtx } from "./cmdif.ts";
import type { DevEq } from "./eq.ts";
import type { ImsStore } from "./ims.ts";

/** The firmware state the commands work on (lib/hw/devices/mlx5/fw.ts). */
export interface FwOps {
  readonly caps: Uint8Array;
  readonly maxEqs: number;
  readonly msixVectors: number;
  readonly ims: ImsStore;
  readonly psid: string;
  hcaEnabled: boolean;
  hcaInitialized: boolean;
  issi: number;
  /** Pages the firmware asks for at boot and at init (QUERY_PAGES). */
  readonly bootPages: number;
  readonly initPages: number;
  readonly givenPages: number[];
  readonly eqs: Map<number, DevEq>;
  readonly cqs: Map<number, number>;
  /** CQs software armed at least once (they report their completions). */
  readonly armedCqs: Set<number>;
  readonly uars: Set<number>;
  readonly uarFirst: number;
  readonly uarMax: number;
  /** The DTOR register (default timeouts), or null if the firmware reports none. */
  dtor(): Uint8Array | null;
  newEq(eqn: number, logSize: number, pages: number[], pageSize: number, uar: number, intr: number, mask: bigint): DevEq;
  dropEq(eq: DevEq): void;
  genEqe(eq: DevEq, type: number, subType: number, data: Uint8Array): void;
  /** Drop every object (TEARDOWN_HCA). */
  teardown(): void;
}

const be32 = (b: Uint8Array, off: number): number => (off + 4 <= b.length ? new DataView(b.buffer, b.byteOffset).getUint32(off) : 0);
const be64 = (b: Uint8Array, off: number): number => (off + 8 <= b.length ? Number(new DataView(b.buffer, b.byteOffset).getBigUint64(off)) : 0);

/** A stable, opaque-looking syndrome for a failure site of an opcode. */
export function fw_syndrome(opcode: number, site: number): number {
  let h = Math.imul(opcode ^ 0x5bd1e995, 0x9e3779b1) ^ Math.imul(site + 1, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

class Out {
  readonly buf: Uint8Array;
  private readonly dv: DataView;
  constructor(len: number) {
    this.buf = new Uint8Array(len);
    this.dv = new DataView(this.buf.buffer);
  }
  u8(off: number, v: number): this {
    if (off < this.buf.length) this.buf[off] = v;
    return this;
  }
  be16(off: number, v: number): this {
    if (off + 2 <= this.buf.length) this.dv.setUint16(off, v);
    return this;
  }
  be32(off: number, v: number): this {
    if (off + 4 <= this.buf.length) this.dv.setUint32(off, v >>> 0);
    return this;
  }
  be64(off: number, v: number): this {
    if (off + 8 <= this.buf.length) this.dv.setBigUint64(off, BigInt(v));
    return this;
  }
  bytes(off: number, b: Uint8Array): this {
    this.buf.set(b.subarray(0, Math.max(0, this.buf.length - off)), off);
    return this;
  }
}

/** Minimum input and output sizes (MLX5_ST_SZ_BYTES of the in/out structs). */
const SIZES: Record<number, [number, number]> = {
  [OP_QUERY_HCA_CAP]: [0x10, 0x1010],
  [OP_QUERY_ADAPTER]: [0x10, 0x110],
  [OP_INIT_HCA]: [0x20, 0x10],
  [OP_TEARDOWN_HCA]: [0x10, 0x10],
  [OP_ENABLE_HCA]: [0x10, 0x0c],
  [OP_DISABLE_HCA]: [0x10, 0x0c],
  [OP_QUERY_PAGES]: [0x10, 0x10],
  [OP_MANAGE_PAGES]: [0x10, 0x10],
  [OP_SET_HCA_CAP]: [0x1010, 0x10],
  [OP_QUERY_ISSI]: [0x10, 0x70],
  [OP_SET_ISSI]: [0x10, 0x10],
  [OP_CREATE_EQ]: [0x110, 0x10],
  [OP_DESTROY_EQ]: [0x10, 0x10],
  [OP_QUERY_EQ]: [0x10, 0x110],
  [OP_GEN_EQE]: [0x50, 0x10],
  [OP_CREATE_CQ]: [0x110, 0x10],
  [OP_DESTROY_CQ]: [0x10, 0x10],
  [OP_ALLOC_UAR]: [0x10, 0x10],
  [OP_DEALLOC_UAR]: [0x10, 0x10],
  [OP_ACCESS_REG]: [0x10, 0x10],
  [OP_NOP]: [0x10, 0x10],
  [OP_IRQLAB_QUERY_IMS_CAP]: [0x10, 0x10],
  [OP_IRQLAB_INIT_IMS_STORE]: [0x20, 0x10],
  [OP_IRQLAB_SET_IMS_ENTRY]: [0x20, 0x10],
  [OP_IRQLAB_QUERY_IMS_ENTRY]: [0x10, 0x20],
  [OP_IRQLAB_INVALIDATE_IMS_CACHE]: [0x10, 0x10],
  [OP_IRQLAB_BIND_EQ_TO_IMS]: [0x10, 0x10],
};

/** Opcodes that work before ENABLE_HCA and after it, without INIT_HCA. */
const BOOT_OPS = new Set([OP_ENABLE_HCA, OP_NOP, OP_QUERY_ISSI, OP_SET_ISSI, OP_QUERY_PAGES, OP_MANAGE_PAGES, OP_QUERY_HCA_CAP, OP_SET_HCA_CAP, OP_ACCESS_REG, OP_QUERY_ADAPTER, OP_INIT_HCA, OP_DISABLE_HCA, OP_TEARDOWN_HCA, OP_IRQLAB_QUERY_IMS_CAP]);

/** Sizes of an opcode the model knows, or null. */
export function cmd_sizes(opcode: number): [number, number] | null {
  return SIZES[opcode] ?? null;
}

/** Execute one command: returns `outlen` bytes with status and syndrome. */
export function fw_execute(fw: FwOps, ctx: CmdCtx): Uint8Array {
  const out = new Out(ctx.outlen);
  const fail = (status: number, site: number): Uint8Array => out.u8(0, status).be32(4, fw_syndrome(ctx.opcode, site)).buf;
  const sizes = SIZES[ctx.opcode];
  if (!sizes) return fail(STAT_BAD_OP_ERR, 0);
  if (ctx.input.length < sizes[0]) return fail(STAT_BAD_INP_LEN_ERR, 1);
  if (ctx.outlen < sizes[1]) return fail(STAT_BAD_OUTP_LEN_ERR, 2);
  if (!fw.hcaEnabled && ctx.opcode !== OP_ENABLE_HCA && ctx.opcode !== OP_NOP) return fail(STAT_BAD_SYS_STATE_ERR, 3);
  if (!fw.hcaInitialized && !BOOT_OPS.has(ctx.opcode)) return fail(STAT_BAD_SYS_STATE_ERR, 4);
  const r = run(fw, ctx, out);
  if (r !== STAT_OK) return fail(r, 16 + ctx.opMod);
  return out.buf;
}

function run(fw: FwOps, ctx: CmdCtx, out: Out): number {
  const inp = ctx.input;
  switch (ctx.opcode) {
    case OP_NOP:
      return STAT_OK;
    case OP_ENABLE_HCA:
      if (inp[0x0a] !== 0 || inp[0x0b] !== 0) return STAT_BAD_PARAM_ERR;
      if (fw.hcaEnabled) return STAT_BAD_SYS_STATE_ERR;
      fw.hcaEnabled = true;
      return STAT_OK;
    case OP_DISABLE_HCA:
      fw.teardown();
      fw.hcaEnabled = false;
      return STAT_OK;
    case OP_INIT_HCA:
      if (fw.hcaInitialized) return STAT_BAD_SYS_STATE_ERR;
      fw.hcaInitialized = true;
      return STAT_OK;
    case OP_TEARDOWN_HCA:
      if (!fw.hcaInitialized) return STAT_BAD_SYS_STATE_ERR;
      fw.teardown();
      fw.hcaInitialized = false;
      return STAT_OK;
    case OP_QUERY_ISSI:
      out.be16(0x0a, fw.issi).be32(0x6c, 0x3);
      return STAT_OK;
    case OP_SET_ISSI: {
      const issi = (inp[0x0a]! << 8) | inp[0x0b]!;
      if (issi > 1) return STAT_BAD_PARAM_ERR;
      fw.issi = issi;
      return STAT_OK;
    }
    case OP_QUERY_HCA_CAP: {
      const type = ctx.opMod >> 1;
      if (type !== 0) return STAT_BAD_PARAM_ERR;
      out.bytes(0x10, fw.caps);
      return STAT_OK;
    }
    case OP_SET_HCA_CAP:
      return (ctx.opMod >> 1) === 0 ? STAT_OK : STAT_BAD_PARAM_ERR;
    case OP_QUERY_ADAPTER: {
      const psid = new Uint8Array(16);
      for (let i = 0; i < Math.min(16, fw.psid.length); i++) psid[i] = fw.psid.charCodeAt(i);
      out.bytes(0x10 + 0xf0, psid);
      return STAT_OK;
    }
    case OP_QUERY_PAGES: {
      const n = ctx.opMod === 1 ? fw.bootPages : ctx.opMod === 2 ? fw.initPages : 0;
      out.be16(0x0a, 0).be32(0x0c, n);
      return STAT_OK;
    }
    case OP_MANAGE_PAGES:
      return manage_pages(fw, ctx, out);
    case OP_ALLOC_UAR: {
      for (let i = fw.uarFirst; i < fw.uarMax; i++) {
        if (fw.uars.has(i)) continue;
        fw.uars.add(i);
        out.be32(0x08, i);
        return STAT_OK;
      }
      return STAT_LIM_ERR;
    }
    case OP_DEALLOC_UAR: {
      const uar = be32(inp, 0x08) & 0xffffff;
      if (!fw.uars.has(uar)) return STAT_BAD_RES_ERR;
      for (const eq of fw.eqs.values()) if (eq.uar === uar) return STAT_BAD_RES_STATE_ERR;
      fw.uars.delete(uar);
      return STAT_OK;
    }
    case OP_CREATE_EQ:
      return create_eq(fw, ctx, out);
    case OP_DESTROY_EQ: {
      const eq = fw.eqs.get(inp[0x0b]!);
      if (!eq) return STAT_BAD_RES_ERR;
      if (eq.cqs.size > 0) return STAT_BAD_RES_STATE_ERR;
      fw.dropEq(eq);
      return STAT_OK;
    }
    case OP_QUERY_EQ: {
      const eq = fw.eqs.get(inp[0x0b]!);
      if (!eq) return STAT_BAD_RES_ERR;
      const c = 0x10;
      out.be32(c + 0x00, eq.state << 8);
      out.be32(c + 0x0c, (eq.logSize << 24) | eq.uar);
      out.be32(c + 0x14, eq.intr & 0xfff);
      out.be32(c + 0x28, eq.ci & 0xffffff);
      out.be32(c + 0x2c, eq.pi & 0xffffff);
      out.be64(0x58, Number(BigInt.asUintN(53, eq.mask)));
      return STAT_OK;
    }
    case OP_GEN_EQE: {
      const eq = fw.eqs.get(inp[0x0b]!);
      if (!eq) return STAT_BAD_RES_ERR;
      const e = inp.subarray(0x10, 0x50);
      fw.genEqe(eq, e[0x01]!, e[0x03]!, e.subarray(0x20, 0x3c));
      return STAT_OK;
    }
    case OP_CREATE_CQ: {
      const eqn = be32(inp, 0x10 + 0x14);
      const eq = fw.eqs.get(eqn);
      if (!eq || eqn > 0xff) return STAT_BAD_PARAM_ERR;
      let cqn = 0;
      while (fw.cqs.has(cqn)) cqn++;
      fw.cqs.set(cqn, eqn);
      eq.cqs.add(cqn);
      out.be32(0x08, cqn);
      return STAT_OK;
    }
    case OP_DESTROY_CQ: {
      const cqn = be32(inp, 0x08) & 0xffffff;
      const eqn = fw.cqs.get(cqn);
      if (eqn === undefined) return STAT_BAD_RES_ERR;
      fw.cqs.delete(cqn);
      fw.armedCqs.delete(cqn);
      fw.eqs.get(eqn)?.cqs.delete(cqn);
      return STAT_OK;
    }
    case OP_ACCESS_REG: {
      const reg = (inp[0x0a]! << 8) | inp[0x0b]!;
      const read = ctx.opMod === 1;
      if (reg !== MLX5_REG_DTOR || !read) return STAT_BAD_PARAM_ERR;
      const d = fw.dtor();
      if (!d) return STAT_BAD_PARAM_ERR;
      out.bytes(0x10, d);
      return STAT_OK;
    }
    case OP_IRQLAB_QUERY_IMS_CAP:
      out.be32(0x08, fw.ims.capacity).be32(0x0c, fw.ims.cacheSize);
      return STAT_OK;
    case OP_IRQLAB_INIT_IMS_STORE: {
      const base = be64(inp, 0x08);
      const num = be32(inp, 0x10);
      if (base % 4096 || num < 1 || num > fw.ims.capacity) return STAT_BAD_PARAM_ERR;
      fw.ims.init(base, num);
      for (const eq of fw.eqs.values()) eq.imsIndex = null;
      return STAT_OK;
    }
    case OP_IRQLAB_SET_IMS_ENTRY: {
      const index = be32(inp, 0x08);
      if (fw.ims.base === null) return STAT_BAD_SYS_STATE_ERR;
      if (index >= fw.ims.num) return STAT_BAD_PARAM_ERR;
      const ctrl = be32(inp, 0x1c);
      if (ctrl & ~IMS_CTRL_MASKED) return STAT_BAD_PARAM_ERR;
      fw.ims.set(index, { addrLo: be32(inp, 0x10), addrHi: be32(inp, 0x14), data: be32(inp, 0x18), ctrl });
      return STAT_OK;
    }
    case OP_IRQLAB_QUERY_IMS_ENTRY: {
      const index = be32(inp, 0x08);
      if (fw.ims.base === null) return STAT_BAD_SYS_STATE_ERR;
      const q = index < fw.ims.num ? fw.ims.query(index) : null;
      if (!q) return STAT_BAD_PARAM_ERR;
      out.be32(0x08, (q.cached ? 1 : 0) | (q.pending ? 2 : 0));
      out.be32(0x10, q.entry.addrLo).be32(0x14, q.entry.addrHi).be32(0x18, q.entry.data).be32(0x1c, q.entry.ctrl);
      return STAT_OK;
    }
    case OP_IRQLAB_INVALIDATE_IMS_CACHE: {
      if (fw.ims.base === null) return STAT_BAD_SYS_STATE_ERR;
      if (ctx.opMod === 1) {
        fw.ims.invalidate(null);
        return STAT_OK;
      }
      const index = be32(inp, 0x08);
      if (ctx.opMod !== 0 || index >= fw.ims.num) return STAT_BAD_PARAM_ERR;
      fw.ims.invalidate(index);
      return STAT_OK;
    }
    case OP_IRQLAB_BIND_EQ_TO_IMS: {
      const eq = fw.eqs.get(inp[0x0b]!);
      if (!eq) return STAT_BAD_RES_ERR;
      if (ctx.opMod === 1) {
        eq.imsIndex = null;
        return STAT_OK;
      }
      const index = be32(inp, 0x0c);
      if (ctx.opMod !== 0) return STAT_BAD_PARAM_ERR;
      if (fw.ims.base === null) return STAT_BAD_SYS_STATE_ERR;
      if (index >= fw.ims.num) return STAT_BAD_PARAM_ERR;
      eq.imsIndex = index;
      return STAT_OK;
    }
    default:
      return STAT_BAD_OP_ERR;
  }
}

function create_eq(fw: FwOps, ctx: CmdCtx, out: Out): number {
  const inp = ctx.input;
  const eqc = 0x10;
  const dw3 = be32(inp, eqc + 0x0c);
  const logSize = (dw3 >>> 24) & 0x1f;
  const uar = dw3 & 0xffffff;
  const intr = be32(inp, eqc + 0x14) & 0xfff;
  const logPageSize = (be32(inp, eqc + 0x18) >>> 24) & 0x1f;
  const maxLog = fw.caps[0x1c]!;
  if (logSize < 1 || logSize > maxLog) return STAT_BAD_PARAM_ERR;
  if (!fw.uars.has(uar)) return STAT_BAD_PARAM_ERR;
  if (intr >= fw.msixVectors) return STAT_BAD_PARAM_ERR;
  const pageSize = 4096 << logPageSize;
  const npages = Math.max(1, Math.ceil(((1 << logSize) * 64) / pageSize));
  if (inp.length < 0x110 + 8 * npages) return STAT_BAD_INP_LEN_ERR;
  const pages: number[] = [];
  for (let i = 0; i < npages; i++) {
    const a = be64(inp, 0x110 + 8 * i);
    if (a % 4096) return STAT_BAD_PARAM_ERR;
    pages.push(a);
  }
  let eqn = 0;
  while (fw.eqs.has(eqn)) eqn++;
  if (eqn >= fw.maxEqs || eqn > 0xff) return STAT_LIM_ERR;
  const mask = (BigInt(be32(inp, 0x58)) << 32n) | BigInt(be32(inp, 0x5c));
  fw.newEq(eqn, logSize, pages, pageSize, uar, intr, mask);
  out.u8(0x0b, eqn);
  return STAT_OK;
}

function manage_pages(fw: FwOps, ctx: CmdCtx, out: Out): number {
  const inp = ctx.input;
  const n = be32(inp, 0x0c);
  if (ctx.opMod === 1) {
    if (inp.length < 0x10 + 8 * n) return STAT_BAD_INP_LEN_ERR;
    for (let i = 0; i < n; i++) {
      const a = be64(inp, 0x10 + 8 * i);
      if (a % 4096) return STAT_BAD_PARAM_ERR;
      fw.givenPages.push(a);
    }
    return STAT_OK;
  }
  if (ctx.opMod === 2) {
    const take = Math.min(n, fw.givenPages.length, Math.floor((ctx.outlen - 0x10) / 8));
    const pages = fw.givenPages.splice(0, take);
    out.be32(0x08, pages.length);
    pages.forEach((a, i) => out.be64(0x10 + 8 * i, a));
    return STAT_OK;
  }
  return STAT_BAD_PARAM_ERR;
}

