// SPDX-License-Identifier: GPL-2.0-only
// kernel/irq/handle.c: running the actions of an interrupt, waking irq
// threads, handle_bad_irq(); kernel/irq/debug.h: print_irq_desc().
//
// handle_irq_event() is a generator: after a handler that declared a busy
// time (irqlab_handler_busy()) it yields, holding IRQD_IRQ_INPROGRESS but not
// desc->lock, so that other CPUs see the handler in progress.

import type { Wait } from "../sim/cpu.ts";
import { K } from "../kernel/kernel.ts";
import { printk, KERN_WARNING, ratelimit_state, __ratelimit } from "../kernel/printk.ts";
import { WARN_ONCE } from "../kernel/bug.ts";
import { HZ } from "../kernel/jiffies.ts";
import { irqs_disabled, local_irq_disable } from "../kernel/context.ts";
import { raw_spin_unlock, raw_spin_lock_y } from "../kernel/spinlock.ts";
import { wake_up_process, PF_EXITING } from "../kernel/sched.ts";
import { lockdep_hardirq_threaded } from "../kernel/lockdep.ts";
import { take_handler_busy } from "../kernel/frame.ts";
import { site_of } from "../kernel/stacktrace.ts";
import { IRQD_IRQ_INPROGRESS, irqd_clear, irqd_set } from "./irq.ts";
import {
  IRQ_NONE,
  IRQ_WAKE_THREAD,
  IRQF_NO_THREAD,
  IRQF_ONESHOT,
  IRQF_PERCPU,
  IRQTF_RUNTHREAD,
  IRQTF_WARNED,
  type irqaction,
  type irqreturn_t,
} from "./interrupt.ts";
import { IRQS_PENDING, irq_settings_can_thread, irq_settings_no_debug } from "./internals.ts";
import { kstat_incr_irqs_this_cpu, type irq_desc } from "./irqdesc.ts";
import { note_interrupt } from "./spurious.ts";
import { ack_bad_irq } from "./dummychip.ts";
import { IRQ_LEVEL, IRQ_PER_CPU, IRQ_NOPROBE, IRQ_NOREQUEST, IRQ_NOTHREAD, IRQ_NOAUTOEN, IRQD_IRQ_DISABLED, IRQD_IRQ_MASKED } from "./irq.ts";
import { IRQS_AUTODETECT, IRQS_REPLAY, IRQS_WAITING } from "./internals.ts";
import { irq_chip_orig } from "./trace.ts";

const print_ratelimit = new WeakMap<object, ratelimit_state>();

// kernel/irq/debug.h: print_irq_desc()
function print_irq_desc(irq: number, desc: irq_desc): void {
  let rs = print_ratelimit.get(K);
  if (!rs) {
    // static DEFINE_RATELIMIT_STATE(ratelimit, 5 * HZ, 5)
    rs = new ratelimit_state(5 * HZ(), 5);
    print_ratelimit.set(K, rs);
  }
  if (!__ratelimit(rs)) return;
  printk("irq %d, desc: %p, depth: %d, count: %d, unhandled: %d\n", irq, desc, desc.depth, desc.irq_count, desc.irqs_unhandled);
  printk("->handle_irq():  %p, %pS\n", desc.handle_irq, desc.handle_irq);
  printk("->irq_data.chip(): %p, %pS\n", irq_chip_orig(desc.irq_data.chip), irq_chip_orig(desc.irq_data.chip).name);
  printk("->action(): %p\n", desc.action);
  if (desc.action) printk("->action->handler(): %p, %pS\n", desc.action.handler, desc.action.handler);
  const P = (f: number, n: string): void => {
    if (desc.status_use_accessors & f) printk("%14s set\n", n);
  };
  const PS = (f: number, n: string): void => {
    if (desc.istate & f) printk("%14s set\n", n);
  };
  const PD = (f: number, n: string): void => {
    if (desc.irq_common_data.state_use_accessors & f) printk("%14s set\n", n);
  };
  P(IRQ_LEVEL, "IRQ_LEVEL");
  P(IRQ_PER_CPU, "IRQ_PER_CPU");
  P(IRQ_NOPROBE, "IRQ_NOPROBE");
  P(IRQ_NOREQUEST, "IRQ_NOREQUEST");
  P(IRQ_NOTHREAD, "IRQ_NOTHREAD");
  P(IRQ_NOAUTOEN, "IRQ_NOAUTOEN");
  PS(IRQS_AUTODETECT, "IRQS_AUTODETECT");
  PS(IRQS_REPLAY, "IRQS_REPLAY");
  PS(IRQS_WAITING, "IRQS_WAITING");
  PS(IRQS_PENDING, "IRQS_PENDING");
  PD(IRQD_IRQ_INPROGRESS, "IRQS_INPROGRESS");
  PD(IRQD_IRQ_DISABLED, "IRQS_DISABLED");
  PD(IRQD_IRQ_MASKED, "IRQS_MASKED");
}

// kernel/irq/handle.c: handle_bad_irq()
export function handle_bad_irq(desc: irq_desc): void {
  const irq = desc.irq_data.irq;
  print_irq_desc(irq, desc);
  kstat_incr_irqs_this_cpu(desc);
  ack_bad_irq(irq);
}

// kernel/irq/handle.c: no_action()
export function no_action(_irq: number, _dev_id: unknown): irqreturn_t {
  return IRQ_NONE;
}

// kernel/irq/handle.c: warn_no_thread()
function warn_no_thread(irq: number, action: irqaction): void {
  if (action.thread_flags & (1 << IRQTF_WARNED)) return;
  action.thread_flags |= 1 << IRQTF_WARNED;
  printk(KERN_WARNING + "IRQ %d device %s returned IRQ_WAKE_THREAD but no thread function available.", irq, action.name);
}

// kernel/irq/handle.c: __irq_wake_thread()
export function __irq_wake_thread(desc: irq_desc, action: irqaction): void {
  const t = action.thread;
  // In case the thread crashed and was killed we just pretend that we
  // handled the interrupt. The hardirq handler has disabled the device
  // interrupt, so no irq storm is lurking.
  if (!t || t.flags & PF_EXITING) return;
  // Wake up the handler thread for this action. If the RUNTHREAD bit is
  // already set, nothing to do.
  if (action.thread_flags & (1 << IRQTF_RUNTHREAD)) return;
  action.thread_flags |= 1 << IRQTF_RUNTHREAD;
  desc.threads_oneshot |= action.thread_mask;
  desc.threads_active++;
  wake_up_process(t);
}

function retname(res: irqreturn_t): string {
  return res & 1 ? "handled" : "unhandled";
}

/**
 * kernel/irq/handle.c: __handle_irq_event_percpu(). Runs every action; after
 * a handler that declared a busy time the frame yields until it has elapsed.
 */
export function* __handle_irq_event_percpu(desc: irq_desc): Generator<Wait, irqreturn_t, void> {
  let retval = IRQ_NONE;
  const irq = desc.irq_data.irq;
  const trace = K.sim.trace;
  for (let action = desc.action; action; action = action.next) {
    // If this IRQ would be threaded under force_irqthreads, mark it so.
    if (irq_settings_can_thread(desc) && !(action.flags & (IRQF_NO_THREAD | IRQF_PERCPU | IRQF_ONESHOT))) lockdep_hardirq_threaded();
    if (trace.on) trace.emit("irq_handler_entry", { irq, name: action.name ?? "" });
    const res = action.handler!(irq, action.dev_id);
    const busy = take_handler_busy();
    if (busy > 0) yield { until: K.sim.now + busy, what: `handler ${action.name ?? ""} of irq ${irq}` };
    if (trace.on) trace.emit("irq_handler_exit", { irq, ret: retname(res) });
    if (WARN_ONCE(!irqs_disabled(), "irq %u handler %pS enabled interrupts\n", irq, action.handler)) local_irq_disable();
    if (res === IRQ_WAKE_THREAD) {
      // Catch drivers which return WAKE_THREAD but did not set up a thread function
      if (!action.thread_fn) warn_no_thread(irq, action);
      else __irq_wake_thread(desc, action);
    }
    retval |= res;
  }
  return retval;
}

// kernel/irq/handle.c: handle_irq_event_percpu()
export function* handle_irq_event_percpu(desc: irq_desc): Generator<Wait, irqreturn_t, void> {
  const retval = yield* __handle_irq_event_percpu(desc);
  if (!irq_settings_no_debug(desc)) note_interrupt(desc, retval);
  return retval;
}

// lockdep's "at:" of the desc->lock re-taken below
const handle_irq_event_ip = site_of(handle_irq_event);

// kernel/irq/handle.c: handle_irq_event(): called with desc->lock held
export function* handle_irq_event(desc: irq_desc): Generator<Wait, irqreturn_t, void> {
  desc.istate &= ~IRQS_PENDING;
  irqd_set(desc.irq_data, IRQD_IRQ_INPROGRESS);
  raw_spin_unlock(desc.lock);
  const ret = yield* handle_irq_event_percpu(desc);
  yield* raw_spin_lock_y(desc.lock, 0, handle_irq_event_ip);
  irqd_clear(desc.irq_data, IRQD_IRQ_INPROGRESS);
  return ret;
}
