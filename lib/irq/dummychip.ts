// SPDX-License-Identifier: GPL-2.0-only
// kernel/irq/dummychip.c: no_irq_chip and dummy_irq_chip.

import { IRQCHIP_SKIP_SET_WAKE, type irq_chip, type irq_data } from "./irq.ts";
import { pr_err_ratelimited } from "../kernel/printk.ts";

// arch/x86/kernel/irq.c: ack_bad_irq() (the APIC EOI is issued by the arch hook)
export function ack_bad_irq(irq: number): void {
  pr_err_ratelimited("unexpected IRQ trap at vector %02x\n", irq);
  ack_bad_irq_hook(irq);
}

// kernel/irq/dummychip.c: ack_bad()
function ack_bad(d: irq_data): void {
  ack_bad_irq(d.irq);
}

/** The arch part of ack_bad_irq() (x86: apic_eoi()), installed by the arch code. */
export let ack_bad_irq_hook: (irq: number) => void = () => undefined;
export function set_ack_bad_irq_hook(fn: (irq: number) => void): void {
  ack_bad_irq_hook = fn;
}

function noop(_d: irq_data): void {}
function noop_ret(_d: irq_data): number {
  return 0;
}

/** Generic no controller implementation: the chip of an unused descriptor. */
export const no_irq_chip: irq_chip = {
  name: "none",
  irq_startup: noop_ret,
  irq_shutdown: noop,
  irq_enable: noop,
  irq_disable: noop,
  irq_ack: ack_bad,
  flags: IRQCHIP_SKIP_SET_WAKE,
};

/** Generic dummy implementation which can be used for real dumb interrupt sources. */
export const dummy_irq_chip: irq_chip = {
  name: "dummy",
  irq_startup: noop_ret,
  irq_shutdown: noop,
  irq_enable: noop,
  irq_disable: noop,
  irq_ack: noop,
  irq_mask: noop,
  irq_unmask: noop,
  flags: IRQCHIP_SKIP_SET_WAKE,
};
