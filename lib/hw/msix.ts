// SPDX-License-Identifier: GPL-2.0-only
// The MSI-X capability of a PCI function (PCIe base spec 6.8; hardware.md 4
// and 7.3): Message Control in config space, the vector table and the Pending
// Bit Array in a BAR.
//
// raise(v): MSI-X disabled -> dropped (INTx is not modelled); function or
// entry masked -> the PBA bit latches; otherwise the message goes out. An
// unmask (entry bit, function mask, or enable) with the PBA bit set clears it
// and sends once, as QEMU's msix.c does.
//
// Latching: `atomic` reads address and data when the message is sent (QEMU);
// `torn` samples the address, then the data `tearWindowNs` later, so a CPU
// rewrite in between produces a message mixing old and new (the hazard
// behind arch/x86's msi_set_affinity() two-step update, hardware.md 3.5).
// Writing address or data of an entry that could fire is a spec violation
// ("undefined results"): it is counted and traced, and the write lands.

import type { Sim } from "../sim/sim.ts";
import { SimulatorError } from "../sim/sim.ts";
import { DelayLine } from "./delayline.ts";
import { unsupportedRequest, type AccessWidth, type MmioHandler } from "./mmio.ts";
import { CAP_ID_MSIX, writtenByte, type PciFunction } from "./pci.ts";
import "./trace.ts";

export const MSIX_MAX_VECTORS = 2048;
export const MSIX_FLAGS_MASKALL = 1 << 14; // PCI_MSIX_FLAGS_MASKALL
export const MSIX_FLAGS_ENABLE = 1 << 15; // PCI_MSIX_FLAGS_ENABLE
export const MSIX_ENTRY_SIZE = 16; // PCI_MSIX_ENTRY_SIZE
export const MSIX_ENTRY_LOWER_ADDR = 0x0;
export const MSIX_ENTRY_UPPER_ADDR = 0x4;
export const MSIX_ENTRY_DATA = 0x8;
export const MSIX_ENTRY_VECTOR_CTRL = 0xc;
export const MSIX_ENTRY_CTRL_MASKBIT = 0x1;

export type MsixLatching = "atomic" | "torn";
export type RaiseResult = "emitted" | "latched" | "dropped";

export interface MsixOptions {
  /** Table size N, 1..2048. */
  vectors: number;
  tableBir: number;
  /** Offset of the table in its BAR (8-byte aligned). */
  tableOffset: number;
  pbaBir: number;
  pbaOffset: number;
  latching?: MsixLatching;
  /** Time between the address and the data sample in `torn` latching (default 500 ns). */
  tearWindowNs?: number;
}

export interface MsixEntry {
  addrLo: number;
  addrHi: number;
  data: number;
  masked: boolean;
}

export class MsixCapability {
  /** Config-space offset of the capability. */
  readonly cap: number;
  readonly vectors: number;
  latching: MsixLatching;
  tearWindowNs: number;
  private readonly table: Uint32Array;
  private readonly pba: Uint32Array;
  private readonly tear: DelayLine;
  private active = false;
  private readonly sim: Sim;
  readonly stats: {
    emitted: Float64Array;
    latched: Float64Array;
    dropped: Float64Array;
    /** Messages refused because Bus Master Enable was off. */
    blocked: Float64Array;
    specViolations: number;
    pbaWrites: number;
  };

  constructor(
    readonly fn: PciFunction,
    opts: MsixOptions,
  ) {
    const n = opts.vectors;
    if (!Number.isInteger(n) || n < 1 || n > MSIX_MAX_VECTORS) throw new SimulatorError(`irqlab: ${fn.bdf}: MSI-X table size ${String(n)} outside 1..${MSIX_MAX_VECTORS}`);
    if (opts.tableOffset % 8 || opts.pbaOffset % 8) throw new SimulatorError(`irqlab: ${fn.bdf}: MSI-X table and PBA offsets must be 8-byte aligned`);
    this.sim = fn.host.sim;
    this.vectors = n;
    this.latching = opts.latching ?? "atomic";
    this.tearWindowNs = opts.tearWindowNs ?? 500;
    this.table = new Uint32Array(n * 4);
    this.pba = new Uint32Array(Math.ceil(n / 64) * 2);
    this.stats = {
      emitted: new Float64Array(n),
      latched: new Float64Array(n),
      dropped: new Float64Array(n),
      blocked: new Float64Array(n),
      specViolations: 0,
      pbaWrites: 0,
    };
    this.tear = new DelayLine(this.sim, 3, (d, o) => this.tornSend(d[o]!, d[o + 1]!, d[o + 2]!), `msix tear ${fn.bdf}`);
    this.cap = fn.addCapability(CAP_ID_MSIX, 12, {
      written: (off, v, w) => this.controlWritten(off, v, w),
      reset: () => this.reset(),
    });
    fn.initCfg16(this.cap + 2, n - 1, MSIX_FLAGS_MASKALL | MSIX_FLAGS_ENABLE);
    fn.initCfg32(this.cap + 4, (opts.tableOffset | (opts.tableBir & 7)) >>> 0);
    fn.initCfg32(this.cap + 8, (opts.pbaOffset | (opts.pbaBir & 7)) >>> 0);
    this.reset();
  }

  /** Bytes of the PBA: one bit per vector in 64-bit words. */
  get pbaSize(): number {
    return this.pba.length * 4;
  }

  get tableSize(): number {
    return this.vectors * MSIX_ENTRY_SIZE;
  }

  private get control(): number {
    return this.fn.cfgRead(this.cap + 2, 2);
  }

  get enabled(): boolean {
    return (this.control & MSIX_FLAGS_ENABLE) !== 0;
  }

  get functionMasked(): boolean {
    return (this.control & MSIX_FLAGS_MASKALL) !== 0;
  }

  /** Back door: the table entry as the device holds it. */
  entry(v: number): MsixEntry {
    const t = this.table;
    return { addrLo: t[v * 4]!, addrHi: t[v * 4 + 1]!, data: t[v * 4 + 2]!, masked: (t[v * 4 + 3]! & MSIX_ENTRY_CTRL_MASKBIT) !== 0 };
  }

  /** Back door: is the PBA bit of `v` set? */
  pending(v: number): boolean {
    return (this.pba[v >>> 5]! & (1 << (v & 31))) !== 0;
  }

  /** Messages of torn latching sampled but not yet sent. */
  get inFlight(): number {
    return this.tear.length;
  }

  /** Entries come out of reset masked with the PBA clear; message control is reset with config space. */
  reset(): void {
    this.table.fill(0);
    for (let v = 0; v < this.vectors; v++) this.table[v * 4 + 3] = MSIX_ENTRY_CTRL_MASKBIT;
    this.pba.fill(0);
    this.tear.clear();
    this.active = false;
  }

  // ------------------------------------------------------------ events

  /** The device signals vector `v`. */
  raise(v: number): RaiseResult {
    if (!(v >= 0 && v < this.vectors && Number.isInteger(v))) throw new SimulatorError(`irqlab: ${this.fn.bdf}: MSI-X vector ${v} outside 0..${this.vectors - 1}`);
    const sim = this.sim;
    if (!this.enabled) {
      this.stats.dropped[v]!++;
      if (sim.trace.on) sim.trace.emit("hw.msix", { bdf: this.fn.bdf, what: "drop", vector: v, why: "MSI-X disabled" });
      return "dropped";
    }
    if (this.functionMasked || this.table[v * 4 + 3]! & MSIX_ENTRY_CTRL_MASKBIT) {
      this.pba[v >>> 5] = this.pba[v >>> 5]! | (1 << (v & 31));
      this.stats.latched[v]!++;
      if (sim.trace.on) sim.trace.emit("hw.msix", { bdf: this.fn.bdf, what: "latch", vector: v, why: this.functionMasked ? "function masked" : "entry masked" });
      return "latched";
    }
    this.send(v, false);
    return "emitted";
  }

  private send(v: number, fromPending: boolean): void {
    const t = this.table;
    const lo = t[v * 4]!;
    const hi = t[v * 4 + 1]!;
    if (this.latching === "torn") {
      if (this.sim.trace.on) this.sim.trace.emit("hw.msix", { bdf: this.fn.bdf, what: "tear-sample", vector: v, addrLo: lo, addrHi: hi });
      this.tear.push(this.sim.now + this.tearWindowNs, v, lo, hi);
      return;
    }
    this.out(v, lo, hi, t[v * 4 + 2]!, fromPending);
  }

  private tornSend(v: number, lo: number, hi: number): void {
    this.out(v, lo, hi, this.table[v * 4 + 2]!, false);
  }

  private out(v: number, lo: number, hi: number, data: number, fromPending: boolean): void {
    if (this.sim.trace.on) this.sim.trace.emit("hw.msix", { bdf: this.fn.bdf, what: fromPending ? "pending-emit" : "emit", vector: v, addrLo: lo, addrHi: hi, data });
    if (this.fn.emitMsi(lo, hi, data)) this.stats.emitted[v]!++;
    else this.stats.blocked[v]!++;
  }

  /** Vector `v` became unmasked: a latched event goes out now, once. */
  private unmasked(v: number): void {
    const w = v >>> 5;
    const bit = 1 << (v & 31);
    if (!(this.pba[w]! & bit)) return;
    this.pba[w] = this.pba[w]! & ~bit;
    this.send(v, true);
  }

  private controlWritten(off: number, value: number, width: AccessWidth): void {
    if (writtenByte(off, value, width, this.cap + 3) < 0) return;
    const was = this.active;
    this.active = this.enabled && !this.functionMasked;
    if (was || !this.active) return;
    for (let v = 0; v < this.vectors; v++) if (!(this.table[v * 4 + 3]! & MSIX_ENTRY_CTRL_MASKBIT)) this.unmasked(v);
  }

  /** Could vector `v` fire now? Changing its message then is undefined behaviour. */
  private live(v: number): boolean {
    return this.enabled && !this.functionMasked && !(this.table[v * 4 + 3]! & MSIX_ENTRY_CTRL_MASKBIT);
  }

  private writeWord(v: number, word: number, value: number): void {
    const i = v * 4 + word;
    if (word === 3) {
      const wasMasked = (this.table[i]! & MSIX_ENTRY_CTRL_MASKBIT) !== 0;
      // Bits 31:1 are reserved (read as zero); only the mask bit is stored.
      this.table[i] = value & MSIX_ENTRY_CTRL_MASKBIT;
      if (wasMasked && !(value & MSIX_ENTRY_CTRL_MASKBIT) && this.enabled && !this.functionMasked) this.unmasked(v);
      return;
    }
    if (this.live(v) && this.table[i] !== value >>> 0) {
      this.stats.specViolations++;
      if (this.sim.trace.on) this.sim.trace.emit("hw.msix", { bdf: this.fn.bdf, what: "spec-violation", vector: v, why: `${["addr_lo", "addr_hi", "data"][word]!} changed while the entry is unmasked` });
    }
    this.table[i] = value >>> 0;
  }

  // ------------------------------------------------------------ BAR handlers

  private tableCheck(op: "read" | "write", off: number, width: number): boolean {
    let why = "";
    if (width !== 4 && width !== 8) why = "MSI-X table accesses must be a full DWORD or QWORD";
    else if (off % width !== 0) why = "misaligned MSI-X table access";
    else if (off + width > this.tableSize) why = "beyond the MSI-X table";
    if (!why) return true;
    unsupportedRequest(this.sim, this.fn.bdf, "msix-table", op, off, width, why);
    return false;
  }

  private pbaCheck(op: "read" | "write", off: number, width: number): boolean {
    let why = "";
    if (width !== 4 && width !== 8) why = "PBA accesses must be a full DWORD or QWORD";
    else if (off % width !== 0) why = "misaligned PBA access";
    else if (off + width > this.pbaSize) why = "beyond the PBA";
    if (!why) return true;
    unsupportedRequest(this.sim, this.fn.bdf, "msix-pba", op, off, width, why);
    return false;
  }

  /** The vector table, at its offset in its BAR. */
  readonly tableHandler: MmioHandler = {
    read: (off, width) => (this.tableCheck("read", off, width) ? this.table[off >>> 2]! : width === 4 ? 0xffffffff : width === 2 ? 0xffff : 0xff),
    write: (off, value, width) => {
      if (this.tableCheck("write", off, width)) this.writeWord(off >>> 4, (off >>> 2) & 3, value);
    },
    read64: (off) => {
      if (!this.tableCheck("read", off, 8)) return 0xffffffffffffffffn;
      return BigInt(this.table[off >>> 2]!) | (BigInt(this.table[(off >>> 2) + 1]!) << 32n);
    },
    write64: (off, value) => {
      if (!this.tableCheck("write", off, 8)) return;
      const v = BigInt.asUintN(64, value);
      const word = (off >>> 2) & 3;
      this.writeWord(off >>> 4, word, Number(v & 0xffffffffn));
      this.writeWord(off >>> 4, word + 1, Number(v >> 32n));
    },
  };

  /** The Pending Bit Array: read-only; writes are ignored (and traced). */
  readonly pbaHandler: MmioHandler = {
    read: (off, width) => (this.pbaCheck("read", off, width) ? this.pba[off >>> 2]! : width === 4 ? 0xffffffff : width === 2 ? 0xffff : 0xff),
    write: (off, value, width) => {
      if (this.pbaCheck("write", off, width)) this.pbaWrite(off, value);
    },
    read64: (off) => {
      if (!this.pbaCheck("read", off, 8)) return 0xffffffffffffffffn;
      return BigInt(this.pba[off >>> 2]!) | (BigInt(this.pba[(off >>> 2) + 1]!) << 32n);
    },
    write64: (off, value) => {
      if (this.pbaCheck("write", off, 8)) this.pbaWrite(off, Number(BigInt.asUintN(32, value)));
    },
  };

  private pbaWrite(off: number, value: number): void {
    this.stats.pbaWrites++;
    if (this.sim.trace.on) this.sim.trace.emit("hw.msix", { bdf: this.fn.bdf, what: "pba-write", vector: (off >>> 2) * 32, data: value >>> 0, why: "PBA is read-only" });
  }
}
