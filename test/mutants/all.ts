// SPDX-License-Identifier: GPL-2.0-only
// The whole mutant corpus, in the order of kinds: the list the test
// and the seed search read. Adding a mutant is one entry in one of the lists.
import { conformanceMutants } from "./chips.ts";
import { exploredMutants } from "./explored.ts";
import { mlx5Mutants } from "./mlx5.ts";
import type { Mutant } from "./harness.ts";

export const all: Mutant[] = [...conformanceMutants, ...exploredMutants, ...mlx5Mutants];
