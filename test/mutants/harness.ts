// SPDX-License-Identifier: GPL-2.0-only
// The mutant harness (issue 9): a mutant is a buggy variant of a shipped
// chip or core path, applied at run time without editing the shipped source
// (a chip callback, a domain or parent op, a device knob or an irqlab test
// hook swapped for the duration of one run), together with the NAMED check
// that must catch it: a check of the conformance suite
// (lib/review/conformance.ts) or a checker of an exploration run
// (lib/explore) at a pinned seed, strategy and fault plan.
//
// describeMutants() turns a list of mutants into two mocha tests each:
// "mutant: <bug> is caught by <check>" (the mutated run fails that check)
// and "unmutated: ... passes <check>" (the same run on the shipped code
// passes it). Adding a mutant is one entry in a list.

import { expect } from "chai";
import { Machine, type MachineOptions } from "../../lib/machine.ts";
import { checksFor, runCheck, type ChipRig, type ChipSubject, type CheckResult } from "../../lib/review/conformance.ts";
import { formatResult, runSeed, type ExploreScenario, type FaultPlan, type RunResult } from "../../lib/explore/index.ts";
import { traced_chip } from "../../lib/irq/trace.ts";
import type { irq_chip } from "../../lib/irq/irq.ts";

/** Undo what a mutant applied. */
export type Undo = () => void;

/** Short names of the conformance checks, in the suite's order (lib/review/conformance_checks.ts). */
export const CONFORMANCE_CHECKS = {
  delivery: /^delivers each interrupt once/,
  mask: /^irq_mask\(\) stops delivery/,
  "unmask-latched": /^irq_unmask\(\) delivers an interrupt latched while masked/,
  "disable-enable": /^nothing is lost across disable_irq\(\)\/enable_irq\(\)/,
  affinity: /^an affinity change delivers at the new CPU/,
  message: /^the composed message equals the device's/,
  teardown: /^teardown/,
  context: /^chip callbacks respect their context/,
  "error-paths": /^error paths/,
} as const;
export type ConformanceCheckName = keyof typeof CONFORMANCE_CHECKS;

/** Caught by one check of the conformance suite, on a fresh rig of `subject`. */
export interface ConformanceCatch {
  how: "conformance";
  subject: ChipSubject;
  check: ConformanceCheckName;
  /** The failure message must match (the check's own words for the bug). */
  message?: RegExp;
}

/** Caught by a checker of one exploration run, pinned to (scenario, seed, strategy, faults). */
export interface ExploreCatch {
  how: "explore";
  scenario: string | ExploreScenario;
  seed: number;
  strategy: string;
  faults: FaultPlan | string | null;
  /** The lib/explore checker that reports the mutant. */
  checker: string;
  /** The violation's message must match. */
  message?: RegExp;
  /** Extra machine options for both runs (a device knob the scenario does not set). */
  machine?: Partial<MachineOptions>;
  /** Only these checkers run (default: all). */
  checkers?: readonly string[];
}

export type Catch = ConformanceCatch | ExploreCatch;

export interface Mutant {
  /** The bug, as the issue names it ("missing IEC flush"). */
  name: string;
  /** What the mutant changes, in one sentence. */
  bug: string;
  /** Process-wide patch (a template chip, a parent op, a test hook), undone after the run. */
  apply?(): Undo;
  /** Conformance only: mutate the rig the factory built (its machine's chips), before the check runs. */
  mutateRig?(rig: ChipRig): void;
  /** Conformance only: the mutated rig is another subject (a device knob: the same chip on broken hardware). */
  subject?: ChipSubject;
  catch: Catch;
}

/** Swap `obj[key]` for `value`; the undo puts the old value back. */
export function patch<T extends object, K extends keyof T>(obj: T, key: K, value: T[K]): Undo {
  const had = Object.prototype.hasOwnProperty.call(obj, key);
  const old = obj[key];
  obj[key] = value;
  return () => {
    if (had) obj[key] = old;
    else delete obj[key];
  };
}

type ChipCallback = Exclude<keyof irq_chip, "name" | "flags" | "__orig" | "parent_device">;

/**
 * Replace callback `cb` of a registered chip, in the chip as its driver
 * registered it and in its traced view (lib/irq/trace.ts), which irq_data
 * points at once the chip was installed. `make` gets the original callback
 * (a chip that has none gets one).
 */
export function patchChip<C extends ChipCallback>(chip: irq_chip, cb: C, make: (orig: NonNullable<irq_chip[C]>) => irq_chip[C]): Undo {
  const orig = chip[cb];
  // a chip without the callback gets one (the mutant must not call `orig` then)
  const fn = make((orig ?? missing(chip, cb)) as NonNullable<irq_chip[C]>);
  const view = traced_chip(chip);
  const undos = [patch(chip, cb, fn), ...(view !== chip ? [patch(view, cb, fn)] : [])];
  return () => {
    for (const u of undos.reverse()) u();
  };
}

function missing(chip: irq_chip, cb: string): () => never {
  return () => {
    throw new Error(`mutant: chip ${chip.name} has no ${cb} to call`);
  };
}

/** Apply several patches as one; undone in reverse order. */
export function all(...undos: Undo[]): Undo {
  return () => {
    for (const u of undos.reverse()) u();
  };
}

function conformanceCheck(name: ConformanceCheckName): ReturnType<typeof checksFor>[number] {
  const c = checksFor({}).find((x) => CONFORMANCE_CHECKS[name].test(x.title));
  if (!c) throw new Error(`mutant harness: no conformance check "${name}"`);
  return c;
}

/** The conformance check run on the subject, mutated or not. */
export async function runConformanceCatch(mut: Mutant, mutated: boolean): Promise<CheckResult> {
  const c = mut.catch as ConformanceCatch;
  const base = mutated && mut.subject ? mut.subject : c.subject;
  const subject: ChipSubject = mutated
    ? {
        ...base,
        factory: async () => {
          const rig = await base.factory();
          mut.mutateRig?.(rig);
          return rig;
        },
      }
    : base;
  const undo = mutated && mut.apply ? mut.apply() : null;
  try {
    const r = await runCheck(subject, conformanceCheck(c.check));
    // runCheck() reported the machine's splats in its result: the mocha hook
    // need not report them again
    if (r.m) {
      const i = Machine.created.indexOf(r.m);
      if (i >= 0) Machine.created.splice(i, 1);
    }
    return r;
  } finally {
    undo?.();
  }
}

/** The pinned exploration run, mutated or not. */
export async function runExploreCatch(mut: Mutant, mutated: boolean, seed?: number): Promise<RunResult> {
  const c = mut.catch as ExploreCatch;
  const undo = mutated && mut.apply ? mut.apply() : null;
  try {
    return await runSeed(c.scenario, seed ?? c.seed, c.strategy, c.faults, {
      ...(c.machine ? { machine: c.machine } : {}),
      ...(c.checkers ? { checkers: c.checkers } : {}),
    });
  } finally {
    undo?.();
  }
}

/** The name of the check a mutant is caught by, as the test titles say it. */
export function catchName(c: Catch): string {
  return c.how === "conformance" ? `conformance check "${c.check}"` : `${c.checker} (exploration ${typeof c.scenario === "string" ? c.scenario : c.scenario.name} seed ${c.seed})`;
}

/** Does a mutated run fail the named check? (for the seed search, test/mutants/search.ts) */
export async function caught(mut: Mutant, seed?: number): Promise<{ caught: boolean; report: string }> {
  if (mut.catch.how === "conformance") {
    const r = await runConformanceCatch(mut, true);
    return { caught: !r.ok && (mut.catch.message?.test(r.error ?? "") ?? true), report: r.ok ? "passed" : r.error! };
  }
  const c = mut.catch;
  const r = await runExploreCatch(mut, true, seed);
  const hit = r.violations.some((v) => v.checker === c.checker && (c.message?.test(v.message) ?? true));
  return { caught: hit, report: formatResult(r) };
}

/** Two tests per mutant: the mutated run fails the named check, the shipped code passes it. */
export function describeMutants(title: string, mutants: readonly Mutant[]): void {
  describe(title, function () {
    // the reset scenario runs about 3 s of virtual time through the mlx5 recovery
    this.timeout(20_000);
    for (const mut of mutants) {
      const c = mut.catch;
      if (c.how === "conformance") {
        it(`mutant: ${mut.name} is caught by ${catchName(c)}`, async () => {
          const r = await runConformanceCatch(mut, true);
          if (process.env.MUTANTS_VERBOSE) console.log(r.error);
          expect(r.ok, `${mut.bug}: the check passed`).to.equal(false);
          if (c.message) expect(r.error).to.match(c.message);
        });
        it(`unmutated: ${c.subject.name} passes conformance check "${c.check}"`, async () => {
          const r = await runConformanceCatch(mut, false);
          expect(r.error ?? "").to.equal("");
          expect(r.ok).to.equal(true);
        });
      } else {
        it(`mutant: ${mut.name} is caught by ${catchName(c)}`, async () => {
          const r = await runExploreCatch(mut, true);
          const names = r.violations.map((v) => v.checker);
          expect(names, formatResult(r)).to.include(c.checker);
          if (c.message) expect(r.violations.filter((v) => v.checker === c.checker).map((v) => v.message).some((m) => c.message!.test(m)), formatResult(r)).to.equal(true);
          expect(r.replay).to.match(new RegExp(`^irqlab explore \\S+ --seed ${c.seed} --strategy `));
        });
        it(`unmutated: the same run (seed ${c.seed}, ${c.strategy}${c.faults ? `, faults ${typeof c.faults === "string" ? c.faults : "plan"}` : ""}) has no violation`, async () => {
          const r = await runExploreCatch(mut, false);
          expect(r.violations.map((v) => `${v.checker}: ${v.message}`), formatResult(r)).to.deep.equal([]);
        });
      }
    }
  });
}
