// SPDX-License-Identifier: GPL-2.0-only
// Fixtures shared by the genirq conformance tests (genirq-A.md, genirq-B.md):
// a recording irq_chip, a bare descriptor set up as in kernel/irq/irq_test.c
// (no domain), and an interrupt line that delivers to a descriptor in
// hardirq context on the CPU it is raised on.

import { expect } from "chai";
import { createMachine, type Machine, type MachineOptions } from "../../../lib/machine.ts";
import { irq_alloc_descs, irq_to_desc, generic_handle_irq_desc_y, type irq_desc, type irq_flow_handler_t } from "../../../lib/irq/irqdesc.ts";
import { irq_clear_status_flags, irq_data_update_effective_affinity, irq_set_chip_and_handler } from "../../../lib/irq/chip.ts";
import { handle_simple_irq } from "../../../lib/irq/flow.ts";
import { IRQ_NOREQUEST, type irq_chip, type irq_data } from "../../../lib/irq/irq.ts";
import type { cpumask } from "../../../lib/kernel/cpumask.ts";
import { msleep } from "../../../lib/kernel/delay.ts";
import { soft_vector, type SoftVector } from "../kernel/softvec.ts";
import { dmesgLines } from "../../harness.ts";

/** Chip callbacks that take an irq_data first. */
export type ChipCb =
  | "irq_startup"
  | "irq_shutdown"
  | "irq_enable"
  | "irq_disable"
  | "irq_ack"
  | "irq_mask"
  | "irq_mask_ack"
  | "irq_unmask"
  | "irq_eoi"
  | "irq_set_affinity"
  | "irq_retrigger"
  | "irq_set_type"
  | "irq_set_wake"
  | "irq_bus_lock"
  | "irq_bus_sync_unlock"
  | "irq_request_resources"
  | "irq_release_resources"
  | "irq_get_irqchip_state"
  | "irq_set_irqchip_state"
  | "irq_nmi_setup"
  | "irq_nmi_teardown";

/** The callbacks of a plain level/edge controller. */
export const MASK_CHIP: ChipCb[] = ["irq_mask", "irq_unmask", "irq_ack"];

export interface RecChipOpts {
  name?: string;
  flags?: number;
  /** Which callbacks the chip has (default MASK_CHIP). */
  cbs?: ChipCb[];
  /** Return values / side effects of callbacks; called after logging. */
  impl?: Partial<Record<ChipCb, (d: irq_data, ...a: never[]) => unknown>>;
}

/**
 * A chip whose callbacks append their name to `log`. irq_set_type logs
 * "irq_set_type(<type>)", irq_set_wake "irq_set_wake(<on>)",
 * irq_set_affinity "irq_set_affinity(<cpulist>)". irq_set_affinity by default
 * copies the mask into the effective affinity (like the KUnit fake chip).
 */
export function rec_chip(log: string[], opts: RecChipOpts = {}): irq_chip {
  const chip: irq_chip = { name: opts.name ?? "rec", flags: opts.flags ?? 0 };
  const c = chip as unknown as Record<string, unknown>;
  for (const cb of opts.cbs ?? MASK_CHIP) {
    const impl = opts.impl?.[cb] as ((d: irq_data, ...a: unknown[]) => unknown) | undefined;
    c[cb] = (d: irq_data, ...a: unknown[]): unknown => {
      if (cb === "irq_set_type" || cb === "irq_set_wake") log.push(`${cb}(${String(a[0])})`);
      else if (cb === "irq_set_affinity") log.push(`${cb}(${[...cpus(a[0] as cpumask)].join(",")})`);
      else if (cb === "irq_get_irqchip_state" || cb === "irq_set_irqchip_state") log.push(`${cb}(${String(a[0])})`);
      else log.push(cb);
      if (impl) return impl(d, ...a);
      if (cb === "irq_set_affinity") {
        irq_data_update_effective_affinity(d, a[0] as cpumask);
        return 0;
      }
      if (cb === "irq_startup" || cb === "irq_set_type" || cb === "irq_set_wake" || cb === "irq_request_resources" || cb === "irq_nmi_setup") return 0;
      if (cb === "irq_retrigger") return 0;
      if (cb === "irq_get_irqchip_state" || cb === "irq_set_irqchip_state") return 0;
      return undefined;
    };
  }
  return chip;
}

function* cpus(m: cpumask): Generator<number> {
  for (let i = 0; i < m.nbits; i++) if (m.test(i)) yield i;
}

/**
 * kernel/irq/irq_test.c: irq_test_setup_fake_irq() without a domain: one bare
 * descriptor with `chip` and `handle`, IRQ_NOREQUEST cleared.
 */
export function setup_irq(chip: irq_chip, handle: irq_flow_handler_t = handle_simple_irq): { irq: number; desc: irq_desc } {
  const irq = irq_alloc_descs(-1, 1, 1, -1);
  expect(irq).to.be.greaterThan(0);
  irq_set_chip_and_handler(irq, chip, handle);
  irq_clear_status_flags(irq, IRQ_NOREQUEST);
  return { irq, desc: irq_to_desc(irq)! };
}

/** An interrupt line to `desc`: raise(cpu) delivers it in hardirq context on that CPU. */
export function irq_line(desc: irq_desc): SoftVector {
  return soft_vector(() => generic_handle_irq_desc_y(desc));
}

/** Raise the line on `cpu` and let the CPU take it (the calling task sleeps 1 ms). */
export async function fire(line: SoftVector, cpu = 0): Promise<void> {
  line.raise(cpu);
  await msleep(1);
}

/** A booted machine; `cpus` defaults to 2. */
export function machine(opts: MachineOptions = {}): Promise<Machine> {
  return createMachine({ cpus: 2, ...opts });
}

/** Run `body` in a fresh machine and return the machine. */
export async function run(body: (m: Machine) => Promise<void> | void, opts: MachineOptions = {}): Promise<Machine> {
  const m = await machine(opts);
  await m.run(() => body(m));
  return m;
}

/** dmesg lines (without timestamps) that contain `s`. */
export function logged(m: Machine, s: string | RegExp): string[] {
  return dmesgLines(m).filter((l) => (typeof s === "string" ? l.includes(s) : s.test(l)));
}

