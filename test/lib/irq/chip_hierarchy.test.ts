// SPDX-License-Identifier: GPL-2.0-only
// genirq-A.md A31-A33: the CONFIG_IRQ_DOMAIN_HIERARCHY part of
// kernel/irq/chip.c (lib/irq/chip_hierarchy.ts): the *_parent forwards and
// their fallbacks, irq_chip_retrigger_hierarchy(), irq_chip_compose_msi_msg()
// and irq_chip_pm_get().
import { expect } from "chai";
import {
  __irq_disable,
  irq_chip_ack_parent,
  irq_chip_compose_msi_msg,
  irq_chip_disable_parent,
  irq_chip_enable_parent,
  irq_chip_eoi_parent,
  irq_chip_get_parent_state,
  irq_chip_mask_parent,
  irq_chip_pm_get,
  irq_chip_release_resources_parent,
  irq_chip_request_resources_parent,
  irq_chip_retrigger_hierarchy,
  irq_chip_set_affinity_parent,
  irq_chip_set_parent_state,
  irq_chip_set_type_parent,
  irq_chip_set_vcpu_affinity_parent,
  irq_chip_set_wake_parent,
  irq_chip_shutdown_parent,
  irq_chip_startup_parent,
  irq_chip_unmask_parent,
  irq_data_set_chip,
} from "../../../lib/irq/chip.ts";
import { __irq_alloc_descs } from "../../../lib/irq/irqdesc.ts";
import * as I from "../../../lib/irq/irq.ts";
import {
  irq_data,
  IRQ_TYPE_EDGE_RISING,
  IRQ_TYPE_LEVEL_HIGH,
  IRQCHIP_SKIP_SET_WAKE,
  IRQCHIP_STATE_PENDING,
} from "../../../lib/irq/irq.ts";
import { EIO, ENOSYS } from "../../../lib/kernel/errno.ts";
import { cpumask_of } from "../../../lib/kernel/cpumask.ts";
import { rec_chip, run, setup_irq } from "./fixture.ts";

describe("genirq-A startup, shutdown, enable, disable (kernel/irq/chip.c)", () => {
  describe("A31/A32/A33 hierarchy helpers", () => {
    function two_level(log: string[], parent_cbs: I.irq_chip): irq_data {
      const child = new irq_data(40, new I.irq_common_data(2), rec_chip([]));
      const p = new irq_data(40, child.common, rec_chip([]));
      irq_data_set_chip(p, parent_cbs);
      child.parent_data = p;
      void log;
      return child;
    }

    it("A31 unconditional forwards reach the parent's callback", async () => {
      const log: string[] = [];
      await run(() => {
        const d = two_level(log, rec_chip(log, { cbs: ["irq_ack", "irq_mask", "irq_unmask", "irq_eoi"] }));
        irq_chip_ack_parent(d);
        irq_chip_mask_parent(d);
        irq_chip_unmask_parent(d);
        irq_chip_eoi_parent(d);
        expect(log).to.deep.equal(["irq_ack", "irq_mask", "irq_unmask", "irq_eoi"]);
      });
    });

    it("A31 enable/disable/startup/shutdown_parent fall back to unmask/mask/enable/disable", async () => {
      const log: string[] = [];
      await run(() => {
        const d = two_level(log, rec_chip(log, { cbs: ["irq_mask", "irq_unmask"] }));
        irq_chip_enable_parent(d);
        irq_chip_disable_parent(d);
        expect(irq_chip_startup_parent(d)).to.equal(0);
        irq_chip_shutdown_parent(d);
        expect(log).to.deep.equal(["irq_unmask", "irq_mask", "irq_unmask", "irq_mask"]);
        log.length = 0;
        const e = two_level(log, rec_chip(log, { cbs: ["irq_startup", "irq_shutdown", "irq_enable", "irq_disable"], impl: { irq_startup: () => 7 } }));
        irq_chip_enable_parent(e);
        irq_chip_disable_parent(e);
        expect(irq_chip_startup_parent(e)).to.equal(7);
        irq_chip_shutdown_parent(e);
        expect(log).to.deep.equal(["irq_enable", "irq_disable", "irq_startup", "irq_shutdown"]);
      });
    });

    it("A31 optional forwards return -ENOSYS (or 0) when the parent lacks the callback", async () => {
      const log: string[] = [];
      await run(() => {
        const d = two_level(log, rec_chip(log, { cbs: [] }));
        expect(irq_chip_set_affinity_parent(d, cpumask_of(0), false)).to.equal(-ENOSYS);
        expect(irq_chip_set_type_parent(d, IRQ_TYPE_EDGE_RISING)).to.equal(-ENOSYS);
        expect(irq_chip_set_vcpu_affinity_parent(d, null)).to.equal(-ENOSYS);
        expect(irq_chip_set_wake_parent(d, 1)).to.equal(-ENOSYS);
        expect(irq_chip_request_resources_parent(d)).to.equal(0);
        irq_chip_release_resources_parent(d);
        expect(irq_chip_set_parent_state(d, IRQCHIP_STATE_PENDING, true)).to.equal(0);
        expect(irq_chip_get_parent_state(d, IRQCHIP_STATE_PENDING, { value: false })).to.equal(0);
        expect(irq_chip_retrigger_hierarchy(d)).to.equal(0);
        const w = two_level(log, rec_chip(log, { cbs: ["irq_set_wake"], flags: IRQCHIP_SKIP_SET_WAKE }));
        expect(irq_chip_set_wake_parent(w, 1)).to.equal(0);
        expect(log).to.deep.equal([]);
        const t = two_level(log, rec_chip(log, { cbs: ["irq_set_type", "irq_set_affinity", "irq_set_wake"], impl: { irq_set_type: () => -EIO } }));
        expect(irq_chip_set_type_parent(t, IRQ_TYPE_LEVEL_HIGH)).to.equal(-EIO);
        expect(irq_chip_set_affinity_parent(t, cpumask_of(1), false)).to.equal(0);
        expect(irq_chip_set_wake_parent(t, 1)).to.equal(0);
        expect(log).to.deep.equal(["irq_set_type(4)", "irq_set_affinity(1)", "irq_set_wake(1)"]);
      });
    });

    it("A31 irq_chip_retrigger_hierarchy starts at the parent (own level skipped)", async () => {
      const log: string[] = [];
      await run(() => {
        const d = two_level(log, rec_chip(log, { cbs: ["irq_retrigger"], impl: { irq_retrigger: () => 1 } }));
        irq_data_set_chip(d, rec_chip(log, { name: "own", cbs: ["irq_retrigger"], impl: { irq_retrigger: () => (log.push("own"), 1) } }));
        expect(irq_chip_retrigger_hierarchy(d)).to.equal(1);
        expect(log).to.deep.equal(["irq_retrigger"]);
      });
    });

    it("A32 irq_chip_compose_msi_msg walks from the level itself outward; none -> -ENOSYS", async () => {
      const log: string[] = [];
      await run(() => {
        const d = two_level(log, { name: "p", irq_compose_msi_msg: (_d, msg) => ((msg.data = 0x41), void log.push("parent")) });
        const msg = { address_lo: 0, address_hi: 0, data: 0 };
        expect(irq_chip_compose_msi_msg(d, msg as never)).to.equal(0);
        expect(msg.data).to.equal(0x41);
        irq_data_set_chip(d, { name: "own", irq_compose_msi_msg: () => void log.push("own") });
        expect(irq_chip_compose_msi_msg(d, msg as never)).to.equal(0);
        expect(log).to.deep.equal(["parent", "own"]);
        const e = two_level(log, { name: "none" });
        expect(irq_chip_compose_msi_msg(e, msg as never)).to.equal(-ENOSYS);
      });
    });

    it("A33 irq_chip_pm_get returns 0 when the domain has no PM device", async () => {
      await run(() => {
        const { desc } = setup_irq(rec_chip([]));
        expect(irq_chip_pm_get(desc.irq_data)).to.equal(0);
      });
    });
  });
});
