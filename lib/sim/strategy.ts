// SPDX-License-Identifier: GPL-2.0-only
// irqlab substrate: scheduling strategies. At every scheduling point the
// simulator asks its strategy which runnable task runs next.

import type { SimTask } from "./cpu.ts";
import { Rng } from "./rng.ts";

export interface Strategy {
  readonly name: string;
  /** Pick one of the candidates (non-empty, in the order they became runnable). */
  pick(candidates: readonly SimTask[]): SimTask;
  /** Description that replays this run, e.g. "random:1234". */
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

export function strategyFromSpec(spec: string | Strategy | undefined, seed: number): Strategy {
  if (spec === undefined) return new FifoStrategy();
  if (typeof spec !== "string") return spec;
  const [name, arg] = spec.split(":");
  if (name === "fifo") return new FifoStrategy();
  if (name === "random") return new RandomStrategy(arg !== undefined ? Number(arg) : seed);
  throw new Error(`irqlab: unknown scheduling strategy "${spec}" (use "fifo" or "random[:seed]")`);
}
