// SPDX-License-Identifier: GPL-2.0-only
// Model-based tests of the manage API (kernel/irq/manage.c) against a small
// reference model, with fast-check commands and shrinking: random sequences
// of request_irq / free_irq / disable_irq / disable_irq_nosync / enable_irq /
// irq_set_affinity / synchronize_irq / raise on one irq_sim line (two
// possible dev_ids, shared or not, IRQF_NO_AUTOEN), each compared with the
// model for return values, the warnings the kernel prints ("Unbalanced
// enable for IRQ %d", "Trying to free already-free IRQ %d", "genirq: Flags
// mismatch irq %d. ..."), the descriptor's depth and started state, and how
// many times each handler ran.
//
// The model, from kernel/irq/manage.c and chip.c (6.18):
//  * a fresh line has depth 1, IRQD_IRQ_DISABLED and is masked, not
//    started, not activated (desc_set_defaults);
//  * the first action activates the line and starts it (irq_startup():
//    depth 0, enabled, unmasked, a pending interrupt resent) unless
//    IRQF_NO_AUTOEN, which only sets depth 1; IRQF_SHARED with
//    IRQF_NO_AUTOEN is -EINVAL; a second action needs IRQF_SHARED on both,
//    else -EBUSY and the Flags mismatch line;
//  * free_irq() removes the first action with that dev_id (none: WARN, NULL);
//    the last one shuts a started line down (irq_shutdown(): depth + 1,
//    disabled, masked; a pending interrupt stays pending) and deactivates it;
//  * disable_irq*() increment depth; from 0 they set IRQD_IRQ_DISABLED but
//    leave irq_sim unmasked (lazy disable); enable_irq() at depth 0 WARNs,
//    at 1 starts the line (WARN_ON_ONCE in __irq_startup() if it is not
//    activated), else decrements;
//  * irq_sim drops a raise on a masked line; on a disabled line or one
//    without actions handle_simple_irq() marks it pending; otherwise
//    handle_irq_event() clears the pending state and every action's handler
//    runs once;
//  * irq_set_affinity() on irq_sim (no irq_set_affinity callback) is -EINVAL.
//
// IRQLAB_MODEL_RUNS sets the number of sequences (default 20000, split in
// chunks of at most 5000 per test); `npm run explore` runs more.

import { expect } from "chai";
import fc from "fast-check";
import { createMachine, type Machine } from "../../lib/machine.ts";
import { usleep_range } from "../../lib/kernel/delay.ts";
import { cpumask_of } from "../../lib/kernel/cpumask.ts";
import { EBUSY, EINVAL } from "../../lib/kernel/errno.ts";
import { IRQ_HANDLED, IRQF_COND_ONESHOT, IRQF_NO_AUTOEN, IRQF_SHARED } from "../../lib/irq/interrupt.ts";
import { disable_irq, disable_irq_nosync, enable_irq, free_irq, irq_set_irqchip_state, request_irq, synchronize_irq } from "../../lib/irq/manage.ts";
import { irq_set_affinity } from "../../lib/irq/manage_affinity.ts";
import { irq_to_desc } from "../../lib/irq/irqdesc.ts";
import { IRQCHIP_STATE_PENDING, irqd_irq_disabled, irqd_irq_masked, irqd_is_activated, irqd_is_started } from "../../lib/irq/irq.ts";
import { IRQS_PENDING } from "../../lib/irq/internals.ts";
import { irq_create_mapping, irq_dispose_mapping, type irq_domain } from "../../lib/irq/irqdomain.ts";
import { irq_domain_create_sim } from "../../lib/irq/irq_sim.ts";

const RUNS = Number(process.env["IRQLAB_MODEL_RUNS"] ?? 20000);
const CHUNK = 5000;

interface Action {
  dev: number;
  name: string;
  flags: number;
}

/** The reference model of one line. */
interface Model {
  actions: Action[];
  depth: number;
  /** IRQD_IRQ_DISABLED */
  disabled: boolean;
  /** irq_sim's mask */
  masked: boolean;
  started: boolean;
  activated: boolean;
  pending: boolean;
  runs: [number, number];
  requests: number;
  /** WARN_ON_ONCE() sites that fired in this machine already. */
  once: Set<string>;
}

/** The system under test: one irq_sim line in a running machine. */
interface Real {
  m: Machine;
  irq: number;
  devs: [object, object];
  runs: [number, number];
}

const NAMES = ["model-a", "model-b"];

/** Kernel log lines a command printed that the model knows about. */
function newLines(r: Real, from: number): string[] {
  return r.m.kernel.log
    .slice(from)
    .map((l) => l.text.trim())
    .filter((t) => /^(Unbalanced enable for IRQ|Trying to free already-free IRQ|genirq: Flags mismatch|WARNING: CPU: \d+ PID: \d+ at __irq_startup)/.test(t))
    .map((t) => t.replace(/^WARNING: CPU: \d+ PID: \d+ at /, "WARN_ON_ONCE at "));
}

/** Let hardirq, irq_work and the resend tasklet run. */
const settle = (): Promise<void> => usleep_range(5, 5);

/** Compare without chai on the hot path; chai builds the report on a divergence. */
function same(actual: unknown, want: unknown, what: string): void {
  if (actual === want) return;
  if (JSON.stringify(actual) === JSON.stringify(want)) return;
  expect(actual, what).to.deep.equal(want);
}

function checkState(m: Model, r: Real, what: string): void {
  const desc = irq_to_desc(r.irq)!;
  const d = desc.irq_data;
  same(desc.depth, m.depth, `${what}: depth`);
  same(irqd_irq_disabled(d), m.disabled, `${what}: IRQD_IRQ_DISABLED`);
  same(irqd_irq_masked(d), m.masked, `${what}: IRQD_IRQ_MASKED`);
  same(irqd_is_started(d), m.started, `${what}: started`);
  same(irqd_is_activated(d), m.activated, `${what}: activated`);
  same((desc.istate & IRQS_PENDING) !== 0, m.pending, `${what}: IRQS_PENDING`);
  if (r.runs[0] !== m.runs[0] || r.runs[1] !== m.runs[1]) expect(r.runs, `${what}: handler runs`).to.deep.equal(m.runs);
}

// irq_startup(desc, IRQ_RESEND, ...): depth 0, enabled and unmasked (the
// WARN_ON_ONCE of __irq_startup() on a line that is not activated), then a
// pending interrupt is resent
function startup(m: Model, lines: string[]): void {
  m.depth = 0;
  if (!m.started && !m.activated && !m.once.has("__irq_startup")) {
    m.once.add("__irq_startup");
    lines.push("WARN_ON_ONCE at __irq_startup");
  }
  m.started = true;
  m.disabled = false;
  m.masked = false;
  if (m.pending) {
    m.pending = false;
    deliver(m);
  }
}

// handle_simple_irq() on an unmasked line
function deliver(m: Model): void {
  if (m.disabled || m.actions.length === 0) {
    m.pending = true;
    return;
  }
  // handle_irq_event() clears IRQS_PENDING and runs every action
  m.pending = false;
  for (const a of m.actions) m.runs[a.dev] = m.runs[a.dev]! + 1;
}

type Cmd = fc.AsyncCommand<Model, Real, false>;

class Request implements Cmd {
  constructor(
    readonly dev: number,
    readonly flags: number,
  ) {}
  check(_m: Readonly<Model>): boolean {
    return true;
  }
  async run(m: Model, r: Real): Promise<void> {
    const from = r.m.kernel.log.length;
    const dev = this.dev;
    const name = `${NAMES[dev]!}${m.requests++}`;
    const ret = await request_irq(r.irq, () => {
      r.runs[dev] = r.runs[dev]! + 1;
      return IRQ_HANDLED;
    }, this.flags, name, r.devs[dev]);
    await settle();
    const lines: string[] = [];
    let want = 0;
    const stored = this.flags | IRQF_COND_ONESHOT;
    if (this.flags & IRQF_SHARED && this.flags & IRQF_NO_AUTOEN) want = -EINVAL;
    else if (m.actions.length) {
      const old = m.actions[0]!;
      if (!(old.flags & this.flags & IRQF_SHARED)) {
        want = -EBUSY;
        lines.push(`genirq: Flags mismatch irq ${r.irq}. ${hex8(stored)} (${name}) vs. ${hex8(old.flags)} (${old.name})`);
      } else m.actions.push({ dev, name, flags: stored });
    } else {
      m.actions.push({ dev, name, flags: stored });
      m.activated = true;
      if (this.flags & IRQF_NO_AUTOEN) m.depth = 1;
      else startup(m, lines);
    }
    same(ret, want, this.toString());
    same(newLines(r, from), lines, this.toString());
    checkState(m, r, this.toString());
  }
  toString(): string {
    return `request_irq(dev${this.dev}, ${flagNames(this.flags)})`;
  }
}

class Free implements Cmd {
  constructor(readonly dev: number) {}
  check(_m: Readonly<Model>): boolean {
    return true;
  }
  async run(m: Model, r: Real): Promise<void> {
    const from = r.m.kernel.log.length;
    const ret = await free_irq(r.irq, r.devs[this.dev]);
    const i = m.actions.findIndex((a) => a.dev === this.dev);
    let want: string | null = null;
    const lines: string[] = [];
    if (i < 0) lines.push(`Trying to free already-free IRQ ${r.irq}`);
    else {
      want = m.actions[i]!.name;
      m.actions.splice(i, 1);
      if (m.actions.length === 0) {
        // irq_shutdown(): only a started line is shut down
        if (m.started) {
          m.started = false;
          m.depth++;
          m.disabled = true;
          m.masked = true;
        }
        m.activated = false;
      }
    }
    same(ret, want, this.toString());
    same(newLines(r, from), lines, this.toString());
    checkState(m, r, this.toString());
  }
  toString(): string {
    return `free_irq(dev${this.dev})`;
  }
}

class Disable implements Cmd {
  constructor(readonly nosync: boolean) {}
  check(_m: Readonly<Model>): boolean {
    return true;
  }
  async run(m: Model, r: Real): Promise<void> {
    const from = r.m.kernel.log.length;
    if (this.nosync) await disable_irq_nosync(r.irq);
    else await disable_irq(r.irq);
    // __disable_irq(): irq_disable() from depth 0 only
    if (m.depth++ === 0) m.disabled = true;
    same(newLines(r, from), [], this.toString());
    checkState(m, r, this.toString());
  }
  toString(): string {
    return this.nosync ? "disable_irq_nosync()" : "disable_irq()";
  }
}

class Enable implements Cmd {
  check(_m: Readonly<Model>): boolean {
    return true;
  }
  async run(m: Model, r: Real): Promise<void> {
    const from = r.m.kernel.log.length;
    await enable_irq(r.irq);
    await settle();
    const lines: string[] = [];
    if (m.depth === 0) lines.push(`Unbalanced enable for IRQ ${r.irq}`);
    else if (m.depth === 1) startup(m, lines);
    else m.depth--;
    same(newLines(r, from), lines, this.toString());
    checkState(m, r, this.toString());
  }
  toString(): string {
    return "enable_irq()";
  }
}

class Raise implements Cmd {
  check(_m: Readonly<Model>): boolean {
    return true;
  }
  async run(m: Model, r: Real): Promise<void> {
    same(await irq_set_irqchip_state(r.irq, IRQCHIP_STATE_PENDING, true), 0, this.toString());
    await settle();
    // irq_sim drops a raise on a masked line
    if (!m.masked) deliver(m);
    checkState(m, r, this.toString());
  }
  toString(): string {
    return "raise";
  }
}

class Sync implements Cmd {
  check(_m: Readonly<Model>): boolean {
    return true;
  }
  async run(m: Model, r: Real): Promise<void> {
    await synchronize_irq(r.irq);
    checkState(m, r, this.toString());
  }
  toString(): string {
    return "synchronize_irq()";
  }
}

class Affinity implements Cmd {
  constructor(readonly cpu: number) {}
  check(_m: Readonly<Model>): boolean {
    return true;
  }
  run(m: Model, r: Real): Promise<void> {
    same(irq_set_affinity(r.irq, cpumask_of(this.cpu)), -EINVAL, this.toString());
    checkState(m, r, this.toString());
    return Promise.resolve();
  }
  toString(): string {
    return `irq_set_affinity(cpu${this.cpu})`;
  }
}

function hex8(v: number): string {
  return (v >>> 0).toString(16).padStart(8, "0");
}

function flagNames(f: number): string {
  const n: string[] = [];
  if (f & IRQF_SHARED) n.push("IRQF_SHARED");
  if (f & IRQF_NO_AUTOEN) n.push("IRQF_NO_AUTOEN");
  return n.length ? n.join("|") : "0";
}

const commands = fc.commands(
  [
    fc.tuple(fc.integer({ min: 0, max: 1 }), fc.constantFrom(0, IRQF_SHARED, IRQF_NO_AUTOEN, IRQF_SHARED | IRQF_NO_AUTOEN)).map(([d, f]) => new Request(d, f) as Cmd),
    fc.integer({ min: 0, max: 1 }).map((d) => new Free(d) as Cmd),
    fc.boolean().map((n) => new Disable(n) as Cmd),
    fc.constant(new Enable() as Cmd),
    fc.constant(new Raise() as Cmd),
    fc.constant(new Sync() as Cmd),
    fc.integer({ min: 0, max: 1 }).map((c) => new Affinity(c) as Cmd),
  ],
  { maxCommands: 12 },
);

/** A fresh irq_sim line (desc_set_defaults()). */
function fresh(once: Set<string>): Model {
  return { actions: [], depth: 1, disabled: true, masked: true, started: false, activated: false, pending: false, runs: [0, 0], requests: 0, once };
}

/**
 * Run `runs` random sequences in one machine. Each sequence gets a freshly
 * mapped irq_sim line, so a shrunk counterexample replays from the same
 * state; what it left requested is freed and the mapping disposed.
 */
async function modelRuns(runs: number, seed: number): Promise<void> {
  // Lockdep off: this test is about the API's semantics, and lockdep's stack
  // captures would dominate its run time (the exploration campaigns keep it on).
  const m = await createMachine({ cpus: 2, arch: "none", trace: false, seed, runLimitNs: 1e15, config: { lockdep: false } });
  m.expectSplat(/^Unbalanced enable for IRQ/, Infinity);
  m.expectSplat(/^Trying to free already-free IRQ/, Infinity);
  m.expectSplat(/at __irq_startup$/, 1);
  const once = new Set<string>();
  await m.run(async () => {
    const dom = (await irq_domain_create_sim(null, 1)) as irq_domain;
    await fc.assert(
      fc.asyncProperty(commands, async (cmds) => {
        const irq = (await irq_create_mapping(dom, 0)) as number;
        const real: Real = { m, irq, devs: [{ dev: 0 }, { dev: 1 }], runs: [0, 0] };
        try {
          await fc.asyncModelRun(() => ({ model: fresh(once), real }), cmds);
        } finally {
          for (let a = irq_to_desc(irq)!.action; a; a = irq_to_desc(irq)!.action) await free_irq(irq, a.dev_id);
          await settle();
          await irq_dispose_mapping(irq);
        }
      }),
      { numRuns: runs, seed, verbose: 1 },
    );
  });
}

describe("model: the manage API on an irq_sim line against a reference model (fast-check)", () => {
  const chunks = Math.ceil(RUNS / CHUNK);
  for (let i = 0; i < chunks; i++) {
    const n = Math.min(CHUNK, RUNS - i * CHUNK);
    it(`agrees with the model on return values, warnings, depth, started state and handler runs: ${n} random sequences (seed ${1000 + i})`, async function () {
      this.timeout(0);
      await modelRuns(n, 1000 + i);
    });
  }
});
