// SPDX-License-Identifier: GPL-2.0-only
// drivers/net/ethernet/mellanox/mlx5/core/main.c, the function setup and
// teardown sequence that mlx5_init_one() and mlx5_load_one() run: wait for
// the firmware, enable the command interface (polling), ENABLE_HCA, start
// the health poller, ISSI, boot pages, timeouts from DTOR, set capabilities,
// init pages, INIT_HCA, query capabilities; and the reverse. Probe, remove,
// load/unload and recovery stay in main.ts.

import { ENODEV, EOPNOTSUPP, ETIMEDOUT } from "../../../../lib/kernel/errno.ts";
import { ioread32be } from "../../../../lib/kernel/io.ts";
import { jiffies, jiffies_to_msecs, msecs_to_jiffies, time_after } from "../../../../lib/kernel/jiffies.ts";
import { msleep } from "../../../../lib/kernel/delay.ts";
import { mlx5_cmd_exec_inout, mlx5_cmd_exec_in } from "./cmd.ts";
import { mlx5_cmd_disable, mlx5_cmd_enable, mlx5_cmd_set_state } from "./cmd_init.ts";
import { MLX5_CMDIF_STATE_DOWN, MLX5_CMDIF_STATE_UP, mlx5_core_err, mlx5_core_info, mlx5_core_warn, type mlx5_core_dev } from "./driver.ts";
import { handle_hca_cap, mlx5_cmd_init_hca, mlx5_cmd_teardown_hca, mlx5_core_disable_hca, mlx5_core_enable_hca, mlx5_query_hca_caps } from "./fw.ts";
import { mlx5_start_health_poll, mlx5_stop_health_poll } from "./health.ts";
import { MLX5_CMD_OP_QUERY_ISSI, MLX5_CMD_OP_SET_ISSI, MLX5_GET, MLX5_SET, mlx5_init_seg, query_issi_in, query_issi_out, set_issi_in, set_issi_out } from "./mlx5_ifc.ts";
import { mlx5_reclaim_startup_pages, mlx5_satisfy_startup_pages } from "./pagealloc.ts";
import { mlx5_tout_ms, mlx5_tout_query_dtor, mlx5_tout_query_iseg } from "./tout.ts";
import { fw_rev_maj, fw_rev_min, fw_rev_sub } from "./main.ts";

const MLX5_DRIVER_SYND = 0xbadd00de;
/** sw_owner_id[4]: get_random_bytes() at module init; irqlab's device has no sw_owner_id capability */
const sw_owner_id: readonly number[] = [0, 0, 0, 0];

// main.c: wait_fw_init(): poll the initializing bit
async function wait_fw_init(dev: mlx5_core_dev, max_wait_mili: number, warn_time_mili: number, init_state: string): Promise<number> {
  let warn = jiffies() + msecs_to_jiffies(warn_time_mili);
  const end = jiffies() + msecs_to_jiffies(max_wait_mili);
  for (;;) {
    const fw_initializing = ioread32be(dev.iseg + mlx5_init_seg.initializing);
    if (!(fw_initializing >>> 31)) break;
    if (time_after(jiffies(), end)) {
      mlx5_core_err(dev, ["wait_fw_init", 213], "Firmware over %u MS in %s state, aborting\n", max_wait_mili, init_state);
      return -ETIMEDOUT;
    }
    if (dev.break_fw_wait) {
      mlx5_core_warn(dev, ["wait_fw_init", 218], "device is being removed, stop waiting for FW %s\n", init_state);
      return -ENODEV;
    }
    if (warn_time_mili && time_after(jiffies(), warn)) {
      mlx5_core_warn(dev, ["wait_fw_init", 223], "Waiting for FW %s, timeout abort in %ds (0x%x)\n", init_state, Math.floor(jiffies_to_msecs(end - warn) / 1000), fw_initializing);
      warn = jiffies() + msecs_to_jiffies(warn_time_mili);
    }
    await msleep(mlx5_tout_ms(dev, "FW_PRE_INIT_WAIT"));
  }
  return 0;
}

// main.c: mlx5_core_set_issi()
async function mlx5_core_set_issi(dev: mlx5_core_dev): Promise<number> {
  const query_out = new Uint8Array(query_issi_out.bytes);
  const query_in = new Uint8Array(query_issi_in.bytes);
  MLX5_SET(query_issi_in, query_in, "opcode", MLX5_CMD_OP_QUERY_ISSI);
  let err = await mlx5_cmd_exec_inout(dev, query_issi_in, query_in, query_issi_out, query_out);
  if (err) {
    const syndrome = MLX5_GET(query_issi_out, query_out, "syndrome");
    const status = MLX5_GET(query_issi_out, query_out, "status");
    if (!status || syndrome === MLX5_DRIVER_SYND) {
      mlx5_core_err(dev, ["mlx5_core_set_issi", 774], "Failed to query ISSI err(%d) status(%d) synd(%d)\n", err, status, syndrome | 0);
      return err;
    }
    mlx5_core_warn(dev, ["mlx5_core_set_issi", 779], "Query ISSI is not supported by FW, ISSI is 0\n");
    dev.issi = 0;
    return 0;
  }
  const sup_issi = MLX5_GET(query_issi_out, query_out, "supported_issi_dw0");
  if (sup_issi & (1 << 1)) {
    const set_in = new Uint8Array(set_issi_in.bytes);
    MLX5_SET(set_issi_in, set_in, "opcode", MLX5_CMD_OP_SET_ISSI);
    MLX5_SET(set_issi_in, set_in, "current_issi", 1);
    err = await mlx5_cmd_exec_in(dev, set_issi_in, set_in, set_issi_out);
    if (err) {
      mlx5_core_err(dev, ["mlx5_core_set_issi", 794], "Failed to set ISSI to 1 err(%d)\n", err);
      return err;
    }
    dev.issi = 1;
    return 0;
  } else if (sup_issi & (1 << 0) || !sup_issi) {
    return 0;
  }
  return -EOPNOTSUPP;
}

// main.c: mlx5_function_enable()
async function mlx5_function_enable(dev: mlx5_core_dev, boot: boolean, timeout: number): Promise<number> {
  mlx5_core_info(dev, "firmware version: %d.%d.%d\n", fw_rev_maj(dev), fw_rev_min(dev), fw_rev_sub(dev));
  // wait for firmware to accept initialization segments configurations
  let err = await wait_fw_init(dev, timeout, mlx5_tout_ms(dev, "FW_PRE_INIT_WARN_MESSAGE_INTERVAL"), "pre-initializing");
  if (err) return err;
  err = mlx5_cmd_enable(dev);
  if (err) {
    mlx5_core_err(dev, ["mlx5_function_enable", 1178], "Failed initializing command interface, aborting\n");
    return err;
  }
  mlx5_tout_query_iseg(dev);
  err = await wait_fw_init(dev, mlx5_tout_ms(dev, "FW_INIT"), 0, "initializing");
  if (err) return cmd_cleanup(dev, err);
  dev.caps.embedded_cpu = 0;
  mlx5_cmd_set_state(dev, MLX5_CMDIF_STATE_UP);
  err = await mlx5_core_enable_hca(dev, 0);
  if (err) {
    mlx5_core_err(dev, ["mlx5_function_enable", 1194], "enable hca failed\n");
    return cmd_cleanup(dev, err);
  }
  mlx5_start_health_poll(dev);
  err = await mlx5_core_set_issi(dev);
  if (err) {
    mlx5_core_err(dev, ["mlx5_function_enable", 1202], "failed to set issi\n");
    return stop_health_poll(dev, boot, err);
  }
  err = await mlx5_satisfy_startup_pages(dev, true);
  if (err) {
    mlx5_core_err(dev, ["mlx5_function_enable", 1208], "failed to allocate boot pages\n");
    return stop_health_poll(dev, boot, err);
  }
  err = await mlx5_tout_query_dtor(dev);
  if (err) {
    mlx5_core_err(dev, ["mlx5_function_enable", 1214], "failed to read dtor\n");
    await mlx5_reclaim_startup_pages(dev);
    return stop_health_poll(dev, boot, err);
  }
  return 0;
}

async function stop_health_poll(dev: mlx5_core_dev, boot: boolean, err: number): Promise<number> {
  mlx5_stop_health_poll(dev, boot);
  await mlx5_core_disable_hca(dev, 0);
  return cmd_cleanup(dev, err);
}

async function cmd_cleanup(dev: mlx5_core_dev, err: number): Promise<number> {
  mlx5_cmd_set_state(dev, MLX5_CMDIF_STATE_DOWN);
  await mlx5_cmd_disable(dev);
  return err;
}

// main.c: mlx5_function_disable()
async function mlx5_function_disable(dev: mlx5_core_dev, boot: boolean): Promise<void> {
  await mlx5_reclaim_startup_pages(dev);
  mlx5_stop_health_poll(dev, boot);
  await mlx5_core_disable_hca(dev, 0);
  mlx5_cmd_set_state(dev, MLX5_CMDIF_STATE_DOWN);
  await mlx5_cmd_disable(dev);
}

// main.c: mlx5_function_open()
async function mlx5_function_open(dev: mlx5_core_dev): Promise<number> {
  let err = await handle_hca_cap(dev);
  if (err) {
    mlx5_core_err(dev, ["mlx5_function_open", 1256], "set_hca_cap failed\n");
    return err;
  }
  err = await mlx5_satisfy_startup_pages(dev, false);
  if (err) {
    mlx5_core_err(dev, ["mlx5_function_open", 1262], "failed to allocate init pages\n");
    return err;
  }
  err = await mlx5_cmd_init_hca(dev, sw_owner_id);
  if (err) {
    mlx5_core_err(dev, ["mlx5_function_open", 1268], "init hca failed\n");
    return err;
  }
  err = await mlx5_query_hca_caps(dev);
  if (err) {
    mlx5_core_err(dev, ["mlx5_function_open", 1276], "query hca failed\n");
    return err;
  }
  return 0;
}

// main.c: mlx5_function_close()
async function mlx5_function_close(dev: mlx5_core_dev): Promise<number> {
  const err = await mlx5_cmd_teardown_hca(dev);
  if (err) {
    mlx5_core_err(dev, ["mlx5_function_close", 1289], "tear_down_hca failed, skip cleanup\n");
    return err;
  }
  return 0;
}

// main.c: mlx5_function_setup()
export async function mlx5_function_setup(dev: mlx5_core_dev, boot: boolean, timeout: number): Promise<number> {
  let err = await mlx5_function_enable(dev, boot, timeout);
  if (err) return err;
  err = await mlx5_function_open(dev);
  if (err) await mlx5_function_disable(dev, boot);
  return err;
}

// main.c: mlx5_function_teardown()
export async function mlx5_function_teardown(dev: mlx5_core_dev, boot: boolean): Promise<number> {
  const err = await mlx5_function_close(dev);
  if (!err) await mlx5_function_disable(dev, boot);
  else mlx5_stop_health_poll(dev, boot);
  return err;
}
