// SPDX-License-Identifier: GPL-2.0-only
// The acquire site ("at:") lockdep prints for desc->lock taken by the flow
// handlers: the function that called raw_spin_lock(), as _RET_IP_ names it in
// Linux (handle_edge_irq for its guard, handle_irq_event for the re-lock
// after the actions). A chip callback that may sleep under desc->lock makes
// the kernel print the held locks.

import { expect } from "chai";
import { might_sleep } from "../../../lib/kernel/sched.ts";
import { msleep } from "../../../lib/kernel/delay.ts";
import { request_irq } from "../../../lib/irq/manage.ts";
import { IRQ_HANDLED } from "../../../lib/irq/interrupt.ts";
import { handle_edge_irq, handle_fasteoi_irq, handle_level_irq } from "../../../lib/irq/flow.ts";
import type { irq_flow_handler_t } from "../../../lib/irq/irqdesc.ts";
import { irq_line, machine, rec_chip, setup_irq, type ChipCb } from "./fixture.ts";
import { dmesgLines } from "../../harness.ts";

const cases: { flow: irq_flow_handler_t; cb: ChipCb; cbs: ChipCb[]; at: string }[] = [
  { flow: handle_edge_irq, cb: "irq_ack", cbs: ["irq_ack", "irq_mask", "irq_unmask"], at: "handle_edge_irq" },
  { flow: handle_level_irq, cb: "irq_mask", cbs: ["irq_ack", "irq_mask", "irq_unmask"], at: "handle_level_irq" },
  { flow: handle_fasteoi_irq, cb: "irq_eoi", cbs: ["irq_eoi", "irq_mask", "irq_unmask"], at: "handle_irq_event" },
];

describe("lib/irq/flow: lockdep's acquire site of desc->lock", () => {
  for (const c of cases) {
    it(`names ${c.at} as the site of desc->lock held around ${c.cb} of ${c.flow.name}`, async () => {
      const m = await machine();
      m.expectSplat(/sleeping function called from invalid context/);
      await m.run(async () => {
        const { irq, desc } = setup_irq(rec_chip([], { cbs: c.cbs, impl: { [c.cb]: () => might_sleep() } }), c.flow);
        expect(await request_irq(irq, () => IRQ_HANDLED, 0, "site", null)).to.equal(0);
        irq_line(desc).raise(0);
        await msleep(1);
      });
      const held = dmesgLines(m).filter((l) => l.includes("(&irq_desc_lock_class)"));
      expect(held.length, dmesgLines(m).join("\n")).to.equal(1);
      expect(held[0]).to.match(new RegExp(`, at: ${c.at}$`));
    });
  }
});
