// SPDX-License-Identifier: GPL-2.0-only
// drivers/net/ethernet/mellanox/mlx5/core/pci_irq.c (and irq_affinity.c's
// release), for a PF: the irq table with its pcif_pool. An mlx5_irq is one
// Linux interrupt with an atomic notifier chain: every EQ on it registers a
// notifier, and irq_int_handler() calls the chain. Index 0 is the control
// IRQ ("mlx5_async0", shared by the command, async and page EQs); index
// 1 + i is completion vector i ("mlx5_comp<i>"), bound to one CPU.
//
// With dynamic MSI-X only vector 0 is allocated at probe
// (pci_alloc_irq_vectors(dev, 1, 1, PCI_IRQ_MSIX)) and the others on demand
// with pci_msix_alloc_irq_at(). Which interrupt backs an mlx5_irq is decided
// in one place, mlx5_irq_alloc_map(): the IMS chip's pool plugs in there.
// Sub-function pools (sf_ctrl_pool, sf_comp_pool) and the CPU rmap are not
// rendered (no SFs in irqlab).

import { EINVAL, ENOENT, ENOMEM } from "../../../../lib/kernel/errno.ts";
import { cpumask, cpumask_clear, cpumask_copy, cpumask_first, cpumask_set_cpu, cpu_online_mask, num_online_cpus } from "../../../../lib/kernel/cpumask.ts";
import { mutex, mutex_lock, mutex_unlock } from "../../../../lib/kernel/mutex.ts";
import { WARN_ON_ONCE } from "../../../../lib/kernel/bug.ts";
import { IRQ_HANDLED, type irq_affinity_desc, type irqreturn_t } from "../../../../lib/irq/interrupt.ts";
import { free_irq, request_irq, synchronize_irq } from "../../../../lib/irq/manage.ts";
import { irq_set_affinity_and_hint, irq_update_affinity_hint } from "../../../../lib/irq/manage_affinity.ts";
import { MSI_ANY_INDEX, type msi_map } from "../../../../lib/irq/msi.ts";
import { vsprintf } from "../../../../lib/kernel/vsprintf.ts";
import { pci_msix_can_alloc_dyn } from "../../../pci/msi/irqdomain.ts";
import { pci_alloc_irq_vectors, pci_free_irq_vectors, pci_irq_vector, pci_msix_alloc_irq_at, pci_msix_free_irq, pci_msix_vec_count, PCI_IRQ_MSIX } from "../../../pci/msi/msi.ts";
import { pci_name } from "../../../pci/pci.ts";
import { mlx5_core_err, type mlx5_core_dev } from "./driver.ts";
import { mlx5_ims_irq_active, mlx5_ims_irq_alloc, mlx5_ims_irq_free, mlx5_ims_irq_table_create, mlx5_ims_irq_table_destroy } from "./ims_irq.ts";
import { atomic_notifier_call_chain, atomic_notifier_chain_register, atomic_notifier_chain_unregister, atomic_notifier_head, type notifier_block } from "./klib.ts";
import { MLX5_GET, cmd_hca_cap } from "./mlx5_ifc.ts";

export const MLX5_MAX_IRQ_NAME = 32;
export const MLX5_IRQ_NAME_FORMAT_STR = "%s@pci:%s";
export const MLX5_EQ_REFS_PER_IRQ = 2;
const MLX5_IRQ_VEC_COMP_BASE = 1;
const MLX5_EQ_SHARE_IRQ_MAX_COMP = 8;
const MLX5_EQ_SHARE_IRQ_MIN_COMP = 1;

/** struct mlx5_irq_pool */
export class mlx5_irq_pool {
  name = "";
  readonly xa_num_irqs = { min: 0, max: 0 };
  readonly lock = new mutex("&pool->lock");
  readonly irqs = new Map<number, mlx5_irq>();
  min_threshold = 0;
  max_threshold = 0;
  constructor(readonly dev: mlx5_core_dev) {}
}

/** struct mlx5_irq */
export class mlx5_irq {
  readonly nh = new atomic_notifier_head();
  readonly mask = new cpumask();
  name = "";
  pool!: mlx5_irq_pool;
  refcount = 0;
  map: msi_map = { index: 0, virq: 0 };
  pool_index = 0;
  /** irqlab: the interrupt comes from the IMS domain (ims_irq.ts), map.index is the IMS entry */
  ims = false;
}

/** struct mlx5_irq_table */
export class mlx5_irq_table {
  pcif_pool: mlx5_irq_pool | null = null;
  sf_ctrl_pool: mlx5_irq_pool | null = null;
  sf_comp_pool: mlx5_irq_pool | null = null;
}

// pci_irq.c: mlx5_system_free_irq(): free the Linux irq, keep the mlx5 object
async function mlx5_system_free_irq(irq: mlx5_irq): Promise<void> {
  const pool = irq.pool;
  // free_irq requires that affinity_hint and rmap will be cleared before calling it
  irq_update_affinity_hint(irq.map.virq, null);
  await free_irq(irq.map.virq, irq.nh);
  if (irq.ims) await mlx5_ims_irq_free(pool.dev, irq.map);
  else if (irq.map.index && pci_msix_can_alloc_dyn(pool.dev.pdev)) await pci_msix_free_irq(pool.dev.pdev, irq.map);
}

// pci_irq.c: irq_release()
async function irq_release(irq: mlx5_irq): Promise<void> {
  irq.pool.irqs.delete(irq.pool_index);
  await mlx5_system_free_irq(irq);
}

// pci_irq.c: mlx5_irq_put(): 1 if this was the last reference
export async function mlx5_irq_put(irq: mlx5_irq): Promise<number> {
  const pool = irq.pool;
  let ret = 0;
  await mutex_lock(pool.lock);
  irq.refcount--;
  if (!irq.refcount) {
    await irq_release(irq);
    ret = 1;
  }
  mutex_unlock(pool.lock);
  return ret;
}

// pci_irq.c: mlx5_irq_get_locked()
function mlx5_irq_get_locked(irq: mlx5_irq): number {
  if (WARN_ON_ONCE(!irq.refcount, { fn: "mlx5_irq_get_locked" })) return 0;
  irq.refcount++;
  return 1;
}

// pci_irq.c: irq_get()
async function irq_get(irq: mlx5_irq): Promise<number> {
  await mutex_lock(irq.pool.lock);
  const err = mlx5_irq_get_locked(irq);
  mutex_unlock(irq.pool.lock);
  return err;
}

// pci_irq.c: irq_int_handler(): hardirq, calls every EQ on this irq
function irq_int_handler(_irq: number, nh: unknown): irqreturn_t {
  atomic_notifier_call_chain(nh as atomic_notifier_head, 0, null);
  return IRQ_HANDLED;
}

// pci_irq.c: irq_set_name()
function irq_set_name(pool: mlx5_irq_pool, vecidx: number): string {
  if (!pool.xa_num_irqs.max) return vsprintf("mlx5_combined%d", [vecidx]); // only one irq for the device
  if (!vecidx) return vsprintf("mlx5_async%d", [vecidx]);
  return vsprintf("mlx5_comp%d", [vecidx - MLX5_IRQ_VEC_COMP_BASE]);
}

/**
 * The interrupt behind pool index `i` (the index-0 / dynamic MSI-X choice
 * of mlx5_irq_alloc()). irqlab: the one place an IMS-backed pool changes.
 */
async function mlx5_irq_alloc_map(pool: mlx5_irq_pool, i: number, af_desc: irq_affinity_desc | null, irq: mlx5_irq): Promise<msi_map> {
  const pdev = pool.dev.pdev;
  // irqlab: completion vectors from the IMS domain when the function asked for it
  if (i && mlx5_ims_irq_active(pool.dev)) {
    irq.ims = true;
    return mlx5_ims_irq_alloc(pool.dev, af_desc);
  }
  // The vector at index 0 is always statically allocated. If dynamic irq is
  // not supported all vectors are statically allocated. In both cases just
  // get the irq number and set the index.
  if (!i || !pci_msix_can_alloc_dyn(pdev)) return { virq: pci_irq_vector(pdev, i), index: i };
  return pci_msix_alloc_irq_at(pdev, MSI_ANY_INDEX, af_desc);
}

// pci_irq.c: mlx5_irq_alloc()
export async function mlx5_irq_alloc(pool: mlx5_irq_pool, i: number, af_desc: irq_affinity_desc | null): Promise<mlx5_irq | number> {
  const dev = pool.dev;
  const irq = new mlx5_irq();
  irq.map = await mlx5_irq_alloc_map(pool, i, af_desc, irq);
  if (irq.map.virq <= 0) return irq.map.virq < 0 ? irq.map.virq : irq.map.index < 0 ? irq.map.index : -EINVAL;
  const name = irq_set_name(pool, i);
  irq.name = vsprintf(MLX5_IRQ_NAME_FORMAT_STR, [name, pci_name(dev.pdev)]);
  const err = await request_irq(irq.map.virq, irq_int_handler, 0, irq.name, irq.nh);
  if (err) {
    mlx5_core_err(dev, ["mlx5_irq_alloc", 297], "Failed to request irq. err = %d\n", err);
    if (irq.ims) await mlx5_ims_irq_free(dev, irq.map);
    else if (i && pci_msix_can_alloc_dyn(dev.pdev)) await pci_msix_free_irq(dev.pdev, irq.map);
    return err;
  }
  if (af_desc) {
    cpumask_copy(irq.mask, af_desc.mask);
    irq_set_affinity_and_hint(irq.map.virq, irq.mask);
  }
  irq.pool = pool;
  irq.refcount = 1;
  irq.pool_index = i;
  pool.irqs.set(irq.pool_index, irq);
  return irq;
}

// pci_irq.c: mlx5_irq_attach_nb()
export async function mlx5_irq_attach_nb(irq: mlx5_irq, nb: notifier_block): Promise<number> {
  // Something very bad happens here, we are enabling EQ on non-existing IRQ.
  if (!(await irq_get(irq))) return -ENOENT;
  const ret = atomic_notifier_chain_register(irq.nh, nb);
  if (ret) await mlx5_irq_put(irq);
  return ret;
}

// pci_irq.c: mlx5_irq_detach_nb()
export async function mlx5_irq_detach_nb(irq: mlx5_irq, nb: notifier_block): Promise<number> {
  const err = atomic_notifier_chain_unregister(irq.nh, nb);
  await mlx5_irq_put(irq);
  return err;
}

export function mlx5_irq_get_affinity_mask(irq: mlx5_irq): cpumask {
  return irq.mask;
}
export function mlx5_irq_get_irq(irq: mlx5_irq): number {
  return irq.map.virq;
}
export function mlx5_irq_get_index(irq: mlx5_irq): number {
  return irq.map.index;
}
export function mlx5_irq_get_pool(irq: mlx5_irq): mlx5_irq_pool {
  return irq.pool;
}

// pci_irq.c: irq_pool_request_vector(): an existing irq gains a reference
async function irq_pool_request_vector(pool: mlx5_irq_pool, vecidx: number, af_desc: irq_affinity_desc | null): Promise<mlx5_irq | number> {
  await mutex_lock(pool.lock);
  let irq: mlx5_irq | number | undefined = pool.irqs.get(vecidx);
  if (irq) mlx5_irq_get_locked(irq);
  else irq = await mlx5_irq_alloc(pool, vecidx, af_desc);
  mutex_unlock(pool.lock);
  return irq;
}

// irq_affinity.c: mlx5_irq_affinity_irq_release()
async function mlx5_irq_affinity_irq_release(_dev: mlx5_core_dev, irq: mlx5_irq): Promise<void> {
  const pool = mlx5_irq_get_pool(irq);
  await synchronize_irq(pci_irq_vector(pool.dev.pdev, mlx5_irq_get_index(irq)));
  await mlx5_irq_put(irq);
}

// pci_irq.c: mlx5_ctrl_irq_release()
export async function mlx5_ctrl_irq_release(dev: mlx5_core_dev, ctrl_irq: mlx5_irq): Promise<void> {
  await mlx5_irq_affinity_irq_release(dev, ctrl_irq);
}

// pci_irq.c: mlx5_ctrl_irq_request(): index 0, on every online CPU
export async function mlx5_ctrl_irq_request(dev: mlx5_core_dev): Promise<mlx5_irq | number> {
  const pool = dev.priv.irq_table!.pcif_pool!;
  const af_desc: irq_affinity_desc = { mask: new cpumask(), is_managed: false };
  cpumask_copy(af_desc.mask, cpu_online_mask());
  if (!pool.xa_num_irqs.max) {
    cpumask_clear(af_desc.mask);
    // In case we only have a single IRQ for PF/VF
    cpumask_set_cpu(cpumask_first(cpu_online_mask()), af_desc.mask);
  }
  // Allocate the IRQ in index 0. The vector was already allocated
  return irq_pool_request_vector(pool, 0, af_desc);
}

// pci_irq.c: mlx5_irq_request()
async function mlx5_irq_request(dev: mlx5_core_dev, vecidx: number, af_desc: irq_affinity_desc): Promise<mlx5_irq | number> {
  const pool = dev.priv.irq_table!.pcif_pool!;
  return irq_pool_request_vector(pool, vecidx, af_desc);
}

// pci_irq.c: mlx5_irq_release_vector()
export async function mlx5_irq_release_vector(irq: mlx5_irq): Promise<void> {
  await synchronize_irq(irq.map.virq);
  await mlx5_irq_put(irq);
}

// pci_irq.c: mlx5_irq_request_vector(): completion vector `vecidx`, bound to `cpu`
export async function mlx5_irq_request_vector(dev: mlx5_core_dev, cpu: number, vecidx: number): Promise<mlx5_irq | number> {
  const pool = dev.priv.irq_table!.pcif_pool!;
  let offset = MLX5_IRQ_VEC_COMP_BASE;
  if (!pool.xa_num_irqs.max) offset = 0;
  const af_desc: irq_affinity_desc = { mask: new cpumask(), is_managed: false };
  cpumask_set_cpu(cpu, af_desc.mask);
  return mlx5_irq_request(dev, vecidx + offset, af_desc);
}

// pci_irq.c: irq_pool_alloc()
function irq_pool_alloc(dev: mlx5_core_dev, start: number, size: number, name: string | null, min_threshold: number, max_threshold: number): mlx5_irq_pool {
  const pool = new mlx5_irq_pool(dev);
  pool.xa_num_irqs.min = start;
  pool.xa_num_irqs.max = start + size - 1;
  if (name) pool.name = name;
  pool.min_threshold = min_threshold * MLX5_EQ_REFS_PER_IRQ;
  pool.max_threshold = max_threshold * MLX5_EQ_REFS_PER_IRQ;
  return pool;
}

// pci_irq.c: irq_pool_free(): release whatever irqs are left
async function irq_pool_free(pool: mlx5_irq_pool): Promise<void> {
  for (const irq of [...pool.irqs.values()]) await irq_release(irq);
  pool.irqs.clear();
}

// pci_irq.c: irq_pools_init(), PF only
function irq_pools_init(dev: mlx5_core_dev, _sf_vec: number, pcif_vec: number): number {
  const table = dev.priv.irq_table!;
  table.pcif_pool = irq_pool_alloc(dev, 0, pcif_vec, null, MLX5_EQ_SHARE_IRQ_MIN_COMP, MLX5_EQ_SHARE_IRQ_MAX_COMP);
  return 0;
}

// pci_irq.c: mlx5_irq_table_init()
export function mlx5_irq_table_init(dev: mlx5_core_dev): number {
  dev.priv.irq_table = new mlx5_irq_table();
  if (!dev.priv.irq_table) return -ENOMEM;
  return 0;
}

// pci_irq.c: mlx5_irq_table_cleanup()
export function mlx5_irq_table_cleanup(dev: mlx5_core_dev): void {
  dev.priv.irq_table = null;
}

// pci_irq.c: mlx5_irq_table_get_num_comp()
export function mlx5_irq_table_get_num_comp(table: mlx5_irq_table): number {
  const p = table.pcif_pool!;
  if (!p.xa_num_irqs.max) return 1;
  return p.xa_num_irqs.max - p.xa_num_irqs.min;
}

// main.c: mlx5_max_eq_cap_get()
export function mlx5_max_eq_cap_get(dev: mlx5_core_dev): number {
  const n = MLX5_GET(cmd_hca_cap, dev.caps.hca_cur, "max_num_eqs");
  if (n) return n;
  return 1 << MLX5_GET(cmd_hca_cap, dev.caps.hca_cur, "log_max_eq");
}

// pci_irq.c: mlx5_irq_table_create()
export async function mlx5_irq_table_create(dev: mlx5_core_dev): Promise<number> {
  const num_eqs = mlx5_max_eq_cap_get(dev);
  // PCI PF vectors usage is limited by online cpus, device EQs and PCI MSI-X capability.
  let pcif_vec = MLX5_GET(cmd_hca_cap, dev.caps.hca_cur, "num_ports") * num_online_cpus() + 1;
  pcif_vec = Math.min(pcif_vec, num_eqs);
  pcif_vec = Math.min(pcif_vec, pci_msix_vec_count(dev.pdev));
  let total_vec = pcif_vec;
  total_vec = Math.min(total_vec, pci_msix_vec_count(dev.pdev));
  const req_vec = pci_msix_can_alloc_dyn(dev.pdev) ? 1 : total_vec;
  const n = await pci_alloc_irq_vectors(dev.pdev, 1, req_vec, PCI_IRQ_MSIX);
  if (n < 0) return n;
  // Further limit vectors of the pools based on platform for non dynamic case
  if (!pci_msix_can_alloc_dyn(dev.pdev)) {
    pcif_vec = Math.min(n, pcif_vec);
    total_vec = Math.min(n, total_vec);
  }
  // irqlab: with IMS the completion vectors are limited by the device's EQs only
  const ims_comp = await mlx5_ims_irq_table_create(dev);
  if (ims_comp < 0) {
    await pci_free_irq_vectors(dev.pdev);
    return ims_comp;
  }
  if (ims_comp > 0) pcif_vec = total_vec = Math.min(ims_comp + 1, num_eqs);
  const err = irq_pools_init(dev, total_vec - pcif_vec, pcif_vec);
  if (err) await pci_free_irq_vectors(dev.pdev);
  return err;
}

// pci_irq.c: mlx5_irq_table_destroy(): make sure all the irqs are released
export async function mlx5_irq_table_destroy(dev: mlx5_core_dev): Promise<void> {
  const table = dev.priv.irq_table!;
  if (table.pcif_pool) await irq_pool_free(table.pcif_pool);
  await mlx5_ims_irq_table_destroy(dev);
  await pci_free_irq_vectors(dev.pdev);
}

// pci_irq.c: mlx5_irq_table_free_irqs() (fast teardown: free the Linux irqs, keep the objects)
export async function mlx5_irq_table_free_irqs(dev: mlx5_core_dev): Promise<void> {
  const table = dev.priv.irq_table!;
  if (table.pcif_pool) for (const irq of table.pcif_pool.irqs.values()) await mlx5_system_free_irq(irq);
  await mlx5_ims_irq_table_destroy(dev);
  await pci_free_irq_vectors(dev.pdev);
}

// pci_irq.c: mlx5_irq_table_get()
export function mlx5_irq_table_get(dev: mlx5_core_dev): mlx5_irq_table {
  return dev.priv.irq_table!;
}
