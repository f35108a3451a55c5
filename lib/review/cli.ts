// SPDX-License-Identifier: GPL-2.0-only
// The irqlab command line (bin/irqlab.ts calls main()). Exit codes for
// scripts: 0 everything passed, 1 a check, a review or an exploration found
// a problem (or a scenario failed), 2 usage error.

import { writeFileSync } from "node:fs";
import { basename, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { callbackRows, renderCallbackMermaid, renderCallbackTable } from "./callbacks.ts";
import { runConformance, subjectsOfModule, type ChipSubject } from "./conformance.ts";
import { exploreCheckers, exploreStrategies, explore, findExploreChecker, findExploreStrategy } from "./explore.ts";
import { renderFtrace } from "./ftrace.ts";
import { dotToSvg, machineHierarchyDot, machineHierarchyText } from "./hierarchy.ts";
import { slug, writeReport } from "./report.ts";
import { findScenario, scenarios, type Scenario } from "./scenarios.ts";
import { shippedSubjects } from "./subjects.ts";
import { toChromeTrace } from "./timeline.ts";
// lib/explore plugs its PCT strategies and checkers into the registry
import "../explore/review.ts";
import * as exploration from "../explore/index.ts";
import type { FaultPlan as exploration_plan } from "../explore/index.ts";

export interface CliIo {
  stdout(s: string): void;
  stderr(s: string): void;
  /** Is stderr a terminal (progress bars redraw in place)? */
  isTTY?: boolean;
  /** Directory relative paths resolve against (default process.cwd()). */
  cwd?: string;
}

export const EXIT_OK = 0;
export const EXIT_FAIL = 1;
export const EXIT_USAGE = 2;

class UsageError extends Error {}

function int(name: string, min: number): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be an integer >= ${min}`);
    return n;
  };
}

function scenarioOf(name: string): Scenario {
  const sc = findScenario(name);
  if (!sc) throw new UsageError(`unknown scenario "${name}"; known: ${Object.keys(scenarios).join(", ")}`);
  return sc;
}

/**
 * Load a user's module into the same module graph as this code. Under a
 * CommonJS loader (mocha with tsx's require hook) import() would load a
 * second copy of irqlab, whose kernel state the suite would not see.
 */
async function loadModule(path: string): Promise<Record<string, unknown>> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  if (typeof require === "function") return require(path) as Record<string, unknown>;
  return (await import(pathToFileURL(path).href)) as Record<string, unknown>;
}

/** A progress bar line: [#####.....] 12/40 seeds, 1 failing. */
export function progressBar(done: number, total: number, failures: number, width = 30): string {
  const full = total ? Math.round((done / total) * width) : width;
  return `[${"#".repeat(full)}${".".repeat(width - full)}] ${done}/${total} seeds${failures ? `, ${failures} failing` : ""}`;
}

/** Run the command line `argv` (without "node irqlab"); returns the exit code. */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  let code = EXIT_OK;
  const cwd = io.cwd ?? process.cwd();
  const program = new Command();
  program
    .name("irqlab")
    .description("A TypeScript rendering of the Linux interrupt hierarchy on a simulated machine.\nExit codes: 0 ok, 1 a check failed, 2 usage error.")
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout(s), writeErr: (s) => io.stderr(s) })
    .showHelpAfterError("(add --help for usage)");

  const machineOpts = (c: Command): Command =>
    c.option("--seed <n>", "seed of every random choice", int("--seed", 0), 1).option("--cpus <n>", "number of CPUs", int("--cpus", 1), 4);

  machineOpts(
    program
      .command("run")
      .description("run a scenario and print its kernel log, /proc/interrupts and the irq domain hierarchy")
      .argument("[scenario]", "scenario name (see `irqlab list`)", "default")
      .option("--dot <file>", "also write the hierarchy as Graphviz DOT")
      .option("--svg <file>", "also write the hierarchy as SVG (Graphviz compiled to WebAssembly)"),
  ).action(async (name: string, o: { seed: number; cpus: number; dot?: string; svg?: string }) => {
    const sc = scenarioOf(name);
    const run = await sc.run({ seed: o.seed, cpus: o.cpus });
    io.stdout(run.m.dmesg());
    io.stdout("\n$ cat /proc/interrupts\n");
    io.stdout(run.m.procInterrupts());
    io.stdout("\nirq domain hierarchy:\n");
    io.stdout(machineHierarchyText(run.m));
    if (o.dot || o.svg) {
      const dot = machineHierarchyDot(run.m, { irqs: run.irqs, title: `irqlab scenario ${sc.name}` });
      if (o.dot) writeFileSync(resolve(cwd, o.dot), dot);
      if (o.svg) writeFileSync(resolve(cwd, o.svg), await dotToSvg(dot));
    }
    const problems = sc.check?.(run) ?? [];
    for (const p of problems) io.stderr(`irqlab: ${sc.name}: ${p}\n`);
    if (problems.length) code = EXIT_FAIL;
  });

  machineOpts(
    program
      .command("trace")
      .description("run a scenario and print its trace: a callback table (text), the kernel's ftrace file, a Perfetto timeline or a Mermaid sequence diagram")
      .argument("<scenario>", "scenario name (see `irqlab list`)")
      .addOption(new Option("--format <format>", "output format").choices(["text", "ftrace", "perfetto", "mermaid"]).default("text"))
      .option("--irq <n...>", "only these irqs (text, mermaid; default: the scenario's)")
      .option("--all", "text/mermaid: every irq, boot included")
      .option("--irqlab-events", "ftrace: interleave irqlab's own events (named irqlab_*)")
      .option("--out <file>", "write to a file instead of stdout"),
  ).action(async (name: string, o: { seed: number; cpus: number; format: string; irq?: string[]; all?: boolean; irqlabEvents?: boolean; out?: string }) => {
    const sc = scenarioOf(name);
    const irqs = o.irq?.map((x) => {
      const n = Number(x);
      if (!Number.isInteger(n) || n < 0) throw new UsageError(`--irq: "${x}" is not an irq number`);
      return n;
    });
    const run = await sc.run({ seed: o.seed, cpus: o.cpus });
    const recs = run.m.trace();
    const sel = o.all ? {} : { irqs: irqs ?? run.irqs };
    let text: string;
    switch (o.format) {
      case "ftrace":
        text = renderFtrace(recs, { irqlab: o.irqlabEvents ?? false, cpus: run.m.options.cpus });
        break;
      case "perfetto":
        text = JSON.stringify(toChromeTrace(recs, { title: `irqlab scenario ${sc.name} seed ${o.seed}` }));
        break;
      case "mermaid":
        text = renderCallbackMermaid(callbackRows(recs, sel));
        break;
      default:
        text = renderCallbackTable(callbackRows(recs, sel));
    }
    if (o.out) writeFileSync(resolve(cwd, o.out), text);
    else io.stdout(text);
  });

  program
    .command("review")
    .description("run the irq_chip conformance suite on the chip(s) a module declares and write a report (pass/fail table, callback traces, pictures)")
    .argument("[module]", "a .ts module exporting a ChipSubject (or calling describeIrqChipConformance)")
    .option("--shipped", "review the chips irqlab ships instead of a module")
    .option("--out <dir>", "report directory", "report/review")
    .action(async (mod: string | undefined, o: { shipped?: boolean; out: string }) => {
      let subjects: ChipSubject[];
      if (o.shipped) subjects = shippedSubjects();
      else {
        if (!mod) throw new UsageError("review: give a module, or --shipped");
        const path = resolve(cwd, mod);
        let m: Record<string, unknown>;
        try {
          m = await loadModule(path);
        } catch (e) {
          throw new UsageError(`review: cannot load ${mod}: ${e instanceof Error ? e.message.split("\n")[0]! : String(e)}`);
        }
        subjects = subjectsOfModule(m);
        if (!subjects.length) throw new UsageError(`review: ${mod} declares no chip subject (export { name, factory, options }, or call describeIrqChipConformance())`);
      }
      for (const s of subjects) {
        io.stdout(`irqlab review: ${s.name}\n`);
        const results = await runConformance(s, (r, i, n) => io.stdout(`  ${r.ok ? "pass" : "FAIL"}  ${String(i + 1).padStart(2)}/${n}  ${r.check}\n${r.ok ? "" : `        ${r.error!.split("\n")[0]!}\n`}`));
        const dir = resolve(cwd, o.out, subjects.length > 1 || o.shipped ? slug(s.name) : slug(basename(mod ?? s.name).replace(/\.[cm]?[jt]s$/, "")));
        await writeReport(dir, s, results);
        const failed = results.filter((r) => !r.ok).length;
        io.stdout(`  ${results.length - failed}/${results.length} passed; report in ${dir}\n`);
        if (failed) code = EXIT_FAIL;
      }
    });

  program
    .command("explore")
    .description("run a scenario under many seeded schedules, check every run, print the failing seeds; with --seed, one run of an exploration scenario (the replay line a failing run prints)")
    .argument("<scenario>", "scenario name (see `irqlab list`)")
    .option("--seeds <n>", "number of seeds", int("--seeds", 1))
    .option("--first <n>", "first seed", int("--first", 0), 1)
    .option("--seed <n>", "one run of an exploration scenario with this seed (lib/explore)", int("--seed", 0))
    .option("--faults <kind|plan>", "with --seed: a fault kind (its plan is generated from the seed) or a plan as JSON")
    .option("--strategy <name>", "scheduling strategy (see `irqlab list`; with --seed also pct:seed:depth:steps and choices:...)", "random")
    .option("--checker <name...>", "checkers to run (default: all, see `irqlab list`)")
    .option("--cpus <n>", "number of CPUs", int("--cpus", 1), 4)
    .option("--stop", "stop at the first failing seed")
    .action(async (name: string, o: { seeds?: number; first: number; seed?: number; faults?: string; strategy: string; checker?: string[]; cpus: number; stop?: boolean }) => {
      if (o.seed !== undefined) {
        code = await exploreOne(name, o.seed, o.strategy, o.faults ?? null, o.checker);
        return;
      }
      if (o.faults !== undefined) throw new UsageError("--faults needs --seed (one run of an exploration scenario)");
      if (o.seeds === undefined) throw new UsageError("--seeds <n> is required (or --seed <n> for one run of an exploration scenario)");
      const sc = scenarioOf(name);
      if (!findExploreStrategy(o.strategy)) throw new UsageError(`unknown strategy "${o.strategy}"; known: ${exploreStrategies().map((s) => s.name).join(", ")}`);
      for (const c of o.checker ?? []) if (!findExploreChecker(c)) throw new UsageError(`unknown checker "${c}"; known: ${exploreCheckers().map((x) => x.name).join(", ")}`);
      const tty = io.isTTY ?? false;
      const res = await explore(sc, {
        seeds: o.seeds,
        first: o.first,
        strategy: o.strategy,
        ...(o.checker ? { checkers: o.checker } : {}),
        machine: { cpus: o.cpus },
        stopOnFailure: o.stop ?? false,
        onProgress: (done, total, failures) => {
          if (tty) io.stderr(`\r${progressBar(done, total, failures)}`);
          else if (done === total || done % Math.max(1, Math.floor(total / 10)) === 0) io.stderr(`${progressBar(done, total, failures)}\n`);
        },
      });
      if (tty) io.stderr("\n");
      for (const f of res.failures) {
        io.stdout(`seed ${f.seed} FAILED\n${f.problems.map((p) => `  ${p}`).join("\n")}\n  replay: irqlab explore ${sc.name} --first ${f.seed} --seeds 1 --strategy ${o.strategy} --cpus ${o.cpus}\n`);
      }
      io.stdout(`${res.runs} seeds run, ${res.failures.length} failed${res.failures.length ? `; first failing seed: ${res.failures[0]!.seed}` : ""}\n`);
      if (res.failures.length) code = EXIT_FAIL;
    });

  /** One run of a lib/explore scenario: what replayCommand() prints. */
  async function exploreOne(name: string, seed: number, strategy: string, faults: string | null, checkerNames: string[] | undefined): Promise<number> {
    const known = exploration.scenarios().map((s) => s.name);
    if (!known.includes(name)) throw new UsageError(`unknown exploration scenario "${name}"; known: ${known.join(", ")}`);
    let plan: exploration_plan | string | null = faults;
    if (faults !== null && faults.trimStart().startsWith("{")) {
      try {
        plan = JSON.parse(faults) as exploration_plan;
      } catch (e) {
        throw new UsageError(`--faults: not a JSON fault plan: ${(e as Error).message}`);
      }
    } else if (faults !== null && !exploration.faultKinds().some((k) => k.name === faults)) {
      throw new UsageError(`unknown fault kind "${faults}"; known: ${exploration.faultKinds().map((k) => k.name).join(", ")}`);
    }
    const checkerList = exploration.checkers().map((c) => c.name);
    for (const c of checkerNames ?? []) if (!checkerList.includes(c)) throw new UsageError(`unknown checker "${c}"; known: ${checkerList.join(", ")}`);
    let r: Awaited<ReturnType<typeof exploration.runSeed>>;
    try {
      r = await exploration.runSeed(name, seed, strategy, plan, checkerNames ? { checkers: checkerNames } : {});
    } catch (e) {
      // a bad strategy spec is the user's, not a failed run
      if (/strategy/i.test((e as Error).message)) throw new UsageError((e as Error).message.replace(/^irqlab: /, ""));
      throw e;
    }
    io.stdout(`${exploration.formatResult(r)}\n`);
    return r.ok ? EXIT_OK : EXIT_FAIL;
  }

  program
    .command("list")
    .description("list the scenarios, exploration strategies and checkers")
    .action(() => {
      io.stdout("scenarios:\n");
      for (const s of Object.values(scenarios)) io.stdout(`  ${s.name.padEnd(14)} ${s.description}\n`);
      io.stdout("explore strategies:\n");
      for (const s of exploreStrategies()) io.stdout(`  ${s.name.padEnd(14)} ${s.description}\n`);
      io.stdout("explore checkers:\n");
      for (const c of exploreCheckers()) io.stdout(`  ${c.name.padEnd(14)} ${c.description}\n`);
      io.stdout("exploration scenarios (irqlab explore <name> --seed N [--strategy S] [--faults KIND]):\n");
      for (const s of exploration.scenarios()) io.stdout(`  ${s.name.padEnd(20)} ${s.description}\n`);
      io.stdout("fault kinds:\n");
      for (const k of exploration.faultKinds()) io.stdout(`  ${k.name.padEnd(20)} ${k.description}\n`);
    });

  try {
    await program.parseAsync([...argv], { from: "user" });
  } catch (e) {
    if (e instanceof CommanderError) {
      return e.code === "commander.helpDisplayed" || e.code === "commander.help" || e.code === "commander.version" || e.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    }
    if (e instanceof UsageError) {
      io.stderr(`irqlab: ${e.message}\n`);
      return EXIT_USAGE;
    }
    io.stderr(`irqlab: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    return EXIT_FAIL;
  }
  return code;
}
