// SPDX-License-Identifier: GPL-2.0-only
// PCT with a strict priority order must still let a polling command loop
// reach its deadline: mlx5_core's poll_relax() spends virtual time even when
// cond_resched() yielded, so the run ends instead of spinning in wall time.

import { expect } from "chai";
import { runSeed } from "../../../lib/explore/index.ts";
import { mlx5Traffic } from "../../mutants/mlx5.ts";

describe("lib/explore under PCT on the mlx5 NIC", function () {
  it("a pct:4 schedule of the mlx5 traffic scenario finishes with no violation", async function () {
    this.timeout(60_000);
    const r = await runSeed(mlx5Traffic, 1, "pct:4:3:48");
    expect(r.violations.map((v) => v.checker)).to.deep.equal([]);
  });
});
