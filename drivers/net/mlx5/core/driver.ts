// SPDX-License-Identifier: GPL-2.0-only
// include/linux/mlx5/driver.h and mlx5_core.h, reduced: struct
// mlx5_core_dev and the state hung off it, the device and interface states,
// and the mlx5_core_err()/warn()/info() printers.
//
// mlx5_core_err() and mlx5_core_warn() print "%s:%d:(pid %d): " with the C
// function and line. irqlab passes both explicitly (`at`); the line numbers
// are those of the 6.17-era sources irqlab was written from and are
// representative of 6.18, not checked against a 6.18 build.

import { current } from "../../../../lib/kernel/sched.ts";
import { mutex } from "../../../../lib/kernel/mutex.ts";
import { spinlock_t } from "../../../../lib/kernel/spinlock.ts";
import { K } from "../../../../lib/kernel/kernel.ts";
import { dev_err, dev_info, dev_warn, printk, ratelimit_state, __ratelimit, KERN_SOH } from "../../../../lib/kernel/printk.ts";
import type { completion } from "../../../../lib/kernel/completion.ts";
import type { delayed_work, work_struct, workqueue_struct } from "../../../../lib/kernel/workqueue.ts";
import type { timer_list } from "../../../../lib/kernel/timer.ts";
import type { DmaCoherentBuffer } from "../../../../lib/kernel/dma.ts";
import type { pci_dev } from "../../../pci/pci.ts";
import { atomic_notifier_head, semaphore, type dma_pool, type dma_pool_block, type notifier_block } from "./klib.ts";
import type { mlx5_eq_table } from "./eq.ts";
import type { mlx5_irq_table } from "./pci_irq.ts";
import type { devlink_health_reporter } from "./devlink.ts";
import type { mlx5_ims } from "./ims.ts";

export const DRIVER_NAME = "mlx5_core";

/* enum mlx5_device_state */
export const MLX5_DEVICE_STATE_UP = 1;
export const MLX5_DEVICE_STATE_INTERNAL_ERROR = 2;
/* enum mlx5_pci_status */
export const MLX5_PCI_STATUS_DISABLED = 0;
export const MLX5_PCI_STATUS_ENABLED = 1;
/* enum mlx5_cmdif_state */
export const MLX5_CMDIF_STATE_UNINITIALIZED = 0;
export const MLX5_CMDIF_STATE_UP = 1;
export const MLX5_CMDIF_STATE_DOWN = 2;
/* the allowed_opcode value meaning "any" */
export const CMD_ALLOWED_OPCODE_ALL = 0xffff;
/* cmd->mode */
export const CMD_MODE_POLLING = 0;
export const CMD_MODE_EVENTS = 1;
/* enum mlx5_dev_event (the device-level events of dev->priv.events) */
export const MLX5_DEV_EVENT_SYS_ERROR = 0x80;
/**
 * irqlab: the recovery notifier. Fired on dev->priv.events once a health
 * recovery has reloaded the device and before every EQ is polled, so that a
 * user of the RAM IMS store can restore its entries and EQ bindings.
 */
export const MLX5_DEV_EVENT_IRQLAB_RECOVERED = 0x1000;

/** A C call site for the mlx5_core_* printers: [__func__, __LINE__]. */
export type mlx5_site = readonly [fn: string, line: number];

/** struct mlx5_cmd_msg: the first 16 bytes inline, the rest in a mailbox chain. */
export class mlx5_cmd_msg {
  readonly first = { data: new Uint8Array(16) };
  next: mlx5_cmd_mailbox | null = null;
  constructor(public len: number) {}
}

/** struct mlx5_cmd_mailbox */
export interface mlx5_cmd_mailbox {
  buf: dma_pool_block;
  dma: number;
  next: mlx5_cmd_mailbox | null;
}

export type mlx5_cmd_cbk_t = (status: number, context: unknown) => void;

/** struct mlx5_cmd_work_ent */
export class mlx5_cmd_work_ent {
  idx = -22; // -EINVAL
  token = 0;
  op = 0;
  page_queue = false;
  polling = false;
  ret = 0;
  status = 0;
  /** MLX5_CMD_ENT_STATE_PENDING_COMP */
  pending_comp = false;
  refcnt = 1;
  /** Offset of the entry's struct mlx5_cmd_layout in the command page. */
  lay = -1;
  ts1 = 0;
  ts2 = 0;
  handling!: completion;
  slotted!: completion;
  done!: completion;
  work!: work_struct;
  cb_timeout_work!: delayed_work;
  constructor(
    readonly cmd: mlx5_cmd,
    readonly in_: mlx5_cmd_msg,
    readonly out: mlx5_cmd_msg,
    readonly uout: Uint8Array | null,
    readonly uout_size: number,
    readonly callback: mlx5_cmd_cbk_t | null,
    readonly context: unknown,
  ) {}
}

/** struct mlx5_cmd */
export class mlx5_cmd {
  cmd_alloc_buf: DmaCoherentBuffer | null = null;
  dma = 0;
  alloc_size = 0;
  checksum_disabled = 1;
  readonly alloc_lock = new spinlock_t("&cmd->alloc_lock");
  readonly token_lock = new spinlock_t("&cmd->token_lock");
  token = 0;
  wq: workqueue_struct | null = null;
  wq_name = "";
  mode = CMD_MODE_POLLING;
  allowed_opcode = CMD_ALLOWED_OPCODE_ALL;
  state = MLX5_CMDIF_STATE_UNINITIALIZED;
  readonly vars = {
    cmdif_rev: 0,
    log_sz: 0,
    log_stride: 0,
    max_reg_cmds: 0,
    bitmask: 0,
    sem: new semaphore(),
    pages_sem: new semaphore(),
  };
  readonly ent_arr: (mlx5_cmd_work_ent | null)[] = new Array<mlx5_cmd_work_ent | null>(32).fill(null);
  pool: dma_pool | null = null;
  nb: notifier_block | null = null;
}

/** struct mlx5_core_health */
export class mlx5_core_health {
  /** Offset of the health buffer in the init segment (health->health). */
  health = 0;
  health_counter = 0;
  timer!: timer_list;
  prev = 0;
  miss_counter = 0;
  synd = 0;
  fatal_error = 0;
  /** MLX5_DROP_HEALTH_WORK */
  drop_health_work = false;
  wq: workqueue_struct | null = null;
  fatal_report_work!: work_struct;
  report_work!: work_struct;
  fw_reporter: devlink_health_reporter | null = null;
  fw_fatal_reporter: devlink_health_reporter | null = null;
  /** irqlab: fatal reports handled, and EQEs found by the post-recovery EQ poll */
  fatal_reports = 0;
  recovered_eqes = 0;
}

/** struct mlx5_uars_page, reduced to the page the EQs ring. */
export interface mlx5_uars_page {
  index: number;
  map: number;
}

/**
 * irqlab's stand-in for the auxiliary drivers (mlx5e, mlx5_ib) that
 * mlx5_attach_device()/mlx5_detach_device() resume and suspend.
 */
export interface mlx5_irqlab_interface {
  name: string;
  attach(dev: mlx5_core_dev): Promise<number>;
  detach(dev: mlx5_core_dev, suspend: boolean): Promise<void>;
}

/** struct mlx5_priv */
export class mlx5_priv {
  readonly health = new mlx5_core_health();
  eq_table: mlx5_eq_table | null = null;
  irq_table: mlx5_irq_table | null = null;
  uar: mlx5_uars_page | null = null;
  /** dev->priv.events->nh: device events (SYS_ERROR, irqlab's RECOVERED). */
  readonly events = new atomic_notifier_head();
  numa_node = -1;
  sw_vhca_id = 0;
  /** irqlab: the RAM IMS store, once set up. */
  ims: mlx5_ims | null = null;
  readonly interfaces: mlx5_irqlab_interface[] = [];
}

/** struct mlx5_core_dev */
export class mlx5_core_dev {
  readonly device: pci_dev;
  iseg = 0;
  iseg_base = 0;
  bar_addr = 0;
  readonly cmd = new mlx5_cmd();
  readonly priv = new mlx5_priv();
  state = 0;
  /** MLX5_INTERFACE_STATE_UP and MLX5_BREAK_FW_WAIT of dev->intf_state */
  intf_state_up = false;
  break_fw_wait = false;
  readonly intf_state_mutex = new mutex("&dev->intf_state_mutex");
  pci_status = MLX5_PCI_STATUS_DISABLED;
  readonly pci_status_mutex = new mutex("&dev->pci_status_mutex");
  timeouts: number[] | null = null;
  readonly caps = { hca_cur: new Uint8Array(0x1000), hca_max: new Uint8Array(0x1000), embedded_cpu: 0 };
  issi = 0;
  board_id = "";
  /** The devlink instance lock (devl_lock()). */
  readonly devlink_lock = new mutex("&devlink->lock_key");
  /** irqlab statistics of the command interface. */
  readonly cmd_stats = { exec: 0, timeouts: 0, late: 0 };
  constructor(readonly pdev: pci_dev) {
    this.device = pdev;
  }
  /** For dma-debug reports (dma_device_like). */
  get init_name(): string {
    return this.pdev.dev_name;
  }
  get driver_name(): string {
    return DRIVER_NAME;
  }
}

const prefix = "%s:%d:(pid %d): ";

// drivers/net/ethernet/mellanox/mlx5/core/mlx5_core.h: mlx5_core_err()
export function mlx5_core_err(dev: mlx5_core_dev, at: mlx5_site, fmt: string, ...args: unknown[]): void {
  dev_err(dev.device, prefix + fmt, at[0], at[1], current().pid, ...args);
}

// mlx5_core.h: mlx5_core_warn()
export function mlx5_core_warn(dev: mlx5_core_dev, at: mlx5_site, fmt: string, ...args: unknown[]): void {
  dev_warn(dev.device, prefix + fmt, at[0], at[1], current().pid, ...args);
}

// mlx5_core.h: mlx5_core_info()
export function mlx5_core_info(dev: mlx5_core_dev, fmt: string, ...args: unknown[]): void {
  dev_info(dev.device, fmt, ...args);
}

// mlx5_core.h: mlx5_core_err_rl(), dev_err_ratelimited() per call site
export function mlx5_core_err_rl(dev: mlx5_core_dev, at: mlx5_site, fmt: string, ...args: unknown[]): void {
  const m = K.state("mlx5_ratelimit", () => new Map<string, ratelimit_state>());
  const key = `${at[0]}:${at[1]}`;
  let rs = m.get(key);
  if (!rs) {
    rs = new ratelimit_state();
    m.set(key, rs);
  }
  if (__ratelimit(rs, at[0])) mlx5_core_err(dev, at, fmt, ...args);
}

// mlx5_core.h: mlx5_core_dbg() -- compiled out as pr_debug() is in irqlab
export function mlx5_core_dbg(_dev: mlx5_core_dev, _fmt: string, ..._args: unknown[]): void {}

// mlx5_core.h: mlx5_log() -> mlx5_printk(): dev_printk_emit() at `level`
export function mlx5_log(dev: mlx5_core_dev, level: number, at: mlx5_site, fmt: string, ...args: unknown[]): void {
  const lvl = level >= 0 && level <= 7 ? level : 4;
  printk(KERN_SOH + String(lvl) + "%s %s: " + prefix + fmt, DRIVER_NAME, dev.device.dev_name, at[0], at[1], current().pid, ...args);
}

/* fw_rev_maj() / fw_rev_min() / fw_rev_sub() need MMIO: see main.ts */
