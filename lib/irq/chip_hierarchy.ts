// SPDX-License-Identifier: GPL-2.0-only
// kernel/irq/chip.c, the CONFIG_IRQ_DOMAIN_HIERARCHY part: the *_parent
// helpers a child chip uses to hand a callback to its parent, then
// irq_chip_compose_msi_msg() and irq_chip_pm_get/put(). chip.ts re-exports
// everything here. Each helper runs in the context of the callback it
// forwards.

import { ENOSYS } from "../kernel/errno.ts";
import type { cpumask } from "../kernel/cpumask.ts";
import { IRQCHIP_SKIP_SET_WAKE, type irq_data } from "./irq.ts";
import type { msi_msg } from "./msi_types.ts";

function parent(d: irq_data): irq_data {
  return d.parent_data!;
}

// kernel/irq/chip.c: irq_chip_ack_parent() and friends: the parent must implement them
export function irq_chip_ack_parent(d: irq_data): void {
  const p = parent(d);
  p.chip.irq_ack!(p);
}
export function irq_chip_mask_parent(d: irq_data): void {
  const p = parent(d);
  p.chip.irq_mask!(p);
}
export function irq_chip_mask_ack_parent(d: irq_data): void {
  const p = parent(d);
  p.chip.irq_mask_ack!(p);
}
export function irq_chip_unmask_parent(d: irq_data): void {
  const p = parent(d);
  p.chip.irq_unmask!(p);
}
export function irq_chip_eoi_parent(d: irq_data): void {
  const p = parent(d);
  p.chip.irq_eoi!(p);
}

// kernel/irq/chip.c: irq_chip_enable_parent()
export function irq_chip_enable_parent(d: irq_data): void {
  const p = parent(d);
  if (p.chip.irq_enable) p.chip.irq_enable(p);
  else p.chip.irq_unmask!(p);
}

// kernel/irq/chip.c: irq_chip_disable_parent()
export function irq_chip_disable_parent(d: irq_data): void {
  const p = parent(d);
  if (p.chip.irq_disable) p.chip.irq_disable(p);
  else p.chip.irq_mask!(p);
}

// kernel/irq/chip.c: irq_chip_startup_parent()
export function irq_chip_startup_parent(d: irq_data): number {
  const p = parent(d);
  if (p.chip.irq_startup) return p.chip.irq_startup(p);
  irq_chip_enable_parent(d);
  return 0;
}

// kernel/irq/chip.c: irq_chip_shutdown_parent()
export function irq_chip_shutdown_parent(d: irq_data): void {
  const p = parent(d);
  if (p.chip.irq_shutdown) p.chip.irq_shutdown(p);
  else irq_chip_disable_parent(d);
}

// kernel/irq/chip.c: irq_chip_set_affinity_parent()
export function irq_chip_set_affinity_parent(d: irq_data, dest: cpumask, force: boolean): number {
  const p = d.parent_data;
  if (p?.chip.irq_set_affinity) return p.chip.irq_set_affinity(p, dest, force);
  return -ENOSYS;
}

// kernel/irq/chip.c: irq_chip_set_type_parent()
export function irq_chip_set_type_parent(d: irq_data, type: number): number {
  const p = d.parent_data;
  if (p?.chip.irq_set_type) return p.chip.irq_set_type(p, type);
  return -ENOSYS;
}

// kernel/irq/chip.c: irq_chip_set_vcpu_affinity_parent()
export function irq_chip_set_vcpu_affinity_parent(d: irq_data, vcpu_info: unknown): number {
  const p = d.parent_data;
  if (p?.chip.irq_set_vcpu_affinity) return p.chip.irq_set_vcpu_affinity(p, vcpu_info);
  return -ENOSYS;
}

// kernel/irq/chip.c: irq_chip_set_wake_parent()
export function irq_chip_set_wake_parent(d: irq_data, on: number): number {
  const p = parent(d);
  if ((p.chip.flags ?? 0) & IRQCHIP_SKIP_SET_WAKE) return 0;
  if (p.chip.irq_set_wake) return p.chip.irq_set_wake(p, on);
  return -ENOSYS;
}

// kernel/irq/chip.c: irq_chip_request_resources_parent()
export function irq_chip_request_resources_parent(d: irq_data): number {
  const p = parent(d);
  if (p.chip.irq_request_resources) return p.chip.irq_request_resources(p);
  return 0;
}

// kernel/irq/chip.c: irq_chip_release_resources_parent()
export function irq_chip_release_resources_parent(d: irq_data): void {
  const p = parent(d);
  if (p.chip.irq_release_resources) p.chip.irq_release_resources(p);
}

// kernel/irq/chip.c: irq_chip_set_parent_state()
export function irq_chip_set_parent_state(d: irq_data, which: number, val: boolean): number {
  const p = d.parent_data;
  if (!p || !p.chip.irq_set_irqchip_state) return 0;
  return p.chip.irq_set_irqchip_state(p, which, val);
}

// kernel/irq/chip.c: irq_chip_get_parent_state()
export function irq_chip_get_parent_state(d: irq_data, which: number, state: { value: boolean }): number {
  const p = d.parent_data;
  if (!p || !p.chip.irq_get_irqchip_state) return 0;
  return p.chip.irq_get_irqchip_state(p, which, state);
}

// kernel/irq/chip.c: irq_chip_retrigger_hierarchy(): the first parent that can retrigger
export function irq_chip_retrigger_hierarchy(d: irq_data): number {
  for (let p = d.parent_data; p; p = p.parent_data) {
    if (p.chip.irq_retrigger) return p.chip.irq_retrigger(p);
  }
  return 0;
}

// kernel/irq/chip.c: irq_chip_compose_msi_msg(): the outermost chip that can compose
export function irq_chip_compose_msi_msg(d: irq_data, msg: msi_msg): number {
  let pos: irq_data | null = null;
  for (let x: irq_data | null = d; x; x = x.parent_data) {
    if (x.chip.irq_compose_msi_msg) {
      pos = x;
      break;
    }
  }
  if (!pos) return -ENOSYS;
  pos.chip.irq_compose_msi_msg!(pos, msg);
  return 0;
}

// kernel/irq/chip.c: irq_chip_pm_get(): runtime PM of domain->pm_dev (none in irqlab)
export function irq_chip_pm_get(_d: irq_data): number {
  return 0;
}

// kernel/irq/chip.c: irq_chip_pm_put()
export function irq_chip_pm_put(_d: irq_data): void {}
