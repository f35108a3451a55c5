// SPDX-License-Identifier: GPL-2.0-only
// irqlab substrate: the stall detector behind m.run().
//
// drive() awaits the running task until it parks or exits. A task that awaits
// a promise nothing in the simulation will settle (a plain JavaScript promise
// whose producer was abandoned, for instance code that went to sleep in
// interrupt context and never comes back) would leave that await pending with
// virtual time frozen, so no virtual-time bound can end it, and Node would
// just sit idle.
//
// The simulator runs only on promise jobs and never yields to the event loop.
// An event-loop callback (setImmediate) therefore runs only once the job queue
// is empty. If drive() still awaits a task then, and no task switch happened
// since the callback was queued, nothing left in the process can make that
// task go on: it is stalled. The verdict depends on that fact alone, not on
// wall time or on when the callback runs, so it is as deterministic as the
// rest of the run. This is the one event-loop primitive the simulator uses,
// and it reads no clock (DESIGN.md section 1, principle 5, is about time and
// randomness; see README "Honest limits" for the one thing it rules out:
// awaiting real I/O inside a task).

import type { Sim } from "./sim.ts";

/**
 * Watch a drive() of `sim` that is in progress while `pending()` holds. When
 * it stalls, stop the machine with `report()`'s error, which drive() throws.
 */
export function watch_stall(sim: Sim, pending: () => boolean, report: () => Error): void {
  let seen = sim.switches;
  const check = (): void => {
    if (!pending()) return;
    if (sim.switches !== seen) {
      // Something ran since the last look (the task body awaited something
      // outside the simulation and came back): look again next turn.
      seen = sim.switches;
      arm();
      return;
    }
    sim.stalled(report());
  };
  const arm = (): void => {
    // eslint-disable-next-line no-restricted-globals -- an event-loop turn, not a timer: see the head comment
    setImmediate(check);
  };
  arm();
}
