// SPDX-License-Identifier: GPL-2.0-only
// kernel/kthread.c: kernel threads.

import { K } from "./kernel.ts";
import { vsprintf } from "./vsprintf.ts";
import { alloc_pid, current, task_struct, wake_up_process, PF_KTHREAD, TASK_UNINTERRUPTIBLE, PF_EXITING } from "./sched.ts";
import { completion, complete_all, wait_for_completion } from "./completion.ts";
import { EINTR } from "./errno.ts";
import { print_held_locks_bug } from "./lockdep_report.ts";

/** TASK_COMM_LEN - 1 */
const COMM_MAX = 15;

export interface kthread {
  should_stop: boolean;
  exited: completion;
  result: number;
  threadfn: (data: unknown) => Promise<number> | number;
  data: unknown;
}

export function to_kthread(t: task_struct): kthread {
  return t.kthread as kthread;
}

/**
 * kthread_create(threadfn, data, namefmt, ...): the thread is created
 * stopped; wake_up_process() starts it. It runs on the creator's CPU unless
 * bound elsewhere first.
 */
export function kthread_create<D>(threadfn: (data: D) => Promise<number> | number, data: D, namefmt: string, ...args: unknown[]): task_struct {
  const comm = vsprintf(namefmt, args).slice(0, COMM_MAX);
  const kt: kthread = {
    should_stop: false,
    exited: new completion("kthread->exited"),
    result: 0,
    threadfn: threadfn as (d: unknown) => Promise<number> | number,
    data,
  };
  const cpu = K.sim.cur;
  // kernel/kthread.c: kthread(): the body every kernel thread runs
  const body = async (): Promise<number> => {
    let ret: number;
    if (kt.should_stop) ret = -EINTR;
    else ret = await kt.threadfn(kt.data);
    kthread_exit_common(self, ret);
    return ret;
  };
  const self: task_struct = new task_struct(alloc_pid(), comm, cpu, body);
  self.flags |= PF_KTHREAD;
  self.kthread = kt;
  self.__state = TASK_UNINTERRUPTIBLE;
  K.sim.addTask(self, false);
  return self;
}

function kthread_exit_common(t: task_struct, ret: number): void {
  const kt = to_kthread(t);
  kt.result = ret;
  t.flags |= PF_EXITING;
  if (t.held_locks.length > 0 && K.debug_locks) print_held_locks_bug();
  complete_all(kt.exited);
}

export function kthread_run<D>(threadfn: (data: D) => Promise<number> | number, data: D, namefmt: string, ...args: unknown[]): task_struct {
  const t = kthread_create(threadfn, data, namefmt, ...args);
  wake_up_process(t);
  return t;
}

/** kthread_bind(): pin a not-yet-running thread to a CPU. */
export function kthread_bind(t: task_struct, cpu: number): void {
  K.sim.migrate(t, K.sim.cpus[cpu]!);
}

export function kthread_create_on_cpu<D>(threadfn: (data: D) => Promise<number> | number, data: D, cpu: number, namefmt: string): task_struct {
  const t = kthread_create(threadfn, data, namefmt, cpu);
  kthread_bind(t, cpu);
  return t;
}

export function kthread_should_stop(): boolean {
  const kt = current().kthread as kthread | null;
  return kt !== null && kt.should_stop;
}

// kernel/kthread.c: kthread_stop()
export async function kthread_stop(t: task_struct): Promise<number> {
  const kt = to_kthread(t);
  kt.should_stop = true;
  wake_up_process(t);
  await wait_for_completion(kt.exited);
  return kt.result;
}

/** set_cpus_allowed_ptr() to one CPU: a running task moves when it next sleeps. */
export function set_task_cpu(t: task_struct, cpu: number): void {
  if (t.cpu.id === cpu) return;
  K.sim.migrate(t, K.sim.cpus[cpu]!);
}
