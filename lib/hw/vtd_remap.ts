// SPDX-License-Identifier: GPL-2.0-only
// The remapping side of the VT-d-like unit (lib/hw/vtd.ts): its state, the
// remap pipeline the MSI fabric calls, the interrupt entry cache, fault
// recording and the unit's own event messages. VtdUnit (vtd.ts) adds GCMD,
// the queued-invalidation engine and the register file on top.
//
// Remap pipeline, per message (GSTS.IRES clear: pass-through):
//   compatibility format -> passed through only while GSTS.CFIS is set and
//     the table uses xAPIC format; blocked with fault 0x25 when CFIS is
//     clear (the reset state, and what Linux leaves) or IRTA.EIME is set;
//   address_hi != 0, or SHV with data[31:16] != 0        -> 0x20;
//   index = handle (+ subhandle if SHV) >= 2^(IRTA.S+1)   -> 0x21;
//   table pointer 0 / beyond the address space           -> 0x23;
//   IEC hit, or fetch of the 16-byte IRTE from RAM (irteFetchNs, counted);
//   present clear -> 0x22; reserved bits (irteReservedViolation) -> 0x24;
//   SVT 1/2 source-id check -> 0x26; else compose (dest_id 15:8 in xAPIC mode).
// Faults after the IRTE is read honour its FPD (blocked, not recorded).
//
// The interrupt entry cache (IEC) is the fidelity point QEMU lacks: an entry
// once cached is used until an IEC invalidation descriptor (global or
// index-selective with a 2^IM block) or, with CAP.ESIRTPS, an SIRTP drops it.
// RAM writes never refresh it. Like hardware with CAP.CM = 0, the unit
// caches only present, well-formed entries: not-present and erroneous ones
// are re-read (and fault again) every time. Capacity is LRU.
//
// Faults go to the 8 (faultRecords) FRCD registers at 0x400 in turn; a full
// slot sets PFO and drops the record. The first record while no F bit is
// set (PPF 0 -> 1), IQE and ITE raise the fault event: FECTL.IP, and the
// FEADDR/FEDATA message unless FECTL.IM (then sent when IM is cleared). The
// unit's own messages (fault and invalidation events, status writes) carry
// VTD_UNIT_RID and bypass remapping.

import type { SimEvent } from "../sim/events.ts";
import type { TraceEventMap } from "../sim/trace.ts";
import { SimulatorError } from "../sim/sim.ts";
import { composeCompat, type CompatMessage, type MsiMessage } from "./fabric.ts";
import type { AccessWidth, MmioOwner, MmioRegion } from "./mmio.ts";
import type { Platform } from "./platform.ts";
import * as V from "./vtd_regs.ts";
import { VTD_DEFAULT_BASE, VTD_UNIT_RID, type IrTable, type IrteFields, type VtdOptions, type VtdStats } from "./vtd_regs.ts";

declare module "../sim/trace.ts" {
  interface TraceEventMap {
    /** The interrupt-remapping unit `dmar`. */
    "hw.vtd": {
      dmar: string;
      what: "gcmd" | "gsts" | "remap" | "fault" | "iec-fill" | "iec-evict" | "iec-invalidate" | "qi-desc" | "qi-error" | "qi-ite" | "status-write" | "event" | "ignored";
      index?: number;
      rid?: number;
      reason?: number;
      vector?: number;
      dest?: number;
      /** remap: the IRTE came from the IEC */
      hit?: boolean;
      /** fault: written to an FRCD register (not suppressed by FPD or lost to PFO) */
      recorded?: boolean;
      /** register value, status data or descriptor dword */
      value?: number;
      /** descriptor type, or the FRCD slot of a fault */
      desc?: number;
      count?: number;
      addr?: number;
      why?: string;
    };
  }
}

export const FRCD_BASE = 0x400;
export const FSTS_W1C = V.DMA_FSTS_PFO | V.DMA_FSTS_IQE | V.DMA_FSTS_ICE | V.DMA_FSTS_ITE | V.DMA_FSTS_PRO;
export const lo32 = (v: bigint): number => Number(v & 0xffffffffn);
export const hi32 = (v: bigint): number => Number((v >> 32n) & 0xffffffffn);

export abstract class VtdRemapUnit implements MmioOwner {
  readonly name: string;
  readonly posted = true;
  readonly base: number;
  readonly cap: bigint;
  readonly ecap: bigint;
  readonly region: MmioRegion;
  readonly stats: VtdStats = {
    remapped: 0, passedThrough: 0, blocked: 0, faultsRecorded: 0, faultsSuppressed: 0, faultsOverflowed: 0,
    iecHits: 0, iecMisses: 0, iecEvictions: 0, iecInvalidations: 0, descriptorsProcessed: 0, irteFetchNs: 0,
  };
  readonly gcmdLatencyNs: number;
  readonly qiDescLatencyNs: number;
  readonly irteFetchNs: number;
  protected readonly esirtps: boolean;
  protected readonly eim: boolean;
  protected readonly mhmv: number;
  protected readonly nfr: number;
  private readonly iecCapacity: number;

  protected gsts = 0;
  /** Status bit -> value it will take when the GCMD command in flight completes. */
  protected readonly pendingCmd = new Map<number, boolean>();
  protected fsts = 0;
  private fri = 0;
  private nextRecord = 0;
  protected pendingRecords = 0;
  protected readonly frcd: Uint32Array;
  protected fectl = V.DMA_FECTL_IM;
  protected fedata = 0;
  protected feaddr = 0;
  protected feuaddr = 0;
  protected iectl = V.DMA_FECTL_IM;
  protected iedata = 0;
  protected ieaddr = 0;
  protected ieuaddr = 0;
  protected ics = 0;
  protected iqh = 0;
  protected iqt = 0;
  protected iqa = 0n;
  protected iqer = 0n;
  protected irta = 0n;
  protected table: IrTable | null = null;
  /** Interrupt entry cache: index -> decoded IRTE, least recently used first. */
  private readonly iec = new Map<number, IrteFields>();
  protected readonly fetchEv: SimEvent;
  protected fetchBusy = false;
  protected iteArmed = false;
  protected iteSid = 0;
  private readonly outbox: number[] = [];
  private readonly outEv: SimEvent;

  constructor(
    readonly platform: Platform,
    opts: VtdOptions = {},
  ) {
    const sim = platform.sim;
    this.name = opts.name ?? "dmar0";
    this.base = opts.base ?? VTD_DEFAULT_BASE;
    this.gcmdLatencyNs = opts.gcmdLatencyNs ?? 1000;
    this.qiDescLatencyNs = opts.qiDescLatencyNs ?? 500;
    this.irteFetchNs = opts.irteFetchNs ?? 300;
    this.esirtps = opts.esirtps ?? false;
    this.eim = opts.eim ?? false;
    this.mhmv = opts.mhmv ?? 0xf;
    this.nfr = opts.faultRecords ?? 8;
    this.iecCapacity = opts.irteCacheEntries ?? 64;
    if (opts.firmwareCfi) this.gsts |= V.DMA_GSTS_CFIS;
    const bad = (what: string): never => {
      throw new SimulatorError(`irqlab: ${this.name}: ${what}`);
    };
    if (!Number.isInteger(this.nfr) || this.nfr < 1 || this.nfr > 256) bad("faultRecords must be 1..256");
    if (!Number.isInteger(this.mhmv) || this.mhmv < 0 || this.mhmv > 15) bad("mhmv must be 0..15");
    if (!Number.isInteger(this.iecCapacity) || this.iecCapacity < 0) bad("irteCacheEntries must be a non-negative integer");
    for (const t of [this.gcmdLatencyNs, this.qiDescLatencyNs, this.irteFetchNs]) if (!(t >= 0)) bad("latencies must be non-negative");
    if (this.base % V.DMAR_REG_SIZE !== 0) bad("the register page must be 4 KiB aligned");
    this.frcd = new Uint32Array(4 * this.nfr);
    this.cap =
      (this.esirtps ? 1n << 62n : 0n) | (BigInt(this.nfr - 1) << 40n) | (BigInt(FRCD_BASE / 16) << 24n);
    // IRO (ECAP 17:8) places the (unmodelled) IOTLB registers at 0x500 so a
    // driver's register-size computation stays inside the page.
    this.ecap = BigInt(this.mhmv) << 20n | (0x50n << 8n) | (this.eim ? 1n << 4n : 0n) | (1n << 3n) | (1n << 1n) | 1n;
    this.fetchEv = sim.eq.create(() => this.step(), `${this.name} invalidation queue`);
    this.outEv = sim.eq.create(() => this.flushOutbox(), `${this.name} event messages`);
    this.region = {
      base: this.base,
      size: V.DMAR_REG_SIZE,
      owner: this,
      name: this.name,
      read: (off, w) => this.mmioRead(off, w),
      write: (off, v, w) => this.mmioWrite(off, v, w),
      read64: (off) => this.mmioRead64(off),
      write64: (off, v) => this.mmioWrite64(off, v),
    };
    if (!platform.mmio.map(this.region)) bad(`the register page at ${this.base.toString(16)} overlaps a mapped region`);
    platform.fabric.remapper = this.remap;
  }

  // ---------------------------------------------------------------- back doors

  /**
   * Test knob: the next wait descriptor reports a device-TLB invalidation
   * time-out (FSTS.ITE) of requester `sid` (IQER.ITESID; 0, the default, is
   * what units without ITESID report).
   */
  injectIte(sid = 0): void {
    if (!(Number.isInteger(sid) && sid >= 0 && sid <= 0xffff)) throw new SimulatorError(`irqlab: ${this.name}: injectIte: sid must be 0..0xffff`);
    this.iteArmed = true;
    this.iteSid = sid;
  }

  /** IRTE indices held in the interrupt entry cache, least recently used first. */
  iecEntries(): number[] {
    return [...this.iec.keys()];
  }

  /** The latched table (null before the first SIRTP completes). */
  get activeTable(): Readonly<IrTable> | null {
    return this.table;
  }

  /** Decode IRTE `index` from RAM (the latched table, else IRTA). Not a hardware access: no cache fill. */
  readIrte(index: number): IrteFields {
    const base = this.table?.base ?? Number(this.irta & ~0xfffn);
    const a = base + 16 * index;
    return V.decodeIrte(this.platform.ram.read64(a), this.platform.ram.read64(a + 8));
  }

  // ---------------------------------------------------------------- the remap pipeline

  private readonly remap = (msg: Readonly<MsiMessage>, rid: number, _pasid: number): CompatMessage | null => {
    const t = this.table;
    if (!(this.gsts & V.DMA_GSTS_IRES) || rid === VTD_UNIT_RID || !t) {
      this.stats.passedThrough++;
      return msg;
    }
    const lo = msg.addrLo >>> 0;
    if (!(lo & V.MSI_ADDR_IR_EXT_INT)) {
      // GCMD.CFI = 1 means "process compatibility format as pass-through";
      // x2APIC mode (EIME) blocks it whatever CFI says.
      if (!(this.gsts & V.DMA_GSTS_CFIS) || t.eime) return this.fault(V.VTD_FR_IR_REQ_COMPAT, rid, 0, 0, "compatibility format blocked");
      this.stats.passedThrough++;
      return msg;
    }
    const handle = ((lo >>> 5) & 0x7fff) | (((lo >>> 2) & 1) << 15);
    if (msg.addrHi !== 0) return this.fault(V.VTD_FR_IR_REQ_RSVD, rid, handle, 0, "address_hi not zero");
    let index = handle;
    if (lo & V.MSI_ADDR_IR_SHV) {
      if (msg.data >>> 16) return this.fault(V.VTD_FR_IR_REQ_RSVD, rid, handle, 0, "SHV with data[31:16] set");
      index += msg.data & 0xffff;
    }
    if (index >= t.entries) return this.fault(V.VTD_FR_IR_INDEX_OVER, rid, index, 0, `index beyond ${t.entries} entries`);
    if (t.base === 0 || !Number.isSafeInteger(t.base + 16 * t.entries)) return this.fault(V.VTD_FR_IR_ROOT_INVAL, rid, index, 0, "no readable table");
    let e = this.iec.get(index);
    const hit = e !== undefined;
    if (e) {
      this.stats.iecHits++;
      this.iec.delete(index);
      this.iec.set(index, e);
    } else {
      this.stats.iecMisses++;
      this.stats.irteFetchNs += this.irteFetchNs;
      const a = t.base + 16 * index;
      const rlo = this.platform.ram.read64(a);
      const rhi = this.platform.ram.read64(a + 8);
      e = V.decodeIrte(rlo, rhi);
      if (!e.present) return this.fault(V.VTD_FR_IR_ENTRY_P, rid, index, e.fpd, "IRTE not present");
      const why = V.irteReservedViolation(rlo, rhi, t.eime);
      if (why) return this.fault(V.VTD_FR_IR_IRTE_RSVD, rid, index, e.fpd, why);
      this.fill(index, e);
    }
    if (!V.irteSourceIdMatches(e, rid)) return this.fault(V.VTD_FR_IR_SID_ERR, rid, index, e.fpd, "source-id verification failed");
    const dest = t.eime ? e.dest_id : (e.dest_id >>> 8) & 0xff;
    if (dest > 0xff) {
      this.stats.blocked++;
      if (this.platform.sim.trace.on) this.emit({ what: "ignored", index, rid, dest, why: "x2APIC destination beyond 8 bits is not modelled" });
      return null;
    }
    this.stats.remapped++;
    if (this.platform.sim.trace.on) this.emit({ what: "remap", index, rid, vector: e.vector, dest, hit });
    return composeCompat({
      dest,
      vector: e.vector,
      deliveryMode: e.dlvry_mode,
      logical: e.dst_mode === 1,
      redirectionHint: e.redir_hint === 1,
      levelTrigger: e.trigger_mode === 1,
    });
  };

  private fill(index: number, e: IrteFields): void {
    if (this.iecCapacity === 0) return;
    if (this.iec.size >= this.iecCapacity) {
      const victim = this.iec.keys().next().value!;
      this.iec.delete(victim);
      this.stats.iecEvictions++;
      if (this.platform.sim.trace.on) this.emit({ what: "iec-evict", index: victim });
    }
    this.iec.set(index, e);
    if (this.platform.sim.trace.on) this.emit({ what: "iec-fill", index, vector: e.vector });
  }

  /** Drop cached entries in [first, first + count); all of them when count is Infinity. */
  protected invalidate(first: number, count: number, why: string): void {
    let n = 0;
    if (count === Infinity) {
      n = this.iec.size;
      this.iec.clear();
    } else {
      for (const k of this.iec.keys()) {
        if (k >= first && k < first + count) {
          this.iec.delete(k);
          n++;
        }
      }
    }
    this.stats.iecInvalidations++;
    if (this.platform.sim.trace.on) this.emit({ what: "iec-invalidate", index: first, count: n, why });
  }

  // ---------------------------------------------------------------- faults and events

  /** Block a message with fault `reason`; record it unless `fpd`. */
  private fault(reason: number, rid: number, index: number, fpd: number, why: string): null {
    this.stats.blocked++;
    const tr = this.platform.sim.trace.on;
    if (fpd) {
      this.stats.faultsSuppressed++;
      if (tr) this.emit({ what: "fault", reason, rid, index, recorded: false, why: `${why} (FPD)` });
      return null;
    }
    const slot = this.nextRecord;
    const f = this.frcd;
    if (f[4 * slot + 3]! & V.DMA_FRCD_F) {
      this.fsts |= V.DMA_FSTS_PFO;
      this.stats.faultsOverflowed++;
      if (tr) this.emit({ what: "fault", reason, rid, index, recorded: false, why: `${why} (PFO: record ${slot} still pending)` });
      return null;
    }
    // FRCD: qword 0 fault info (IR: index in 63:48), SID in 79:64, FR in
    // 103:96, T (bit 126) 0 as interrupt requests are writes, F in 127.
    f[4 * slot] = 0;
    f[4 * slot + 1] = (index & 0xffff) << 16;
    f[4 * slot + 2] = rid & 0xffff;
    f[4 * slot + 3] = (V.DMA_FRCD_F | (reason & 0xff)) >>> 0;
    this.nextRecord = (slot + 1) % this.nfr;
    this.stats.faultsRecorded++;
    if (tr) this.emit({ what: "fault", reason, rid, index, recorded: true, desc: slot, why });
    if (this.pendingRecords++ === 0) {
      this.fri = slot;
      this.faultEvent("primary fault");
    }
    return null;
  }

  protected get fstsValue(): number {
    return (this.fsts | (this.pendingRecords > 0 ? V.DMA_FSTS_PPF : 0) | (this.fri << 8)) >>> 0;
  }

  protected faultEvent(why: string): void {
    if (this.fectl & V.DMA_FECTL_IP) return;
    this.fectl |= V.DMA_FECTL_IP;
    if (!(this.fectl & V.DMA_FECTL_IM)) this.sendFault(why);
    else if (this.platform.sim.trace.on) this.emit({ what: "event", why: `fault event pending (IM): ${why}` });
  }

  protected sendFault(why: string): void {
    this.fectl &= ~V.DMA_FECTL_IP;
    this.post(this.feaddr, this.feuaddr, this.fedata, `fault event: ${why}`);
  }

  /** FECTL.IP clears once every fault condition is cleared. */
  protected faultsCleared(): void {
    if (!(this.fstsValue & (FSTS_W1C | V.DMA_FSTS_PPF))) this.fectl &= ~V.DMA_FECTL_IP;
  }

  protected completionEvent(): void {
    if (this.ics & V.DMA_ICS_IWC) return;
    this.ics |= V.DMA_ICS_IWC;
    this.iectl |= V.DMA_FECTL_IP;
    if (!(this.iectl & V.DMA_FECTL_IM)) this.sendCompletion();
    else if (this.platform.sim.trace.on) this.emit({ what: "event", why: "invalidation event pending (IM)" });
  }

  protected sendCompletion(): void {
    this.iectl &= ~V.DMA_FECTL_IP;
    this.post(this.ieaddr, this.ieuaddr, this.iedata, "invalidation completion event");
  }

  /** Queue one of the unit's own messages; sent from an event so it never nests in the fabric's remap call. */
  private post(addrLo: number, addrHi: number, data: number, why: string): void {
    if (this.platform.sim.trace.on) this.emit({ what: "event", addr: addrLo >>> 0, value: data >>> 0, why });
    this.outbox.push(addrLo >>> 0, addrHi >>> 0, data >>> 0);
    if (this.outbox.length === 3) this.platform.sim.eq.reschedule(this.outEv, this.platform.sim.now);
  }

  private flushOutbox(): void {
    const o = this.outbox.splice(0);
    for (let i = 0; i < o.length; i += 3) this.platform.fabric.receive(VTD_UNIT_RID, o[i]!, o[i + 1]!, o[i + 2]!);
  }
  // The queued-invalidation engine and the register file (VtdUnit, vtd.ts).
  protected abstract step(): void;
  protected abstract mmioRead(off: number, w: AccessWidth): number;
  protected abstract mmioWrite(off: number, v: number, w: AccessWidth): void;
  protected abstract mmioRead64(off: number): bigint;
  protected abstract mmioWrite64(off: number, v: bigint): void;

  protected emit(p: Omit<TraceEventMap["hw.vtd"], "dmar">): void {
    this.platform.sim.trace.emit("hw.vtd", { dmar: this.name, ...p });
  }
}
