// SPDX-License-Identifier: GPL-2.0-only
// irqlab: the driver side of the RAM-backed IMS store of irqlab's mlx5 model
// (lib/hw/devices/mlx5/ims.ts). No real mlx5 has IMS; these helpers give
// the command-path primitives an IMS irqchip builds on:
//
//   mlx5_ims_query_cap()      IRQLAB_QUERY_IMS_CAP: entries and cache size
//   mlx5_ims_init()           allocate the store in coherent RAM, hand it over
//                             (IRQLAB_INIT_IMS_STORE); the device writes every
//                             entry masked and owns the store from then on
//   mlx5_ims_set_entry()      IRQLAB_SET_IMS_ENTRY (sleeps for the command)
//   mlx5_ims_query_entry()    IRQLAB_QUERY_IMS_ENTRY: the device's view
//   mlx5_ims_invalidate()     IRQLAB_INVALIDATE_IMS_CACHE, one entry or all
//   mlx5_eq_bind_ims()        IRQLAB_BIND_EQ_TO_IMS: the EQ signals through an
//                             IMS entry instead of its MSI-X vector
//
// The driver keeps what it set (a shadow) and, after a reset took the store
// away, hands the store back and replays the shadow in mlx5_load()
// (mlx5_ims_load()). EQ bindings belong to whoever created the EQ: it redoes
// them from a recovery notifier (mlx5_irqlab_register_recovery_notifier()).
// mlx5_ims_write_entry_direct() is the CPU writing the store behind the
// device's back (the design the dirty write-back policy punishes); it exists
// for tests and comparisons, not as an API to use.

import { dma_alloc_coherent, dma_free_coherent, GFP_KERNEL, type DmaCoherentBuffer } from "../../../../lib/kernel/dma.ts";
import { EINVAL, ENODEV, ENOMEM } from "../../../../lib/kernel/errno.ts";
import { mlx5_cmd_exec_in, mlx5_cmd_exec_inout } from "./cmd.ts";
import { mlx5_core_err, type mlx5_core_dev } from "./driver.ts";
import {
  IRQLAB_BIND_EQ_TO_IMS_OP_MOD_UNBIND,
  IRQLAB_INVALIDATE_IMS_CACHE_OP_MOD_ALL,
  irqlab_bind_eq_to_ims_in,
  irqlab_bind_eq_to_ims_out,
  irqlab_ims_entry,
  irqlab_init_ims_store_in,
  irqlab_init_ims_store_out,
  irqlab_invalidate_ims_cache_in,
  irqlab_invalidate_ims_cache_out,
  irqlab_query_ims_cap_in,
  irqlab_query_ims_cap_out,
  irqlab_query_ims_entry_in,
  irqlab_query_ims_entry_out,
  irqlab_set_ims_entry_in,
  irqlab_set_ims_entry_out,
  MLX5_ADDR_OF,
  MLX5_CMD_OP_IRQLAB_BIND_EQ_TO_IMS,
  MLX5_CMD_OP_IRQLAB_INIT_IMS_STORE,
  MLX5_CMD_OP_IRQLAB_INVALIDATE_IMS_CACHE,
  MLX5_CMD_OP_IRQLAB_QUERY_IMS_CAP,
  MLX5_CMD_OP_IRQLAB_QUERY_IMS_ENTRY,
  MLX5_CMD_OP_IRQLAB_SET_IMS_ENTRY,
  MLX5_GET,
  MLX5_SET,
  MLX5_SET64,
} from "./mlx5_ifc.ts";

/** One IMS entry as the store holds it. */
export interface mlx5_ims_entry {
  addr_lo: number;
  addr_hi: number;
  data: number;
  /** bit 0: masked */
  ctrl: number;
}

/** The store and the driver's shadow of it. */
export class mlx5_ims {
  /** Entries of the store handed to the device. */
  loaded = false;
  readonly shadow = new Map<number, mlx5_ims_entry>();
  constructor(
    readonly buf: DmaCoherentBuffer,
    readonly num: number,
    readonly max: number,
    readonly cache_size: number,
  ) {}
  get dma(): number {
    return this.buf.dma_handle;
  }
}

/** IRQLAB_QUERY_IMS_CAP */
export async function mlx5_ims_query_cap(dev: mlx5_core_dev): Promise<{ err: number; max_entries: number; cache_size: number }> {
  const inb = new Uint8Array(irqlab_query_ims_cap_in.bytes);
  const out = new Uint8Array(irqlab_query_ims_cap_out.bytes);
  MLX5_SET(irqlab_query_ims_cap_in, inb, "opcode", MLX5_CMD_OP_IRQLAB_QUERY_IMS_CAP);
  const err = await mlx5_cmd_exec_inout(dev, irqlab_query_ims_cap_in, inb, irqlab_query_ims_cap_out, out);
  if (err) return { err, max_entries: 0, cache_size: 0 };
  return { err: 0, max_entries: MLX5_GET(irqlab_query_ims_cap_out, out, "max_entries"), cache_size: MLX5_GET(irqlab_query_ims_cap_out, out, "cache_size") };
}

async function ims_init_store(dev: mlx5_core_dev, ims: mlx5_ims): Promise<number> {
  const inb = new Uint8Array(irqlab_init_ims_store_in.bytes);
  MLX5_SET(irqlab_init_ims_store_in, inb, "opcode", MLX5_CMD_OP_IRQLAB_INIT_IMS_STORE);
  MLX5_SET64(irqlab_init_ims_store_in, inb, "store_addr", BigInt(ims.dma));
  MLX5_SET(irqlab_init_ims_store_in, inb, "num_entries", ims.num);
  return mlx5_cmd_exec_in(dev, irqlab_init_ims_store_in, inb, irqlab_init_ims_store_out);
}

/** Allocate an IMS store of `num` entries (0: all the device supports) and give it to the device. */
export async function mlx5_ims_init(dev: mlx5_core_dev, num = 0): Promise<number> {
  if (dev.priv.ims) return -EINVAL;
  const cap = await mlx5_ims_query_cap(dev);
  if (cap.err) return cap.err;
  if (!cap.max_entries) return -ENODEV;
  const n = num || cap.max_entries;
  if (n > cap.max_entries) return -EINVAL;
  const buf = dma_alloc_coherent(dev, Math.max(4096, n * 16), GFP_KERNEL);
  if (!buf) return -ENOMEM;
  const ims = new mlx5_ims(buf, n, cap.max_entries, cap.cache_size);
  const err = await ims_init_store(dev, ims);
  if (err) {
    dma_free_coherent(dev, Math.max(4096, n * 16), buf, buf.dma_handle);
    return err;
  }
  ims.loaded = true;
  dev.priv.ims = ims;
  return 0;
}

/** mlx5_load() step: hand a store the device lost (reset) back and replay the shadow. */
export async function mlx5_ims_load(dev: mlx5_core_dev): Promise<number> {
  const ims = dev.priv.ims;
  if (!ims || ims.loaded) return 0;
  let err = await ims_init_store(dev, ims);
  if (err) {
    mlx5_core_err(dev, ["mlx5_ims_load", 0], "failed to restore the IMS store, err(%d)\n", err);
    return err;
  }
  ims.loaded = true;
  for (const [index, e] of [...ims.shadow]) {
    err = await set_entry_cmd(dev, index, e);
    if (err) return err;
  }
  return 0;
}

/** mlx5_unload() step: the device will forget the store. */
export function mlx5_ims_unload(dev: mlx5_core_dev): void {
  if (dev.priv.ims) dev.priv.ims.loaded = false;
}

/** Free the store (remove). */
export function mlx5_ims_cleanup(dev: mlx5_core_dev): void {
  const ims = dev.priv.ims;
  if (!ims) return;
  dma_free_coherent(dev, ims.buf.size, ims.buf, ims.buf.dma_handle);
  dev.priv.ims = null;
}

/** The input mailbox of IRQLAB_SET_IMS_ENTRY, for the sleeping path below and variant (a)'s spinning one. */
export function mlx5_irqlab_set_ims_entry_in(index: number, e: mlx5_ims_entry): Uint8Array {
  const inb = new Uint8Array(irqlab_set_ims_entry_in.bytes);
  MLX5_SET(irqlab_set_ims_entry_in, inb, "opcode", MLX5_CMD_OP_IRQLAB_SET_IMS_ENTRY);
  MLX5_SET(irqlab_set_ims_entry_in, inb, "index", index);
  const ent = MLX5_ADDR_OF(irqlab_set_ims_entry_in, inb, "entry");
  MLX5_SET(irqlab_ims_entry, ent, "addr_lo", e.addr_lo);
  MLX5_SET(irqlab_ims_entry, ent, "addr_hi", e.addr_hi);
  MLX5_SET(irqlab_ims_entry, ent, "data", e.data);
  MLX5_SET(irqlab_ims_entry, ent, "ctrl", e.ctrl);
  return inb;
}

async function set_entry_cmd(dev: mlx5_core_dev, index: number, e: mlx5_ims_entry): Promise<number> {
  return mlx5_cmd_exec_in(dev, irqlab_set_ims_entry_in, mlx5_irqlab_set_ims_entry_in(index, e), irqlab_set_ims_entry_out);
}

/** IRQLAB_SET_IMS_ENTRY: may sleep (a command). The shadow follows a successful command. */
export async function mlx5_ims_set_entry(dev: mlx5_core_dev, index: number, e: mlx5_ims_entry): Promise<number> {
  const ims = dev.priv.ims;
  if (!ims) return -ENODEV;
  if (!(index >= 0 && index < ims.num)) return -EINVAL;
  const err = await set_entry_cmd(dev, index, e);
  if (!err) ims.shadow.set(index, { ...e });
  return err;
}

/** IRQLAB_QUERY_IMS_ENTRY: the entry as the device sees it, and whether it is cached or pending. */
export async function mlx5_ims_query_entry(dev: mlx5_core_dev, index: number): Promise<{ err: number; entry: mlx5_ims_entry; cached: boolean; pending: boolean }> {
  const inb = new Uint8Array(irqlab_query_ims_entry_in.bytes);
  const out = new Uint8Array(irqlab_query_ims_entry_out.bytes);
  MLX5_SET(irqlab_query_ims_entry_in, inb, "opcode", MLX5_CMD_OP_IRQLAB_QUERY_IMS_ENTRY);
  MLX5_SET(irqlab_query_ims_entry_in, inb, "index", index);
  const err = await mlx5_cmd_exec_inout(dev, irqlab_query_ims_entry_in, inb, irqlab_query_ims_entry_out, out);
  const ent = MLX5_ADDR_OF(irqlab_query_ims_entry_out, out, "entry");
  return {
    err,
    entry: { addr_lo: MLX5_GET(irqlab_ims_entry, ent, "addr_lo"), addr_hi: MLX5_GET(irqlab_ims_entry, ent, "addr_hi"), data: MLX5_GET(irqlab_ims_entry, ent, "data"), ctrl: MLX5_GET(irqlab_ims_entry, ent, "ctrl") },
    cached: MLX5_GET(irqlab_query_ims_entry_out, out, "cached") === 1,
    pending: MLX5_GET(irqlab_query_ims_entry_out, out, "pending") === 1,
  };
}

/** IRQLAB_INVALIDATE_IMS_CACHE of entry `index`, or of the whole cache when null. */
export function mlx5_ims_invalidate(dev: mlx5_core_dev, index: number | null): Promise<number> {
  const inb = new Uint8Array(irqlab_invalidate_ims_cache_in.bytes);
  MLX5_SET(irqlab_invalidate_ims_cache_in, inb, "opcode", MLX5_CMD_OP_IRQLAB_INVALIDATE_IMS_CACHE);
  if (index === null) MLX5_SET(irqlab_invalidate_ims_cache_in, inb, "op_mod", IRQLAB_INVALIDATE_IMS_CACHE_OP_MOD_ALL);
  else MLX5_SET(irqlab_invalidate_ims_cache_in, inb, "index", index);
  return mlx5_cmd_exec_in(dev, irqlab_invalidate_ims_cache_in, inb, irqlab_invalidate_ims_cache_out);
}

/** IRQLAB_BIND_EQ_TO_IMS: EQ `eqn` signals through IMS entry `index` (null: back to its MSI-X vector). */
export function mlx5_eq_bind_ims(dev: mlx5_core_dev, eqn: number, index: number | null): Promise<number> {
  const inb = new Uint8Array(irqlab_bind_eq_to_ims_in.bytes);
  MLX5_SET(irqlab_bind_eq_to_ims_in, inb, "opcode", MLX5_CMD_OP_IRQLAB_BIND_EQ_TO_IMS);
  MLX5_SET(irqlab_bind_eq_to_ims_in, inb, "eq_number", eqn);
  if (index === null) MLX5_SET(irqlab_bind_eq_to_ims_in, inb, "op_mod", IRQLAB_BIND_EQ_TO_IMS_OP_MOD_UNBIND);
  else MLX5_SET(irqlab_bind_eq_to_ims_in, inb, "ims_index", index);
  return mlx5_cmd_exec_in(dev, irqlab_bind_eq_to_ims_in, inb, irqlab_bind_eq_to_ims_out);
}

/** The store entry as it is in RAM now (what the CPU reads). */
export function mlx5_ims_entry_ram(dev: mlx5_core_dev, index: number): mlx5_ims_entry | null {
  const ims = dev.priv.ims;
  if (!ims || !(index >= 0 && index < ims.num)) return null;
  const b = ims.buf.read(index * 16, 16);
  return { addr_lo: MLX5_GET(irqlab_ims_entry, b, "addr_lo"), addr_hi: MLX5_GET(irqlab_ims_entry, b, "addr_hi"), data: MLX5_GET(irqlab_ims_entry, b, "data"), ctrl: MLX5_GET(irqlab_ims_entry, b, "ctrl") };
}

/**
 * The CPU stores an entry straight into RAM, without a command: what a design
 * that treats the store as an MSI-X-like table would do. The device may never
 * see it (a cached line) or overwrite it (dirty write-back).
 */
export function mlx5_ims_write_entry_direct(dev: mlx5_core_dev, index: number, e: mlx5_ims_entry): number {
  const ims = dev.priv.ims;
  if (!ims || !(index >= 0 && index < ims.num)) return -EINVAL;
  const b = new Uint8Array(16);
  MLX5_SET(irqlab_ims_entry, b, "addr_lo", e.addr_lo);
  MLX5_SET(irqlab_ims_entry, b, "addr_hi", e.addr_hi);
  MLX5_SET(irqlab_ims_entry, b, "data", e.data);
  MLX5_SET(irqlab_ims_entry, b, "ctrl", e.ctrl);
  ims.buf.write(index * 16, b);
  return 0;
}
