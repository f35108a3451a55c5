// SPDX-License-Identifier: GPL-2.0-only
// The KUnit suite of kernel/irq/irq_test.c, re-expressed with the same setup
// and assertions (genirq-A.md A49-A54).
import { expect } from "chai";
import { createMachine, type Machine } from "../../../lib/machine.ts";
import { __irq_alloc_descs, irq_to_desc } from "../../../lib/irq/irqdesc.ts";
import {
  irq_activate,
  irq_clear_status_flags,
  irq_data_update_effective_affinity,
  irq_set_chip_and_handler,
  irq_shutdown_and_deactivate,
  irq_startup_managed,
} from "../../../lib/irq/chip.ts";
import { handle_simple_irq } from "../../../lib/irq/flow.ts";
import { disable_irq, enable_irq, free_irq, request_irq } from "../../../lib/irq/manage.ts";
import { IRQ_HANDLED, type irq_affinity_desc } from "../../../lib/irq/interrupt.ts";
import {
  IRQ_NOREQUEST,
  IRQCHIP_SKIP_SET_WAKE,
  irqd_affinity_is_managed,
  irqd_is_activated,
  irqd_is_started,
  type irq_chip,
  type irq_data,
} from "../../../lib/irq/irq.ts";
import { cpumask_of, cpumask_setall, cpumask, type cpumask as Cpumask } from "../../../lib/kernel/cpumask.ts";
import { EINVAL } from "../../../lib/kernel/errno.ts";
import { IRQD_AFFINITY_MANAGED, IRQD_AFFINITY_SET, IRQD_IRQ_DISABLED, IRQD_IRQ_MASKED, IRQD_MANAGED_SHUTDOWN } from "../../../lib/irq/irq.ts";
import { raw_spin_lock_irqsave, raw_spin_unlock_irqrestore } from "../../../lib/kernel/spinlock.ts";
import { add_cpu, remove_cpu } from "../../../lib/kernel/cpu.ts";

const NUMA_NO_NODE = -1;

// kernel/irq/irq_test.c: noop_handler()
function noop_handler(_irq: number, _data: unknown): number {
  return IRQ_HANDLED;
}

function noop(_d: irq_data): void {}

// kernel/irq/irq_test.c: fake_irq_chip
const fake_irq_chip: irq_chip = {
  name: "fake",
  irq_startup: () => 0,
  irq_shutdown: noop,
  irq_enable: noop,
  irq_disable: noop,
  irq_ack: noop,
  irq_mask: noop,
  irq_unmask: noop,
  irq_set_affinity: (d: irq_data, dest: Cpumask) => {
    irq_data_update_effective_affinity(d, dest);
    return 0;
  },
  flags: IRQCHIP_SKIP_SET_WAKE,
};

// kernel/irq/irq_test.c: irq_test_setup_fake_irq()
function irq_test_setup_fake_irq(affd: irq_affinity_desc | null): number {
  const virq = __irq_alloc_descs(-1, 1, 1, NUMA_NO_NODE, affd ? [affd] : null);
  expect(virq).to.be.at.least(0);
  irq_set_chip_and_handler(virq, fake_irq_chip, handle_simple_irq);
  const desc = irq_to_desc(virq);
  expect(desc).to.not.equal(null);
  // On some architectures, IRQs are NOREQUEST | NOPROBE by default.
  irq_clear_status_flags(virq, IRQ_NOREQUEST);
  return virq;
}

async function kunit(body: () => Promise<void>, cpus = 2): Promise<Machine> {
  const m = await createMachine({ cpus });
  await m.run(body);
  return m;
}

describe("kernel/irq/irq_test.c (KUnit irq_test_cases)", () => {
  it("A49/A50 irq_test_setup_fake_irq: a fresh descriptor has the desc_set_defaults() state; a managed affinity marks it managed and shut down", async () => {
    await kunit(() => {
      const virq = irq_test_setup_fake_irq(null);
      const desc = irq_to_desc(virq)!;
      const st = desc.irq_common_data.state_use_accessors;
      expect(desc.depth).to.equal(1);
      expect(st & (IRQD_IRQ_DISABLED | IRQD_IRQ_MASKED)).to.equal(IRQD_IRQ_DISABLED | IRQD_IRQ_MASKED);
      expect(desc.handle_irq).to.equal(handle_simple_irq);
      expect(desc.irq_data.chip.name).to.equal("fake");
      // istate: only IRQS_SYSFS (0x4000), set by irq_sysfs_add() in alloc_descs()
      expect([desc.tot_count, desc.irq_count, desc.irqs_unhandled, desc.istate]).to.deep.equal([0, 0, 0, 0x4000]);
      expect(desc.status_use_accessors & IRQ_NOREQUEST).to.equal(0);
      const mask = new cpumask();
      cpumask_setall(mask);
      const m = irq_test_setup_fake_irq({ is_managed: true, mask });
      const ms = irq_to_desc(m)!.irq_common_data.state_use_accessors;
      expect(ms & (IRQD_AFFINITY_SET | IRQD_AFFINITY_MANAGED | IRQD_MANAGED_SHUTDOWN)).to.equal(IRQD_AFFINITY_SET | IRQD_AFFINITY_MANAGED | IRQD_MANAGED_SHUTDOWN);
      // an empty affinity mask makes the allocation fail
      expect(__irq_alloc_descs(-1, 1, 1, NUMA_NO_NODE, [{ is_managed: true, mask: new cpumask() }])).to.equal(-EINVAL);
      return Promise.resolve();
    });
  });

  it("A51 irq_disable_depth_test: request, disable, enable move depth 0 -> 1 -> 0", async () => {
    await kunit(async () => {
      const virq = irq_test_setup_fake_irq(null);
      const desc = irq_to_desc(virq)!;
      expect(await request_irq(virq, noop_handler, 0, "test_irq", null)).to.equal(0);
      expect(desc.depth).to.equal(0);
      await disable_irq(virq);
      expect(desc.depth).to.equal(1);
      await enable_irq(virq);
      expect(desc.depth).to.equal(0);
      await free_irq(virq, null);
    });
  });

  it("A52 irq_free_disabled_test: freeing a disabled irq does not leave the next request disabled", async () => {
    await kunit(async () => {
      const virq = irq_test_setup_fake_irq(null);
      const desc = irq_to_desc(virq)!;
      expect(await request_irq(virq, noop_handler, 0, "test_irq", null)).to.equal(0);
      expect(desc.depth).to.equal(0);
      await disable_irq(virq);
      expect(desc.depth).to.equal(1);
      await free_irq(virq, null);
      expect(desc.depth).to.be.at.least(1);
      expect(desc.depth).to.equal(2);
      expect(await request_irq(virq, noop_handler, 0, "test_irq", null)).to.equal(0);
      expect(desc.depth).to.equal(0);
      await free_irq(virq, null);
    });
  });

  it("A53 irq_shutdown_depth_test: a user disable survives a managed shutdown/startup cycle", async () => {
    await kunit(async () => {
      const mask = new cpumask();
      cpumask_setall(mask);
      const virq = irq_test_setup_fake_irq({ is_managed: true, mask });
      const desc = irq_to_desc(virq)!;
      const data = desc.irq_data;
      expect(await request_irq(virq, noop_handler, 0, "test_irq", null)).to.equal(0);
      expect(irqd_is_activated(data)).to.equal(true);
      expect(irqd_is_started(data)).to.equal(true);
      expect(irqd_affinity_is_managed(data)).to.equal(true);
      expect(desc.depth).to.equal(0);
      await disable_irq(virq);
      expect(desc.depth).to.equal(1);
      const flags = raw_spin_lock_irqsave(desc.lock);
      irq_shutdown_and_deactivate(desc);
      raw_spin_unlock_irqrestore(desc.lock, flags);
      expect(irqd_is_activated(data)).to.equal(false);
      expect(irqd_is_started(data)).to.equal(false);
      expect(irq_activate(desc)).to.equal(0);
      irq_startup_managed(desc);
      expect(desc.depth).to.equal(1);
      await enable_irq(virq);
      expect(desc.depth).to.equal(0);
      await free_irq(virq, null);
    });
  });

  it("A54 irq_cpuhotplug_test: offlining the only CPU of a managed, disabled irq shuts it down; onlining keeps it disabled", async () => {
    await kunit(async () => {
      const virq = irq_test_setup_fake_irq({ is_managed: true, mask: cpumask_of(1) });
      const desc = irq_to_desc(virq)!;
      const data = desc.irq_data;
      expect(await request_irq(virq, noop_handler, 0, "test_irq", null)).to.equal(0);
      expect(irqd_is_activated(data)).to.equal(true);
      expect(irqd_is_started(data)).to.equal(true);
      expect(irqd_affinity_is_managed(data)).to.equal(true);
      expect(desc.depth).to.equal(0);
      await disable_irq(virq);
      expect(desc.depth).to.equal(1);
      expect(await remove_cpu(1)).to.equal(0);
      expect(desc.depth).to.be.at.least(1);
      expect(irqd_is_started(data)).to.equal(false);
      expect(irqd_is_activated(data)).to.equal(false);
      expect(await add_cpu(1)).to.equal(0);
      expect(desc.depth).to.equal(1);
      await enable_irq(virq);
      expect(irqd_is_activated(data)).to.equal(true);
      expect(irqd_is_started(data)).to.equal(true);
      expect(desc.depth).to.equal(0);
      await free_irq(virq, null);
    });
  });
});
