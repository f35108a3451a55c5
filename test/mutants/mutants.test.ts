// SPDX-License-Identifier: GPL-2.0-only
// Issue 9's mutant corpus: every mutant is caught by a named check, and the
// shipped code passes the same check (docs/exploration.md, "Mutants").
import { expect } from "chai";
import { describeMutants, runExploreCatch, type ExploreCatch } from "./harness.ts";
import { conformanceMutants } from "./chips.ts";
import { exploredMutants } from "./explored.ts";
import { mlx5Mutants } from "./mlx5.ts";

describeMutants("mutants caught by a check of the conformance suite", conformanceMutants);
describeMutants("mutants caught by a checker of a pinned exploration run", exploredMutants);
describeMutants("mutants of mlx5_core and the mlx5 IMS chip caught by no-lost-completion", mlx5Mutants);

describe("a mutant's failing run replays", function () {
  this.timeout(20_000);
  for (const name of ["message rewritten while unmasked under torn latching", "free without synchronize"]) {
    it(`${name}: from its strategy's describe() and the plan, and from the recorded forced choices, to the same violations and trace digest`, async () => {
      const mut = exploredMutants.find((x) => x.name === name)!;
      const c = mut.catch as ExploreCatch;
      const first = await runExploreCatch(mut, true);
      expect(first.ok).to.equal(false);
      for (const strategy of [first.strategy, first.choices]) {
        const again = await runExploreCatch({ ...mut, catch: { ...c, strategy, faults: first.plan } }, true);
        expect(again.violations).to.deep.equal(first.violations);
        expect(again.digest).to.equal(first.digest);
      }
    });
  }
});
