// SPDX-License-Identifier: GPL-2.0-only
// drivers/dma/idxd/submit.c, reduced: build a descriptor in the queue's
// ring and hand it to the queue's portal.

import { EAGAIN } from "../../../lib/kernel/errno.ts";
import { writeq } from "../../../lib/kernel/io.ts";
import { wmb } from "../../../lib/kernel/dma.ts";
import {
  DSA_COMPLETION_RECORD_SIZE,
  DSA_DESC_COMPLETION_ADDR,
  DSA_DESC_FLAGS_OPCODE,
  DSA_DESC_INT_HANDLE,
  DSA_DESC_SIZE,
  DSA_OPCODE_NOOP,
  IDXD_OP_FLAG_CRAV,
  IDXD_OP_FLAG_RCI,
  IDXD_OP_FLAG_RCR,
} from "./registers.ts";
import type { idxd_wq } from "./idxd.ts";

// drivers/dma/idxd/submit.c: idxd_submit_desc(); the descriptor asks for a
// completion record and a completion interrupt through the queue's IMS slot
export function idxd_submit_desc(wq: idxd_wq, opcode = DSA_OPCODE_NOOP): number {
  if (wq.head - wq.tail >= wq.size) return -EAGAIN;
  const i = wq.head % wq.size;
  const d = i * DSA_DESC_SIZE;
  wq.descs.zero(d, DSA_DESC_SIZE);
  wq.descs.set_le32(d + DSA_DESC_FLAGS_OPCODE, ((opcode << 24) | IDXD_OP_FLAG_CRAV | IDXD_OP_FLAG_RCR | IDXD_OP_FLAG_RCI) >>> 0);
  wq.descs.set_le64(d + DSA_DESC_COMPLETION_ADDR, BigInt(wq.comps.dma_handle + i * DSA_COMPLETION_RECORD_SIZE));
  wq.descs.set_le16(d + DSA_DESC_INT_HANDLE, wq.ie.int_handle);
  wq.comps.zero(i * DSA_COMPLETION_RECORD_SIZE, DSA_COMPLETION_RECORD_SIZE);
  wq.head++;
  // the descriptor is in memory before the device is told about it
  wmb();
  writeq(BigInt(wq.descs.dma_handle + d), wq.portal);
  return 0;
}
