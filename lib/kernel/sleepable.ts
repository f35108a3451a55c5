// SPDX-License-Identifier: GPL-2.0-only
// Kernel functions that may sleep, written once for both outcomes.
//
// A may-sleep kernel function is a generator that yields what its sleeping
// primitives return: nothing when they did not sleep (__mutex_lock() on a
// free mutex), a promise when they did. sleepable() runs it synchronously up
// to the first promise and returns the result itself, so that a call which
// sleeps nowhere has completed when it returns, as in C; only from the first
// real sleep on does the caller get a promise.

/** What a step of a may-sleep function yields: a promise only when it sleeps. */
export type SleepStep = void | Promise<unknown>;

/** The body of a may-sleep kernel function. */
export type Sleepable<T> = Generator<SleepStep, T, unknown>;

async function finish<T>(gen: Sleepable<T>, first: Promise<unknown>): Promise<T> {
  let v: unknown = await first;
  for (;;) {
    const r = gen.next(v);
    if (r.done) return r.value;
    v = r.value instanceof Promise ? await r.value : undefined;
  }
}

/** Run a may-sleep body: its result, or a promise of it once it really sleeps. */
export function sleepable<T>(gen: Sleepable<T>): T | Promise<T> {
  for (;;) {
    const r = gen.next();
    if (r.done) return r.value;
    if (r.value instanceof Promise) return finish(gen, r.value);
  }
}

/** Inside a may-sleep body: the value of a call that may sleep (`yield* may_sleep(f())`). */
export function* may_sleep<T>(x: T | Promise<T>): Sleepable<T> {
  if (x instanceof Promise) return (yield x) as T;
  return x;
}
