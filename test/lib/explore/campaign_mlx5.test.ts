// SPDX-License-Identifier: GPL-2.0-only
// Exploration campaigns on the mlx5 IMS chip under its own fault kinds
// (command errors and timeouts, a firmware hang, health syndromes), 200
// seeds per kind; no checker may report a violation. The shipped chips'
// campaigns are in campaign.test.ts.

import { expect } from "chai";
import { runCampaign, type CampaignSummary } from "../../../lib/explore/index.ts";
import { registerScenario } from "../../../lib/explore/run.ts";
import { mlx5Traffic } from "../../mutants/mlx5.ts";
import { FIXED, PER_KIND, printSummaries, report } from "./campaign_fixture.ts";

const summaries: CampaignSummary[] = [];

/**
 * The mlx5 IMS chip under its own fault kinds: the NIC with two queues whose
 * completion vectors are on the queue-backed IMS chip (the scenario of
 * test/mutants/mlx5.ts with no mutation set), 20 ms of seeded traffic, then
 * mlx5_remove(). A firmware hang makes every teardown command wait out its
 * timeout until the health poller notices, so the run gets 120 s of virtual
 * time. The generic kinds are not run here: a dropped MSI write to a
 * one-shot EQ loses its completions for good (the EQ is never polled again),
 * on real hardware as here, so "no-lost-completion" would rightly fail.
 */
const MLX5 = "mlx5-ims-traffic";
registerScenario({ ...mlx5Traffic, name: MLX5, description: mlx5Traffic.description, limitNs: 120e9 });
const MLX5_KINDS = ["mlx5-cmd", "mlx5-fw-hang", "mlx5-health"];

describe(`lib/explore campaigns on the mlx5 IMS chip (${FIXED ?? PER_KIND} seeds per mlx5 fault kind)`, function () {
  this.timeout(0);
  after(() => printSummaries(summaries));
  for (const kind of MLX5_KINDS) {
    it(`${MLX5} under ${kind}: 0 violations`, async () => {
      const s = await runCampaign(MLX5, kind, { seeds: FIXED !== undefined ? Number(FIXED) : PER_KIND });
      summaries.push(s);
      expect(s.failing.length, report(s)).to.equal(0);
      expect(s.notApplicable).to.equal(0);
      expect(s.faultsFired, `${kind} fired in no run`).to.be.greaterThan(0);
    });
  }
});
