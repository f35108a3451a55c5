// SPDX-License-Identifier: GPL-2.0-only
import { expect } from "chai";
import { createMachine } from "../../../lib/machine.ts";
import { K } from "../../../lib/kernel/kernel.ts";
import {
  INIT_WORK,
  INIT_DELAYED_WORK,
  alloc_ordered_workqueue,
  alloc_workqueue,
  cancel_delayed_work_sync,
  cancel_work_sync,
  flush_work,
  flush_workqueue,
  queue_delayed_work,
  queue_work,
  queue_work_on,
  system_wq,
  schedule_work,
  WQ_UNBOUND,
} from "../../../lib/kernel/workqueue.ts";
import { msleep } from "../../../lib/kernel/delay.ts";
import { current } from "../../../lib/kernel/sched.ts";
import { completion, complete, wait_for_completion } from "../../../lib/kernel/completion.ts";
import { add_cpu, remove_cpu } from "../../../lib/kernel/cpu.ts";
import { smp_processor_id } from "../../../lib/kernel/context.ts";

describe("lib/kernel workqueues", () => {
  it("runs work in a kworker of the queueing CPU and flushes it", async () => {
    const m = await createMachine({ cpus: 2 });
    const seen: string[] = [];
    await m.run(async () => {
      const w = INIT_WORK(() => void seen.push(current().comm));
      expect(schedule_work(w)).to.equal(true);
      expect(schedule_work(w)).to.equal(false);
      await flush_work(w);
      seen.push("flushed");
    });
    expect(seen).to.deep.equal(["kworker/0:0", "flushed"]);
  });

  it("starts another worker when a work item sleeps and more work is queued", async () => {
    const m = await createMachine({ cpus: 1 });
    const seen: string[] = [];
    await m.run(async () => {
      const gate = new completion("gate");
      const slow = INIT_WORK(async () => {
        seen.push(`slow starts in ${current().comm}`);
        await wait_for_completion(gate);
        seen.push("slow ends");
      });
      const fast = INIT_WORK(() => {
        seen.push(`fast in ${current().comm}`);
        complete(gate);
      });
      const wq = alloc_workqueue("test_wq", 0, 0);
      queue_work(wq, slow);
      queue_work(wq, fast);
      await flush_workqueue(wq);
    });
    expect(seen).to.deep.equal(["slow starts in kworker/0:0", "fast in kworker/0:1", "slow ends"]);
  });

  it("runs an ordered workqueue one item at a time, in order", async () => {
    const m = await createMachine({ cpus: 2 });
    const seen: string[] = [];
    await m.run(async () => {
      const wq = alloc_ordered_workqueue("mlx5_cmd_%s", 0, "0000:3b:00.0");
      expect(wq.name).to.equal("mlx5_cmd_0000:3b:00.0");
      for (let i = 0; i < 3; i++) {
        queue_work(
          wq,
          INIT_WORK(async () => {
            seen.push(`start ${i}`);
            await msleep(4);
            seen.push(`end ${i}`);
          }),
        );
      }
      await flush_workqueue(wq);
    });
    expect(seen).to.deep.equal(["start 0", "end 0", "start 1", "end 1", "start 2", "end 2"]);
    expect(WQ_UNBOUND).to.equal(2);
  });

  it("runs delayed work after its delay and cancels it synchronously", async () => {
    const m = await createMachine({ cpus: 1 });
    const seen: number[] = [];
    await m.run(async () => {
      const d = INIT_DELAYED_WORK(() => void seen.push(K.sim.now / 1e6));
      queue_delayed_work(alloc_workqueue("dw", 0, 0), d, 5);
      await msleep(60);
      const d2 = INIT_DELAYED_WORK(() => void seen.push(-1));
      queue_delayed_work(alloc_workqueue("dw2", 0, 0), d2, 5);
      expect(await cancel_delayed_work_sync(d2)).to.equal(true);
      await msleep(60);
      const w = INIT_WORK(() => void seen.push(-2));
      expect(await cancel_work_sync(w)).to.equal(false);
    });
    expect(seen).to.deep.equal([24]);
  });

  // kernel/workqueue.c: workqueue_offline_cpu()/unbind_workers() and
  // workqueue_online_cpu()/rebind_workers()
  it("runs work queued to an offline CPU's pool in that pool's unbound kworker on an online CPU; onlining rebinds it", async () => {
    const m = await createMachine({ cpus: 3 });
    const seen: string[] = [];
    await m.run(async () => {
      const w = INIT_WORK(() => void seen.push(`${current().comm} on ${smp_processor_id()}`));
      queue_work_on(2, system_wq(), w);
      await flush_work(w);
      expect(await remove_cpu(2)).to.equal(0);
      queue_work_on(2, system_wq(), w);
      await msleep(1);
      expect(await add_cpu(2)).to.equal(0);
      queue_work_on(2, system_wq(), w);
      await msleep(1);
    });
    expect(seen).to.deep.equal(["kworker/2:0 on 2", "kworker/2:0 on 0", "kworker/2:0 on 2"]);
  });
});
