// SPDX-License-Identifier: GPL-2.0-only
// Issue 9's mutant corpus: every mutant is caught by a named check, and the
// shipped code passes the same check (docs/exploration.md, "Mutants").
import { describeMutants } from "./harness.ts";
import { conformanceMutants } from "./chips.ts";
import { exploredMutants } from "./explored.ts";

describeMutants("mutants caught by a check of the conformance suite", conformanceMutants);
describeMutants("mutants caught by a checker of a pinned exploration run", exploredMutants);
