// SPDX-License-Identifier: GPL-2.0-only
// irqlab substrate: scheduling strategies. At every scheduling point where
// more than one task could run, the simulator asks its strategy which one
// runs next. A strategy's describe() string is a spec that strategyFromSpec()
// turns back into a strategy making the same choices, so a run replays from
// (machine seed, describe()).
//
// Where interleavings come from: task order at these scheduling points, and
// the virtual times at which devices raise interrupts (device models draw
// jitter from the machine seed; lib/explore fault plans move them further).
// A strategy controls only the first.

import type { SimTask } from "./cpu.ts";
import { Rng } from "./rng.ts";

export interface Strategy {
  readonly name: string;
  /** Pick one of the candidates (at least two, in the order they became runnable). */
  pick(candidates: readonly SimTask[]): SimTask;
  /** Spec that replays this run, e.g. "random:1234". */
  describe(): string;
}

/** First come, first served: the deterministic default. */
export class FifoStrategy implements Strategy {
  readonly name = "fifo";
  pick(c: readonly SimTask[]): SimTask {
    return c[0]!;
  }
  describe(): string {
    return "fifo";
  }
}

/** Uniformly random among the runnable tasks, from a seed. */
export class RandomStrategy implements Strategy {
  readonly name = "random";
  private rng: Rng;
  constructor(readonly seed: number) {
    this.rng = new Rng(seed);
  }
  pick(c: readonly SimTask[]): SimTask {
    return c[this.rng.int(c.length)]!;
  }
  describe(): string {
    return `random:${this.seed}`;
  }
}

/**
 * PCT, probabilistic concurrency testing (Burckhardt et al., ASPLOS 2010):
 * every task gets a random priority when it is first seen, all above `depth`;
 * `depth - 1` change points are drawn uniformly among the first `steps`
 * scheduling decisions. The highest-priority candidate runs; at the i-th
 * change point (in decision order) the task that would run drops to priority
 * i, below every initial priority. A bug that needs d ordering constraints
 * among n tasks and k steps is found with probability at least 1/(n k^(d-1))
 * per run. `steps` should be an estimate of the scenario's decision count
 * (lib/explore measures it with a FIFO run).
 */
export class PctStrategy implements Strategy {
  readonly name = "pct";
  private readonly rng: Rng;
  private readonly prio = new Map<SimTask, number>();
  /** Decision number (1-based) -> the priority the running task drops to. */
  private readonly changeAt = new Map<number, number>();
  private decisions = 0;

  constructor(
    readonly seed: number,
    readonly depth = 3,
    readonly steps = 64,
  ) {
    if (!Number.isInteger(depth) || depth < 1) throw new Error(`irqlab: PCT depth must be a positive integer, got ${String(depth)}`);
    if (!Number.isInteger(steps) || steps < 1) throw new Error(`irqlab: PCT step estimate must be a positive integer, got ${String(steps)}`);
    this.rng = new Rng(seed);
    // Distinct change points when there are enough steps; the i-th one drawn
    // (not the i-th in time) gets priority i, as in the paper's k1..k(d-1).
    const want = Math.min(depth - 1, steps);
    for (let i = 1; this.changeAt.size < want; ) {
      const k = 1 + this.rng.int(steps);
      if (this.changeAt.has(k)) continue;
      this.changeAt.set(k, i++);
    }
  }

  /** The change points, in decision numbers (for diagnostics). */
  get changePoints(): number[] {
    return [...this.changeAt.keys()].sort((a, b) => a - b);
  }

  pick(c: readonly SimTask[]): SimTask {
    this.decisions++;
    for (const t of c) if (!this.prio.has(t)) this.prio.set(t, this.depth + this.rng.float());
    let best = this.highest(c);
    const drop = this.changeAt.get(this.decisions);
    if (drop !== undefined) {
      this.prio.set(best, drop);
      best = this.highest(c);
    }
    return best;
  }

  private highest(c: readonly SimTask[]): SimTask {
    let best = c[0]!;
    let bp = this.prio.get(best)!;
    for (let i = 1; i < c.length; i++) {
      const p = this.prio.get(c[i]!)!;
      if (p > bp) {
        best = c[i]!;
        bp = p;
      }
    }
    return best;
  }

  describe(): string {
    return `pct:${this.seed}:${this.depth}:${this.steps}`;
  }
}

/** One scheduling decision: `n` candidates, index `c` chosen. */
export interface Decision {
  n: number;
  c: number;
}

/**
 * Forced choices: decision i picks candidate prefix[i] (in runnable order);
 * decisions past the prefix pick the first candidate, as FIFO does. Every
 * decision is logged, so a driver can enumerate schedules depth-first by
 * re-running with a longer or different prefix (lib/explore/exhaustive.ts).
 */
export class ChoiceStrategy implements Strategy {
  readonly name = "choices";
  readonly log: Decision[] = [];
  /** A prefix choice was out of range: the run is not the one the prefix came from. */
  diverged = false;

  constructor(readonly prefix: readonly number[] = []) {
    for (const c of prefix) if (!Number.isInteger(c) || c < 0) throw new Error(`irqlab: bad forced choice ${String(c)}`);
  }

  pick(c: readonly SimTask[]): SimTask {
    const i = this.log.length;
    let ch = i < this.prefix.length ? this.prefix[i]! : 0;
    if (ch >= c.length) {
      ch = c.length - 1;
      this.diverged = true;
    }
    this.log.push({ n: c.length, c: ch });
    return c[ch]!;
  }

  /** The choices made so far, then the rest of the prefix. */
  choices(): number[] {
    const made = this.log.map((d) => d.c);
    return made.length >= this.prefix.length ? made : [...made, ...this.prefix.slice(made.length)];
  }

  describe(): string {
    return `choices:${encodeChoices(this.choices())}`;
  }
}

/**
 * Wraps a strategy and logs its decisions, so any run (random, PCT) can be
 * turned into forced choices (`toChoices()`) and edited or shrunk.
 */
export class RecordingStrategy implements Strategy {
  readonly log: Decision[] = [];
  constructor(readonly inner: Strategy) {}
  get name(): string {
    return this.inner.name;
  }
  pick(c: readonly SimTask[]): SimTask {
    const t = this.inner.pick(c);
    this.log.push({ n: c.length, c: c.indexOf(t) });
    return t;
  }
  describe(): string {
    return this.inner.describe();
  }
  /** The same run as forced choices. */
  toChoices(): string {
    return `choices:${encodeChoices(this.log.map((d) => d.c))}`;
  }
}

/** "0*12.1.0.2": dot-separated choices, runs of three or more as value*count, trailing zeros dropped. */
export function encodeChoices(choices: readonly number[]): string {
  let end = choices.length;
  while (end > 0 && choices[end - 1] === 0) end--;
  const out: string[] = [];
  for (let i = 0; i < end; ) {
    let j = i + 1;
    while (j < end && choices[j] === choices[i]) j++;
    const run = j - i;
    if (run >= 3) out.push(`${choices[i]!}*${run}`);
    else for (let k = 0; k < run; k++) out.push(String(choices[i]!));
    i = j;
  }
  return out.join(".");
}

export function decodeChoices(s: string): number[] {
  const out: number[] = [];
  if (s === "") return out;
  for (const part of s.split(".")) {
    const m = /^(\d+)(?:\*(\d+))?$/.exec(part);
    if (!m) throw new Error(`irqlab: bad choice list "${s}" (expected e.g. "0*12.1.0.2")`);
    const v = Number(m[1]);
    const n = m[2] !== undefined ? Number(m[2]) : 1;
    for (let k = 0; k < n; k++) out.push(v);
  }
  return out;
}

const SPEC_HELP = `use "fifo", "random[:seed]", "pct[:seed[:depth[:steps]]]" or "choices:<list>"`;

function specInt(s: string | undefined, dflt: number, spec: string): number {
  if (s === undefined || s === "") return dflt;
  if (!/^\d+$/.test(s)) throw new Error(`irqlab: bad number "${s}" in scheduling strategy "${spec}" (${SPEC_HELP})`);
  return Number(s);
}

export function strategyFromSpec(spec: string | Strategy | undefined, seed: number): Strategy {
  if (spec === undefined) return new FifoStrategy();
  if (typeof spec !== "string") return spec;
  const parts = spec.split(":");
  const name = parts[0];
  if (name === "fifo" && parts.length === 1) return new FifoStrategy();
  if (name === "random" && parts.length <= 2) return new RandomStrategy(specInt(parts[1], seed, spec));
  if (name === "pct" && parts.length <= 4) return new PctStrategy(specInt(parts[1], seed, spec), specInt(parts[2], 3, spec), specInt(parts[3], 64, spec));
  if (name === "choices" && parts.length <= 2) return new ChoiceStrategy(decodeChoices(parts[1] ?? ""));
  throw new Error(`irqlab: unknown scheduling strategy "${spec}" (${SPEC_HELP})`);
}
