// SPDX-License-Identifier: GPL-2.0-only
// kernel/irq/manage.c and irqdesc.c: per-CPU interrupts (B8, B9, B13) and
// NMI requests (B7, B12). irqlab does not deliver NMIs: request_nmi()
// validates and installs like the kernel, but no NMI context exists.

import { EINVAL, ENOMEM, ENOTCONN } from "../kernel/errno.ts";
import { WARN, WARN_ON } from "../kernel/bug.ts";
import { raw_spin_lock_irqsave, raw_spin_unlock_irqrestore } from "../kernel/spinlock.ts";
import { smp_processor_id, in_interrupt } from "../kernel/context.ts";
import { cpumask, cpumask_copy, cpumask_empty, cpumask_first, cpu_possible_mask, nr_cpu_ids } from "../kernel/cpumask.ts";
import {
  IRQ_NOAUTOEN,
  IRQ_NOPROBE,
  IRQ_NOTHREAD,
  IRQ_PER_CPU,
  IRQ_PER_CPU_DEVID,
  IRQ_TYPE_NONE,
  IRQ_TYPE_SENSE_MASK,
  IRQCHIP_SUPPORTS_NMI,
  irqd_get_trigger_type,
} from "./irq.ts";
import {
  irqaction,
  IRQF_COND_SUSPEND,
  IRQF_IRQPOLL,
  IRQF_NO_AUTOEN,
  IRQF_NO_SUSPEND,
  IRQF_NO_THREAD,
  IRQF_NOBALANCING,
  IRQF_PERCPU,
  IRQF_SHARED,
  IRQF_TIMER,
  IRQ_NOTCONNECTED,
  type irq_handler_t,
} from "./interrupt.ts";
import {
  IRQS_NMI,
  irq_settings_can_autoenable,
  irq_settings_can_request,
  irq_settings_clr_disable_unlazy,
  irq_settings_is_per_cpu_devid,
} from "./internals.ts";
import { irq_get_desc_checked, irq_to_desc, IRQ_GET_DESC_CHECK_PERCPU, type irq_desc } from "./irqdesc.ts";
import { irq_chip_pm_get, irq_chip_pm_put, irq_modify_status, irq_percpu_disable, irq_percpu_enable, irq_shutdown_and_deactivate } from "./chip.ts";
import { __irq_set_trigger, __setup_irq, chip_bus_lock, chip_bus_sync_unlock, disable_irq_nosync } from "./manage.ts";
import { irq_pm_remove_action } from "./pm.ts";
import { unregister_handler_proc } from "./proc_hooks.ts";

// kernel/irq/irqdesc.c: irq_set_percpu_devid_partition()
export function irq_set_percpu_devid_partition(irq: number, affinity: cpumask | null): number {
  const desc = irq_to_desc(irq);
  if (!desc || desc.percpu_enabled) return -EINVAL;
  desc.percpu_enabled = new cpumask(nr_cpu_ids());
  desc.percpu_affinity = new cpumask(nr_cpu_ids());
  cpumask_copy(desc.percpu_affinity, affinity ?? cpu_possible_mask());
  irq_modify_status(irq, 0, IRQ_NOAUTOEN | IRQ_PER_CPU | IRQ_NOTHREAD | IRQ_NOPROBE | IRQ_PER_CPU_DEVID);
  return 0;
}

export function irq_set_percpu_devid(irq: number): number {
  return irq_set_percpu_devid_partition(irq, null);
}

// kernel/irq/manage.c: irq_supports_nmi()
function irq_supports_nmi(desc: irq_desc): boolean {
  const d = desc.irq_data;
  // Only IRQs directly managed by the root irqchip can be set as NMI
  if (d.parent_data) return false;
  // Don't support NMIs for chips behind a slow bus
  if (d.chip.irq_bus_lock || d.chip.irq_bus_sync_unlock) return false;
  return ((d.chip.flags ?? 0) & IRQCHIP_SUPPORTS_NMI) !== 0;
}

// kernel/irq/manage.c: irq_nmi_setup()
function irq_nmi_setup(desc: irq_desc): number {
  const d = desc.irq_data;
  return d.chip.irq_nmi_setup ? d.chip.irq_nmi_setup(d) : -EINVAL;
}

// kernel/irq/manage.c: irq_nmi_teardown()
function irq_nmi_teardown(desc: irq_desc): void {
  const d = desc.irq_data;
  if (d.chip.irq_nmi_teardown) d.chip.irq_nmi_teardown(d);
}

// kernel/irq/manage.c: __cleanup_nmi(); desc->lock held
function __cleanup_nmi(irq: number, desc: irq_desc): string | null {
  let devname: string | null = null;
  desc.istate &= ~IRQS_NMI;
  if (!WARN_ON(desc.action === null)) {
    irq_pm_remove_action(desc, desc.action!);
    devname = desc.action!.name;
    unregister_handler_proc(irq, desc.action!);
    desc.action = null;
  }
  irq_settings_clr_disable_unlazy(desc);
  irq_shutdown_and_deactivate(desc);
  if (desc.irq_data.chip.irq_release_resources) desc.irq_data.chip.irq_release_resources(desc.irq_data);
  irq_chip_pm_put(desc.irq_data);
  return devname;
}

// kernel/irq/manage.c: request_nmi() (B7)
export async function request_nmi(irq: number, handler: irq_handler_t | null, irqflags: number, name: string, dev_id: unknown): Promise<number> {
  if (irq === IRQ_NOTCONNECTED) return -ENOTCONN;
  // NMI cannot be shared, used for Polling
  if (irqflags & (IRQF_SHARED | IRQF_COND_SUSPEND | IRQF_IRQPOLL)) return -EINVAL;
  if (!(irqflags & IRQF_PERCPU)) return -EINVAL;
  if (!handler) return -EINVAL;
  const desc = irq_to_desc(irq);
  if (!desc || (irq_settings_can_autoenable(desc) && !(irqflags & IRQF_NO_AUTOEN)) || !irq_settings_can_request(desc) || WARN_ON(irq_settings_is_per_cpu_devid(desc)) || !irq_supports_nmi(desc)) {
    return -EINVAL;
  }
  const action = new irqaction();
  action.handler = handler;
  action.flags = irqflags | IRQF_NO_THREAD | IRQF_NOBALANCING;
  action.name = name;
  action.dev_id = dev_id;
  const pm = irq_chip_pm_get(desc.irq_data);
  if (pm < 0) return pm;
  const retval = await __setup_irq(irq, desc, action);
  if (retval) {
    irq_chip_pm_put(desc.irq_data);
    return retval;
  }
  const flags = raw_spin_lock_irqsave(desc.lock);
  // Setup NMI state
  desc.istate |= IRQS_NMI;
  const r = irq_nmi_setup(desc);
  if (r) {
    __cleanup_nmi(irq, desc);
    raw_spin_unlock_irqrestore(desc.lock, flags);
    return -EINVAL;
  }
  raw_spin_unlock_irqrestore(desc.lock, flags);
  return 0;
}

// kernel/irq/manage.c: free_nmi() (B12)
export async function free_nmi(irq: number, dev_id: unknown): Promise<string | null> {
  const desc = irq_to_desc(irq);
  if (!desc || WARN_ON(!(desc.istate & IRQS_NMI))) return null;
  if (WARN_ON(irq_settings_is_per_cpu_devid(desc))) return null;
  // NMI still enabled
  if (WARN_ON(desc.depth === 0)) await disable_irq_nosync(irq);
  void dev_id;
  const flags = raw_spin_lock_irqsave(desc.lock);
  irq_nmi_teardown(desc);
  const devname = __cleanup_nmi(irq, desc);
  raw_spin_unlock_irqrestore(desc.lock, flags);
  return devname;
}

// kernel/irq/manage.c: __request_percpu_irq() (B8)
export async function __request_percpu_irq(
  irq: number,
  handler: irq_handler_t | null,
  flags: number,
  devname: string,
  affinity: cpumask | null,
  dev_id: unknown,
): Promise<number> {
  if (!dev_id) return -EINVAL;
  const desc = irq_to_desc(irq);
  if (!desc || !irq_settings_can_request(desc) || !irq_settings_is_per_cpu_devid(desc)) return -EINVAL;
  if (flags && flags !== IRQF_TIMER) return -EINVAL;
  const action = new irqaction();
  if (!action) return -ENOMEM;
  action.handler = handler;
  action.flags = flags | IRQF_PERCPU | IRQF_NO_SUSPEND;
  action.name = devname;
  action.percpu_dev_id = dev_id;
  action.affinity = new cpumask(nr_cpu_ids());
  cpumask_copy(action.affinity, affinity ?? cpu_possible_mask());
  const pm = irq_chip_pm_get(desc.irq_data);
  if (pm < 0) return pm;
  const retval = await __setup_irq(irq, desc, action);
  if (retval) irq_chip_pm_put(desc.irq_data);
  return retval;
}

export function request_percpu_irq(irq: number, handler: irq_handler_t, devname: string, percpu_dev_id: unknown): Promise<number> {
  return __request_percpu_irq(irq, handler, 0, devname, null, percpu_dev_id);
}

// kernel/irq/manage.c: enable_percpu_irq() (B9)
export function enable_percpu_irq(irq: number, type: number): void {
  const cpu = smp_processor_id();
  const desc = irq_get_desc_checked(irq, IRQ_GET_DESC_CHECK_PERCPU);
  if (!desc) return;
  const flags = raw_spin_lock_irqsave(desc.lock);
  // If the trigger type is not specified by the caller, then use the default for this interrupt.
  type &= IRQ_TYPE_SENSE_MASK;
  if (type === IRQ_TYPE_NONE) type = irqd_get_trigger_type(desc.irq_data);
  if (type !== IRQ_TYPE_NONE) {
    const ret = __irq_set_trigger(desc, type);
    if (ret) {
      WARN(1, "failed to set type for IRQ%d\n", irq);
      raw_spin_unlock_irqrestore(desc.lock, flags);
      return;
    }
  }
  irq_percpu_enable(desc, cpu);
  raw_spin_unlock_irqrestore(desc.lock, flags);
}

// kernel/irq/manage.c: disable_percpu_irq()
export function disable_percpu_irq(irq: number): void {
  const cpu = smp_processor_id();
  const desc = irq_get_desc_checked(irq, IRQ_GET_DESC_CHECK_PERCPU);
  if (!desc) return;
  const flags = raw_spin_lock_irqsave(desc.lock);
  irq_percpu_disable(desc, cpu);
  raw_spin_unlock_irqrestore(desc.lock, flags);
}

// kernel/irq/manage.c: irq_percpu_is_enabled()
export function irq_percpu_is_enabled(irq: number): boolean {
  const desc = irq_get_desc_checked(irq, IRQ_GET_DESC_CHECK_PERCPU);
  if (!desc) return false;
  return desc.percpu_enabled?.test(smp_processor_id()) ?? false;
}

// kernel/irq/manage.c: __free_percpu_irq() / free_percpu_irq() (B13)
export async function free_percpu_irq(irq: number, dev_id: unknown): Promise<void> {
  const desc = irq_to_desc(irq);
  if (!desc || !irq_settings_is_per_cpu_devid(desc)) return;
  const bl = chip_bus_lock(desc);
  if (bl) await bl;
  WARN(in_interrupt(), "Trying to free IRQ %d from IRQ context!\n", irq);
  const flags = raw_spin_lock_irqsave(desc.lock);
  const action = desc.action;
  let freed = false;
  if (!action || action.percpu_dev_id !== dev_id) {
    WARN(1, "Trying to free already-free IRQ %d\n", irq);
  } else if (desc.percpu_enabled && !cpumask_empty(desc.percpu_enabled)) {
    WARN(1, "percpu IRQ %d still enabled on CPU%d!\n", irq, cpumask_first(desc.percpu_enabled));
  } else {
    // Found it - now remove it from the list of entries:
    desc.action = null;
    desc.istate &= ~IRQS_NMI;
    freed = true;
  }
  raw_spin_unlock_irqrestore(desc.lock, flags);
  if (freed) {
    unregister_handler_proc(irq, action!);
    irq_chip_pm_put(desc.irq_data);
  }
  const su = chip_bus_sync_unlock(desc);
  if (su) await su;
}
