// SPDX-License-Identifier: GPL-2.0-only
// Sleeping in atomic context produces the kernel's own reports.
import { expect } from "chai";
import { createMachine } from "../../../lib/machine.ts";
import { dmesgFrom, expectSplat } from "../../harness.ts";
import { soft_vector } from "./softvec.ts";
import { raw_spinlock_t, raw_spin_lock, raw_spin_unlock } from "../../../lib/kernel/spinlock.ts";
import { mutex, mutex_lock, mutex_unlock } from "../../../lib/kernel/mutex.ts";
import { completion, complete, wait_for_completion } from "../../../lib/kernel/completion.ts";
import { local_irq_disable, local_irq_enable, irqs_disabled } from "../../../lib/kernel/context.ts";
import { msleep } from "../../../lib/kernel/delay.ts";
import { kthread_run } from "../../../lib/kernel/kthread.ts";
import { current } from "../../../lib/kernel/sched.ts";

describe("lib/kernel sleeping in atomic context", () => {
  it("reports a mutex taken under a raw spinlock: might_sleep splat, then lockdep's invalid wait context", async () => {
    const m = await createMachine({ cpus: 1 });
    let pid = 0;
    await expectSplat(m, /sleeping function called from invalid context|Invalid wait context/, () =>
      m.run(async function take_mutex_under_raw_lock() {
        pid = current().pid;
        const l = new raw_spinlock_t("&my_lock");
        const mu = new mutex("&my_mutex");
        raw_spin_lock(l);
        await mutex_lock(mu);
        mutex_unlock(mu);
        raw_spin_unlock(l);
      }),
    );
    const lines = dmesgFrom(m, /^BUG: sleeping function/);
    expect(lines.slice(0, 6)).to.deep.equal([
      "BUG: sleeping function called from invalid context at kernel/locking/mutex.c:585",
      `in_atomic(): 1, irqs_disabled(): 0, non_block: 0, pid: ${pid}, name: insmod`,
      "preempt_count: 1, expected: 0",
      "RCU nest depth: 0, expected: 0",
      `1 lock held by insmod/${pid}:`,
      " #0: ffff888000000040 (&my_lock){+.+.}-{2:2}, at: take_mutex_under_raw_lock",
    ]);
    expect(lines[6]).to.equal(`CPU: 0 UID: 0 PID: ${pid} Comm: insmod Not tainted 6.18.0-irqlab #1 PREEMPT(voluntary) `);
    const wc = dmesgFrom(m, /^\[ BUG: Invalid wait context \]$/);
    expect(wc.slice(0, 9)).to.deep.equal([
      "[ BUG: Invalid wait context ]",
      "6.18.0-irqlab #1 Tainted: G        W          ",
      "-----------------------------",
      `insmod/${pid} is trying to lock:`,
      "ffff888000000080 (&my_mutex){+.+.}-{4:4}, at: take_mutex_under_raw_lock",
      "other info that might help us debug this:",
      "context-{2:2}",
      `1 lock held by insmod/${pid}:`,
      " #0: ffff888000000040 (&my_lock){+.+.}-{2:2}, at: take_mutex_under_raw_lock",
    ]);
  });

  it("reports msleep() in hardirq context as scheduling while atomic, and the interrupt goes on", async () => {
    const m = await createMachine({ cpus: 2 });
    const after: string[] = [];
    await expectSplat(m, /scheduling while atomic/, () =>
      m.run(async () => {
        const v = soft_vector(function sleepy_handler() {
          void msleep(10);
          after.push(`handler continued in ${current().comm}`);
        });
        v.raise(1);
        await msleep(4);
      }),
    );
    expect(dmesgFrom(m, /scheduling while atomic/).slice(0, 3)).to.deep.equal([
      "BUG: scheduling while atomic: swapper/1/0/0x00010001",
      "no locks held by swapper/1/0.",
      "Modules linked in:",
    ]);
    expect(after).to.deep.equal(["handler continued in swapper/1"]);
  });

  it("reports wait_for_completion() with interrupts off, then really sleeps until completed", async () => {
    const m = await createMachine({ cpus: 2 });
    const seen: string[] = [];
    let pid = 0;
    await expectSplat(m, /sleeping function called from invalid context at kernel\/sched\/completion\.c/, () =>
      m.run(async () => {
        pid = current().pid;
        const done = new completion("done");
        kthread_run(
          async () => {
            await msleep(8);
            complete(done);
            return 0;
          },
          null,
          "completer",
        );
        local_irq_disable();
        await wait_for_completion(done);
        seen.push(`woke, irqs_disabled=${irqs_disabled()}`);
        local_irq_enable();
      }),
    );
    expect(dmesgFrom(m, /^BUG: sleeping/)[1]).to.equal(`in_atomic(): 0, irqs_disabled(): 1, non_block: 0, pid: ${pid}, name: insmod`);
    expect(seen).to.deep.equal(["woke, irqs_disabled=true"]);
  });

  it("reports awaiting a sleep while holding a spinlock", async () => {
    const m = await createMachine({ cpus: 1 });
    let pid = 0;
    await expectSplat(m, /scheduling while atomic: insmod\//, () =>
      m.run(async function sleep_with_lock() {
        pid = current().pid;
        const l = new raw_spinlock_t("&held_lock");
        raw_spin_lock(l);
        await msleep(1);
        raw_spin_unlock(l);
      }),
    );
    expect(dmesgFrom(m, /scheduling while atomic/).slice(0, 3)).to.deep.equal([
      `BUG: scheduling while atomic: insmod/${pid}/0x00000001`,
      `1 lock held by insmod/${pid}:`,
      " #0: ffff888000000040 (&held_lock){+.+.}-{2:2}, at: sleep_with_lock",
    ]);
  });

  it("rate-limits might_sleep reports to one per second, as __might_resched does", async () => {
    const m = await createMachine({ cpus: 1 });
    await expectSplat(m, /sleeping function called/, () =>
      m.run(async () => {
        const mu = new mutex("&m");
        for (let i = 0; i < 3; i++) {
          local_irq_disable();
          await mutex_lock(mu);
          mutex_unlock(mu);
          local_irq_enable();
        }
      }),
    );
    expect(m.splats().filter((s) => /sleeping function/.test(s.title))).to.have.length(1);
  });
});
