#!/usr/bin/env -S npx tsx
// SPDX-License-Identifier: GPL-2.0-only
// The irqlab command line.

import { Command } from "commander";
import { scenarios } from "../lib/review/scenarios.ts";

const program = new Command();
program.name("irqlab").description("A TypeScript rendering of the Linux interrupt hierarchy on a simulated machine");

program
  .command("run")
  .description("run a scenario (default: the default machine) and print its kernel log")
  .argument("[scenario]", "scenario name", "default")
  .option("--seed <n>", "seed of every random choice", "1")
  .option("--cpus <n>", "number of CPUs", "4")
  .action(async (name: string, o: { seed: string; cpus: string }) => {
    const sc = scenarios[name];
    if (!sc) {
      process.stderr.write(`irqlab: unknown scenario "${name}"; known: ${Object.keys(scenarios).join(", ")}\n`);
      process.exitCode = 2;
      return;
    }
    const m = await sc.run({ seed: Number(o.seed), cpus: Number(o.cpus) });
    process.stdout.write(m.dmesg());
  });

await program.parseAsync(process.argv);
