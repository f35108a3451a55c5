// SPDX-License-Identifier: GPL-2.0-only
// drivers/net/ethernet/mellanox/mlx5/core/main.c, reduced to a PF on
// irqlab's device: probe and remove, the function setup/teardown sequence,
// load/unload of the IRQ table, UAR and EQs, and the PCI side of recovery.
//
// Probe: mlx5_mdev_init() (command workqueue, timeouts, health), PCI enable,
// BAR0 mapped as the init segment, then mlx5_init_one(): wait for the
// firmware, enable the command interface (polling), ENABLE_HCA, start the
// health poller, ISSI, boot pages, timeouts from DTOR, set capabilities, init
// pages, INIT_HCA, query capabilities; then the software objects (irq and EQ
// tables) and mlx5_load(): UAR, IRQs, EQs (the command EQ switches the
// command interface to events), irqlab's IMS store if one was set up, and
// finally the registered interfaces (irqlab's stand-in for mlx5e and other
// auxiliary drivers) are attached.
//
// Not rendered: devlink params and registration, SR-IOV, SFs, LAG, flow
// steering, clock, FPGA, hwmon, crdump, set_hca_ctrl, the driver version
// command, pcie_print_link_status() (irqlab has no PCIe link).

import { EIO, ENODEV, ENOMEM, EOPNOTSUPP, ETIMEDOUT } from "../../../../lib/kernel/errno.ts";
import { ioread32be, ioremap } from "../../../../lib/kernel/io.ts";
import { jiffies, jiffies_to_msecs, msecs_to_jiffies, time_after } from "../../../../lib/kernel/jiffies.ts";
import { msleep } from "../../../../lib/kernel/delay.ts";
import { mutex_lock, mutex_unlock } from "../../../../lib/kernel/mutex.ts";
import { pci_disable_device, pci_enable_device, pci_resource_start, pci_set_drvdata, pci_set_master, type pci_dev } from "../../../pci/pci.ts";
import { mlx5_cmd_exec_inout, mlx5_cmd_exec_in } from "./cmd.ts";
import { mlx5_cmd_cleanup, mlx5_cmd_disable, mlx5_cmd_enable, mlx5_cmd_init, mlx5_cmd_set_state } from "./cmd_init.ts";
import {
  DRIVER_NAME,
  MLX5_CMDIF_STATE_DOWN,
  MLX5_CMDIF_STATE_UP,
  MLX5_DEVICE_STATE_INTERNAL_ERROR,
  MLX5_DEVICE_STATE_UP,
  MLX5_PCI_STATUS_DISABLED,
  MLX5_PCI_STATUS_ENABLED,
  mlx5_core_dev,
  mlx5_core_err,
  mlx5_core_info,
  mlx5_core_warn,
  type mlx5_irqlab_interface,
} from "./driver.ts";
import { mlx5_eq_table_cleanup, mlx5_eq_table_create, mlx5_eq_table_destroy, mlx5_eq_table_init } from "./eq.ts";
import { handle_hca_cap, mlx5_cmd_init_hca, mlx5_cmd_teardown_hca, mlx5_core_disable_hca, mlx5_core_enable_hca, mlx5_query_board_id, mlx5_query_hca_caps } from "./fw.ts";
import { mlx5_drain_health_wq, mlx5_error_sw_reset, mlx5_health_cleanup, mlx5_health_init, mlx5_start_health_poll, mlx5_stop_health_poll } from "./health.ts";
import { mlx5_ims_load, mlx5_ims_unload, mlx5_ims_cleanup } from "./ims.ts";
import { MLX5_CMD_OP_QUERY_ISSI, MLX5_CMD_OP_SET_ISSI, MLX5_GET, MLX5_SET, mlx5_init_seg, query_issi_in, query_issi_out, set_issi_in, set_issi_out } from "./mlx5_ifc.ts";
import { mlx5_reclaim_startup_pages, mlx5_satisfy_startup_pages } from "./pagealloc.ts";
import { mlx5_irq_table_cleanup, mlx5_irq_table_create, mlx5_irq_table_destroy, mlx5_irq_table_init } from "./pci_irq.ts";
import { pci_restore_state, pci_save_state } from "./pci_compat.ts";
import { mlx5_tout_cleanup, mlx5_tout_init, mlx5_tout_ms, mlx5_tout_query_dtor, mlx5_tout_query_iseg } from "./tout.ts";
import { mlx5_get_uars_page, mlx5_put_uars_page } from "./uar.ts";

export const PCI_VENDOR_ID_MELLANOX = 0x15b3;
/** The PF device ids of mlx5_core_pci_table (VFs are not rendered). */
export const mlx5_core_pci_table: readonly number[] = [0x1011, 0x1013, 0x1015, 0x1017, 0x1019, 0x101b, 0x101d, 0x101f, 0x1021, 0x1023, 0x1025, 0x1027, 0xa2d2, 0xa2d6, 0xa2dc, 0xa2df];

const MLX5_DRIVER_SYND = 0xbadd00de;
const PCI_ERS_RESULT_RECOVERED = 5;
const PCI_ERS_RESULT_DISCONNECT = 4;
/** sw_owner_id[4]: get_random_bytes() at module init; irqlab's device has no sw_owner_id capability */
const sw_owner_id: readonly number[] = [0, 0, 0, 0];

// device.h: fw_rev_maj() / fw_rev_min() / fw_rev_sub()
export function fw_rev_maj(dev: mlx5_core_dev): number {
  return ioread32be(dev.iseg + mlx5_init_seg.fw_rev) & 0xffff;
}
export function fw_rev_min(dev: mlx5_core_dev): number {
  return ioread32be(dev.iseg + mlx5_init_seg.fw_rev) >>> 16;
}
export function fw_rev_sub(dev: mlx5_core_dev): number {
  return ioread32be(dev.iseg + mlx5_init_seg.cmdif_rev_fw_sub) & 0xffff;
}

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

// main.c: mlx5_pci_enable_device()
async function mlx5_pci_enable_device(dev: mlx5_core_dev): Promise<number> {
  let err = 0;
  await mutex_lock(dev.pci_status_mutex);
  if (dev.pci_status === MLX5_PCI_STATUS_DISABLED) {
    err = pci_enable_device(dev.pdev);
    if (!err) dev.pci_status = MLX5_PCI_STATUS_ENABLED;
  }
  mutex_unlock(dev.pci_status_mutex);
  return err;
}

// main.c: mlx5_pci_disable_device()
async function mlx5_pci_disable_device(dev: mlx5_core_dev): Promise<void> {
  await mutex_lock(dev.pci_status_mutex);
  if (dev.pci_status === MLX5_PCI_STATUS_ENABLED) {
    pci_disable_device(dev.pdev);
    dev.pci_status = MLX5_PCI_STATUS_DISABLED;
  }
  mutex_unlock(dev.pci_status_mutex);
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

// main.c: mlx5_pci_init()
async function mlx5_pci_init(dev: mlx5_core_dev, pdev: pci_dev): Promise<number> {
  pci_set_drvdata(dev.pdev, dev);
  dev.bar_addr = pci_resource_start(pdev, 0);
  const err = await mlx5_pci_enable_device(dev);
  if (err) {
    mlx5_core_err(dev, ["mlx5_pci_init", 829], "Cannot enable PCI device, aborting\n");
    return err;
  }
  pci_set_master(pdev);
  dev.iseg_base = dev.bar_addr;
  dev.iseg = ioremap(dev.iseg_base, 0x2010);
  if (!dev.iseg) {
    mlx5_core_err(dev, ["mlx5_pci_init", 859], "Failed mapping initialization segment, aborting\n");
    await mlx5_pci_disable_device(dev);
    return -ENOMEM;
  }
  return 0;
}

// main.c: mlx5_pci_close()
async function mlx5_pci_close(dev: mlx5_core_dev): Promise<void> {
  // health work might still be active, and it needs pci bar in order to know
  // the NIC state. Therefore, drain the health WQ before removing the pci bars
  await mlx5_drain_health_wq(dev);
  await mlx5_pci_disable_device(dev);
}

// main.c: mlx5_init_once()
async function mlx5_init_once(dev: mlx5_core_dev): Promise<number> {
  let err = await mlx5_query_board_id(dev);
  if (err) {
    mlx5_core_err(dev, ["mlx5_init_once", 910], "query board id failed\n");
    return err;
  }
  err = mlx5_irq_table_init(dev);
  if (err) {
    mlx5_core_err(dev, ["mlx5_init_once", 916], "failed to initialize irq table\n");
    return err;
  }
  err = mlx5_eq_table_init(dev);
  if (err) {
    mlx5_core_err(dev, ["mlx5_init_once", 922], "failed to initialize eq\n");
    mlx5_irq_table_cleanup(dev);
    return err;
  }
  return 0;
}

// main.c: mlx5_cleanup_once()
function mlx5_cleanup_once(dev: mlx5_core_dev): void {
  mlx5_eq_table_cleanup(dev);
  mlx5_irq_table_cleanup(dev);
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
async function mlx5_function_setup(dev: mlx5_core_dev, boot: boolean, timeout: number): Promise<number> {
  let err = await mlx5_function_enable(dev, boot, timeout);
  if (err) return err;
  err = await mlx5_function_open(dev);
  if (err) await mlx5_function_disable(dev, boot);
  return err;
}

// main.c: mlx5_function_teardown()
async function mlx5_function_teardown(dev: mlx5_core_dev, boot: boolean): Promise<number> {
  const err = await mlx5_function_close(dev);
  if (!err) await mlx5_function_disable(dev, boot);
  else mlx5_stop_health_poll(dev, boot);
  return err;
}

// main.c: mlx5_load()
async function mlx5_load(dev: mlx5_core_dev): Promise<number> {
  const uar = await mlx5_get_uars_page(dev);
  if (typeof uar === "number") {
    mlx5_core_err(dev, ["mlx5_load", 1327], "Failed allocating uar, aborting\n");
    return uar;
  }
  dev.priv.uar = uar;
  let err = await mlx5_irq_table_create(dev);
  if (err) {
    mlx5_core_err(dev, ["mlx5_load", 1337], "Failed to alloc IRQs\n");
    await mlx5_put_uars_page(dev, dev.priv.uar);
    dev.priv.uar = null;
    return err;
  }
  err = await mlx5_eq_table_create(dev);
  if (err) {
    mlx5_core_err(dev, ["mlx5_load", 1343], "Failed to create EQs\n");
    await mlx5_irq_table_destroy(dev);
    await mlx5_put_uars_page(dev, dev.priv.uar);
    dev.priv.uar = null;
    return err;
  }
  // irqlab: the device forgot its IMS store with the reset; hand it back
  err = await mlx5_ims_load(dev);
  if (err) {
    await mlx5_eq_table_destroy(dev);
    await mlx5_irq_table_destroy(dev);
    await mlx5_put_uars_page(dev, dev.priv.uar);
    dev.priv.uar = null;
    return err;
  }
  return 0;
}

// main.c: mlx5_unload()
async function mlx5_unload(dev: mlx5_core_dev): Promise<void> {
  mlx5_ims_unload(dev);
  await mlx5_eq_table_destroy(dev);
  await mlx5_irq_table_destroy(dev);
  await mlx5_put_uars_page(dev, dev.priv.uar);
  dev.priv.uar = null;
}

// main.c: mlx5_attach_device(): resume the auxiliary drivers (irqlab's interfaces)
async function mlx5_attach_device(dev: mlx5_core_dev): Promise<number> {
  for (const intf of dev.priv.interfaces) {
    const err = await intf.attach(dev);
    if (err) return err;
  }
  return 0;
}

// main.c: mlx5_detach_device(): suspend the auxiliary drivers, last attached first
async function mlx5_detach_device(dev: mlx5_core_dev, suspend: boolean): Promise<void> {
  for (const intf of [...dev.priv.interfaces].reverse()) await intf.detach(dev, suspend);
}

/** irqlab: attach an interface (what an auxiliary driver's probe amounts to); it is attached now if the device is up. */
export async function mlx5_irqlab_register_interface(dev: mlx5_core_dev, intf: mlx5_irqlab_interface): Promise<number> {
  dev.priv.interfaces.push(intf);
  if (!dev.intf_state_up) return 0;
  return intf.attach(dev);
}

/** irqlab: detach and forget an interface. */
export async function mlx5_irqlab_unregister_interface(dev: mlx5_core_dev, intf: mlx5_irqlab_interface): Promise<void> {
  const i = dev.priv.interfaces.indexOf(intf);
  if (i < 0) return;
  dev.priv.interfaces.splice(i, 1);
  if (dev.intf_state_up) await intf.detach(dev, false);
}

// main.c: mlx5_init_one_devl_locked()
async function mlx5_init_one_devl_locked(dev: mlx5_core_dev): Promise<number> {
  await mutex_lock(dev.intf_state_mutex);
  dev.state = MLX5_DEVICE_STATE_UP;
  let err = await mlx5_function_setup(dev, true, mlx5_tout_ms(dev, "FW_PRE_INIT_TIMEOUT"));
  if (!err) {
    err = await mlx5_init_once(dev);
    if (err) {
      mlx5_core_err(dev, ["mlx5_init_one_devl_locked", 1432], "sw objs init failed\n");
      await mlx5_function_teardown(dev, true);
    } else {
      err = await mlx5_load(dev);
      if (err) {
        mlx5_cleanup_once(dev);
        await mlx5_function_teardown(dev, true);
      } else {
        dev.intf_state_up = true;
        err = await mlx5_attach_device(dev);
        if (err) {
          dev.intf_state_up = false;
          await mlx5_unload(dev);
          mlx5_cleanup_once(dev);
          await mlx5_function_teardown(dev, true);
        }
      }
    }
  }
  if (err) dev.state = MLX5_DEVICE_STATE_INTERNAL_ERROR;
  mutex_unlock(dev.intf_state_mutex);
  return err;
}

// main.c: mlx5_init_one()
async function mlx5_init_one(dev: mlx5_core_dev): Promise<number> {
  await mutex_lock(dev.devlink_lock);
  const err = await mlx5_init_one_devl_locked(dev);
  mutex_unlock(dev.devlink_lock);
  return err;
}

// main.c: mlx5_uninit_one()
async function mlx5_uninit_one(dev: mlx5_core_dev): Promise<void> {
  await mutex_lock(dev.devlink_lock);
  await mutex_lock(dev.intf_state_mutex);
  await mlx5_detach_device(dev, false);
  if (!dev.intf_state_up) {
    mlx5_core_warn(dev, ["mlx5_uninit_one", 1507], "%s: interface is down, NOP\n", "mlx5_uninit_one");
    mlx5_cleanup_once(dev);
  } else {
    dev.intf_state_up = false;
    await mlx5_unload(dev);
    mlx5_cleanup_once(dev);
    await mlx5_function_teardown(dev, true);
  }
  mutex_unlock(dev.intf_state_mutex);
  mutex_unlock(dev.devlink_lock);
}

// main.c: mlx5_load_one_devl_locked(); the devlink lock held
export async function mlx5_load_one_devl_locked(dev: mlx5_core_dev, recovery: boolean): Promise<number> {
  await mutex_lock(dev.intf_state_mutex);
  try {
    if (dev.intf_state_up) {
      mlx5_core_warn(dev, ["mlx5_load_one_devl_locked", 1535], "interface is up, NOP\n");
      return 0;
    }
    // remove any previous indication of internal error
    dev.state = MLX5_DEVICE_STATE_UP;
    const timeout = recovery ? mlx5_tout_ms(dev, "FW_PRE_INIT_ON_RECOVERY_TIMEOUT") : mlx5_tout_ms(dev, "FW_PRE_INIT_TIMEOUT");
    let err = await mlx5_function_setup(dev, false, timeout);
    if (err) {
      dev.state = MLX5_DEVICE_STATE_INTERNAL_ERROR;
      return err;
    }
    err = await mlx5_load(dev);
    if (err) {
      await mlx5_function_teardown(dev, false);
      dev.state = MLX5_DEVICE_STATE_INTERNAL_ERROR;
      return err;
    }
    dev.intf_state_up = true;
    err = await mlx5_attach_device(dev);
    if (err) {
      dev.intf_state_up = false;
      await mlx5_unload(dev);
      await mlx5_function_teardown(dev, false);
      dev.state = MLX5_DEVICE_STATE_INTERNAL_ERROR;
    }
    return err;
  } finally {
    mutex_unlock(dev.intf_state_mutex);
  }
}

// main.c: mlx5_load_one()
export async function mlx5_load_one(dev: mlx5_core_dev, recovery: boolean): Promise<number> {
  await mutex_lock(dev.devlink_lock);
  const ret = await mlx5_load_one_devl_locked(dev, recovery);
  mutex_unlock(dev.devlink_lock);
  return ret;
}

// main.c: mlx5_unload_one_devl_locked(); the devlink lock held
export async function mlx5_unload_one_devl_locked(dev: mlx5_core_dev, suspend: boolean): Promise<void> {
  await mutex_lock(dev.intf_state_mutex);
  await mlx5_detach_device(dev, suspend);
  if (!dev.intf_state_up) {
    mlx5_core_warn(dev, ["mlx5_unload_one_devl_locked", 1589], "%s: interface is down, NOP\n", "mlx5_unload_one_devl_locked");
  } else {
    dev.intf_state_up = false;
    await mlx5_unload(dev);
    await mlx5_function_teardown(dev, false);
  }
  mutex_unlock(dev.intf_state_mutex);
}

// main.c: mlx5_unload_one()
export async function mlx5_unload_one(dev: mlx5_core_dev, suspend: boolean): Promise<void> {
  await mutex_lock(dev.devlink_lock);
  await mlx5_unload_one_devl_locked(dev, suspend);
  mutex_unlock(dev.devlink_lock);
}

// main.c: mlx5_mdev_init()
async function mlx5_mdev_init(dev: mlx5_core_dev): Promise<number> {
  let err = mlx5_cmd_init(dev);
  if (err) {
    mlx5_core_err(dev, ["mlx5_mdev_init", 1780], "Failed initializing cmdif SW structs, aborting\n");
    return err;
  }
  err = mlx5_tout_init(dev);
  if (err) {
    mlx5_core_err(dev, ["mlx5_mdev_init", 1786], "Failed initializing timeouts, aborting\n");
    await mlx5_cmd_cleanup(dev);
    return err;
  }
  err = mlx5_health_init(dev);
  if (err) {
    mlx5_tout_cleanup(dev);
    await mlx5_cmd_cleanup(dev);
    return err;
  }
  return 0;
}

// main.c: mlx5_mdev_uninit()
async function mlx5_mdev_uninit(dev: mlx5_core_dev): Promise<void> {
  mlx5_ims_cleanup(dev);
  await mlx5_health_cleanup(dev);
  mlx5_tout_cleanup(dev);
  await mlx5_cmd_cleanup(dev);
}

/**
 * main.c: probe_one(): the driver's probe of `pdev`. Returns the core device
 * or a negative errno (-ENODEV for a device mlx5_core_pci_table does not list).
 */
export async function mlx5_probe(pdev: pci_dev): Promise<mlx5_core_dev | number> {
  if (pdev.vendor !== PCI_VENDOR_ID_MELLANOX || !mlx5_core_pci_table.includes(pdev.device_id)) return -ENODEV;
  pdev.driver_name = DRIVER_NAME;
  const dev = new mlx5_core_dev(pdev);
  let err = await mlx5_mdev_init(dev);
  if (err) return err;
  err = await mlx5_pci_init(dev, pdev);
  if (err) {
    mlx5_core_err(dev, ["probe_one", 2013], "mlx5_pci_init failed with error code %d\n", err);
    await mlx5_mdev_uninit(dev);
    return err;
  }
  err = await mlx5_init_one(dev);
  if (err) {
    mlx5_core_err(dev, ["probe_one", 2020], "mlx5_init_one failed with error code %d\n", err);
    await mlx5_pci_close(dev);
    await mlx5_mdev_uninit(dev);
    return err;
  }
  pci_save_state(pdev);
  return dev;
}

/** main.c: remove_one() */
export async function mlx5_remove(dev: mlx5_core_dev): Promise<void> {
  dev.break_fw_wait = true;
  await mlx5_drain_health_wq(dev);
  await mlx5_uninit_one(dev);
  await mlx5_pci_close(dev);
  await mlx5_mdev_uninit(dev);
}

// main.c: wait_vital(): wait for the health counter to count
async function wait_vital(dev: mlx5_core_dev): Promise<number> {
  const niter = 100;
  let last_count = 0;
  for (let i = 0; i < niter; i++) {
    const count = ioread32be(dev.iseg + mlx5_init_seg.health_counter);
    if (count && count !== 0xffffffff) {
      if (last_count && last_count !== count) {
        mlx5_core_info(dev, "wait vital counter value 0x%x after %d iterations\n", count, i);
        return 0;
      }
      last_count = count;
    }
    await msleep(50);
  }
  return -ETIMEDOUT;
}

const result2str = (r: number): string => (r === 3 ? "need reset" : r === PCI_ERS_RESULT_DISCONNECT ? "disconnect" : r === PCI_ERS_RESULT_RECOVERED ? "recovered" : "unknown");

// main.c: mlx5_pci_slot_reset()
async function mlx5_pci_slot_reset(dev: mlx5_core_dev): Promise<number> {
  let res = PCI_ERS_RESULT_DISCONNECT;
  mlx5_core_info(dev, "%s Device state = %d pci_status: %d. Enter\n", "mlx5_pci_slot_reset", dev.state, dev.pci_status);
  let err = await mlx5_pci_enable_device(dev);
  if (err) {
    mlx5_core_err(dev, ["mlx5_pci_slot_reset", 2148], "%s: mlx5_pci_enable_device failed with error code: %d\n", "mlx5_pci_slot_reset", err);
  } else {
    pci_set_master(dev.pdev);
    pci_restore_state(dev.pdev);
    pci_save_state(dev.pdev);
    err = await wait_vital(dev);
    if (err) mlx5_core_err(dev, ["mlx5_pci_slot_reset", 2159], "%s: wait vital failed with error code: %d\n", "mlx5_pci_slot_reset", err);
    else res = PCI_ERS_RESULT_RECOVERED;
  }
  mlx5_core_info(dev, "%s Device state = %d pci_status: %d. Exit, err = %d, result = %d, %s\n", "mlx5_pci_slot_reset", dev.state, dev.pci_status, err, res, result2str(res));
  return res;
}

// main.c: mlx5_disable_device()
export async function mlx5_disable_device(dev: mlx5_core_dev): Promise<void> {
  await mlx5_error_sw_reset(dev);
  await mlx5_unload_one_devl_locked(dev, false);
}

// main.c: mlx5_recover_device()
export async function mlx5_recover_device(dev: mlx5_core_dev): Promise<number> {
  await mlx5_pci_disable_device(dev);
  if ((await mlx5_pci_slot_reset(dev)) !== PCI_ERS_RESULT_RECOVERED) return -EIO;
  return mlx5_load_one_devl_locked(dev, true);
}

