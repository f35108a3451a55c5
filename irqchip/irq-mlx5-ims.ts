// SPDX-License-Identifier: GPL-2.0-only
// irqlab: the queue-backed IMS irqchip for irqlab's mlx5-like NIC, whose
// interrupt messages live in a RAM store the device owns and changes only
// through commands (IRQLAB_SET_IMS_ENTRY, docs/mlx5.md). No such chip was
// ever posted for Linux; this is the design Thomas Gleixner proposed in the
// August 2020 IMS thread (hardware.md 1.5, his five points), on the PCI/IMS
// API of v6.2 (pci_create_ims_domain()):
//
//  (1) the message is one entry pushed whole by the device's command, so no
//      torn addr/data pair can be sampled;
//  (2) no synchronous command for a regular migration: under the remapping
//      parent the device message never changes after activation (INTEL-IR
//      rewrites the IRTE and returns IRQ_SET_MASK_OK_DONE), so there is
//      nothing to do; on the bare vector domain irq_write_msi_msg() only
//      records the new message and a work item pushes it;
//  (3) no command for mask/unmask: irq_mask()/irq_unmask() edit a per-entry
//      shadow (genirq disables lazily, and an edge MSI is masked only around
//      startup, teardown and a deferred move);
//  (4) startup and teardown are synchronous: irq_bus_lock() takes a mutex
//      before desc->lock, the atomic callbacks edit the shadow, and
//      irq_bus_sync_unlock(), in task context after desc->lock is dropped,
//      pushes the changed entry with SET_IMS_ENTRY and waits for it;
//  (5) CPU hotplug: the forced migration off a dying CPU runs in
//      stop_machine context, so it takes path (2); see
//      mlx5_ims_async_work() for why nothing is lost.
//
// The chip reaches the device through an ops table the driver hands to
// pci_create_ims_domain() as the domain's data (struct mlx5_ims_chip_data,
// the msi_domain_info's data); irqchip/ may not import drivers/. The
// template's chip is copied per domain by msi_create_device_irq_domain(), so
// the live chip of an interrupt is irq_get_chip(virq) (its name is
// "IR-MLX5-IMS-<bdf>" under remapping, "MLX5-IMS-<bdf>" on the vector
// domain); a test that wraps a callback wraps that object's member.

import { cpu_online } from "../lib/kernel/cpumask.ts";
import { mutex, mutex_lock, mutex_unlock } from "../lib/kernel/mutex.ts";
import { raw_spinlock_t, raw_spin_lock_irqsave, raw_spin_unlock_irqrestore } from "../lib/kernel/spinlock.ts";
import { INIT_WORK, queue_work, system_unbound_wq, type work_struct } from "../lib/kernel/workqueue.ts";
import { IRQCHIP_ONESHOT_SAFE, irq_data_get_msi_desc, type irq_chip, type irq_data } from "../lib/irq/irq.ts";
import { irq_get_msi_desc } from "../lib/irq/chip.ts";
import { irq_inject_interrupt } from "../lib/irq/resend.ts";
import { DOMAIN_BUS_PCI_DEVICE_IMS, type irq_domain } from "../lib/irq/irqdomain.ts";
import {
  MSI_FLAG_ALLOC_SIMPLE_MSI_DESCS,
  MSI_FLAG_FREE_MSI_DESCS,
  MSI_FLAG_PCI_IMS,
  type msi_alloc_info_t,
  type msi_domain_info,
  type msi_domain_template,
} from "../lib/irq/msi.ts";
import type { msi_desc, msi_msg } from "../lib/irq/msi_types.ts";

/** ctrl bit 0 of a store entry: the entry is masked (MSI-X sense). */
export const MLX5_IMS_CTRL_MASKED = 1;

/** One entry of the device's store, as SET_IMS_ENTRY carries it. */
export interface mlx5_ims_hw_entry {
  addr_lo: number;
  addr_hi: number;
  data: number;
  ctrl: number;
}

/**
 * What the chip needs from the driver. Implemented in
 * drivers/net/mlx5/core/ims_irq.ts with the mlx5_ims_* commands.
 */
export interface mlx5_ims_chip_ops {
  /** SET_IMS_ENTRY and wait for its completion. Task context, may sleep. 0 or a negative errno. */
  set_entry(index: number, e: mlx5_ims_hw_entry): Promise<number>;
  /**
   * Variant (a): post SET_IMS_ENTRY and spin for its completion with
   * interrupts off, at most `timeout_us`. Atomic-safe. 0 or a negative errno.
   */
  set_entry_spin?(index: number, e: mlx5_ims_hw_entry, timeout_us: number): number;
  /** Variant (5): store the entry straight into the RAM store, no command. */
  write_entry_direct?(index: number, e: mlx5_ims_hw_entry): number;
  /** Variant (c): mask or unmask at the remapping parent's IRTE (present bit). Atomic-safe. */
  irte_mask?(d: irq_data, masked: boolean): number;
  /** Report a failed push (the driver's log format). */
  report_error?(index: number, err: number, what: string): void;
}

/** Per entry: the chip's shadow and what the device was last told. */
export class mlx5_ims_slot {
  readonly shadow: mlx5_ims_hw_entry = { addr_lo: 0, addr_hi: 0, data: 0, ctrl: MLX5_IMS_CTRL_MASKED };
  /** The entry as the last successful SET_IMS_ENTRY left it on the device, or null. */
  device: mlx5_ims_hw_entry | null = null;
  /** mlx5_ims_chip_data.generation of the last successful push. */
  pushed_gen = -1;
  /** A CPU the device may still be sending to although it went offline before the push. */
  stale_cpu = -1;
  virq = 0;
  constructor(readonly index: number) {}
}

/** Counters the tests and the trade-off table read. */
export interface mlx5_ims_chip_stats {
  /** SET_IMS_ENTRY commands issued (sync and async). */
  commands: number;
  /** ... of which from the async work (migrations without remapping). */
  async_commands: number;
  /** Pushes that failed (the entry stays dirty and is pushed again later). */
  errors: number;
  /** Interrupts injected after a push that followed a dead CPU (see mlx5_ims_async_work()). */
  retriggers: number;
}

/**
 * irqlab: the IMS domain's data (msi_domain_info.data): the ops table, the
 * bus-lock mutex, the shadow store and the async push work.
 */
export class mlx5_ims_chip_data {
  /** irq_bus_lock()'s mutex: serialises every push, sync or async. */
  readonly bus_lock = new mutex("&ims->bus_lock");
  /** Protects slots[*].shadow between atomic callbacks and the push paths; nests inside desc->lock. */
  readonly lock = new raw_spinlock_t("&ims->lock");
  readonly slots = new Map<number, mlx5_ims_slot>();
  /** Entries whose interrupt is inside a bus-locked section (pushed by its sync_unlock). */
  readonly bus_locked = new Set<number>();
  /** Entries changed outside a bus-locked section (an affinity change), pushed by the work. */
  readonly async_dirty = new Set<number>();
  readonly async_work: work_struct;
  readonly stats: mlx5_ims_chip_stats = { commands: 0, async_commands: 0, errors: 0, retriggers: 0 };
  /** Bumped each time the device lost its store (a reset): pushes before it are void. */
  generation = 0;
  /** Variant (a): spin budget per command in us (0: the variant's default), and the longest spin seen in ns. */
  spin_timeout_us = 0;
  spin_ns_max = 0;
  /** Variant (c): IRTE present-bit changes; variant (5): stores straight into RAM. */
  irte_masks = 0;
  direct_writes = 0;
  constructor(readonly ops: mlx5_ims_chip_ops) {
    this.async_work = INIT_WORK(() => mlx5_ims_async_work(this));
  }
}

function ims_data(d: irq_data): mlx5_ims_chip_data {
  return (d.domain!.host_data as msi_domain_info).data as mlx5_ims_chip_data;
}

function ims_slot(ims: mlx5_ims_chip_data, d: irq_data): mlx5_ims_slot | undefined {
  return ims.slots.get(irq_data_get_msi_desc(d)!.msi_index);
}

function entry_equal(a: mlx5_ims_hw_entry, b: mlx5_ims_hw_entry | null): boolean {
  return b !== null && a.addr_lo === b.addr_lo && a.addr_hi === b.addr_hi && a.data === b.data && a.ctrl === b.ctrl;
}

/** The shadow differs from what the device holds. */
export function mlx5_ims_slot_dirty(s: mlx5_ims_slot): boolean {
  return !entry_equal(s.shadow, s.device);
}

/** x86 compatibility-format destination APIC id of a message (bits 19:12 of addr_lo). */
function msg_dest(e: mlx5_ims_hw_entry): number {
  return (e.addr_lo >>> 12) & 0xff;
}

/**
 * Push one entry with SET_IMS_ENTRY and wait. Task context with
 * ims->bus_lock held: the mutex keeps two pushes of an entry in order.
 */
export async function mlx5_ims_push(ims: mlx5_ims_chip_data, s: mlx5_ims_slot, is_async: boolean): Promise<number> {
  const flags = raw_spin_lock_irqsave(ims.lock);
  const e = { ...s.shadow };
  raw_spin_unlock_irqrestore(ims.lock, flags);
  ims.stats.commands++;
  if (is_async) ims.stats.async_commands++;
  const err = await ims.ops.set_entry(s.index, e);
  if (err) {
    ims.stats.errors++;
    ims.ops.report_error?.(s.index, err, is_async ? "async update" : "update");
    return err;
  }
  s.device = e;
  s.pushed_gen = ims.generation;
  return 0;
}

// irqlab: mlx5_ims_bus_lock(); task context, before desc->lock (chip_bus_lock())
export async function mlx5_ims_bus_lock(d: irq_data): Promise<void> {
  const ims = ims_data(d);
  await mutex_lock(ims.bus_lock);
  const index = irq_data_get_msi_desc(d)!.msi_index;
  ims.bus_locked.add(index);
  const s = ims.slots.get(index);
  if (s) s.virq = d.irq;
}

// irqlab: mlx5_ims_bus_sync_unlock(); task context, desc->lock dropped. The
// startup/teardown push: the caller of request_irq()/free_irq()/
// enable_irq()... returns only once the device holds the entry.
export async function mlx5_ims_bus_sync_unlock(d: irq_data): Promise<void> {
  const ims = ims_data(d);
  const index = irq_data_get_msi_desc(d)!.msi_index;
  const s = ims.slots.get(index);
  if (s && mlx5_ims_slot_dirty(s)) {
    // the sync push carries whatever an atomic path recorded meanwhile too
    ims.async_dirty.delete(index);
    await mlx5_ims_push(ims, s, false);
  }
  ims.bus_locked.delete(index);
  mutex_unlock(ims.bus_lock);
}

// irqlab: mlx5_ims_mask(); desc->lock held, interrupts off: the shadow only
export function mlx5_ims_mask(d: irq_data): void {
  const ims = ims_data(d);
  const s = ims_slot(ims, d);
  if (!s) return;
  const flags = raw_spin_lock_irqsave(ims.lock);
  s.shadow.ctrl |= MLX5_IMS_CTRL_MASKED;
  raw_spin_unlock_irqrestore(ims.lock, flags);
}

// irqlab: mlx5_ims_unmask(); desc->lock held, interrupts off: the shadow only
export function mlx5_ims_unmask(d: irq_data): void {
  const ims = ims_data(d);
  const s = ims_slot(ims, d);
  if (!s) return;
  const flags = raw_spin_lock_irqsave(ims.lock);
  s.shadow.ctrl &= ~MLX5_IMS_CTRL_MASKED;
  raw_spin_unlock_irqrestore(ims.lock, flags);
}

/**
 * Record a new message outside a bus-locked section and let the work push
 * it. Atomic context (desc->lock held; on x86 without remapping possibly in
 * the ack of an interrupt on the old CPU).
 */
export function mlx5_ims_queue_async(ims: mlx5_ims_chip_data, s: mlx5_ims_slot, old: mlx5_ims_hw_entry): void {
  // The device keeps sending the old message until the push completes: if
  // its CPU is the one going down, remember it (see mlx5_ims_async_work()).
  if (old.addr_lo && msg_dest(old) !== msg_dest(s.shadow) && !cpu_online(msg_dest(old))) s.stale_cpu = msg_dest(old);
  ims.async_dirty.add(s.index);
  // unbound: the CPU this runs on may be the one going down (fixup_irqs())
  queue_work(system_unbound_wq(), ims.async_work);
}

// irqlab: mlx5_ims_write_msi_msg(); desc->lock held, interrupts off
export function mlx5_ims_write_msi_msg(d: irq_data, msg: msi_msg): void {
  const ims = ims_data(d);
  const s = ims_slot(ims, d);
  if (!s) return;
  const flags = raw_spin_lock_irqsave(ims.lock);
  const old = { ...s.shadow };
  s.virq = d.irq;
  s.shadow.addr_lo = msg.address_lo;
  s.shadow.addr_hi = msg.address_hi;
  s.shadow.data = msg.data;
  raw_spin_unlock_irqrestore(ims.lock, flags);
  // Inside request_irq()/free_irq() the bus lock's sync_unlock pushes it.
  // Otherwise this is an affinity change (only without remapping: INTEL-IR
  // keeps the device message constant), which cannot wait here.
  if (!ims.bus_locked.has(s.index) && mlx5_ims_slot_dirty(s)) mlx5_ims_queue_async(ims, s, old);
}

/**
 * irqlab: the async push of messages changed by affinity moves (Gunthorpe's
 * "make it out eventually" work, Gleixner's point 2). Runs in a kworker,
 * takes the bus lock so it is ordered with startup/teardown pushes.
 *
 * Why nothing is lost between the move and the push, on x86 without
 * remapping: msi_set_affinity() moved the interrupt to a new vector and left
 * the vector domain with move_in_progress set; the old vector stays
 * allocated and routed to this irq until irq_complete_move() sees the first
 * interrupt arrive on the new vector, which cannot happen before the device
 * executed this SET_IMS_ENTRY. Until then the device keeps using the old
 * message and its interrupts are handled on the old CPU; a second move is
 * refused with -EBUSY by the vector domain while this one is in progress.
 * The one exception is a forced move off a dying CPU (fixup_irqs() in
 * stop_machine context): the old vector is released at once and an
 * interrupt the device sends there before the push lands on a dead CPU. For
 * that case the slot remembers the dead CPU and, once the push completed,
 * the work injects the interrupt (irq_inject_interrupt(), the resend path):
 * the mlx5 EQ is one-shot and keeps its EQEs, so one extra run of the
 * handler consumes whatever the lost interrupt announced and re-arms it.
 */
export async function mlx5_ims_async_work(ims: mlx5_ims_chip_data): Promise<void> {
  await mutex_lock(ims.bus_lock);
  const inject: number[] = [];
  for (const index of [...ims.async_dirty]) {
    ims.async_dirty.delete(index);
    const s = ims.slots.get(index);
    if (!s || !mlx5_ims_slot_dirty(s)) continue;
    const err = await mlx5_ims_push(ims, s, true);
    if (err) continue;
    if (s.stale_cpu >= 0) {
      s.stale_cpu = -1;
      inject.push(s.virq);
    }
  }
  mutex_unlock(ims.bus_lock);
  // irq_inject_interrupt() takes the bus lock itself
  for (const virq of inject) {
    ims.stats.retriggers++;
    await irq_inject_interrupt(virq);
  }
}

/**
 * irqlab: the device lost its store (a reset): what it was told is void.
 * Any context; the entries are pushed again by mlx5_ims_restore().
 */
export function mlx5_ims_store_lost(ims: mlx5_ims_chip_data): void {
  ims.generation++;
  for (const s of ims.slots.values()) s.device = null;
}

/**
 * irqlab: after a reset and reload, push every live entry the device has not
 * been told since it lost its store. Task context, may sleep. Entries of
 * interrupts requested since the reload are current already. Returns the
 * number of entries pushed, or the first error.
 */
export async function mlx5_ims_restore(ims: mlx5_ims_chip_data): Promise<number> {
  let ret = 0;
  let pushed = 0;
  await mutex_lock(ims.bus_lock);
  for (const s of ims.slots.values()) {
    if (s.pushed_gen === ims.generation && !mlx5_ims_slot_dirty(s)) continue;
    const err = await mlx5_ims_push(ims, s, false);
    if (err && !ret) ret = err;
    if (!err) pushed++;
  }
  mutex_unlock(ims.bus_lock);
  return ret || pushed;
}

// irqlab: mlx5_ims_prepare_desc(); descriptor lock held. The entry starts
// masked with no message, as INIT_IMS_STORE left it on the device.
export function mlx5_ims_prepare_desc(domain: irq_domain, arg: msi_alloc_info_t, desc: msi_desc): void {
  const ims = (domain.host_data as msi_domain_info).data as mlx5_ims_chip_data;
  const s = new mlx5_ims_slot(desc.msi_index);
  s.device = { addr_lo: 0, addr_hi: 0, data: 0, ctrl: MLX5_IMS_CTRL_MASKED };
  ims.slots.set(desc.msi_index, s);
  arg.hwirq = desc.msi_index;
}

// irqlab: mlx5_ims_msi_free(); descriptor lock held. free_irq()'s teardown
// push already masked the entry on the device.
function mlx5_ims_msi_free(_domain: irq_domain, info: msi_domain_info, virq: number): void {
  const ims = info.data as mlx5_ims_chip_data;
  const desc = irq_get_msi_desc(virq);
  if (!desc) return;
  ims.slots.delete(desc.msi_index);
  ims.async_dirty.delete(desc.msi_index);
}

/** The reference design's chip. No irq_set_affinity: pci_create_ims_domain() refuses one. */
export const mlx5_ims_chip: irq_chip = {
  name: "MLX5-IMS",
  irq_mask: mlx5_ims_mask,
  irq_unmask: mlx5_ims_unmask,
  irq_write_msi_msg: mlx5_ims_write_msi_msg,
  irq_bus_lock: mlx5_ims_bus_lock,
  irq_bus_sync_unlock: mlx5_ims_bus_sync_unlock,
  flags: IRQCHIP_ONESHOT_SAFE,
};

/** The IMS domain template of the reference design; the domain's data is an mlx5_ims_chip_data. */
export const mlx5_ims_template: msi_domain_template = {
  chip: mlx5_ims_chip,
  ops: {
    prepare_desc: mlx5_ims_prepare_desc,
    msi_free: mlx5_ims_msi_free,
  },
  info: {
    flags: MSI_FLAG_ALLOC_SIMPLE_MSI_DESCS | MSI_FLAG_FREE_MSI_DESCS | MSI_FLAG_PCI_IMS,
    bus_token: DOMAIN_BUS_PCI_DEVICE_IMS,
    handler: null,
    handler_data: null,
    handler_name: null,
  },
};

/** The chip data of an IMS interrupt's domain (tests, the driver's glue). */
export function mlx5_ims_chip_data_of(d: irq_data): mlx5_ims_chip_data {
  return ims_data(d);
}
