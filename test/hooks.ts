// SPDX-License-Identifier: GPL-2.0-only
// Mocha root hooks: a test fails if any machine it created printed a kernel
// splat (WARN, BUG, lockdep, lockup) that the test did not declare with
// m.expectSplat(). m.run() already throws at the end of the run that
// produced one; this hook catches splats produced outside m.run().

import { Machine } from "../lib/machine.ts";

export const mochaHooks = {
  beforeEach(): void {
    Machine.created.length = 0;
  },
  afterEach(): void {
    const machines = Machine.created.splice(0);
    for (const m of machines) m.checkSplats();
  },
};
