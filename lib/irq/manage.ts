// SPDX-License-Identifier: GPL-2.0-only
// kernel/irq/manage.c: requesting and freeing interrupts (B1-B11). The bus
// lock helpers, synchronize, disable/enable, trigger type, wake and irqchip
// state are in manage_state.ts and re-exported here; threads are in
// manage_thread.ts, affinity in manage_affinity.ts.
//
// Functions that take the bus lock may sleep for slow-bus chips, so they are
// async; they await only where the chip's irq_bus_lock/irq_bus_sync_unlock
// really returns a promise, so with other chips their effects are complete
// when they return, as in C.

import { site_of } from "../kernel/stacktrace.ts";
import { K } from "../kernel/kernel.ts";
import { EBUSY, EINVAL, ENODEV, ENOSYS, ENOTCONN } from "../kernel/errno.ts";
import { WARN, WARN_ON, WARN_ON_ONCE } from "../kernel/bug.ts";
import { pr_err, pr_warn } from "../kernel/printk.ts";
import { raw_spin_lock_irqsave, raw_spin_unlock_irqrestore } from "../kernel/spinlock.ts";
import { __mutex_lock, mutex_unlock } from "../kernel/mutex.ts";
import { wake_up_process } from "../kernel/sched.ts";
import { wait_event } from "../kernel/wait.ts";
import { in_interrupt } from "../kernel/context.ts";
import { kthread_stop } from "../kernel/kthread.ts";
import {
  irqd_clear,
  irqd_get_trigger_type,
  irqd_irq_disabled,
  irqd_irq_masked,
  irqd_set,
  irqd_set_trigger_type,
  irqd_trigger_type_was_set,
  IRQ_SET_MASK_OK_DONE,
  IRQ_SET_MASK_OK_NOCOPY,
  IRQCHIP_ONESHOT_SAFE,
  IRQD_IRQ_INPROGRESS,
  IRQD_NO_BALANCING,
  IRQD_PER_CPU,
} from "./irq.ts";
import {
  irqaction,
  IRQF_COND_ONESHOT,
  IRQF_COND_SUSPEND,
  IRQF_NO_AUTOEN,
  IRQF_NO_DEBUG,
  IRQF_NO_SUSPEND,
  IRQF_NOBALANCING,
  IRQF_ONESHOT,
  IRQF_PERCPU,
  IRQF_PROBE_SHARED,
  IRQF_SHARED,
  IRQF_TRIGGER_MASK,
  IRQ_NOTCONNECTED,
  IRQC_IS_HARDIRQ,
  IRQC_IS_NESTED,
  type irq_handler_t,
  type irq_thread_fn_t,
} from "./interrupt.ts";
import {
  IRQS_AUTODETECT,
  IRQS_NMI,
  IRQS_ONESHOT,
  IRQS_SPURIOUS_DISABLED,
  IRQS_WAITING,
  IRQ_RESEND,
  IRQ_START_COND,
  irq_settings_can_autoenable,
  irq_settings_can_request,
  irq_settings_can_thread,
  irq_settings_clr_disable_unlazy,
  irq_settings_is_nested_thread,
  irq_settings_is_per_cpu_devid,
  irq_settings_set_no_balancing,
  irq_settings_set_no_debug,
  irq_settings_set_per_cpu,
} from "./internals.ts";
import { irq_get_desc_checked, irq_to_desc, IRQ_GET_DESC_CHECK_GLOBAL, IRQ_GET_DESC_CHECK_PERCPU, type irq_desc } from "./irqdesc.ts";
import { irq_activate, irq_chip_is_none, irq_chip_pm_get, irq_chip_pm_put, irq_shutdown, irq_startup } from "./chip.ts";
import { irq_domain_deactivate_irq } from "./irqdomain.ts";
import { irq_pm_install_action, irq_pm_remove_action } from "./pm.ts";
import { irq_default_primary_handler, irq_nested_primary_handler, irq_setup_forced_threading, setup_irq_thread } from "./manage_thread.ts";
import { register_handler_proc, register_irq_proc, unregister_handler_proc } from "./proc_hooks.ts";
import { trace_api_enter, trace_api_exit } from "./trace.ts";
import { __synchronize_hardirq, chip_bus_lock, chip_bus_sync_unlock, __enable_irq, __irq_set_trigger } from "./manage_state.ts";

export {
  chip_bus_lock,
  chip_bus_sync_unlock,
  irq_get_desc_buslock,
  irq_put_desc_busunlock,
  __irq_get_irqchip_state,
  synchronize_hardirq,
  synchronize_irq,
  __disable_irq,
  disable_irq_nosync,
  disable_irq,
  disable_hardirq,
  __enable_irq,
  enable_irq,
  __irq_set_trigger,
  irq_set_irq_type,
  irq_set_irq_wake,
  enable_irq_wake,
  disable_irq_wake,
  irq_get_irqchip_state,
  irq_set_irqchip_state,
} from "./manage_state.ts";
export { IRQ_GET_DESC_CHECK_GLOBAL, IRQ_GET_DESC_CHECK_PERCPU };
export {
  irq_do_set_affinity,
  irq_setup_affinity,
  irq_set_affinity,
  irq_force_affinity,
  irq_set_affinity_locked,
  irq_can_set_affinity,
  irq_can_set_affinity_usr,
} from "./manage_affinity.ts";

// lockdep's "at:" (the _RET_IP_) of the locks the functions below take
const can_request_irq_ip = site_of(can_request_irq);
const __setup_irq_ip = site_of(__setup_irq);
const __free_irq_ip = site_of(__free_irq);


/* ---------------------------------------------------------- small helpers */

// kernel/irq/manage.c: can_request_irq()
export function can_request_irq(irq: number, irqflags: number): boolean {
  const desc = irq_get_desc_checked(irq, IRQ_GET_DESC_CHECK_GLOBAL);
  if (!desc) return false;
  const flags = raw_spin_lock_irqsave(desc.lock, 0, can_request_irq_ip);
  let canrequest = false;
  if (irq_settings_can_request(desc)) {
    if (!desc.action || irqflags & desc.action.flags & IRQF_SHARED) canrequest = true;
  }
  raw_spin_unlock_irqrestore(desc.lock, flags);
  return canrequest;
}

// kernel/irq/manage.c: irq_set_parent()
export function irq_set_parent(irq: number, parent_irq: number): number {
  const desc = irq_to_desc(irq);
  if (!desc) return -EINVAL;
  desc.parent_irq = parent_irq;
  return 0;
}

export function irq_has_action(irq: number): boolean {
  return irq_to_desc(irq)?.action !== null && irq_to_desc(irq) !== null;
}

export function irq_check_status_bit(irq: number, bitmask: number): boolean {
  const desc = irq_to_desc(irq);
  return desc !== null && (desc.status_use_accessors & bitmask) !== 0;
}

/* --------------------------------------------------------------- request */

// kernel/irq/manage.c: irq_request_resources()
function irq_request_resources(desc: irq_desc): number {
  const d = desc.irq_data;
  return d.chip.irq_request_resources ? d.chip.irq_request_resources(d) : 0;
}

// kernel/irq/manage.c: irq_release_resources()
function irq_release_resources(desc: irq_desc): void {
  const d = desc.irq_data;
  if (d.chip.irq_release_resources) d.chip.irq_release_resources(d);
}

/** global noirqdebug (kernel/irq/spurious.c) */
function noirqdebug(): boolean {
  return K.config.noirqdebug;
}

// kernel/irq/manage.c: __setup_irq() (B4)
export async function __setup_irq(irq: number, desc: irq_desc | null, nw: irqaction): Promise<number> {
  if (!desc) return -EINVAL;
  if (irq_chip_is_none(desc.irq_data.chip)) return -ENOSYS;
  nw.irq = irq;
  // If the trigger type is not specified by the caller, then use the
  // default for this interrupt.
  if (!(nw.flags & IRQF_TRIGGER_MASK)) nw.flags |= irqd_get_trigger_type(desc.irq_data);
  // Check whether the interrupt nests into another interrupt thread.
  const nested = irq_settings_is_nested_thread(desc);
  let ret: number;
  if (nested) {
    if (!nw.thread_fn) return -EINVAL;
    // Replace the primary handler which was provided from the driver for
    // non nested interrupt handling by the dummy function which warns when
    // called.
    nw.handler = irq_nested_primary_handler;
  } else if (irq_settings_can_thread(desc)) {
    ret = irq_setup_forced_threading(nw);
    if (ret) return ret;
  }
  // Create a handler thread when a thread function is supplied and the
  // interrupt does not nest into another interrupt thread.
  if (nw.thread_fn && !nested) {
    ret = setup_irq_thread(nw, irq, false);
    if (ret) return ret;
    if (nw.secondary) {
      ret = setup_irq_thread(nw.secondary, irq, true);
      if (ret) {
        await stop_threads(nw);
        return ret;
      }
    }
  }
  // Drivers are often written to work w/o knowledge about the underlying
  // irq chip implementation, so a request for a threaded irq without a
  // primary hard irq context handler requires the ONESHOT flag to be set.
  // Some irq chips like MSI based interrupts are per se one shot safe.
  // Check the chip flags, so we can avoid the unmask dance at the end of
  // the threaded handler for those.
  if ((desc.irq_data.chip.flags ?? 0) & IRQCHIP_ONESHOT_SAFE) nw.flags &= ~IRQF_ONESHOT;

  // Protects against a concurrent __free_irq() call which might wait for
  // synchronize_hardirq() to complete without holding the optional chip
  // bus lock and desc->lock. Also protects against handing out a recycled
  // oneshot thread_mask bit while it's still in use by its previous owner.
  const ml = __mutex_lock(desc.request_mutex, 0, __setup_irq_ip);
  if (ml) await ml;
  // Acquire bus lock as the irq_request_resources() callback below might
  // rely on the serialization or the magic power management functions
  // which are invoked via irq_bus_lock() / irq_bus_sync_unlock().
  const bl = chip_bus_lock(desc);
  if (bl) await bl;

  // First installed action requests resources.
  if (!desc.action) {
    ret = irq_request_resources(desc);
    if (ret) {
      pr_err("genirq: Failed to request resources for %s (irq %d) on irqchip %s\n", nw.name, irq, desc.irq_data.chip.name);
      return out_bus_unlock(desc, nw, ret);
    }
  }

  // The following block of code has to be executed atomically protected
  // against a concurrent interrupt and any of the other management calls
  // which are not serialized via desc->request_mutex.
  const flags = raw_spin_lock_irqsave(desc.lock, 0, __setup_irq_ip);
  let old = desc.action;
  let shared = false;
  let thread_mask = 0n;
  const mismatch = (): Promise<number> => {
    if (!(nw.flags & IRQF_PROBE_SHARED)) {
      pr_err("genirq: Flags mismatch irq %d. %08x (%s) vs. %08x (%s)\n", irq, nw.flags, nw.name, old!.flags, old!.name);
    }
    return out_unlock(desc, nw, flags, -EBUSY);
  };
  if (old) {
    // Can't share interrupts unless both agree to and are the same type
    // (level, edge, polarity). So both flag fields must have IRQF_SHARED
    // set and the bits which set the trigger type must match. Also all
    // must agree on ONESHOT. Interrupt lines used for NMIs cannot be shared.
    if (desc.istate & IRQS_NMI) {
      pr_err("genirq: Invalid attempt to share NMI for %s (irq %d) on irqchip %s.\n", nw.name, irq, desc.irq_data.chip.name);
      return out_unlock(desc, nw, flags, -EINVAL);
    }
    let oldtype: number;
    // If nobody did set the configuration before, inherit the one provided
    // by the requester.
    if (irqd_trigger_type_was_set(desc.irq_data)) {
      oldtype = irqd_get_trigger_type(desc.irq_data);
    } else {
      oldtype = nw.flags & IRQF_TRIGGER_MASK;
      irqd_set_trigger_type(desc.irq_data, oldtype);
    }
    if (!(old.flags & nw.flags & IRQF_SHARED) || oldtype !== (nw.flags & IRQF_TRIGGER_MASK)) return mismatch();
    if (old.flags & IRQF_ONESHOT && nw.flags & IRQF_COND_ONESHOT) nw.flags |= IRQF_ONESHOT;
    else if ((old.flags ^ nw.flags) & IRQF_ONESHOT) return mismatch();
    // All handlers must agree on per-cpuness
    if ((old.flags & IRQF_PERCPU) !== (nw.flags & IRQF_PERCPU)) return mismatch();
    // add new interrupt at end of irq queue
    for (let a: irqaction | null = old; a; a = a.next) {
      // Or all existing action->thread_mask bits, so we can find the next
      // zero bit for this new action.
      thread_mask |= a.thread_mask;
      old = a;
    }
    shared = true;
  }

  // Setup the thread mask for this irqaction for ONESHOT. For !ONESHOT
  // irqs the thread mask is 0 so we can avoid a conditional in
  // irq_wake_thread().
  if (nw.flags & IRQF_ONESHOT) {
    // Unlikely to have 32 resp 64 irqs sharing one line, but who knows.
    // ~0UL: BITS_PER_LONG is 64 on x86-64
    if (thread_mask === (1n << 64n) - 1n) return out_unlock(desc, nw, flags, -EBUSY);
    // The thread_mask for the action is or'ed to desc->thread_active to
    // indicate that the IRQF_ONESHOT thread handler has been woken, but
    // not yet finished.
    let bit = 0n;
    while (thread_mask & (1n << bit)) bit++;
    nw.thread_mask = 1n << bit;
  } else if (nw.handler === irq_default_primary_handler && !((desc.irq_data.chip.flags ?? 0) & IRQCHIP_ONESHOT_SAFE)) {
    // The interrupt was requested with handler = NULL, so we use the
    // default primary handler for it. But it does not have the oneshot
    // flag set. In combination with level interrupts this is deadly,
    // because the default primary handler just wakes the thread, then
    // the irq lines is reenabled, but the device still has the level irq
    // asserted. Rinse and repeat....
    pr_err("genirq: Threaded irq requested with handler=NULL and !ONESHOT for %s (irq %d)\n", nw.name, irq);
    return out_unlock(desc, nw, flags, -EINVAL);
  }

  if (!shared) {
    // Setup the type (level, edge polarity) if configured:
    if (nw.flags & IRQF_TRIGGER_MASK) {
      ret = __irq_set_trigger(desc, nw.flags & IRQF_TRIGGER_MASK);
      if (ret) return out_unlock(desc, nw, flags, ret);
    }
    // Activate the interrupt. That activation must happen independently
    // of IRQ_NOAUTOEN. request_irq() can be used with IRQ_NOAUTOEN set
    // and the caller expects the interrupt to be activated.
    ret = irq_activate(desc);
    if (ret) return out_unlock(desc, nw, flags, ret);
    desc.istate &= ~(IRQS_AUTODETECT | IRQS_SPURIOUS_DISABLED | IRQS_ONESHOT | IRQS_WAITING);
    irqd_clear(desc.irq_data, IRQD_IRQ_INPROGRESS);
    if (nw.flags & IRQF_PERCPU) {
      irqd_set(desc.irq_data, IRQD_PER_CPU);
      irq_settings_set_per_cpu(desc);
      if (nw.flags & IRQF_NO_DEBUG) irq_settings_set_no_debug(desc);
    }
    if (noirqdebug()) irq_settings_set_no_debug(desc);
    if (nw.flags & IRQF_ONESHOT) desc.istate |= IRQS_ONESHOT;
    // Exclude IRQ from balancing if requested
    if (nw.flags & IRQF_NOBALANCING) {
      irq_settings_set_no_balancing(desc);
      irqd_set(desc.irq_data, IRQD_NO_BALANCING);
    }
    if (!(nw.flags & IRQF_NO_AUTOEN) && irq_settings_can_autoenable(desc)) {
      irq_startup(desc, IRQ_RESEND, IRQ_START_COND);
    } else {
      // Shared interrupts do not go well with disabling auto enable. The
      // sharing interrupt might request it while it's still disabled and
      // then wait for interrupts forever.
      WARN_ON_ONCE(nw.flags & IRQF_SHARED, { fn: "__setup_irq" });
      // Undo nested disables:
      desc.depth = 1;
    }
  } else if (nw.flags & IRQF_TRIGGER_MASK) {
    const nmsk = nw.flags & IRQF_TRIGGER_MASK;
    const omsk = irqd_get_trigger_type(desc.irq_data);
    // hope the handler works with current trigger mode
    if (nmsk !== omsk) pr_warn("genirq: irq %d uses trigger mode %u; requested %u\n", irq, omsk, nmsk);
  }
  if (old && shared) old.next = nw;
  else desc.action = nw;
  irq_pm_install_action(desc, nw);
  // Reset broken irq detection when installing new handler
  desc.irq_count = 0;
  desc.irqs_unhandled = 0;
  // Check whether we disabled the irq via the spurious handler before.
  // Reenable it and give it another chance.
  if (shared && desc.istate & IRQS_SPURIOUS_DISABLED) {
    desc.istate &= ~IRQS_SPURIOUS_DISABLED;
    __enable_irq(desc);
  }
  raw_spin_unlock_irqrestore(desc.lock, flags);
  const su = chip_bus_sync_unlock(desc);
  if (su) await su;
  mutex_unlock(desc.request_mutex);
  // Strictly no need to wake it up, but hung_task complains when no hard
  // interrupt wakes the thread up.
  if (nw.thread) await wake_and_wait_ready(desc, nw);
  if (nw.secondary?.thread) await wake_and_wait_ready(desc, nw.secondary);
  register_irq_proc(irq, desc);
  register_handler_proc(irq, nw);
  return 0;
}

// kernel/irq/manage.c: wake_up_and_wait_for_irq_thread_ready()
async function wake_and_wait_ready(desc: irq_desc, action: irqaction): Promise<void> {
  if (!action.thread) return;
  wake_up_process(action.thread);
  const READY = 1 << 4;
  await wait_event(desc.wait_for_threads, () => (action.thread_flags & READY) !== 0);
}

async function stop_threads(nw: irqaction): Promise<void> {
  if (nw.thread) {
    const t = nw.thread;
    nw.thread = null;
    await kthread_stop(t);
  }
  if (nw.secondary?.thread) {
    const t = nw.secondary.thread;
    nw.secondary.thread = null;
    await kthread_stop(t);
  }
}

// __setup_irq()'s unwind: out_unlock, out_bus_unlock, out_mutex, out_thread
async function out_unlock(desc: irq_desc, nw: irqaction, flags: number, ret: number): Promise<number> {
  raw_spin_unlock_irqrestore(desc.lock, flags);
  if (!desc.action) irq_release_resources(desc);
  return out_bus_unlock(desc, nw, ret);
}

async function out_bus_unlock(desc: irq_desc, nw: irqaction, ret: number): Promise<number> {
  const su = chip_bus_sync_unlock(desc);
  if (su) await su;
  mutex_unlock(desc.request_mutex);
  await stop_threads(nw);
  return ret;
}

// kernel/irq/manage.c: request_threaded_irq() (B2)
export async function request_threaded_irq(
  irq: number,
  handler: irq_handler_t | null,
  thread_fn: irq_thread_fn_t | null,
  irqflags: number,
  devname: string,
  dev_id: unknown,
): Promise<number> {
  if (irq === IRQ_NOTCONNECTED) return -ENOTCONN;
  trace_api_enter("request_threaded_irq", irq);
  const ret = await __request_threaded_irq(irq, handler, thread_fn, irqflags, devname, dev_id);
  trace_api_exit("request_threaded_irq", irq, ret);
  return ret;
}

async function __request_threaded_irq(
  irq: number,
  handler: irq_handler_t | null,
  thread_fn: irq_thread_fn_t | null,
  irqflags: number,
  devname: string,
  dev_id: unknown,
): Promise<number> {
  // Sanity-check: shared interrupts must pass in a real dev-ID, otherwise
  // we'll have trouble later trying to figure out which interrupt is which
  // (messes up the interrupt freeing logic etc). Also shared interrupts do
  // not go well with disabling auto enable. The sharing interrupt might
  // request it while it's still disabled and then wait for interrupts
  // forever. Also IRQF_COND_SUSPEND only makes sense for shared interrupts
  // and it cannot be set along with IRQF_NO_SUSPEND.
  if (
    (irqflags & IRQF_SHARED && !dev_id) ||
    (irqflags & IRQF_SHARED && irqflags & IRQF_NO_AUTOEN) ||
    (!(irqflags & IRQF_SHARED) && irqflags & IRQF_COND_SUSPEND) ||
    (irqflags & IRQF_NO_SUSPEND && irqflags & IRQF_COND_SUSPEND)
  ) {
    return -EINVAL;
  }
  const desc = irq_to_desc(irq);
  if (!desc) return -EINVAL;
  if (!irq_settings_can_request(desc) || WARN_ON(irq_settings_is_per_cpu_devid(desc), { fn: "request_threaded_irq" })) return -EINVAL;
  if (!handler) {
    if (!thread_fn) return -EINVAL;
    handler = irq_default_primary_handler;
  }
  const action = new irqaction();
  action.handler = handler;
  action.thread_fn = thread_fn;
  action.flags = irqflags;
  action.name = devname;
  action.dev_id = dev_id;
  const pm = irq_chip_pm_get(desc.irq_data);
  if (pm < 0) return pm;
  const retval = await __setup_irq(irq, desc, action);
  if (retval) irq_chip_pm_put(desc.irq_data);
  return retval;
}

/** request_irq(): request_threaded_irq() with IRQF_COND_ONESHOT added (B1, 6.9+). */
export function request_irq(irq: number, handler: irq_handler_t | null, flags: number, name: string, dev: unknown): Promise<number> {
  return request_threaded_irq(irq, handler, null, flags | IRQF_COND_ONESHOT, name, dev);
}

// kernel/irq/manage.c: request_any_context_irq() (B3)
export async function request_any_context_irq(irq: number, handler: irq_handler_t, flags: number, name: string, dev_id: unknown): Promise<number> {
  if (irq === IRQ_NOTCONNECTED) return -ENOTCONN;
  const desc = irq_to_desc(irq);
  if (!desc) return -EINVAL;
  if (irq_settings_is_nested_thread(desc)) {
    const ret = await request_threaded_irq(irq, null, handler as irq_thread_fn_t, flags, name, dev_id);
    return !ret ? IRQC_IS_NESTED : ret;
  }
  const ret = await request_irq(irq, handler, flags, name, dev_id);
  return !ret ? IRQC_IS_HARDIRQ : ret;
}

/* ----------------------------------------------------------------- free */

// kernel/irq/manage.c: __free_irq() (B11)
async function __free_irq(desc: irq_desc, dev_id: unknown): Promise<irqaction | null> {
  const irq = desc.irq_data.irq;
  WARN(in_interrupt(), "Trying to free IRQ %d from IRQ context!\n", irq);
  const ml = __mutex_lock(desc.request_mutex, 0, __free_irq_ip);
  if (ml) await ml;
  const bl = chip_bus_lock(desc);
  if (bl) await bl;
  let flags = raw_spin_lock_irqsave(desc.lock, 0, __free_irq_ip);
  // There can be multiple actions per IRQ descriptor, find the right one
  // based on the dev_id:
  let prev: irqaction | null = null;
  let action = desc.action;
  for (;;) {
    if (!action) {
      WARN(1, "Trying to free already-free IRQ %d\n", irq);
      raw_spin_unlock_irqrestore(desc.lock, flags);
      const su = chip_bus_sync_unlock(desc);
      if (su) await su;
      mutex_unlock(desc.request_mutex);
      return null;
    }
    if (action.dev_id === dev_id) break;
    prev = action;
    action = action.next;
  }
  // Found it - now remove it from the action list
  if (prev) prev.next = action.next;
  else desc.action = action.next;
  irq_pm_remove_action(desc, action);
  // If this was the last handler, shut down the IRQ line:
  if (!desc.action) {
    irq_settings_clr_disable_unlazy(desc);
    // Only shutdown. Deactivate after synchronize_hardirq()
    irq_shutdown(desc);
  }
  // make sure affinity_hint is cleaned up
  if (WARN_ON_ONCE(desc.affinity_hint, { fn: "__free_irq" })) desc.affinity_hint = null;
  raw_spin_unlock_irqrestore(desc.lock, flags);
  // Drop bus_lock here so the changes which were done in the chip callbacks
  // above are synced out to the irq chips which hang behind a slow bus
  // (I2C, SPI) before calling synchronize_hardirq().
  let su = chip_bus_sync_unlock(desc);
  if (su) await su;
  unregister_handler_proc(irq, action);
  // Make sure it's not being used on another CPU and if the chip supports
  // it also make sure that there is no (not yet serviced) interrupt in
  // flight at the hardware level.
  if (!irqlab_skip_free_synchronize) __synchronize_hardirq(desc, true);
  // The action has already been removed above, but the thread writes its
  // oneshot mask bit when it completes. Though request_mutex is held across
  // this which prevents __setup_irq() from handing out the same bit to a
  // newly requested action.
  if (action.thread) {
    await kthread_stop(action.thread);
    if (action.secondary?.thread) await kthread_stop(action.secondary.thread);
  }
  // Last action releases resources
  if (!desc.action) {
    // Reacquire bus lock as irq_release_resources() might require it to
    // deallocate resources over the slow bus.
    const bl2 = chip_bus_lock(desc);
    if (bl2) await bl2;
    // There is no interrupt on the fly anymore. Deactivate it completely.
    flags = raw_spin_lock_irqsave(desc.lock, 0, __free_irq_ip);
    irq_domain_deactivate_irq(desc.irq_data);
    raw_spin_unlock_irqrestore(desc.lock, flags);
    irq_release_resources(desc);
    su = chip_bus_sync_unlock(desc);
    if (su) await su;
  }
  mutex_unlock(desc.request_mutex);
  irq_chip_pm_put(desc.irq_data);
  return action;
}

let irqlab_skip_free_synchronize = false;

/**
 * irqlab test hook (test/mutants): make __free_irq() skip its
 * __synchronize_hardirq(), the bug of a free_irq() that returns while the
 * handler still runs on another CPU. Returns the previous setting.
 */
export function irqlab_free_irq_skip_synchronize(skip: boolean): boolean {
  const old = irqlab_skip_free_synchronize;
  irqlab_skip_free_synchronize = skip;
  return old;
}

// kernel/irq/manage.c: free_irq() (B10): returns the devname passed at request
export async function free_irq(irq: number, dev_id: unknown): Promise<string | null> {
  const desc = irq_to_desc(irq);
  if (!desc || WARN_ON(irq_settings_is_per_cpu_devid(desc))) return null;
  trace_api_enter("free_irq", irq);
  if (WARN_ON(desc.affinity_notify)) desc.affinity_notify = null;
  const action = await __free_irq(desc, dev_id);
  trace_api_exit("free_irq", irq);
  if (!action) return null;
  return action.name;
}

void ENODEV;
void EBUSY;
void IRQ_SET_MASK_OK_DONE;
void IRQ_SET_MASK_OK_NOCOPY;
void irqd_irq_masked;
void irqd_irq_disabled;
void irq_settings_set_no_balancing;
void irq_settings_set_per_cpu;
void IRQ_START_COND;
void irqd_set_trigger_type;
