// SPDX-License-Identifier: GPL-2.0-only
// Find seeds for an exploration mutant (not run in CI):
//   npx tsx test/mutants/search.ts "<mutant name>" [first] [count] [strategy template, "{seed}" replaced]
// Prints, per seed, the checkers the mutated run violated and whether the
// same run on the shipped code is clean; pin a seed whose mutated run hits
// the mutant's checker and whose clean run has no violation.

import { runExploreCatch, type ExploreCatch, type Mutant } from "./harness.ts";
import { all } from "./all.ts";

const [name, first = "1", count = "20", template] = process.argv.slice(2);
const mut = all.find((m: Mutant) => m.name === name) ?? all.find((m) => m.catch.how === "explore" && m.name.includes(name ?? ""));
if (!mut || mut.catch.how !== "explore") {
  console.error(`no exploration mutant "${name}"; known: ${all.filter((m) => m.catch.how === "explore").map((m) => m.name).join(", ")}`);
  process.exit(2);
}
const c = mut.catch as ExploreCatch;
for (let seed = Number(first); seed < Number(first) + Number(count); seed++) {
  const strategy = (template ?? c.strategy.replace(String(c.seed), "{seed}")).replace("{seed}", String(seed));
  const m2: Mutant = { ...mut, catch: { ...c, seed, strategy } };
  const bad = await runExploreCatch(m2, true);
  const hit = bad.violations.some((v) => v.checker === c.checker);
  let line = `seed ${seed} ${strategy}: mutant ${hit ? "CAUGHT" : "missed"} [${[...new Set(bad.violations.map((v) => v.checker))].join(", ")}]`;
  if (hit) {
    const ok = await runExploreCatch(m2, false);
    line += ` clean ${ok.ok ? "ok" : `VIOLATIONS [${ok.violations.map((v) => v.checker).join(", ")}]`}`;
  }
  console.log(line);
}
