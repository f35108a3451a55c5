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
// The remap pipeline, the interrupt entry cache and fault recording are in
// vtd_remap.ts (VtdRemapUnit, which VtdUnit extends).
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
// Not modelled: posted interrupts (CAP.PI = 0, a posted IRTE is malformed),
// x2APIC destinations beyond 8 bits (blocked and traced, not recorded), DMA
// translation (TE, root/context tables, IOTLB, page requests: their
// descriptors are accepted as no-ops), scalable mode and 256-bit
// descriptors, ICE, the advanced fault log, ITESID/ICESID, register-based
// invalidation. The IRTE fetch does not delay delivery (the fabric's hook is
// synchronous); its cost only shows in stats and the trace.

import { unsupportedRequest, type AccessWidth } from "./mmio.ts";
import * as V from "./vtd_regs.ts";
import { VTD_UNIT_RID } from "./vtd_regs.ts";
import { FRCD_BASE, FSTS_W1C, hi32, lo32, VtdRemapUnit } from "./vtd_remap.ts";

export * from "./vtd_regs.ts";

const COMMANDS: readonly (readonly [number, number])[] = [
  [V.DMA_GCMD_QIE, V.DMA_GSTS_QIES],
  [V.DMA_GCMD_IRE, V.DMA_GSTS_IRES],
  [V.DMA_GCMD_CFI, V.DMA_GSTS_CFIS],
];
const UNMODELLED_COMMANDS = V.DMA_GCMD_TE | V.DMA_GCMD_SRTP | V.DMA_GCMD_SFL | V.DMA_GCMD_EAFL | V.DMA_GCMD_WBF;
const withLo = (v: bigint, x: number): bigint => (v & ~0xffffffffn) | BigInt(x >>> 0);
const withHi = (v: bigint, x: number): bigint => (v & 0xffffffffn) | (BigInt(x >>> 0) << 32n);

export class VtdUnit extends VtdRemapUnit {
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

  protected step(): void {
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

  protected mmioRead(off: number, w: AccessWidth): number {
    if (w !== 4 || off % 4) return unsupportedRequest(this.platform.sim, this.name, "regs", "read", off, w, "registers take aligned dwords and qwords");
    return this.read32(off) >>> 0;
  }

  protected mmioWrite(off: number, v: number, w: AccessWidth): void {
    if (w !== 4 || off % 4) {
      unsupportedRequest(this.platform.sim, this.name, "regs", "write", off, w, "registers take aligned dwords and qwords");
      return;
    }
    this.write32(off, v >>> 0);
  }

  protected mmioRead64(off: number): bigint {
    if (off % 8) {
      unsupportedRequest(this.platform.sim, this.name, "regs", "read", off, 8, "misaligned qword");
      return 0xffffffffffffffffn;
    }
    return BigInt(this.read32(off) >>> 0) | (BigInt(this.read32(off + 4) >>> 0) << 32n);
  }

  /** A qword write lands as its two dwords, low first (what the register semantics below expect). */
  protected mmioWrite64(off: number, v: bigint): void {
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
}
