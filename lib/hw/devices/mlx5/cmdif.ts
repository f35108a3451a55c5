// SPDX-License-Identifier: GPL-2.0-only
// The command interface of the mlx5-like NIC: the firmware side of the
// command queue (hardware.md 5.2-5.4 and 7.5).
//
// Software fills a 64-byte struct mlx5_cmd_layout in the command queue page
// (host RAM, address given through cmdq_addr_h/l), sets status_own to 1
// (hardware owns it) and writes 1 << slot to the command doorbell. For each
// rung slot the firmware, `fetchNs` later, DMA-reads the entry and its
// mailbox chains, checks the descriptor (type, reserved fields, signature when
// checked, token, block numbers, pointer alignment, lengths), executes the
// command for its opcode's latency, writes the output (16 bytes inline, the
// rest into the output mailboxes), then writes status_own with the delivery
// status in bits 7:1 and the owner bit clear. If a command EQ existed when it
// took the command (and still does) it then posts a CMD EQE whose vector has
// bit `slot` set. At most `parallelism`
// commands are in the firmware at once; the others wait in doorbell order.
//
// A hung firmware accepts doorbells and does nothing; a reset drops every
// command in flight.

import type { Sim } from "../../../sim/sim.ts";
import {
  BLOCK_NEXT,
  BLOCK_NUM,
  BLOCK_TOKEN,
  CMD_OWNER_HW,
  DELIV_BAD_BLK_NUM_ERR,
  DELIV_CMD_DESCR_ERR,
  DELIV_IN_LENGTH_ERR,
  DELIV_IN_PTR_ALIGN_ERR,
  DELIV_OK,
  DELIV_OUT_LENGTH_ERR,
  DELIV_OUT_PTR_ALIGN_ERR,
  DELIV_RES_FLD_NOT_CLR_ERR,
  DELIV_SIGNAT_ERR,
  DELIV_TOK_ERR,
  LAY_IN,
  LAY_IN_PTR,
  LAY_INLEN,
  LAY_OUT,
  LAY_OUT_PTR,
  LAY_OUTLEN,
  LAY_RSVD1,
  LAY_STATUS_OWN,
  LAY_TOKEN,
  LAY_TYPE,
  MLX5_CMD_BLOCK_ALIGN,
  MLX5_CMD_BLOCK_SIZE,
  MLX5_CMD_DATA_BLOCK_SIZE,
  MLX5_CMD_LAYOUT_SIZE,
  MLX5_CMDQ_LOG_STRIDE,
  MLX5_PCI_CMD_XPORT,
} from "./defs.ts";
import "./trace.ts";

/** A command the firmware accepted: what the opcode handler sees. */
export interface CmdCtx {
  slot: number;
  opcode: number;
  opMod: number;
  uid: number;
  /** The whole input (inline part and mailbox data), inlen bytes. */
  input: Uint8Array;
  outlen: number;
}

/** A forced outcome (fault injection). */
export interface CmdFault {
  /** Only commands with this opcode (default: the next command). */
  opcode?: number;
  /** Extra latency added to the command. */
  delayNs?: number;
  /** Complete with this delivery status instead of executing. */
  delivery?: number;
  /** Execute nothing and return this outbox status and syndrome. */
  status?: number;
  syndrome?: number;
  /** How many matching commands this applies to (default 1). */
  count?: number;
}

export interface CmdHost {
  readonly sim: Sim;
  readonly bdf: string;
  /** Bus address of the command queue page, or null when none was given. */
  cmdqBase(): number | null;
  dmaRead(addr: number, len: number): Uint8Array | null;
  dmaWrite(addr: number, bytes: Uint8Array): boolean;
  /** Latency of an opcode in ns. */
  latencyOf(opcode: number): number;
  /** Execute an accepted command; returns outlen bytes with status and syndrome set. */
  execute(ctx: CmdCtx): Uint8Array;
  /** Is there an EQ for command completion events now? */
  hasCmdEq(): boolean;
  /** Completed slots to report on the command EQ, if one exists. */
  postCmdEvent(vector: number): void;
  /** The firmware is hung: nothing progresses. */
  readonly hung: boolean;
}

interface Chain {
  blocks: number[];
  delivery: number;
}

export interface CmdEngineStats {
  doorbells: number;
  completed: number;
  deliveryErrors: number;
  stuck: number;
}

/** xor8 of `len` bytes from `off`, as the driver's xor8_buf(). */
export function xor8(b: Uint8Array, off: number, len: number): number {
  let s = 0;
  for (let i = off; i < off + len; i++) s ^= b[i]!;
  return s;
}

export class CmdEngine {
  fetchNs = 2000;
  parallelism = 4;
  checkSignatures = false;
  private readonly queue: number[] = [];
  private readonly busy = new Set<number>();
  /** Slots doorbelled while the firmware was hung, or stuck on a failed DMA. */
  private readonly held = new Set<number>();
  private inflight = 0;
  private gen = 0;
  private readonly faults: CmdFault[] = [];
  readonly stats: CmdEngineStats = { doorbells: 0, completed: 0, deliveryErrors: 0, stuck: 0 };

  constructor(private readonly host: CmdHost) {}

  /** Slots the firmware owns now (queued, executing or held). */
  get busySlots(): number[] {
    return [...this.busy].sort((a, b) => a - b);
  }

  addFault(f: CmdFault): void {
    this.faults.push({ ...f, count: f.count ?? 1 });
  }

  /** A reset: every command in flight is forgotten. */
  reset(): void {
    this.gen++;
    this.queue.length = 0;
    this.busy.clear();
    this.held.clear();
    this.inflight = 0;
  }

  /** A write of the command doorbell register. */
  doorbell(mask: number): void {
    this.stats.doorbells++;
    const sim = this.host.sim;
    for (let slot = 0; slot < 32; slot++) {
      if (!((mask >>> slot) & 1)) continue;
      if (this.busy.has(slot)) {
        if (sim.trace.on) sim.trace.emit("hw.mlx5", { bdf: this.host.bdf, what: "doorbell-busy", slot });
        continue;
      }
      this.busy.add(slot);
      if (this.host.hung) {
        this.held.add(slot);
        if (sim.trace.on) sim.trace.emit("hw.mlx5", { bdf: this.host.bdf, what: "doorbell-hung", slot });
        continue;
      }
      this.queue.push(slot);
      if (sim.trace.on) sim.trace.emit("hw.mlx5", { bdf: this.host.bdf, what: "doorbell", slot });
    }
    this.pump();
  }

  private pump(): void {
    const sim = this.host.sim;
    while (this.inflight < this.parallelism && this.queue.length > 0) {
      const slot = this.queue.shift()!;
      this.inflight++;
      const gen = this.gen;
      sim.eq.after(this.fetchNs, () => {
        if (gen === this.gen) this.fetch(slot);
      }, `${this.host.bdf} cmd fetch ${slot}`);
    }
  }

  private stuck(slot: number, why: string): void {
    this.held.add(slot);
    this.inflight--;
    this.stats.stuck++;
    const sim = this.host.sim;
    if (sim.trace.on) sim.trace.emit("hw.mlx5", { bdf: this.host.bdf, what: "cmd-stuck", slot, why });
    this.pump();
  }

  private fetch(slot: number): void {
    const host = this.host;
    const base = host.cmdqBase();
    if (host.hung) return this.stuck(slot, "firmware hung");
    if (base === null) return this.stuck(slot, "no command queue address");
    const entryAddr = base + (slot << MLX5_CMDQ_LOG_STRIDE);
    const lay = host.dmaRead(entryAddr, MLX5_CMD_LAYOUT_SIZE);
    if (!lay) return this.stuck(slot, "DMA read refused (bus mastering off)");
    const dv = new DataView(lay.buffer, lay.byteOffset, lay.byteLength);
    if (!(lay[LAY_STATUS_OWN]! & CMD_OWNER_HW)) {
      // The descriptor is software's: the firmware leaves it alone.
      this.busy.delete(slot);
      this.inflight--;
      if (host.sim.trace.on) host.sim.trace.emit("hw.mlx5", { bdf: host.bdf, what: "cmd-not-hw-owned", slot });
      this.pump();
      return;
    }
    const token = lay[LAY_TOKEN]!;
    const inlen = dv.getUint32(LAY_INLEN);
    const outlen = dv.getUint32(LAY_OUTLEN);
    const inPtr = Number(dv.getBigUint64(LAY_IN_PTR));
    const outPtr = Number(dv.getBigUint64(LAY_OUT_PTR));
    let delivery = DELIV_OK;
    if (lay[LAY_TYPE] !== MLX5_PCI_CMD_XPORT) delivery = DELIV_CMD_DESCR_ERR;
    else if (lay[1] || lay[2] || lay[3] || lay[LAY_RSVD1]) delivery = DELIV_RES_FLD_NOT_CLR_ERR;
    else if (this.checkSignatures && xor8(lay, 0, MLX5_CMD_LAYOUT_SIZE) !== 0xff) delivery = DELIV_SIGNAT_ERR;
    else if (inlen < 8) delivery = DELIV_IN_LENGTH_ERR;
    else if (outlen < 8) delivery = DELIV_OUT_LENGTH_ERR;
    let input: Uint8Array | null = null;
    let outChain: Chain | null = null;
    if (delivery === DELIV_OK) {
      const inChain = this.walk(inPtr, blocksFor(inlen), token, DELIV_IN_PTR_ALIGN_ERR, DELIV_IN_LENGTH_ERR);
      delivery = inChain.delivery;
      if (delivery === DELIV_OK) {
        outChain = this.walk(outPtr, blocksFor(outlen), token, DELIV_OUT_PTR_ALIGN_ERR, DELIV_OUT_LENGTH_ERR);
        delivery = outChain.delivery;
      }
      if (delivery === DELIV_OK) input = this.gather(lay, inChain.blocks, inlen);
    }
    const opcode = input ? (input[0]! << 8) | input[1]! : (lay[LAY_IN]! << 8) | lay[LAY_IN + 1]!;
    // The completion is reported as an event when a command EQ existed as the
    // firmware took the command: the command that creates the command EQ, and
    // commands issued before it, complete by ownership only.
    const event = host.hasCmdEq();
    const fault = this.takeFault(opcode);
    if (fault?.delivery !== undefined && delivery === DELIV_OK) delivery = fault.delivery;
    const latency = (delivery === DELIV_OK ? host.latencyOf(opcode) : 0) + (fault?.delayNs ?? 0);
    const gen = this.gen;
    if (host.sim.trace.on) host.sim.trace.emit("hw.mlx5", { bdf: host.bdf, what: "cmd-fetch", slot, opcode, status: delivery, value: latency });
    host.sim.eq.after(latency, () => {
      if (gen !== this.gen) return;
      if (host.hung) return this.stuck(slot, "firmware hung");
      let out: Uint8Array | null = null;
      if (delivery === DELIV_OK && input) {
        const ctx: CmdCtx = { slot, opcode, opMod: (input[6]! << 8) | input[7]!, uid: (input[2]! << 8) | input[3]!, input, outlen };
        out = fault?.status !== undefined ? forcedOutput(outlen, fault.status, fault.syndrome ?? 0) : host.execute(ctx);
      }
      this.complete(slot, entryAddr, delivery, out, outChain?.blocks ?? [], event);
    }, `${host.bdf} cmd exec ${slot} 0x${opcode.toString(16)}`);
  }

  private takeFault(opcode: number): CmdFault | null {
    const i = this.faults.findIndex((f) => f.opcode === undefined || f.opcode === opcode);
    if (i < 0) return null;
    const f = this.faults[i]!;
    if (--f.count! <= 0) this.faults.splice(i, 1);
    return f;
  }

  /** Walk a mailbox chain of `n` blocks from `ptr`, checking it. */
  private walk(ptr: number, n: number, token: number, alignErr: number, lenErr: number): Chain {
    const blocks: number[] = [];
    let p = ptr;
    for (let i = 0; i < n; i++) {
      if (p === 0) return { blocks, delivery: lenErr };
      if (p % MLX5_CMD_BLOCK_ALIGN) return { blocks, delivery: alignErr };
      const b = this.host.dmaRead(p, MLX5_CMD_BLOCK_SIZE);
      if (!b) return { blocks, delivery: lenErr };
      const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
      if (b[BLOCK_TOKEN] !== token) return { blocks, delivery: DELIV_TOK_ERR };
      if (dv.getUint32(BLOCK_NUM) !== i) return { blocks, delivery: DELIV_BAD_BLK_NUM_ERR };
      // verify_block_sig(): the control part, then the whole block, xor to 0xff
      if (this.checkSignatures && (xor8(b, MLX5_CMD_DATA_BLOCK_SIZE, MLX5_CMD_BLOCK_SIZE - MLX5_CMD_DATA_BLOCK_SIZE - 1) !== 0xff || xor8(b, 0, MLX5_CMD_BLOCK_SIZE) !== 0xff)) {
        return { blocks, delivery: DELIV_SIGNAT_ERR };
      }
      blocks.push(p);
      p = Number(dv.getBigUint64(BLOCK_NEXT));
    }
    return { blocks, delivery: DELIV_OK };
  }

  private gather(lay: Uint8Array, blocks: number[], inlen: number): Uint8Array {
    const input = new Uint8Array(inlen);
    input.set(lay.subarray(LAY_IN, LAY_IN + Math.min(16, inlen)));
    let off = 16;
    for (const b of blocks) {
      const n = Math.min(MLX5_CMD_DATA_BLOCK_SIZE, inlen - off);
      if (n <= 0) break;
      input.set(this.host.dmaRead(b, n) ?? new Uint8Array(n), off);
      off += n;
    }
    return input;
  }

  private complete(slot: number, entryAddr: number, delivery: number, out: Uint8Array | null, outBlocks: number[], event: boolean): void {
    const host = this.host;
    if (out) {
      const head = new Uint8Array(16);
      head.set(out.subarray(0, Math.min(16, out.length)));
      host.dmaWrite(entryAddr + LAY_OUT, head);
      let off = 16;
      for (const b of outBlocks) {
        if (off >= out.length) break;
        host.dmaWrite(b, out.subarray(off, Math.min(out.length, off + MLX5_CMD_DATA_BLOCK_SIZE)));
        off += MLX5_CMD_DATA_BLOCK_SIZE;
      }
    }
    if (delivery !== DELIV_OK) this.stats.deliveryErrors++;
    // Ownership goes back last, as a single byte: the driver polls it.
    host.dmaWrite(entryAddr + LAY_STATUS_OWN, Uint8Array.of((delivery << 1) & 0xfe));
    this.stats.completed++;
    this.busy.delete(slot);
    this.inflight--;
    if (host.sim.trace.on) host.sim.trace.emit("hw.mlx5", { bdf: host.bdf, what: "cmd-done", slot, status: delivery, value: out ? out[0]! : -1 });
    if (event) host.postCmdEvent((1 << slot) >>> 0);
    this.pump();
  }
}

/** Mailbox blocks needed for a message of `len` bytes (mlx5_calc_cmd_blocks()). */
export function blocksFor(len: number): number {
  const blen = len - Math.min(16, len);
  return Math.ceil(blen / MLX5_CMD_DATA_BLOCK_SIZE);
}

function forcedOutput(outlen: number, status: number, syndrome: number): Uint8Array {
  const out = new Uint8Array(outlen);
  out[0] = status;
  new DataView(out.buffer).setUint32(4, syndrome >>> 0);
  return out;
}

