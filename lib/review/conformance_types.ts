// SPDX-License-Identifier: GPL-2.0-only
// The types of the irq_chip conformance suite (conformance.ts), shared by the
// suite, its checks (conformance_checks.ts) and the review command.

import type { Machine } from "../machine.ts";

/** An interrupt message as the device holds it. */
export interface DeviceMessage {
  address_lo: number;
  address_hi: number;
  data: number;
}

/** What a factory hands the suite. */
export interface ChipRig {
  m: Machine;
  /** Linux irq numbers of the device's interrupts: allocated and activated, no handler requested. */
  irqs: readonly number[];
  /** Hardware back door: the device signals interrupt `k` (an index into `irqs`). Callable inside and outside m.run(). */
  raise(k: number): void;
  /** The message the device holds for interrupt `k` (read from the device model), for the compose check. */
  message?(k: number): DeviceMessage;
  /** Release the interrupts (vectors, slots) after their handlers were freed; runs inside m.run(). */
  free(): Promise<void>;
}

export type ChipFactory = () => Promise<ChipRig>;

export interface ConformanceOptions {
  /**
   * When irq_mask() takes effect: "sync" (default, on return, as genirq
   * assumes under desc->lock), { deferredNs } (within that much virtual time),
   * or "lazy": irq_mask()/irq_unmask() only record the state and reach the
   * device at the next irq_bus_sync_unlock() (a slow-bus or queue-backed
   * chip relying on genirq's lazy disable); the checks that mask under
   * desc->lock alone do not apply.
   */
  mask?: "sync" | { deferredNs: number } | "lazy";
  /** The chip routes interrupts by affinity (default true); false drops the affinity checks. */
  affinity?: boolean;
  /** The chip composes MSI messages the device stores (default true): compare them with rig.message(k). */
  msi?: boolean;
  /** Raises while masked are delivered once on unmask (default true, edge/MSI semantics); false: at least once. */
  coalesce?: boolean;
  /** Virtual time given to deliveries to land, in ns (default 1 ms). */
  settleNs?: number;
}

/** A chip under review: what a module passed to `irqlab review` exports. */
export interface ChipSubject {
  name: string;
  factory: ChipFactory;
  options?: ConformanceOptions;
}

/** One check's outcome. */
export interface CheckResult {
  check: string;
  ok: boolean;
  /** Why it failed (the first line names the bug). */
  error?: string;
  /** The machine the check ran on, for traces and pictures. */
  m?: Machine;
  rig?: ChipRig;
}

/** A failed expectation of a check: its message names the bug. */
export class ConformanceFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConformanceFailure";
  }
}
