// SPDX-License-Identifier: GPL-2.0-only
// genirq-B.md B29-B32, B34: interrupt affinity in kernel/irq/manage.c.
import { expect } from "chai";
import {
  irq_can_set_affinity,
  irq_can_set_affinity_usr,
  irq_do_set_affinity,
  irq_force_affinity,
  irq_set_affinity,
  irq_set_affinity_and_hint,
  irq_set_affinity_locked,
  irq_set_affinity_notifier,
  irq_set_vcpu_affinity,
  irq_update_affinity_desc,
  irq_update_affinity_hint,
  irq_default_affinity,
} from "../../../lib/irq/manage_affinity.ts";
import { request_irq, free_irq } from "../../../lib/irq/manage.ts";
import { irq_data_set_chip, irq_data_update_effective_affinity, irq_modify_status, irq_set_chip } from "../../../lib/irq/chip.ts";
import { irq_set_percpu_devid } from "../../../lib/irq/manage_percpu.ts";
import { __irq_alloc_descs, irq_to_desc, type irq_desc } from "../../../lib/irq/irqdesc.ts";
import {
  irq_data,
  irqd_affinity_was_set,
  irqd_is_setaffinity_pending,
  irqd_set,
  irqd_set_affinity_on_activate,
  IRQ_NO_BALANCING,
  IRQ_PER_CPU,
  IRQ_SET_MASK_OK_DONE,
  IRQ_SET_MASK_OK_NOCOPY,
  IRQCHIP_MOVE_DEFERRED,
  IRQD_AFFINITY_SET,
} from "../../../lib/irq/irq.ts";
import { IRQ_HANDLED, type irq_affinity_notify } from "../../../lib/irq/interrupt.ts";
import { IRQS_NMI } from "../../../lib/irq/internals.ts";
import { EBUSY, EINVAL, EIO, ENOSYS, EOPNOTSUPP } from "../../../lib/kernel/errno.ts";
import { cpumask, cpumask_copy, cpumask_equal, cpumask_from, cpumask_of, type cpumask as Cpumask } from "../../../lib/kernel/cpumask.ts";
import { msleep } from "../../../lib/kernel/delay.ts";
import { remove_cpu, add_cpu } from "../../../lib/kernel/cpu.ts";
import { raw_spin_lock_irqsave, raw_spin_unlock_irqrestore } from "../../../lib/kernel/spinlock.ts";
import { logged, machine, rec_chip, run, setup_irq } from "./fixture.ts";

const h = (): number => IRQ_HANDLED;
const list = (m: Cpumask): number[] => [...Array(m.nbits).keys()].filter((i) => m.test(i));

function locked<T>(desc: irq_desc, fn: () => T): T {
  const f = raw_spin_lock_irqsave(desc.lock);
  try {
    return fn();
  } finally {
    raw_spin_unlock_irqrestore(desc.lock, f);
  }
}

describe("genirq-B affinity (kernel/irq/manage.c)", () => {
  it("B29 irq_set_affinity: -EINVAL without a desc; kernel callers may retarget managed, per-CPU and no-balancing lines", async () => {
    const log: string[] = [];
    await run(() => {
      expect(irq_set_affinity(0x7ffff0, cpumask_of(0))).to.equal(-EINVAL);
      const { irq, desc } = setup_irq(rec_chip(log, { cbs: ["irq_set_affinity"] }));
      irq_modify_status(irq, 0, IRQ_PER_CPU | IRQ_NO_BALANCING);
      expect(irq_can_set_affinity(irq)).to.equal(false);
      expect(irq_set_affinity(irq, cpumask_of(1))).to.equal(0);
      expect(log).to.deep.equal(["irq_set_affinity(1)"]);
      expect(list(desc.irq_common_data.affinity)).to.deep.equal([1]);
      const m = __irq_alloc_descs(-1, 1, 1, -1, [{ is_managed: true, mask: cpumask_of(0) }]);
      irq_set_chip(m, rec_chip(log, { cbs: ["irq_set_affinity"] }));
      expect(irq_can_set_affinity(m)).to.equal(true);
      expect(irq_can_set_affinity_usr(m)).to.equal(false);
      expect(irq_set_affinity(m, cpumask_of(1))).to.equal(0);
      const plain = setup_irq(rec_chip([], { cbs: [] }));
      expect(irq_can_set_affinity(plain.irq)).to.equal(false);
      expect(irq_can_set_affinity(0x7ffff0)).to.equal(false);
    });
  });

  it("B30 no irq_set_affinity callback: -EINVAL, no state change (IRQD_AFFINITY_SET stays clear)", async () => {
    await run(() => {
      const { irq, desc } = setup_irq(rec_chip([], { cbs: [] }));
      expect(irq_set_affinity(irq, cpumask_of(1))).to.equal(-EINVAL);
      expect(irqd_affinity_was_set(desc.irq_data)).to.equal(false);
    });
  });

  it("B30 the chip gets mask AND online; a forced call gets the raw mask; no online CPU and !force is -EINVAL without a chip call", async () => {
    const log: string[] = [];
    await run(async () => {
      const { irq, desc } = setup_irq(rec_chip(log, { cbs: ["irq_set_affinity"] }));
      expect(await remove_cpu(1)).to.equal(0);
      expect(irq_set_affinity(irq, cpumask_from([0, 1]))).to.equal(0);
      expect(log).to.deep.equal(["irq_set_affinity(0)"]);
      // the requested affinity stores the caller's full mask
      expect(list(desc.irq_common_data.affinity)).to.deep.equal([0, 1]);
      expect(irq_force_affinity(irq, cpumask_of(1))).to.equal(0);
      expect(log).to.deep.equal(["irq_set_affinity(0)", "irq_set_affinity(1)"]);
      expect(irq_set_affinity(irq, cpumask_of(1))).to.equal(-EINVAL);
      expect(log).to.have.length(2);
      expect(irqd_affinity_was_set(desc.irq_data)).to.equal(true);
      expect(await add_cpu(1)).to.equal(0);
    });
  });

  it("B30 OK_DONE copies the mask, OK_NOCOPY does not, an error copies nothing but IRQD_AFFINITY_SET is still set", async () => {
    let ret = IRQ_SET_MASK_OK_DONE;
    await run(() => {
      const { irq, desc } = setup_irq(
        rec_chip([], {
          cbs: ["irq_set_affinity"],
          impl: { irq_set_affinity: ((d: irq_data, m: Cpumask) => (irq_data_update_effective_affinity(d, m), ret)) as never },
        }),
      );
      expect(irq_set_affinity(irq, cpumask_of(1))).to.equal(0);
      expect(list(desc.irq_common_data.affinity)).to.deep.equal([1]);
      ret = IRQ_SET_MASK_OK_NOCOPY;
      expect(irq_set_affinity(irq, cpumask_of(0))).to.equal(0);
      expect(list(desc.irq_common_data.affinity)).to.deep.equal([1]);
      ret = -EIO;
      desc.irq_common_data.state_use_accessors &= ~IRQD_AFFINITY_SET;
      expect(irq_set_affinity(irq, cpumask_of(0))).to.equal(-EIO);
      expect(list(desc.irq_common_data.affinity)).to.deep.equal([1]);
      expect(irqd_affinity_was_set(desc.irq_data)).to.equal(true);
    });
  });

  it("B30 a chip that leaves the effective mask empty: 'genirq: irq_chip %s did not update eff. affinity mask of irq %u' (once)", async () => {
    const m = await machine();
    await m.run(() => {
      const { irq } = setup_irq(rec_chip([], { name: "lazy", cbs: ["irq_set_affinity"], impl: { irq_set_affinity: () => 0 } }));
      expect(irq_set_affinity(irq, cpumask_of(1))).to.equal(0);
      expect(irq_set_affinity(irq, cpumask_of(0))).to.equal(0);
      expect(logged(m, "did not update eff. affinity mask")).to.deep.equal([`genirq: irq_chip lazy did not update eff. affinity mask of irq ${irq}`]);
    });
  });

  it("B30 -EBUSY from the chip falls back to a pending move when not forced; forced it is returned", async () => {
    await run(() => {
      const { irq, desc } = setup_irq(rec_chip([], { cbs: ["irq_set_affinity"], impl: { irq_set_affinity: () => -EBUSY } }));
      expect(irq_set_affinity(irq, cpumask_of(1))).to.equal(0);
      expect(irqd_is_setaffinity_pending(desc.irq_data)).to.equal(true);
      expect(list(desc.pending_mask)).to.deep.equal([1]);
      const b = setup_irq(rec_chip([], { cbs: ["irq_set_affinity"], impl: { irq_set_affinity: () => -EBUSY } }));
      expect(irq_force_affinity(b.irq, cpumask_of(1))).to.equal(-EBUSY);
      expect(irqd_is_setaffinity_pending(b.desc.irq_data)).to.equal(false);
    });
  });

  it("B30 IRQD_AFFINITY_ON_ACTIVATE on a not-activated line only records the mask (requested and effective)", async () => {
    const log: string[] = [];
    await run(() => {
      const { irq, desc } = setup_irq(rec_chip(log, { cbs: ["irq_set_affinity"] }));
      irqd_set_affinity_on_activate(desc.irq_data);
      expect(irq_set_affinity(irq, cpumask_of(1))).to.equal(0);
      expect(log).to.deep.equal([]);
      expect(list(desc.irq_common_data.affinity)).to.deep.equal([1]);
      expect(list(desc.irq_common_data.effective_affinity)).to.deep.equal([1]);
      expect(irqd_affinity_was_set(desc.irq_data)).to.equal(true);
    });
  });

  it("B30/B33 an IRQCHIP_MOVE_DEFERRED chip, or a move already pending, only records pending_mask", async () => {
    const log: string[] = [];
    await run(() => {
      const { irq, desc } = setup_irq(rec_chip(log, { cbs: ["irq_set_affinity"], flags: IRQCHIP_MOVE_DEFERRED }));
      expect(irq_set_affinity(irq, cpumask_of(1))).to.equal(0);
      expect(log).to.deep.equal([]);
      expect(irqd_is_setaffinity_pending(desc.irq_data)).to.equal(true);
      expect(list(desc.pending_mask)).to.deep.equal([1]);
      const b = setup_irq(rec_chip(log, { cbs: ["irq_set_affinity"] }));
      irqd_set(b.desc.irq_data, 1 << 8);
      expect(irq_set_affinity(b.irq, cpumask_of(0))).to.equal(0);
      expect(log).to.deep.equal([]);
      expect(list(b.desc.pending_mask)).to.deep.equal([0]);
    });
  });

  it("B31 irq_setup_affinity: the narrowed mask becomes the stored affinity; a set affinity without online CPUs is dropped", async () => {
    const log: string[] = [];
    await run(async () => {
      const a = setup_irq(rec_chip(log, { cbs: ["irq_set_affinity"] }));
      cpumask_copy(a.desc.irq_common_data.affinity, cpumask_from([0, 1, 2, 3]));
      expect(await request_irq(a.irq, h, 0, "b31", null)).to.equal(0);
      expect(log).to.deep.equal(["irq_set_affinity(0,1)"]);
      expect(list(a.desc.irq_common_data.affinity)).to.deep.equal([0, 1]);
      expect(cpumask_equal(irq_default_affinity(), cpumask_from([0, 1]))).to.equal(true);
      expect(await remove_cpu(1)).to.equal(0);
      // (offlining CPU1 migrated the first line: irq_set_affinity(0))
      log.length = 0;
      const b = setup_irq(rec_chip(log, { cbs: ["irq_set_affinity"] }));
      cpumask_copy(b.desc.irq_common_data.affinity, cpumask_of(1));
      irqd_set(b.desc.irq_data, IRQD_AFFINITY_SET);
      expect(await request_irq(b.irq, h, 0, "b31b", null)).to.equal(0);
      expect(log).to.deep.equal(["irq_set_affinity(0)"]);
      expect(irqd_affinity_was_set(b.desc.irq_data)).to.equal(false);
      await add_cpu(1);
      // per-CPU / no-balancing lines get no default placement at all
      log.length = 0;
      const c = setup_irq(rec_chip(log, { cbs: ["irq_set_affinity"] }));
      irq_modify_status(c.irq, 0, IRQ_NO_BALANCING);
      expect(await request_irq(c.irq, h, 0, "b31c", null)).to.equal(0);
      expect(log).to.deep.equal([]);
    });
  });

  it("B32 hints: update only stores the hint; set_affinity_and_hint also sets the affinity and ignores its result; -EINVAL without desc or for per-cpu-devid", async () => {
    const log: string[] = [];
    await run(() => {
      const { irq, desc } = setup_irq(rec_chip(log, { cbs: ["irq_set_affinity"], impl: { irq_set_affinity: () => -EIO } }));
      const m = cpumask_of(1);
      expect(irq_update_affinity_hint(irq, m)).to.equal(0);
      expect(desc.affinity_hint).to.equal(m);
      expect(log).to.deep.equal([]);
      expect(irq_set_affinity_and_hint(irq, m)).to.equal(0);
      expect(log).to.deep.equal(["irq_set_affinity(1)"]);
      expect(irq_update_affinity_hint(irq, null)).to.equal(0);
      expect(desc.affinity_hint).to.equal(null);
      expect(irq_update_affinity_hint(0x7ffff0, m)).to.equal(-EINVAL);
      irq_set_percpu_devid(irq);
      expect(irq_update_affinity_hint(irq, m)).to.equal(-EINVAL);
    });
  });

  it("B32 irq_update_affinity_desc is -EOPNOTSUPP on x86 (CONFIG_GENERIC_IRQ_RESERVATION_MODE)", async () => {
    await run(() => {
      const { irq } = setup_irq(rec_chip([]));
      expect(irq_update_affinity_desc(irq, { is_managed: true, mask: cpumask_of(0) })).to.equal(-EOPNOTSUPP);
    });
  });

  it("B32 the affinity notifier runs from a workqueue after irq_set_affinity (not at startup); replacing it releases the old one", async () => {
    const events: string[] = [];
    await run(async () => {
      const { irq } = setup_irq(rec_chip([], { cbs: ["irq_set_affinity"] }));
      const n1: irq_affinity_notify = {
        irq: 0,
        notify: (_n, mask) => void events.push(`notify ${list(mask).join(",")} task=${typeof process === "object"}`),
        release: () => void events.push("release n1"),
      };
      expect(await irq_set_affinity_notifier(0x7ffff0, n1)).to.equal(-EINVAL);
      expect(await irq_set_affinity_notifier(irq, n1)).to.equal(0);
      expect(n1.irq).to.equal(irq);
      expect(await request_irq(irq, h, 0, "b32", null)).to.equal(0);
      await msleep(1);
      expect(events).to.deep.equal([]);
      expect(irq_set_affinity(irq, cpumask_of(1))).to.equal(0);
      expect(events).to.deep.equal([]);
      await msleep(1);
      expect(events).to.deep.equal(["notify 1 task=true"]);
      expect(await irq_set_affinity_notifier(irq, null)).to.equal(0);
      expect(events).to.deep.equal(["notify 1 task=true", "release n1"]);
      expect(await free_irq(irq, null)).to.equal("b32");
      const n = setup_irq(rec_chip([]));
      n.desc.istate |= IRQS_NMI;
      expect(await irq_set_affinity_notifier(n.irq, n1)).to.equal(-EINVAL);
    });
  });

  it("B32 irq_set_vcpu_affinity walks to the first chip implementing it; none -> -ENOSYS; no desc -> -EINVAL", async () => {
    const log: string[] = [];
    await run(() => {
      const { irq, desc } = setup_irq(rec_chip([]));
      expect(irq_set_vcpu_affinity(irq, {})).to.equal(-ENOSYS);
      const p = new irq_data(irq, desc.irq_common_data, desc.irq_data.chip);
      irq_data_set_chip(p, { name: "parent", irq_set_vcpu_affinity: () => (log.push("parent vcpu"), 0) });
      desc.irq_data.parent_data = p;
      expect(irq_set_vcpu_affinity(irq, {})).to.equal(0);
      expect(log).to.deep.equal(["parent vcpu"]);
      expect(irq_set_vcpu_affinity(0x7ffff0, {})).to.equal(-EINVAL);
    });
  });

  it("B30 irq_do_set_affinity and irq_set_affinity_locked are usable under desc->lock (callers' locks)", async () => {
    const log: string[] = [];
    await run(() => {
      const { desc } = setup_irq(rec_chip(log, { cbs: ["irq_set_affinity"] }));
      expect(locked(desc, () => irq_set_affinity_locked(desc.irq_data, cpumask_of(1), false))).to.equal(0);
      expect(locked(desc, () => irq_do_set_affinity(desc.irq_data, cpumask_of(0), false))).to.equal(0);
      expect(log).to.deep.equal(["irq_set_affinity(1)", "irq_set_affinity(0)"]);
      const none = setup_irq(rec_chip([], { cbs: [] }));
      expect(locked(none.desc, () => irq_do_set_affinity(none.desc.irq_data, cpumask_of(0), false))).to.equal(-EINVAL);
    });
  });

  it("B34 a managed line is activated and programmed at startup, not at irq_activate (see A22-A25)", async () => {
    const log: string[] = [];
    await run(async () => {
      const irq = __irq_alloc_descs(-1, 1, 1, -1, [{ is_managed: true, mask: cpumask_of(1) }]);
      const desc = irq_to_desc(irq)!;
      irq_set_chip(irq, rec_chip(log, { cbs: ["irq_set_affinity", "irq_startup"] }));
      desc.irq_data.domain = { name: "d", ops: { activate: () => (log.push("activate"), 0) } } as never;
      expect(await request_irq(irq, h, 0, "b34", null)).to.equal(0);
      expect(log).to.deep.equal(["activate", "irq_set_affinity(1)", "irq_startup"]);
      void cpumask;
    });
  });
});
