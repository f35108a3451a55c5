// SPDX-License-Identifier: GPL-2.0-only
// The exploration tooling's registry, for the CLI (`irqlab explore
// <scenario> --seeds N`) and for tests: scenarios, checkers, fault kinds,
// and the entry points that run them.

import { checker, checkers, registerChecker, registerLeakProbe, registerLevelProbe, registerMessageProbe } from "./check.ts";
import { faultKinds, generatePlan, registerFaultKind } from "./faults.ts";
import { attributeViolations, formatResult, registerScenario, replayCommand, runSeed, scenario, scenarios } from "./run.ts";
import { knownRace, knownRaces, registerKnownRace, STALE_EFFECTIVE_AFFINITY } from "./known_races.ts";
import { runCampaign, defaultStrategy } from "./campaign.ts";
import { exploreExhaustive } from "./exhaustive.ts";
import "./scenarios.ts";
import "./ims.ts";
import "./mlx5.ts";

export type { Checker, CheckEnv, Finding, FindingSubject, Line, LevelProbe, MessageProbe, LeakProbe, DeviceMessage, Snapshot } from "./check.ts";
export type { FaultKind, FaultPlan, FaultSpec, FaultTrigger, FaultEnv } from "./faults.ts";
export type { ExploreScenario, ScenarioCtx, RunOptions, RunResult, Violation, KnownRaceReport } from "./run.ts";
export type { KnownRace, RaceHit, RaceWatcher, RaceClaimable } from "./known_races.ts";
export type { CampaignOptions, CampaignSummary, KnownRaceTally } from "./campaign.ts";
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
  /** Known Linux races, in registration order. */
  get knownRaces(): ReturnType<typeof knownRaces> {
    return knownRaces();
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
  registerKnownRace,
  knownRace,
  knownRaces,
  attributeViolations,
  STALE_EFFECTIVE_AFFINITY,
};
