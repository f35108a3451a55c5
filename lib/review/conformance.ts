// SPDX-License-Identifier: GPL-2.0-only
// The irq_chip conformance suite: what every chip of an MSI-style hierarchy
// must get right, as named checks that run on a fresh machine each.
//
// Use it from mocha:
//
//   describeIrqChipConformance("my chip", factory, { mask: "sync" });
//
// or from the command line, `irqlab review <module>`, which imports the
// module, collects the subjects it declares (its exports, or the
// describeIrqChipConformance() calls it makes) and runs the same checks
// without mocha, writing a report (lib/review/report.ts).
//
// A factory boots a machine with the device, probes it so that the chip's
// interrupts are allocated (activated, not requested), and returns a ChipRig:
// the interrupts, a hardware back door that makes the device raise one, and
// optionally the message the device holds. The suite itself requests, masks,
// moves and frees the interrupts through the kernel API.

import { UnexpectedSplatError } from "../machine.ts";
import { conformanceChecks, type ConformanceCheck } from "./conformance_checks.ts";
import type { ChipFactory, ChipRig, ChipSubject, CheckResult, ConformanceOptions } from "./conformance_types.ts";

export * from "./conformance_types.ts";

const registered: ChipSubject[] = [];

/** Subjects declared through describeIrqChipConformance() since the last call (the review command reads them). */
export function takeRegisteredSubjects(): ChipSubject[] {
  return registered.splice(0);
}

/** The checks that apply to a chip with these options, in order. */
export function checksFor(options: ConformanceOptions = {}): ConformanceCheck[] {
  return conformanceChecks.filter((c) => !c.applies || c.applies(options));
}

// mocha's globals when the module runs under mocha; absent under `irqlab review`
declare const describe: ((title: string, fn: () => void) => unknown) | undefined;
declare const it: ((title: string, fn: () => Promise<void>) => unknown) | undefined;

/**
 * Declare the conformance suite of one chip as mocha tests: one `it` per
 * check, each on a machine of its own from `factory`. Outside mocha it only
 * registers the subject for `irqlab review`.
 */
export function describeIrqChipConformance(name: string, factory: ChipFactory, options: ConformanceOptions = {}): void {
  registered.push({ name, factory, options });
  if (typeof describe !== "function" || typeof it !== "function") return;
  const mochaIt = it;
  describe(`${name}: irq_chip conformance`, () => {
    for (const c of checksFor(options)) {
      mochaIt(c.title, async () => {
        const rig = await factory();
        await c.run(rig, options);
      });
    }
  });
}

/** Run one check on a fresh rig; never throws for a failed check. */
export async function runCheck(subject: ChipSubject, c: ConformanceCheck): Promise<CheckResult> {
  let rig: ChipRig | undefined;
  try {
    rig = await subject.factory();
    await c.run(rig, subject.options ?? {});
    // splats outside m.run() (the mocha hook's job under mocha)
    rig.m.checkSplats();
    return { check: c.title, ok: true, m: rig.m, rig };
  } catch (e) {
    const msg = e instanceof UnexpectedSplatError ? `a chip callback or the path under test printed a kernel splat:\n${e.message}` : e instanceof Error ? e.message : String(e);
    return { check: c.title, ok: false, error: msg, ...(rig ? { m: rig.m, rig } : {}) };
  }
}

/** Run every applicable check of `subject`, in order. */
export async function runConformance(subject: ChipSubject, onResult?: (r: CheckResult, i: number, n: number) => void): Promise<CheckResult[]> {
  const checks = checksFor(subject.options);
  const out: CheckResult[] = [];
  for (const [i, c] of checks.entries()) {
    const r = await runCheck(subject, c);
    out.push(r);
    onResult?.(r, i, checks.length);
  }
  return out;
}

/** Is `x` shaped like a ChipSubject? */
export function isChipSubject(x: unknown): x is ChipSubject {
  if (typeof x !== "object" || x === null) return false;
  const s = x as Partial<ChipSubject>;
  return typeof s.name === "string" && typeof s.factory === "function";
}

/** The subjects a user's module declares: exported ones (default, `subject`, `subjects`, any export) and registered ones. */
export function subjectsOfModule(mod: Record<string, unknown>): ChipSubject[] {
  const out: ChipSubject[] = [];
  const add = (x: unknown): void => {
    if (isChipSubject(x) && !out.includes(x)) out.push(x);
    else if (Array.isArray(x)) for (const y of x) add(y);
  };
  add(mod.default);
  for (const [k, v] of Object.entries(mod)) if (k !== "default") add(v);
  for (const s of takeRegisteredSubjects()) if (!out.some((o) => o.name === s.name && o.factory === s.factory)) out.push(s);
  return out;
}

export type { ConformanceCheck };
