// SPDX-License-Identifier: GPL-2.0-only
// The exploration tooling's registry, for the CLI (`irqlab explore
// <scenario> --seeds N`) and for tests: scenarios, checkers, fault kinds,
// and the entry points that run them.

import { checker, checkers, registerChecker, registerLeakProbe, registerLevelProbe, registerMessageProbe } from "./check.ts";
import { faultKinds, generatePlan, registerFaultKind } from "./faults.ts";
import { formatResult, registerScenario, replayCommand, runSeed, scenario, scenarios } from "./run.ts";
import { runCampaign, defaultStrategy } from "./campaign.ts";
import { exploreExhaustive } from "./exhaustive.ts";
import "./scenarios.ts";
import "./ims.ts";
import "./mlx5.ts";

export type { Checker, CheckEnv, Finding, Line, LevelProbe, MessageProbe, LeakProbe, DeviceMessage, Snapshot } from "./check.ts";
export type { FaultKind, FaultPlan, FaultSpec, FaultTrigger, FaultEnv } from "./faults.ts";
export type { ExploreScenario, ScenarioCtx, RunOptions, RunResult, Violation } from "./run.ts";
export type { CampaignOptions, CampaignSummary } from "./campaign.ts";
export type { ExhaustiveOptions, ExhaustiveResult } from "./exhaustive.ts";
export { traceDigest, formatRecord, excerpt } from "./trace.ts";

/** Everything the CLI needs, in one object. */
export const explore = {
  /** Scenarios by name. */
  get scenarios(): Record<string, ReturnType<typeof scenario>> {
    return Object.fromEntries(scenarios().map((s) => [s.name, s]));
  },
  /** Checkers, in registration order. */
  get checkers(): ReturnType<typeof checkers> {
    return checkers();
  },
  get faultKinds(): ReturnType<typeof faultKinds> {
    return faultKinds();
  },
  runSeed,
  runCampaign,
  exploreExhaustive,
  generatePlan,
  formatResult,
  replayCommand,
  defaultStrategy,
};

export {
  checker,
  checkers,
  faultKinds,
  scenarios,
  scenario,
  runSeed,
  runCampaign,
  exploreExhaustive,
  generatePlan,
  formatResult,
  replayCommand,
  defaultStrategy,
  registerChecker,
  registerLevelProbe,
  registerMessageProbe,
  registerLeakProbe,
  registerFaultKind,
  registerScenario,
};
