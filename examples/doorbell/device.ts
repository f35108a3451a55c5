// SPDX-License-Identifier: GPL-2.0-only
// A tiny "doorbell interrupt controller": a PCI function whose BAR0 holds an
// array of interrupt slots, each with its own MSI message and a mask bit,
// in the style of an IMS array. A device model (the hardware side of the
// example): it only reacts to MMIO and its back door, never calls kernel code.
//
// BAR0 (4 KiB):
//   slot k at 16 * k (k < slots):
//     +0x0 ADDR_LO  RW
//     +0x4 ADDR_HI  RW
//     +0x8 DATA     RW
//     +0xc CTRL     bit 0 MASK (RW, set at reset), bit 1 PENDING (RO)
//   0x800 DOORBELL  WO  writing k raises slot k (as the back door does)
//   0x804 RESEND    WO  writing k sends slot k's message if it is pending and unmasked
//
// A raise on a masked slot sets PENDING. Unlike MSI-X, unmasking does NOT
// send the pending message by itself: software has to write RESEND. That is
// the design decision a chip for this device must get right.

import { BarLayout, unsupportedRequest, type MmioHandler } from "../../lib/hw/mmio.ts";
import { PciFunction } from "../../lib/hw/pci.ts";
import type { Platform } from "../../lib/hw/platform.ts";
import { SimulatorError } from "../../lib/sim/sim.ts";

export const DOORBELL_VENDOR_ID = 0x1b36;
/** Not a real device ID: the irqlab example doorbell controller. */
export const DOORBELL_DEVICE_ID = 0xdb01;
export const DOORBELL_BAR0_SIZE = 0x1000;
export const DOORBELL_SLOT_SIZE = 16;
export const DOORBELL_SLOT_ADDR_LO = 0x0;
export const DOORBELL_SLOT_ADDR_HI = 0x4;
export const DOORBELL_SLOT_DATA = 0x8;
export const DOORBELL_SLOT_CTRL = 0xc;
export const DOORBELL_CTRL_MASK = 1 << 0;
export const DOORBELL_CTRL_PENDING = 1 << 1;
export const DOORBELL_REG_DOORBELL = 0x800;
export const DOORBELL_REG_RESEND = 0x804;
export const DOORBELL_MAX_SLOTS = 0x800 / DOORBELL_SLOT_SIZE;

export interface DoorbellOptions {
  bdf: string;
  /** Interrupt slots, 1..128 (default 4). */
  slots?: number;
}

export interface DoorbellSlot {
  addrLo: number;
  addrHi: number;
  data: number;
  masked: boolean;
  pending: boolean;
}

export class DoorbellDevice extends PciFunction {
  readonly slots: number;
  private readonly regs: Uint32Array;
  /** Messages sent per slot (for tests). */
  readonly sent: number[];

  constructor(platform: Platform, opts: DoorbellOptions) {
    const layout = new BarLayout(platform.sim, opts.bdf);
    super(platform, {
      bdf: opts.bdf,
      vendorId: DOORBELL_VENDOR_ID,
      deviceId: DOORBELL_DEVICE_ID,
      classCode: 0x088000,
      bars: [{ index: 0, size: DOORBELL_BAR0_SIZE, handler: layout }],
    });
    const n = opts.slots ?? 4;
    if (!(Number.isInteger(n) && n >= 1 && n <= DOORBELL_MAX_SLOTS)) throw new SimulatorError(`doorbell: slots must be 1..${DOORBELL_MAX_SLOTS}, got ${n}`);
    this.slots = n;
    this.regs = new Uint32Array(n * 4);
    this.sent = new Array<number>(n).fill(0);
    this.resetSlots();
    layout.add(0, n * DOORBELL_SLOT_SIZE, "slots", this.slotHandler).add(DOORBELL_REG_DOORBELL, 8, "doorbell", this.doorbellHandler);
  }

  private resetSlots(): void {
    this.regs.fill(0);
    for (let k = 0; k < this.slots; k++) this.regs[k * 4 + 3] = DOORBELL_CTRL_MASK;
  }

  override flr(): void {
    super.flr();
    this.resetSlots();
  }

  /** Back door: slot `k` has an interrupt condition. */
  raise(k: number): "sent" | "pending" {
    this.check(k);
    const ctrl = this.regs[k * 4 + 3]!;
    if (ctrl & DOORBELL_CTRL_MASK) {
      this.regs[k * 4 + 3] = ctrl | DOORBELL_CTRL_PENDING;
      return "pending";
    }
    this.send(k);
    return "sent";
  }

  /** Back door: the state of slot `k` as the device holds it. */
  slot(k: number): DoorbellSlot {
    this.check(k);
    const r = this.regs;
    return {
      addrLo: r[k * 4]!,
      addrHi: r[k * 4 + 1]!,
      data: r[k * 4 + 2]!,
      masked: (r[k * 4 + 3]! & DOORBELL_CTRL_MASK) !== 0,
      pending: (r[k * 4 + 3]! & DOORBELL_CTRL_PENDING) !== 0,
    };
  }

  private check(k: number): void {
    if (!(Number.isInteger(k) && k >= 0 && k < this.slots)) throw new SimulatorError(`doorbell ${this.bdf}: no slot ${k} (it has ${this.slots})`);
  }

  private send(k: number): void {
    const r = this.regs;
    this.sent[k]!++;
    this.emitMsi(r[k * 4]!, r[k * 4 + 1]!, r[k * 4 + 2]!);
  }

  private readonly slotHandler: MmioHandler = {
    read: (off, width) => {
      if (width !== 4 || off % 4) return unsupportedRequest(this.host.sim, this.bdf, "slots", "read", off, width, "slots take aligned dwords");
      return this.regs[off >>> 2]!;
    },
    write: (off, value, width) => {
      if (width !== 4 || off % 4) {
        unsupportedRequest(this.host.sim, this.bdf, "slots", "write", off, width, "slots take aligned dwords");
        return;
      }
      const i = off >>> 2;
      if ((i & 3) === 3) {
        // PENDING is read-only
        this.regs[i] = (this.regs[i]! & DOORBELL_CTRL_PENDING) | (value & DOORBELL_CTRL_MASK);
      } else {
        this.regs[i] = value >>> 0;
      }
    },
  };

  private readonly doorbellHandler: MmioHandler = {
    read: (off, width) => unsupportedRequest(this.host.sim, this.bdf, "doorbell", "read", off, width, "write-only register"),
    write: (off, value, width) => {
      if (width !== 4 || value >= this.slots) {
        unsupportedRequest(this.host.sim, this.bdf, "doorbell", "write", off, width, `no slot ${value}`);
        return;
      }
      if (off === 0) {
        this.raise(value);
        return;
      }
      const ctrl = this.regs[value * 4 + 3]!;
      if (ctrl & DOORBELL_CTRL_PENDING && !(ctrl & DOORBELL_CTRL_MASK)) {
        this.regs[value * 4 + 3] = ctrl & ~DOORBELL_CTRL_PENDING;
        this.send(value);
      }
    },
  };
}
