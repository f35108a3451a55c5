// SPDX-License-Identifier: GPL-2.0-only
// drivers/net/ethernet/mellanox/mlx5/core/lib/tout.c: the driver's timeouts.
// Software defaults, overridden by what the firmware reports in the init
// segment (cmd_exec_to, cmd_q_init_to) and in the DTOR register. irqlab's
// device model reports scaled timeouts when its `timeouts` option is set,
// which is how a machine runs the real driver logic with short waits.

import { ioread32be } from "../../../../lib/kernel/io.ts";
import { ENOMEM } from "../../../../lib/kernel/errno.ts";
import type { mlx5_core_dev } from "./driver.ts";
import { default_timeout, dtor_reg, MLX5_GET, MLX5_REG_DTOR, mlx5_init_seg, type ifc_field } from "./mlx5_ifc.ts";
import { mlx5_core_access_reg } from "./port.ts";

/* enum mlx5_timeouts_types */
export const MLX5_TO_FW_PRE_INIT_TIMEOUT_MS = 0;
export const MLX5_TO_FW_PRE_INIT_ON_RECOVERY_TIMEOUT_MS = 1;
export const MLX5_TO_FW_PRE_INIT_WARN_MESSAGE_INTERVAL_MS = 2;
export const MLX5_TO_FW_PRE_INIT_WAIT_MS = 3;
export const MLX5_TO_FW_INIT_MS = 4;
export const MLX5_TO_CMD_MS = 5;
export const MLX5_TO_PCI_TOGGLE_MS = 6;
export const MLX5_TO_HEALTH_POLL_INTERVAL_MS = 7;
export const MLX5_TO_FULL_CRDUMP_MS = 8;
export const MLX5_TO_FW_RESET_MS = 9;
export const MLX5_TO_FLUSH_ON_ERROR_MS = 10;
export const MLX5_TO_PCI_SYNC_UPDATE_MS = 11;
export const MLX5_TO_TEARDOWN_MS = 12;
export const MLX5_TO_FSM_REACTIVATE_MS = 13;
export const MLX5_TO_RECLAIM_PAGES_MS = 14;
export const MLX5_TO_RECLAIM_VFS_PAGES_MS = 15;
export const MLX5_TO_RESET_UNLOAD_MS = 16;
export const MAX_TIMEOUT_TYPES = 17;

const tout_def_sw_val: readonly number[] = [120000, 7200000, 20000, 2, 2000, 60000, 2000, 2000, 60000, 60000, 2000, 5000, 3000, 5000, 5000, 120000, 300000];

export type mlx5_tout = "FW_PRE_INIT_TIMEOUT" | "FW_PRE_INIT_ON_RECOVERY_TIMEOUT" | "FW_PRE_INIT_WARN_MESSAGE_INTERVAL" | "FW_PRE_INIT_WAIT" | "FW_INIT" | "CMD" | "PCI_TOGGLE" | "HEALTH_POLL_INTERVAL" | "FULL_CRDUMP" | "FW_RESET" | "FLUSH_ON_ERROR" | "PCI_SYNC_UPDATE" | "TEARDOWN" | "FSM_REACTIVATE" | "RECLAIM_PAGES" | "RECLAIM_VFS_PAGES" | "RESET_UNLOAD";

const TYPES: Record<mlx5_tout, number> = {
  FW_PRE_INIT_TIMEOUT: MLX5_TO_FW_PRE_INIT_TIMEOUT_MS,
  FW_PRE_INIT_ON_RECOVERY_TIMEOUT: MLX5_TO_FW_PRE_INIT_ON_RECOVERY_TIMEOUT_MS,
  FW_PRE_INIT_WARN_MESSAGE_INTERVAL: MLX5_TO_FW_PRE_INIT_WARN_MESSAGE_INTERVAL_MS,
  FW_PRE_INIT_WAIT: MLX5_TO_FW_PRE_INIT_WAIT_MS,
  FW_INIT: MLX5_TO_FW_INIT_MS,
  CMD: MLX5_TO_CMD_MS,
  PCI_TOGGLE: MLX5_TO_PCI_TOGGLE_MS,
  HEALTH_POLL_INTERVAL: MLX5_TO_HEALTH_POLL_INTERVAL_MS,
  FULL_CRDUMP: MLX5_TO_FULL_CRDUMP_MS,
  FW_RESET: MLX5_TO_FW_RESET_MS,
  FLUSH_ON_ERROR: MLX5_TO_FLUSH_ON_ERROR_MS,
  PCI_SYNC_UPDATE: MLX5_TO_PCI_SYNC_UPDATE_MS,
  TEARDOWN: MLX5_TO_TEARDOWN_MS,
  FSM_REACTIVATE: MLX5_TO_FSM_REACTIVATE_MS,
  RECLAIM_PAGES: MLX5_TO_RECLAIM_PAGES_MS,
  RECLAIM_VFS_PAGES: MLX5_TO_RECLAIM_VFS_PAGES_MS,
  RESET_UNLOAD: MLX5_TO_RESET_UNLOAD_MS,
};

function tout_set(dev: mlx5_core_dev, val: number, type: number): void {
  dev.timeouts![type] = val;
}

// lib/tout.c: mlx5_tout_init()
export function mlx5_tout_init(dev: mlx5_core_dev): number {
  dev.timeouts = [...tout_def_sw_val];
  if (!dev.timeouts) return -ENOMEM;
  return 0;
}

// lib/tout.c: mlx5_tout_cleanup()
export function mlx5_tout_cleanup(dev: mlx5_core_dev): void {
  dev.timeouts = null;
}

// lib/tout.c: tout_convert_reg_field_to_ms(): multiplier 0 ms, 1 s, 2 min, 3 h
function tout_convert_reg_field_to_ms(to_mul: number, to_val: number): number {
  let msec = to_val;
  to_mul &= 0x3;
  if (to_mul) msec *= 1000 * 60 ** (to_mul - 1);
  return msec;
}

// lib/tout.c: tout_convert_iseg_to_ms()
function tout_convert_iseg_to_ms(iseg_to: number): number {
  return tout_convert_reg_field_to_ms(iseg_to >>> 29, iseg_to & 0xfffff);
}

// lib/tout.c: tout_is_supported()
function tout_is_supported(dev: mlx5_core_dev): boolean {
  return ioread32be(dev.iseg + mlx5_init_seg.cmd_q_init_to) !== 0;
}

// lib/tout.c: mlx5_tout_query_iseg()
export function mlx5_tout_query_iseg(dev: mlx5_core_dev): void {
  if (!tout_is_supported(dev)) return;
  let to = ioread32be(dev.iseg + mlx5_init_seg.cmd_q_init_to);
  tout_set(dev, tout_convert_iseg_to_ms(to), MLX5_TO_FW_INIT_MS);
  to = ioread32be(dev.iseg + mlx5_init_seg.cmd_exec_to);
  tout_set(dev, tout_convert_iseg_to_ms(to), MLX5_TO_CMD_MS);
}

// lib/tout.c: _mlx5_tout_ms() via mlx5_tout_ms(dev, type)
export function mlx5_tout_ms(dev: mlx5_core_dev, type: mlx5_tout): number {
  return dev.timeouts![TYPES[type]]!;
}

type dtor_field = keyof typeof dtor_reg.f;

// lib/tout.c: MLX5_TIMEOUT_FILL(fld, reg_out, dev, to_type, to_extra)
function MLX5_TIMEOUT_FILL(fld: dtor_field, reg_out: Uint8Array, dev: mlx5_core_dev, to_type: number, to_extra: number): number {
  const f: ifc_field = dtor_reg.f[fld];
  const time_field = reg_out.subarray(f[0] >> 3, (f[0] >> 3) + 4);
  const to_multi = MLX5_GET(default_timeout, time_field, "to_multiplier");
  const to_value = MLX5_GET(default_timeout, time_field, "to_value");
  const fw_to = tout_convert_reg_field_to_ms(to_multi, to_value);
  if (fw_to) tout_set(dev, fw_to + to_extra, to_type);
  return fw_to;
}

// lib/tout.c: tout_query_dtor()
async function tout_query_dtor(dev: mlx5_core_dev): Promise<number> {
  const out = new Uint8Array(dtor_reg.bytes);
  const inb = new Uint8Array(dtor_reg.bytes);
  const err = await mlx5_core_access_reg(dev, inb, inb.length, out, out.length, MLX5_REG_DTOR, 0, 0);
  if (err) return err;
  const pcie_toggle_to_val = MLX5_TIMEOUT_FILL("pcie_toggle_to", out, dev, MLX5_TO_PCI_TOGGLE_MS, 0);
  MLX5_TIMEOUT_FILL("fw_reset_to", out, dev, MLX5_TO_FW_RESET_MS, pcie_toggle_to_val);
  const tear_down_to_val = MLX5_TIMEOUT_FILL("tear_down_to", out, dev, MLX5_TO_TEARDOWN_MS, 0);
  MLX5_TIMEOUT_FILL("pci_sync_update_to", out, dev, MLX5_TO_PCI_SYNC_UPDATE_MS, tear_down_to_val);
  MLX5_TIMEOUT_FILL("health_poll_to", out, dev, MLX5_TO_HEALTH_POLL_INTERVAL_MS, 0);
  MLX5_TIMEOUT_FILL("full_crdump_to", out, dev, MLX5_TO_FULL_CRDUMP_MS, 0);
  MLX5_TIMEOUT_FILL("flush_on_err_to", out, dev, MLX5_TO_FLUSH_ON_ERROR_MS, 0);
  MLX5_TIMEOUT_FILL("fsm_reactivate_to", out, dev, MLX5_TO_FSM_REACTIVATE_MS, 0);
  MLX5_TIMEOUT_FILL("reclaim_pages_to", out, dev, MLX5_TO_RECLAIM_PAGES_MS, 0);
  MLX5_TIMEOUT_FILL("reclaim_vfs_pages_to", out, dev, MLX5_TO_RECLAIM_VFS_PAGES_MS, 0);
  MLX5_TIMEOUT_FILL("reset_unload_to", out, dev, MLX5_TO_RESET_UNLOAD_MS, 0);
  return 0;
}

// lib/tout.c: mlx5_tout_query_dtor()
export async function mlx5_tout_query_dtor(dev: mlx5_core_dev): Promise<number> {
  if (tout_is_supported(dev)) return tout_query_dtor(dev);
  return 0;
}
