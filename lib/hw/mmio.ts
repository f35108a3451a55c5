// SPDX-License-Identifier: GPL-2.0-only
// The CPU's MMIO address map.
//
// Regions belong to an owner (a PCI function, the local APIC block). CPU
// writes to a posted owner are posted, as PCIe memory writes are: they enter
// the owner's in-order FIFO and reach the device `writeLatencyNs` later. A CPU
// read of the same owner first pushes every posted write ahead of it (PCIe
// ordering: a read completion cannot pass posted writes on the same path),
// which is why drivers flush with a read. Ordering is per owner: irqlab does
// not model writes to one device being pushed by a read of another.
//
// The map does not charge the CPU for a read; the kernel accessors spin for
// `readLatencyNs()` of the address, so the time shows up on the right CPU.
// An access that hits no region is a master abort: reads return all-ones,
// writes vanish, and both appear in the trace. Decode is evaluated behind the
// posted writes issued earlier (see decode()), so programming a BAR and then
// touching it works without a flushing read, as it does on hardware.
//
// 64-bit accesses carry bigint. A region without read64/write64 receives
// them as two 32-bit accesses, low dword first.

import type { SimEvent } from "../sim/events.ts";
import type { Sim } from "../sim/sim.ts";
import { SimulatorError } from "../sim/sim.ts";
import "./trace.ts";

export type AccessWidth = 1 | 2 | 4;

export interface MmioHandler {
  read(offset: number, width: AccessWidth, cpu: number): number;
  write(offset: number, value: number, width: AccessWidth, cpu: number): void;
  read64?(offset: number, cpu: number): bigint;
  write64?(offset: number, value: bigint, cpu: number): void;
}

export interface MmioOwner {
  readonly name: string;
  /** False for owners not behind a posted path (the local APIC): writes take effect at once. */
  readonly posted?: boolean;
}

export interface MmioRegion extends MmioHandler {
  readonly base: number;
  readonly size: number;
  readonly owner: MmioOwner;
  readonly name: string;
  /** CPU-side cost of a read in ns; default: the map's readRoundTripNs. */
  readonly readLatencyNs?: number;
}

export interface MmioTiming {
  /** Time from a CPU write to its arrival at the device (default 100 ns). */
  writeLatencyNs: number;
  /** CPU stall of a non-posted read, request to completion (default 1 us). */
  readRoundTripNs: number;
}

export const DEFAULT_MMIO_TIMING: MmioTiming = { writeLatencyNs: 100, readRoundTripNs: 1000 };

const ONES32 = 0xffffffff;
const ONES64 = 0xffffffffffffffffn;
const widthMask = (w: AccessWidth): number => (w === 4 ? ONES32 : w === 2 ? 0xffff : 0xff);

interface PostedWrite {
  at: number;
  region: MmioRegion;
  addr: number;
  offset: number;
  width: AccessWidth | 8;
  value: number;
  value64: bigint;
  cpu: number;
}

class PostedFifo {
  readonly q: PostedWrite[] = [];
  head = 0;
  readonly ev: SimEvent;
  constructor(
    readonly map: MmioMap,
    readonly owner: MmioOwner,
    sim: Sim,
  ) {
    this.ev = sim.eq.create(() => this.drain(sim.now), `posted writes ${owner.name}`);
  }

  get pending(): number {
    return this.q.length - this.head;
  }

  drain(upTo: number): void {
    while (this.head < this.q.length && this.q[this.head]!.at <= upTo) {
      const w = this.q[this.head++]!;
      this.map.apply(w);
    }
    if (this.head === this.q.length) {
      this.q.length = 0;
      this.head = 0;
      this.map.sim.eq.cancel(this.ev);
    } else this.map.sim.eq.reschedule(this.ev, this.q[this.head]!.at);
  }
}

export class MmioMap {
  readonly timing: MmioTiming;
  /** Sorted by base, non-overlapping. */
  private regions: MmioRegion[] = [];
  private readonly fifos = new Map<MmioOwner, PostedFifo>();

  constructor(
    readonly sim: Sim,
    timing: Partial<MmioTiming> = {},
  ) {
    this.timing = { ...DEFAULT_MMIO_TIMING, ...timing };
  }

  /** The mapped regions, by address. */
  list(): readonly MmioRegion[] {
    return this.regions;
  }

  /** Map a region. Returns false (and maps nothing) if it overlaps a mapped one. */
  map(r: MmioRegion): boolean {
    if (!Number.isSafeInteger(r.base) || !Number.isSafeInteger(r.base + r.size) || r.base < 0 || r.size <= 0) {
      throw new SimulatorError(`irqlab: MMIO region ${r.name} has a bad range ${String(r.base)}+${String(r.size)}`);
    }
    let i = 0;
    while (i < this.regions.length && this.regions[i]!.base < r.base) i++;
    const prev = this.regions[i - 1];
    const next = this.regions[i];
    if ((prev && prev.base + prev.size > r.base) || (next && r.base + r.size > next.base)) return false;
    this.regions.splice(i, 0, r);
    return true;
  }

  unmap(r: MmioRegion): boolean {
    const i = this.regions.indexOf(r);
    if (i < 0) return false;
    this.regions.splice(i, 1);
    return true;
  }

  /** The region containing `addr`, or null. */
  find(addr: number): MmioRegion | null {
    const rs = this.regions;
    let lo = 0;
    let hi = rs.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const r = rs[mid]!;
      if (addr < r.base) hi = mid - 1;
      else if (addr >= r.base + r.size) lo = mid + 1;
      else return r;
    }
    return null;
  }

  /** CPU-side cost of a read of `addr`. */
  readLatencyNs(addr: number): number {
    return this.find(addr)?.readLatencyNs ?? this.timing.readRoundTripNs;
  }

  /** Posted writes of `owner` not yet at the device. */
  pendingWrites(owner: MmioOwner): number {
    return this.fifos.get(owner)?.pending ?? 0;
  }

  /** Apply every posted write of `owner` now (what a read of it does first). */
  flush(owner: MmioOwner): void {
    const f = this.fifos.get(owner);
    if (f && f.pending > 0) f.drain(Infinity);
  }

  /** Forget the posted writes of `owner` (its link went down). */
  discard(owner: MmioOwner): void {
    const f = this.fifos.get(owner);
    if (!f) return;
    f.q.length = 0;
    f.head = 0;
    this.sim.eq.cancel(f.ev);
  }

  /**
   * The region that decodes `addr` once earlier posted writes have landed.
   * Decode happens where the request arrives, behind the writes issued before
   * it, and one of them may be the config write that makes `addr` decode; so
   * an address that decodes nowhere now lets every posted write land first.
   */
  private decode(addr: number): MmioRegion | null {
    const r = this.find(addr);
    if (r) return r;
    let flushed = false;
    for (const f of this.fifos.values()) {
      if (f.pending > 0) {
        f.drain(Infinity);
        flushed = true;
      }
    }
    return flushed ? this.find(addr) : null;
  }

  /**
   * Decode for a read: the owner's posted writes land first, and if they
   * change the decode (decoding turned off, a BAR moved) the read follows.
   */
  private decodeRead(addr: number): MmioRegion | null {
    let r = this.decode(addr);
    while (r && this.pendingWrites(r.owner) > 0) {
      this.flush(r.owner);
      r = this.decode(addr);
    }
    return r;
  }

  read(cpu: number, addr: number, width: AccessWidth): number {
    const r = this.decodeRead(addr);
    if (!r) {
      const v = widthMask(width);
      if (this.sim.trace.on) this.trace("unmapped-read", cpu, addr, width, v, 0, "");
      return v;
    }
    const v = r.read(addr - r.base, width, cpu) >>> 0;
    if (this.sim.trace.on) this.trace("read", cpu, addr, width, v, 0, r.name);
    return v;
  }

  read64(cpu: number, addr: number): bigint {
    const r = this.decodeRead(addr);
    if (!r) {
      if (this.sim.trace.on) this.trace("unmapped-read", cpu, addr, 8, ONES32, ONES32, "");
      return ONES64;
    }
    const off = addr - r.base;
    const v = r.read64 ? BigInt.asUintN(64, r.read64(off, cpu)) : BigInt(r.read(off, 4, cpu) >>> 0) | (BigInt(r.read(off + 4, 4, cpu) >>> 0) << 32n);
    if (this.sim.trace.on) this.trace("read", cpu, addr, 8, Number(v & 0xffffffffn), Number(v >> 32n), r.name);
    return v;
  }

  write(cpu: number, addr: number, value: number, width: AccessWidth): void {
    const r = this.decode(addr);
    const v = (value & widthMask(width)) >>> 0;
    if (!r) {
      if (this.sim.trace.on) this.trace("unmapped-write", cpu, addr, width, v, 0, "");
      return;
    }
    if (this.sim.trace.on) this.trace("write", cpu, addr, width, v, 0, r.name);
    this.post(r, cpu, addr, width, v, 0n);
  }

  write64(cpu: number, addr: number, value: bigint): void {
    const r = this.decode(addr);
    const v = BigInt.asUintN(64, value);
    const lo = Number(v & 0xffffffffn);
    const hi = Number(v >> 32n);
    if (!r) {
      if (this.sim.trace.on) this.trace("unmapped-write", cpu, addr, 8, lo, hi, "");
      return;
    }
    if (this.sim.trace.on) this.trace("write", cpu, addr, 8, lo, hi, r.name);
    if (r.write64) this.post(r, cpu, addr, 8, 0, v);
    else {
      this.post(r, cpu, addr, 4, lo, 0n);
      this.post(r, cpu, addr + 4, 4, hi, 0n);
    }
  }

  private post(r: MmioRegion, cpu: number, addr: number, width: AccessWidth | 8, value: number, value64: bigint): void {
    if (r.owner.posted === false) {
      // takes effect at once: no record to queue (the LAPIC's EOI, once per interrupt)
      this.deliverTo(r, addr - r.base, width, value, value64, cpu);
      return;
    }
    const w: PostedWrite = { at: 0, region: r, addr, offset: addr - r.base, width, value, value64, cpu };
    let f = this.fifos.get(r.owner);
    if (!f) {
      f = new PostedFifo(this, r.owner, this.sim);
      this.fifos.set(r.owner, f);
    }
    const last = f.q[f.q.length - 1];
    w.at = Math.max(this.sim.now + this.timing.writeLatencyNs, last ? last.at : 0);
    f.q.push(w);
    if (f.pending === 1) this.sim.eq.reschedule(f.ev, w.at);
  }

  /**
   * A posted write reaches its device. It is decoded again on arrival: a
   * write queued behind the config write that moved or disabled its BAR
   * follows the new decode.
   */
  apply(w: PostedWrite): void {
    const lo = w.width === 8 ? Number(w.value64 & 0xffffffffn) : w.value;
    const hi = w.width === 8 ? Number(w.value64 >> 32n) : 0;
    const cur = this.find(w.addr);
    if (!cur) {
      if (this.sim.trace.on) this.trace("unmapped-write", w.cpu, w.addr, w.width, lo, hi, "");
      return;
    }
    if (cur !== w.region) {
      w.region = cur;
      w.offset = w.addr - cur.base;
    }
    if (this.sim.trace.on) this.trace("apply", w.cpu, w.addr, w.width, lo, hi, cur.name);
    this.deliver(w);
  }

  private deliver(w: PostedWrite): void {
    this.deliverTo(w.region, w.offset, w.width, w.value, w.value64, w.cpu);
  }

  private deliverTo(r: MmioRegion, offset: number, width: AccessWidth | 8, value: number, value64: bigint, cpu: number): void {
    if (width !== 8) r.write(offset, value, width, cpu);
    else if (r.write64) r.write64(offset, value64, cpu);
    else {
      r.write(offset, Number(value64 & 0xffffffffn), 4, cpu);
      r.write(offset + 4, Number(value64 >> 32n), 4, cpu);
    }
  }

  private trace(op: "read" | "write" | "apply" | "unmapped-read" | "unmapped-write", by: number, addr: number, width: number, value: number, valueHi: number, region: string): void {
    if (width === 8) this.sim.trace.emit("hw.mmio", { op, addr, width, value, valueHi, region, by });
    else this.sim.trace.emit("hw.mmio", { op, addr, width, value, region, by });
  }
}

/**
 * A device answers an access it does not support (beyond a table, a wrong
 * width, misaligned) with Unsupported Request: the CPU reads all-ones and the
 * write is dropped. Returns the all-ones value for `width`.
 */
export function unsupportedRequest(sim: Sim, dev: string, space: string, op: "read" | "write", offset: number, width: number, why: string): number {
  if (sim.trace.on) sim.trace.emit("hw.ur", { dev, space, op, offset, width, why });
  return width >= 4 ? ONES32 : width === 2 ? 0xffff : 0xff;
}

/**
 * Several handlers behind one BAR, each at an offset. Holes and accesses
 * that straddle two handlers are unsupported requests.
 */
export class BarLayout implements MmioHandler {
  private readonly parts: { off: number; size: number; name: string; h: MmioHandler }[] = [];

  constructor(
    private readonly sim: Sim,
    private readonly dev: string,
  ) {}

  add(off: number, size: number, name: string, h: MmioHandler): this {
    for (const p of this.parts) {
      if (off < p.off + p.size && p.off < off + size) throw new SimulatorError(`irqlab: ${this.dev}: BAR parts ${p.name} and ${name} overlap`);
    }
    this.parts.push({ off, size, name, h });
    return this;
  }

  private part(off: number, width: number): { off: number; size: number; name: string; h: MmioHandler } | null {
    for (const p of this.parts) if (off >= p.off && off + width <= p.off + p.size) return p;
    return null;
  }

  read(off: number, width: AccessWidth, cpu: number): number {
    const p = this.part(off, width);
    if (!p) return unsupportedRequest(this.sim, this.dev, "bar", "read", off, width, "no register there");
    return p.h.read(off - p.off, width, cpu);
  }

  write(off: number, value: number, width: AccessWidth, cpu: number): void {
    const p = this.part(off, width);
    if (!p) {
      unsupportedRequest(this.sim, this.dev, "bar", "write", off, width, "no register there");
      return;
    }
    p.h.write(off - p.off, value, width, cpu);
  }

  read64(off: number, cpu: number): bigint {
    const p = this.part(off, 8);
    if (!p) {
      unsupportedRequest(this.sim, this.dev, "bar", "read", off, 8, "no register there");
      return ONES64;
    }
    if (p.h.read64) return p.h.read64(off - p.off, cpu);
    return BigInt(p.h.read(off - p.off, 4, cpu) >>> 0) | (BigInt(p.h.read(off - p.off + 4, 4, cpu) >>> 0) << 32n);
  }

  write64(off: number, value: bigint, cpu: number): void {
    const p = this.part(off, 8);
    if (!p) {
      unsupportedRequest(this.sim, this.dev, "bar", "write", off, 8, "no register there");
      return;
    }
    if (p.h.write64) p.h.write64(off - p.off, value, cpu);
    else {
      const v = BigInt.asUintN(64, value);
      p.h.write(off - p.off, Number(v & 0xffffffffn), 4, cpu);
      p.h.write(off - p.off + 4, Number(v >> 32n), 4, cpu);
    }
  }
}
