// SPDX-License-Identifier: GPL-2.0-only
// kernel/irq/manage.c, first part: the bus lock helpers, synchronize,
// disable/enable, trigger type, wake and irqchip state (B12-B27, B35-B38,
// B43-B46). Requesting and freeing are in manage.ts, which re-exports
// everything here; threads are in manage_thread.ts, affinity in
// manage_affinity.ts.
//
// Functions that take the bus lock may sleep for slow-bus chips, so they are
// async; they await only where the chip's irq_bus_lock/irq_bus_sync_unlock
// really returns a promise, so with other chips their effects are complete
// when they return, as in C.

import { site_of } from "../kernel/stacktrace.ts";
import { K } from "../kernel/kernel.ts";
import { EINVAL, ENODEV, ENXIO } from "../kernel/errno.ts";
import { WARN, WARN_ON_ONCE } from "../kernel/bug.ts";
import { pr_err, KERN_WARNING } from "../kernel/printk.ts";
import { raw_spin_lock_irqsave, raw_spin_unlock_irqrestore } from "../kernel/spinlock.ts";
import { might_sleep } from "../kernel/sched.ts";
import { wait_event } from "../kernel/wait.ts";
import {
  irqd_clear,
  irqd_get_trigger_type,
  irqd_irq_disabled,
  irqd_irq_inprogress,
  irqd_irq_masked,
  irqd_set,
  IRQ_SET_MASK_OK,
  IRQ_SET_MASK_OK_DONE,
  IRQ_SET_MASK_OK_NOCOPY,
  IRQ_TYPE_LEVEL_MASK,
  IRQ_TYPE_SENSE_MASK,
  IRQCHIP_SET_TYPE_MASKED,
  IRQCHIP_SKIP_SET_WAKE,
  IRQCHIP_STATE_ACTIVE,
  IRQD_LEVEL,
  IRQD_TRIGGER_MASK,
  IRQD_WAKEUP_STATE,
  type irq_data,
  type MaySleep,
} from "./irq.ts";
import {
  IRQS_NMI,
  IRQS_SUSPENDED,
  IRQ_RESEND,
  IRQ_START_FORCE,
  irq_settings_clr_level,
  irq_settings_set_level,
  irq_settings_set_noprobe,
  irq_settings_set_trigger_mask,
} from "./internals.ts";
import { irq_get_desc_checked, irq_to_desc, IRQ_GET_DESC_CHECK_GLOBAL, type irq_desc } from "./irqdesc.ts";
import { irq_disable, irq_startup, mask_irq, unmask_irq } from "./chip.ts";
import { trace_api_enter, trace_api_exit } from "./trace.ts";

// lockdep's "at:" (the _RET_IP_) of the locks the functions below take
const irq_get_desc_buslock_ip = site_of(irq_get_desc_buslock);
const __synchronize_hardirq_ip = site_of(__synchronize_hardirq);

type Guard = { desc: irq_desc; flags: number };

/* ------------------------------------------------------------- bus lock */

// kernel/irq/internals.h: chip_bus_lock()
export function chip_bus_lock(desc: irq_desc): MaySleep {
  const d = desc.irq_data;
  if (d.chip.irq_bus_lock) return d.chip.irq_bus_lock(d);
  return undefined;
}

// kernel/irq/internals.h: chip_bus_sync_unlock()
export function chip_bus_sync_unlock(desc: irq_desc): MaySleep {
  const d = desc.irq_data;
  if (d.chip.irq_bus_sync_unlock) return d.chip.irq_bus_sync_unlock(d);
  return undefined;
}

/**
 * scoped_irqdesc_get_and_buslock(): the bus lock, then desc->lock irqsave.
 * Returns a promise only when the chip's irq_bus_lock sleeps.
 */
export function irq_get_desc_buslock(irq: number, check: number): Guard | null | Promise<Guard | null> {
  const desc = irq_get_desc_checked(irq, check);
  if (!desc) return null;
  const p = chip_bus_lock(desc);
  if (p) return p.then(() => ({ desc, flags: raw_spin_lock_irqsave(desc.lock) }));
  return { desc, flags: raw_spin_lock_irqsave(desc.lock, 0, irq_get_desc_buslock_ip) };
}

/** Drop desc->lock, then chip_bus_sync_unlock(). */
export function irq_put_desc_busunlock(desc: irq_desc, flags: number): MaySleep {
  raw_spin_unlock_irqrestore(desc.lock, flags);
  return chip_bus_sync_unlock(desc);
}

/* ---------------------------------------------------------- synchronize */

// kernel/irq/manage.c: __irq_get_irqchip_state()
export function __irq_get_irqchip_state(data: irq_data, which: number, state: { value: boolean }): number {
  let d: irq_data | null = data;
  let err = -EINVAL;
  do {
    const chip = d.chip;
    if (WARN_ON_ONCE(!chip, { fn: "__irq_get_irqchip_state" })) return -ENODEV;
    if (chip.irq_get_irqchip_state) {
      err = chip.irq_get_irqchip_state(d, which, state);
      break;
    }
    d = d.parent_data;
  } while (d);
  return err;
}

// kernel/irq/manage.c: __synchronize_hardirq(): spins, never sleeps
export function __synchronize_hardirq(desc: irq_desc, sync_chip: boolean): void {
  const irqd = desc.irq_data;
  let inprogress: boolean;
  do {
    // Wait until we're out of the critical section. This might give the
    // wrong answer due to the lack of memory barriers.
    if (irqd_irq_inprogress(irqd)) K.sim.spinUntil(() => !irqd_irq_inprogress(irqd), Infinity, `irq ${irqd.irq} in progress`);
    // Ok, that indicated we're done: double-check carefully.
    const flags = raw_spin_lock_irqsave(desc.lock, 0, __synchronize_hardirq_ip);
    inprogress = irqd_irq_inprogress(irqd);
    // If requested and supported, check at the chip whether it is in flight
    // at the hardware level, i.e. already pending in a CPU and waiting for
    // service and acknowledge.
    if (!inprogress && sync_chip) {
      // Ignore the return code. inprogress is only updated when
      // ACTIVE is queried successfully.
      const st = { value: false };
      if (!__irq_get_irqchip_state(irqd, IRQCHIP_STATE_ACTIVE, st)) inprogress = st.value;
    }
    raw_spin_unlock_irqrestore(desc.lock, flags);
  } while (inprogress);
}

// kernel/irq/manage.c: synchronize_hardirq()
export function synchronize_hardirq(irq: number): boolean {
  const desc = irq_to_desc(irq);
  if (desc) {
    __synchronize_hardirq(desc, false);
    return desc.threads_active === 0;
  }
  return true;
}

// kernel/irq/manage.c: __synchronize_irq()
async function __synchronize_irq(desc: irq_desc): Promise<void> {
  __synchronize_hardirq(desc, true);
  // We made sure that no hardirq handler is running. Now verify that no
  // threaded handlers are active.
  if (desc.threads_active !== 0) await wait_event(desc.wait_for_threads, () => desc.threads_active === 0);
}

// kernel/irq/manage.c: synchronize_irq()
export async function synchronize_irq(irq: number): Promise<void> {
  const desc = irq_to_desc(irq);
  if (desc) await __synchronize_irq(desc);
}

/* ------------------------------------------------------- disable/enable */

// kernel/irq/manage.c: __disable_irq()
export function __disable_irq(desc: irq_desc): void {
  if (!desc.depth++) irq_disable(desc);
}

// kernel/irq/manage.c: __disable_irq_nosync()
function __disable_irq_nosync(irq: number): number | Promise<number> {
  const g = irq_get_desc_buslock(irq, IRQ_GET_DESC_CHECK_GLOBAL);
  const body = (g: Guard | null): number | Promise<number> => {
    if (!g) return -EINVAL;
    __disable_irq(g.desc);
    const u = irq_put_desc_busunlock(g.desc, g.flags);
    return u ? u.then(() => 0) : 0;
  };
  return g instanceof Promise ? g.then(body) : body(g);
}

/** disable_irq_nosync(): no wait; usable from interrupt context (not with slow-bus chips). */
export async function disable_irq_nosync(irq: number): Promise<void> {
  trace_api_enter("disable_irq_nosync", irq);
  const r = __disable_irq_nosync(irq);
  if (r instanceof Promise) await r;
  trace_api_exit("disable_irq_nosync", irq);
}

// kernel/irq/manage.c: disable_irq(): waits for running handlers and threads
export async function disable_irq(irq: number): Promise<void> {
  might_sleep("kernel/irq/manage.c", 0);
  trace_api_enter("disable_irq", irq);
  let r = __disable_irq_nosync(irq);
  if (r instanceof Promise) r = await r;
  if (!r) await synchronize_irq(irq);
  trace_api_exit("disable_irq", irq);
}

/**
 * disable_hardirq(): disable and wait for hard handlers only; returns false
 * while a threaded handler is active. For atomic context: with a slow-bus
 * chip (whose bus lock sleeps) it cannot work, as in the kernel.
 */
export function disable_hardirq(irq: number): boolean {
  const r = __disable_irq_nosync(irq);
  if (r instanceof Promise) {
    void r;
    return false;
  }
  if (!r) return synchronize_hardirq(irq);
  return false;
}

export const disable_nmi_nosync = disable_irq_nosync;

// kernel/irq/manage.c: __enable_irq()
export function __enable_irq(desc: irq_desc): void {
  switch (desc.depth) {
    case 0:
      WARN(1, KERN_WARNING + "Unbalanced enable for IRQ %d\n", desc.irq_data.irq);
      break;
    case 1: {
      if (desc.istate & IRQS_SUSPENDED) {
        WARN(1, KERN_WARNING + "Unbalanced enable for IRQ %d\n", desc.irq_data.irq);
        break;
      }
      // Prevent probing on this irq
      irq_settings_set_noprobe(desc);
      // Call irq_startup() not irq_enable() here because the interrupt
      // might be marked NOAUTOEN so irq_startup() needs to be invoked when
      // it gets enabled the first time. This is also required when
      // __enable_irq() is invoked for a managed and shutdown interrupt from
      // the S3 resume path.
      irq_startup(desc, IRQ_RESEND, IRQ_START_FORCE);
      break;
    }
    default:
      desc.depth--;
  }
}

// kernel/irq/manage.c: enable_irq()
export async function enable_irq(irq: number): Promise<void> {
  trace_api_enter("enable_irq", irq);
  let g = irq_get_desc_buslock(irq, IRQ_GET_DESC_CHECK_GLOBAL);
  if (g instanceof Promise) g = await g;
  if (g) {
    const desc = g.desc;
    if (!WARN(!desc.irq_data.chip, "enable_irq before setup/request_irq: irq %u\n", irq)) __enable_irq(desc);
    const u = irq_put_desc_busunlock(desc, g.flags);
    if (u) await u;
  }
  trace_api_exit("enable_irq", irq);
}

export const enable_nmi = enable_irq;

/* ----------------------------------------------------------- trigger type */

// kernel/irq/manage.c: __irq_set_trigger(); desc->lock held
export function __irq_set_trigger(desc: irq_desc, flags: number): number {
  const d = desc.irq_data;
  const chip = d.chip;
  let unmask = false;
  if (!chip || !chip.irq_set_type) {
    // IRQF_TRIGGER_* but the PIC does not support multiple flow-types?
    return 0;
  }
  if ((chip.flags ?? 0) & IRQCHIP_SET_TYPE_MASKED) {
    if (!irqd_irq_masked(d)) mask_irq(desc);
    if (!irqd_irq_disabled(d)) unmask = true;
  }
  // Mask all flags except trigger mode
  flags &= IRQ_TYPE_SENSE_MASK;
  let ret = chip.irq_set_type(d, flags);
  if (ret === IRQ_SET_MASK_OK || ret === IRQ_SET_MASK_OK_DONE || ret === IRQ_SET_MASK_OK_NOCOPY) {
    if (ret !== IRQ_SET_MASK_OK_NOCOPY) {
      irqd_clear(d, IRQD_TRIGGER_MASK);
      irqd_set(d, flags);
    }
    flags = irqd_get_trigger_type(d);
    irq_settings_set_trigger_mask(desc, flags);
    irqd_clear(d, IRQD_LEVEL);
    irq_settings_clr_level(desc);
    if (flags & IRQ_TYPE_LEVEL_MASK) {
      irq_settings_set_level(desc);
      irqd_set(d, IRQD_LEVEL);
    }
    ret = 0;
  } else {
    pr_err("genirq: Setting trigger mode %lu for irq %u failed (%pS)\n", flags, d.irq, chip.irq_set_type);
  }
  if (unmask) unmask_irq(desc);
  return ret;
}

// kernel/irq/chip.c: irq_set_irq_type()
export async function irq_set_irq_type(irq: number, type: number): Promise<number> {
  let g = irq_get_desc_buslock(irq, IRQ_GET_DESC_CHECK_GLOBAL);
  if (g instanceof Promise) g = await g;
  if (!g) return -EINVAL;
  const ret = __irq_set_trigger(g.desc, type);
  const u = irq_put_desc_busunlock(g.desc, g.flags);
  if (u) await u;
  return ret;
}

/* ------------------------------------------------------------------ wake */

// kernel/irq/manage.c: set_irq_wake_real()
function set_irq_wake_real(irq: number, on: number): number {
  const desc = irq_to_desc(irq)!;
  const chip = desc.irq_data.chip;
  if ((chip.flags ?? 0) & IRQCHIP_SKIP_SET_WAKE) return 0;
  if (chip.irq_set_wake) return chip.irq_set_wake(desc.irq_data, on);
  return -ENXIO;
}

// kernel/irq/manage.c: irq_set_irq_wake()
export async function irq_set_irq_wake(irq: number, on: number): Promise<number> {
  let g = irq_get_desc_buslock(irq, IRQ_GET_DESC_CHECK_GLOBAL);
  if (g instanceof Promise) g = await g;
  if (!g) return -EINVAL;
  const desc = g.desc;
  let ret = 0;
  // Don't use NMIs as wake up interrupts please
  if (desc.istate & IRQS_NMI) ret = -EINVAL;
  else if (on) {
    // wakeup-capable irqs can be shared between drivers that don't need
    // to have the same sleep mode behaviors.
    if (desc.wake_depth++ === 0) {
      ret = set_irq_wake_real(irq, on);
      if (ret) desc.wake_depth = 0;
      else irqd_set(desc.irq_data, IRQD_WAKEUP_STATE);
    }
  } else if (desc.wake_depth === 0) {
    WARN(1, "Unbalanced IRQ %d wake disable\n", irq);
  } else if (--desc.wake_depth === 0) {
    ret = set_irq_wake_real(irq, on);
    if (ret) desc.wake_depth = 1;
    else irqd_clear(desc.irq_data, IRQD_WAKEUP_STATE);
  }
  const u = irq_put_desc_busunlock(desc, g.flags);
  if (u) await u;
  return ret;
}

export function enable_irq_wake(irq: number): Promise<number> {
  return irq_set_irq_wake(irq, 1);
}
export function disable_irq_wake(irq: number): Promise<number> {
  return irq_set_irq_wake(irq, 0);
}

/* --------------------------------------------------------- irqchip state */

// kernel/irq/manage.c: irq_get_irqchip_state()
export async function irq_get_irqchip_state(irq: number, which: number, state: { value: boolean }): Promise<number> {
  let g = irq_get_desc_buslock(irq, 0);
  if (g instanceof Promise) g = await g;
  if (!g) return -EINVAL;
  const err = __irq_get_irqchip_state(g.desc.irq_data, which, state);
  const u = irq_put_desc_busunlock(g.desc, g.flags);
  if (u) await u;
  return err;
}

// kernel/irq/manage.c: irq_set_irqchip_state()
export async function irq_set_irqchip_state(irq: number, which: number, val: boolean): Promise<number> {
  let g = irq_get_desc_buslock(irq, 0);
  if (g instanceof Promise) g = await g;
  if (!g) return -EINVAL;
  let d: irq_data | null = g.desc.irq_data;
  let err = -EINVAL;
  do {
    const chip = d.chip;
    if (WARN_ON_ONCE(!chip, { fn: "irq_set_irqchip_state" })) {
      err = -ENODEV;
      break;
    }
    if (chip.irq_set_irqchip_state) {
      err = chip.irq_set_irqchip_state(d, which, val);
      break;
    }
    d = d.parent_data;
  } while (d);
  const u = irq_put_desc_busunlock(g.desc, g.flags);
  if (u) await u;
  return err;
}

