// SPDX-License-Identifier: GPL-2.0-only
// kernel/irq/internals.h and kernel/irq/settings.h: the core-private istate
// bits (IRQS_*), the settings accessors and the kstat helpers.

import type { irq_desc } from "./irqdesc.ts";
import {
  IRQ_DISABLE_UNLAZY,
  IRQ_HIDDEN,
  IRQ_IS_POLLED,
  IRQ_LEVEL,
  IRQ_NESTED_THREAD,
  IRQ_NOAUTOEN,
  IRQ_NO_BALANCING,
  IRQ_NO_DEBUG,
  IRQ_NOPROBE,
  IRQ_NOREQUEST,
  IRQ_NOTHREAD,
  IRQ_PER_CPU,
  IRQ_PER_CPU_DEVID,
  IRQ_TYPE_SENSE_MASK,
  IRQF_MODIFY_MASK,
} from "./irq.ts";

/* IRQS_* (desc->istate); A47 */
export const IRQS_AUTODETECT = 0x00000001;
export const IRQS_SPURIOUS_DISABLED = 0x00000002;
export const IRQS_POLL_INPROGRESS = 0x00000008;
export const IRQS_ONESHOT = 0x00000020;
export const IRQS_REPLAY = 0x00000040;
export const IRQS_WAITING = 0x00000080;
export const IRQS_PENDING = 0x00000200;
export const IRQS_SUSPENDED = 0x00000800;
export const IRQS_TIMINGS = 0x00001000;
export const IRQS_NMI = 0x00002000;
export const IRQS_SYSFS = 0x00004000;

/* irq_startup() arguments */
export const IRQ_RESEND = true;
export const IRQ_NORESEND = false;
export const IRQ_START_FORCE = true;
export const IRQ_START_COND = false;

/* kernel/irq/settings.h: _IRQ_DEFAULT_INIT_FLAGS (ARCH_IRQ_INIT_FLAGS is 0 on x86) */
export const _IRQ_DEFAULT_INIT_FLAGS = 0;

// kernel/irq/settings.h: irq_settings_clr_and_set()
export function irq_settings_clr_and_set(desc: irq_desc, clr: number, set: number): void {
  desc.status_use_accessors &= ~(clr & IRQF_MODIFY_MASK);
  desc.status_use_accessors |= set & IRQF_MODIFY_MASK;
}
export function irq_settings_is_per_cpu(desc: irq_desc): boolean {
  return (desc.status_use_accessors & IRQ_PER_CPU) !== 0;
}
export function irq_settings_is_per_cpu_devid(desc: irq_desc): boolean {
  return (desc.status_use_accessors & IRQ_PER_CPU_DEVID) !== 0;
}
export function irq_settings_set_per_cpu(desc: irq_desc): void {
  desc.status_use_accessors |= IRQ_PER_CPU;
}
export function irq_settings_set_no_balancing(desc: irq_desc): void {
  desc.status_use_accessors |= IRQ_NO_BALANCING;
}
export function irq_settings_has_no_balance_set(desc: irq_desc): boolean {
  return (desc.status_use_accessors & IRQ_NO_BALANCING) !== 0;
}
export function irq_settings_get_trigger_mask(desc: irq_desc): number {
  return desc.status_use_accessors & IRQ_TYPE_SENSE_MASK;
}
export function irq_settings_set_trigger_mask(desc: irq_desc, mask: number): void {
  desc.status_use_accessors &= ~IRQ_TYPE_SENSE_MASK;
  desc.status_use_accessors |= mask & IRQ_TYPE_SENSE_MASK;
}
export function irq_settings_is_level(desc: irq_desc): boolean {
  return (desc.status_use_accessors & IRQ_LEVEL) !== 0;
}
export function irq_settings_clr_level(desc: irq_desc): void {
  desc.status_use_accessors &= ~IRQ_LEVEL;
}
export function irq_settings_set_level(desc: irq_desc): void {
  desc.status_use_accessors |= IRQ_LEVEL;
}
export function irq_settings_can_request(desc: irq_desc): boolean {
  return (desc.status_use_accessors & IRQ_NOREQUEST) === 0;
}
export function irq_settings_clr_norequest(desc: irq_desc): void {
  desc.status_use_accessors &= ~IRQ_NOREQUEST;
}
export function irq_settings_set_norequest(desc: irq_desc): void {
  desc.status_use_accessors |= IRQ_NOREQUEST;
}
export function irq_settings_can_thread(desc: irq_desc): boolean {
  return (desc.status_use_accessors & IRQ_NOTHREAD) === 0;
}
export function irq_settings_set_nothread(desc: irq_desc): void {
  desc.status_use_accessors |= IRQ_NOTHREAD;
}
export function irq_settings_can_probe(desc: irq_desc): boolean {
  return (desc.status_use_accessors & IRQ_NOPROBE) === 0;
}
export function irq_settings_set_noprobe(desc: irq_desc): void {
  desc.status_use_accessors |= IRQ_NOPROBE;
}
export function irq_settings_can_autoenable(desc: irq_desc): boolean {
  return (desc.status_use_accessors & IRQ_NOAUTOEN) === 0;
}
export function irq_settings_is_nested_thread(desc: irq_desc): boolean {
  return (desc.status_use_accessors & IRQ_NESTED_THREAD) !== 0;
}
export function irq_settings_is_polled(desc: irq_desc): boolean {
  return (desc.status_use_accessors & IRQ_IS_POLLED) !== 0;
}
export function irq_settings_disable_unlazy(desc: irq_desc): boolean {
  return (desc.status_use_accessors & IRQ_DISABLE_UNLAZY) !== 0;
}
export function irq_settings_clr_disable_unlazy(desc: irq_desc): void {
  desc.status_use_accessors &= ~IRQ_DISABLE_UNLAZY;
}
export function irq_settings_is_hidden(desc: irq_desc): boolean {
  return (desc.status_use_accessors & IRQ_HIDDEN) !== 0;
}
export function irq_settings_no_debug(desc: irq_desc): boolean {
  return (desc.status_use_accessors & IRQ_NO_DEBUG) !== 0;
}
export function irq_settings_set_no_debug(desc: irq_desc): void {
  desc.status_use_accessors |= IRQ_NO_DEBUG;
}
