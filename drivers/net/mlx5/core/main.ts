// SPDX-License-Identifier: GPL-2.0-only
// drivers/net/ethernet/mellanox/mlx5/core/main.c, reduced to a PF on
// irqlab's device: probe and remove, load/unload of the IRQ table, UAR and
// EQs, and the PCI side of recovery. The function setup/teardown sequence
// (the firmware and HCA steps below) is in main_function.ts.
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

import { EIO, ENODEV, ENOMEM, ETIMEDOUT } from "../../../../lib/kernel/errno.ts";
import { ioread32be, ioremap } from "../../../../lib/kernel/io.ts";
import { msleep } from "../../../../lib/kernel/delay.ts";
import { mutex_lock, mutex_unlock } from "../../../../lib/kernel/mutex.ts";
import { pci_disable_device, pci_enable_device, pci_resource_start, pci_set_drvdata, pci_set_master, type pci_dev } from "../../../pci/pci.ts";
import { mlx5_cmd_cleanup, mlx5_cmd_init } from "./cmd_init.ts";
import {
  DRIVER_NAME,
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
import { mlx5_query_board_id } from "./fw.ts";
import { mlx5_drain_health_wq, mlx5_error_sw_reset, mlx5_health_cleanup, mlx5_health_init } from "./health.ts";
import { mlx5_ims_load, mlx5_ims_unload, mlx5_ims_cleanup } from "./ims.ts";
import { mlx5_init_seg } from "./mlx5_ifc.ts";
import { mlx5_irq_table_cleanup, mlx5_irq_table_create, mlx5_irq_table_destroy, mlx5_irq_table_init } from "./pci_irq.ts";
import { pci_restore_state, pci_save_state } from "./pci_compat.ts";
import { mlx5_tout_cleanup, mlx5_tout_init, mlx5_tout_ms } from "./tout.ts";
import { mlx5_get_uars_page, mlx5_put_uars_page } from "./uar.ts";
import { mlx5_function_setup, mlx5_function_teardown } from "./main_function.ts";

export const PCI_VENDOR_ID_MELLANOX = 0x15b3;
/** The PF device ids of mlx5_core_pci_table (VFs are not rendered). */
export const mlx5_core_pci_table: readonly number[] = [0x1011, 0x1013, 0x1015, 0x1017, 0x1019, 0x101b, 0x101d, 0x101f, 0x1021, 0x1023, 0x1025, 0x1027, 0xa2d2, 0xa2d6, 0xa2dc, 0xa2df];

const PCI_ERS_RESULT_RECOVERED = 5;
const PCI_ERS_RESULT_DISCONNECT = 4;

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

