// SPDX-License-Identifier: GPL-2.0-only
// Issue 9's mutant corpus: every mutant is caught by a named check, and the
// shipped code passes the same check (docs/exploration.md, "Mutants").
import { describeMutants } from "./harness.ts";
import { conformanceMutants } from "./chips.ts";
import { exploredMutants } from "./explored.ts";
import { mlx5Mutants } from "./mlx5.ts";

describeMutants("mutants caught by a check of the conformance suite", conformanceMutants);
describeMutants("mutants caught by a checker of a pinned exploration run", exploredMutants);
describeMutants("mutants of mlx5_core and the mlx5 IMS chip caught by no-lost-completion", mlx5Mutants);
