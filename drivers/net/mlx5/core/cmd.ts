// SPDX-License-Identifier: GPL-2.0-only
// drivers/net/ethernet/mellanox/mlx5/core/cmd.c: the command interface.
//
// A command is a work entry (struct mlx5_cmd_work_ent). mlx5_cmd_invoke()
// queues cmd_work_handler() on the single-threaded command workqueue (page
// commands run inline on the reserved last slot); the handler takes the slot
// semaphore (down_timeout(): -EBUSY after the command timeout), picks the
// lowest free slot, fills the struct mlx5_cmd_layout in the command page,
// and rings the doorbell. In polling mode (until the command EQ exists) it
// then polls status_own; in events mode the command EQ's interrupt calls
// mlx5_cmd_comp_handler() through cmd_comp_notifier(). wait_func() sleeps for
// the completion; after the command timeout it polls the command EQ once
// (mlx5_cmd_eq_recover()), waits 5 s more, then forces a completion with
// -ETIMEDOUT and leaves the slot owned by the firmware: only the real
// completion, if it ever arrives ("Command completion arrived after
// timeout"), frees it. Statuses become errnos in mlx5_cmd_check(); commands
// to a device in internal error are not sent and get emulated statuses.
//
// Execution notes: cond_resched() in the kernel's polling loops (polling
// mode, mlx5_cmd_flush()) is rendered by poll_relax(), a short busy-wait
// that parks the task every millisecond, so virtual time passes and the
// other tasks of the CPU (and the watchdog) run, as they would in Linux.
// The command message cache, debugfs, per-opcode statistics, throttling and
// async commands (mlx5_cmd_exec_cb()) are not rendered.

import { K } from "../../../../lib/kernel/kernel.ts";
import { EAGAIN, EBUSY, ECANCELED, EINVAL, EIO, ENOMEM, ENXIO, EREMOTEIO, ETIMEDOUT } from "../../../../lib/kernel/errno.ts";
import { complete, init_completion, wait_for_completion, wait_for_completion_timeout } from "../../../../lib/kernel/completion.ts";
import { cond_resched, sched_yield } from "../../../../lib/kernel/sched.ts";
import { jiffies, msecs_to_jiffies, time_before, ktime_get_ns } from "../../../../lib/kernel/jiffies.ts";
import { spin_lock, spin_lock_irqsave, spin_unlock, spin_unlock_irqrestore } from "../../../../lib/kernel/spinlock.ts";
import { site_of } from "../../../../lib/kernel/stacktrace.ts";
import { cancel_work_sync, INIT_DELAYED_WORK, INIT_WORK, queue_work } from "../../../../lib/kernel/workqueue.ts";
import { GFP_KERNEL, rmb, wmb } from "../../../../lib/kernel/dma.ts";
import { iowrite32be } from "../../../../lib/kernel/io.ts";
import { pci_channel_offline } from "./pci_compat.ts";
import {
  CMD_ALLOWED_OPCODE_ALL,
  CMD_MODE_EVENTS,
  CMD_MODE_POLLING,
  MLX5_CMDIF_STATE_UP,
  MLX5_DEVICE_STATE_INTERNAL_ERROR,
  mlx5_cmd_msg,
  mlx5_cmd_work_ent,
  mlx5_core_dbg,
  mlx5_core_err,
  mlx5_core_err_rl,
  mlx5_core_warn,
  type mlx5_cmd,
  type mlx5_cmd_cbk_t,
  type mlx5_core_dev,
} from "./driver.ts";
import { down, down_timeout, down_trylock, NOTIFY_DONE, NOTIFY_OK, up, type notifier_block } from "./klib.ts";
import {
  CMD_OWNER_HW,
  MLX5_CMD_STAT_NOT_READY,
  MLX5_CMD_STAT_OK,
  MLX5_EVENT_TYPE_CMD,
  MLX5_PCI_CMD_XPORT,
  MLX5_ST_SZ_BYTES,
  MLX5_TRIGGERED_CMD_COMP,
  MLX5_GET,
  MLX5_SET,
  mbox_in,
  mbox_out,
  mlx5_cmd_layout as L,
  mlx5_eqe,
  mlx5_init_seg,
  type ifc_layout,
} from "./mlx5_ifc.ts";
import { cmd_status_str, cmd_status_to_err, deliv_status_to_err, deliv_status_to_str, mlx5_command_str, mlx5_internal_err_ret_value } from "./cmd_str.ts";
import { get_inst, mlx5_alloc_cmd_msg, mlx5_copy_from_msg, mlx5_copy_to_msg, mlx5_free_cmd_msg, page, set_signature, verify_signature } from "./cmd_msg.ts";
import { mlx5_tout_ms } from "./tout.ts";
import { mlx5_cmd_eq_recover, mlx5_eq_notifier_register, mlx5_eq_notifier_unregister, mlx5_eq_synchronize_cmd_irq } from "./eq.ts";


const MLX5_CMD_TIMEOUT_RECOVER_MSEC = 5 * 1000;

function in_to_opcode(inb: Uint8Array): number {
  return MLX5_GET(mbox_in, inb, "opcode");
}

// cmd.c: cmd_alloc_ent()
function cmd_alloc_ent(cmd: mlx5_cmd, inm: mlx5_cmd_msg, out: mlx5_cmd_msg, uout: Uint8Array | null, uout_size: number, cbk: mlx5_cmd_cbk_t | null, context: unknown, page_queue: boolean): mlx5_cmd_work_ent {
  const ent = new mlx5_cmd_work_ent(cmd, inm, out, uout, uout_size, cbk, context);
  ent.page_queue = page_queue;
  ent.op = in_to_opcode(inm.first.data);
  ent.refcnt = 1;
  return ent;
}

// cmd.c: alloc_token()
function alloc_token(cmd: mlx5_cmd): number {
  spin_lock(cmd.token_lock, 0, alloc_token_ip);
  cmd.token = (cmd.token + 1) & 0xff;
  if (cmd.token === 0) cmd.token++;
  const token = cmd.token;
  spin_unlock(cmd.token_lock);
  return token;
}
const alloc_token_ip = site_of(alloc_token);

// cmd.c: cmd_alloc_index(): the lowest free regular slot
function cmd_alloc_index(cmd: mlx5_cmd, ent: mlx5_cmd_work_ent): number {
  const flags = spin_lock_irqsave(cmd.alloc_lock, 0, cmd_alloc_index_ip);
  let ret = 0;
  while (ret < cmd.vars.max_reg_cmds && !((cmd.vars.bitmask >>> ret) & 1)) ret++;
  if (ret < cmd.vars.max_reg_cmds) {
    cmd.vars.bitmask = (cmd.vars.bitmask & ~(1 << ret)) >>> 0;
    ent.idx = ret;
    cmd.ent_arr[ent.idx] = ent;
  }
  spin_unlock_irqrestore(cmd.alloc_lock, flags);
  return ret < cmd.vars.max_reg_cmds ? ret : -ENOMEM;
}
const cmd_alloc_index_ip = site_of(cmd_alloc_index);

// cmd.c: cmd_free_index(); alloc_lock held
function cmd_free_index(cmd: mlx5_cmd, idx: number): void {
  cmd.vars.bitmask = (cmd.vars.bitmask | (1 << idx)) >>> 0;
}

// cmd.c: cmd_ent_get()
function cmd_ent_get(ent: mlx5_cmd_work_ent): void {
  ent.refcnt++;
}

// cmd.c: cmd_ent_put(): the last reference frees the slot and ups its semaphore
function cmd_ent_put(ent: mlx5_cmd_work_ent): void {
  const cmd = ent.cmd;
  const flags = spin_lock_irqsave(cmd.alloc_lock, 0, cmd_ent_put_ip);
  if (--ent.refcnt === 0 && ent.idx >= 0) {
    cmd_free_index(cmd, ent.idx);
    up(ent.page_queue ? cmd.vars.pages_sem : cmd.vars.sem);
  }
  spin_unlock_irqrestore(cmd.alloc_lock, flags);
}
const cmd_ent_put_ip = site_of(cmd_ent_put);

/**
 * irqlab: one turn of a kernel polling loop that calls cond_resched(). The
 * CPU stays busy (a short spin, growing with the time already spent, at most
 * 1 ms) and the task yields at least every millisecond.
 */
export async function poll_relax(st: { start: number; last: number }): Promise<void> {
  const p = cond_resched();
  if (p) {
    await p;
    st.last = K.sim.now;
    // No return here: the poll itself still costs CPU time. Under a strict
    // priority strategy (PCT) the same task is picked again at once, and a
    // loop that only yielded would never move the clock to its deadline.
  }
  const now = K.sim.now;
  K.sim.spinFor(Math.min(1e6, Math.max(500, Math.floor((now - st.start) / 16))), "cond_resched() poll");
  if (K.sim.now - st.last >= 1e6) {
    await sched_yield();
    st.last = K.sim.now;
  }
}

// cmd.c: poll_timeout(): poll status_own until the firmware hands the entry back
async function poll_timeout(ent: mlx5_cmd_work_ent): Promise<void> {
  const dev = cmd_to_dev(ent.cmd);
  const cmd_to_ms = mlx5_tout_ms(dev, "CMD");
  const poll_end = jiffies() + msecs_to_jiffies(cmd_to_ms + 1000);
  const st = { start: K.sim.now, last: K.sim.now };
  do {
    const own = page(ent.cmd).u8(ent.lay + L.status_own);
    if (!(own & CMD_OWNER_HW)) {
      ent.ret = 0;
      return;
    }
    await poll_relax(st);
  } while (time_before(jiffies(), poll_end));
  ent.ret = -ETIMEDOUT;
}

/** container_of(cmd, struct mlx5_core_dev, cmd) */
const cmdOwner = new WeakMap<mlx5_cmd, mlx5_core_dev>();
function cmd_to_dev(cmd: mlx5_cmd): mlx5_core_dev {
  return cmdOwner.get(cmd)!;
}

/** irqlab: record the device a struct mlx5_cmd is embedded in (mlx5_cmd_init()). */
export function cmd_set_owner(cmd: mlx5_cmd, dev: mlx5_core_dev): void {
  cmdOwner.set(cmd, dev);
}

// cmd.c: mlx5_cmd_out_err()
export function mlx5_cmd_out_err(dev: mlx5_core_dev, opcode: number, op_mod: number, out: Uint8Array): void {
  const syndrome = MLX5_GET(mbox_out, out, "syndrome");
  const status = MLX5_GET(mbox_out, out, "status");
  mlx5_core_err_rl(dev, ["mlx5_cmd_out_err", 817], "%s(0x%x) op_mod(0x%x) failed, status %s(0x%x), syndrome (0x%x), err(%d)\n", mlx5_command_str(opcode), opcode, op_mod, cmd_status_str(status), status, syndrome, cmd_status_to_err(status));
}

// cmd.c: cmd_status_print()
function cmd_status_print(dev: mlx5_core_dev, inb: Uint8Array, out: Uint8Array): void {
  const opcode = in_to_opcode(inb);
  const op_mod = MLX5_GET(mbox_in, inb, "op_mod");
  const uid = MLX5_GET(mbox_in, inb, "uid");
  const status = MLX5_GET(mbox_out, out, "status");
  if (!uid && status !== MLX5_CMD_STAT_NOT_READY) mlx5_cmd_out_err(dev, opcode, op_mod, out);
}

// cmd.c: mlx5_cmd_check()
export function mlx5_cmd_check(dev: mlx5_core_dev, err: number, inb: Uint8Array, out: Uint8Array): number {
  // aborted due to PCI error or via reset flow mlx5_cmd_trigger_completions()
  if (err === -ENXIO) {
    const opcode = in_to_opcode(inb);
    const r = mlx5_internal_err_ret_value(dev, opcode);
    MLX5_SET(mbox_out, out, "status", r.status);
    MLX5_SET(mbox_out, out, "syndrome", r.synd);
    err = r.err;
    if (!err) return 0;
  }
  // driver or FW delivery error
  if (err !== -EREMOTEIO && err) return err;
  // check outbox status
  err = cmd_status_to_err(MLX5_GET(mbox_out, out, "status"));
  if (err) cmd_status_print(dev, inb, out);
  return err;
}

// cmd.c: opcode_allowed()
function opcode_allowed(cmd: mlx5_cmd, opcode: number): boolean {
  if (cmd.allowed_opcode === CMD_ALLOWED_OPCODE_ALL) return true;
  return cmd.allowed_opcode === opcode;
}

// cmd.c: mlx5_cmd_is_down()
export function mlx5_cmd_is_down(dev: mlx5_core_dev): boolean {
  return pci_channel_offline(dev.pdev) || dev.cmd.state !== MLX5_CMDIF_STATE_UP || dev.state === MLX5_DEVICE_STATE_INTERNAL_ERROR;
}

// cmd.c: cmd_work_handler(); the command workqueue (or the caller, for page commands)
async function cmd_work_handler(ent: mlx5_cmd_work_ent): Promise<void> {
  const cmd = ent.cmd;
  const poll_cmd = ent.polling;
  complete(ent.handling);
  const dev = cmd_to_dev(cmd);
  const timeout = msecs_to_jiffies(mlx5_tout_ms(dev, "CMD"));
  if (!ent.page_queue) {
    if (await down_timeout(cmd.vars.sem, timeout)) {
      mlx5_core_warn(dev, ["cmd_work_handler", 1004], "%s(0x%x) timed out while waiting for a slot.\n", mlx5_command_str(ent.op), ent.op);
      ent.ret = -EBUSY;
      complete(ent.done);
      complete(ent.slotted);
      return;
    }
    const alloc_ret = cmd_alloc_index(cmd, ent);
    if (alloc_ret < 0) {
      mlx5_core_err_rl(dev, ["cmd_work_handler", 1020], "failed to allocate command entry\n");
      ent.ret = -EAGAIN;
      complete(ent.done);
      up(cmd.vars.sem);
      complete(ent.slotted);
      return;
    }
  } else {
    await down(cmd.vars.pages_sem);
    ent.idx = cmd.vars.max_reg_cmds;
    const flags = spin_lock_irqsave(cmd.alloc_lock);
    cmd.vars.bitmask = (cmd.vars.bitmask & ~(1 << ent.idx)) >>> 0;
    cmd.ent_arr[ent.idx] = ent;
    spin_unlock_irqrestore(cmd.alloc_lock, flags);
  }
  complete(ent.slotted);

  const p = page(cmd);
  const lay = get_inst(cmd, ent.idx);
  ent.lay = lay;
  p.zero(lay, L.size);
  p.write(lay + L.in, ent.in_.first.data);
  if (ent.in_.next) p.set_be64(lay + L.in_ptr, BigInt(ent.in_.next.dma));
  p.set_be32(lay + L.inlen, ent.in_.len);
  if (ent.out.next) p.set_be64(lay + L.out_ptr, BigInt(ent.out.next.dma));
  p.set_be32(lay + L.outlen, ent.out.len);
  p.set_u8(lay + L.type, MLX5_PCI_CMD_XPORT);
  p.set_u8(lay + L.token, ent.token);
  p.set_u8(lay + L.status_own, CMD_OWNER_HW);
  set_signature(ent, !cmd.checksum_disabled);
  ent.ts1 = ktime_get_ns();
  const cmd_mode = cmd.mode;
  ent.pending_comp = true;

  cmd_ent_get(ent); // for the _real_ FW event on completion
  // Skip sending command to fw if internal error
  if (mlx5_cmd_is_down(dev) || !opcode_allowed(dev.cmd, ent.op)) {
    ent.ret = -ENXIO;
    mlx5_cmd_comp_handler(dev, 1n << BigInt(ent.idx), true);
    return;
  }
  // ring doorbell after the descriptor is valid
  mlx5_core_dbg(dev, "writing 0x%x to command doorbell\n", 1 << ent.idx);
  wmb();
  iowrite32be((1 << ent.idx) >>> 0, dev.iseg + mlx5_init_seg.cmd_dbell);
  // if not in polling don't use ent after this point
  if (cmd_mode === CMD_MODE_POLLING || poll_cmd) {
    await poll_timeout(ent);
    // make sure we read the descriptor after ownership is SW
    rmb();
    mlx5_cmd_comp_handler(dev, 1n << BigInt(ent.idx), ent.ret === -ETIMEDOUT);
  }
}

// cmd.c: wait_func_handle_exec_timeout(): poll the command EQ, wait 5 s more, then force a timeout
async function wait_func_handle_exec_timeout(dev: mlx5_core_dev, ent: mlx5_cmd_work_ent): Promise<void> {
  const timeout = msecs_to_jiffies(MLX5_CMD_TIMEOUT_RECOVER_MSEC);
  mlx5_cmd_eq_recover(dev);
  // Re-wait on the ent->done after executing the recovery flow. If the
  // recovery flow (or any other recovery flow running simultaneously) has
  // recovered an EQE, it should cause the entry to be completed by the
  // command interface.
  if (await wait_for_completion_timeout(ent.done, timeout)) {
    mlx5_core_warn(dev, ["wait_func_handle_exec_timeout", 1116], "cmd[%d]: %s(0x%x) recovered after timeout\n", ent.idx, mlx5_command_str(ent.op), ent.op);
    return;
  }
  mlx5_core_warn(dev, ["wait_func_handle_exec_timeout", 1121], "cmd[%d]: %s(0x%x) No done completion\n", ent.idx, mlx5_command_str(ent.op), ent.op);
  ent.ret = -ETIMEDOUT;
  mlx5_cmd_comp_handler(dev, 1n << BigInt(ent.idx), true);
}

// cmd.c: wait_func()
async function wait_func(dev: mlx5_core_dev, ent: mlx5_cmd_work_ent): Promise<number> {
  const timeout = msecs_to_jiffies(mlx5_tout_ms(dev, "CMD"));
  const cmd = dev.cmd;
  if (!(await wait_for_completion_timeout(ent.handling, timeout)) && (await cancel_work_sync(ent.work))) {
    ent.ret = -ECANCELED;
  } else {
    await wait_for_completion(ent.slotted);
    if (cmd.mode === CMD_MODE_POLLING || ent.polling) await wait_for_completion(ent.done);
    else if (!(await wait_for_completion_timeout(ent.done, timeout))) await wait_func_handle_exec_timeout(dev, ent);
  }
  const err = ent.ret;
  if (err === -ETIMEDOUT) {
    dev.cmd_stats.timeouts++;
    mlx5_core_warn(dev, ["wait_func", 1145], "%s(0x%x) timeout. Will cause a leak of a command resource\n", mlx5_command_str(ent.op), ent.op);
  } else if (err === -ECANCELED) {
    mlx5_core_warn(dev, ["wait_func", 1148], "%s(0x%x) canceled on out of queue timeout.\n", mlx5_command_str(ent.op), ent.op);
  } else if (err === -EBUSY) {
    mlx5_core_warn(dev, ["wait_func", 1151], "%s(0x%x) timeout while waiting for command semaphore.\n", mlx5_command_str(ent.op), ent.op);
  }
  mlx5_core_dbg(dev, "err %d, delivery status %s(%d)\n", err, deliv_status_to_str(ent.status), ent.status);
  return err;
}

// cmd.c: mlx5_cmd_invoke(): < 0 driver error, > 0 delivery status, 0 executed by FW
async function mlx5_cmd_invoke(dev: mlx5_core_dev, inm: mlx5_cmd_msg, out: mlx5_cmd_msg, uout: Uint8Array | null, uout_size: number, callback: mlx5_cmd_cbk_t | null, context: unknown, page_queue: boolean, token: number, force_polling: boolean): Promise<number> {
  const cmd = dev.cmd;
  if (callback && page_queue) return -EINVAL;
  const ent = cmd_alloc_ent(cmd, inm, out, uout, uout_size, callback, context, page_queue);
  ent.token = token;
  ent.polling = force_polling;
  ent.handling = init_completion("&ent->handling");
  ent.slotted = init_completion("&ent->slotted");
  ent.done = init_completion("&ent->done");
  // container_of(work, struct mlx5_cmd_work_ent, work): the closure holds ent
  ent.cb_timeout_work = INIT_DELAYED_WORK(() => undefined);
  ent.work = INIT_WORK(() => cmd_work_handler(ent));
  if (page_queue) {
    await cmd_work_handler(ent);
  } else if (!queue_work(cmd.wq!, ent.work)) {
    mlx5_core_warn(dev, ["mlx5_cmd_invoke", 1213], "failed to queue work\n");
    cmd_ent_put(ent);
    return -114; // -EALREADY
  }
  dev.cmd_stats.exec++;
  const err = await wait_func(dev, ent);
  const status = ent.status;
  cmd_ent_put(ent);
  return err || status;
}

// cmd.c: mlx5_cmd_allowed_opcode(): take every slot, change, give them back
export async function mlx5_cmd_allowed_opcode(dev: mlx5_core_dev, opcode: number): Promise<void> {
  const cmd = dev.cmd;
  for (let i = 0; i < cmd.vars.max_reg_cmds; i++) await down(cmd.vars.sem);
  await down(cmd.vars.pages_sem);
  cmd.allowed_opcode = opcode;
  up(cmd.vars.pages_sem);
  for (let i = 0; i < cmd.vars.max_reg_cmds; i++) up(cmd.vars.sem);
}

// cmd.c: mlx5_cmd_change_mod()
async function mlx5_cmd_change_mod(dev: mlx5_core_dev, mode: number): Promise<void> {
  const cmd = dev.cmd;
  for (let i = 0; i < cmd.vars.max_reg_cmds; i++) await down(cmd.vars.sem);
  await down(cmd.vars.pages_sem);
  cmd.mode = mode;
  up(cmd.vars.pages_sem);
  for (let i = 0; i < cmd.vars.max_reg_cmds; i++) up(cmd.vars.sem);
}

// cmd.c: cmd_comp_notifier(); the command EQ's interrupt handler
function cmd_comp_notifier(dev: mlx5_core_dev, data: unknown): number {
  if (dev.state === MLX5_DEVICE_STATE_INTERNAL_ERROR) return NOTIFY_DONE;
  const eqe = data as { be32(off: number): number };
  mlx5_cmd_comp_handler(dev, BigInt(eqe.be32(mlx5_eqe.cmd_vector)), false);
  return NOTIFY_OK;
}

// cmd.c: mlx5_cmd_use_events()
export async function mlx5_cmd_use_events(dev: mlx5_core_dev): Promise<void> {
  const nb: notifier_block & { event_type: number } = { notifier_call: (_nb, _type, data) => cmd_comp_notifier(dev, data), event_type: MLX5_EVENT_TYPE_CMD };
  dev.cmd.nb = nb;
  mlx5_eq_notifier_register(dev, nb);
  await mlx5_cmd_change_mod(dev, CMD_MODE_EVENTS);
}

// cmd.c: mlx5_cmd_use_polling()
export async function mlx5_cmd_use_polling(dev: mlx5_core_dev): Promise<void> {
  await mlx5_cmd_change_mod(dev, CMD_MODE_POLLING);
  if (dev.cmd.nb) mlx5_eq_notifier_unregister(dev, dev.cmd.nb as notifier_block & { event_type: number });
}

// cmd.c: mlx5_cmd_comp_handler(); any context (hardirq for EQ completions)
export function mlx5_cmd_comp_handler(dev: mlx5_core_dev, vec: bigint, forced: boolean): void {
  const cmd = dev.cmd;
  // there can be at most 32 command queues
  const vector = Number(vec & 0xffffffffn);
  for (let i = 0; i < 1 << cmd.vars.log_sz; i++) {
    if (!((vector >>> i) & 1)) continue;
    const ent = cmd.ent_arr[i];
    if (!ent || ent.refcnt <= 0) continue; // irqlab: the kernel would read freed memory here
    // if we already completed the command, ignore it
    if (!ent.pending_comp) {
      // only real completion can free the cmd slot
      if (!forced) {
        dev.cmd_stats.late++;
        mlx5_core_err(dev, ["mlx5_cmd_comp_handler", 1648], "Command completion arrived after timeout (entry idx = %d).\n", ent.idx);
        cmd_ent_put(ent);
      }
      continue;
    }
    ent.pending_comp = false;
    if (!forced || mlx5_cmd_is_down(dev) || !opcode_allowed(cmd, ent.op)) cmd_ent_put(ent);
    ent.ts2 = ktime_get_ns();
    ent.out.first.data.set(page(cmd).read(ent.lay + L.out, 16));
    if (vec & MLX5_TRIGGERED_CMD_COMP) ent.ret = -ENXIO;
    if (!ent.ret) {
      // Command completed by FW
      if (!cmd.checksum_disabled) ent.ret = verify_signature(ent);
      ent.status = page(cmd).u8(ent.lay + L.status_own) >> 1;
      mlx5_core_dbg(dev, "command completed. ret 0x%x, delivery status %s(0x%x)\n", ent.ret, deliv_status_to_str(ent.status), ent.status);
    }
    // release wait_func() so mlx5_cmd_invoke() can make the final ent_put()
    complete(ent.done);
  }
}

// cmd.c: MLX5_CMD_MASK: the regular slots and the page slot
export function MLX5_CMD_MASK(cmd: mlx5_cmd): number {
  const n = cmd.vars.max_reg_cmds + 1;
  return n >= 32 ? 0xffffffff : ((1 << n) - 1) >>> 0;
}

// cmd.c: mlx5_cmd_trigger_completions(): force-complete every busy slot with -ENXIO
async function mlx5_cmd_trigger_completions(dev: mlx5_core_dev): Promise<void> {
  const cmd = dev.cmd;
  // wait for pending handlers to complete
  await mlx5_eq_synchronize_cmd_irq(dev);
  const flags = spin_lock_irqsave(cmd.alloc_lock);
  let vector = BigInt((~cmd.vars.bitmask & MLX5_CMD_MASK(cmd)) >>> 0);
  if (!vector) {
    spin_unlock_irqrestore(cmd.alloc_lock, flags);
    return;
  }
  const bitmask = Number(vector);
  const taken: mlx5_cmd_work_ent[] = [];
  // we must increment the allocated entries refcount before triggering the
  // completions to guarantee pending commands will not get freed in the
  // meanwhile; for that reason it also has to be done inside the alloc_lock
  for (let i = 0; i < 1 << cmd.vars.log_sz; i++) {
    if ((bitmask >>> i) & 1 && cmd.ent_arr[i]) {
      cmd_ent_get(cmd.ent_arr[i]!);
      taken.push(cmd.ent_arr[i]!);
    }
  }
  vector |= MLX5_TRIGGERED_CMD_COMP;
  spin_unlock_irqrestore(cmd.alloc_lock, flags);
  mlx5_core_dbg(dev, "vector 0x%llx\n", vector);
  mlx5_cmd_comp_handler(dev, vector, true);
  for (const ent of taken) cmd_ent_put(ent);
}

// cmd.c: mlx5_cmd_flush(): take every slot, forcing completions of the busy ones
export async function mlx5_cmd_flush(dev: mlx5_core_dev): Promise<void> {
  const cmd = dev.cmd;
  const st = { start: K.sim.now, last: K.sim.now };
  for (let i = 0; i < cmd.vars.max_reg_cmds; i++) {
    while (down_trylock(cmd.vars.sem)) {
      await mlx5_cmd_trigger_completions(dev);
      await poll_relax(st);
    }
  }
  while (down_trylock(cmd.vars.pages_sem)) {
    await mlx5_cmd_trigger_completions(dev);
    await poll_relax(st);
  }
  // Unlock cmdif
  up(cmd.vars.pages_sem);
  for (let i = 0; i < cmd.vars.max_reg_cmds; i++) up(cmd.vars.sem);
}

// cmd.c: is_manage_pages()
function is_manage_pages(inb: Uint8Array): boolean {
  return in_to_opcode(inb) === 0x108;
}

// cmd.c: cmd_exec()
async function cmd_exec(dev: mlx5_core_dev, inb: Uint8Array, in_size: number, out: Uint8Array, out_size: number, callback: mlx5_cmd_cbk_t | null, context: unknown, force_polling: boolean): Promise<number> {
  const opcode = in_to_opcode(inb);
  if (mlx5_cmd_is_down(dev) || !opcode_allowed(dev.cmd, opcode)) return -ENXIO;
  const pages_queue = is_manage_pages(inb);
  const gfp = GFP_KERNEL;
  const inm = mlx5_alloc_cmd_msg(dev, gfp, in_size, 0);
  if (typeof inm === "number") return inm;
  const token = alloc_token(dev.cmd);
  let err = mlx5_copy_to_msg(inm, inb, in_size, token);
  if (err) {
    mlx5_core_warn(dev, ["cmd_exec", 1881], "err %d\n", err);
    mlx5_free_cmd_msg(dev, inm);
    return err;
  }
  const outm = mlx5_alloc_cmd_msg(dev, gfp, out_size, token);
  if (typeof outm === "number") {
    mlx5_free_cmd_msg(dev, inm);
    return outm;
  }
  err = await mlx5_cmd_invoke(dev, inm, outm, out, out_size, callback, context, pages_queue, token, force_polling);
  if (err > 0) err = deliv_status_to_err(err); // Failed in FW, command didn't execute
  if (!err) err = mlx5_copy_from_msg(out, outm, out_size); // command completed by FW
  mlx5_free_cmd_msg(dev, outm);
  mlx5_free_cmd_msg(dev, inm);
  return err;
}

// cmd.c: cmd_status_err(): preserve -EREMOTEIO for outbox.status != OK
function cmd_status_err(dev: mlx5_core_dev, err: number, opcode: number, op_mod: number, out: Uint8Array): number {
  const status = MLX5_GET(mbox_out, out, "status");
  if (err === -EREMOTEIO) err = -EIO; // -EREMOTEIO is preserved
  if (!err && status !== MLX5_CMD_STAT_OK) err = -EREMOTEIO;
  void dev;
  void opcode;
  void op_mod;
  return err;
}

// cmd.c: mlx5_cmd_do(): -EREMOTEIO when the firmware executed the command with a bad status
export async function mlx5_cmd_do(dev: mlx5_core_dev, inb: Uint8Array, in_size: number, out: Uint8Array, out_size: number): Promise<number> {
  const err = await cmd_exec(dev, inb, in_size, out, out_size, null, null, false);
  const op_mod = MLX5_GET(mbox_in, inb, "op_mod");
  const opcode = in_to_opcode(inb);
  return cmd_status_err(dev, err, opcode, op_mod, out);
}

// cmd.c: mlx5_cmd_exec(): 0 when the firmware executed the command with status OK
export async function mlx5_cmd_exec(dev: mlx5_core_dev, inb: Uint8Array, in_size: number, out: Uint8Array, out_size: number): Promise<number> {
  const err = await mlx5_cmd_do(dev, inb, in_size, out, out_size);
  return mlx5_cmd_check(dev, err, inb, out);
}

// cmd.c: mlx5_cmd_exec_polling(): poll for the completion even in events mode
export async function mlx5_cmd_exec_polling(dev: mlx5_core_dev, inb: Uint8Array, in_size: number, out: Uint8Array, out_size: number): Promise<number> {
  let err = await cmd_exec(dev, inb, in_size, out, out_size, null, null, true);
  const op_mod = MLX5_GET(mbox_in, inb, "op_mod");
  const opcode = in_to_opcode(inb);
  err = cmd_status_err(dev, err, opcode, op_mod, out);
  return mlx5_cmd_check(dev, err, inb, out);
}

/** mlx5_cmd_exec_inout(dev, ifc_cmd, in, out) */
export function mlx5_cmd_exec_inout(dev: mlx5_core_dev, in_t: ifc_layout, inb: Uint8Array, out_t: ifc_layout, out: Uint8Array): Promise<number> {
  return mlx5_cmd_exec(dev, inb, MLX5_ST_SZ_BYTES(in_t), out, MLX5_ST_SZ_BYTES(out_t));
}

/** mlx5_cmd_exec_in(dev, ifc_cmd, in): the output is a local buffer */
export function mlx5_cmd_exec_in(dev: mlx5_core_dev, in_t: ifc_layout, inb: Uint8Array, out_t: ifc_layout): Promise<number> {
  const out = new Uint8Array(MLX5_ST_SZ_BYTES(out_t));
  return mlx5_cmd_exec(dev, inb, MLX5_ST_SZ_BYTES(in_t), out, out.length);
}

/** irqlab: the slots the driver considers busy (not free in vars.bitmask). */
export function mlx5_cmd_busy_slots(dev: mlx5_core_dev): number[] {
  const cmd = dev.cmd;
  const r: number[] = [];
  for (let i = 0; i <= cmd.vars.max_reg_cmds; i++) if (!((cmd.vars.bitmask >>> i) & 1)) r.push(i);
  return r;
}

