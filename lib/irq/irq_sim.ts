// SPDX-License-Identifier: GPL-2.0-only
// kernel/irq/irq_sim.c: the interrupt simulator (A55-A58), a software
// interrupt controller for tests. A user maps hwirqs lazily with
// irq_create_mapping() and fires one with
// irq_set_irqchip_state(virq, IRQCHIP_STATE_PENDING, true); a HARD irq_work
// then runs handle_simple_irq() for every pending hwirq in hardirq context
// on the CPU that fired it.

import type { Frame } from "../kernel/frame.ts";
import { EINVAL, ENOMEM } from "../kernel/errno.ts";
import { IRQ_WORK_INIT_HARD, irq_work_queue, irq_work_sync, type irq_work } from "../kernel/irq_work.ts";
import { may_sleep, sleepable, type Sleepable } from "../kernel/sleepable.ts";
import {
  irqd_set_trigger_type,
  irqd_to_hwirq,
  irq_data_get_irq_chip_data,
  IRQ_NOAUTOEN,
  IRQ_NOPROBE,
  IRQ_NOREQUEST,
  IRQ_TYPE_EDGE_BOTH,
  IRQCHIP_STATE_PENDING,
  type irq_chip,
  type irq_data,
} from "./irq.ts";
import { irq_to_desc } from "./irqdesc.ts";
import { irq_modify_status, irq_set_chip, irq_set_chip_data, irq_set_handler } from "./chip.ts";
import { handle_simple_irq } from "./flow.ts";
import {
  irq_domain_create_linear,
  irq_domain_get_irq_data,
  irq_domain_remove,
  irq_domain_reset_irq_data,
  irq_find_mapping,
  type fwnode_handle,
  type irq_domain,
  type irq_domain_ops,
} from "./irqdomain.ts";

/** struct irq_sim_ops: optional callbacks of the simulator's user. */
export interface irq_sim_ops {
  irq_sim_irq_requested?: (domain: irq_domain, hwirq: number, data: unknown) => number;
  irq_sim_irq_released?: (domain: irq_domain, hwirq: number, data: unknown) => void;
}

/** struct irq_sim_work_ctx */
interface irq_sim_work_ctx {
  work: irq_work;
  irq_count: number;
  /** The pending bitmap, one byte per hwirq. */
  pending: Uint8Array;
  /** Set bits in `pending`, so bitmap_empty() is O(1). */
  nr_pending: number;
  domain: irq_domain | null;
  ops: irq_sim_ops;
  user_data: unknown;
}

/** struct irq_sim_irq_ctx */
interface irq_sim_irq_ctx {
  enabled: boolean;
  work_ctx: irq_sim_work_ctx;
}

function assign_bit(ctx: irq_sim_work_ctx, nr: number, value: boolean): void {
  const old = ctx.pending[nr]!;
  ctx.pending[nr] = value ? 1 : 0;
  ctx.nr_pending += (value ? 1 : 0) - old;
}

function irq_ctx_of(data: irq_data): irq_sim_irq_ctx {
  return irq_data_get_irq_chip_data<irq_sim_irq_ctx>(data);
}

// kernel/irq/irq_sim.c: irq_sim_irqmask()
function irq_sim_irqmask(data: irq_data): void {
  irq_ctx_of(data).enabled = false;
}

// kernel/irq/irq_sim.c: irq_sim_irqunmask()
function irq_sim_irqunmask(data: irq_data): void {
  irq_ctx_of(data).enabled = true;
}

// kernel/irq/irq_sim.c: irq_sim_set_type(): rising and falling edge only
function irq_sim_set_type(data: irq_data, type: number): number {
  if (type & ~IRQ_TYPE_EDGE_BOTH) return -EINVAL;
  irqd_set_trigger_type(data, type);
  return 0;
}

// kernel/irq/irq_sim.c: irq_sim_get_irqchip_state(): a masked line leaves *state untouched
function irq_sim_get_irqchip_state(data: irq_data, which: number, state: { value: boolean }): number {
  const irq_ctx = irq_ctx_of(data);
  const hwirq = irqd_to_hwirq(data);
  switch (which) {
    case IRQCHIP_STATE_PENDING:
      if (irq_ctx.enabled) state.value = irq_ctx.work_ctx.pending[hwirq] === 1;
      break;
    default:
      return -EINVAL;
  }
  return 0;
}

// kernel/irq/irq_sim.c: irq_sim_set_irqchip_state(): a masked line drops the event
function irq_sim_set_irqchip_state(data: irq_data, which: number, state: boolean): number {
  const irq_ctx = irq_ctx_of(data);
  const hwirq = irqd_to_hwirq(data);
  switch (which) {
    case IRQCHIP_STATE_PENDING:
      if (irq_ctx.enabled) {
        assign_bit(irq_ctx.work_ctx, hwirq, state);
        if (state) irq_work_queue(irq_ctx.work_ctx.work);
      }
      break;
    default:
      return -EINVAL;
  }
  return 0;
}

// kernel/irq/irq_sim.c: irq_sim_request_resources()
function irq_sim_request_resources(data: irq_data): number {
  const work_ctx = irq_ctx_of(data).work_ctx;
  const requested = work_ctx.ops.irq_sim_irq_requested;
  if (requested) return requested(work_ctx.domain!, irqd_to_hwirq(data), work_ctx.user_data);
  return 0;
}

// kernel/irq/irq_sim.c: irq_sim_release_resources()
function irq_sim_release_resources(data: irq_data): void {
  const work_ctx = irq_ctx_of(data).work_ctx;
  const released = work_ctx.ops.irq_sim_irq_released;
  if (released) released(work_ctx.domain!, irqd_to_hwirq(data), work_ctx.user_data);
}

/** irq_sim_irqchip */
export const irq_sim_irqchip: irq_chip = {
  name: "irq_sim",
  irq_mask: irq_sim_irqmask,
  irq_unmask: irq_sim_irqunmask,
  irq_set_type: irq_sim_set_type,
  irq_get_irqchip_state: irq_sim_get_irqchip_state,
  irq_set_irqchip_state: irq_sim_set_irqchip_state,
  irq_request_resources: irq_sim_request_resources,
  irq_release_resources: irq_sim_release_resources,
};

// kernel/irq/irq_sim.c: irq_sim_handle_irq(): the HARD irq_work, interrupts off
function* irq_sim_handle_irq(work_ctx: irq_sim_work_ctx): Frame {
  let offset = 0;
  while (work_ctx.nr_pending !== 0) {
    // find_next_bit() does not wrap: bits below `offset` set while this run
    // handles higher ones make the kernel's loop index past the bitmap.
    // irqlab ends the run there instead; the re-queued work picks them up.
    while (offset < work_ctx.irq_count && !work_ctx.pending[offset]) offset++;
    if (offset >= work_ctx.irq_count) break;
    assign_bit(work_ctx, offset, false);
    const irqnum = irq_find_mapping(work_ctx.domain, offset);
    // An hwirq disposed of while pending has no descriptor: C would pass
    // irq_to_desc(0) on; irqlab skips it.
    const desc = irqnum ? irq_to_desc(irqnum) : null;
    if (desc) yield* handle_simple_irq(desc);
  }
}

// kernel/irq/irq_sim.c: irq_sim_domain_map()
function irq_sim_domain_map(domain: irq_domain, virq: number, _hw: number): number {
  const work_ctx = domain.host_data as irq_sim_work_ctx;
  const irq_ctx: irq_sim_irq_ctx = { enabled: false, work_ctx };
  irq_set_chip(virq, irq_sim_irqchip);
  irq_set_chip_data(virq, irq_ctx);
  irq_set_handler(virq, handle_simple_irq);
  irq_modify_status(virq, IRQ_NOREQUEST | IRQ_NOAUTOEN, IRQ_NOPROBE);
  return 0;
}

// kernel/irq/irq_sim.c: irq_sim_domain_unmap()
function irq_sim_domain_unmap(domain: irq_domain, virq: number): void {
  const irqd = irq_domain_get_irq_data(domain, virq)!;
  irq_set_handler(virq, null);
  irq_domain_reset_irq_data(irqd);
}

const irq_sim_domain_ops: irq_domain_ops = {
  map: irq_sim_domain_map,
  unmap: irq_sim_domain_unmap,
};

// kernel/irq/irq_sim.c: irq_domain_create_sim_full()
function* irq_domain_create_sim_full_g(fwnode: fwnode_handle | null, num_irqs: number, ops: irq_sim_ops | null, data: unknown): Sleepable<irq_domain | number> {
  const work_ctx: irq_sim_work_ctx = {
    work: null as unknown as irq_work,
    irq_count: num_irqs,
    pending: new Uint8Array(num_irqs),
    nr_pending: 0,
    domain: null,
    ops: {},
    user_data: data,
  };
  const domain = yield* may_sleep(irq_domain_create_linear(fwnode, num_irqs, irq_sim_domain_ops, work_ctx));
  if (!domain) return -ENOMEM;
  work_ctx.domain = domain;
  work_ctx.work = IRQ_WORK_INIT_HARD(() => irq_sim_handle_irq(work_ctx));
  if (ops) work_ctx.ops = { ...ops };
  return domain;
}

/**
 * irq_domain_create_sim_full(): a linear domain of `num_irqs` simulated
 * interrupts, or a negative errno (ERR_PTR) — a promise only if it slept.
 */
export function irq_domain_create_sim_full(
  fwnode: fwnode_handle | null,
  num_irqs: number,
  ops: irq_sim_ops | null,
  data: unknown,
): irq_domain | number | Promise<irq_domain | number> {
  return sleepable(irq_domain_create_sim_full_g(fwnode, num_irqs, ops, data));
}

// include/linux/irq_sim.h: irq_domain_create_sim()
export function irq_domain_create_sim(fwnode: fwnode_handle | null, num_irqs: number): irq_domain | number | Promise<irq_domain | number> {
  return irq_domain_create_sim_full(fwnode, num_irqs, null, null);
}

// kernel/irq/irq_sim.c: irq_domain_remove_sim()
function* irq_domain_remove_sim_g(domain: irq_domain): Sleepable<void> {
  const work_ctx = domain.host_data as irq_sim_work_ctx;
  irq_work_sync(work_ctx.work);
  yield* may_sleep(irq_domain_remove(domain));
}

export function irq_domain_remove_sim(domain: irq_domain): void | Promise<void> {
  return sleepable(irq_domain_remove_sim_g(domain));
}
