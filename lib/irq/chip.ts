// SPDX-License-Identifier: GPL-2.0-only
// kernel/irq/chip.c (without the flow handlers, which are in flow.ts):
// installing chips and handlers, startup/shutdown/enable/disable and the
// mask/unmask primitives. The hierarchy *_parent helpers,
// irq_chip_compose_msi_msg() and irq_chip_pm_get/put() are in
// chip_hierarchy.ts and re-exported here.
//
// Everything here that touches a descriptor runs with desc->lock held and
// interrupts off, as in the kernel, except the setters, which take the lock
// themselves.

import { site_of } from "../kernel/stacktrace.ts";
import { K } from "../kernel/kernel.ts";
import { EINVAL } from "../kernel/errno.ts";
import { WARN, WARN_ON, WARN_ON_ONCE } from "../kernel/bug.ts";
import { cpumask, cpumask_copy, cpumask_and, cpumask_empty, cpumask_set_cpu, cpumask_clear_cpu, cpu_online_mask } from "../kernel/cpumask.ts";
import { raw_spin_lock_irqsave, raw_spin_unlock_irqrestore } from "../kernel/spinlock.ts";
import {
  irq_data,
  irqd_affinity_is_managed,
  irqd_clear,
  irqd_irq_disabled,
  irqd_irq_masked,
  irqd_is_activated,
  irqd_is_started,
  irqd_set,
  irqd_set_trigger_type,
  IRQ_LEVEL,
  IRQ_NOAUTOEN,
  IRQ_NOPROBE,
  IRQ_NOREQUEST,
  IRQ_NOTHREAD,
  IRQ_NO_BALANCING,
  IRQ_PER_CPU,
  IRQ_TYPE_NONE,
  IRQCHIP_AFFINITY_PRE_STARTUP,
  IRQCHIP_EOI_IF_HANDLED,
  IRQCHIP_EOI_THREADED,
  IRQD_AFFINITY_MANAGED,
  IRQD_IRQ_DISABLED,
  IRQD_IRQ_MASKED,
  IRQD_IRQ_STARTED,
  IRQD_LEVEL,
  IRQD_MANAGED_SHUTDOWN,
  IRQD_NO_BALANCING,
  IRQD_PER_CPU,
  IRQD_TRIGGER_MASK,
  type irq_chip,
} from "./irq.ts";
import type { msi_desc } from "./msi_types.ts";
import {
  irq_to_desc,
  chained_action_handler,
  type irq_desc,
  type irq_flow_handler_t,
} from "./irqdesc.ts";
import {
  IRQS_ONESHOT,
  irq_settings_clr_and_set,
  irq_settings_disable_unlazy,
  irq_settings_get_trigger_mask,
  irq_settings_has_no_balance_set,
  irq_settings_is_level,
  irq_settings_is_per_cpu,
  irq_settings_set_nothread,
  irq_settings_set_noprobe,
  irq_settings_set_norequest,
} from "./internals.ts";
import { irqaction } from "./interrupt.ts";
import { no_irq_chip } from "./dummychip.ts";
import { traced_chip, irq_chip_orig } from "./trace.ts";
import { handle_bad_irq } from "./handle.ts";
import { irq_domain_activate_irq, irq_domain_deactivate_irq } from "./irqdomain.ts";
import { check_irq_resend, clear_irq_resend } from "./resend.ts";
import { irq_do_set_affinity, irq_setup_affinity, __irq_set_trigger } from "./manage.ts";
import { mask_ack_irq } from "./flow.ts";

export * from "./chip_hierarchy.ts";

// lockdep's "at:" (the _RET_IP_) of the locks the functions below take
const irq_set_chip_ip = site_of(irq_set_chip);
const __irq_set_handler_ip = site_of(__irq_set_handler);
const irq_set_chained_handler_and_data_ip = site_of(irq_set_chained_handler_and_data);
const irq_modify_status_ip = site_of(irq_modify_status);

// kernel/irq/chip.c: irq_set_chip()
export function irq_set_chip(irq: number, chip: irq_chip | null): number {
  const desc = irq_to_desc(irq);
  if (!desc) return -EINVAL;
  const flags = raw_spin_lock_irqsave(desc.lock, 0, irq_set_chip_ip);
  desc.irq_data.chip = traced_chip(chip ?? no_irq_chip);
  raw_spin_unlock_irqrestore(desc.lock, flags);
  return 0;
}

// kernel/irq/chip.c: irq_set_handler_data()
export function irq_set_handler_data(irq: number, data: unknown): number {
  const desc = irq_to_desc(irq);
  if (!desc) return -EINVAL;
  desc.irq_common_data.handler_data = data;
  return 0;
}

// include/linux/irq.h: irq_get_msi_desc()
export function irq_get_msi_desc(irq: number): msi_desc | null {
  return irq_to_desc(irq)?.irq_common_data.msi_desc ?? null;
}

// kernel/irq/chip.c: irq_set_msi_desc_off()
export function irq_set_msi_desc_off(irq_base: number, irq_offset: number, entry: msi_desc | null): number {
  const desc = irq_to_desc(irq_base + irq_offset);
  if (!desc) return -EINVAL;
  desc.irq_common_data.msi_desc = entry;
  if (entry && !irq_offset) entry.irq = irq_base;
  return 0;
}

export function irq_set_msi_desc(irq: number, entry: msi_desc | null): number {
  return irq_set_msi_desc_off(irq, 0, entry);
}

// kernel/irq/chip.c: irq_set_chip_data()
export function irq_set_chip_data(irq: number, data: unknown): number {
  const desc = irq_to_desc(irq);
  if (!desc) return -EINVAL;
  desc.irq_data.chip_data = data;
  return 0;
}

/** Install a chip on one level of a hierarchy (traced). */
export function irq_data_set_chip(d: irq_data, chip: irq_chip | null): void {
  d.chip = traced_chip(chip ?? no_irq_chip);
}

export function irq_chip_is_none(chip: irq_chip): boolean {
  return irq_chip_orig(chip) === no_irq_chip;
}

// kernel/irq/chip.c: irq_data_update_effective_affinity()
export function irq_data_update_effective_affinity(d: irq_data, m: cpumask): void {
  cpumask_copy(d.common.effective_affinity, m);
}

/* ------------------------------------------------------------ mask/unmask */

// kernel/irq/chip.c: mask_irq()
export function mask_irq(desc: irq_desc): void {
  const d = desc.irq_data;
  if (irqd_irq_masked(d)) return;
  if (d.chip.irq_mask) {
    d.chip.irq_mask(d);
    irqd_set(d, IRQD_IRQ_MASKED);
  }
}

// kernel/irq/chip.c: unmask_irq()
export function unmask_irq(desc: irq_desc): void {
  const d = desc.irq_data;
  if (!irqd_irq_masked(d)) return;
  if (d.chip.irq_unmask) {
    d.chip.irq_unmask(d);
    irqd_clear(d, IRQD_IRQ_MASKED);
  }
}

// kernel/irq/chip.c: unmask_threaded_irq()
export function unmask_threaded_irq(desc: irq_desc): void {
  const chip = desc.irq_data.chip;
  if ((chip.flags ?? 0) & IRQCHIP_EOI_THREADED) chip.irq_eoi!(desc.irq_data);
  unmask_irq(desc);
}

// kernel/irq/chip.c: cond_unmask_irq()
export function cond_unmask_irq(desc: irq_desc): void {
  if (!irqd_irq_disabled(desc.irq_data) && irqd_irq_masked(desc.irq_data) && !desc.threads_oneshot) unmask_irq(desc);
}

// kernel/irq/chip.c: cond_unmask_eoi_irq()
export function cond_unmask_eoi_irq(desc: irq_desc, chip: irq_chip): void {
  if (!(desc.istate & IRQS_ONESHOT)) {
    chip.irq_eoi!(desc.irq_data);
    return;
  }
  if (!irqd_irq_disabled(desc.irq_data) && irqd_irq_masked(desc.irq_data) && !desc.threads_oneshot) {
    chip.irq_eoi!(desc.irq_data);
    unmask_irq(desc);
  } else if (!((chip.flags ?? 0) & IRQCHIP_EOI_THREADED)) {
    chip.irq_eoi!(desc.irq_data);
  }
}

// kernel/irq/chip.c: cond_eoi_irq()
export function cond_eoi_irq(chip: irq_chip, d: irq_data): void {
  if (!((chip.flags ?? 0) & IRQCHIP_EOI_IF_HANDLED)) chip.irq_eoi!(d);
}

/* ------------------------------------------------ enable/disable/startup */

// kernel/irq/chip.c: irq_enable()
export function irq_enable(desc: irq_desc): void {
  const d = desc.irq_data;
  if (!irqd_irq_disabled(d)) {
    unmask_irq(desc);
  } else {
    irqd_clear(d, IRQD_IRQ_DISABLED);
    if (d.chip.irq_enable) {
      d.chip.irq_enable(d);
      irqd_clear(d, IRQD_IRQ_MASKED);
    } else {
      unmask_irq(desc);
    }
  }
}

// kernel/irq/chip.c: __irq_disable()
export function __irq_disable(desc: irq_desc, mask: boolean): void {
  const d = desc.irq_data;
  if (irqd_irq_disabled(d)) {
    if (mask) mask_irq(desc);
  } else {
    irqd_set(d, IRQD_IRQ_DISABLED);
    if (d.chip.irq_disable) {
      d.chip.irq_disable(d);
      irqd_set(d, IRQD_IRQ_MASKED);
    } else if (mask) {
      mask_irq(desc);
    }
  }
}

// kernel/irq/chip.c: irq_disable(): lazy unless IRQ_DISABLE_UNLAZY
export function irq_disable(desc: irq_desc): void {
  __irq_disable(desc, irq_settings_disable_unlazy(desc));
}

// kernel/irq/chip.c: irq_percpu_enable()
export function irq_percpu_enable(desc: irq_desc, cpu: number): void {
  const d = desc.irq_data;
  if (d.chip.irq_enable) d.chip.irq_enable(d);
  else d.chip.irq_unmask!(d);
  if (desc.percpu_enabled) cpumask_set_cpu(cpu, desc.percpu_enabled);
}

// kernel/irq/chip.c: irq_percpu_disable()
export function irq_percpu_disable(desc: irq_desc, cpu: number): void {
  const d = desc.irq_data;
  if (d.chip.irq_disable) d.chip.irq_disable(d);
  else d.chip.irq_mask!(d);
  if (desc.percpu_enabled) cpumask_clear_cpu(cpu, desc.percpu_enabled);
}

// kernel/irq/chip.c: irq_state_clr_started()/set_started()
function irq_state_set_started(desc: irq_desc): void {
  irqd_set(desc.irq_data, IRQD_IRQ_STARTED);
}
function irq_state_clr_started(desc: irq_desc): void {
  irqd_clear(desc.irq_data, IRQD_IRQ_STARTED);
}

// kernel/irq/chip.c: __irq_startup()
function __irq_startup(desc: irq_desc): number {
  const d = desc.irq_data;
  let ret = 0;
  WARN_ON_ONCE(!irqd_is_activated(d), { fn: "__irq_startup" });
  if (d.chip.irq_startup) {
    ret = d.chip.irq_startup(d);
    irqd_clear(d, IRQD_IRQ_DISABLED | IRQD_IRQ_MASKED);
    irq_state_set_started(desc);
  } else {
    irq_enable(desc);
    irq_state_set_started(desc);
  }
  return ret;
}

const IRQ_STARTUP_NORMAL = 0;
const IRQ_STARTUP_MANAGED = 1;
const IRQ_STARTUP_ABORT = 2;

// kernel/irq/chip.c: __irq_startup_managed()
function __irq_startup_managed(desc: irq_desc, aff: cpumask, force: boolean): number {
  const d = desc.irq_data;
  if (!irqd_affinity_is_managed(d)) return IRQ_STARTUP_NORMAL;
  irqd_clear(d, IRQD_MANAGED_SHUTDOWN);
  const tmp = new cpumask(aff.nbits);
  if (!cpumask_and(tmp, aff, cpu_online_mask())) {
    // Catch code which fiddles with enable_irq() on a managed and
    // potentially shutdown IRQ. Chained interrupt installment or irq
    // hardware init via request_irq() go through here too.
    if (WARN_ON_ONCE(force, { fn: "__irq_startup_managed" })) return IRQ_STARTUP_ABORT;
    return IRQ_STARTUP_ABORT;
  }
  if (WARN_ON(irq_domain_activate_irq(d, false))) return IRQ_STARTUP_ABORT;
  return IRQ_STARTUP_MANAGED;
}

// kernel/irq/chip.c: irq_startup()
export function irq_startup(desc: irq_desc, resend: boolean, force: boolean): number {
  const d = desc.irq_data;
  const aff = d.common.affinity;
  let ret = 0;
  desc.depth = 0;
  if (irqd_is_started(d)) {
    irq_enable(desc);
  } else {
    switch (__irq_startup_managed(desc, aff, force)) {
      case IRQ_STARTUP_NORMAL:
        if ((d.chip.flags ?? 0) & IRQCHIP_AFFINITY_PRE_STARTUP) irq_setup_affinity(desc);
        ret = __irq_startup(desc);
        if (!((d.chip.flags ?? 0) & IRQCHIP_AFFINITY_PRE_STARTUP)) irq_setup_affinity(desc);
        break;
      case IRQ_STARTUP_MANAGED:
        irq_do_set_affinity(d, aff, false);
        ret = __irq_startup(desc);
        break;
      case IRQ_STARTUP_ABORT:
        desc.depth = 1;
        irqd_set(d, IRQD_MANAGED_SHUTDOWN);
        return 0;
    }
  }
  if (resend) check_irq_resend(desc, false);
  return ret;
}

// kernel/irq/chip.c: irq_activate()
export function irq_activate(desc: irq_desc): number {
  const d = desc.irq_data;
  if (!irqd_affinity_is_managed(d)) return irq_domain_activate_irq(d, false);
  return 0;
}

// kernel/irq/chip.c: irq_activate_and_startup()
export function irq_activate_and_startup(desc: irq_desc, resend: boolean): number {
  if (WARN_ON(irq_activate(desc))) return 0;
  return irq_startup(desc, resend, true);
}

// kernel/irq/chip.c: irq_shutdown()
export function irq_shutdown(desc: irq_desc): void {
  if (irqd_is_started(desc.irq_data)) {
    clear_irq_resend(desc);
    // Increment disable depth, so that a managed shutdown on CPU hotunplug
    // preserves the disable state of the interrupt (6.16+).
    desc.depth++;
    const d = desc.irq_data;
    if (d.chip.irq_shutdown) {
      d.chip.irq_shutdown(d);
      irqd_set(d, IRQD_IRQ_DISABLED | IRQD_IRQ_MASKED);
    } else {
      __irq_disable(desc, true);
    }
    irq_state_clr_started(desc);
  }
}

// kernel/irq/chip.c: irq_shutdown_and_deactivate()
export function irq_shutdown_and_deactivate(desc: irq_desc): void {
  irq_shutdown(desc);
  // This must be called even if the interrupt was never started up,
  // because the activation can happen before the interrupt is available
  // for request/startup. It has its own state tracking so it's safe to
  // call it unconditionally.
  irq_domain_deactivate_irq(desc.irq_data);
}

// kernel/irq/chip.c: irq_startup_managed() (CPU hotplug online path)
export function irq_startup_managed(desc: irq_desc): void {
  const d = desc.irq_data;
  irqd_clear(d, IRQD_MANAGED_SHUTDOWN);
  // Only start it up when the disable depth is 1, so that a disable,
  // hotunplug, hotplug sequence does not end up enabling it during hotplug
  // unconditionally.
  desc.depth--;
  if (!desc.depth) irq_startup(desc, true, false);
}

/* ----------------------------------------------------------- handlers */

const chained_action = Object.assign(new irqaction(), { handler: chained_action_handler, name: "chained-irq" });

// kernel/irq/chip.c: __irq_do_set_handler()
function __irq_do_set_handler(desc: irq_desc, handle: irq_flow_handler_t | null, is_chained: boolean, name: string | null): void {
  if (!handle) {
    handle = handle_bad_irq;
  } else {
    let d: irq_data | null = desc.irq_data;
    // With hierarchical domains we might run into a situation where the
    // outermost chip is not yet set up, but the inner ones are.
    while (d && irq_chip_is_none(d.chip)) {
      // Bail out if the outer chip is not set up and the interrupt is
      // supposed to be started right away.
      if (WARN_ON(is_chained)) return;
      d = d.parent_data;
    }
    if (WARN_ON(!d || irq_chip_is_none(d.chip))) return;
  }
  if (handle === handle_bad_irq) {
    if (!irq_chip_is_none(desc.irq_data.chip)) mask_ack_irq(desc);
    irqd_set(desc.irq_data, IRQD_IRQ_DISABLED);
    if (is_chained) desc.action = null;
    desc.depth = 1;
  }
  desc.handle_irq = handle;
  desc.name = name;
  if (handle !== handle_bad_irq && is_chained) {
    const type = irqd_get_trigger(desc);
    // We're about to start this interrupt immediately, hence the need to
    // set the trigger configuration.
    if (type !== IRQ_TYPE_NONE) {
      __irq_set_trigger(desc, type);
      desc.handle_irq = handle;
    }
    irq_settings_set_noprobe(desc);
    irq_settings_set_norequest(desc);
    irq_settings_set_nothread(desc);
    desc.action = chained_action;
    irq_activate_and_startup(desc, true);
  }
}

function irqd_get_trigger(desc: irq_desc): number {
  return desc.irq_common_data.state_use_accessors & IRQD_TRIGGER_MASK;
}

// kernel/irq/chip.c: __irq_set_handler()
export function __irq_set_handler(irq: number, handle: irq_flow_handler_t | null, is_chained: boolean, name: string | null): void {
  const desc = irq_to_desc(irq);
  if (!desc) return;
  const flags = raw_spin_lock_irqsave(desc.lock, 0, __irq_set_handler_ip);
  __irq_do_set_handler(desc, handle, is_chained, name);
  raw_spin_unlock_irqrestore(desc.lock, flags);
}

export function irq_set_handler(irq: number, handle: irq_flow_handler_t | null): void {
  __irq_set_handler(irq, handle, false, null);
}

/** irq_set_chained_handler_and_data() */
export function irq_set_chained_handler_and_data(irq: number, handle: irq_flow_handler_t | null, data: unknown): void {
  const desc = irq_to_desc(irq);
  if (!desc) return;
  const flags = raw_spin_lock_irqsave(desc.lock, 0, irq_set_chained_handler_and_data_ip);
  desc.irq_common_data.handler_data = data;
  __irq_do_set_handler(desc, handle, true, null);
  raw_spin_unlock_irqrestore(desc.lock, flags);
}

export function irq_set_chained_handler(irq: number, handle: irq_flow_handler_t | null): void {
  __irq_set_handler(irq, handle, true, null);
}

// kernel/irq/chip.c: irq_set_chip_and_handler_name()
export function irq_set_chip_and_handler_name(irq: number, chip: irq_chip | null, handle: irq_flow_handler_t | null, name: string | null): void {
  irq_set_chip(irq, chip);
  __irq_set_handler(irq, handle, false, name);
}

export function irq_set_chip_and_handler(irq: number, chip: irq_chip | null, handle: irq_flow_handler_t | null): void {
  irq_set_chip_and_handler_name(irq, chip, handle, null);
}

// kernel/irq/chip.c: irq_modify_status()
export function irq_modify_status(irq: number, clr: number, set: number): void {
  const desc = irq_to_desc(irq);
  if (!desc) return;
  const flags = raw_spin_lock_irqsave(desc.lock, 0, irq_modify_status_ip);
  // Warn when a driver sets the no autoenable flag on an already active interrupt.
  WARN_ON_ONCE(!desc.depth && set & IRQ_NOAUTOEN, { fn: "irq_modify_status" });
  irq_settings_clr_and_set(desc, clr, set);
  const d = desc.irq_data;
  const trigger = irqd_get_trigger(desc);
  irqd_clear(d, IRQD_NO_BALANCING | IRQD_PER_CPU | IRQD_TRIGGER_MASK | IRQD_LEVEL);
  if (irq_settings_has_no_balance_set(desc)) irqd_set(d, IRQD_NO_BALANCING);
  if (irq_settings_is_per_cpu(desc)) irqd_set(d, IRQD_PER_CPU);
  if (irq_settings_is_level(desc)) irqd_set(d, IRQD_LEVEL);
  let tmp = irq_settings_get_trigger_mask(desc);
  if (tmp !== IRQ_TYPE_NONE) {
    // keep the trigger the settings hold
  } else tmp = trigger;
  d.common.state_use_accessors |= tmp;
  raw_spin_unlock_irqrestore(desc.lock, flags);
}

export function irq_set_status_flags(irq: number, set: number): void {
  irq_modify_status(irq, 0, set);
}
export function irq_clear_status_flags(irq: number, clr: number): void {
  irq_modify_status(irq, clr, 0);
}
export function irq_set_noprobe(irq: number): void {
  irq_modify_status(irq, 0, IRQ_NOPROBE);
}
export function irq_set_probe(irq: number): void {
  irq_modify_status(irq, IRQ_NOPROBE, 0);
}
export function irq_set_nothread(irq: number): void {
  irq_modify_status(irq, 0, IRQ_NOTHREAD);
}
export function irq_set_nested_thread(irq: number, nest: boolean): void {
  if (nest) irq_modify_status(irq, 0, 1 << 15);
  else irq_modify_status(irq, 1 << 15, 0);
}
export function irq_set_noautoen(irq: number): void {
  irq_modify_status(irq, 0, IRQ_NOAUTOEN);
}
export function irq_clear_norequest(irq: number): void {
  irq_modify_status(irq, IRQ_NOREQUEST, 0);
}
void IRQ_LEVEL;
void IRQ_PER_CPU;
void IRQ_NO_BALANCING;

/** irq_set_irq_type() is in manage_state.ts with the other bus-locked setters. */
export function irq_get_trigger_type(irq: number): number {
  const desc = irq_to_desc(irq);
  return desc ? irqd_get_trigger(desc) : 0;
}

/** Record a trigger type on the irq_data without calling the chip (irqd_set_trigger_type()). */
export function irq_set_trigger_type_only(d: irq_data, type: number): void {
  irqd_set_trigger_type(d, type);
}

/** Is the interrupt configured level (IRQD_LEVEL)? */
export function irq_is_level(desc: irq_desc): boolean {
  return (desc.irq_common_data.state_use_accessors & IRQD_LEVEL) !== 0;
}

/** Record a managed affinity on a descriptor (used by irq_update_affinity_desc()). */
export function irq_set_managed(desc: irq_desc, mask: cpumask): void {
  irqd_set(desc.irq_data, IRQD_AFFINITY_MANAGED | IRQD_MANAGED_SHUTDOWN);
  cpumask_copy(desc.irq_common_data.affinity, mask);
}

void K;
void WARN;
void cpumask_empty;
void irqd_irq_disabled;
