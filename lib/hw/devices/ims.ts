// SPDX-License-Identifier: GPL-2.0-only
// An IMS array device: an idxd-like PCI function whose interrupt messages
// live in an Interrupt Message Store in device memory (hardware.md 1.3, 1.4,
// 7.4), with work queues whose descriptors complete through IMS slots.
//
// BAR0 (registers at the offsets of drivers/dma/idxd/registers.h):
//   0x00 VERSION  RO  0x100 (DEVICE_VERSION_1)
//   0x10 GENCAP   RO  64-bit; max_ims_mult in bits 30:25 (IMS slots = mult x 256)
//   0x20 WQCAP    RO  64-bit; total_wq_size 15:0, num_wqs 23:16
//   0x60 OFFSETS  RO  128-bit; ims in bits 63:48, in units of 0x100 (IDXD_TABLE_MULT)
//   IMS table at OFFSETS.ims x 0x100: 16-byte slots {address_lo, address_hi, data, ctrl}
// BAR2: one 4 KiB portal per work queue (IDXD_WQ_BAR). A 64-bit write at
// offset 0 hands the device the bus address of a 64-byte descriptor in the
// layout of struct dsa_hw_desc. A real DSA takes the descriptor itself
// (MOVDIR64B/ENQCMD, a 64-byte atomic write irqlab's MMIO map does not carry);
// the device here DMA-reads it instead, at the portal write's arrival.
//
// ctrl (all registers and slots take aligned dwords; anything else is an
// unsupported request):
//   bit 0      "idxd" polarity: MASK (set = masked, MSI-X's sense, reset 1);
//              "rfc2020" polarity: UNMASK (set = unmasked, reset 0)
//   bit 1      irqlab knob `pendingStatus`: the pending latch as software
//              sees it ("hidden": reads 0; "ro"; "rw1c": writing 1 discards
//              the latched interrupt; "rw": the written value replaces it)
//   bit 3      PASID enable, bits 31:12 PASID (when `pasid` is on; else RsvdZ)
// A slot raised while masked is latched and sent once on unmask ("latch"),
// or dropped ("drop"): IMS has no standard PBA. Messages carry the
// function's requester ID, and the PASID when bit 3 is set.
//
// Descriptors (struct dsa_hw_desc, include/uapi/linux/idxd.h): opcode NOOP
// completes with DSA_COMP_SUCCESS, any other with DSA_COMP_BAD_OPCODE.
// With IDXD_OP_FLAG_CRAV the 32-byte completion record is written; with
// IDXD_OP_FLAG_RCI the slot named by int_handle is raised after the record
// (PCIe orders the two posted writes). irqlab takes int_handle as the IMS
// slot index: the REQUEST_INT_HANDLE command that hands out handles on a
// real DSA is not modelled. Each queue runs its descriptors in order,
// `opLatencyNs` each. There is no MSI-X capability: a real idxd's misc
// (error, command) vector 0 is not modelled, every interrupt is an IMS
// slot. The model never calls kernel code.

import type { SimEvent } from "../../sim/events.ts";
import type { Sim } from "../../sim/sim.ts";
import { SimulatorError } from "../../sim/sim.ts";
import { BarLayout, unsupportedRequest, type MmioHandler } from "../mmio.ts";
import { PciFunction } from "../pci.ts";
import type { Platform } from "../platform.ts";

declare module "../../sim/trace.ts" {
  interface TraceEventMap {
    /**
     * IMS device events. slot = IMS index, wq = work queue. "emit": a message
     * sent for a raise on an unmasked slot; "pending-emit": a latched one sent
     * on unmask; "latch"/"drop": raised while masked; "discard": software
     * cleared a latched interrupt through the pendingStatus bit; "blocked":
     * bus mastering off; "ctrl": a ctrl write arrived (value = ctrl after
     * it); "write-unmasked": address or data written while the slot could
     * fire; "submit"/"complete": a descriptor.
     */
    "hw.ims": {
      bdf: string;
      what: "emit" | "pending-emit" | "latch" | "drop" | "discard" | "blocked" | "ctrl" | "write-unmasked" | "submit" | "complete";
      slot?: number;
      wq?: number;
      value?: number;
      addrLo?: number;
      addrHi?: number;
      data?: number;
      pasid?: number;
      status?: number;
    };
  }
}

/** Not a real device ID: irqlab's IMS array device. */
export const IMSDEV_VENDOR_ID = 0x1b36;
export const IMSDEV_DEVICE_ID = 0x7e5d;
export const IMSDEV_VERSION = 0x100;
/** Where the IMS table starts in BAR0; OFFSETS.ims reads this / 0x100. */
export const IMSDEV_IMS_OFFSET = 0x1000;
export const IMSDEV_REGS_SIZE = 0x100;
export const IMSDEV_PORTAL_SIZE = 0x1000;
export const IMS_SLOT_SIZE = 16;
export const IMS_SLOT_ADDR_LO = 0x0;
export const IMS_SLOT_ADDR_HI = 0x4;
export const IMS_SLOT_DATA = 0x8;
export const IMS_SLOT_CTRL = 0xc;
/** ctrl bit 0: MASK ("idxd") or UNMASK ("rfc2020"). */
export const IMS_CTRL_VECTOR_BIT = 0x1;
/** ctrl bit 1: the pending latch, when `pendingStatus` shows it. */
export const IMS_CTRL_PENDING = 0x2;
export const IMS_CTRL_PASID_ENABLE = 0x8;
export const IMS_CTRL_PASID_SHIFT = 12;
const IMS_CTRL_PASID_MASK = 0xfffff000;
const REG_VERSION = 0x00;
const REG_GENCAP = 0x10;
const REG_WQCAP = 0x20;
const REG_OFFSETS = 0x60;
const GENCAP_MAX_IMS_MULT_SHIFT = 25;
/* include/uapi/linux/idxd.h */
const IDXD_OP_FLAG_CRAV = 0x0004;
const IDXD_OP_FLAG_RCI = 0x0010;
const DSA_OPCODE_NOOP = 0;
const DSA_COMP_SUCCESS = 1;
const DSA_COMP_BAD_OPCODE = 0x10;
const DSA_COMP_INT_HANDLE_INVAL = 0x19;
const DSA_DESC_SIZE = 64;
const DSA_COMPLETION_RECORD_SIZE = 32;

export type ImsPolarity = "idxd" | "rfc2020";
export type ImsPending = "latch" | "drop";
export type ImsPendingStatus = "hidden" | "ro" | "rw1c" | "rw";

export interface ImsDeviceOptions {
  bdf: string;
  /** IMS slots: a multiple of 256 up to 63 x 256 (GENCAP.max_ims_mult x 256). Default 256. */
  slots?: number;
  /** Work queues, 1..64 (one portal each). Default 4. */
  wqs?: number;
  /** Meaning of ctrl bit 0 (default "idxd": set = masked). */
  polarity?: ImsPolarity;
  /** PASID-tagged messages: ctrl bit 3 and bits 31:12 implemented (default true). */
  pasid?: boolean;
  /** A raise while the slot is masked: sent once on unmask, or dropped (default "latch"). */
  pending?: ImsPending;
  /** How the latch shows in ctrl bit 1 (default "hidden"). */
  pendingStatus?: ImsPendingStatus;
  /** From a descriptor's arrival to its completion, in ns (default 2000). */
  opLatencyNs?: number;
}

export interface ImsSlotCounters {
  /** Interrupt conditions raised for the slot. */
  raised: number;
  /** Messages sent (including latched ones sent on unmask). */
  emitted: number;
  /** Raises latched because the slot was masked. */
  latched: number;
  /** Raises dropped because the slot was masked ("drop"). */
  dropped: number;
  /** Latched interrupts that a software write of ctrl bit 1 threw away. */
  discarded: number;
  /** Messages refused because bus mastering was off. */
  blocked: number;
}

export interface ImsSlotState {
  addrLo: number;
  addrHi: number;
  data: number;
  /** ctrl as software reads it */
  ctrl: number;
  masked: boolean;
  pending: boolean;
}

interface Wq {
  busyUntil: number;
  events: Set<SimEvent>;
  submitted: number;
  completed: number;
}

export class ImsDevice extends PciFunction {
  readonly slots: number;
  readonly wqs: number;
  readonly polarity: ImsPolarity;
  readonly pasidSupported: boolean;
  pending: ImsPending;
  pendingStatus: ImsPendingStatus;
  opLatencyNs: number;
  private readonly table: Uint32Array;
  private readonly latchedBits: Uint8Array;
  private readonly sim: Sim;
  private readonly queues: Wq[];
  private readonly st: { [K in keyof ImsSlotCounters]: Float64Array };
  /** Address or data writes to a slot that could fire at the time. */
  writesWhileUnmasked = 0;

  constructor(
    readonly platform: Platform,
    opts: ImsDeviceOptions,
  ) {
    const slots = opts.slots ?? 256;
    if (!Number.isInteger(slots) || slots < 256 || slots > 63 * 256 || slots % 256) {
      throw new SimulatorError(`irqlab: ${opts.bdf}: IMS slots must be a multiple of 256 in 256..16128 (GENCAP.max_ims_mult x 256), got ${String(slots)}`);
    }
    const wqs = opts.wqs ?? 4;
    if (!Number.isInteger(wqs) || wqs < 1 || wqs > 64) throw new SimulatorError(`irqlab: ${opts.bdf}: work queues must be 1..64, got ${String(wqs)}`);
    const opLatencyNs = opts.opLatencyNs ?? 2000;
    if (!(opLatencyNs >= 0)) throw new SimulatorError(`irqlab: ${opts.bdf}: opLatencyNs must be >= 0`);
    const bar0Size = 2 ** Math.ceil(Math.log2(Math.max(0x10000, IMSDEV_IMS_OFFSET + slots * IMS_SLOT_SIZE)));
    const bar2Size = 2 ** Math.ceil(Math.log2(wqs * IMSDEV_PORTAL_SIZE));
    const bar0 = new BarLayout(platform.sim, opts.bdf);
    const bar2 = new BarLayout(platform.sim, opts.bdf);
    super(platform, {
      bdf: opts.bdf,
      vendorId: IMSDEV_VENDOR_ID,
      deviceId: IMSDEV_DEVICE_ID,
      // base class 08 (system peripheral), subclass 80 (other), as DSA
      classCode: 0x088000,
      bars: [
        { index: 0, size: bar0Size, handler: bar0 },
        { index: 2, size: bar2Size, handler: bar2 },
      ],
    });
    this.sim = platform.sim;
    this.slots = slots;
    this.wqs = wqs;
    this.polarity = opts.polarity ?? "idxd";
    this.pasidSupported = opts.pasid ?? true;
    this.pending = opts.pending ?? "latch";
    this.pendingStatus = opts.pendingStatus ?? "hidden";
    this.opLatencyNs = opLatencyNs;
    this.table = new Uint32Array(slots * 4);
    this.latchedBits = new Uint8Array(slots);
    this.st = {
      raised: new Float64Array(slots),
      emitted: new Float64Array(slots),
      latched: new Float64Array(slots),
      dropped: new Float64Array(slots),
      discarded: new Float64Array(slots),
      blocked: new Float64Array(slots),
    };
    this.queues = Array.from({ length: wqs }, () => ({ busyUntil: 0, events: new Set<SimEvent>(), submitted: 0, completed: 0 }));
    bar0.add(0, IMSDEV_REGS_SIZE, "regs", this.regs).add(IMSDEV_IMS_OFFSET, slots * IMS_SLOT_SIZE, "ims", this.ims);
    bar2.add(0, wqs * IMSDEV_PORTAL_SIZE, "portals", this.portals);
    this.resetSlots();
  }

  // ------------------------------------------------------------ registers

  private regDword(off: number): number {
    switch (off) {
      case REG_VERSION:
        return IMSDEV_VERSION;
      case REG_GENCAP:
        return ((this.slots / 256) << GENCAP_MAX_IMS_MULT_SHIFT) >>> 0;
      case REG_WQCAP:
        // total_wq_size: irqlab queues are unbounded; report 32 entries per queue
        return ((this.wqs << 16) | (this.wqs * 32)) >>> 0;
      case REG_OFFSETS + 4:
        // ims is bits 63:48 of the first qword
        return ((IMSDEV_IMS_OFFSET / 0x100) << 16) >>> 0;
      default:
        return 0;
    }
  }

  private readonly regs: MmioHandler = {
    read: (off, width) => {
      if (width !== 4 || off % 4) return unsupportedRequest(this.sim, this.bdf, "regs", "read", off, width, "registers take aligned dwords");
      return this.regDword(off);
    },
    write: (off, _value, width) => {
      // the capability and offset registers are read-only
      if (width !== 4 || off % 4) unsupportedRequest(this.sim, this.bdf, "regs", "write", off, width, "registers take aligned dwords");
    },
  };

  // ------------------------------------------------------------ IMS table

  private resetCtrl(): number {
    return this.polarity === "idxd" ? IMS_CTRL_VECTOR_BIT : 0;
  }

  private isMasked(k: number): boolean {
    const bit = (this.table[k * 4 + 3]! & IMS_CTRL_VECTOR_BIT) !== 0;
    return this.polarity === "idxd" ? bit : !bit;
  }

  private readCtrl(k: number): number {
    const v = this.table[k * 4 + 3]!;
    return (this.pendingStatus !== "hidden" && this.latchedBits[k] ? v | IMS_CTRL_PENDING : v) >>> 0;
  }

  private get ctrlWriteMask(): number {
    return (IMS_CTRL_VECTOR_BIT | (this.pasidSupported ? IMS_CTRL_PASID_ENABLE | IMS_CTRL_PASID_MASK : 0)) >>> 0;
  }

  private readonly ims: MmioHandler = {
    read: (off, width) => {
      if (width !== 4 || off % 4) return unsupportedRequest(this.sim, this.bdf, "ims", "read", off, width, "IMS slots take aligned dwords");
      const k = Math.floor(off / IMS_SLOT_SIZE);
      const w = (off % IMS_SLOT_SIZE) / 4;
      return w === 3 ? this.readCtrl(k) : this.table[k * 4 + w]!;
    },
    write: (off, value, width) => {
      if (width !== 4 || off % 4) {
        unsupportedRequest(this.sim, this.bdf, "ims", "write", off, width, "IMS slots take aligned dwords");
        return;
      }
      const k = Math.floor(off / IMS_SLOT_SIZE);
      const w = (off % IMS_SLOT_SIZE) / 4;
      if (w === 3) {
        this.writeCtrl(k, value >>> 0);
        return;
      }
      if (!this.isMasked(k)) {
        this.writesWhileUnmasked++;
        if (this.sim.trace.on) this.sim.trace.emit("hw.ims", { bdf: this.bdf, what: "write-unmasked", slot: k, value: value >>> 0 });
      }
      this.table[k * 4 + w] = value >>> 0;
    },
  };

  private writeCtrl(k: number, v: number): void {
    const m = this.ctrlWriteMask;
    this.table[k * 4 + 3] = ((this.table[k * 4 + 3]! & ~m) | (v & m)) >>> 0;
    if (this.latchedBits[k]) {
      // a write that names bit 1 discards the latch ("rw1c": writing 1, "rw": writing 0)
      const discard = (this.pendingStatus === "rw1c" && v & IMS_CTRL_PENDING) || (this.pendingStatus === "rw" && !(v & IMS_CTRL_PENDING));
      if (discard) {
        this.latchedBits[k] = 0;
        this.st.discarded[k]!++;
        if (this.sim.trace.on) this.sim.trace.emit("hw.ims", { bdf: this.bdf, what: "discard", slot: k });
      }
    } else if (this.pendingStatus === "rw" && v & IMS_CTRL_PENDING) {
      // software sets the latch: sent on unmask
      this.latchedBits[k] = 1;
    }
    if (this.sim.trace.on) this.sim.trace.emit("hw.ims", { bdf: this.bdf, what: "ctrl", slot: k, value: this.readCtrl(k) });
    if (this.latchedBits[k] && !this.isMasked(k)) {
      this.latchedBits[k] = 0;
      this.send(k, "pending-emit");
    }
  }

  private send(k: number, what: "emit" | "pending-emit"): void {
    const lo = this.table[k * 4]!;
    const hi = this.table[k * 4 + 1]!;
    const data = this.table[k * 4 + 2]!;
    const ctrl = this.table[k * 4 + 3]!;
    const pasid = this.pasidSupported && ctrl & IMS_CTRL_PASID_ENABLE ? ctrl >>> IMS_CTRL_PASID_SHIFT : -1;
    if (!this.busMaster) {
      this.st.blocked[k]!++;
      if (this.sim.trace.on) this.sim.trace.emit("hw.ims", { bdf: this.bdf, what: "blocked", slot: k });
    } else {
      this.st.emitted[k]!++;
      if (this.sim.trace.on) {
        const ev = { bdf: this.bdf, what, slot: k, addrLo: lo, addrHi: hi, data };
        this.sim.trace.emit("hw.ims", pasid >= 0 ? { ...ev, pasid } : ev);
      }
    }
    // refused without bus mastering (the function counts that itself)
    this.emitMsi(lo, hi, data, pasid);
  }

  private checkSlot(k: number): void {
    if (!(Number.isInteger(k) && k >= 0 && k < this.slots)) throw new SimulatorError(`irqlab: ${this.bdf}: no IMS slot ${k} (the device has ${this.slots})`);
  }

  /** Back door: slot `k` has an interrupt condition (what a completion with RCI does). */
  raise(k: number): void {
    this.checkSlot(k);
    this.st.raised[k]!++;
    if (!this.isMasked(k)) {
      this.send(k, "emit");
      return;
    }
    if (this.pending === "latch") {
      this.latchedBits[k] = 1;
      this.st.latched[k]!++;
      if (this.sim.trace.on) this.sim.trace.emit("hw.ims", { bdf: this.bdf, what: "latch", slot: k });
    } else {
      this.st.dropped[k]!++;
      if (this.sim.trace.on) this.sim.trace.emit("hw.ims", { bdf: this.bdf, what: "drop", slot: k });
    }
  }

  /** Back door: raise slot `k` `delayNs` from now (an event inside the device). */
  raiseAfter(k: number, delayNs: number): SimEvent {
    this.checkSlot(k);
    return this.sim.eq.after(Math.max(0, delayNs), () => this.raise(k), `${this.bdf} ims raise ${k}`);
  }

  /** The slot as the device holds it (inspection back door). */
  slot(k: number): ImsSlotState {
    this.checkSlot(k);
    return {
      addrLo: this.table[k * 4]!,
      addrHi: this.table[k * 4 + 1]!,
      data: this.table[k * 4 + 2]!,
      ctrl: this.readCtrl(k),
      masked: this.isMasked(k),
      pending: this.latchedBits[k] !== 0,
    };
  }

  counters(k: number): ImsSlotCounters {
    this.checkSlot(k);
    const s = this.st;
    return {
      raised: s.raised[k]!,
      emitted: s.emitted[k]!,
      latched: s.latched[k]!,
      dropped: s.dropped[k]!,
      discarded: s.discarded[k]!,
      blocked: s.blocked[k]!,
    };
  }

  // ------------------------------------------------------------ work queues

  private readonly portals: MmioHandler = {
    read: (off, width) => unsupportedRequest(this.sim, this.bdf, "portal", "read", off, width, "portals are write-only"),
    write: (off, _value, width) => {
      unsupportedRequest(this.sim, this.bdf, "portal", "write", off, width, "a portal takes one 64-bit write of a descriptor address");
    },
    read64: (off) => {
      unsupportedRequest(this.sim, this.bdf, "portal", "read", off, 8, "portals are write-only");
      return 0xffffffffffffffffn;
    },
    write64: (off, value) => {
      if (off % IMSDEV_PORTAL_SIZE) {
        unsupportedRequest(this.sim, this.bdf, "portal", "write", off, 8, "a descriptor address goes to offset 0 of a portal");
        return;
      }
      this.submit(Math.floor(off / IMSDEV_PORTAL_SIZE), Number(BigInt.asUintN(64, value)));
    },
  };

  private submit(wq: number, addr: number): void {
    const q = this.queues[wq]!;
    const desc = this.dmaRead(addr, DSA_DESC_SIZE);
    if (this.sim.trace.on) this.sim.trace.emit("hw.ims", { bdf: this.bdf, what: "submit", wq, value: addr % 2 ** 32 });
    // no bus mastering: the fetch is refused and the descriptor never runs
    if (!desc) return;
    q.submitted++;
    const le32 = (o: number): number => (desc[o]! | (desc[o + 1]! << 8) | (desc[o + 2]! << 16) | (desc[o + 3]! << 24)) >>> 0;
    const w1 = le32(4);
    const flags = w1 & 0xffffff;
    const opcode = w1 >>> 24;
    const completionAddr = le32(8) + le32(12) * 2 ** 32;
    const intHandle = desc[36]! | (desc[37]! << 8);
    const start = Math.max(this.sim.now, q.busyUntil);
    q.busyUntil = start + this.opLatencyNs;
    const ev = this.sim.eq.schedule(
      q.busyUntil,
      () => {
        q.events.delete(ev);
        this.complete(wq, opcode, flags, completionAddr, intHandle);
      },
      `${this.bdf} wq${wq} descriptor`,
    );
    q.events.add(ev);
  }

  private complete(wq: number, opcode: number, flags: number, completionAddr: number, intHandle: number): void {
    const q = this.queues[wq]!;
    q.completed++;
    const rci = (flags & IDXD_OP_FLAG_RCI) !== 0;
    let status = opcode === DSA_OPCODE_NOOP ? DSA_COMP_SUCCESS : DSA_COMP_BAD_OPCODE;
    if (rci && intHandle >= this.slots) status = DSA_COMP_INT_HANDLE_INVAL;
    if (flags & IDXD_OP_FLAG_CRAV) {
      const rec = new Uint8Array(DSA_COMPLETION_RECORD_SIZE);
      rec[0] = status;
      this.dmaWrite(completionAddr, rec);
    }
    if (this.sim.trace.on) this.sim.trace.emit("hw.ims", { bdf: this.bdf, what: "complete", wq, status, ...(rci ? { slot: intHandle } : {}) });
    if (rci && status !== DSA_COMP_INT_HANDLE_INVAL) this.raise(intHandle);
  }

  /** Descriptors taken and finished by queue `wq`. */
  queueCounters(wq: number): { submitted: number; completed: number } {
    const q = this.queues[wq];
    if (!q) throw new SimulatorError(`irqlab: ${this.bdf}: no work queue ${wq}`);
    return { submitted: q.submitted, completed: q.completed };
  }

  // ------------------------------------------------------------ reset

  private resetSlots(): void {
    this.table.fill(0);
    const c = this.resetCtrl();
    for (let k = 0; k < this.slots; k++) this.table[k * 4 + 3] = c;
    this.latchedBits.fill(0);
  }

  /** Reset: every slot masked and empty, queued descriptors abandoned. */
  protected override resetDevice(): void {
    this.resetSlots();
    for (const q of this.queues) {
      for (const ev of q.events) this.sim.eq.cancel(ev);
      q.events.clear();
      q.busyUntil = 0;
    }
  }
}

