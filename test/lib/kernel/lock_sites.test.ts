// SPDX-License-Identifier: GPL-2.0-only
// The lock acquire sites the completion and wait-queue primitives name
// themselves (site_of(), instead of a stack capture on every acquisition)
// must be the sites a capture finds: with lockdep_check_ip the kernel
// captures as well and throws on a difference. The runs take every named
// site of lib/kernel/completion.ts and lib/kernel/wait.ts, the sleeping
// paths (the reacquire after schedule()) included.

import { expect } from "chai";
import { createMachine } from "../../../lib/machine.ts";
import { msleep } from "../../../lib/kernel/delay.ts";
import { kthread_run } from "../../../lib/kernel/kthread.ts";
import { completion, complete, complete_all, try_wait_for_completion, wait_for_completion, wait_for_completion_timeout } from "../../../lib/kernel/completion.ts";
import { init_waitqueue_head, wait_event, wait_event_timeout, wake_up, wake_up_all } from "../../../lib/kernel/wait.ts";

describe("lib/kernel: named lock acquire sites of completions and wait queues match the captured ones (lockdep_check_ip)", () => {
  it("complete, complete_all, try_wait and a waiter that sleeps and is woken", async () => {
    const m = await createMachine({ cpus: 2, arch: "none", config: { lockdep_check_ip: true } });
    const out = await m.run(async () => {
      const c = new completion("site");
      kthread_run(
        async () => {
          await msleep(2);
          complete(c);
          return 0;
        },
        null,
        "completer",
      );
      await wait_for_completion(c);
      const timedOut = await wait_for_completion_timeout(c, 1);
      complete(c);
      const tried = try_wait_for_completion(c);
      complete_all(c);
      await wait_for_completion(c);
      return { timedOut, tried };
    });
    expect(out).to.deep.equal({ timedOut: 0, tried: true });
  });

  it("wait_event with a sleep, wake_up and wake_up_all", async () => {
    const m = await createMachine({ cpus: 2, arch: "none", config: { lockdep_check_ip: true } });
    const out = await m.run(async () => {
      const wq = init_waitqueue_head("site_wq");
      let flag = false;
      kthread_run(
        async () => {
          await msleep(2);
          flag = true;
          wake_up(wq);
          await msleep(2);
          wake_up_all(wq);
          return 0;
        },
        null,
        "waker",
      );
      await wait_event(wq, () => flag);
      return wait_event_timeout(wq, () => false, 2);
    });
    expect(out).to.equal(0);
  });
});
