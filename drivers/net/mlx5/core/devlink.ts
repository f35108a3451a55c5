// SPDX-License-Identifier: GPL-2.0-only
// net/devlink/health.c, reduced to what mlx5's firmware reporters need: a
// health reporter with a grace period and automatic recovery, and
// devlink_health_report(). Dumps, netlink notifications and tracepoints are
// not rendered.

import { ECANCELED } from "../../../../lib/kernel/errno.ts";
import { jiffies, msecs_to_jiffies, time_is_after_jiffies } from "./jiffies_compat.ts";

export const DEVLINK_HEALTH_REPORTER_STATE_HEALTHY = 0;
export const DEVLINK_HEALTH_REPORTER_STATE_ERROR = 1;

export interface devlink_health_reporter_ops {
  name: string;
  recover?: (reporter: devlink_health_reporter, priv_ctx: unknown) => Promise<number>;
}

/** struct devlink_health_reporter */
export class devlink_health_reporter {
  health_state = DEVLINK_HEALTH_REPORTER_STATE_HEALTHY;
  error_count = 0;
  recovery_count = 0;
  last_recovery_ts = 0;
  auto_recover: boolean;
  constructor(
    readonly ops: devlink_health_reporter_ops,
    readonly graceful_period: number,
    readonly priv: unknown,
  ) {
    this.auto_recover = !!ops.recover;
  }
}

// net/devlink/health.c: devl_health_reporter_create()
export function devl_health_reporter_create(ops: devlink_health_reporter_ops, graceful_period: number, priv: unknown): devlink_health_reporter {
  return new devlink_health_reporter(ops, graceful_period, priv);
}

// net/devlink/health.c: devlink_health_reporter_recover()
async function devlink_health_reporter_recover(reporter: devlink_health_reporter, priv_ctx: unknown): Promise<number> {
  if (!reporter.ops.recover) return -95; // -EOPNOTSUPP
  const err = await reporter.ops.recover(reporter, priv_ctx);
  if (err) return err;
  reporter.recovery_count++;
  reporter.health_state = DEVLINK_HEALTH_REPORTER_STATE_HEALTHY;
  reporter.last_recovery_ts = jiffies();
  return 0;
}

// net/devlink/health.c: devlink_health_report(); the devlink instance lock is taken by the caller's recover
export async function devlink_health_report(reporter: devlink_health_reporter, _msg: string, priv_ctx: unknown): Promise<number> {
  reporter.error_count++;
  const prev_health_state = reporter.health_state;
  reporter.health_state = DEVLINK_HEALTH_REPORTER_STATE_ERROR;
  // abort if the previous error wasn't recovered
  const recover_ts_threshold = reporter.last_recovery_ts + msecs_to_jiffies(reporter.graceful_period);
  if (reporter.auto_recover && (prev_health_state !== DEVLINK_HEALTH_REPORTER_STATE_HEALTHY || (reporter.last_recovery_ts && reporter.recovery_count && time_is_after_jiffies(recover_ts_threshold)))) {
    return -ECANCELED;
  }
  if (!reporter.auto_recover) return 0;
  return devlink_health_reporter_recover(reporter, priv_ctx);
}

// net/devlink/health.c: devlink_health_reporter_state_update()
export function devlink_health_reporter_state_update(reporter: devlink_health_reporter | null, state: number): void {
  if (reporter) reporter.health_state = state;
}
