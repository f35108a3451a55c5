// SPDX-License-Identifier: GPL-2.0-only
// The lock acquire sites mlx5_core and the VT-d driver name themselves
// (site_of(): the command semaphores and slot/token locks, the async EQ,
// the notifier chains, qi_submit_sync(), modify_irte()) must be the sites
// a stack capture finds: with lockdep_check_ip the kernel captures as well
// and throws on a difference. The NIC probes with its completion vectors on
// the IMS chip behind remapping, moves them, carries traffic and is removed.

import { expect } from "chai";
import { msleep } from "../../../../lib/kernel/delay.ts";
import { cpumask_of } from "../../../../lib/kernel/cpumask.ts";
import { kthread_run } from "../../../../lib/kernel/kthread.ts";
import { irq_set_affinity } from "../../../../lib/irq/manage_affinity.ts";
import { createMachine } from "../../../../lib/machine.ts";
import { mlx5_remove } from "../../../../drivers/net/mlx5/core/main.ts";
import { down, down_timeout, down_trylock, sema_init, semaphore, up } from "../../../../drivers/net/mlx5/core/klib.ts";
import { mlx5ImsRig } from "./ims_irq_fixture.ts";

describe("drivers/net/mlx5 and intel-iommu: named lock acquire sites match the captured ones (lockdep_check_ip)", function () {
  this.timeout(60_000);

  it("probe, affinity moves, traffic and remove of the NIC on IMS behind remapping", async () => {
    const r = await mlx5ImsRig({ machine: { trace: false, config: { lockdep_check_ip: true } }, queues: 2 });
    const { m, hw, dev, queues } = r;
    const handled = await m.run(async () => {
      for (const q of queues.queues) expect(irq_set_affinity(q.irqn, cpumask_of(2))).to.equal(0);
      for (let k = 0; k < 3; k++) {
        for (const q of queues.queues) hw.complete(q.index);
        await msleep(1);
      }
      const n = queues.queues.reduce((a, q) => a + q.completions, 0);
      await mlx5_remove(dev);
      return n;
    });
    expect(handled).to.equal(6);
  });

  it("the command semaphore: uncontended, contended (a sleeper woken by up()), trylock and a timeout", async () => {
    const m = await createMachine({ cpus: 2, arch: "none", config: { lockdep_check_ip: true } });
    const out = await m.run(async () => {
      const sem = new semaphore();
      sema_init(sem, 1);
      await down(sem);
      kthread_run(
        async () => {
          await msleep(2);
          up(sem);
          return 0;
        },
        null,
        "upper",
      );
      await down(sem);
      const busy = down_trylock(sem);
      const timedOut = await down_timeout(sem, 1);
      up(sem);
      return { busy, timedOut };
    });
    expect(out.busy).to.equal(1);
    expect(out.timedOut).to.be.lessThan(0);
  });
});
