// SPDX-License-Identifier: GPL-2.0-only
// Kernel primitives the mlx5 driver needs and irqlab's lib/kernel does not
// have yet, rendered here with their kernel names so that the driver reads
// like C: counting semaphores (kernel/locking/semaphore.c), atomic notifier
// chains (kernel/notifier.c) and DMA pools (mm/dmapool.c). They belong in
// lib/kernel; they live with their only user until another needs them.

import { WARN } from "../../../../lib/kernel/bug.ts";
import { ETIME } from "../../../../lib/kernel/errno.ts";
import { dma_alloc_coherent, dma_free_coherent, type DmaCoherentBuffer, type dma_device_like, type gfp_t } from "../../../../lib/kernel/dma.ts";
import { schedule_timeout } from "../../../../lib/kernel/delay.ts";
import { MAX_SCHEDULE_TIMEOUT, current, might_sleep, set_current_state, wake_up_process, TASK_UNINTERRUPTIBLE, type task_struct } from "../../../../lib/kernel/sched.ts";
import { raw_spinlock_t, raw_spin_lock_irqsave, raw_spin_unlock_irqrestore } from "../../../../lib/kernel/spinlock.ts";
import { site_of } from "../../../../lib/kernel/stacktrace.ts";

/* ------------------------------------------------------------ semaphores */

interface semaphore_waiter {
  task: task_struct;
  up: boolean;
}

/** struct semaphore */
export class semaphore {
  count = 0;
  readonly wait_list: semaphore_waiter[] = [];
  readonly lock = new raw_spinlock_t("&sem->lock");
}

// include/linux/semaphore.h: sema_init()
export function sema_init(sem: semaphore, val: number): void {
  sem.count = val;
  sem.wait_list.length = 0;
}

// kernel/locking/semaphore.c: ___down_common(): sleep until up() hands the semaphore over, or time out
async function ___down_common(sem: semaphore, timeout: number, flags: number): Promise<number> {
  const me = current();
  const waiter: semaphore_waiter = { task: me, up: false };
  sem.wait_list.push(waiter);
  let f = flags;
  for (;;) {
    if (timeout <= 0) {
      const i = sem.wait_list.indexOf(waiter);
      if (i >= 0) sem.wait_list.splice(i, 1);
      raw_spin_unlock_irqrestore(sem.lock, f);
      return -ETIME;
    }
    set_current_state(TASK_UNINTERRUPTIBLE);
    me.waitingOn = "down(semaphore)";
    raw_spin_unlock_irqrestore(sem.lock, f);
    timeout = await schedule_timeout(timeout);
    f = raw_spin_lock_irqsave(sem.lock, 0, ___down_common_ip);
    if (waiter.up) {
      raw_spin_unlock_irqrestore(sem.lock, f);
      return 0;
    }
  }
}
const ___down_common_ip = site_of(___down_common);

// kernel/locking/semaphore.c: down(): may sleep; does not await when the semaphore is free
export async function down(sem: semaphore): Promise<void> {
  might_sleep("kernel/locking/semaphore.c", 0);
  const flags = raw_spin_lock_irqsave(sem.lock, 0, down_ip);
  if (sem.count > 0) {
    sem.count--;
    raw_spin_unlock_irqrestore(sem.lock, flags);
    return;
  }
  await ___down_common(sem, MAX_SCHEDULE_TIMEOUT, flags);
}
const down_ip = site_of(down);

// kernel/locking/semaphore.c: down_timeout(): 0, or -ETIME when `timeout` jiffies passed
export async function down_timeout(sem: semaphore, timeout: number): Promise<number> {
  might_sleep("kernel/locking/semaphore.c", 0);
  const flags = raw_spin_lock_irqsave(sem.lock, 0, down_timeout_ip);
  if (sem.count > 0) {
    sem.count--;
    raw_spin_unlock_irqrestore(sem.lock, flags);
    return 0;
  }
  return ___down_common(sem, timeout, flags);
}
const down_timeout_ip = site_of(down_timeout);

// kernel/locking/semaphore.c: down_trylock(): 0 if acquired, 1 if not (sic)
export function down_trylock(sem: semaphore): number {
  const flags = raw_spin_lock_irqsave(sem.lock, 0, down_trylock_ip);
  const count = sem.count - 1;
  if (count >= 0) sem.count = count;
  raw_spin_unlock_irqrestore(sem.lock, flags);
  return count < 0 ? 1 : 0;
}
const down_trylock_ip = site_of(down_trylock);

// kernel/locking/semaphore.c: up(): any context; hands the semaphore to the first waiter
export function up(sem: semaphore): void {
  const flags = raw_spin_lock_irqsave(sem.lock, 0, up_ip);
  const w = sem.wait_list.shift();
  if (!w) sem.count++;
  else {
    w.up = true;
    wake_up_process(w.task);
  }
  raw_spin_unlock_irqrestore(sem.lock, flags);
}
const up_ip = site_of(up);

/* ------------------------------------------------------------ notifier chains */

export const NOTIFY_DONE = 0x0000;
export const NOTIFY_OK = 0x0001;
export const NOTIFY_STOP_MASK = 0x8000;

/** struct notifier_block */
export interface notifier_block {
  notifier_call: (nb: notifier_block, action: number, data: unknown) => number;
  priority?: number;
}

/** struct atomic_notifier_head */
export class atomic_notifier_head {
  readonly chain: notifier_block[] = [];
  readonly lock = new raw_spinlock_t("&nh->lock");
}

// kernel/notifier.c: atomic_notifier_chain_register(): by priority, highest first
export function atomic_notifier_chain_register(nh: atomic_notifier_head, n: notifier_block): number {
  const flags = raw_spin_lock_irqsave(nh.lock, 0, atomic_notifier_chain_register_ip);
  if (nh.chain.includes(n)) {
    raw_spin_unlock_irqrestore(nh.lock, flags);
    // notifier_chain_register()
    WARN(1, "notifier callback %ps already registered", n.notifier_call);
    return -17; // -EEXIST
  }
  let i = 0;
  while (i < nh.chain.length && (nh.chain[i]!.priority ?? 0) >= (n.priority ?? 0)) i++;
  nh.chain.splice(i, 0, n);
  raw_spin_unlock_irqrestore(nh.lock, flags);
  return 0;
}
const atomic_notifier_chain_register_ip = site_of(atomic_notifier_chain_register);

// kernel/notifier.c: atomic_notifier_chain_unregister()
export function atomic_notifier_chain_unregister(nh: atomic_notifier_head, n: notifier_block): number {
  const flags = raw_spin_lock_irqsave(nh.lock, 0, atomic_notifier_chain_unregister_ip);
  const i = nh.chain.indexOf(n);
  if (i >= 0) nh.chain.splice(i, 1);
  raw_spin_unlock_irqrestore(nh.lock, flags);
  return i >= 0 ? 0 : -2; // -ENOENT
}
const atomic_notifier_chain_unregister_ip = site_of(atomic_notifier_chain_unregister);

// kernel/notifier.c: atomic_notifier_call_chain() (RCU read side: any context)
export function atomic_notifier_call_chain(nh: atomic_notifier_head, val: number, v: unknown): number {
  let ret = NOTIFY_DONE;
  for (const nb of [...nh.chain]) {
    ret = nb.notifier_call(nb, val, v);
    if (ret & NOTIFY_STOP_MASK) break;
  }
  return ret;
}

/* ------------------------------------------------------------ DMA pools */

/** A block handed out by a dma_pool: a window of a coherent page. */
export class dma_pool_block {
  constructor(
    readonly page: DmaCoherentBuffer,
    readonly off: number,
    readonly size: number,
  ) {}
  get dma(): number {
    return this.page.dma_handle + this.off;
  }
  u8(o: number): number {
    return this.page.u8(this.off + o);
  }
  set_u8(o: number, v: number): void {
    this.page.set_u8(this.off + o, v);
  }
  be32(o: number): number {
    return this.page.be32(this.off + o);
  }
  set_be32(o: number, v: number): void {
    this.page.set_be32(this.off + o, v);
  }
  be64(o: number): bigint {
    return this.page.be64(this.off + o);
  }
  set_be64(o: number, v: bigint): void {
    this.page.set_be64(this.off + o, v);
  }
  read(o: number, len: number): Uint8Array {
    return this.page.read(this.off + o, len);
  }
  write(o: number, b: Uint8Array): void {
    this.page.write(this.off + o, b);
  }
  zero(): void {
    this.page.zero(this.off, this.size);
  }
}

/** struct dma_pool */
export class dma_pool {
  readonly pages: DmaCoherentBuffer[] = [];
  readonly free: dma_pool_block[] = [];
  readonly stride: number;
  constructor(
    readonly name: string,
    readonly dev: dma_device_like | null,
    readonly size: number,
    align: number,
  ) {
    this.stride = Math.ceil(size / align) * align;
  }
}

const POOL_PAGE = 4096;

// mm/dmapool.c: dma_pool_create()
export function dma_pool_create(name: string, dev: dma_device_like | null, size: number, align: number, _boundary: number): dma_pool | null {
  if (!(size > 0) || align & (align - 1) || size > POOL_PAGE) return null;
  return new dma_pool(name, dev, size, Math.max(align, 1));
}

// mm/dmapool.c: dma_pool_zalloc()
export function dma_pool_zalloc(pool: dma_pool, gfp: gfp_t): dma_pool_block | null {
  let b = pool.free.pop();
  if (!b) {
    const page = dma_alloc_coherent(pool.dev, POOL_PAGE, gfp);
    if (!page) return null;
    pool.pages.push(page);
    for (let off = POOL_PAGE - pool.stride; off >= 0; off -= pool.stride) pool.free.push(new dma_pool_block(page, off, pool.size));
    b = pool.free.pop()!;
  }
  b.zero();
  return b;
}

// mm/dmapool.c: dma_pool_free()
export function dma_pool_free(pool: dma_pool, b: dma_pool_block): void {
  pool.free.push(b);
}

// mm/dmapool.c: dma_pool_destroy()
export function dma_pool_destroy(pool: dma_pool | null): void {
  if (!pool) return;
  for (const p of pool.pages) dma_free_coherent(pool.dev, POOL_PAGE, p, p.dma_handle);
  pool.pages.length = 0;
  pool.free.length = 0;
}
