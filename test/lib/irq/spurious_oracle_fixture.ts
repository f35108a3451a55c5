// SPDX-License-Identifier: GPL-2.0-only
// The oracle_spurious module (docs/oracle/spurious.patch) rendered on irqlab:
// the same two-line irq_sim-like chip (mask/unmask flip an enabled bit, a
// PENDING write while enabled queues an irq_work that runs the flow handler,
// a PENDING write while masked is dropped, a no-op irq_ack), the same
// handlers and the same log lines, printed into irqlab's dmesg with
// pr_info() as the module prints them into Linux's. A test runs the steps
// of a scenario in the module's order and compares irqlab's dmesg section
// with the capture's, line by line, after normalize().

import { oracleText } from "../../oracle.ts";
import { pr_info } from "../../../lib/kernel/printk.ts";
import { msleep } from "../../../lib/kernel/delay.ts";
import { jiffies } from "../../../lib/kernel/jiffies.ts";
import { current, PF_KTHREAD, type task_struct } from "../../../lib/kernel/sched.ts";
import { in_hardirq, in_serving_softirq, in_softirq, irqs_disabled, preempt_count } from "../../../lib/kernel/context.ts";
import { init_irq_work, irq_work_queue, irq_work_sync, type irq_work } from "../../../lib/kernel/irq_work.ts";
import type { Frame } from "../../../lib/kernel/frame.ts";
import { irq_to_desc, handle_irq_desc_y, type irq_desc } from "../../../lib/irq/irqdesc.ts";
import { irq_modify_status, irq_set_chip, irq_set_handler } from "../../../lib/irq/chip.ts";
import { handle_simple_irq } from "../../../lib/irq/flow.ts";
import { IRQ_HANDLED, IRQ_NONE, IRQ_WAKE_THREAD, type irqaction } from "../../../lib/irq/interrupt.ts";
import {
  IRQS_ONESHOT,
  IRQS_PENDING,
  IRQS_POLL_INPROGRESS,
  IRQS_REPLAY,
  IRQS_SPURIOUS_DISABLED,
  IRQS_SYSFS,
} from "../../../lib/irq/internals.ts";
import {
  IRQ_NOAUTOEN,
  IRQ_NOPROBE,
  IRQ_NOREQUEST,
  IRQ_TYPE_EDGE_BOTH,
  IRQCHIP_STATE_PENDING,
  irqd_irq_disabled,
  irqd_irq_masked,
  irqd_is_activated,
  irqd_is_started,
  irqd_set_trigger_type,
  type irq_chip,
  type irq_data,
} from "../../../lib/irq/irq.ts";
import { irq_set_irqchip_state } from "../../../lib/irq/manage.ts";
import { irq_create_mapping, irq_dispose_mapping, irq_domain_create_linear, irq_domain_remove, type irq_domain } from "../../../lib/irq/irqdomain.ts";
import { settle } from "./domain_fixtures.ts";

const EINVAL = 22;
const NR_LINES = 2;
/** burst() runs its events in chunks of this many, interrupts on in between (as the module does). */
const BURST_CHUNK = 10000;

const hex = (v: number | bigint): string => "0x" + (typeof v === "bigint" ? v : BigInt(v >>> 0)).toString(16);

/** The state of oracle_spurious.c (its `s`). */
/** The module's handlers, named as there so %ps prints the same names. */
function handlers(rig: Rig) {
  return {
    h_count: function h_count(this: void): number {
      rig.handled++;
      if (!rig.quiet) rig.log(`  handler (dev 1) #${rig.handled}`);
      return IRQ_HANDLED;
    },
    h_count2: function h_count2(this: void): number {
      rig.handled2++;
      if (!rig.quiet) rig.log(`  handler (dev 2) #${rig.handled2}`);
      return IRQ_HANDLED;
    },
    h_none: function h_none(this: void): number {
      rig.calls++;
      if (!rig.quiet) rig.ctx("handler returns IRQ_NONE");
      return IRQ_NONE;
    },
    h_every: function h_every(this: void): number {
      return ++rig.calls % rig.every ? IRQ_NONE : IRQ_HANDLED;
    },
    h_bogus: function h_bogus(this: void): number {
      rig.handled++;
      rig.log("  handler returns 0x10");
      return 0x10;
    },
    h_wake: function h_wake(this: void): number {
      rig.handled++;
      if (!rig.quiet) rig.log("  primary handler -> IRQ_WAKE_THREAD");
      return IRQ_WAKE_THREAD;
    },
    h_thread_ret: function h_thread_ret(this: void): number {
      const n = ++rig.thread_ran;
      if (!rig.quiet) rig.log(`  thread fn #${n} returns ${rig.thread_ret === IRQ_HANDLED ? "IRQ_HANDLED" : "IRQ_NONE"}`);
      return rig.thread_ret;
    },
    h_ctx: function h_ctx(this: void): number {
      rig.handled++;
      rig.ctx("handler (dev 1) h_ctx");
      return IRQ_HANDLED;
    },
    h_ctx2: function h_ctx2(this: void): number {
      rig.handled2++;
      rig.ctx("handler (dev 2) h_ctx2");
      return IRQ_HANDLED;
    },
    h_ctx_wake: function h_ctx_wake(this: void): number {
      rig.handled++;
      rig.ctx("primary h_ctx_wake -> IRQ_WAKE_THREAD");
      return IRQ_WAKE_THREAD;
    },
    h_thread_ctx: function h_thread_ctx(this: void): number {
      rig.thread_ran++;
      rig.ctx("thread fn h_thread_ctx");
      return IRQ_HANDLED;
    },
  };
}

export class Rig {
  domain!: irq_domain;
  work!: irq_work;
  burstWork!: irq_work;
  enabled = [false, false];
  pending = [false, false];
  virq = [0, 0];
  name = "";
  handled = 0;
  handled2 = 0;
  thread_ran = 0;
  quiet = false;
  calls = 0;
  every = 1;
  nmask = 0;
  nunmask = 0;
  nack = 0;
  burst_n = 0;
  burst_irq = 0;
  thread_ret = IRQ_HANDLED;
  restarts = { n: 0, first_at: 0, gap: 0 };
  readonly chip: irq_chip;
  /** dev_id cookies of the module's `dev1` and `dev2`. */
  readonly dev1 = { dev: 1 };
  readonly dev2 = { dev: 2 };

  constructor() {
    const sfx = (d: irq_data): string => (d.hwirq ? " (line 1)" : "");
    this.chip = {
      name: "oracle-sim",
      irq_mask: (d) => {
        if (this.quiet) this.nmask++;
        else this.log(`  chip irq_mask${sfx(d)}`);
        this.enabled[d.hwirq] = false;
      },
      irq_unmask: (d) => {
        if (this.quiet) this.nunmask++;
        else this.log(`  chip irq_unmask${sfx(d)}`);
        this.enabled[d.hwirq] = true;
      },
      irq_ack: (d) => {
        if (this.quiet) this.nack++;
        else this.log(`  chip irq_ack${sfx(d)}`);
      },
      irq_set_type: (d, type) => {
        const ret = type & ~IRQ_TYPE_EDGE_BOTH ? -EINVAL : 0;
        this.log(`  chip irq_set_type${sfx(d)} type=${type} -> ${ret}`);
        if (!ret) irqd_set_trigger_type(d, type);
        return ret;
      },
      irq_get_irqchip_state: (d, which, state) => {
        this.log(`  chip irq_get_irqchip_state${sfx(d)} which=${which} enabled=${+this.enabled[d.hwirq]!} pending=${+this.pending[d.hwirq]!}`);
        if (which !== IRQCHIP_STATE_PENDING) return -EINVAL;
        if (this.enabled[d.hwirq]) state.value = this.pending[d.hwirq]!;
        return 0;
      },
      irq_set_irqchip_state: (d, which, state) => {
        const en = this.enabled[d.hwirq]!;
        this.log(`  chip irq_set_irqchip_state${sfx(d)} which=${which} state=${+state} enabled=${+en}${which === IRQCHIP_STATE_PENDING && !en ? " (dropped)" : ""}`);
        if (which !== IRQCHIP_STATE_PENDING) return -EINVAL;
        if (en) {
          this.pending[d.hwirq] = state;
          if (state) irq_work_queue(this.work);
        }
        return 0;
      },
      irq_request_resources: (d) => {
        this.log(`  chip irq_request_resources${sfx(d)}`);
        return 0;
      },
      irq_release_resources: (d) => {
        this.log(`  chip irq_release_resources${sfx(d)}`);
      },
    };
  }

  /** LOG(): "oracle: <scenario>: <text>" */
  log(text: string): void {
    pr_info("oracle: %s: %s\n", this.name, text);
  }

  /** oracle_init(): the two-line linear domain and the works */
  async init(): Promise<void> {
    this.work = init_irq_work(() => this.sim_work());
    this.burstWork = init_irq_work(() => this.burst_work());
    const d = await settle(
      irq_domain_create_linear(null, NR_LINES, {
        map: (_d: irq_domain, virq: number, _hw: number): number => {
          irq_set_chip(virq, this.chip);
          irq_set_handler(virq, handle_simple_irq);
          irq_modify_status(virq, IRQ_NOREQUEST | IRQ_NOAUTOEN, IRQ_NOPROBE);
          return 0;
        },
      }, null),
    );
    if (!d) throw new Error("irq_domain_create_linear failed");
    this.domain = d;
  }

  async exit(): Promise<void> {
    irq_work_sync(this.work);
    irq_work_sync(this.burstWork);
    await settle(irq_domain_remove(this.domain));
  }

  // sim_work(): hard irq context
  private *sim_work(): Frame {
    for (let i = 0; i < NR_LINES; i++) {
      if (!this.pending[i] || !this.virq[i]) continue;
      this.pending[i] = false;
      this.log(`  irq_work: running flow handler${i ? " (line 1)" : ""}`);
      yield* handle_irq_desc_y(irq_to_desc(this.virq[i]!));
    }
  }

  // burst_work(): hard irq context, counting restarts of the unhandled count
  private *burst_work(): Frame {
    const desc = irq_to_desc(this.burst_irq)!;
    for (let i = 0; i < this.burst_n; i++) {
      const prev = desc.irqs_unhandled;
      const last = desc.last_unhandled;
      yield* handle_irq_desc_y(desc);
      if (desc.irqs_unhandled === 1 && prev > 1 && desc.irq_count) {
        if (!this.restarts.n++) {
          this.restarts.first_at = i + 1;
          this.restarts.gap = desc.last_unhandled - last;
        }
      }
    }
  }

  /** ctx(): the context a handler runs in */
  ctx(who: string): void {
    const t: task_struct = current();
    const policy = t.policy === "SCHED_FIFO" ? 1 : 0;
    const rt = (t as task_struct & { rt_priority?: number }).rt_priority ?? 0;
    this.log(
      `  ${who}: comm=${t.comm} hardirq=${+in_hardirq()} in_softirq=${+in_softirq()} serving_softirq=${+in_serving_softirq()} ` +
        `irqs_disabled=${+irqs_disabled()} preempt_count=${hex(preempt_count())} policy=${policy} rt_priority=${rt} kthread=${+((t.flags & PF_KTHREAD) !== 0)}`,
    );
  }

  /* ---- handlers (named: the splats print them with %ps) ---- */
  readonly h = handlers(this);

  /* ---- steps ---- */
  private state_line(what: string, ret: number, line: number): void {
    const desc = irq_to_desc(this.virq[line]!)!;
    const d = desc.irq_data;
    const is = desc.istate;
    const flags =
      (is & IRQS_SPURIOUS_DISABLED ? " SPURIOUS_DISABLED" : "") +
      (is & IRQS_POLL_INPROGRESS ? " POLL_INPROGRESS" : "") +
      (is & IRQS_PENDING ? " PENDING" : "") +
      (is & IRQS_REPLAY ? " REPLAY" : "") +
      (is & IRQS_ONESHOT ? " ONESHOT" : "") +
      (is & IRQS_SYSFS ? " SYSFS" : "");
    this.log(
      `${line ? "  (line 1) " : ""}${what.padEnd(44)} ret=${ret} | handled=${this.handled}/${this.handled2} thread=${this.thread_ran} ` +
        `kstat=${desc.tot_count} unhandled=${desc.irqs_unhandled} | depth=${desc.depth} disabled=${+irqd_irq_disabled(d)} ` +
        `masked=${+irqd_irq_masked(d)} started=${+irqd_is_started(d)} activated=${+irqd_is_activated(d)} action=${desc.action ? 1 : 0} | ` +
        `istate=${hex(is)}${flags} | line enabled=${+this.enabled[line]!} pending=${+this.pending[line]!} | irq_count=${desc.irq_count} ` +
        `threads_handled=${desc.threads_handled} threads_handled_last=${hex(desc.threads_handled_last)} threads_oneshot=${hex(desc.threads_oneshot)} ` +
        `threads_active=${desc.threads_active} status=${hex(desc.status_use_accessors)}`,
    );
  }

  private state(what: string, ret: number): void {
    this.state_line(what, ret, 0);
    if (this.virq[1]) this.state_line("", 0, 1);
  }

  /** settle(): let irq_work, the resend tasklet and threads run */
  private async settle(): Promise<void> {
    irq_work_sync(this.work);
    await msleep(20);
    irq_work_sync(this.work);
  }

  /** STEP(expr): the step's text as the module prints it, and its value */
  async step(what: string, ret: unknown): Promise<void> {
    const v: unknown = await ret;
    const r = typeof v === "number" ? v : 0;
    await this.settle();
    this.state(what, r);
  }

  trigger(line = 0): Promise<number> {
    return irq_set_irqchip_state(this.virq[line]!, IRQCHIP_STATE_PENDING, true);
  }

  /** burst(): n flow-handler runs from hard irq_works, BURST_CHUNK at a time */
  burst(n: number, line = 0): number {
    const t0 = jiffies();
    const calls0 = this.calls;
    const [h0, h20, th0] = [this.handled, this.handled2, this.thread_ran];
    this.nmask = this.nunmask = this.nack = 0;
    this.burst_irq = this.virq[line]!;
    this.quiet = true;
    this.restarts.n = 0;
    for (let done = 0; done < n; done += this.burst_n) {
      this.burst_n = Math.min(n - done, BURST_CHUNK);
      irq_work_queue(this.burstWork);
      irq_work_sync(this.burstWork);
    }
    this.quiet = false;
    if (this.restarts.n) {
      this.log(
        `  (burst: the unhandled count restarted ${this.restarts.n} times, first at event ${this.restarts.first_at} after a gap of ${this.restarts.gap} jiffies)`,
      );
    }
    this.log(
      `  (burst of ${n}: quiet handler calls=${this.calls - calls0} handled=${this.handled - h0}/${this.handled2 - h20} thread=${this.thread_ran - th0}, ` +
        `chip calls mask=${this.nmask} ack=${this.nack} unmask=${this.nunmask}, ${jiffies() - t0} jiffies)`,
    );
    return n;
  }

  /** burst_gap_burst(): two bursts ms apart, without a settle in between */
  async burst_gap_burst(n1: number, ms: number, n2: number): Promise<number> {
    this.burst(n1);
    const j = jiffies();
    await msleep(ms);
    this.log(`  (msleep(${ms}) between the bursts: ${jiffies() - j} jiffies)`);
    this.burst(n2);
    return n1 + n2;
  }

  private show_action(kind: string, a: irqaction): void {
    const fn = (f: unknown): string => (typeof f === "function" ? f.name : "0x0");
    const t = a.thread;
    const rt = t ? ((t as task_struct & { rt_priority?: number }).rt_priority ?? 0) : -1;
    this.log(
      `  ${kind} ${a.name}: flags=0x${(a.flags >>> 0).toString(16).padStart(8, "0")} thread_flags=${hex(a.thread_flags)} thread_mask=${hex(a.thread_mask)} ` +
        `handler=${fn(a.handler)} thread_fn=${fn(a.thread_fn)} thread=${t ? t.comm : "-"} policy=${t ? (t.policy === "SCHED_FIFO" ? 1 : 0) : -1} rt_priority=${rt}`,
    );
  }

  show_actions(virq: number): number {
    for (let a = irq_to_desc(virq)!.action; a; a = a.next) {
      this.show_action("action", a);
      if (a.secondary) this.show_action("secondary", a.secondary);
    }
    return 0;
  }

  /** begin_n(): a new scenario on `lines` freshly mapped lines */
  async begin(name: string, lines = 1): Promise<void> {
    this.name = name;
    this.handled = this.handled2 = this.thread_ran = 0;
    this.calls = 0;
    this.thread_ret = IRQ_HANDLED;
    for (let i = 0; i < NR_LINES; i++) {
      this.enabled[i] = this.pending[i] = false;
      this.virq[i] = 0;
    }
    for (let i = 0; i < lines; i++) this.virq[i] = await settle(irq_create_mapping(this.domain, i));
    this.state("irq_create_mapping", this.virq[0]!);
  }

  async end(): Promise<void> {
    for (let i = NR_LINES - 1; i >= 0; i--) if (this.virq[i]) await settle(irq_dispose_mapping(this.virq[i]!));
    this.virq = [0, 0];
    this.log("irq_dispose_mapping done");
  }

  /** pr_info("=== scenario %s\n") */
  announce(name: string): void {
    pr_info("oracle: === scenario %s\n", name);
  }
}

/* ------------------------------------------------------------ captures */

/** The lines of one `### title` section of a capture in docs/oracle (the title up to its end, or a prefix of it). */
export function captureSection(file: string, title: string): string[] {
  const text = oracleText(file).split("\n");
  const start = text.findIndex((l) => l.startsWith(`### ${title}`));
  if (start < 0) throw new Error(`no section '### ${title}' in ${file}`);
  const out: string[] = [];
  for (const l of text.slice(start + 1)) {
    if (l.startsWith("### ") || l.startsWith("===ORACLE-END")) break;
    out.push(l);
  }
  return out;
}

/** One scenario's lines (from its "=== scenario" line to the next one or the end of the module run). */
export function scenarioLines(lines: readonly string[], scenario: string): string[] {
  const start = lines.indexOf(`oracle: === scenario ${scenario}`);
  if (start < 0) throw new Error(`no scenario ${scenario}`);
  const out: string[] = [];
  for (const l of lines.slice(start + 1)) {
    if (l.startsWith("oracle: === scenario ") || l.startsWith("rmmod rc=") || l === "oracle: unloaded") break;
    out.push(l);
  }
  return out;
}

/** dmesg lines of an irqlab machine without timestamps (the capture strips them too). */
export function machineLines(dmesg: string): string[] {
  return dmesg
    .split("\n")
    .filter((l) => l.length > 0)
    .map((l) => l.replace(/^\[\s*\d+\.\d{6}\] /, ""));
}

export type { irq_desc };

/* ------------------------------------------------------------ normalize */

/** Lines both kernels print for a scenario: the module's, and the genirq messages and splat summaries. */
const KEPT = /^(oracle: |irq \d+: nobody cared|irq event \d+: bogus return value|handlers:$|\[<|Disabling IRQ #|IRQ \d+ device |genirq: |Trying to free)/;

export interface NormOpts {
  /** The virq of line 0 (line 1 is the next one) in this kernel's log. */
  virq: number;
  /** Drop these lines after the other rewriting (a regexp on the normalized line). */
  drop?: RegExp;
  /** More rewriting of a normalized line. */
  rewrite?: (l: string) => string;
}

/**
 * The lines of one scenario as both kernels can print them: splat bodies
 * (CPU, Tainted, Hardware name, the stack) are left out (the splat tests
 * compare their structure); the virq numbers, the %p hash and the module
 * name of %ps, and the jiffies counts of the module's burst notes (timings)
 * are replaced by placeholders.
 */
export function normalize(lines: readonly string[], o: NormOpts): string[] {
  const out: string[] = [];
  const v = String(o.virq);
  const v2 = String(o.virq + 1);
  for (const raw of lines) {
    if (!KEPT.test(raw)) continue;
    let l = raw
      .replace(/ \[oracle_spurious\]/g, "")
      .replace(/\[<[^>]*>\]/g, "[<P>]")
      .replace(/, \d+ jiffies\)$/, ")")
      .replace(/between the bursts: \d+ jiffies/, "between the bursts: J jiffies")
      .replace(/after a gap of \d+ jiffies/, "after a gap of G jiffies")
      .replace(new RegExp(`(irq_create_mapping +ret=)${v}\\b`), "$1V")
      .replace(new RegExp(`\\b(irq |IRQ |IRQ #|irq event |irq/)${v}\\b`, "g"), "$1V")
      .replace(new RegExp(`\\b(irq |IRQ |IRQ #|irq event |irq/)${v2}\\b`, "g"), "$1V2");
    if (o.rewrite) l = o.rewrite(l);
    if (o.drop?.test(l)) continue;
    out.push(l);
  }
  return out;
}

/**
 * 6.12's irq_shutdown() sets depth to 1; from 6.16 it increments it. So a
 * free_irq() that shuts down an interrupt which was disabled (by the
 * spurious detector here) leaves depth 2 in 6.18 where 6.12 printed 1. This
 * rewrites the 6.12 log to what 6.18 does: the depth of a free_irq() step
 * that shut line 0 down is the depth before it plus one.
 */
export function irq_shutdown_depth_618(lines: readonly string[]): string[] {
  let depth = 0;
  return lines.map((l) => {
    const m = /^oracle: \w+: (\S.*?) +ret=.*? \| depth=(\d+) .*? started=(\d) .*? action=(\d)/.exec(l);
    if (!m) return l;
    const [, what, d, started, action] = m;
    if (what!.startsWith("VOID(free_irq(VIRQ,") && started === "0" && action === "0") {
      const fixed = l.replace(/ depth=\d+ /, ` depth=${depth + 1} `);
      depth = depth + 1;
      return fixed;
    }
    depth = Number(d);
    return l;
  });
}

/** The Call Trace of the n-th splat that starts with a line matching `title`: its markers and function names. */
export function splatTrace(lines: readonly string[], title: RegExp, n = 0): { irq: string[]; task: string[]; markers: string[] } {
  let seen = -1;
  let i = 0;
  for (; i < lines.length; i++) if (title.test(lines[i]!) && ++seen === n) break;
  if (i >= lines.length) throw new Error(`no splat ${String(title)} #${n}`);
  const irq: string[] = [];
  const task: string[] = [];
  const markers: string[] = [];
  let where: "none" | "irq" | "task" = "none";
  for (const l of lines.slice(i + 1)) {
    if (l === "handlers:") {
      markers.push(l);
      break;
    }
    const marker = /^(Call Trace:| <IRQ>| <\/IRQ>| <TASK>| <\/TASK>)$/.exec(l);
    if (marker) {
      markers.push(l.trim());
      where = l === " <IRQ>" ? "irq" : l === " <TASK>" ? "task" : "none";
      continue;
    }
    // a frame: " name+0xoff/0xlen [module]" in Linux, " name" in irqlab; "?" frames are guesses
    const f = /^ ([A-Za-z_][\w.]*)(\+0x[0-9a-f]+\/0x[0-9a-f]+)?( \[\w+\])?$/.exec(l);
    if (!f) continue;
    if (where === "irq") irq.push(f[1]!);
    else if (where === "task") task.push(f[1]!);
  }
  return { irq, task, markers };
}

/**
 * The irq thread of a step runs on another CPU of the real guest, so its
 * lines interleave with the hard interrupt's at random. This puts each
 * step's thread lines (matching `thread`) after its other lines, keeping
 * both orders, so two logs compare per step.
 */
export function threadLinesLast(lines: readonly string[], thread: RegExp): string[] {
  const out: string[] = [];
  let held: string[] = [];
  for (const l of lines) {
    if (thread.test(l)) held.push(l);
    else if (/^oracle: \w+: \S/.test(l)) {
      out.push(...held, l);
      held = [];
    } else out.push(l);
  }
  return [...out, ...held];
}
