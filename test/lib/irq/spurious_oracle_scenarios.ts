// SPDX-License-Identifier: GPL-2.0-only
// The scenarios of the oracle_spurious module (docs/oracle/spurious.patch,
// module/oracle_spurious.c), step for step: each `r.step()` carries the
// text the module's STEP() prints, so irqlab's log lines read like the
// capture's.

import { msleep } from "../../../lib/kernel/delay.ts";
import { IRQ_NONE, IRQF_IRQPOLL, IRQF_NO_THREAD, IRQF_ONESHOT, IRQF_SHARED } from "../../../lib/irq/interrupt.ts";
import { IRQ_NOTHREAD } from "../../../lib/irq/irq.ts";
import { irq_clear_status_flags, irq_set_handler, irq_set_status_flags } from "../../../lib/irq/chip.ts";
import { handle_level_irq } from "../../../lib/irq/flow.ts";
import { disable_irq, enable_irq, free_irq, request_irq, request_threaded_irq } from "../../../lib/irq/manage.ts";
import type { Rig } from "./spurious_oracle_fixture.ts";

type Scenario = (r: Rig) => Promise<void>;

const stuck: Scenario = async (r) => {
  const { h_none, h_count } = r.h;
  await r.begin("stuck");
  await r.step('request_irq(VIRQ, h_none, 0, "oracle", &dev1)', request_irq(r.virq[0]!, h_none, 0, "oracle", r.dev1));
  await r.step("BURST(99999)", r.burst(99999));
  await r.step("BURST(1)", r.burst(1));
  await r.step("TRIGGER()", r.trigger());
  await r.step("VOID(msleep(250))", msleep(250));
  await r.step("VOID(enable_irq(VIRQ))", enable_irq(r.virq[0]!));
  await r.step("BURST(99999)", r.burst(99999));
  await r.step("VOID(free_irq(VIRQ, &dev1))", free_irq(r.virq[0]!, r.dev1));
  await r.step('request_irq(VIRQ, h_count, 0, "oracle", &dev1)', request_irq(r.virq[0]!, h_count, 0, "oracle", r.dev1));
  await r.step("TRIGGER()", r.trigger());
  await r.step("VOID(free_irq(VIRQ, &dev1))", free_irq(r.virq[0]!, r.dev1));
  await r.end();
};

const stuck_shared: Scenario = async (r) => {
  const { h_none, h_count2 } = r.h;
  await r.begin("stuck_shared");
  irq_set_handler(r.virq[0]!, handle_level_irq);
  await r.step('request_irq(VIRQ, h_none, IRQF_SHARED, "oracle", &dev1)', request_irq(r.virq[0]!, h_none, IRQF_SHARED, "oracle", r.dev1));
  await r.step("BURST(100000)", r.burst(100000));
  await r.step("VOID(msleep(350))", msleep(350));
  await r.step("TRIGGER()", r.trigger());
  await r.step('request_irq(VIRQ, h_count2, IRQF_SHARED, "oracle2", &dev2)', request_irq(r.virq[0]!, h_count2, IRQF_SHARED, "oracle2", r.dev2));
  await r.step("TRIGGER()", r.trigger());
  await r.step("BURST(100000)", r.burst(100000));
  await r.step("VOID(free_irq(VIRQ, &dev1))", free_irq(r.virq[0]!, r.dev1));
  await r.step("VOID(free_irq(VIRQ, &dev2))", free_irq(r.virq[0]!, r.dev2));
  await r.end();
};

function window(name: string, gap_ms: number): Scenario {
  return async (r) => {
    await r.begin(name);
    await r.step('request_irq(VIRQ, h_none, 0, "oracle", &dev1)', request_irq(r.virq[0]!, r.h.h_none, 0, "oracle", r.dev1));
    await r.step(`burst_gap_burst(50000, ${gap_ms}, 10)`, r.burst_gap_burst(50000, gap_ms, 10));
    await r.step("BURST(49990)", r.burst(49990));
    await r.step("VOID(free_irq(VIRQ, &dev1))", free_irq(r.virq[0]!, r.dev1));
    await r.end();
  };
}

function every(name: string, n: number): Scenario {
  return async (r) => {
    await r.begin(name);
    r.every = n;
    await r.step('request_irq(VIRQ, h_every, 0, "oracle", &dev1)', request_irq(r.virq[0]!, r.h.h_every, 0, "oracle", r.dev1));
    await r.step("BURST(100000)", r.burst(100000));
    await r.step("VOID(free_irq(VIRQ, &dev1))", free_irq(r.virq[0]!, r.dev1));
    await r.end();
  };
}

const bogus: Scenario = async (r) => {
  const { h_bogus, h_wake } = r.h;
  await r.begin("bogus");
  await r.step('request_irq(VIRQ, h_bogus, 0, "oracle", &dev1)', request_irq(r.virq[0]!, h_bogus, 0, "oracle", r.dev1));
  await r.step("TRIGGER()", r.trigger());
  await r.step("TRIGGER()", r.trigger());
  await r.step("VOID(free_irq(VIRQ, &dev1))", free_irq(r.virq[0]!, r.dev1));
  await r.step('request_irq(VIRQ, h_wake, 0, "oracle", &dev1)', request_irq(r.virq[0]!, h_wake, 0, "oracle", r.dev1));
  await r.step("TRIGGER()", r.trigger());
  await r.step("TRIGGER()", r.trigger());
  await r.step("TRIGGER()", r.trigger());
  await r.step("VOID(free_irq(VIRQ, &dev1))", free_irq(r.virq[0]!, r.dev1));
  await r.end();
};

const deferred: Scenario = async (r) => {
  const { h_wake, h_thread_ret } = r.h;
  await r.begin("deferred");
  await r.step(
    'request_threaded_irq(VIRQ, h_wake, h_thread_ret, IRQF_ONESHOT, "oracle", &dev1)',
    request_threaded_irq(r.virq[0]!, h_wake, h_thread_ret, IRQF_ONESHOT, "oracle", r.dev1),
  );
  await r.step("TRIGGER()", r.trigger());
  await r.step("TRIGGER()", r.trigger());
  r.thread_ret = IRQ_NONE;
  r.log("  (the thread returns IRQ_NONE from now on)");
  await r.step("TRIGGER()", r.trigger());
  await r.step("TRIGGER()", r.trigger());
  await r.step("TRIGGER()", r.trigger());
  await r.step("VOID(free_irq(VIRQ, &dev1))", free_irq(r.virq[0]!, r.dev1));
  await r.end();
};

const deferred_shared: Scenario = async (r) => {
  const { h_wake, h_thread_ret, h_count2 } = r.h;
  await r.begin("deferred_shared");
  await r.step(
    'request_threaded_irq(VIRQ, h_wake, h_thread_ret, IRQF_SHARED | IRQF_ONESHOT, "oracle", &dev1)',
    request_threaded_irq(r.virq[0]!, h_wake, h_thread_ret, IRQF_SHARED | IRQF_ONESHOT, "oracle", r.dev1),
  );
  await r.step("TRIGGER()", r.trigger());
  await r.step('request_irq(VIRQ, h_count2, IRQF_SHARED, "oracle2", &dev2)', request_irq(r.virq[0]!, h_count2, IRQF_SHARED, "oracle2", r.dev2));
  await r.step("TRIGGER()", r.trigger());
  await r.step("VOID(free_irq(VIRQ, &dev2))", free_irq(r.virq[0]!, r.dev2));
  await r.step("TRIGGER()", r.trigger());
  await r.step("TRIGGER()", r.trigger());
  await r.step("VOID(free_irq(VIRQ, &dev1))", free_irq(r.virq[0]!, r.dev1));
  await r.end();
};

const deferred_kill: Scenario = async (r) => {
  const { h_wake, h_thread_ret } = r.h;
  await r.begin("deferred_kill");
  r.thread_ret = IRQ_NONE;
  await r.step(
    'request_threaded_irq(VIRQ, h_wake, h_thread_ret, IRQF_ONESHOT, "oracle", &dev1)',
    request_threaded_irq(r.virq[0]!, h_wake, h_thread_ret, IRQF_ONESHOT, "oracle", r.dev1),
  );
  await r.step("BURST(100000)", r.burst(100000));
  await r.step("BURST(1)", r.burst(1));
  await r.step("VOID(free_irq(VIRQ, &dev1))", free_irq(r.virq[0]!, r.dev1));
  await r.end();
};

const misrouted: Scenario = async (r) => {
  const { h_none, h_count, h_count2 } = r.h;
  const [v, v2] = [() => r.virq[0]!, () => r.virq[1]!];
  await r.begin("misrouted", 2);
  await r.step('request_irq(VIRQ, h_none, 0, "oracle", &dev1)', request_irq(v(), h_none, 0, "oracle", r.dev1));
  await r.step('request_irq(VIRQ2, h_count2, IRQF_SHARED, "oracle2", &dev2)', request_irq(v2(), h_count2, IRQF_SHARED, "oracle2", r.dev2));
  await r.step("TRIGGER()", r.trigger());
  await r.step("VOID(disable_irq(VIRQ2))", disable_irq(v2()));
  await r.step("TRIGGER()", r.trigger());
  await r.step("VOID(enable_irq(VIRQ2))", enable_irq(v2()));
  await r.step("VOID(free_irq(VIRQ, &dev1))", free_irq(v(), r.dev1));
  await r.step('request_irq(VIRQ, h_count, IRQF_IRQPOLL, "oracle", &dev1)', request_irq(v(), h_count, IRQF_IRQPOLL, "oracle", r.dev1));
  await r.step("TRIGGER()", r.trigger());
  await r.step("VOID(free_irq(VIRQ, &dev1))", free_irq(v(), r.dev1));
  await r.step('request_irq(VIRQ, h_count, 0, "oracle", &dev1)', request_irq(v(), h_count, 0, "oracle", r.dev1));
  await r.step("TRIGGER()", r.trigger());
  await r.step("VOID(free_irq(VIRQ2, &dev2))", free_irq(v2(), r.dev2));
  await r.step('request_irq(VIRQ2, h_count2, 0, "oracle2", &dev2)', request_irq(v2(), h_count2, 0, "oracle2", r.dev2));
  await r.step("VOID(free_irq(VIRQ, &dev1))", free_irq(v(), r.dev1));
  await r.step('request_irq(VIRQ, h_none, 0, "oracle", &dev1)', request_irq(v(), h_none, 0, "oracle", r.dev1));
  await r.step("TRIGGER()", r.trigger());
  await r.step("VOID(free_irq(VIRQ, &dev1))", free_irq(v(), r.dev1));
  await r.step("VOID(free_irq(VIRQ2, &dev2))", free_irq(v2(), r.dev2));
  await r.end();
};

const noirqdebug: Scenario = async (r) => {
  await r.begin("noirqdebug");
  await r.step('request_irq(VIRQ, h_none, 0, "oracle", &dev1)', request_irq(r.virq[0]!, r.h.h_none, 0, "oracle", r.dev1));
  await r.step("BURST(100001)", r.burst(100001));
  await r.step("VOID(free_irq(VIRQ, &dev1))", free_irq(r.virq[0]!, r.dev1));
  await r.end();
};

/* ---- forced threading ---- */

const thr_plain: Scenario = async (r) => {
  await r.begin("thr_plain");
  irq_set_handler(r.virq[0]!, handle_level_irq);
  await r.step('request_irq(VIRQ, h_ctx, 0, "oracle", &dev1)', request_irq(r.virq[0]!, r.h.h_ctx, 0, "oracle", r.dev1));
  await r.step("show_actions(VIRQ)", r.show_actions(r.virq[0]!));
  await r.step("TRIGGER()", r.trigger());
  await r.step("VOID(free_irq(VIRQ, &dev1))", free_irq(r.virq[0]!, r.dev1));
  await r.end();
};

const thr_simple: Scenario = async (r) => {
  await r.begin("thr_simple");
  await r.step('request_irq(VIRQ, h_ctx, 0, "oracle", &dev1)', request_irq(r.virq[0]!, r.h.h_ctx, 0, "oracle", r.dev1));
  await r.step("TRIGGER()", r.trigger());
  await r.step("VOID(free_irq(VIRQ, &dev1))", free_irq(r.virq[0]!, r.dev1));
  await r.end();
};

const thr_split: Scenario = async (r) => {
  await r.begin("thr_split");
  irq_set_handler(r.virq[0]!, handle_level_irq);
  await r.step(
    'request_threaded_irq(VIRQ, h_ctx_wake, h_thread_ctx, 0, "oracle", &dev1)',
    request_threaded_irq(r.virq[0]!, r.h.h_ctx_wake, r.h.h_thread_ctx, 0, "oracle", r.dev1),
  );
  await r.step("show_actions(VIRQ)", r.show_actions(r.virq[0]!));
  await r.step("TRIGGER()", r.trigger());
  await r.step("TRIGGER()", r.trigger());
  await r.step("VOID(free_irq(VIRQ, &dev1))", free_irq(r.virq[0]!, r.dev1));
  await r.end();
};

const thr_nothread: Scenario = async (r) => {
  await r.begin("thr_nothread");
  irq_set_handler(r.virq[0]!, handle_level_irq);
  await r.step('request_irq(VIRQ, h_ctx, IRQF_NO_THREAD, "oracle", &dev1)', request_irq(r.virq[0]!, r.h.h_ctx, IRQF_NO_THREAD, "oracle", r.dev1));
  await r.step("show_actions(VIRQ)", r.show_actions(r.virq[0]!));
  await r.step("TRIGGER()", r.trigger());
  await r.step("VOID(free_irq(VIRQ, &dev1))", free_irq(r.virq[0]!, r.dev1));
  await r.end();
};

const thr_oneshot: Scenario = async (r) => {
  await r.begin("thr_oneshot");
  irq_set_handler(r.virq[0]!, handle_level_irq);
  await r.step(
    'request_threaded_irq(VIRQ, h_ctx_wake, h_thread_ctx, IRQF_ONESHOT, "oracle", &dev1)',
    request_threaded_irq(r.virq[0]!, r.h.h_ctx_wake, r.h.h_thread_ctx, IRQF_ONESHOT, "oracle", r.dev1),
  );
  await r.step("show_actions(VIRQ)", r.show_actions(r.virq[0]!));
  await r.step("TRIGGER()", r.trigger());
  await r.step("VOID(free_irq(VIRQ, &dev1))", free_irq(r.virq[0]!, r.dev1));
  await r.end();
};

const thr_null: Scenario = async (r) => {
  await r.begin("thr_null");
  irq_set_handler(r.virq[0]!, handle_level_irq);
  await r.step(
    'request_threaded_irq(VIRQ, NULL, h_thread_ctx, IRQF_ONESHOT, "oracle", &dev1)',
    request_threaded_irq(r.virq[0]!, null, r.h.h_thread_ctx, IRQF_ONESHOT, "oracle", r.dev1),
  );
  await r.step("show_actions(VIRQ)", r.show_actions(r.virq[0]!));
  await r.step("TRIGGER()", r.trigger());
  await r.step("VOID(free_irq(VIRQ, &dev1))", free_irq(r.virq[0]!, r.dev1));
  await r.step('request_threaded_irq(VIRQ, NULL, h_thread_ctx, 0, "oracle", &dev1)', request_threaded_irq(r.virq[0]!, null, r.h.h_thread_ctx, 0, "oracle", r.dev1));
  await r.end();
};

const thr_shared: Scenario = async (r) => {
  await r.begin("thr_shared");
  irq_set_handler(r.virq[0]!, handle_level_irq);
  await r.step('request_irq(VIRQ, h_ctx, IRQF_SHARED, "oracle", &dev1)', request_irq(r.virq[0]!, r.h.h_ctx, IRQF_SHARED, "oracle", r.dev1));
  await r.step('request_irq(VIRQ, h_ctx2, IRQF_SHARED, "oracle2", &dev2)', request_irq(r.virq[0]!, r.h.h_ctx2, IRQF_SHARED, "oracle2", r.dev2));
  await r.step("show_actions(VIRQ)", r.show_actions(r.virq[0]!));
  await r.step("TRIGGER()", r.trigger());
  await r.step("VOID(free_irq(VIRQ, &dev1))", free_irq(r.virq[0]!, r.dev1));
  await r.step("TRIGGER()", r.trigger());
  await r.step("VOID(free_irq(VIRQ, &dev2))", free_irq(r.virq[0]!, r.dev2));
  await r.end();
};

const thr_shared_mix: Scenario = async (r) => {
  const { h_ctx, h_ctx2 } = r.h;
  await r.begin("thr_shared_mix");
  irq_set_handler(r.virq[0]!, handle_level_irq);
  await r.step(
    'request_irq(VIRQ, h_ctx, IRQF_SHARED | IRQF_NO_THREAD, "oracle", &dev1)',
    request_irq(r.virq[0]!, h_ctx, IRQF_SHARED | IRQF_NO_THREAD, "oracle", r.dev1),
  );
  await r.step('request_irq(VIRQ, h_ctx2, IRQF_SHARED, "oracle2", &dev2)', request_irq(r.virq[0]!, h_ctx2, IRQF_SHARED, "oracle2", r.dev2));
  await r.step("show_actions(VIRQ)", r.show_actions(r.virq[0]!));
  await r.step("VOID(free_irq(VIRQ, &dev1))", free_irq(r.virq[0]!, r.dev1));
  await r.step('request_irq(VIRQ, h_ctx, IRQF_SHARED, "oracle", &dev1)', request_irq(r.virq[0]!, h_ctx, IRQF_SHARED, "oracle", r.dev1));
  await r.step(
    'request_irq(VIRQ, h_ctx2, IRQF_SHARED | IRQF_NO_THREAD, "oracle2", &dev2)',
    request_irq(r.virq[0]!, h_ctx2, IRQF_SHARED | IRQF_NO_THREAD, "oracle2", r.dev2),
  );
  await r.step("show_actions(VIRQ)", r.show_actions(r.virq[0]!));
  await r.step("TRIGGER()", r.trigger());
  await r.step("VOID(free_irq(VIRQ, &dev2))", free_irq(r.virq[0]!, r.dev2));
  await r.step("VOID(free_irq(VIRQ, &dev1))", free_irq(r.virq[0]!, r.dev1));
  await r.end();
};

const thr_desc_nothread: Scenario = async (r) => {
  await r.begin("thr_desc_nothread");
  irq_set_handler(r.virq[0]!, handle_level_irq);
  irq_set_status_flags(r.virq[0]!, IRQ_NOTHREAD);
  await r.step('request_irq(VIRQ, h_ctx, 0, "oracle", &dev1)', request_irq(r.virq[0]!, r.h.h_ctx, 0, "oracle", r.dev1));
  await r.step("show_actions(VIRQ)", r.show_actions(r.virq[0]!));
  await r.step("TRIGGER()", r.trigger());
  await r.step("VOID(free_irq(VIRQ, &dev1))", free_irq(r.virq[0]!, r.dev1));
  irq_clear_status_flags(r.virq[0]!, IRQ_NOTHREAD);
  await r.end();
};

/** thr_keep without the rmmod: its actions stay requested. */
export const thr_keep: Scenario = async (r) => {
  await r.begin("thr_keep", 2);
  await r.step('request_irq(VIRQ, h_ctx, 0, "oracle_long_devname", &dev1)', request_irq(r.virq[0]!, r.h.h_ctx, 0, "oracle_long_devname", r.dev1));
  await r.step(
    'request_threaded_irq(VIRQ2, h_ctx_wake, h_thread_ctx, 0, "oracle-split", &dev2)',
    request_threaded_irq(r.virq[1]!, r.h.h_ctx_wake, r.h.h_thread_ctx, 0, "oracle-split", r.dev2),
  );
  await r.step("show_actions(VIRQ)", r.show_actions(r.virq[0]!));
  await r.step("show_actions(VIRQ2)", r.show_actions(r.virq[1]!));
  r.log("kept until rmmod");
};

export const SCENARIOS: Record<string, Scenario> = {
  stuck,
  stuck_shared,
  window_reset: window("window_reset", 200),
  window_short: window("window_short", 20),
  mixed_100: every("mixed_100", 1000),
  mixed_99: every("mixed_99", 1001),
  bogus,
  deferred,
  deferred_shared,
  deferred_kill,
  misrouted,
  noirqdebug,
  thr_plain,
  thr_simple,
  thr_split,
  thr_nothread,
  thr_oneshot,
  thr_null,
  thr_shared,
  thr_shared_mix,
  thr_desc_nothread,
};

/** The scenario lists of captures/spurious.sh. */
export const SPUR_ALL = ["stuck", "stuck_shared", "window_reset", "window_short", "mixed_100", "mixed_99", "bogus", "deferred", "deferred_shared", "deferred_kill"];
export const THR_ALL = ["thr_plain", "thr_simple", "thr_split", "thr_nothread", "thr_oneshot", "thr_null", "thr_shared", "thr_shared_mix", "thr_desc_nothread"];
