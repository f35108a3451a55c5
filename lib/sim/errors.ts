// SPDX-License-Identifier: GPL-2.0-only
// irqlab substrate: how a run ends abnormally (the machine stopped, or the
// simulator was misused). sim.ts re-exports both.

/** The machine stopped: a lockup, a panic, or a state the model cannot continue from. */
export class MachineStopped extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MachineStopped";
  }
}

/** Misuse of the simulator itself (not a kernel condition). */
export class SimulatorError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SimulatorError";
  }
}
