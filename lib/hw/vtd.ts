// SPDX-License-Identifier: GPL-2.0-only
// A VT-d-like interrupt-remapping unit (DRHD): the registers, the interrupt
// entry cache and the queued-invalidation engine that
// drivers/iommu/intel/{dmar,irq_remapping}.c program (hardware.md 2, 7.2).
//
// The unit is a 4 KiB register page in the CPU's MMIO map (posted writes, as
// to a PCI function; a read flushes them) and the MSI fabric's remapper: it
// sees every interrupt message first, synchronously, and returns the
// compatibility-format message to deliver or null to block it.
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
// GCMD: the driver writes "status bits it keeps | new command" (iommu->gcmd);
// each of QIE, IRE, CFI that differs from the status (or from a command
// still in flight) takes effect gcmdLatencyNs after the write arrives, and
// only then GSTS changes. SIRTP clears IRTPS on arrival and latches IRTA
// (setting IRTPS) after the latency. IRE without a latched table is ignored.
//
// Queued invalidation: a ring of 256 << IQA.QS 128-bit descriptors. An IQT
// write (with QIES set) starts the engine, which completes one descriptor
// every qiDescLatencyNs from IQH towards IQT: IEC invalidate (4), wait (5:
// SW status write by DMA, IF sets ICS.IWC and sends the IECTL message), and
// context/IOTLB/dev-TLB/PASID types (1,2,3,6,7) as no-ops. An unknown type or
// reserved bits set stop the engine with FSTS.IQE, IQER.IQEI (3: invalid
// type, 4: reserved field; 1: bad tail, 2: memory not reachable, 5:
// unsupported IQA.DW) and IQH AT the bad descriptor until software clears
// IQE. injectIte(sid) makes the next wait descriptor time out: FSTS.ITE,
// IQER.ITESID = sid, every pending descriptor up to IQT is dropped (the
// kernel marks their waits QI_ABORT and resubmits, or gives up with
// -ETIMEDOUT for a SID it does not know), and nothing is fetched until ITE
// is cleared, as qi_check_fault() expects.
//
// Faults go to the 8 (faultRecords) FRCD registers at 0x400 in turn; a full
// slot sets PFO and drops the record. The first record while no F bit is
// set (PPF 0 -> 1), IQE and ITE raise the fault event: FECTL.IP, and the
// FEADDR/FEDATA message unless FECTL.IM (then sent when IM is cleared). The
// unit's own messages (fault and invalidation events, status writes) carry
// VTD_UNIT_RID and bypass remapping.
//
// Not modelled: posted interrupts (CAP.PI = 0, a posted IRTE is malformed),
// x2APIC destinations beyond 8 bits (blocked and traced, not recorded), DMA
// translation (TE, root/context tables, IOTLB, page requests: their
// descriptors are accepted as no-ops), scalable mode and 256-bit
// descriptors, ICE, the advanced fault log, ITESID/ICESID, register-based
// invalidation. The IRTE fetch does not delay delivery (the fabric's hook is
// synchronous); its cost only shows in stats and the trace.

import type { SimEvent } from "../sim/events.ts";
import type { TraceEventMap } from "../sim/trace.ts";
import { SimulatorError } from "../sim/sim.ts";
import { composeCompat, type CompatMessage, type MsiMessage } from "./fabric.ts";
import { unsupportedRequest, type AccessWidth, type MmioOwner, type MmioRegion } from "./mmio.ts";
import type { Platform } from "./platform.ts";
import * as V from "./vtd_regs.ts";
import { VTD_DEFAULT_BASE, VTD_UNIT_RID, type IrTable, type IrteFields, type VtdOptions, type VtdStats } from "./vtd_regs.ts";

export * from "./vtd_regs.ts";

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

const FRCD_BASE = 0x400;
const FSTS_W1C = V.DMA_FSTS_PFO | V.DMA_FSTS_IQE | V.DMA_FSTS_ICE | V.DMA_FSTS_ITE | V.DMA_FSTS_PRO;
const COMMANDS: readonly (readonly [number, number])[] = [
  [V.DMA_GCMD_QIE, V.DMA_GSTS_QIES],
  [V.DMA_GCMD_IRE, V.DMA_GSTS_IRES],
  [V.DMA_GCMD_CFI, V.DMA_GSTS_CFIS],
];
const UNMODELLED_COMMANDS = V.DMA_GCMD_TE | V.DMA_GCMD_SRTP | V.DMA_GCMD_SFL | V.DMA_GCMD_EAFL | V.DMA_GCMD_WBF;
const lo32 = (v: bigint): number => Number(v & 0xffffffffn);
const hi32 = (v: bigint): number => Number((v >> 32n) & 0xffffffffn);
const withLo = (v: bigint, x: number): bigint => (v & ~0xffffffffn) | BigInt(x >>> 0);
const withHi = (v: bigint, x: number): bigint => (v & 0xffffffffn) | (BigInt(x >>> 0) << 32n);

export class VtdUnit implements MmioOwner {
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
  private readonly esirtps: boolean;
  private readonly eim: boolean;
  private readonly mhmv: number;
  private readonly nfr: number;
  private readonly iecCapacity: number;

  private gsts = 0;
  /** Status bit -> value it will take when the GCMD command in flight completes. */
  private readonly pendingCmd = new Map<number, boolean>();
  private fsts = 0;
  private fri = 0;
  private nextRecord = 0;
  private pendingRecords = 0;
  private readonly frcd: Uint32Array;
  private fectl = V.DMA_FECTL_IM;
  private fedata = 0;
  private feaddr = 0;
  private feuaddr = 0;
  private iectl = V.DMA_FECTL_IM;
  private iedata = 0;
  private ieaddr = 0;
  private ieuaddr = 0;
  private ics = 0;
  private iqh = 0;
  private iqt = 0;
  private iqa = 0n;
  private iqer = 0n;
  private irta = 0n;
  private table: IrTable | null = null;
  /** Interrupt entry cache: index -> decoded IRTE, least recently used first. */
  private readonly iec = new Map<number, IrteFields>();
  private readonly fetchEv: SimEvent;
  private fetchBusy = false;
  private iteArmed = false;
  private iteSid = 0;
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
  private invalidate(first: number, count: number, why: string): void {
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

  private get fstsValue(): number {
    return (this.fsts | (this.pendingRecords > 0 ? V.DMA_FSTS_PPF : 0) | (this.fri << 8)) >>> 0;
  }

  private faultEvent(why: string): void {
    if (this.fectl & V.DMA_FECTL_IP) return;
    this.fectl |= V.DMA_FECTL_IP;
    if (!(this.fectl & V.DMA_FECTL_IM)) this.sendFault(why);
    else if (this.platform.sim.trace.on) this.emit({ what: "event", why: `fault event pending (IM): ${why}` });
  }

  private sendFault(why: string): void {
    this.fectl &= ~V.DMA_FECTL_IP;
    this.post(this.feaddr, this.feuaddr, this.fedata, `fault event: ${why}`);
  }

  /** FECTL.IP clears once every fault condition is cleared. */
  private faultsCleared(): void {
    if (!(this.fstsValue & (FSTS_W1C | V.DMA_FSTS_PPF))) this.fectl &= ~V.DMA_FECTL_IP;
  }

  private completionEvent(): void {
    if (this.ics & V.DMA_ICS_IWC) return;
    this.ics |= V.DMA_ICS_IWC;
    this.iectl |= V.DMA_FECTL_IP;
    if (!(this.iectl & V.DMA_FECTL_IM)) this.sendCompletion();
    else if (this.platform.sim.trace.on) this.emit({ what: "event", why: "invalidation event pending (IM)" });
  }

  private sendCompletion(): void {
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

  // ---------------------------------------------------------------- GCMD

  private gcmd(v: number): void {
    const sim = this.platform.sim;
    if (sim.trace.on) this.emit({ what: "gcmd", value: v >>> 0 });
    for (const [cmd, sts] of COMMANDS) {
      const want = (v & cmd) !== 0;
      const now = this.pendingCmd.get(sts) ?? (this.gsts & sts) !== 0;
      if (want === now) continue;
      this.pendingCmd.set(sts, want);
      sim.eq.after(this.gcmdLatencyNs, () => this.command(sts, want), `${this.name} gcmd`);
    }
    if (v & V.DMA_GCMD_SIRTP) {
      this.gsts &= ~V.DMA_GSTS_IRTPS;
      sim.eq.after(this.gcmdLatencyNs, () => this.latchTable(), `${this.name} sirtp`);
    }
    if (v & UNMODELLED_COMMANDS && sim.trace.on) this.emit({ what: "ignored", value: v >>> 0, why: "DMA-remapping commands are not modelled" });
  }

  private command(sts: number, on: boolean): void {
    this.pendingCmd.delete(sts);
    if (sts === V.DMA_GSTS_IRES && on && !(this.gsts & V.DMA_GSTS_IRTPS)) {
      if (this.platform.sim.trace.on) this.emit({ what: "ignored", why: "IRE set without a latched table (IRTPS clear)" });
      return;
    }
    this.gsts = on ? this.gsts | sts : this.gsts & ~sts;
    if (sts === V.DMA_GSTS_QIES) {
      // The head resets whenever queued invalidation is disabled.
      if (!on) {
        this.iqh = 0;
        this.platform.sim.eq.cancel(this.fetchEv);
        this.fetchBusy = false;
      } else this.kick();
    }
    if (this.platform.sim.trace.on) this.emit({ what: "gsts", value: this.gsts >>> 0 });
  }

  private latchTable(): void {
    const eime = this.eim && (this.irta & BigInt(V.IR_X2APIC_MODE(1))) !== 0n;
    this.table = { base: Number(this.irta & ~0xfffn), entries: 2 ** (Number(this.irta & 0xfn) + 1), eime };
    this.gsts |= V.DMA_GSTS_IRTPS;
    if (this.esirtps) this.invalidate(0, Infinity, "SIRTP with ESIRTPS");
    if (this.platform.sim.trace.on) this.emit({ what: "gsts", value: this.gsts >>> 0, addr: this.table.base, count: this.table.entries });
  }

  // ---------------------------------------------------------------- queued invalidation

  private kick(): void {
    if (this.fetchBusy || !(this.gsts & V.DMA_GSTS_QIES) || this.fsts & (V.DMA_FSTS_IQE | V.DMA_FSTS_ITE) || this.iqh === this.iqt) return;
    this.fetchBusy = true;
    this.platform.sim.eq.reschedule(this.fetchEv, this.platform.sim.now + this.qiDescLatencyNs);
  }

  private step(): void {
    this.fetchBusy = false;
    if (!(this.gsts & V.DMA_GSTS_QIES) || this.fsts & (V.DMA_FSTS_IQE | V.DMA_FSTS_ITE) || this.iqh === this.iqt) return;
    const ringBytes = 4096 << Number(this.iqa & BigInt(V.DMA_IQA_QS_MASK));
    const base = Number(this.iqa & ~0xfffn);
    if (this.iqa & BigInt(V.DMA_IQA_DW)) return this.queueError(V.IQEI_INVALID_DESC_WIDTH, "256-bit descriptors (IQA.DW) are not supported");
    if (this.iqt >= ringBytes) return this.queueError(V.IQEI_INVALID_TAIL, `IQT ${this.iqt.toString(16)} beyond a ${ringBytes}-byte queue`);
    if (!Number.isSafeInteger(base + ringBytes)) return this.queueError(V.IQEI_FETCH_ERROR, "queue beyond the address space");
    const ram = this.platform.ram;
    const qw0 = ram.read64(base + this.iqh);
    const qw1 = ram.read64(base + this.iqh + 8);
    const type = V.qiDescType(qw0);
    if (this.platform.sim.trace.on) this.emit({ what: "qi-desc", index: this.iqh >>> V.DMAR_IQ_SHIFT, desc: type, value: lo32(qw0) });
    if (type === V.QI_IWD_TYPE && this.iteArmed && !(qw0 & V.QI_IWD_RSVD)) {
      this.iteArmed = false;
      // ITESID is captured only while ITE is clear
      if (!(this.fsts & V.DMA_FSTS_ITE)) this.iqer = (this.iqer & ~(0xffffn << 32n)) | (BigInt(this.iteSid) << 32n);
      this.fsts |= V.DMA_FSTS_ITE;
      if (this.platform.sim.trace.on) this.emit({ what: "qi-ite", index: this.iqh >>> V.DMAR_IQ_SHIFT, count: ((this.iqt - this.iqh + ringBytes) % ringBytes) >>> V.DMAR_IQ_SHIFT });
      this.iqh = this.iqt;
      this.faultEvent("invalidation time-out");
      return;
    }
    const err = this.execute(type, qw0, qw1);
    if (err) return this.queueError(err[0], err[1]);
    this.iqh = (this.iqh + 16) % ringBytes;
    this.stats.descriptorsProcessed++;
    this.kick();
  }

  /** Carry out one descriptor; returns the IQEI and why it is invalid, or null. */
  private execute(type: number, qw0: bigint, qw1: bigint): [number, string] | null {
    switch (type) {
      case V.QI_IEC_TYPE: {
        if (qw0 & V.QI_IEC_RSVD || qw1) return [V.IQEI_RSVD_FIELD, "reserved bits set in an IEC invalidation descriptor"];
        if (!(qw0 & V.QI_IEC_SELECTIVE)) {
          this.invalidate(0, Infinity, "global IEC invalidation");
          return null;
        }
        const im = Number((qw0 >> 27n) & 0x1fn);
        if (im > this.mhmv) return [V.IQEI_RSVD_FIELD, `IEC invalidation IM ${im} above ECAP.MHMV ${this.mhmv}`];
        const size = 2 ** im;
        const iidx = Number((qw0 >> 32n) & 0xffffn);
        this.invalidate(iidx - (iidx % size), size, "index-selective IEC invalidation");
        return null;
      }
      case V.QI_IWD_TYPE: {
        if (qw0 & V.QI_IWD_RSVD) return [V.IQEI_RSVD_FIELD, "reserved bits set in a wait descriptor"];
        if (qw0 & V.QI_IWD_STATUS_WRITE) {
          if (qw1 & 3n) return [V.IQEI_RSVD_FIELD, "wait descriptor status address not dword aligned"];
          const addr = Number(qw1);
          if (!Number.isSafeInteger(addr)) return [V.IQEI_FETCH_ERROR, "wait descriptor status address beyond the address space"];
          const data = hi32(qw0);
          if (this.platform.sim.trace.on) this.emit({ what: "status-write", addr, value: data });
          this.platform.dmaWrite(VTD_UNIT_RID, addr, data);
        }
        if (qw0 & V.QI_IWD_IF) this.completionEvent();
        // FN (fence) and PD (page-request drain) hold nothing back here: one descriptor completes at a time.
        return null;
      }
      case V.QI_CC_TYPE:
      case V.QI_IOTLB_TYPE:
      case V.QI_DIOTLB_TYPE:
      case V.QI_EIOTLB_TYPE:
      case V.QI_PC_TYPE:
        return null;
      default:
        return [V.IQEI_INVALID_DESC_TYPE, `invalid descriptor type ${type}`];
    }
  }

  /** Stop the engine with IQH at the offending descriptor. */
  private queueError(iqei: number, why: string): void {
    this.fsts |= V.DMA_FSTS_IQE;
    this.iqer = (this.iqer & ~0xfn) | BigInt(iqei);
    if (this.platform.sim.trace.on) this.emit({ what: "qi-error", index: this.iqh >>> V.DMAR_IQ_SHIFT, why });
    this.faultEvent(`invalidation queue error: ${why}`);
  }

  // ---------------------------------------------------------------- registers

  private mmioRead(off: number, w: AccessWidth): number {
    if (w !== 4 || off % 4) return unsupportedRequest(this.platform.sim, this.name, "regs", "read", off, w, "registers take aligned dwords and qwords");
    return this.read32(off) >>> 0;
  }

  private mmioWrite(off: number, v: number, w: AccessWidth): void {
    if (w !== 4 || off % 4) {
      unsupportedRequest(this.platform.sim, this.name, "regs", "write", off, w, "registers take aligned dwords and qwords");
      return;
    }
    this.write32(off, v >>> 0);
  }

  private mmioRead64(off: number): bigint {
    if (off % 8) {
      unsupportedRequest(this.platform.sim, this.name, "regs", "read", off, 8, "misaligned qword");
      return 0xffffffffffffffffn;
    }
    return BigInt(this.read32(off) >>> 0) | (BigInt(this.read32(off + 4) >>> 0) << 32n);
  }

  /** A qword write lands as its two dwords, low first (what the register semantics below expect). */
  private mmioWrite64(off: number, v: bigint): void {
    if (off % 8) {
      unsupportedRequest(this.platform.sim, this.name, "regs", "write", off, 8, "misaligned qword");
      return;
    }
    this.write32(off, lo32(v));
    this.write32(off + 4, hi32(v));
  }

  private read32(off: number): number {
    if (off >= FRCD_BASE && off < FRCD_BASE + 16 * this.nfr) return this.frcd[(off - FRCD_BASE) >>> 2]!;
    // GCMD is write-only; reserved and unmodelled registers read 0.
    return this.readers.get(off)?.() ?? 0;
  }

  private readonly readers = new Map<number, () => number>([
    [V.DMAR_VER_REG, () => 0x10],
    [V.DMAR_CAP_REG, () => lo32(this.cap)],
    [V.DMAR_CAP_REG + 4, () => hi32(this.cap)],
    [V.DMAR_ECAP_REG, () => lo32(this.ecap)],
    [V.DMAR_ECAP_REG + 4, () => hi32(this.ecap)],
    [V.DMAR_GSTS_REG, () => this.gsts],
    [V.DMAR_FSTS_REG, () => this.fstsValue],
    [V.DMAR_FECTL_REG, () => this.fectl],
    [V.DMAR_FEDATA_REG, () => this.fedata],
    [V.DMAR_FEADDR_REG, () => this.feaddr],
    [V.DMAR_FEUADDR_REG, () => this.feuaddr],
    [V.DMAR_IQH_REG, () => this.iqh],
    [V.DMAR_IQT_REG, () => this.iqt],
    [V.DMAR_IQA_REG, () => lo32(this.iqa)],
    [V.DMAR_IQA_REG + 4, () => hi32(this.iqa)],
    [V.DMAR_ICS_REG, () => this.ics],
    [V.DMAR_IECTL_REG, () => this.iectl],
    [V.DMAR_IEDATA_REG, () => this.iedata],
    [V.DMAR_IEADDR_REG, () => this.ieaddr],
    [V.DMAR_IEUADDR_REG, () => this.ieuaddr],
    [V.DMAR_IQER_REG, () => lo32(this.iqer)],
    [V.DMAR_IQER_REG + 4, () => hi32(this.iqer)],
    [V.DMAR_IRTA_REG, () => lo32(this.irta)],
    [V.DMAR_IRTA_REG + 4, () => hi32(this.irta)],
  ]);

  private write32(off: number, v: number): void {
    if (off >= FRCD_BASE && off < FRCD_BASE + 16 * this.nfr) {
      const i = (off - FRCD_BASE) >>> 2;
      // Only F (bit 127) is writable: RW1C.
      if ((i & 3) === 3 && v & V.DMA_FRCD_F && this.frcd[i]! & V.DMA_FRCD_F) {
        this.frcd[i] = this.frcd[i]! & ~V.DMA_FRCD_F;
        this.pendingRecords--;
        this.faultsCleared();
      }
      return;
    }
    this.writers.get(off)?.(v); // read-only, reserved and unmodelled registers ignore writes
  }

  private readonly writers = new Map<number, (v: number) => void>([
    [V.DMAR_GCMD_REG, (v) => this.gcmd(v)],
    [V.DMAR_FSTS_REG, (v) => {
      const clear = v & FSTS_W1C & this.fsts;
      this.fsts &= ~clear;
      this.faultsCleared();
      if (clear & (V.DMA_FSTS_IQE | V.DMA_FSTS_ITE)) this.kick();
    }],
    [V.DMAR_FECTL_REG, (v) => {
      const unmask = (this.fectl & V.DMA_FECTL_IM) !== 0 && !(v & V.DMA_FECTL_IM);
      this.fectl = (this.fectl & V.DMA_FECTL_IP) | (v & V.DMA_FECTL_IM);
      if (unmask && this.fectl & V.DMA_FECTL_IP) this.sendFault("unmasked with IP set");
    }],
    [V.DMAR_FEDATA_REG, (v) => void (this.fedata = v)],
    [V.DMAR_FEADDR_REG, (v) => void (this.feaddr = v & ~3)],
    [V.DMAR_FEUADDR_REG, (v) => void (this.feuaddr = v)],
    [V.DMAR_IQT_REG, (v) => {
      this.iqt = v & 0x7fff0;
      if (!(this.gsts & V.DMA_GSTS_QIES) && this.platform.sim.trace.on) this.emit({ what: "ignored", value: this.iqt, why: "IQT written while queued invalidation is off" });
      this.kick();
    }],
    // IQA: bits 10:3 reserved; IRTA: bits 10:4 reserved, EIME reserved (reads 0) without ECAP.EIM.
    [V.DMAR_IQA_REG, (v) => void (this.iqa = withLo(this.iqa, v & ~0x7f8))],
    [V.DMAR_IQA_REG + 4, (v) => void (this.iqa = withHi(this.iqa, v))],
    [V.DMAR_ICS_REG, (v) => {
      if (!(v & this.ics & V.DMA_ICS_IWC)) return;
      this.ics &= ~V.DMA_ICS_IWC;
      this.iectl &= ~V.DMA_FECTL_IP;
    }],
    [V.DMAR_IECTL_REG, (v) => {
      const unmask = (this.iectl & V.DMA_FECTL_IM) !== 0 && !(v & V.DMA_FECTL_IM);
      this.iectl = (this.iectl & V.DMA_FECTL_IP) | (v & V.DMA_FECTL_IM);
      if (unmask && this.iectl & V.DMA_FECTL_IP) this.sendCompletion();
    }],
    [V.DMAR_IEDATA_REG, (v) => void (this.iedata = v)],
    [V.DMAR_IEADDR_REG, (v) => void (this.ieaddr = v & ~3)],
    [V.DMAR_IEUADDR_REG, (v) => void (this.ieuaddr = v)],
    [V.DMAR_IRTA_REG, (v) => void (this.irta = withLo(this.irta, v & ~0x7f0 & ~(this.eim ? 0 : V.IR_X2APIC_MODE(1))))],
    [V.DMAR_IRTA_REG + 4, (v) => void (this.irta = withHi(this.irta, v))],
  ]);

  private emit(p: Omit<TraceEventMap["hw.vtd"], "dmar">): void {
    this.platform.sim.trace.emit("hw.vtd", { dmar: this.name, ...p });
  }
}
