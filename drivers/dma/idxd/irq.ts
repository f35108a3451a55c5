// SPDX-License-Identifier: GPL-2.0-only
// drivers/dma/idxd/irq.c, reduced: the completion interrupt of a work
// queue. Mainline runs it as a threaded handler (IRQF_ONESHOT, which the
// ONESHOT_SAFE IDXD chip drops); irqlab's small driver reaps in hardirq
// context, so an interrupt's callback trace is the chips' own.

import { smp_processor_id } from "../../../lib/kernel/context.ts";
import { IRQ_HANDLED, type irqreturn_t } from "../../../lib/irq/interrupt.ts";
import { DSA_COMP_NONE, DSA_COMP_STATUS_MASK, DSA_COMP_SUCCESS, DSA_COMPLETION_RECORD_SIZE } from "./registers.ts";
import type { idxd_wq } from "./idxd.ts";

// drivers/dma/idxd/irq.c: idxd_wq_thread() in hardirq context; reaps, in
// order, every descriptor whose completion record the device has written
export function idxd_wq_int_handler(_irq: number, dev_id: unknown): irqreturn_t {
  const wq = dev_id as idxd_wq;
  const ie = wq.ie;
  ie.count++;
  ie.cpus.push(smp_processor_id());
  let reaped = 0;
  while (wq.tail < wq.head) {
    const off = (wq.tail % wq.size) * DSA_COMPLETION_RECORD_SIZE;
    const status = wq.comps.u8(off) & DSA_COMP_STATUS_MASK;
    if (status === DSA_COMP_NONE) break;
    if (status === DSA_COMP_SUCCESS) wq.completed++;
    else wq.failed++;
    wq.comps.set_u8(off, DSA_COMP_NONE);
    wq.tail++;
    reaped++;
  }
  if (!reaped) ie.empty++;
  return IRQ_HANDLED;
}
