// SPDX-License-Identifier: GPL-2.0-only
// irqlab's trace events of genirq: every chip callback at every hierarchy
// level and every domain op go through here, so nothing bypasses tracing.
// Chips are wrapped when they are installed on an irq_data; the wrapper emits
// an "irq.chip" event around the callback when somebody listens, and costs a
// call and a branch when nobody does.

import { K } from "../kernel/kernel.ts";
import type { irq_chip, irq_data } from "./irq.ts";

declare module "../sim/trace.ts" {
  interface TraceEventMap {
    /** A chip callback (irqlab event). phase "enter"/"exit"; ret on exit. */
    "irq.chip": {
      phase: "enter" | "exit";
      cb: string;
      chip: string;
      irq: number;
      hwirq: number;
      domain: string;
      depth: number;
      ret?: string;
    };
    /** An irq_domain op (irqlab event): alloc, free, activate, deactivate, map, unmap. */
    "irq.domain": {
      phase: "enter" | "exit";
      op: string;
      domain: string;
      irq: number;
      nr: number;
      depth: number;
      ret?: string;
    };
    /** ftrace irq:irq_handler_entry */
    "irq_handler_entry": { irq: number; name: string };
    /** ftrace irq:irq_handler_exit */
    "irq_handler_exit": { irq: number; ret: string };
    /** A manage-API call (irqlab event) for callback traces: request_irq, free_irq, ... */
    "irq.api": { phase: "enter" | "exit"; fn: string; irq: number; ret?: string };
  }
}

/** Callbacks that take an irq_data first and are traced. */
const CALLBACKS = [
  "irq_startup",
  "irq_shutdown",
  "irq_enable",
  "irq_disable",
  "irq_ack",
  "irq_mask",
  "irq_mask_ack",
  "irq_unmask",
  "irq_eoi",
  "irq_set_affinity",
  "irq_retrigger",
  "irq_set_type",
  "irq_set_wake",
  "irq_bus_lock",
  "irq_bus_sync_unlock",
  "irq_request_resources",
  "irq_release_resources",
  "irq_compose_msi_msg",
  "irq_write_msi_msg",
  "irq_get_irqchip_state",
  "irq_set_irqchip_state",
  "irq_set_vcpu_affinity",
  "irq_nmi_setup",
  "irq_nmi_teardown",
  "irq_pm_shutdown",
  "irq_suspend",
  "irq_resume",
  "irq_force_complete_move",
] as const;

let depth = 0;

function fmtRet(r: unknown): string | undefined {
  if (r === undefined) return undefined;
  if (r instanceof Promise) return "promise";
  return String(r as number);
}

function emit(phase: "enter" | "exit", cb: string, chip: irq_chip, d: irq_data, ret?: string): void {
  const payload = {
    phase,
    cb,
    chip: chip.name,
    irq: d.irq,
    hwirq: d.hwirq,
    domain: d.domain?.name ?? "",
    depth,
    ...(ret !== undefined ? { ret } : {}),
  };
  K.sim.trace.emit("irq.chip", payload);
}

const wrapped = new WeakMap<irq_chip, irq_chip>();

/**
 * The traced view of a chip. Properties other than the callbacks (name,
 * flags, driver fields) are read through from the registered chip.
 */
export function traced_chip(chip: irq_chip): irq_chip {
  if (chip.__orig) return chip;
  let w = wrapped.get(chip);
  if (w) return w;
  const view = Object.create(chip) as irq_chip & Record<string, unknown>;
  Object.defineProperty(view, "__orig", { value: chip });
  for (const cb of CALLBACKS) {
    const fn = chip[cb] as ((d: irq_data, a?: unknown, b?: unknown, c?: unknown) => unknown) | undefined;
    if (typeof fn !== "function") continue;
    const chip_cb = function (this: unknown, d: irq_data, a?: unknown, b?: unknown, c?: unknown): unknown {
      const bus = K.sim.trace;
      if (!bus.on) return fn.call(chip, d, a, b, c);
      emit("enter", cb, chip, d);
      depth++;
      let r: unknown;
      try {
        r = fn.call(chip, d, a, b, c);
      } finally {
        depth--;
      }
      emit("exit", cb, chip, d, fmtRet(r));
      return r;
    };
    // writable: a C chip is a plain struct a driver may patch after registration
    Object.defineProperty(view, cb, { value: chip_cb, enumerable: true, writable: true, configurable: true });
  }
  w = view;
  wrapped.set(chip, w);
  return w;
}

/** The chip as registered by its driver (undoes traced_chip()). */
export function irq_chip_orig(chip: irq_chip): irq_chip {
  return chip.__orig ?? chip;
}

/** Trace a domain op around `fn`. */
export function trace_domain_op<T>(op: string, domain: { name: string }, irq: number, nr: number, fn: () => T): T {
  const bus = K.sim.trace;
  if (!bus.on) return fn();
  bus.emit("irq.domain", { phase: "enter", op, domain: domain.name, irq, nr, depth });
  depth++;
  let r: T;
  try {
    r = fn();
  } finally {
    depth--;
  }
  bus.emit("irq.domain", { phase: "exit", op, domain: domain.name, irq, nr, depth, ...(r !== undefined ? { ret: fmtRet(r) } : {}) });
  return r;
}

/** Trace a manage-API call (irqlab event "irq.api"). */
export function trace_api_enter(fn: string, irq: number): void {
  const bus = K.sim.trace;
  if (bus.on) bus.emit("irq.api", { phase: "enter", fn, irq });
}
export function trace_api_exit(fn: string, irq: number, ret?: unknown): void {
  const bus = K.sim.trace;
  if (bus.on) bus.emit("irq.api", { phase: "exit", fn, irq, ...(ret !== undefined ? { ret: fmtRet(ret) } : {}) });
}
