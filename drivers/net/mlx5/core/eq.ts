// SPDX-License-Identifier: GPL-2.0-only
// drivers/net/ethernet/mellanox/mlx5/core/eq.c (and lib/eq.h): event queues.
//
// An EQ is a ring of 64-byte EQEs in pages the driver allocates; software
// owns an entry when its owner bit matches the consumer's wrap count
// (next_eqe_sw()). The interrupt handler of an EQ consumes up to
// MLX5_EQ_POLLING_BUDGET entries and writes the consumer index to the UAR
// doorbell with arm = 1: EQs are one-shot, nothing fires until re-armed.
// The command, async and page EQs share the control IRQ (vector 0) and
// dispatch through per-event-type atomic notifier chains; completion EQs are
// created on demand per vector (mlx5_comp_eqn_get()), one IRQ each, and hand
// each COMP EQE to the CQ whose number it carries (eq_comp.ts).
//
// The EQ's Linux irq number is taken from its mlx5_irq (mlx5_irq_get_irq())
// where the kernel reads pci_irq_vector(): the same number for MSI-X, and
// what an IMS-backed irq pool needs. Tasklets, the CPU rmap and debugfs are
// not rendered.

import { ENOMEM } from "../../../../lib/kernel/errno.ts";
import { dma_alloc_coherent, dma_free_coherent, dma_rmb, GFP_KERNEL, type DmaCoherentBuffer } from "../../../../lib/kernel/dma.ts";
import { cpumask, cpumask_clear } from "../../../../lib/kernel/cpumask.ts";
import { mutex, mutex_lock, mutex_unlock } from "../../../../lib/kernel/mutex.ts";
import { spinlock_t, spin_lock, spin_lock_irqsave, spin_unlock, spin_unlock_irqrestore } from "../../../../lib/kernel/spinlock.ts";
import { site_of } from "../../../../lib/kernel/stacktrace.ts";
import { cpu_to_be32, writel } from "../../../../lib/kernel/io.ts";
import { disable_irq, enable_irq, synchronize_irq } from "../../../../lib/irq/manage.ts";
import { mlx5_cmd_exec, mlx5_cmd_exec_in } from "./cmd.ts";
import { mlx5_cmd_allowed_opcode, mlx5_cmd_use_events, mlx5_cmd_use_polling } from "./cmd.ts";
import { CMD_ALLOWED_OPCODE_ALL, mlx5_core_err, mlx5_core_warn, type mlx5_core_dev } from "./driver.ts";
import { atomic_notifier_call_chain, atomic_notifier_chain_register, atomic_notifier_chain_unregister, atomic_notifier_head, NOTIFY_OK, type notifier_block } from "./klib.ts";
import {
  create_eq_in,
  create_eq_out,
  destroy_eq_in,
  destroy_eq_out,
  eqc,
  MLX5_ADDR_OF,
  MLX5_ADAPTER_PAGE_SHIFT,
  MLX5_CMD_OP_CREATE_EQ,
  MLX5_CMD_OP_DESTROY_EQ,
  MLX5_EQE_SIZE,
  MLX5_EVENT_TYPE_CMD,
  MLX5_EVENT_TYPE_COMM_EST,
  MLX5_EVENT_TYPE_CQ_ERROR,
  MLX5_EVENT_TYPE_MAX,
  MLX5_EVENT_TYPE_NOTIFY_ANY,
  MLX5_EVENT_TYPE_PAGE_REQUEST,
  MLX5_EVENT_TYPE_PATH_MIG,
  MLX5_EVENT_TYPE_PATH_MIG_FAILED,
  MLX5_EVENT_TYPE_PORT_CHANGE,
  MLX5_EVENT_TYPE_SQ_DRAINED,
  MLX5_EVENT_TYPE_SRQ_CATAS_ERROR,
  MLX5_EVENT_TYPE_SRQ_LAST_WQE,
  MLX5_EVENT_TYPE_SRQ_RQ_LIMIT,
  MLX5_EVENT_TYPE_WQ_ACCESS_ERROR,
  MLX5_EVENT_TYPE_WQ_CATAS_ERROR,
  MLX5_EVENT_TYPE_WQ_INVAL_REQ_ERROR,
  MLX5_GET,
  MLX5_NUM_ASYNC_EQE,
  MLX5_NUM_CMD_EQE,
  MLX5_NUM_SPARE_EQE,
  MLX5_SET,
  MLX5_SET64,
  mlx5_eqe,
} from "./mlx5_ifc.ts";
import {
  mlx5_ctrl_irq_release,
  mlx5_ctrl_irq_request,
  mlx5_irq_attach_nb,
  mlx5_irq_detach_nb,
  mlx5_irq_get_index,
  mlx5_irq_get_irq,
  mlx5_irq_table_get,
  mlx5_irq_table_get_num_comp,
  mlx5_max_eq_cap_get,
  type mlx5_irq,
  type mlx5_irq_table,
} from "./pci_irq.ts";
import { mlx5_ims_irq_bind_eq } from "./ims_irq.ts";
import type { mlx5_core_cq } from "./cq.ts";
import { destroy_comp_eq, mlx5_eq_poll_irq_disabled } from "./eq_comp.ts";

export const MLX5_EQE_OWNER_INIT_VAL = 0x1;
export const MLX5_EQ_DOORBEL_OFFSET = 0x40;
/** budget must be smaller than MLX5_NUM_SPARE_EQE */
export const MLX5_EQ_POLLING_BUDGET = 128;
const MLX5_MAX_ASYNC_EQS = 4; // CONFIG_INFINIBAND_ON_DEMAND_PAGING=y

/** A notifier on an EQ event type (struct mlx5_nb). */
export type mlx5_nb = notifier_block & { event_type: number };

/** An EQE in its page: what next_eqe_sw() returns. */
export class mlx5_eqe_ref {
  constructor(
    readonly buf: DmaCoherentBuffer,
    readonly off: number,
  ) {}
  get type(): number {
    return this.buf.u8(this.off + mlx5_eqe.type);
  }
  get sub_type(): number {
    return this.buf.u8(this.off + mlx5_eqe.sub_type);
  }
  get owner(): number {
    return this.buf.u8(this.off + mlx5_eqe.owner);
  }
  u8(o: number): number {
    return this.buf.u8(this.off + o);
  }
  be32(o: number): number {
    return this.buf.be32(this.off + o);
  }
}

/** struct mlx5_eq */
export class mlx5_eq {
  dev!: mlx5_core_dev;
  cons_index = 0;
  /** fbc: log size and the pages of the ring (mlx5_frag_buf) */
  log_sz = 0;
  frags: DmaCoherentBuffer[] = [];
  vecidx = 0;
  irqn = 0;
  eqn = 0;
  irq: mlx5_irq | null = null;
  doorbell = 0;
  /** cq_table: CQs reporting on this EQ, by number */
  readonly cq_table = new Map<number, mlx5_core_cq>();
  readonly cq_table_lock = new spinlock_t("&cq_table->lock");
}

/** struct mlx5_eq_async */
export class mlx5_eq_async {
  readonly core = new mlx5_eq();
  irq_nb!: notifier_block;
  readonly lock = new spinlock_t("&eq->lock");
}

/** struct mlx5_eq_comp */
export class mlx5_eq_comp {
  readonly core = new mlx5_eq();
  irq_nb!: notifier_block;
  /** irqlab: EQEs consumed, for tests and reports */
  eqes = 0;
}

/** struct mlx5_eq_param */
export interface mlx5_eq_param {
  irq: mlx5_irq;
  nent: number;
  mask: bigint[];
}

/** struct mlx5_eq_table */
export class mlx5_eq_table {
  readonly comp_eqs = new Map<number, mlx5_eq_comp>();
  readonly pages_eq = new mlx5_eq_async();
  readonly cmd_eq = new mlx5_eq_async();
  readonly async_eq = new mlx5_eq_async();
  readonly nh: atomic_notifier_head[] = Array.from({ length: MLX5_EVENT_TYPE_MAX }, () => new atomic_notifier_head());
  cq_err_nb: mlx5_nb | null = null;
  readonly lock = new mutex("&eq_table->lock");
  readonly comp_lock = new mutex("&eq_table->comp_lock");
  curr_comp_eqs = 0;
  max_comp_eqs = 0;
  irq_table: mlx5_irq_table | null = null;
  readonly comp_irqs = new Map<number, mlx5_irq>();
  ctrl_irq: mlx5_irq | null = null;
  readonly used_cpus = new cpumask();
  /** irqlab: the control IRQ's EQs exist (create_async_eqs() succeeded) */
  async_up = false;
}

const ASYNC_EQ_RECOVER = 1;

const BIT = (t: number): bigint => 1n << BigInt(t);
const MLX5_ASYNC_EVENT_MASK =
  BIT(MLX5_EVENT_TYPE_PATH_MIG) |
  BIT(MLX5_EVENT_TYPE_COMM_EST) |
  BIT(MLX5_EVENT_TYPE_SQ_DRAINED) |
  BIT(MLX5_EVENT_TYPE_CQ_ERROR) |
  BIT(MLX5_EVENT_TYPE_WQ_CATAS_ERROR) |
  BIT(MLX5_EVENT_TYPE_PATH_MIG_FAILED) |
  BIT(MLX5_EVENT_TYPE_WQ_INVAL_REQ_ERROR) |
  BIT(MLX5_EVENT_TYPE_WQ_ACCESS_ERROR) |
  BIT(MLX5_EVENT_TYPE_PORT_CHANGE) |
  BIT(MLX5_EVENT_TYPE_SRQ_CATAS_ERROR) |
  BIT(MLX5_EVENT_TYPE_SRQ_LAST_WQE) |
  BIT(MLX5_EVENT_TYPE_SRQ_RQ_LIMIT);

// lib/eq.h: eq_get_size()
function eq_get_size(eq: mlx5_eq): number {
  return 1 << eq.log_sz;
}

// lib/eq.h: get_eqe()
function get_eqe(eq: mlx5_eq, entry: number): mlx5_eqe_ref {
  const off = entry * MLX5_EQE_SIZE;
  return new mlx5_eqe_ref(eq.frags[off >> 12]!, off & 0xfff);
}

// lib/eq.h: next_eqe_sw(): the next EQE if software owns it
export function next_eqe_sw(eq: mlx5_eq): mlx5_eqe_ref | null {
  const eqe = get_eqe(eq, eq.cons_index & (eq_get_size(eq) - 1));
  return (eqe.owner ^ Math.floor(eq.cons_index / eq_get_size(eq))) & 1 ? null : eqe;
}

// lib/eq.h: eq_update_ci(): consumer index to the UAR doorbell, +0x40 arms, +0x48 does not
export function eq_update_ci(eq: mlx5_eq, arm: boolean): void {
  const addr = eq.doorbell + (arm ? 0 : 8);
  const val = ((eq.cons_index & 0xffffff) | (eq.eqn << 24)) >>> 0;
  // Ensure ordering of consecutive doorbell writes
  writel(cpu_to_be32(val), addr);
}

// eq.c: mlx5_cmd_destroy_eq()
async function mlx5_cmd_destroy_eq(dev: mlx5_core_dev, eqn: number): Promise<number> {
  const inb = new Uint8Array(destroy_eq_in.bytes);
  MLX5_SET(destroy_eq_in, inb, "opcode", MLX5_CMD_OP_DESTROY_EQ);
  MLX5_SET(destroy_eq_in, inb, "eq_number", eqn);
  return mlx5_cmd_exec_in(dev, destroy_eq_in, inb, destroy_eq_out);
}

// eq.c: mlx5_eq_cq_get()
export function mlx5_eq_cq_get(eq: mlx5_eq, cqn: number): mlx5_core_cq | null {
  return eq.cq_table.get(cqn) ?? null;
}

// eq.c: mlx5_eq_async_int(); hardirq (the control IRQ), or task context for recovery
function mlx5_eq_async_int(eq_async: mlx5_eq_async, action: number): number {
  const eq = eq_async.core;
  const dev = eq.dev;
  const eqt = dev.priv.eq_table!;
  const recovery = action === ASYNC_EQ_RECOVER;
  let flags = 0;
  if (!recovery) spin_lock(eq_async.lock, 0, mlx5_eq_async_int_ip);
  else flags = spin_lock_irqsave(eq_async.lock, 0, mlx5_eq_async_int_ip);
  let num_eqes = 0;
  let eqe: mlx5_eqe_ref | null;
  while ((eqe = next_eqe_sw(eq))) {
    // Make sure we read EQ entry contents after we've checked the ownership bit.
    dma_rmb();
    const type = eqe.type;
    atomic_notifier_call_chain(eqt.nh[type]!, type, eqe);
    atomic_notifier_call_chain(eqt.nh[MLX5_EVENT_TYPE_NOTIFY_ANY]!, type, eqe);
    ++eq.cons_index;
    if (++num_eqes >= MLX5_EQ_POLLING_BUDGET) break;
  }
  eq_update_ci(eq, true);
  if (!recovery) spin_unlock(eq_async.lock);
  else spin_unlock_irqrestore(eq_async.lock, flags);
  return recovery ? num_eqes : 0;
}
const mlx5_eq_async_int_ip = site_of(mlx5_eq_async_int);

// eq.c: mlx5_cmd_eq_recover(): poll the command EQ in case its interrupt was lost
export function mlx5_cmd_eq_recover(dev: mlx5_core_dev): void {
  const eq = dev.priv.eq_table!.cmd_eq;
  const eqes = mlx5_eq_async_int(eq, ASYNC_EQ_RECOVER);
  if (eqes) mlx5_core_warn(dev, ["mlx5_cmd_eq_recover", 250], "Recovered %d EQEs on cmd_eq\n", eqes);
}

// eq.c: init_eq_buf(): every entry starts owned by hardware
function init_eq_buf(eq: mlx5_eq): void {
  for (let i = 0; i < eq_get_size(eq); i++) {
    const e = get_eqe(eq, i);
    e.buf.set_u8(e.off + mlx5_eqe.owner, MLX5_EQE_OWNER_INIT_VAL);
  }
}

function order_base_2(n: number): number {
  let l = 0;
  while (1 << l < n) l++;
  return l;
}

// eq.c: create_map_eq(): allocate the ring, CREATE_EQ on the irq's vector
export async function create_map_eq(dev: mlx5_core_dev, eq: mlx5_eq, param: mlx5_eq_param): Promise<number> {
  const log_eq_size = order_base_2(param.nent + MLX5_NUM_SPARE_EQE);
  eq.cq_table.clear();
  eq.cons_index = 0;
  // mlx5_frag_buf_alloc_node(): PAGE_SIZE fragments
  const npages = Math.max(1, ((1 << log_eq_size) * MLX5_EQE_SIZE) >> 12);
  eq.frags = [];
  for (let i = 0; i < npages; i++) {
    const f = dma_alloc_coherent(dev, 4096, GFP_KERNEL);
    if (!f) {
      mlx5_frag_buf_free(dev, eq);
      return -ENOMEM;
    }
    eq.frags.push(f);
  }
  eq.log_sz = log_eq_size;
  init_eq_buf(eq);
  eq.irq = param.irq;
  const vecidx = mlx5_irq_get_index(eq.irq);
  const inlen = create_eq_in.bytes + 8 * npages;
  const inb = new Uint8Array(inlen);
  const pas = MLX5_ADDR_OF(create_eq_in, inb, "pas");
  const dv = new DataView(pas.buffer, pas.byteOffset);
  eq.frags.forEach((f, i) => dv.setBigUint64(8 * i, BigInt(f.dma_handle)));
  MLX5_SET(create_eq_in, inb, "opcode", MLX5_CMD_OP_CREATE_EQ);
  const bm = MLX5_ADDR_OF(create_eq_in, inb, "event_bitmask");
  for (let i = 0; i < 4; i++) MLX5_SET64({ bytes: 8, f: { v: [0, 64] } }, bm.subarray(8 * i), "v", param.mask[i] ?? 0n);
  const c = MLX5_ADDR_OF(create_eq_in, inb, "eq_context_entry");
  MLX5_SET(eqc, c, "log_eq_size", log_eq_size);
  MLX5_SET(eqc, c, "uar_page", dev.priv.uar!.index);
  // irqlab: an EQ on an IMS interrupt is created on the control vector and
  // bound to its IMS entry below, before anything arms it
  MLX5_SET(eqc, c, "intr", eq.irq.ims ? 0 : vecidx);
  MLX5_SET(eqc, c, "log_page_size", 12 - MLX5_ADAPTER_PAGE_SHIFT);
  const out = new Uint8Array(create_eq_out.bytes);
  const err = await mlx5_cmd_exec(dev, inb, inlen, out, out.length);
  if (err) {
    mlx5_frag_buf_free(dev, eq);
    return err;
  }
  eq.vecidx = vecidx;
  eq.eqn = MLX5_GET(create_eq_out, out, "eq_number");
  if (eq.irq.ims) {
    const berr = await mlx5_ims_irq_bind_eq(dev, eq.eqn, vecidx);
    if (berr) {
      await mlx5_cmd_destroy_eq(dev, eq.eqn);
      mlx5_frag_buf_free(dev, eq);
      return berr;
    }
  }
  eq.irqn = mlx5_irq_get_irq(eq.irq);
  eq.dev = dev;
  eq.doorbell = dev.priv.uar!.map + MLX5_EQ_DOORBEL_OFFSET;
  return 0;
}

function mlx5_frag_buf_free(dev: mlx5_core_dev, eq: mlx5_eq): void {
  for (const f of eq.frags) dma_free_coherent(dev, 4096, f, f.dma_handle);
  eq.frags = [];
}

// eq.c: mlx5_eq_enable(): hook the EQ to its irq and arm it
export async function mlx5_eq_enable(dev: mlx5_core_dev, eq: mlx5_eq, nb: notifier_block): Promise<number> {
  void dev;
  const err = await mlx5_irq_attach_nb(eq.irq!, nb);
  if (!err) eq_update_ci(eq, true);
  return err;
}

// eq.c: mlx5_eq_disable()
export async function mlx5_eq_disable(dev: mlx5_core_dev, eq: mlx5_eq, nb: notifier_block): Promise<void> {
  void dev;
  await mlx5_irq_detach_nb(eq.irq!, nb);
}

// eq.c: destroy_unmap_eq()
export async function destroy_unmap_eq(dev: mlx5_core_dev, eq: mlx5_eq): Promise<number> {
  const err = await mlx5_cmd_destroy_eq(dev, eq.eqn);
  if (err) mlx5_core_warn(dev, ["destroy_unmap_eq", 394], "failed to destroy a previously created eq: eqn %d\n", eq.eqn);
  mlx5_frag_buf_free(dev, eq);
  return err;
}

// eq.c: mlx5_eq_add_cq()
export function mlx5_eq_add_cq(eq: mlx5_eq, cq: mlx5_core_cq): number {
  spin_lock(eq.cq_table_lock);
  let err = 0;
  if (eq.cq_table.has(cq.cqn)) err = -17; // -EEXIST (radix_tree_insert)
  else eq.cq_table.set(cq.cqn, cq);
  spin_unlock(eq.cq_table_lock);
  return err;
}

// eq.c: mlx5_eq_del_cq()
export function mlx5_eq_del_cq(eq: mlx5_eq, cq: mlx5_core_cq): void {
  spin_lock(eq.cq_table_lock);
  const tmp = eq.cq_table.get(cq.cqn);
  eq.cq_table.delete(cq.cqn);
  spin_unlock(eq.cq_table_lock);
  void tmp;
}

// eq.c: mlx5_eq_table_init()
export function mlx5_eq_table_init(dev: mlx5_core_dev): number {
  const eq_table = new mlx5_eq_table();
  dev.priv.eq_table = eq_table;
  eq_table.irq_table = mlx5_irq_table_get(dev);
  cpumask_clear(eq_table.used_cpus);
  eq_table.curr_comp_eqs = 0;
  return 0;
}

// eq.c: mlx5_eq_table_cleanup()
export function mlx5_eq_table_cleanup(dev: mlx5_core_dev): void {
  dev.priv.eq_table = null;
}

// eq.c: create_async_eq()
async function create_async_eq(dev: mlx5_core_dev, eq: mlx5_eq, param: mlx5_eq_param): Promise<number> {
  const eq_table = dev.priv.eq_table!;
  await mutex_lock(eq_table.lock);
  const err = await create_map_eq(dev, eq, param);
  mutex_unlock(eq_table.lock);
  return err;
}

// eq.c: destroy_async_eq()
async function destroy_async_eq(dev: mlx5_core_dev, eq: mlx5_eq): Promise<number> {
  const eq_table = dev.priv.eq_table!;
  await mutex_lock(eq_table.lock);
  const err = await destroy_unmap_eq(dev, eq);
  mutex_unlock(eq_table.lock);
  return err;
}

// eq.c: cq_err_event_notifier()
function cq_err_event_notifier(dev: mlx5_core_dev, data: unknown): number {
  const eq = dev.priv.eq_table!.async_eq.core;
  const eqe = data as mlx5_eqe_ref;
  const cqn = eqe.be32(mlx5_eqe.data) & 0xffffff;
  mlx5_core_warn(dev, ["cq_err_event_notifier", 481], "CQ error on CQN 0x%x, syndrome 0x%x\n", cqn, eqe.u8(mlx5_eqe.data + 11));
  if (!mlx5_eq_cq_get(eq, cqn)) mlx5_core_warn(dev, ["cq_err_event_notifier", 486], "Async event for bogus CQ 0x%x\n", cqn);
  return NOTIFY_OK;
}

// eq.c: setup_async_eq()
async function setup_async_eq(dev: mlx5_core_dev, eq: mlx5_eq_async, param: mlx5_eq_param, name: string): Promise<number> {
  eq.irq_nb = { notifier_call: (_nb, action) => mlx5_eq_async_int(eq, action) };
  let err = await create_async_eq(dev, eq.core, param);
  if (err) {
    mlx5_core_warn(dev, ["setup_async_eq", 577], "failed to create %s EQ %d\n", name, err);
    return err;
  }
  err = await mlx5_eq_enable(dev, eq.core, eq.irq_nb);
  if (err) {
    mlx5_core_warn(dev, ["setup_async_eq", 582], "failed to enable %s EQ %d\n", name, err);
    await destroy_async_eq(dev, eq.core);
  }
  return err;
}

// eq.c: cleanup_async_eq()
async function cleanup_async_eq(dev: mlx5_core_dev, eq: mlx5_eq_async, name: string): Promise<void> {
  await mlx5_eq_disable(dev, eq.core, eq.irq_nb);
  const err = await destroy_async_eq(dev, eq.core);
  if (err) mlx5_core_err(dev, ["cleanup_async_eq", 595], "failed to destroy %s eq, err(%d)\n", name, err);
}

// eq.c: create_async_eqs(): cmd EQ (then events mode), async EQ, page EQ, all on the control IRQ
async function create_async_eqs(dev: mlx5_core_dev): Promise<number> {
  const table = dev.priv.eq_table!;
  // All the async_eqs are using single IRQ, request one IRQ and share its
  // index among all the async_eqs of this device.
  const ctrl = await mlx5_ctrl_irq_request(dev);
  if (typeof ctrl === "number") return ctrl;
  table.ctrl_irq = ctrl;
  const cq_err_nb: mlx5_nb = { notifier_call: (_nb, _t, data) => cq_err_event_notifier(dev, data), event_type: MLX5_EVENT_TYPE_CQ_ERROR };
  table.cq_err_nb = cq_err_nb;
  mlx5_eq_notifier_register(dev, cq_err_nb);

  let param: mlx5_eq_param = { irq: ctrl, nent: MLX5_NUM_CMD_EQE, mask: [BIT(MLX5_EVENT_TYPE_CMD)] };
  await mlx5_cmd_allowed_opcode(dev, MLX5_CMD_OP_CREATE_EQ);
  // the kernel's err1/err2/err3 labels: undo from the stage that failed down
  const unwind = async (stage: 0 | 1 | 2, ret: number): Promise<number> => {
    if (stage >= 2) await cleanup_async_eq(dev, table.async_eq, "async");
    if (stage >= 1) {
      await mlx5_cmd_use_polling(dev);
      await cleanup_async_eq(dev, table.cmd_eq, "cmd");
    }
    await mlx5_cmd_allowed_opcode(dev, CMD_ALLOWED_OPCODE_ALL);
    mlx5_eq_notifier_unregister(dev, cq_err_nb);
    await mlx5_ctrl_irq_release(dev, ctrl);
    return ret;
  };
  let err = await setup_async_eq(dev, table.cmd_eq, param, "cmd");
  if (err) return unwind(0, err);
  await mlx5_cmd_use_events(dev);
  await mlx5_cmd_allowed_opcode(dev, CMD_ALLOWED_OPCODE_ALL);

  param = { irq: ctrl, nent: MLX5_NUM_ASYNC_EQE, mask: [MLX5_ASYNC_EVENT_MASK] };
  err = await setup_async_eq(dev, table.async_eq, param, "async");
  if (err) return unwind(1, err);
  param = { irq: ctrl, nent: 1, mask: [BIT(MLX5_EVENT_TYPE_PAGE_REQUEST)] };
  err = await setup_async_eq(dev, table.pages_eq, param, "pages");
  if (err) return unwind(2, err);
  table.async_up = true;
  return 0;
}

// eq.c: destroy_async_eqs()
async function destroy_async_eqs(dev: mlx5_core_dev): Promise<void> {
  const table = dev.priv.eq_table!;
  table.async_up = false;
  await cleanup_async_eq(dev, table.pages_eq, "pages");
  await cleanup_async_eq(dev, table.async_eq, "async");
  await mlx5_cmd_allowed_opcode(dev, MLX5_CMD_OP_DESTROY_EQ);
  await mlx5_cmd_use_polling(dev);
  await cleanup_async_eq(dev, table.cmd_eq, "cmd");
  await mlx5_cmd_allowed_opcode(dev, CMD_ALLOWED_OPCODE_ALL);
  if (table.cq_err_nb) mlx5_eq_notifier_unregister(dev, table.cq_err_nb);
  await mlx5_ctrl_irq_release(dev, table.ctrl_irq!);
  table.ctrl_irq = null;
}

export function mlx5_get_async_eq(dev: mlx5_core_dev): mlx5_eq {
  return dev.priv.eq_table!.async_eq.core;
}

// eq.c: mlx5_eq_synchronize_cmd_irq()
export async function mlx5_eq_synchronize_cmd_irq(dev: mlx5_core_dev): Promise<void> {
  const t = dev.priv.eq_table;
  if (t && t.cmd_eq.core.irqn) await synchronize_irq(t.cmd_eq.core.irqn);
}

// eq.c: mlx5_eq_synchronize_async_irq()
export async function mlx5_eq_synchronize_async_irq(dev: mlx5_core_dev): Promise<void> {
  const t = dev.priv.eq_table;
  if (t && t.async_eq.core.irqn) await synchronize_irq(t.async_eq.core.irqn);
}

// eq.c: get_num_eqs()
function get_num_eqs(dev: mlx5_core_dev): number {
  const eq_table = dev.priv.eq_table!;
  const max_dev_eqs = mlx5_max_eq_cap_get(dev);
  return Math.min(mlx5_irq_table_get_num_comp(eq_table.irq_table!), max_dev_eqs - MLX5_MAX_ASYNC_EQS);
}

// eq.c: mlx5_eq_table_create()
export async function mlx5_eq_table_create(dev: mlx5_core_dev): Promise<number> {
  const eq_table = dev.priv.eq_table!;
  eq_table.max_comp_eqs = get_num_eqs(dev);
  const err = await create_async_eqs(dev);
  if (err) {
    mlx5_core_err(dev, ["mlx5_eq_table_create", 1226], "Failed to create async EQs\n");
    return err;
  }
  return 0;
}

// eq.c: mlx5_eq_table_destroy()
export async function mlx5_eq_table_destroy(dev: mlx5_core_dev): Promise<void> {
  const table = dev.priv.eq_table!;
  for (const [index, eq] of [...table.comp_eqs]) await destroy_comp_eq(dev, eq, index);
  await destroy_async_eqs(dev);
}

// eq.c: mlx5_eq_notifier_register()
export function mlx5_eq_notifier_register(dev: mlx5_core_dev, nb: mlx5_nb): number {
  const eqt = dev.priv.eq_table!;
  return atomic_notifier_chain_register(eqt.nh[nb.event_type]!, nb);
}

// eq.c: mlx5_eq_notifier_unregister()
export function mlx5_eq_notifier_unregister(dev: mlx5_core_dev, nb: mlx5_nb): number {
  const eqt = dev.priv.eq_table!;
  return atomic_notifier_chain_unregister(eqt.nh[nb.event_type]!, nb);
}

/**
 * irqlab: after a recovery, poll every EQ once with its interrupt disabled
 * (mlx5_eq_poll_irq_disabled() for completion EQs, the recovery path of
 * mlx5_eq_async_int() for the others), so that an EQE written while no
 * interrupt could report it is consumed. Returns the EQEs found.
 */
export async function mlx5_eq_table_poll_all(dev: mlx5_core_dev): Promise<number> {
  const t = dev.priv.eq_table;
  if (!t) return 0;
  let n = 0;
  if (t.async_up) {
    for (const eq of [t.cmd_eq, t.async_eq, t.pages_eq]) {
      await disable_irq(eq.core.irqn);
      n += mlx5_eq_async_int(eq, ASYNC_EQ_RECOVER);
      await enable_irq(eq.core.irqn);
    }
  }
  for (const eq of t.comp_eqs.values()) n += await mlx5_eq_poll_irq_disabled(eq);
  return n;
}

