// SPDX-License-Identifier: GPL-2.0-only
// include/linux/irq.h: irq_data, irq_common_data, irq_chip, the IRQ_TYPE_*,
// IRQ_* (status settings), IRQD_* (irq_data state) and IRQCHIP_* flags and
// the irqd_*() accessors.

import { cpumask } from "../kernel/cpumask.ts";
import type { irq_domain } from "./irqdomain.ts";
import type { msi_desc, msi_msg } from "./msi_types.ts";

/* include/dt-bindings/interrupt-controller/irq.h + include/linux/irq.h */
export const IRQ_TYPE_NONE = 0x00000000;
export const IRQ_TYPE_EDGE_RISING = 0x00000001;
export const IRQ_TYPE_EDGE_FALLING = 0x00000002;
export const IRQ_TYPE_EDGE_BOTH = IRQ_TYPE_EDGE_FALLING | IRQ_TYPE_EDGE_RISING;
export const IRQ_TYPE_LEVEL_HIGH = 0x00000004;
export const IRQ_TYPE_LEVEL_LOW = 0x00000008;
export const IRQ_TYPE_LEVEL_MASK = IRQ_TYPE_LEVEL_LOW | IRQ_TYPE_LEVEL_HIGH;
export const IRQ_TYPE_SENSE_MASK = 0x0000000f;
export const IRQ_TYPE_DEFAULT = IRQ_TYPE_SENSE_MASK;
export const IRQ_TYPE_PROBE = 0x00000010;

/* IRQ_* status settings (desc->status_use_accessors); A48 */
export const IRQ_LEVEL = 1 << 8;
export const IRQ_PER_CPU = 1 << 9;
export const IRQ_NOPROBE = 1 << 10;
export const IRQ_NOREQUEST = 1 << 11;
export const IRQ_NOAUTOEN = 1 << 12;
export const IRQ_NO_BALANCING = 1 << 13;
export const IRQ_NESTED_THREAD = 1 << 15;
export const IRQ_NOTHREAD = 1 << 16;
export const IRQ_PER_CPU_DEVID = 1 << 17;
export const IRQ_IS_POLLED = 1 << 18;
export const IRQ_DISABLE_UNLAZY = 1 << 19;
export const IRQ_HIDDEN = 1 << 20;
export const IRQ_NO_DEBUG = 1 << 21;

export const IRQF_MODIFY_MASK =
  IRQ_TYPE_SENSE_MASK |
  IRQ_NOPROBE |
  IRQ_NOREQUEST |
  IRQ_NOAUTOEN |
  IRQ_LEVEL |
  IRQ_NO_BALANCING |
  IRQ_PER_CPU |
  IRQ_NESTED_THREAD |
  IRQ_NOTHREAD |
  IRQ_PER_CPU_DEVID |
  IRQ_IS_POLLED |
  IRQ_DISABLE_UNLAZY |
  IRQ_HIDDEN;

export const IRQ_NO_BALANCING_MASK = IRQ_PER_CPU | IRQ_NO_BALANCING;

/* enum irqchip_irq_state */
export const IRQCHIP_STATE_PENDING = 0;
export const IRQCHIP_STATE_ACTIVE = 1;
export const IRQCHIP_STATE_MASKED = 2;
export const IRQCHIP_STATE_LINE_LEVEL = 3;

/* IRQD_* (irq_common_data.state_use_accessors); A46 */
export const IRQD_TRIGGER_MASK = 0xf;
export const IRQD_SETAFFINITY_PENDING = 1 << 8;
export const IRQD_ACTIVATED = 1 << 9;
export const IRQD_NO_BALANCING = 1 << 10;
export const IRQD_PER_CPU = 1 << 11;
export const IRQD_AFFINITY_SET = 1 << 12;
export const IRQD_LEVEL = 1 << 13;
export const IRQD_WAKEUP_STATE = 1 << 14;
export const IRQD_IRQ_DISABLED = 1 << 16;
export const IRQD_IRQ_MASKED = 1 << 17;
export const IRQD_IRQ_INPROGRESS = 1 << 18;
export const IRQD_WAKEUP_ARMED = 1 << 19;
export const IRQD_FORWARDED_TO_VCPU = 1 << 20;
export const IRQD_AFFINITY_MANAGED = 1 << 21;
export const IRQD_IRQ_STARTED = 1 << 22;
export const IRQD_MANAGED_SHUTDOWN = 1 << 23;
export const IRQD_SINGLE_TARGET = 1 << 24;
export const IRQD_DEFAULT_TRIGGER_SET = 1 << 25;
export const IRQD_CAN_RESERVE = 1 << 26;
export const IRQD_HANDLE_ENFORCE_IRQCTX = 1 << 27;
export const IRQD_AFFINITY_ON_ACTIVATE = 1 << 28;
export const IRQD_IRQ_ENABLED_ON_SUSPEND = 1 << 29;
export const IRQD_RESEND_WHEN_IN_PROGRESS = 1 << 30;

/* IRQCHIP_* (irq_chip.flags); A45 */
export const IRQCHIP_SET_TYPE_MASKED = 1 << 0;
export const IRQCHIP_EOI_IF_HANDLED = 1 << 1;
export const IRQCHIP_MASK_ON_SUSPEND = 1 << 2;
export const IRQCHIP_ONOFFLINE_ENABLED = 1 << 3;
export const IRQCHIP_SKIP_SET_WAKE = 1 << 4;
export const IRQCHIP_ONESHOT_SAFE = 1 << 5;
export const IRQCHIP_EOI_THREADED = 1 << 6;
export const IRQCHIP_SUPPORTS_LEVEL_MSI = 1 << 7;
export const IRQCHIP_SUPPORTS_NMI = 1 << 8;
export const IRQCHIP_ENABLE_WAKEUP_ON_SUSPEND = 1 << 9;
export const IRQCHIP_AFFINITY_PRE_STARTUP = 1 << 10;
export const IRQCHIP_IMMUTABLE = 1 << 11;
export const IRQCHIP_MOVE_DEFERRED = 1 << 12;

/* irq_set_affinity()/irq_set_type() return codes of a chip */
export const IRQ_SET_MASK_OK = 0;
export const IRQ_SET_MASK_OK_NOCOPY = 1;
export const IRQ_SET_MASK_OK_DONE = 2;

/** A callback that may sleep: irq_bus_lock, irq_bus_sync_unlock. */
export type MaySleep = void | Promise<void>;

/** struct seq_file, reduced to what show callbacks use. */
export interface seq_file {
  printf: (fmt: string, ...args: unknown[]) => void;
  puts: (s: string) => void;
}

/**
 * struct irq_chip. Every callback but irq_bus_lock/irq_bus_sync_unlock runs in
 * atomic context (under desc->lock, interrupts off) and must be synchronous.
 */
export interface irq_chip {
  name: string;
  flags?: number;
  irq_startup?: (d: irq_data) => number;
  irq_shutdown?: (d: irq_data) => void;
  irq_enable?: (d: irq_data) => void;
  irq_disable?: (d: irq_data) => void;
  irq_ack?: (d: irq_data) => void;
  irq_mask?: (d: irq_data) => void;
  irq_mask_ack?: (d: irq_data) => void;
  irq_unmask?: (d: irq_data) => void;
  irq_eoi?: (d: irq_data) => void;
  irq_set_affinity?: (d: irq_data, dest: cpumask, force: boolean) => number;
  irq_retrigger?: (d: irq_data) => number;
  irq_set_type?: (d: irq_data, flow_type: number) => number;
  irq_set_wake?: (d: irq_data, on: number) => number;
  irq_bus_lock?: (d: irq_data) => MaySleep;
  irq_bus_sync_unlock?: (d: irq_data) => MaySleep;
  irq_request_resources?: (d: irq_data) => number;
  irq_release_resources?: (d: irq_data) => void;
  irq_compose_msi_msg?: (d: irq_data, msg: msi_msg) => void;
  irq_write_msi_msg?: (d: irq_data, msg: msi_msg) => void;
  irq_get_irqchip_state?: (d: irq_data, which: number, state: { value: boolean }) => number;
  irq_set_irqchip_state?: (d: irq_data, which: number, state: boolean) => number;
  irq_set_vcpu_affinity?: (d: irq_data, vcpu_info: unknown) => number;
  irq_nmi_setup?: (d: irq_data) => number;
  irq_nmi_teardown?: (d: irq_data) => void;
  irq_pm_shutdown?: (d: irq_data) => void;
  irq_suspend?: (d: irq_data) => void;
  irq_resume?: (d: irq_data) => void;
  irq_print_chip?: (d: irq_data, p: seq_file) => void;
  irq_calc_mask?: (d: irq_data) => void;
  irq_force_complete_move?: (d: irq_data) => void;
  /** The chip as registered, when this object is irqlab's traced view of it. */
  readonly __orig?: irq_chip;
}

/** struct irq_common_data: shared by every level of a hierarchy. */
export class irq_common_data {
  state_use_accessors = 0;
  node = -1;
  handler_data: unknown = null;
  msi_desc: msi_desc | null = null;
  readonly affinity: cpumask;
  readonly effective_affinity: cpumask;
  constructor(nbits: number) {
    this.affinity = new cpumask(nbits);
    this.effective_affinity = new cpumask(nbits);
  }
}

/** struct irq_data: one per hierarchy level; desc.irq_data is the outermost. */
export class irq_data {
  hwirq = 0;
  chip: irq_chip;
  domain: irq_domain | null = null;
  parent_data: irq_data | null = null;
  chip_data: unknown = null;
  constructor(
    readonly irq: number,
    readonly common: irq_common_data,
    chip: irq_chip,
  ) {
    this.chip = chip;
  }
}

/* accessors on the shared state word (include/linux/irq.h) */
const st = (d: irq_data): number => d.common.state_use_accessors;
const setf = (d: irq_data, f: number): void => {
  d.common.state_use_accessors |= f;
};
const clrf = (d: irq_data, f: number): void => {
  d.common.state_use_accessors &= ~f;
};

export function irqd_get(d: irq_data): number {
  return st(d);
}
export function irqd_is_setaffinity_pending(d: irq_data): boolean {
  return (st(d) & IRQD_SETAFFINITY_PENDING) !== 0;
}
export function irqd_is_per_cpu(d: irq_data): boolean {
  return (st(d) & IRQD_PER_CPU) !== 0;
}
export function irqd_can_balance(d: irq_data): boolean {
  return (st(d) & (IRQD_PER_CPU | IRQD_NO_BALANCING)) === 0;
}
export function irqd_affinity_was_set(d: irq_data): boolean {
  return (st(d) & IRQD_AFFINITY_SET) !== 0;
}
export function irqd_mark_affinity_was_set(d: irq_data): void {
  setf(d, IRQD_AFFINITY_SET);
}
export function irqd_trigger_type_was_set(d: irq_data): boolean {
  return (st(d) & IRQD_DEFAULT_TRIGGER_SET) !== 0;
}
export function irqd_get_trigger_type(d: irq_data): number {
  return st(d) & IRQD_TRIGGER_MASK;
}
/** Sets the trigger bits and IRQD_DEFAULT_TRIGGER_SET. */
export function irqd_set_trigger_type(d: irq_data, type: number): void {
  d.common.state_use_accessors = (st(d) & ~IRQD_TRIGGER_MASK) | (type & IRQD_TRIGGER_MASK);
  setf(d, IRQD_DEFAULT_TRIGGER_SET);
}
export function irqd_is_level_type(d: irq_data): boolean {
  return (st(d) & IRQD_LEVEL) !== 0;
}
export function irqd_set_single_target(d: irq_data): void {
  setf(d, IRQD_SINGLE_TARGET);
}
export function irqd_is_single_target(d: irq_data): boolean {
  return (st(d) & IRQD_SINGLE_TARGET) !== 0;
}
export function irqd_set_handle_enforce_irqctx(d: irq_data): void {
  setf(d, IRQD_HANDLE_ENFORCE_IRQCTX);
}
export function irqd_is_handle_enforce_irqctx(d: irq_data): boolean {
  return (st(d) & IRQD_HANDLE_ENFORCE_IRQCTX) !== 0;
}
export function irqd_is_enabled_on_suspend(d: irq_data): boolean {
  return (st(d) & IRQD_IRQ_ENABLED_ON_SUSPEND) !== 0;
}
export function irqd_is_wakeup_set(d: irq_data): boolean {
  return (st(d) & IRQD_WAKEUP_STATE) !== 0;
}
export function irqd_irq_disabled(d: irq_data): boolean {
  return (st(d) & IRQD_IRQ_DISABLED) !== 0;
}
export function irqd_irq_masked(d: irq_data): boolean {
  return (st(d) & IRQD_IRQ_MASKED) !== 0;
}
export function irqd_irq_inprogress(d: irq_data): boolean {
  return (st(d) & IRQD_IRQ_INPROGRESS) !== 0;
}
export function irqd_is_wakeup_armed(d: irq_data): boolean {
  return (st(d) & IRQD_WAKEUP_ARMED) !== 0;
}
export function irqd_is_forwarded_to_vcpu(d: irq_data): boolean {
  return (st(d) & IRQD_FORWARDED_TO_VCPU) !== 0;
}
export function irqd_affinity_is_managed(d: irq_data): boolean {
  return (st(d) & IRQD_AFFINITY_MANAGED) !== 0;
}
export function irqd_is_activated(d: irq_data): boolean {
  return (st(d) & IRQD_ACTIVATED) !== 0;
}
export function irqd_set_activated(d: irq_data): void {
  setf(d, IRQD_ACTIVATED);
}
export function irqd_clr_activated(d: irq_data): void {
  clrf(d, IRQD_ACTIVATED);
}
export function irqd_is_started(d: irq_data): boolean {
  return (st(d) & IRQD_IRQ_STARTED) !== 0;
}
export function irqd_is_managed_and_shutdown(d: irq_data): boolean {
  return (st(d) & IRQD_MANAGED_SHUTDOWN) !== 0;
}
export function irqd_set_can_reserve(d: irq_data): void {
  setf(d, IRQD_CAN_RESERVE);
}
export function irqd_clr_can_reserve(d: irq_data): void {
  clrf(d, IRQD_CAN_RESERVE);
}
export function irqd_can_reserve(d: irq_data): boolean {
  return (st(d) & IRQD_CAN_RESERVE) !== 0;
}
export function irqd_set_affinity_on_activate(d: irq_data): void {
  setf(d, IRQD_AFFINITY_ON_ACTIVATE);
}
export function irqd_affinity_on_activate(d: irq_data): boolean {
  return (st(d) & IRQD_AFFINITY_ON_ACTIVATE) !== 0;
}
export function irqd_set_resend_when_in_progress(d: irq_data): void {
  setf(d, IRQD_RESEND_WHEN_IN_PROGRESS);
}
export function irqd_needs_resend_when_in_progress(d: irq_data): boolean {
  return (st(d) & IRQD_RESEND_WHEN_IN_PROGRESS) !== 0;
}
/** Set/clear arbitrary IRQD bits (the kernel's irqd_set()/irqd_clear() in internals.h). */
export function irqd_set(d: irq_data, mask: number): void {
  setf(d, mask);
}
export function irqd_clear(d: irq_data, mask: number): void {
  clrf(d, mask);
}

export function irq_data_get_irq_chip(d: irq_data): irq_chip {
  return d.chip;
}
export function irq_data_get_irq_chip_data<T = unknown>(d: irq_data): T {
  return d.chip_data as T;
}
export function irq_data_get_affinity_mask(d: irq_data): cpumask {
  return d.common.affinity;
}
export function irq_data_get_effective_affinity_mask(d: irq_data): cpumask {
  return d.common.effective_affinity;
}
export function irqd_to_hwirq(d: irq_data): number {
  return d.hwirq;
}
export function irq_data_get_msi_desc(d: irq_data): msi_desc | null {
  return d.common.msi_desc;
}
export function irq_data_get_node(d: irq_data): number {
  return d.common.node;
}
