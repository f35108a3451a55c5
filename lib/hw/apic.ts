// SPDX-License-Identifier: GPL-2.0-only
// The local APIC of one CPU, xAPIC flavour (Intel SDM vol. 3, chapter 11).
//
// Accepted fixed interrupts set a bit in the 256-bit IRR (a second one for a
// vector already in IRR merges with it: edge interrupts coalesce). The CPU
// takes the highest IRR vector whose priority class (vector >> 4) is above
// the processor priority, PPR = max(TPR, highest in-service vector) by class;
// the acknowledge moves it from IRR to ISR. EOI clears the highest ISR bit.
// The local timer is not part of this model (lib/kernel/timer.ts raises it).
//
// Registers are 32-bit at 16-byte aligned offsets; any other access is
// ignored (reads 0) and traced. IPIs are written to the ICR and carried by
// the interrupt fabric like MSI messages.

import type { SimCpu } from "../sim/cpu.ts";
import type { Sim } from "../sim/sim.ts";
import type { AccessWidth } from "./mmio.ts";
import "./trace.ts";

export const APIC_DEFAULT_PHYS_BASE = 0xfee00000;
export const APIC_MMIO_SIZE = 0x1000;
/* Register offsets (arch/x86/include/asm/apicdef.h names). */
export const APIC_ID = 0x20;
export const APIC_LVR = 0x30;
export const APIC_TASKPRI = 0x80;
export const APIC_ARBPRI = 0x90;
export const APIC_PROCPRI = 0xa0;
export const APIC_EOI = 0xb0;
export const APIC_LDR = 0xd0;
export const APIC_DFR = 0xe0;
export const APIC_SPIV = 0xf0;
export const APIC_ISR = 0x100;
export const APIC_TMR = 0x180;
export const APIC_IRR = 0x200;
export const APIC_ESR = 0x280;
export const APIC_ICR = 0x300;
export const APIC_ICR2 = 0x310;
export const APIC_SPIV_APIC_ENABLED = 1 << 8;
export const APIC_ICR_BUSY = 1 << 12;
/** Version 0x14, max LVT entry 5: a modern xAPIC. */
const APIC_VERSION = 0x00050014;
const ESR_SEND_ILLEGAL_VECTOR = 0x20;
const ESR_RECV_ILLEGAL_VECTOR = 0x40;

/** Where the APIC sends IPIs: the interrupt fabric. */
export interface ApicBus {
  ipi(srcApicId: number, icrLo: number, icrHi: number): void;
}

function highest(bits: Uint32Array): number {
  for (let i = 7; i >= 0; i--) {
    const w = bits[i]!;
    if (w !== 0) return i * 32 + 31 - Math.clz32(w);
  }
  return -1;
}

export class LocalApic {
  readonly irr = new Uint32Array(8);
  readonly isr = new Uint32Array(8);
  readonly tmr = new Uint32Array(8);
  tpr = 0;
  /** Reset value: software-disabled, spurious vector 0xff. */
  svr = 0xff;
  esr = 0;
  private esrPending = 0;
  icrLo = 0;
  icrHi = 0;
  ldr = 0;
  dfr = 0xffffffff;
  bus: ApicBus | null = null;
  readonly stats = { accepted: 0, coalesced: 0, acked: 0, spurious: 0, eoi: 0 };

  constructor(
    private readonly sim: Sim,
    readonly cpu: SimCpu,
  ) {}

  /** APIC ID = CPU number. */
  get id(): number {
    return this.cpu.id;
  }

  get enabled(): boolean {
    return (this.svr & APIC_SPIV_APIC_ENABLED) !== 0;
  }

  get spuriousVector(): number {
    return this.svr & 0xff;
  }

  highestIrr(): number {
    return highest(this.irr);
  }

  highestIsr(): number {
    return highest(this.isr);
  }

  isIrr(v: number): boolean {
    return (this.irr[v >>> 5]! & (1 << (v & 31))) !== 0;
  }

  isIsr(v: number): boolean {
    return (this.isr[v >>> 5]! & (1 << (v & 31))) !== 0;
  }

  /** Processor priority: TPR or the in-service class, whichever is higher. */
  ppr(): number {
    const isrv = Math.max(this.highestIsr(), 0);
    return (this.tpr & 0xf0) >= (isrv & 0xf0) ? this.tpr & 0xff : isrv & 0xf0;
  }

  /** A fixed interrupt arrives from the fabric. */
  accept(vector: number, trigger: number): void {
    const sim = this.sim;
    if (!this.enabled) {
      if (sim.trace.on) sim.trace.emit("hw.apic", { apicId: this.id, what: "disabled-drop", vector });
      return;
    }
    if (vector < 16) {
      this.esrPending |= ESR_RECV_ILLEGAL_VECTOR;
      if (sim.trace.on) sim.trace.emit("hw.apic", { apicId: this.id, what: "illegal-vector", vector });
      return;
    }
    const w = vector >>> 5;
    const bit = 1 << (vector & 31);
    if (this.irr[w]! & bit) {
      this.stats.coalesced++;
      if (sim.trace.on) sim.trace.emit("hw.apic", { apicId: this.id, what: "coalesced", vector });
      return;
    }
    this.irr[w] = this.irr[w]! | bit;
    this.tmr[w] = trigger ? this.tmr[w]! | bit : this.tmr[w]! & ~bit;
    this.stats.accepted++;
    if (sim.trace.on) sim.trace.emit("hw.apic", { apicId: this.id, what: "irr", vector });
    sim.kick(this.cpu);
  }

  /** Would the CPU take an interrupt now if its IF flag allowed? */
  deliverable(): boolean {
    const v = this.highestIrr();
    return v >= 0 && (v & 0xf0) > (this.ppr() & 0xf0);
  }

  /**
   * Interrupt acknowledge: the highest deliverable IRR vector moves to ISR and
   * is returned; with none, the spurious vector (which sets no ISR bit).
   */
  inta(): number {
    const v = this.highestIrr();
    const sim = this.sim;
    if (v < 0 || (v & 0xf0) <= (this.ppr() & 0xf0)) {
      this.stats.spurious++;
      if (sim.trace.on) sim.trace.emit("hw.apic", { apicId: this.id, what: "spurious", vector: this.spuriousVector });
      return this.spuriousVector;
    }
    const w = v >>> 5;
    const bit = 1 << (v & 31);
    this.irr[w] = this.irr[w]! & ~bit;
    this.isr[w] = this.isr[w]! | bit;
    this.stats.acked++;
    if (sim.trace.on) sim.trace.emit("hw.apic", { apicId: this.id, what: "inta", vector: v });
    return v;
  }

  /** End of interrupt: retire the highest in-service vector. */
  eoi(): void {
    const v = this.highestIsr();
    const sim = this.sim;
    if (v < 0) {
      if (sim.trace.on) sim.trace.emit("hw.apic", { apicId: this.id, what: "eoi-idle", vector: -1 });
      return;
    }
    this.isr[v >>> 5] = this.isr[v >>> 5]! & ~(1 << (v & 31));
    this.stats.eoi++;
    if (sim.trace.on) sim.trace.emit("hw.apic", { apicId: this.id, what: "eoi", vector: v });
    // A lower-priority vector held back by the one just retired may go now.
    if (this.highestIrr() >= 0) sim.kick(this.cpu);
  }

  reset(): void {
    this.irr.fill(0);
    this.isr.fill(0);
    this.tmr.fill(0);
    this.tpr = 0;
    this.svr = 0xff;
    this.esr = 0;
    this.esrPending = 0;
    this.icrLo = 0;
    this.icrHi = 0;
  }

  private badAccess(off: number, width: number, why: string): void {
    if (this.sim.trace.on) this.sim.trace.emit("hw.apic", { apicId: this.id, what: "bad-access", vector: -1, why: `${why} at 0x${off.toString(16)} width ${width}` });
  }

  /** A register read through the APIC's MMIO page. */
  read(off: number, width: AccessWidth | 8): number {
    if (width !== 4 || off % 16 !== 0) {
      this.badAccess(off, width, "APIC registers take aligned 32-bit accesses");
      return 0;
    }
    if (off >= APIC_ISR && off < APIC_ISR + 0x80) return this.isr[(off - APIC_ISR) >>> 4]!;
    if (off >= APIC_TMR && off < APIC_TMR + 0x80) return this.tmr[(off - APIC_TMR) >>> 4]!;
    if (off >= APIC_IRR && off < APIC_IRR + 0x80) return this.irr[(off - APIC_IRR) >>> 4]!;
    switch (off) {
      case APIC_ID:
        return (this.id << 24) >>> 0;
      case APIC_LVR:
        return APIC_VERSION;
      case APIC_TASKPRI:
        return this.tpr;
      case APIC_PROCPRI:
        return this.ppr();
      case APIC_LDR:
        return this.ldr;
      case APIC_DFR:
        return this.dfr;
      case APIC_SPIV:
        return this.svr;
      case APIC_ESR:
        return this.esr;
      case APIC_ICR:
        return this.icrLo; // delivery status reads idle: the fabric accepts at once
      case APIC_ICR2:
        return this.icrHi;
      default:
        return 0;
    }
  }

  /** A register write through the APIC's MMIO page. */
  write(off: number, value: number, width: AccessWidth | 8): void {
    if (width !== 4 || off % 16 !== 0) {
      this.badAccess(off, width, "APIC registers take aligned 32-bit accesses");
      return;
    }
    value >>>= 0;
    switch (off) {
      case APIC_TASKPRI:
        this.tpr = value & 0xff;
        if (this.deliverable()) this.sim.kick(this.cpu);
        return;
      case APIC_EOI:
        this.eoi();
        return;
      case APIC_LDR:
        this.ldr = value & 0xff000000;
        return;
      case APIC_DFR:
        this.dfr = (value | 0x0fffffff) >>> 0;
        return;
      case APIC_SPIV:
        this.svr = value & 0x11ff;
        return;
      case APIC_ESR:
        // A write loads the errors collected since the last one (SDM 11.5.3).
        this.esr = this.esrPending;
        this.esrPending = 0;
        return;
      case APIC_ICR2:
        this.icrHi = value & 0xff000000;
        return;
      case APIC_ICR: {
        this.icrLo = value & ~APIC_ICR_BUSY;
        const dlm = (value >>> 8) & 7;
        if (dlm <= 1 && (value & 0xff) < 16) {
          this.esrPending |= ESR_SEND_ILLEGAL_VECTOR;
          if (this.sim.trace.on) this.sim.trace.emit("hw.apic", { apicId: this.id, what: "illegal-vector", vector: value & 0xff, why: "IPI" });
          return;
        }
        this.bus?.ipi(this.id, this.icrLo, this.icrHi);
        return;
      }
      default:
        if (off >= APIC_ISR && off < APIC_IRR + 0x80) return; // read-only bitmaps
        if (off === APIC_ID || off === APIC_LVR || off === APIC_PROCPRI || off === APIC_ARBPRI) return;
        // LVT, timer and the rest are not modelled: the write is ignored.
        this.badAccess(off, width, "write to an unmodelled APIC register");
    }
  }
}
