// SPDX-License-Identifier: GPL-2.0-only
// irqlab's RAM-backed IMS store of the mlx5-like NIC, with its on-die cache.
// No real mlx5 device has one: this renders the design Jason Gunthorpe
// described in the August 2020 IMS thread (hardware.md 1.5): interrupt
// messages live in host RAM next to the queue contexts, the device keeps the
// active ones in a small on-die cache, and software changes them only through
// commands.
//
// The store is an array of 16-byte entries {addr_lo, addr_hi, data, ctrl} of
// big-endian dwords in RAM the driver allocated and handed to the device
// (IRQLAB_INIT_IMS_STORE). The device owns it: it writes it when it executes
// IRQLAB_SET_IMS_ENTRY and, with the dirty write-back policy, when a cached
// entry leaves the cache. ctrl bit 0 masks the entry. A signal through a
// masked entry sets the entry's pending bit (held on die, like a PBA) and
// goes out once the entry is unmasked by a command.
//
// The cache holds up to `cacheSize` entries in LRU order. A signal through an
// entry that is not cached fetches it from RAM first (`fetchNs`, uniform in
// [min, max] from the device's seeded RNG). Write-back policy:
//   none   the cache is read-only: lines are dropped on eviction or
//          invalidation, so a direct CPU write to RAM takes effect once the
//          line has left the cache;
//   dirty  every line leaving the cache is written back to RAM in full,
//          overwriting whatever the CPU stored there meanwhile (the hazard
//          Gunthorpe pointed out);
//   stale  lines never leave the cache except through
//          IRQLAB_INVALIDATE_IMS_CACHE; when it is full, misses bypass it.
// SET_IMS_ENTRY updates RAM and the cached line together, so the command path
// is correct under every policy.

import type { SimEvent } from "../../../sim/events.ts";
import type { Rng } from "../../../sim/rng.ts";
import type { Sim } from "../../../sim/sim.ts";
import { IMS_ADDR_HI, IMS_ADDR_LO, IMS_CTRL, IMS_CTRL_MASKED, IMS_DATA, IMS_ENTRY_SIZE } from "./defs.ts";
import "./trace.ts";

export type ImsWriteback = "none" | "dirty" | "stale";

export interface ImsEntry {
  addrLo: number;
  addrHi: number;
  data: number;
  ctrl: number;
}

/** What the store needs from its device: time, DMA and the interrupt path. */
export interface ImsHost {
  readonly sim: Sim;
  readonly bdf: string;
  readonly rng: Rng;
  dmaRead(addr: number, len: number): Uint8Array | null;
  dmaWrite(addr: number, bytes: Uint8Array): boolean;
  emitMsi(addrLo: number, addrHi: number, data: number): boolean;
}

export interface ImsOptions {
  /** Entries the device supports (>= 64). */
  entries: number;
  cacheSize: number;
  writeback: ImsWriteback;
  /** Miss-fetch latency range in ns. */
  fetchNs: readonly [number, number];
}

export interface ImsStats {
  hits: number;
  misses: number;
  evictions: number;
  writebacks: number;
  emitted: number;
  /** Signals through a masked entry (the pending bit was set). */
  latched: number;
  /** Signals dropped: no store, index out of range, or bus mastering off. */
  dropped: number;
}

interface Fetch {
  ev: SimEvent;
  signals: number;
}

export class ImsStore {
  /** Bus address of the store in host RAM, or null before IRQLAB_INIT_IMS_STORE. */
  base: number | null = null;
  /** Entries in the store the driver gave (<= capacity). */
  num = 0;
  readonly capacity: number;
  readonly cacheSize: number;
  writeback: ImsWriteback;
  fetchNs: readonly [number, number];
  /** Cached lines, least recently used first. */
  private readonly cache = new Map<number, ImsEntry>();
  private readonly pending = new Set<number>();
  private readonly fetches = new Map<number, Fetch>();
  readonly stats: ImsStats = { hits: 0, misses: 0, evictions: 0, writebacks: 0, emitted: 0, latched: 0, dropped: 0 };

  constructor(
    private readonly host: ImsHost,
    opts: ImsOptions,
  ) {
    this.capacity = opts.entries;
    this.cacheSize = opts.cacheSize;
    this.writeback = opts.writeback;
    this.fetchNs = opts.fetchNs;
  }

  /** Forget the store: reset, FLR. Lines are dropped without write-back. */
  reset(): void {
    for (const f of this.fetches.values()) this.host.sim.eq.cancel(f.ev);
    this.fetches.clear();
    this.cache.clear();
    this.pending.clear();
    this.base = null;
    this.num = 0;
  }

  /** IRQLAB_INIT_IMS_STORE: take the store and write every entry masked. */
  init(base: number, num: number): void {
    this.reset();
    this.base = base;
    this.num = num;
    const masked: ImsEntry = { addrLo: 0, addrHi: 0, data: 0, ctrl: IMS_CTRL_MASKED };
    for (let i = 0; i < num; i++) this.writeRam(i, masked);
    this.trace("store-init", num, base);
  }

  /** Back door: the cached line of `index`, if any. */
  cached(index: number): ImsEntry | null {
    const l = this.cache.get(index);
    return l ? { ...l } : null;
  }

  cachedIndices(): number[] {
    return [...this.cache.keys()];
  }

  isPending(index: number): boolean {
    return this.pending.has(index);
  }

  /** Back door: the entry as it is in RAM now. */
  ramEntry(index: number): ImsEntry | null {
    return this.readRam(index);
  }

  /** Bus address of entry `index`. */
  entryAddress(index: number): number {
    return (this.base ?? 0) + index * IMS_ENTRY_SIZE;
  }

  // ------------------------------------------------------------ commands

  /** IRQLAB_SET_IMS_ENTRY: RAM and the cached line take the new entry. */
  set(index: number, e: ImsEntry): void {
    const v: ImsEntry = { addrLo: e.addrLo >>> 0, addrHi: e.addrHi >>> 0, data: e.data >>> 0, ctrl: e.ctrl & IMS_CTRL_MASKED };
    this.writeRam(index, v);
    const line = this.cache.get(index);
    if (line) Object.assign(line, v);
    this.trace("set", index, v.data);
    if (!(v.ctrl & IMS_CTRL_MASKED) && this.pending.delete(index)) this.emit(index, v);
  }

  /** IRQLAB_QUERY_IMS_ENTRY: the device's view (the cached line, else RAM). */
  query(index: number): { entry: ImsEntry; cached: boolean; pending: boolean } | null {
    const line = this.cache.get(index);
    if (line) return { entry: { ...line }, cached: true, pending: this.pending.has(index) };
    const e = this.readRam(index);
    return e ? { entry: e, cached: false, pending: this.pending.has(index) } : null;
  }

  /** IRQLAB_INVALIDATE_IMS_CACHE of one entry, or of all when index is null. */
  invalidate(index: number | null): void {
    const victims = index === null ? [...this.cache.keys()] : this.cache.has(index) ? [index] : [];
    for (const i of victims) this.dropLine(i, "invalidate");
    this.trace("invalidate", index ?? -1, victims.length);
  }

  // ------------------------------------------------------------ signalling

  /** An EQ bound to entry `index` raises its interrupt. */
  signal(index: number): void {
    if (this.base === null || !(index >= 0 && index < this.num)) {
      this.stats.dropped++;
      this.trace("drop", index, 0, this.base === null ? "no IMS store" : "index outside the store");
      return;
    }
    const line = this.cache.get(index);
    if (line) {
      this.stats.hits++;
      this.cache.delete(index);
      this.cache.set(index, line);
      this.use(index, line);
      return;
    }
    const f = this.fetches.get(index);
    if (f) {
      f.signals++;
      return;
    }
    this.stats.misses++;
    const [lo, hi] = this.fetchNs;
    const ns = hi > lo ? lo + this.host.rng.int(hi - lo + 1) : lo;
    const sim = this.host.sim;
    const ev = sim.eq.after(ns, () => this.fetched(index), `${this.host.bdf} IMS fetch ${index}`);
    this.fetches.set(index, { ev, signals: 1 });
    this.trace("miss", index, ns);
  }

  private fetched(index: number): void {
    const f = this.fetches.get(index);
    this.fetches.delete(index);
    if (!f) return;
    const e = this.readRam(index);
    if (!e) {
      this.stats.dropped += f.signals;
      this.trace("drop", index, 0, "fetch failed (bus mastering off)");
      return;
    }
    let line = e;
    if (this.insert(index, e)) line = this.cache.get(index)!;
    for (let k = 0; k < f.signals; k++) this.use(index, line);
  }

  /** Put a fetched entry in the cache; false if it bypasses (stale policy, full). */
  private insert(index: number, e: ImsEntry): boolean {
    if (this.cache.size >= this.cacheSize) {
      if (this.writeback === "stale") {
        this.trace("bypass", index, 0);
        return false;
      }
      const victim = this.cache.keys().next().value as number;
      this.dropLine(victim, "evict");
      this.stats.evictions++;
    }
    this.cache.set(index, { ...e });
    this.trace("fill", index, e.data);
    return true;
  }

  private dropLine(index: number, why: "evict" | "invalidate"): void {
    const line = this.cache.get(index);
    if (!line) return;
    this.cache.delete(index);
    if (this.writeback === "dirty") {
      this.writeRam(index, line);
      this.stats.writebacks++;
      this.trace("writeback", index, line.data, why);
    } else this.trace(why, index, line.data);
  }

  private use(index: number, e: ImsEntry): void {
    if (e.ctrl & IMS_CTRL_MASKED) {
      this.pending.add(index);
      this.stats.latched++;
      this.trace("latch", index, e.data);
      return;
    }
    this.emit(index, e);
  }

  private emit(index: number, e: ImsEntry): void {
    if (this.host.emitMsi(e.addrLo, e.addrHi, e.data)) {
      this.stats.emitted++;
      this.trace("emit", index, e.data);
    } else {
      this.stats.dropped++;
      this.trace("drop", index, e.data, "bus mastering off");
    }
  }

  // ------------------------------------------------------------ RAM

  private readRam(index: number): ImsEntry | null {
    if (this.base === null || !(index >= 0 && index < this.num)) return null;
    const b = this.host.dmaRead(this.entryAddress(index), IMS_ENTRY_SIZE);
    if (!b) return null;
    const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
    return { addrLo: dv.getUint32(IMS_ADDR_LO), addrHi: dv.getUint32(IMS_ADDR_HI), data: dv.getUint32(IMS_DATA), ctrl: dv.getUint32(IMS_CTRL) };
  }

  private writeRam(index: number, e: ImsEntry): void {
    const b = new Uint8Array(IMS_ENTRY_SIZE);
    const dv = new DataView(b.buffer);
    dv.setUint32(IMS_ADDR_LO, e.addrLo >>> 0);
    dv.setUint32(IMS_ADDR_HI, e.addrHi >>> 0);
    dv.setUint32(IMS_DATA, e.data >>> 0);
    dv.setUint32(IMS_CTRL, e.ctrl >>> 0);
    this.host.dmaWrite(this.entryAddress(index), b);
  }

  private trace(what: string, index: number, value: number, why?: string): void {
    const sim = this.host.sim;
    if (!sim.trace.on) return;
    if (why) sim.trace.emit("hw.mlx5", { bdf: this.host.bdf, what: `ims-${what}`, index, value, why });
    else sim.trace.emit("hw.mlx5", { bdf: this.host.bdf, what: `ims-${what}`, index, value });
  }
}
