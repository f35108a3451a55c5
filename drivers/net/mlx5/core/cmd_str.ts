// SPDX-License-Identifier: GPL-2.0-only
// drivers/net/ethernet/mellanox/mlx5/core/cmd.c: the command interface's
// tables. mlx5_command_str() and mlx5_internal_err_ret_value() for the
// opcodes mlx5_ifc.h defines (the names the kernel prints) plus irqlab's IMS
// opcodes; outbox statuses and delivery statuses with their strings and
// errnos (cmd_status_str(), cmd_status_to_err(), deliv_status_to_err(),
// deliv_status_to_str()).

import { EAGAIN, EBADR, EBUSY, EFAULT, EINVAL, EIO, ENOLINK, ENOMEM, ENOMSG } from "../../../../lib/kernel/errno.ts";
import { mlx5_core_err, type mlx5_core_dev } from "./driver.ts";
import {
  MLX5_CMD_STAT_BAD_INP_LEN_ERR,
  MLX5_CMD_STAT_BAD_OP_ERR,
  MLX5_CMD_STAT_BAD_OUTP_LEN_ERR,
  MLX5_CMD_STAT_BAD_PARAM_ERR,
  MLX5_CMD_STAT_BAD_PKT_ERR,
  MLX5_CMD_STAT_BAD_QP_STATE_ERR,
  MLX5_CMD_STAT_BAD_RES_ERR,
  MLX5_CMD_STAT_BAD_RES_STATE_ERR,
  MLX5_CMD_STAT_BAD_SIZE_OUTS_CQES_ERR,
  MLX5_CMD_STAT_BAD_SYS_STATE_ERR,
  MLX5_CMD_STAT_INT_ERR,
  MLX5_CMD_STAT_IX_ERR,
  MLX5_CMD_STAT_LIM_ERR,
  MLX5_CMD_STAT_NO_RES_ERR,
  MLX5_CMD_STAT_NOT_READY,
  MLX5_CMD_STAT_OK,
  MLX5_CMD_STAT_RES_BUSY,
} from "./mlx5_ifc.ts";

/** MLX5_CMD_OP_* by number, as MLX5_COMMAND_STR_CASE() prints them. */
const NAMES: ReadonlyMap<number, string> = new Map([
  [0x100, "QUERY_HCA_CAP"],
  [0x101, "QUERY_ADAPTER"],
  [0x102, "INIT_HCA"],
  [0x103, "TEARDOWN_HCA"],
  [0x104, "ENABLE_HCA"],
  [0x105, "DISABLE_HCA"],
  [0x107, "QUERY_PAGES"],
  [0x108, "MANAGE_PAGES"],
  [0x109, "SET_HCA_CAP"],
  [0x10a, "QUERY_ISSI"],
  [0x10b, "SET_ISSI"],
  [0x10d, "SET_DRIVER_VERSION"],
  [0x200, "CREATE_MKEY"],
  [0x201, "QUERY_MKEY"],
  [0x202, "DESTROY_MKEY"],
  [0x203, "QUERY_SPECIAL_CONTEXTS"],
  [0x204, "PAGE_FAULT_RESUME"],
  [0x301, "CREATE_EQ"],
  [0x302, "DESTROY_EQ"],
  [0x303, "QUERY_EQ"],
  [0x304, "GEN_EQE"],
  [0x400, "CREATE_CQ"],
  [0x401, "DESTROY_CQ"],
  [0x402, "QUERY_CQ"],
  [0x403, "MODIFY_CQ"],
  [0x500, "CREATE_QP"],
  [0x501, "DESTROY_QP"],
  [0x800, "ALLOC_PD"],
  [0x801, "DEALLOC_PD"],
  [0x802, "ALLOC_UAR"],
  [0x803, "DEALLOC_UAR"],
  [0x804, "CONFIG_INT_MODERATION"],
  [0x805, "ACCESS_REG"],
  [0x80d, "NOP"],
  [0x900, "CREATE_TIR"],
  [0x904, "CREATE_SQ"],
  [0x906, "DESTROY_SQ"],
  [0x908, "CREATE_RQ"],
  [0x90a, "DESTROY_RQ"],
  [0xa00, "CREATE_GENERAL_OBJECT"],
  [0xa01, "MODIFY_GENERAL_OBJECT"],
  [0xa02, "QUERY_GENERAL_OBJECT"],
  [0xa03, "DESTROY_GENERAL_OBJECT"],
  // irqlab: the IMS opcodes of irqlab's device model
  [0xe00, "IRQLAB_QUERY_IMS_CAP"],
  [0xe01, "IRQLAB_INIT_IMS_STORE"],
  [0xe02, "IRQLAB_SET_IMS_ENTRY"],
  [0xe03, "IRQLAB_QUERY_IMS_ENTRY"],
  [0xe04, "IRQLAB_INVALIDATE_IMS_CACHE"],
  [0xe05, "IRQLAB_BIND_EQ_TO_IMS"],
]);

// cmd.c: mlx5_command_str()
export function mlx5_command_str(command: number): string {
  return NAMES.get(command) ?? "unknown command opcode";
}

/** Opcodes whose failure to execute is reported as success during a reset (teardown-type). */
const EMULATE_OK = new Set([0x103, 0x105, 0x108, 0x202, 0x302, 0x401, 0x501, 0x801, 0x803, 0x906, 0x90a, 0xa03, 0x204,
  // irqlab: writing or dropping an IMS entry is teardown-type; the device is being reset anyway
  0xe02, 0xe04]);
/** Opcodes aborted with MLX5_DRIVER_STATUS_ABORTED and -ENOLINK during a reset (create/query-type). */
const EMULATE_ABORT = new Set([0x100, 0x101, 0x102, 0x104, 0x107, 0x109, 0x10a, 0x10b, 0x200, 0x201, 0x203, 0x301, 0x303, 0x304, 0x400, 0x402, 0x403, 0x500, 0x800, 0x802, 0x804, 0x805, 0x80d, 0x900, 0x904, 0x908, 0xa00, 0xa01, 0xa02,
  // irqlab
  0xe00, 0xe01, 0xe03, 0xe05]);

// cmd.c: mlx5_internal_err_ret_value(): the status a command gets when it was never sent
export function mlx5_internal_err_ret_value(dev: mlx5_core_dev, op: number): { err: number; status: number; synd: number } {
  if (EMULATE_OK.has(op)) return { err: 0, status: 0, synd: 0 };
  if (EMULATE_ABORT.has(op)) return { err: -ENOLINK, status: 0xfe, synd: 0xbadd00de };
  mlx5_core_err(dev, ["mlx5_internal_err_ret_value", 492], "Unknown FW command (%d)\n", op);
  return { err: -EINVAL, status: 0, synd: 0 };
}

/* delivery status (status_own >> 1), MLX5_CMD_DELIVERY_STAT_* */
export const MLX5_CMD_DELIVERY_STAT_OK = 0x0;
export const MLX5_CMD_DELIVERY_STAT_SIGNAT_ERR = 0x1;
export const MLX5_CMD_DELIVERY_STAT_TOK_ERR = 0x2;
export const MLX5_CMD_DELIVERY_STAT_BAD_BLK_NUM_ERR = 0x3;
export const MLX5_CMD_DELIVERY_STAT_OUT_PTR_ALIGN_ERR = 0x4;
export const MLX5_CMD_DELIVERY_STAT_IN_PTR_ALIGN_ERR = 0x5;
export const MLX5_CMD_DELIVERY_STAT_FW_ERR = 0x6;
export const MLX5_CMD_DELIVERY_STAT_IN_LENGTH_ERR = 0x7;
export const MLX5_CMD_DELIVERY_STAT_OUT_LENGTH_ERR = 0x8;
export const MLX5_CMD_DELIVERY_STAT_RES_FLD_NOT_CLR_ERR = 0x9;
export const MLX5_CMD_DELIVERY_STAT_CMD_DESCR_ERR = 0x10;

export const MLX5_DRIVER_STATUS_ABORTED = 0xfe;
export const MLX5_DRIVER_SYND = 0xbadd00de;
// cmd.c: cmd_status_str()
export function cmd_status_str(status: number): string {
  switch (status) {
    case MLX5_CMD_STAT_OK:
      return "OK";
    case MLX5_CMD_STAT_INT_ERR:
      return "internal error";
    case MLX5_CMD_STAT_BAD_OP_ERR:
      return "bad operation";
    case MLX5_CMD_STAT_BAD_PARAM_ERR:
      return "bad parameter";
    case MLX5_CMD_STAT_BAD_SYS_STATE_ERR:
      return "bad system state";
    case MLX5_CMD_STAT_BAD_RES_ERR:
      return "bad resource";
    case MLX5_CMD_STAT_RES_BUSY:
      return "resource busy";
    case MLX5_CMD_STAT_NOT_READY:
      return "FW not ready";
    case MLX5_CMD_STAT_LIM_ERR:
      return "limits exceeded";
    case MLX5_CMD_STAT_BAD_RES_STATE_ERR:
      return "bad resource state";
    case MLX5_CMD_STAT_IX_ERR:
      return "bad index";
    case MLX5_CMD_STAT_NO_RES_ERR:
      return "no resources";
    case MLX5_CMD_STAT_BAD_INP_LEN_ERR:
      return "bad input length";
    case MLX5_CMD_STAT_BAD_OUTP_LEN_ERR:
      return "bad output length";
    case MLX5_CMD_STAT_BAD_QP_STATE_ERR:
      return "bad QP state";
    case MLX5_CMD_STAT_BAD_PKT_ERR:
      return "bad packet (discarded)";
    case MLX5_CMD_STAT_BAD_SIZE_OUTS_CQES_ERR:
      return "bad size too many outstanding CQEs";
    default:
      return "unknown status";
  }
}

// cmd.c: cmd_status_to_err()
export function cmd_status_to_err(status: number): number {
  switch (status) {
    case MLX5_CMD_STAT_OK:
      return 0;
    case MLX5_CMD_STAT_INT_ERR:
      return -EIO;
    case MLX5_CMD_STAT_BAD_OP_ERR:
      return -EINVAL;
    case MLX5_CMD_STAT_BAD_PARAM_ERR:
      return -EINVAL;
    case MLX5_CMD_STAT_BAD_SYS_STATE_ERR:
      return -EIO;
    case MLX5_CMD_STAT_BAD_RES_ERR:
      return -EINVAL;
    case MLX5_CMD_STAT_RES_BUSY:
      return -EBUSY;
    case MLX5_CMD_STAT_NOT_READY:
      return -EAGAIN;
    case MLX5_CMD_STAT_LIM_ERR:
      return -ENOMEM;
    case MLX5_CMD_STAT_BAD_RES_STATE_ERR:
      return -EINVAL;
    case MLX5_CMD_STAT_IX_ERR:
      return -EINVAL;
    case MLX5_CMD_STAT_NO_RES_ERR:
      return -EAGAIN;
    case MLX5_CMD_STAT_BAD_INP_LEN_ERR:
      return -EIO;
    case MLX5_CMD_STAT_BAD_OUTP_LEN_ERR:
      return -EIO;
    case MLX5_CMD_STAT_BAD_QP_STATE_ERR:
      return -EINVAL;
    case MLX5_CMD_STAT_BAD_PKT_ERR:
      return -EINVAL;
    case MLX5_CMD_STAT_BAD_SIZE_OUTS_CQES_ERR:
      return -EINVAL;
    default:
      return -EIO;
  }
}

// cmd.c: deliv_status_to_err()
export function deliv_status_to_err(status: number): number {
  switch (status) {
    case MLX5_CMD_DELIVERY_STAT_OK:
    case MLX5_DRIVER_STATUS_ABORTED:
      return 0;
    case MLX5_CMD_DELIVERY_STAT_SIGNAT_ERR:
    case MLX5_CMD_DELIVERY_STAT_TOK_ERR:
      return -EBADR;
    case MLX5_CMD_DELIVERY_STAT_BAD_BLK_NUM_ERR:
    case MLX5_CMD_DELIVERY_STAT_OUT_PTR_ALIGN_ERR:
    case MLX5_CMD_DELIVERY_STAT_IN_PTR_ALIGN_ERR:
      return -EFAULT; // Bad address
    case MLX5_CMD_DELIVERY_STAT_IN_LENGTH_ERR:
    case MLX5_CMD_DELIVERY_STAT_OUT_LENGTH_ERR:
    case MLX5_CMD_DELIVERY_STAT_CMD_DESCR_ERR:
    case MLX5_CMD_DELIVERY_STAT_RES_FLD_NOT_CLR_ERR:
      return -ENOMSG;
    case MLX5_CMD_DELIVERY_STAT_FW_ERR:
      return -EIO;
    default:
      return -EINVAL;
  }
}

// cmd.c: deliv_status_to_str()
export function deliv_status_to_str(status: number): string {
  switch (status) {
    case MLX5_CMD_DELIVERY_STAT_OK:
      return "no errors";
    case MLX5_CMD_DELIVERY_STAT_SIGNAT_ERR:
      return "signature error";
    case MLX5_CMD_DELIVERY_STAT_TOK_ERR:
      return "token error";
    case MLX5_CMD_DELIVERY_STAT_BAD_BLK_NUM_ERR:
      return "bad block number";
    case MLX5_CMD_DELIVERY_STAT_OUT_PTR_ALIGN_ERR:
      return "output pointer not aligned to block size";
    case MLX5_CMD_DELIVERY_STAT_IN_PTR_ALIGN_ERR:
      return "input pointer not aligned to block size";
    case MLX5_CMD_DELIVERY_STAT_FW_ERR:
      return "firmware internal error";
    case MLX5_CMD_DELIVERY_STAT_IN_LENGTH_ERR:
      return "command input length error";
    case MLX5_CMD_DELIVERY_STAT_OUT_LENGTH_ERR:
      return "command output length error";
    case MLX5_CMD_DELIVERY_STAT_RES_FLD_NOT_CLR_ERR:
      return "reserved fields not cleared";
    case MLX5_CMD_DELIVERY_STAT_CMD_DESCR_ERR:
      return "bad command descriptor type";
    default:
      return "unknown status code";
  }
}
