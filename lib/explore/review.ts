// SPDX-License-Identifier: GPL-2.0-only
// Plugs lib/explore into the CLI's registry (lib/review/explore.ts): the PCT
// strategy, and the checkers that can judge a finished run of a CLI
// scenario. Importing this module registers them.
//
// A CLI scenario hands over its machine only when it is done, so the step
// checkers judge the final state once, and the history checkers read the
// whole trace with the device lines inferred from the MSI descriptors the
// devices hold at the end (a line freed and reallocated under another irq
// during the run is judged under its last one). Checkers the CLI has
// already ("scenario", "no-stray-vector"), the splat check (the CLI fails a
// run on an unexpected splat itself) and "no-leaks" (no baseline) stay out.

import type { Machine } from "../machine.ts";
import { irq_to_desc } from "../irq/irqdesc.ts";
import { MSI_DEFAULT_DOMAIN } from "../irq/msi.ts";
import { pci_all_devices, pci_name } from "../../drivers/pci/pci.ts";
import { findExploreChecker, findExploreStrategy, registerExploreChecker, registerExploreStrategy } from "../review/explore.ts";
import { checkers, msiDescs, type CheckEnv, type Line } from "./check.ts";
import "./checkers.ts";
import "./checkers_history.ts";

const LEFT_OUT = new Set(["no-splat", "no-leaks"]);

/** Every MSI-X line of every PCI device, as the checkers watch them: from the start of the trace, not yet requested. */
export function linesFromMsiDescs(m: Machine): Line[] {
  return m.enter(() => {
    const out: Line[] = [];
    for (const pdev of pci_all_devices()) {
      for (const desc of msiDescs(pdev, MSI_DEFAULT_DOMAIN)) {
        if (!desc.irq) continue;
        out.push({ bdf: pci_name(pdev), index: desc.msi_index, irq: desc.irq, name: irq_to_desc(desc.irq)?.action?.name ?? "", since: 0, depth: 1, hasAction: false });
      }
    }
    return out;
  });
}

for (const depth of [2, 3]) {
  const name = depth === 3 ? "pct" : `pct-d${depth}`;
  if (findExploreStrategy(name)) continue;
  registerExploreStrategy({
    name,
    description: `probabilistic concurrency testing (lib/sim/strategy.ts): random task priorities from the seed, ${depth - 1} priority change point(s) among the first 64 scheduling decisions`,
    machine: (seed) => ({ seed, strategy: `pct:${seed}:${depth}:64` }),
  });
}

for (const c of checkers()) {
  if (LEFT_OUT.has(c.name) || c.when === "end" || findExploreChecker(c.name)) continue;
  registerExploreChecker({
    name: c.name,
    description: c.when === "step" ? `${c.description} (judged on the final state)` : c.description,
    check(run) {
      const env: CheckEnv = { m: run.m, records: run.m.trace(), lines: linesFromMsiDescs(run.m), boundNs: 5_000_000, baseline: null, expectedSplats: [] };
      return run.m.enter(() => c.check(env)).map((f) => f.message);
    },
  });
}
