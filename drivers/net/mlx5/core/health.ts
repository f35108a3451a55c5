// SPDX-License-Identifier: GPL-2.0-only
// drivers/net/ethernet/mellanox/mlx5/core/health.c: the health poller and
// the recovery flow.
//
// poll_health() runs from a timer every HEALTH_POLL_INTERVAL plus up to one
// second of jitter. It checks the fatal sensors in order (PCI reads all-ones,
// PCI channel offline, NIC interface DISABLED, NIC interface SW_RESET, a
// firmware syndrome with the reset-requested bit); the first fatal error
// marks the device INTERNAL_ERROR and queues fatal_report_work on the health
// workqueue. A health counter that did not move for MAX_MISSES polls, or a
// new syndrome, is reported to the non-fatal "fw" reporter only: a command
// timeout or a stuck counter alone never resets the device.
//
// fatal_report_work: enter_error_state() flushes the command interface (busy
// commands complete with -ENXIO; mlx5_cmd_check() emulates their statuses),
// then the "fw_fatal" reporter recovers through mlx5_health_try_recover():
// mlx5_handle_bad_state() issues the SW reset (NIC interface = 7) when the
// firmware asked for one and unloads the driver, waits for PCI reads to work,
// mlx5_recover_device() re-enables the function (slot reset, vital signs)
// and reloads it. irqlab adds two steps after a successful reload: the
// recovery notifiers run (restore IMS entries and EQ bindings), then every EQ
// is polled once, so that nothing the device reported before the interrupts
// came back is left behind.
//
// The VSC gateway semaphore that picks which PF resets the firmware is not
// modelled (a PF always wins it); crdump and devlink dumps are not rendered.

import { Rng } from "../../../../lib/sim/rng.ts";
import { K } from "../../../../lib/kernel/kernel.ts";
import { EACCES, EBUSY, EIO, ENODEV, ENOMEM, ETIMEDOUT } from "../../../../lib/kernel/errno.ts";
import { ioread16be, ioread32be, ioread8, iowrite32be } from "../../../../lib/kernel/io.ts";
import { HZ, jiffies, msecs_to_jiffies, time_after } from "../../../../lib/kernel/jiffies.ts";
import { msleep } from "../../../../lib/kernel/delay.ts";
import { mutex_lock, mutex_unlock } from "../../../../lib/kernel/mutex.ts";
import { add_timer, mod_timer, timer_delete_sync, timer_list, timer_setup } from "../../../../lib/kernel/timer.ts";
import { alloc_ordered_workqueue, cancel_work_sync, destroy_workqueue, INIT_WORK, queue_work, WQ_MEM_RECLAIM } from "../../../../lib/kernel/workqueue.ts";
import { dev_err } from "../../../../lib/kernel/printk.ts";
import { mlx5_cmd_flush } from "./cmd.ts";
import { devl_health_reporter_create, devlink_health_report } from "./devlink.ts";
import {
  MLX5_DEV_EVENT_IRQLAB_RECOVERED,
  MLX5_DEV_EVENT_SYS_ERROR,
  MLX5_DEVICE_STATE_INTERNAL_ERROR,
  MLX5_DEVICE_STATE_UP,
  mlx5_core_err,
  mlx5_core_info,
  mlx5_core_warn,
  mlx5_log,
  type mlx5_core_dev,
} from "./driver.ts";
import { atomic_notifier_call_chain } from "./klib.ts";
import { health_buffer as H, mlx5_init_seg } from "./mlx5_ifc.ts";
import { mlx5_tout_ms } from "./tout.ts";
import { pci_channel_offline } from "./pci_compat.ts";
import { fw_rev_maj, fw_rev_min, fw_rev_sub, mlx5_disable_device, mlx5_recover_device, mlx5_unload_one } from "./main.ts";
import { mlx5_eq_table_poll_all } from "./eq.ts";

const MAX_MISSES = 3;

/* sensors */
export const MLX5_SENSOR_NO_ERR = 0;
export const MLX5_SENSOR_PCI_COMM_ERR = 1;
export const MLX5_SENSOR_PCI_ERR = 2;
export const MLX5_SENSOR_NIC_DISABLED = 3;
export const MLX5_SENSOR_NIC_SW_RESET = 4;
export const MLX5_SENSOR_FW_SYND_RFR = 5;

const MLX5_SEVERITY_MASK = 0x7;
const MLX5_SEVERITY_VALID_MASK = 0x8;
const MLX5_RFR_BIT_OFFSET = 0x7;
const MLX5_CRR_BIT_OFFSET = 0x6;
const MLX5_FW_RESET_SUPPORTED_OFFSET = 30;
const MLX5_NIC_IFC_OFFSET = 8;

/* enum mlx5_initial_seg_nic_interface */
export const MLX5_INITIAL_SEG_NIC_INTERFACE_FULL_DRIVER = 0x0;
export const MLX5_INITIAL_SEG_NIC_INTERFACE_DISABLED = 0x1;
export const MLX5_INITIAL_SEG_NIC_INTERFACE_NO_DRAM_NIC = 0x2;
export const MLX5_INITIAL_SEG_NIC_INTERFACE_SW_RESET = 0x7;

/* LOGLEVEL_* */
const LOGLEVEL_EMERG = 0;
const LOGLEVEL_ALERT = 1;
const LOGLEVEL_CRIT = 2;
const LOGLEVEL_ERR = 3;
const LOGLEVEL_WARNING = 4;
const LOGLEVEL_NOTICE = 5;
const LOGLEVEL_INFO = 6;
const LOGLEVEL_DEBUG = 7;

const MLX5_FW_REPORTER_PF_GRACEFUL_PERIOD = 60000;

const hbuf = (dev: mlx5_core_dev): number => dev.iseg + mlx5_init_seg.health;

// health.c: mlx5_get_nic_state()
export function mlx5_get_nic_state(dev: mlx5_core_dev): number {
  return (ioread32be(dev.iseg + mlx5_init_seg.cmdq_addr_l_sz) >>> 8) & 7;
}

// health.c: mlx5_set_nic_state(): the command queue address lives in the same register
export function mlx5_set_nic_state(dev: mlx5_core_dev, state: number): void {
  const cur_cmdq_addr_l_sz = ioread32be(dev.iseg + mlx5_init_seg.cmdq_addr_l_sz);
  iowrite32be(((cur_cmdq_addr_l_sz & 0xfffff000) | (state << MLX5_NIC_IFC_OFFSET)) >>> 0, dev.iseg + mlx5_init_seg.cmdq_addr_l_sz);
}

// health.c: sensor_pci_not_working(): offline PCI reads return 0xffffffff
function sensor_pci_not_working(dev: mlx5_core_dev): boolean {
  return ioread32be(hbuf(dev) + H.fw_ver) === 0xffffffff;
}

// health.c: mlx5_health_get_rfr()
function mlx5_health_get_rfr(rfr_severity: number): number {
  return rfr_severity >> MLX5_RFR_BIT_OFFSET;
}

// health.c: mlx5_health_get_crr()
function mlx5_health_get_crr(rfr_severity: number): number {
  return (rfr_severity >> MLX5_CRR_BIT_OFFSET) & 0x01;
}

// health.c: sensor_fw_synd_rfr()
function sensor_fw_synd_rfr(dev: mlx5_core_dev): boolean {
  const synd = ioread8(hbuf(dev) + H.synd);
  const rfr = mlx5_health_get_rfr(ioread8(hbuf(dev) + H.rfr_severity));
  return !!(rfr && synd);
}

// health.c: mlx5_health_check_fatal_sensors()
export function mlx5_health_check_fatal_sensors(dev: mlx5_core_dev): number {
  if (sensor_pci_not_working(dev)) return MLX5_SENSOR_PCI_COMM_ERR;
  if (pci_channel_offline(dev.pdev)) return MLX5_SENSOR_PCI_ERR;
  if (mlx5_get_nic_state(dev) === MLX5_INITIAL_SEG_NIC_INTERFACE_DISABLED) return MLX5_SENSOR_NIC_DISABLED;
  if (mlx5_get_nic_state(dev) === MLX5_INITIAL_SEG_NIC_INTERFACE_SW_RESET) return MLX5_SENSOR_NIC_SW_RESET;
  if (sensor_fw_synd_rfr(dev)) return MLX5_SENSOR_FW_SYND_RFR;
  return MLX5_SENSOR_NO_ERR;
}

// health.c: lock_sem_sw_reset(); irqlab: no VSC gateway, the PF always gets the semaphore
function lock_sem_sw_reset(_dev: mlx5_core_dev, _lock: boolean): number {
  return 0;
}

// health.c: reset_fw_if_needed()
function reset_fw_if_needed(dev: mlx5_core_dev): boolean {
  const supported = ((ioread32be(dev.iseg + mlx5_init_seg.initializing) >>> MLX5_FW_RESET_SUPPORTED_OFFSET) & 1) === 1;
  if (!supported) return false;
  // The reset only needs to be issued by one PF. The health buffer is shared
  // between all functions, and will be cleared during a reset. Check again to
  // avoid a redundant 2nd reset. If the fatal errors was PCI related a reset
  // won't help.
  const fatal_error = mlx5_health_check_fatal_sensors(dev);
  if (fatal_error === MLX5_SENSOR_PCI_COMM_ERR || fatal_error === MLX5_SENSOR_NIC_DISABLED || fatal_error === MLX5_SENSOR_NIC_SW_RESET) {
    mlx5_core_warn(dev, ["reset_fw_if_needed", 155], "Not issuing FW reset. Either it's already done or won't help.");
    return false;
  }
  mlx5_core_warn(dev, ["reset_fw_if_needed", 159], "Issuing FW Reset\n");
  // Write the NIC interface field to initiate the reset, the command
  // interface address also resides here, don't overwrite it.
  mlx5_set_nic_state(dev, MLX5_INITIAL_SEG_NIC_INTERFACE_SW_RESET);
  return true;
}

// health.c: enter_error_state()
async function enter_error_state(dev: mlx5_core_dev, force: boolean): Promise<void> {
  if (mlx5_health_check_fatal_sensors(dev) || force) {
    // protected state setting
    dev.state = MLX5_DEVICE_STATE_INTERNAL_ERROR;
    await mlx5_cmd_flush(dev);
  }
  atomic_notifier_call_chain(dev.priv.events, MLX5_DEV_EVENT_SYS_ERROR, 1);
}

// health.c: mlx5_enter_error_state(): mark the device fatal so that commands abort
export async function mlx5_enter_error_state(dev: mlx5_core_dev, force: boolean): Promise<void> {
  let err_detected = false;
  if ((mlx5_health_check_fatal_sensors(dev) || force) && dev.state === MLX5_DEVICE_STATE_UP) {
    dev.state = MLX5_DEVICE_STATE_INTERNAL_ERROR;
    err_detected = true;
  }
  await mutex_lock(dev.intf_state_mutex);
  if (!err_detected && dev.state === MLX5_DEVICE_STATE_INTERNAL_ERROR) {
    mutex_unlock(dev.intf_state_mutex); // a previous error is still being handled
    return;
  }
  await enter_error_state(dev, force);
  mutex_unlock(dev.intf_state_mutex);
}

// health.c: mlx5_error_sw_reset(): reset the firmware if it asked for it, wait for DISABLED
export async function mlx5_error_sw_reset(dev: mlx5_core_dev): Promise<void> {
  const delay_ms = mlx5_tout_ms(dev, "PCI_TOGGLE");
  let lock = -EBUSY;
  await mutex_lock(dev.intf_state_mutex);
  try {
    if (dev.state !== MLX5_DEVICE_STATE_INTERNAL_ERROR) return;
    mlx5_core_err(dev, ["mlx5_error_sw_reset", 208], "start\n");
    if (mlx5_health_check_fatal_sensors(dev) === MLX5_SENSOR_FW_SYND_RFR) {
      // Get cr-dump and reset FW semaphore
      lock = lock_sem_sw_reset(dev, true);
      // Execute SW reset
      if (lock !== -EBUSY) reset_fw_if_needed(dev);
    }
    // Recover from SW reset
    const end = jiffies() + msecs_to_jiffies(delay_ms);
    do {
      if (mlx5_get_nic_state(dev) === MLX5_INITIAL_SEG_NIC_INTERFACE_DISABLED) break;
      if (pci_channel_offline(dev.pdev)) {
        mlx5_core_err(dev, ["mlx5_error_sw_reset", 231], "PCI channel offline, stop waiting for NIC IFC\n");
        return;
      }
      await msleep(20);
    } while (!time_after(jiffies(), end));
    if (mlx5_get_nic_state(dev) !== MLX5_INITIAL_SEG_NIC_INTERFACE_DISABLED) {
      dev_err(dev.pdev, "NIC IFC still %d after %lums.\n", mlx5_get_nic_state(dev), delay_ms);
    }
    // Release FW semaphore if you are the lock owner
    if (!lock) lock_sem_sw_reset(dev, false);
    mlx5_core_err(dev, ["mlx5_error_sw_reset", 246], "end\n");
  } finally {
    mutex_unlock(dev.intf_state_mutex);
  }
}

// health.c: mlx5_handle_bad_state()
async function mlx5_handle_bad_state(dev: mlx5_core_dev): Promise<void> {
  const nic_interface = mlx5_get_nic_state(dev);
  switch (nic_interface) {
    case MLX5_INITIAL_SEG_NIC_INTERFACE_FULL_DRIVER:
      mlx5_core_warn(dev, ["mlx5_handle_bad_state", 259], "Expected to see disabled NIC but it is full driver\n");
      break;
    case MLX5_INITIAL_SEG_NIC_INTERFACE_DISABLED:
      mlx5_core_warn(dev, ["mlx5_handle_bad_state", 263], "starting teardown\n");
      break;
    case MLX5_INITIAL_SEG_NIC_INTERFACE_NO_DRAM_NIC:
      mlx5_core_warn(dev, ["mlx5_handle_bad_state", 267], "Expected to see disabled NIC but it is no dram nic\n");
      break;
    case MLX5_INITIAL_SEG_NIC_INTERFACE_SW_RESET:
      // The IFC mode field is 3 bits, so it will read 0x7 in 2 cases: PCI
      // has been disabled, or FW reset has been issued by another function.
      if (dev.priv.health.fatal_error !== MLX5_SENSOR_PCI_COMM_ERR) mlx5_core_warn(dev, ["mlx5_handle_bad_state", 280], "NIC SW reset in progress\n");
      break;
    default:
      mlx5_core_warn(dev, ["mlx5_handle_bad_state", 284], "Expected to see disabled NIC but it is has invalid value %d\n", nic_interface);
  }
  await mlx5_disable_device(dev);
}

// health.c: mlx5_health_wait_pci_up()
export async function mlx5_health_wait_pci_up(dev: mlx5_core_dev): Promise<number> {
  const end = jiffies() + msecs_to_jiffies(mlx5_tout_ms(dev, "FW_RESET"));
  while (sensor_pci_not_working(dev)) {
    if (time_after(jiffies(), end)) return -ETIMEDOUT;
    if (dev.break_fw_wait) {
      mlx5_core_warn(dev, ["mlx5_health_wait_pci_up", 301], "device is being removed, stop waiting for PCI\n");
      return -ENODEV;
    }
    if (pci_channel_offline(dev.pdev)) {
      mlx5_core_err(dev, ["mlx5_health_wait_pci_up", 305], "PCI channel offline, stop waiting for PCI\n");
      return -EACCES;
    }
    await msleep(100);
  }
  return 0;
}

// health.c: mlx5_health_try_recover(); the devlink instance lock held
async function mlx5_health_try_recover(dev: mlx5_core_dev): Promise<number> {
  mlx5_core_warn(dev, ["mlx5_health_try_recover", 315], "handling bad device here\n");
  await mlx5_handle_bad_state(dev);
  if (await mlx5_health_wait_pci_up(dev)) {
    mlx5_core_err(dev, ["mlx5_health_try_recover", 318], "health recovery flow aborted, PCI reads still not working\n");
    return -EIO;
  }
  mlx5_core_err(dev, ["mlx5_health_try_recover", 321], "starting health recovery flow\n");
  if ((await mlx5_recover_device(dev)) || mlx5_health_check_fatal_sensors(dev)) {
    mlx5_core_err(dev, ["mlx5_health_try_recover", 323], "health recovery failed\n");
    return -EIO;
  }
  await mlx5_irqlab_after_recovery(dev);
  mlx5_core_info(dev, "health recovery succeeded\n");
  return 0;
}

/** An async callback run after every successful health recovery (irqlab). */
export type mlx5_recovery_notifier = (dev: mlx5_core_dev) => Promise<void>;
const recoveryNotifiers = new WeakMap<mlx5_core_dev, mlx5_recovery_notifier[]>();

/**
 * irqlab: register a recovery notifier. It runs in the recovery work, after
 * the device was reset and reloaded (command interface in events mode, EQs
 * recreated), with the devlink lock held and before every EQ is polled: the
 * place to restore IMS entries and EQ-to-IMS bindings.
 */
export function mlx5_irqlab_register_recovery_notifier(dev: mlx5_core_dev, nb: mlx5_recovery_notifier): void {
  const l = recoveryNotifiers.get(dev) ?? [];
  l.push(nb);
  recoveryNotifiers.set(dev, l);
}

export function mlx5_irqlab_unregister_recovery_notifier(dev: mlx5_core_dev, nb: mlx5_recovery_notifier): void {
  const l = recoveryNotifiers.get(dev) ?? [];
  const i = l.indexOf(nb);
  if (i >= 0) l.splice(i, 1);
}

/** irqlab: restore, then poll every EQ once (see the header comment). */
async function mlx5_irqlab_after_recovery(dev: mlx5_core_dev): Promise<void> {
  for (const nb of [...(recoveryNotifiers.get(dev) ?? [])]) await nb(dev);
  atomic_notifier_call_chain(dev.priv.events, MLX5_DEV_EVENT_IRQLAB_RECOVERED, null);
  dev.priv.health.recovered_eqes += await mlx5_eq_table_poll_all(dev);
}

// health.c: hsynd_str()
export function hsynd_str(synd: number): string {
  switch (synd) {
    case 0x1:
      return "firmware internal error";
    case 0x7:
      return "irisc not responding";
    case 0x8:
      return "unrecoverable hardware error";
    case 0x9:
      return "firmware CRC error";
    case 0xa:
      return "ICM fetch PCI error";
    case 0xb:
      return "HW fatal error\n";
    case 0xc:
      return "async EQ buffer overrun";
    case 0xd:
      return "EQ error";
    case 0xe:
      return "Invalid EQ referenced";
    case 0xf:
      return "FFSER error";
    case 0x10:
      return "High temperature";
    case 0x12:
      return "ICM fetch PCI data poisoned error";
    case 0x13:
      return "Trust lockdown error";
    default:
      return "unrecognized error";
  }
}

// health.c: mlx5_loglevel_str()
function mlx5_loglevel_str(level: number): string {
  switch (level) {
    case LOGLEVEL_EMERG:
      return "EMERGENCY";
    case LOGLEVEL_ALERT:
      return "ALERT";
    case LOGLEVEL_CRIT:
      return "CRITICAL";
    case LOGLEVEL_ERR:
      return "ERROR";
    case LOGLEVEL_WARNING:
      return "WARNING";
    case LOGLEVEL_NOTICE:
      return "NOTICE";
    case LOGLEVEL_INFO:
      return "INFO";
    case LOGLEVEL_DEBUG:
      return "DEBUG";
  }
  return "Unknown log level";
}

// health.c: mlx5_health_get_severity()
function mlx5_health_get_severity(rfr_severity: number): number {
  return rfr_severity & MLX5_SEVERITY_VALID_MASK ? rfr_severity & MLX5_SEVERITY_MASK : LOGLEVEL_ERR;
}

// health.c: print_health_info()
function print_health_info(dev: mlx5_core_dev): void {
  const h = hbuf(dev);
  // If the syndrome is 0, the device is OK and no need to print buffer
  if (!ioread8(h + H.synd)) return;
  if (ioread32be(h + H.fw_ver) === 0xffffffff) {
    mlx5_log(dev, LOGLEVEL_ERR, ["print_health_info", 459], "PCI slot is unavailable\n");
    return;
  }
  const rfr_severity = ioread8(h + H.rfr_severity);
  const severity = mlx5_health_get_severity(rfr_severity);
  const at = (line: number): readonly [string, number] => ["print_health_info", line];
  mlx5_log(dev, severity, at(465), "Health issue observed, %s, severity(%d) %s:\n", hsynd_str(ioread8(h + H.synd)), severity, mlx5_loglevel_str(severity));
  for (let i = 0; i < 6; i++) mlx5_log(dev, severity, at(469), "assert_var[%d] 0x%08x\n", i, ioread32be(h + H.assert_var + 4 * i));
  mlx5_log(dev, severity, at(472), "assert_exit_ptr 0x%08x\n", ioread32be(h + H.assert_exit_ptr));
  mlx5_log(dev, severity, at(473), "assert_callra 0x%08x\n", ioread32be(h + H.assert_callra));
  mlx5_log(dev, severity, at(474), "fw_ver %d.%d.%d", fw_rev_maj(dev), fw_rev_min(dev), fw_rev_sub(dev));
  mlx5_log(dev, severity, at(476), "time %u\n", ioread32be(h + H.time));
  mlx5_log(dev, severity, at(477), "hw_id 0x%08x\n", ioread32be(h + H.hw_id));
  mlx5_log(dev, severity, at(478), "rfr %d\n", mlx5_health_get_rfr(rfr_severity));
  mlx5_log(dev, severity, at(479), "crr %d\n", mlx5_health_get_crr(rfr_severity));
  mlx5_log(dev, severity, at(480), "severity %d (%s)\n", severity, mlx5_loglevel_str(severity));
  mlx5_log(dev, severity, at(481), "irisc_index %d\n", ioread8(h + H.irisc_index));
  mlx5_log(dev, severity, at(482), "synd 0x%x: %s\n", ioread8(h + H.synd), hsynd_str(ioread8(h + H.synd)));
  mlx5_log(dev, severity, at(484), "ext_synd 0x%04x\n", ioread16be(h + H.ext_synd));
  mlx5_log(dev, severity, at(485), "raw fw_ver 0x%08x\n", ioread32be(h + H.fw_ver));
  if (mlx5_health_get_crr(rfr_severity)) mlx5_core_warn(dev, ["print_health_info", 487], "Cold reset is required\n");
}

// health.c: mlx5_fw_reporter_err_work(): the non-fatal "fw" reporter (it has no recover)
async function mlx5_fw_reporter_err_work(dev: mlx5_core_dev): Promise<void> {
  const health = dev.priv.health;
  if (!health.fw_reporter) return;
  const ctx = { err_synd: health.synd, miss_counter: health.miss_counter };
  if (ctx.err_synd) {
    await devlink_health_report(health.fw_reporter, "FW syndrome reported", ctx);
    return;
  }
  if (ctx.miss_counter) await devlink_health_report(health.fw_reporter, "FW miss counter reported", ctx);
}

// health.c: mlx5_fw_fatal_reporter_recover(); devlink_health_report() holds the devlink lock
async function mlx5_fw_fatal_reporter_recover(dev: mlx5_core_dev): Promise<number> {
  await mutex_lock(dev.devlink_lock);
  try {
    return await mlx5_health_try_recover(dev);
  } finally {
    mutex_unlock(dev.devlink_lock);
  }
}

// health.c: mlx5_fw_fatal_reporter_err_work(); the health workqueue
async function mlx5_fw_fatal_reporter_err_work(dev: mlx5_core_dev): Promise<void> {
  const health = dev.priv.health;
  await mutex_lock(dev.intf_state_mutex);
  if (health.drop_health_work) {
    mlx5_core_err(dev, ["mlx5_fw_fatal_reporter_err_work", 637], "health works are not permitted at this stage\n");
    mutex_unlock(dev.intf_state_mutex);
    return;
  }
  mutex_unlock(dev.intf_state_mutex);
  await enter_error_state(dev, false);
  health.fatal_reports++;
  if (!health.fw_fatal_reporter) {
    await mutex_lock(dev.devlink_lock);
    if (await mlx5_health_try_recover(dev)) mlx5_core_err(dev, ["mlx5_fw_fatal_reporter_err_work", 646], "health recovery failed\n");
    mutex_unlock(dev.devlink_lock);
    return;
  }
  const ctx = { err_synd: health.synd, miss_counter: health.miss_counter };
  if ((await devlink_health_report(health.fw_fatal_reporter, "FW fatal error reported", ctx)) === -125 /* -ECANCELED */) {
    // If recovery wasn't performed, due to grace period, unload the driver.
    // This ensures that the driver closes all its resources and it is not
    // subjected to requests from the kernel.
    mlx5_core_err(dev, ["mlx5_fw_fatal_reporter_err_work", 657], "Driver is in error state. Unloading\n");
    await mlx5_unload_one(dev, false);
  }
}

// health.c: mlx5_fw_reporters_create(), a PF
export function mlx5_fw_reporters_create(dev: mlx5_core_dev): void {
  const health = dev.priv.health;
  health.fw_reporter = devl_health_reporter_create({ name: "fw" }, 0, dev);
  health.fw_fatal_reporter = devl_health_reporter_create({ name: "fw_fatal", recover: () => mlx5_fw_fatal_reporter_recover(dev) }, MLX5_FW_REPORTER_PF_GRACEFUL_PERIOD, dev);
}

/** get_random_bytes() of the health poller: the machine's seeded RNG, one stream per machine. */
function health_random(): number {
  return K.state("mlx5_health_rng", () => new Rng(K.sim.rng.seed ^ 0x6d6c7835)).next();
}

// health.c: get_next_poll_jiffies(): the interval plus 0..HZ-1 jiffies
function get_next_poll_jiffies(dev: mlx5_core_dev): number {
  let next = health_random();
  next %= HZ();
  next += jiffies() + msecs_to_jiffies(mlx5_tout_ms(dev, "HEALTH_POLL_INTERVAL"));
  return next;
}

// health.c: mlx5_trigger_health_work()
export function mlx5_trigger_health_work(dev: mlx5_core_dev): void {
  const health = dev.priv.health;
  queue_work(health.wq!, health.fatal_report_work);
}

// health.c: poll_health(); TIMER_SOFTIRQ
function poll_health(dev: mlx5_core_dev): void {
  const health = dev.priv.health;
  const h = hbuf(dev);
  if (dev.state !== MLX5_DEVICE_STATE_INTERNAL_ERROR) {
    const fatal_error = mlx5_health_check_fatal_sensors(dev);
    if (fatal_error && !health.fatal_error) {
      mlx5_core_err(dev, ["poll_health", 760], "Fatal error %u detected\n", fatal_error);
      dev.priv.health.fatal_error = fatal_error;
      print_health_info(dev);
      dev.state = MLX5_DEVICE_STATE_INTERNAL_ERROR;
      mlx5_trigger_health_work(dev);
      return;
    }
    const count = ioread32be(dev.iseg + mlx5_init_seg.health_counter);
    if (count === health.prev) ++health.miss_counter;
    else health.miss_counter = 0;
    health.prev = count;
    if (health.miss_counter === MAX_MISSES) {
      mlx5_core_err(dev, ["poll_health", 776], "device's health compromised - reached miss count\n");
      health.synd = ioread8(h + H.synd);
      print_health_info(dev);
      queue_work(health.wq!, health.report_work);
    }
    const prev_synd = health.synd;
    health.synd = ioread8(h + H.synd);
    if (health.synd && health.synd !== prev_synd) {
      print_health_info(dev);
      queue_work(health.wq!, health.report_work);
    }
  }
  mod_timer(health.timer, get_next_poll_jiffies(dev));
}

// health.c: mlx5_start_health_poll()
export function mlx5_start_health_poll(dev: mlx5_core_dev): void {
  const poll_interval_ms = mlx5_tout_ms(dev, "HEALTH_POLL_INTERVAL");
  const health = dev.priv.health;
  health.timer = new timer_list();
  timer_setup(health.timer, () => poll_health(dev), 0);
  // irqlab: the poller re-arms itself for ever; it must not keep m.run() alive
  health.timer.irqlab_daemon = true;
  health.fatal_error = MLX5_SENSOR_NO_ERR;
  health.drop_health_work = false;
  health.health = mlx5_init_seg.health;
  health.health_counter = mlx5_init_seg.health_counter;
  health.timer.expires = jiffies() + msecs_to_jiffies(poll_interval_ms);
  add_timer(health.timer);
}

// health.c: mlx5_stop_health_poll()
export function mlx5_stop_health_poll(dev: mlx5_core_dev, disable_health: boolean): void {
  const health = dev.priv.health;
  if (disable_health) health.drop_health_work = true;
  if (health.timer) timer_delete_sync(health.timer);
}

// health.c: mlx5_drain_health_wq()
export async function mlx5_drain_health_wq(dev: mlx5_core_dev): Promise<void> {
  const health = dev.priv.health;
  health.drop_health_work = true;
  await cancel_work_sync(health.report_work);
  await cancel_work_sync(health.fatal_report_work);
}

// health.c: mlx5_health_cleanup()
export async function mlx5_health_cleanup(dev: mlx5_core_dev): Promise<void> {
  const health = dev.priv.health;
  if (health.wq) await destroy_workqueue(health.wq);
  health.wq = null;
  health.fw_reporter = null;
  health.fw_fatal_reporter = null;
}

// health.c: mlx5_health_init()
export function mlx5_health_init(dev: mlx5_core_dev): number {
  mlx5_fw_reporters_create(dev);
  const health = dev.priv.health;
  // create_singlethread_workqueue("mlx5_health" + dev_name)
  health.wq = alloc_ordered_workqueue("%s", WQ_MEM_RECLAIM, "mlx5_health" + dev.device.dev_name);
  if (!health.wq) return -ENOMEM;
  health.fatal_report_work = INIT_WORK(() => mlx5_fw_fatal_reporter_err_work(dev));
  health.report_work = INIT_WORK(() => mlx5_fw_reporter_err_work(dev));
  return 0;
}
