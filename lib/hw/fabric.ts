// SPDX-License-Identifier: GPL-2.0-only
// The interrupt fabric between PCIe and the local APICs.
//
// An upstream dword write to 0xFEE0_0000..0xFEEF_FFFF is an interrupt
// message, not a memory write. An interrupt-remapping unit, when present,
// sees every message first (`remapper`) and returns a compatibility-format
// message or null (it records its own faults). The fabric then decodes the
// compatibility format and, `deliveryLatencyNs` later, sets the vector in
// the destination APIC's IRR.
//
// Compatibility format (Intel SDM 11.11): address bits 19:12 destination
// APIC ID, bit 3 redirection hint, bit 2 destination mode (1 = logical),
// bit 4 = 0 (1 = remappable format); data bits 7:0 vector, 10:8 delivery
// mode, bit 14 level, bit 15 trigger mode.
//
// Modelled: physical destination mode, fixed and lowest-priority delivery
// (lowest priority to a single physical destination is that destination;
// irqlab does not arbitrate). Logical mode, broadcast, NMI/SMI/INIT/ExtINT
// and the x2APIC extended destination ID (address bits 11:5) are not: such
// messages are dropped and traced, never silently misdelivered.

import type { Sim } from "../sim/sim.ts";
import type { ApicBus, LocalApic } from "./apic.ts";
import { DelayLine } from "./delayline.ts";
import "./trace.ts";

export const MSI_ADDR_BASE = 0xfee00000;
export const MSI_ADDR_DEST_ID_SHIFT = 12;
export const MSI_ADDR_REDIRECTION_HINT = 1 << 3;
export const MSI_ADDR_DEST_MODE_LOGICAL = 1 << 2;
export const MSI_ADDR_REMAPPABLE_FORMAT = 1 << 4;
export const MSI_DATA_DELIVERY_FIXED = 0;
export const MSI_DATA_DELIVERY_LOWPRI = 1;
export const MSI_DATA_DELIVERY_NMI = 4;
export const MSI_DATA_LEVEL_ASSERT = 1 << 14;
export const MSI_DATA_TRIGGER_LEVEL = 1 << 15;

/** Is a write to (addrLo, addrHi) an interrupt message? */
export function isInterruptAddress(addrLo: number, addrHi: number): boolean {
  return addrHi === 0 && addrLo >>> 20 === 0xfee;
}

/** An MSI message as a device sends it. */
export interface MsiMessage {
  addrLo: number;
  addrHi: number;
  data: number;
}

/** A message in compatibility format (address bit 4 clear), what the APICs understand. */
export type CompatMessage = MsiMessage;

/**
 * The interrupt-remapping unit's hook. `msg` is a scratch object owned by the
 * fabric and valid only during the call. Return the compatibility-format
 * message to deliver, or null to block it.
 */
export type Remapper = (msg: Readonly<MsiMessage>, requesterId: number, pasid: number) => CompatMessage | null;

export interface CompatFields {
  dest: number;
  vector: number;
  /** 0 fixed, 1 lowest priority, 4 NMI, ... */
  deliveryMode?: number;
  logical?: boolean;
  redirectionHint?: boolean;
  levelTrigger?: boolean;
  assert?: boolean;
}

/** Compose a compatibility-format message (what arch/x86 __irq_msi_compose_msg() produces). */
export function composeCompat(f: CompatFields): CompatMessage {
  const addrLo =
    (MSI_ADDR_BASE |
      ((f.dest & 0xff) << MSI_ADDR_DEST_ID_SHIFT) |
      (f.redirectionHint ? MSI_ADDR_REDIRECTION_HINT : 0) |
      (f.logical ? MSI_ADDR_DEST_MODE_LOGICAL : 0)) >>>
    0;
  const data =
    ((f.vector & 0xff) |
      (((f.deliveryMode ?? 0) & 7) << 8) |
      (f.assert ?? true ? MSI_DATA_LEVEL_ASSERT : 0) |
      (f.levelTrigger ? MSI_DATA_TRIGGER_LEVEL : 0)) >>>
    0;
  return { addrLo, addrHi: 0, data };
}

export interface FabricTiming {
  /** From the message leaving the device to the IRR bit (default 200 ns). */
  deliveryLatencyNs: number;
}

export class MsiFabric implements ApicBus {
  remapper?: Remapper;
  deliveryLatencyNs: number;
  readonly stats = { received: 0, delivered: 0, dropped: 0, ipis: 0 };
  private readonly line: DelayLine;
  private readonly scratch: MsiMessage = { addrLo: 0, addrHi: 0, data: 0 };

  constructor(
    private readonly sim: Sim,
    private readonly lapics: readonly LocalApic[],
    timing: Partial<FabricTiming> = {},
  ) {
    this.deliveryLatencyNs = timing.deliveryLatencyNs ?? 200;
    this.line = new DelayLine(sim, 4, (d, o) => this.deliver(d[o]!, d[o + 1]!, d[o + 2]!, d[o + 3]!), "msi delivery");
  }

  /** Messages accepted but not yet at their APIC. */
  get inFlight(): number {
    return this.line.length;
  }

  private drop(rid: number, addrLo: number, addrHi: number, data: number, why: string): void {
    this.stats.dropped++;
    if (this.sim.trace.on) this.sim.trace.emit("hw.msi", { what: "drop", rid, addrLo, addrHi, data, why });
  }

  /** An interrupt message from requester `rid` (PASID -1: none). */
  receive(rid: number, addrLo: number, addrHi: number, data: number, pasid = -1): void {
    const sim = this.sim;
    this.stats.received++;
    if (sim.trace.on) {
      if (pasid >= 0) sim.trace.emit("hw.msi", { what: "receive", rid, addrLo, addrHi, data, pasid });
      else sim.trace.emit("hw.msi", { what: "receive", rid, addrLo, addrHi, data });
    }
    let lo = addrLo >>> 0;
    let hi = addrHi >>> 0;
    let d = data >>> 0;
    const remap = this.remapper;
    if (remap) {
      const m = this.scratch;
      m.addrLo = lo;
      m.addrHi = hi;
      m.data = d;
      const out = remap(m, rid, pasid);
      if (!out) {
        this.drop(rid, lo, hi, d, "blocked by the interrupt-remapping unit");
        return;
      }
      lo = out.addrLo >>> 0;
      hi = out.addrHi >>> 0;
      d = out.data >>> 0;
      if (sim.trace.on) sim.trace.emit("hw.msi", { what: "remapped", rid, addrLo: lo, addrHi: hi, data: d });
    }
    if (!isInterruptAddress(lo, hi)) return this.drop(rid, lo, hi, d, "not an interrupt address");
    if (lo & MSI_ADDR_REMAPPABLE_FORMAT) return this.drop(rid, lo, hi, d, remap ? "remapper returned a remappable-format message" : "remappable format without an interrupt-remapping unit");
    if (lo & MSI_ADDR_DEST_MODE_LOGICAL) return this.drop(rid, lo, hi, d, "logical destination mode is not modelled");
    const dlm = (d >>> 8) & 7;
    if (dlm !== MSI_DATA_DELIVERY_FIXED && dlm !== MSI_DATA_DELIVERY_LOWPRI) return this.drop(rid, lo, hi, d, `delivery mode ${dlm} is not modelled`);
    const dest = (lo >>> MSI_ADDR_DEST_ID_SHIFT) & 0xff;
    if (dest >= this.lapics.length) return this.drop(rid, lo, hi, d, `no CPU with APIC ID ${dest}`);
    this.line.push(sim.now + this.deliveryLatencyNs, dest, d & 0xff, (d >>> 15) & 1, rid);
  }

  /** `rid` is -1 for an IPI. */
  private deliver(dest: number, vector: number, trigger: number, rid: number): void {
    this.stats.delivered++;
    if (this.sim.trace.on) this.sim.trace.emit("hw.msi", { what: "deliver", rid, dest, vector });
    this.lapics[dest]!.accept(vector, trigger);
  }

  /** An IPI written to the ICR of APIC `src`; carried with the same latency. */
  ipi(src: number, icrLo: number, icrHi: number): void {
    const sim = this.sim;
    const vector = icrLo & 0xff;
    const dlm = (icrLo >>> 8) & 7;
    const trigger = (icrLo >>> 15) & 1;
    const shorthand = (icrLo >>> 18) & 3;
    const fail = (why: string): void => {
      this.stats.dropped++;
      if (sim.trace.on) sim.trace.emit("hw.apic", { apicId: src, what: "ipi", vector, why });
    };
    if (dlm !== MSI_DATA_DELIVERY_FIXED && dlm !== MSI_DATA_DELIVERY_LOWPRI) return fail(`delivery mode ${dlm} is not modelled`);
    if (shorthand === 0 && icrLo & (1 << 11)) return fail("logical destination mode is not modelled");
    const at = sim.now + this.deliveryLatencyNs;
    const send = (dest: number): void => {
      this.stats.ipis++;
      if (sim.trace.on) sim.trace.emit("hw.apic", { apicId: src, what: "ipi", vector, dest });
      this.line.push(at, dest, vector, trigger, -1);
    };
    if (shorthand === 1) return send(src);
    if (shorthand === 0) {
      const dest = icrHi >>> 24;
      if (dest >= this.lapics.length) return fail(`no CPU with APIC ID ${dest}`);
      return send(dest);
    }
    for (const l of this.lapics) if (shorthand === 2 || l.id !== src) send(l.id);
  }
}
