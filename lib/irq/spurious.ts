// SPDX-License-Identifier: GPL-2.0-only
// kernel/irq/spurious.c: detecting stuck interrupt lines ("nobody cared"),
// the misrouted-irq fixup and the spurious poller (A40-A44).

import { K } from "../kernel/kernel.ts";
import { pr_cont, pr_emerg, pr_err, pr_info, pr_warn } from "../kernel/printk.ts";
import { dump_stack, report_splat } from "../kernel/bug.ts";
import { jiffies, time_after } from "../kernel/jiffies.ts";
import { timer_list, timer_setup, mod_timer } from "../kernel/timer.ts";
import { smp_processor_id, local_irq_disable, local_irq_enable } from "../kernel/context.ts";
import { raw_spin_lock, raw_spin_unlock, raw_spin_lock_irqsave, raw_spin_unlock_irqrestore } from "../kernel/spinlock.ts";
import { drive_sync } from "../kernel/frame.ts";
import { irqd_irq_disabled, irqd_irq_inprogress } from "./irq.ts";
import { IRQ_HANDLED, IRQ_NONE, IRQ_WAKE_THREAD, IRQF_IRQPOLL, IRQF_SHARED, __IRQF_TIMER, type irqreturn_t } from "./interrupt.ts";
import {
  IRQS_PENDING,
  IRQS_POLL_INPROGRESS,
  IRQS_SPURIOUS_DISABLED,
  irq_settings_is_nested_thread,
  irq_settings_is_per_cpu,
  irq_settings_is_polled,
} from "./internals.ts";
import { for_each_irq_desc, irq_to_desc, type irq_desc } from "./irqdesc.ts";
import { irq_disable } from "./chip.ts";
import { handle_irq_event } from "./handle.ts";

const SPURIOUS_DEFERRED = 0x80000000 | 0;

interface SpuriousState {
  poll_active: boolean;
  poll_cpu: number;
  timer: timer_list;
  bad_reports: number;
}

function ss(): SpuriousState {
  return K.state("spurious", () => {
    const t = new timer_list();
    timer_setup(t, poll_spurious_irqs, 0);
    // re-arms itself forever once armed: a periodic poller must not keep a run alive
    t.irqlab_daemon = true;
    return { poll_active: false, poll_cpu: -1, timer: t, bad_reports: 100 };
  });
}

/** irq_poll_cpu: the CPU running the misrouted-irq poller. */
export function irq_poll_cpu(): number {
  return ss().poll_cpu;
}

/** POLL_SPURIOUS_IRQ_INTERVAL = HZ/10 */
function poll_interval(): number {
  return Math.floor(K.config.HZ / 10);
}

// kernel/irq/spurious.c: try_one_irq()
function try_one_irq(desc: irq_desc, force: boolean): boolean {
  let ret: irqreturn_t = IRQ_NONE;
  raw_spin_lock(desc.lock);
  try {
    // PER_CPU, nested thread interrupts and interrupts explicitly marked
    // polled are excluded from polling.
    if (irq_settings_is_per_cpu(desc) || irq_settings_is_nested_thread(desc) || irq_settings_is_polled(desc)) return false;
    // Do not poll disabled interrupts unless the spurious disabled poller asks explicitly.
    if (irqd_irq_disabled(desc.irq_data) && !force) return false;
    // All handlers must agree on IRQF_SHARED, so we test just the first.
    const action = desc.action;
    if (!action || !(action.flags & IRQF_SHARED) || action.flags & __IRQF_TIMER) return false;
    // Already running on another processor
    if (irqd_irq_inprogress(desc.irq_data)) {
      // Already running: If it is shared get the other CPU to go looking for our mystery interrupt too
      desc.istate |= IRQS_PENDING;
      return false;
    }
    // Mark it poll in progress
    desc.istate |= IRQS_POLL_INPROGRESS;
    do {
      if (drive_sync(handle_irq_event(desc)) === IRQ_HANDLED) ret = IRQ_HANDLED;
      // Make sure that there is still a valid action
    } while (desc.istate & IRQS_PENDING && desc.action);
    desc.istate &= ~IRQS_POLL_INPROGRESS;
  } finally {
    raw_spin_unlock(desc.lock);
  }
  return ret === IRQ_HANDLED;
}

// kernel/irq/spurious.c: misrouted_irq()
function misrouted_irq(irq: number): number {
  const s = ss();
  if (s.poll_active) return 0;
  s.poll_active = true;
  s.poll_cpu = smp_processor_id();
  let ok = 0;
  for (const desc of for_each_irq_desc()) {
    if (!desc.irq_data.irq) continue;
    if (desc.irq_data.irq === irq) continue;
    if (try_one_irq(desc, false)) ok = 1;
  }
  s.poll_active = false;
  return ok;
}

// kernel/irq/spurious.c: poll_spurious_irqs() (timer callback)
function poll_spurious_irqs(_t: timer_list): void {
  const s = ss();
  if (s.poll_active) {
    mod_timer(s.timer, jiffies() + poll_interval());
    return;
  }
  s.poll_active = true;
  s.poll_cpu = smp_processor_id();
  for (const desc of for_each_irq_desc()) {
    if (!desc.irq_data.irq) continue;
    // Racy but it doesn't matter
    if (!(desc.istate & IRQS_SPURIOUS_DISABLED)) continue;
    local_irq_disable();
    try_one_irq(desc, true);
    local_irq_enable();
  }
  s.poll_active = false;
  mod_timer(s.timer, jiffies() + poll_interval());
}

// kernel/irq/spurious.c: bad_action_ret()
function bad_action_ret(action_ret: irqreturn_t): boolean {
  return (action_ret >>> 0) > (IRQ_HANDLED | IRQ_WAKE_THREAD);
}

// kernel/irq/spurious.c: __report_bad_irq()
function __report_bad_irq(desc: irq_desc, action_ret: irqreturn_t): void {
  const irq = desc.irq_data.irq;
  if (bad_action_ret(action_ret)) {
    report_splat("BUG", `irq event ${irq}: bogus return value ${(action_ret >>> 0).toString(16)}`);
    pr_err("irq event %d: bogus return value %x\n", irq, action_ret);
  } else {
    report_splat("BUG", `irq ${irq}: nobody cared (try booting with the "irqpoll" option)`);
    pr_err('irq %d: nobody cared (try booting with the "irqpoll" option)\n', irq);
  }
  dump_stack();
  pr_err("handlers:\n");
  // We need to take desc->lock here. note_interrupt() is called w/o desc->lock held
  const flags = raw_spin_lock_irqsave(desc.lock);
  for (let action = desc.action; action; action = action.next) {
    pr_err("[<%p>] %ps", action.handler, action.handler);
    if (action.thread_fn) pr_cont(" threaded [<%p>] %ps", action.thread_fn, action.thread_fn);
    pr_cont("\n");
  }
  raw_spin_unlock_irqrestore(desc.lock, flags);
}

// kernel/irq/spurious.c: report_bad_irq(): at most 100 reports
function report_bad_irq(desc: irq_desc, action_ret: irqreturn_t): void {
  const s = ss();
  if (s.bad_reports > 0) {
    s.bad_reports--;
    __report_bad_irq(desc, action_ret);
  }
}

// kernel/irq/spurious.c: try_misrouted_irq()
function try_misrouted_irq(irq: number, desc: irq_desc, action_ret: irqreturn_t): boolean {
  const irqfixup = K.config.irqfixup;
  if (!irqfixup) return false;
  // We didn't actually handle the IRQ - see if it was misrouted?
  if (action_ret === IRQ_NONE) return true;
  // But for 'irqfixup == 2' we also do it for handled interrupts if
  // they are marked as IRQF_IRQPOLL (or for irq zero, which is the
  // traditional PC timer interrupt.. Legacy)
  if (irqfixup < 2) return false;
  if (!irq) return true;
  const action = desc.action;
  return action !== null && (action.flags & IRQF_IRQPOLL) !== 0;
}

// kernel/irq/spurious.c: note_interrupt() (A41); desc->lock is not held
export function note_interrupt(desc: irq_desc, action_ret: irqreturn_t): void {
  if (desc.istate & IRQS_POLL_INPROGRESS || irq_settings_is_polled(desc)) return;
  if (bad_action_ret(action_ret)) {
    report_bad_irq(desc, action_ret);
    return;
  }
  // We cannot call note_interrupt from the threaded handler because we
  // need to look at the compound of all handlers (primary and threaded).
  // Aside of that in the threaded shared case we have no serialization
  // against an incoming hardware interrupt while we are dealing with a
  // threaded result. So the judgement of a IRQ_WAKE_THREAD-only result is
  // deferred to the next hardware interrupt.
  if (action_ret & IRQ_WAKE_THREAD) {
    if (action_ret === IRQ_WAKE_THREAD) {
      if (!(desc.threads_handled_last & SPURIOUS_DEFERRED)) {
        desc.threads_handled_last |= SPURIOUS_DEFERRED;
        return;
      }
      const handled = desc.threads_handled | SPURIOUS_DEFERRED;
      if (handled !== desc.threads_handled_last) {
        action_ret = IRQ_HANDLED;
        desc.threads_handled_last = handled;
      } else {
        action_ret = IRQ_NONE;
      }
    } else {
      // One of the primary handlers returned IRQ_HANDLED. So we don't care
      // about the threaded handlers on that line.
      desc.threads_handled_last &= ~SPURIOUS_DEFERRED;
    }
  }
  if (action_ret === IRQ_NONE) {
    // If we are seeing only the odd spurious IRQ caused by bus asynchronicity
    // then don't eventually trigger an error, otherwise the counter becomes
    // a doomsday timer for otherwise working systems.
    const now = jiffies();
    if (time_after(now, desc.last_unhandled + Math.floor(K.config.HZ / 10))) desc.irqs_unhandled = 1;
    else desc.irqs_unhandled++;
    desc.last_unhandled = now;
  }
  const irq = desc.irq_data.irq;
  if (try_misrouted_irq(irq, desc, action_ret)) {
    const ok = misrouted_irq(irq);
    if (action_ret === IRQ_NONE) desc.irqs_unhandled -= ok;
  }
  if (!desc.irqs_unhandled) return;
  // Now getting into unhandled irq detection
  desc.irq_count++;
  if (desc.irq_count < 100000) return;
  desc.irq_count = 0;
  if (desc.irqs_unhandled > 99900) {
    // The interrupt is stuck
    __report_bad_irq(desc, action_ret);
    // Now kill the IRQ
    pr_emerg("Disabling IRQ #%d\n", irq);
    desc.istate |= IRQS_SPURIOUS_DISABLED;
    desc.depth++;
    irq_disable(desc);
    mod_timer(ss().timer, jiffies() + poll_interval());
  }
  desc.irqs_unhandled = 0;
}

/**
 * kernel/irq/spurious.c: irqfixup_setup(), irqpoll_setup(),
 * noirqdebug_setup(): what the "irqfixup", "irqpoll" and "noirqdebug" boot
 * options print. irqlab takes them as K.config fields; genirq_init() prints
 * their messages once per boot.
 */
export function spurious_boot_options(): void {
  if (K.config.irqfixup === 1) {
    pr_warn("Misrouted IRQ fixup support enabled.\n");
    pr_warn("This may impact system performance.\n");
  } else if (K.config.irqfixup === 2) {
    pr_warn("Misrouted IRQ fixup and polling support enabled\n");
    pr_warn("This may significantly impact system performance\n");
  }
  if (K.config.noirqdebug) pr_info("IRQ lockup detection disabled\n");
}

void irq_to_desc;
