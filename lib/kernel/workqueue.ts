// SPDX-License-Identifier: GPL-2.0-only
// kernel/workqueue.c, reduced: per-CPU and unbound worker pools with
// concurrency management, ordered queues, delayed work, flush and cancel.
//
// A work function may sleep: it returns a promise the worker awaits. When a
// worker sleeps inside a work item and the pool still has work, another
// worker runs it (wq_worker_sleeping()), as in Linux.

import { K } from "./kernel.ts";
import { vsprintf } from "./vsprintf.ts";
import { current, per_cpu, schedule, set_current_state, wake_up_process, PF_WQ_WORKER, TASK_IDLE, type task_struct } from "./sched.ts";
import { kthread_create, kthread_bind } from "./kthread.ts";
import { timer_list, timer_setup, mod_timer, timer_delete, TIMER_IRQSAFE } from "./timer.ts";
import { jiffies } from "./jiffies.ts";
import { init_waitqueue_head, wait_event, wake_up_all, type wait_queue_head } from "./wait.ts";
import { local_irq_save, local_irq_restore, smp_processor_id } from "./context.ts";
import { WARN_ON_ONCE } from "./bug.ts";
import { cpu_online, cpu_online_mask, cpumask_first } from "./cpumask.ts";

/* include/linux/workqueue.h */
export const WQ_BH = 1 << 0;
export const WQ_UNBOUND = 1 << 1;
export const WQ_FREEZABLE = 1 << 2;
export const WQ_MEM_RECLAIM = 1 << 3;
export const WQ_HIGHPRI = 1 << 4;
export const WQ_CPU_INTENSIVE = 1 << 5;
export const WQ_SYSFS = 1 << 6;
export const WQ_POWER_EFFICIENT = 1 << 7;
export const WQ_PERCPU = 1 << 8;
export const __WQ_ORDERED = 1 << 17;
export const WQ_MAX_ACTIVE = 512;
export const WQ_DFL_ACTIVE = WQ_MAX_ACTIVE / 2;
export const WORK_CPU_UNBOUND = -1;

export type work_func_t = (work: work_struct) => void | Promise<void>;

export class work_struct {
  pending = false;
  wq: workqueue_struct | null = null;
  pool: worker_pool | null = null;
  /** Worker executing this item now. */
  running: worker | null = null;
  constructor(public func: work_func_t) {}
}

export class delayed_work {
  readonly work: work_struct;
  readonly timer = new timer_list();
  cpu = WORK_CPU_UNBOUND;
  wq: workqueue_struct | null = null;
  constructor(func: work_func_t) {
    this.work = new work_struct(func);
    timer_setup(this.timer, () => delayed_work_timer_fn(this), TIMER_IRQSAFE);
  }
}

/** INIT_WORK(work, func) */
export function INIT_WORK(func: work_func_t): work_struct {
  return new work_struct(func);
}

/** INIT_DELAYED_WORK(dwork, func) */
export function INIT_DELAYED_WORK(func: work_func_t): delayed_work {
  return new delayed_work(func);
}

export function to_delayed_work(work: work_struct, all: Iterable<delayed_work>): delayed_work | undefined {
  for (const d of all) if (d.work === work) return d;
  return undefined;
}

interface worker {
  task: task_struct;
  pool: worker_pool;
  id: number;
  current_work: work_struct | null;
  sleeping: boolean;
  idle: boolean;
}

interface worker_pool {
  cpu: number;
  highpri: boolean;
  id: number;
  worklist: work_struct[];
  workers: worker[];
  idle: worker[];
  nr_running: number;
  nextWorkerId: number;
}

export class workqueue_struct {
  nr_active = 0;
  readonly inactive: work_struct[] = [];
  /** Items queued or running, for flush_workqueue(). */
  inflight = 0;
  constructor(
    readonly name: string,
    readonly flags: number,
    readonly max_active: number,
  ) {}
}

interface WqState {
  pools: Map<string, worker_pool>;
  nextPoolId: number;
  done: wait_queue_head;
  system_wq: workqueue_struct;
  system_highpri_wq: workqueue_struct;
  system_long_wq: workqueue_struct;
  system_unbound_wq: workqueue_struct;
}

function ws(): WqState {
  return K.state("workqueue", () => {
    const mk = (n: string, f: number): workqueue_struct => new workqueue_struct(n, f, WQ_DFL_ACTIVE);
    return {
      pools: new Map<string, worker_pool>(),
      nextPoolId: 0,
      done: init_waitqueue_head("wq_done"),
      system_wq: mk("events", WQ_PERCPU),
      system_highpri_wq: mk("events_highpri", WQ_HIGHPRI | WQ_PERCPU),
      system_long_wq: mk("events_long", WQ_PERCPU),
      system_unbound_wq: mk("events_unbound", WQ_UNBOUND),
    };
  });
}

export function system_wq(): workqueue_struct {
  return ws().system_wq;
}
export function system_highpri_wq(): workqueue_struct {
  return ws().system_highpri_wq;
}
export function system_long_wq(): workqueue_struct {
  return ws().system_long_wq;
}
export function system_unbound_wq(): workqueue_struct {
  return ws().system_unbound_wq;
}

function get_pool(cpu: number, highpri: boolean): worker_pool {
  const s = ws();
  const key = `${cpu}:${highpri ? "H" : ""}`;
  let p = s.pools.get(key);
  if (!p) {
    p = { cpu, highpri, id: s.nextPoolId++, worklist: [], workers: [], idle: [], nr_running: 0, nextWorkerId: 0 };
    s.pools.set(key, p);
  }
  return p;
}

// kernel/workqueue.c: create_worker()
function create_worker(pool: worker_pool): worker {
  const id = pool.nextWorkerId++;
  const nrCpus = K.sim.cpus.length;
  const name =
    pool.cpu >= 0
      ? vsprintf("kworker/%d:%d%s", [pool.cpu, id, pool.highpri ? "H" : ""])
      : vsprintf("kworker/u%d:%d%s", [nrCpus * 2 + (pool.highpri ? 1 : 0), id, pool.highpri ? "H" : ""]);
  const w: worker = { task: null as unknown as task_struct, pool, id, current_work: null, sleeping: false, idle: false };
  w.task = kthread_create(worker_thread, w, "%s", name);
  w.task.flags |= PF_WQ_WORKER;
  w.task.worker = w;
  let cpu = pool.cpu >= 0 ? pool.cpu : (pool.workers.length + pool.id) % nrCpus;
  // worker_attach_to_pool(): a worker of a disassociated pool (its CPU is
  // offline) is WORKER_UNBOUND, and the scheduler's fallback puts it on an
  // online CPU
  if (!cpu_online(cpu)) cpu = cpumask_first(cpu_online_mask());
  kthread_bind(w.task, cpu);
  pool.workers.push(w);
  pool.nr_running++;
  wake_up_process(w.task);
  return w;
}

// kernel/workqueue.c: workqueue_online_cpu() -> rebind_workers(): the CPU's
// workers are bound to it again
export function workqueue_online_cpu(cpu: number): void {
  for (const pool of ws().pools.values()) {
    if (pool.cpu !== cpu) continue;
    for (const w of pool.workers) K.sim.migrate(w.task, K.sim.cpus[cpu]!);
  }
}

// kernel/workqueue.c: kick_pool(): make sure somebody runs the pool's work
function kick_pool(pool: worker_pool): void {
  if (pool.worklist.length === 0 || pool.nr_running > 0) return;
  const w = pool.idle.shift();
  if (w) {
    w.idle = false;
    pool.nr_running++;
    wake_up_process(w.task);
  } else {
    create_worker(pool);
  }
}

/** Called by schedule() when a worker blocks (kernel/workqueue.c: wq_worker_sleeping()). */
export function wq_worker_sleeping(t: task_struct): void {
  const w = t.worker as worker | null;
  if (!w || w.idle || w.sleeping) return;
  w.sleeping = true;
  w.pool.nr_running--;
  kick_pool(w.pool);
}

/** Called when a sleeping worker runs again (kernel/workqueue.c: wq_worker_running()). */
export function wq_worker_running(t: task_struct): void {
  const w = t.worker as worker | null;
  if (!w || !w.sleeping) return;
  w.sleeping = false;
  w.pool.nr_running++;
}

function pool_for(wq: workqueue_struct, cpu: number): worker_pool {
  const highpri = (wq.flags & WQ_HIGHPRI) !== 0;
  if (wq.flags & WQ_UNBOUND) return get_pool(-1, highpri);
  return get_pool(cpu === WORK_CPU_UNBOUND ? smp_processor_id() : cpu, highpri);
}

// kernel/workqueue.c: __queue_work()
function __queue_work(cpu: number, wq: workqueue_struct, work: work_struct): void {
  const pool = pool_for(wq, cpu);
  work.wq = wq;
  work.pool = pool;
  wq.inflight++;
  if (wq.nr_active >= wq.max_active) {
    wq.inactive.push(work);
    return;
  }
  wq.nr_active++;
  pool.worklist.push(work);
  kick_pool(pool);
}

/** queue_work_on(): false if the work was already pending. */
export function queue_work_on(cpu: number, wq: workqueue_struct, work: work_struct): boolean {
  const flags = local_irq_save();
  let ret = false;
  if (!work.pending) {
    work.pending = true;
    __queue_work(cpu, wq, work);
    ret = true;
  }
  local_irq_restore(flags);
  return ret;
}

export function queue_work(wq: workqueue_struct, work: work_struct): boolean {
  return queue_work_on(WORK_CPU_UNBOUND, wq, work);
}

export function schedule_work(work: work_struct): boolean {
  return queue_work(system_wq(), work);
}

function delayed_work_timer_fn(dwork: delayed_work): void {
  if (dwork.wq) __queue_work(dwork.cpu, dwork.wq, dwork.work);
}

/** queue_delayed_work_on(): `delay` in jiffies. */
export function queue_delayed_work_on(cpu: number, wq: workqueue_struct, dwork: delayed_work, delay: number): boolean {
  const work = dwork.work;
  const flags = local_irq_save();
  let ret = false;
  if (!work.pending) {
    work.pending = true;
    if (delay === 0) __queue_work(cpu, wq, work);
    else {
      dwork.wq = wq;
      dwork.cpu = cpu;
      mod_timer(dwork.timer, jiffies() + delay);
    }
    ret = true;
  }
  local_irq_restore(flags);
  return ret;
}

export function queue_delayed_work(wq: workqueue_struct, dwork: delayed_work, delay: number): boolean {
  return queue_delayed_work_on(WORK_CPU_UNBOUND, wq, dwork, delay);
}

export function schedule_delayed_work(dwork: delayed_work, delay: number): boolean {
  return queue_delayed_work(system_wq(), dwork, delay);
}

/** mod_delayed_work(): (re)arm to fire after `delay`, pending or not. */
export function mod_delayed_work(wq: workqueue_struct, dwork: delayed_work, delay: number): boolean {
  const was = try_to_grab_pending(dwork.work, dwork);
  queue_delayed_work(wq, dwork, delay);
  return was;
}

/** Remove a pending item from wherever it waits; true if it was pending. */
function try_to_grab_pending(work: work_struct, dwork?: delayed_work): boolean {
  if (!work.pending) return false;
  if (dwork && timer_delete(dwork.timer)) {
    work.pending = false;
    return true;
  }
  const pool = work.pool;
  const wq = work.wq;
  if (pool) {
    const i = pool.worklist.indexOf(work);
    if (i >= 0) {
      pool.worklist.splice(i, 1);
      if (wq) {
        wq.nr_active--;
        wq.inflight--;
      }
    }
  }
  if (wq) {
    const j = wq.inactive.indexOf(work);
    if (j >= 0) {
      wq.inactive.splice(j, 1);
      wq.inflight--;
    }
  }
  work.pending = false;
  return true;
}

export function work_pending(work: work_struct): boolean {
  return work.pending;
}

export function delayed_work_pending(dwork: delayed_work): boolean {
  return dwork.work.pending;
}

/** flush_work(): wait until the last queued instance finished. True if it waited. */
export async function flush_work(work: work_struct): Promise<boolean> {
  if (!work.pending && !work.running) return false;
  WARN_ON_ONCE(work.running !== null && current() === work.running.task);
  await wait_event(ws().done, () => !work.pending && !work.running);
  return true;
}

export async function flush_delayed_work(dwork: delayed_work): Promise<boolean> {
  if (timer_delete(dwork.timer) && dwork.wq) __queue_work(dwork.cpu, dwork.wq, dwork.work);
  return flush_work(dwork.work);
}

/** cancel_work_sync(): true if the work was pending. */
export async function cancel_work_sync(work: work_struct): Promise<boolean> {
  const was = try_to_grab_pending(work);
  if (work.running) await wait_event(ws().done, () => !work.running);
  return was;
}

export function cancel_delayed_work(dwork: delayed_work): boolean {
  return try_to_grab_pending(dwork.work, dwork);
}

export async function cancel_delayed_work_sync(dwork: delayed_work): Promise<boolean> {
  const was = try_to_grab_pending(dwork.work, dwork);
  if (dwork.work.running) await wait_event(ws().done, () => !dwork.work.running);
  return was;
}

/** flush_workqueue(): wait until every item queued on `wq` so far has run. */
export async function flush_workqueue(wq: workqueue_struct): Promise<void> {
  await wait_event(ws().done, () => wq.inflight === 0);
}

export const drain_workqueue = flush_workqueue;

/** alloc_workqueue(fmt, flags, max_active, ...) */
export function alloc_workqueue(fmt: string, flags: number, max_active: number, ...args: unknown[]): workqueue_struct {
  const name = vsprintf(fmt, args);
  const ma = max_active || WQ_DFL_ACTIVE;
  return new workqueue_struct(name, flags, Math.min(ma, WQ_MAX_ACTIVE));
}

/** alloc_ordered_workqueue(fmt, flags, ...): unbound, one item at a time, in order. */
export function alloc_ordered_workqueue(fmt: string, flags: number, ...args: unknown[]): workqueue_struct {
  return alloc_workqueue(fmt, WQ_UNBOUND | __WQ_ORDERED | flags, 1, ...args);
}

export async function destroy_workqueue(wq: workqueue_struct): Promise<void> {
  await drain_workqueue(wq);
}

/** current_work(): the item the current worker executes. */
export function current_work(): work_struct | null {
  const w = current().worker as worker | null;
  return w ? w.current_work : null;
}

// kernel/workqueue.c: process_one_work()
async function process_one_work(w: worker, work: work_struct): Promise<void> {
  const wq = work.wq!;
  work.pending = false;
  work.running = w;
  w.current_work = work;
  try {
    const r = work.func(work);
    if (r) await r;
  } finally {
    w.current_work = null;
    work.running = null;
    wq.nr_active--;
    wq.inflight--;
    const next = wq.inactive.shift();
    if (next) {
      wq.nr_active++;
      next.pool!.worklist.push(next);
      kick_pool(next.pool!);
    }
    wake_up_all(ws().done);
  }
}

// kernel/workqueue.c: worker_thread()
async function worker_thread(w: worker): Promise<number> {
  const pool = w.pool;
  for (;;) {
    const work = pool.worklist.shift();
    if (work) {
      await process_one_work(w, work);
      continue;
    }
    // worker_enter_idle()
    w.idle = true;
    pool.nr_running--;
    pool.idle.push(w);
    set_current_state(TASK_IDLE);
    w.task.waitingOn = "worker_thread idle";
    await schedule();
  }
}

/** Install the scheduler hooks of concurrency management (boot). */
export function workqueue_init(): void {
  ws();
  void per_cpu;
}
