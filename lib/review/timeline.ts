// SPDX-License-Identifier: GPL-2.0-only
// The timeline: the trace bus as Chrome trace-event JSON, which Perfetto
// (ui.perfetto.dev, "Open trace file") and chrome://tracing open.
//
// Process "CPUs" has three tracks per CPU: "CPUn" (task and softirq
// stretches), "CPUn hardirq" (interrupt frames, with the handler
// invocations nested in them) and "CPUn irqs off" (stretches during which
// every event on that CPU had interrupts disabled). Process "devices" has a
// track per PCI function: its interrupt messages (from the write to the
// fabric's delivery) and the MMIO writes it received. A flow arrow goes from
// each message to the handler invocation it caused: the fabric's delivery
// (hw.msi deliver: destination APIC and vector) is followed to the next
// interrupt acknowledge of that vector on that APIC, and from there to the
// first irq_handler_entry in that interrupt frame.
//
// Stretches are reconstructed from the events: the simulator does not
// record every change of the interrupt flag, so an "irqs off" or task
// stretch runs from the first to the last event seen in that state.

import type { TraceRecord } from "../sim/trace.ts";
import { formatRid } from "./callbacks.ts";

export interface ChromeEvent {
  name: string;
  ph: "X" | "i" | "s" | "f" | "M";
  pid: number;
  tid: number;
  ts?: number;
  dur?: number;
  cat?: string;
  id?: number;
  bp?: "e";
  s?: "t" | "p" | "g";
  args?: Record<string, unknown>;
}

export interface ChromeTrace {
  traceEvents: ChromeEvent[];
  displayTimeUnit: "ns";
  otherData: Record<string, string>;
}

const PID_CPUS = 1;
const PID_DEVICES = 2;
const us = (t: number): number => t / 1000;

type Rec<K extends TraceRecord["kind"]> = Extract<TraceRecord, { kind: K }>;

const tidCtx = (cpu: number): number => cpu * 3 + 1;
const tidHard = (cpu: number): number => cpu * 3 + 2;
const tidOff = (cpu: number): number => cpu * 3 + 3;

function deviceKey(bdfOrRid: string | number): string {
  return typeof bdfOrRid === "number" ? formatRid(bdfOrRid) : bdfOrRid.replace(/^[0-9a-f]{4}:/, "");
}

export interface TimelineOptions {
  /** A title stored in otherData. */
  title?: string;
}

/** Export `records` as a Chrome trace. */
export function toChromeTrace(records: readonly TraceRecord[], opts: TimelineOptions = {}): ChromeTrace {
  const ev: ChromeEvent[] = [];
  const cpus = new Set<number>();
  const devTids = new Map<string, number>();
  const devTid = (key: string): number => {
    let t = devTids.get(key);
    if (t === undefined) devTids.set(key, (t = devTids.size + 1));
    return t;
  };

  // ---- per-CPU stretches of task / softirq context and of irqs off
  interface Open {
    key: string;
    name: string;
    cat: string;
    t0: number;
    t1: number;
    args: Record<string, unknown>;
  }
  const ctxOpen = new Map<number, Open | null>();
  const offOpen = new Map<number, Open | null>();
  const close = (o: Open | null | undefined, tid: number): void => {
    if (!o) return;
    ev.push({ name: o.name, ph: "X", pid: PID_CPUS, tid, ts: us(o.t0), dur: us(o.t1 - o.t0), cat: o.cat, args: o.args });
  };
  // ---- interrupt frames and handlers
  const frames = new Map<number, { t0: number; handlers: string[] }[]>();
  const handlers = new Map<number, { t0: number; irq: number; name: string }[]>();
  // ---- messages: receive (device write) -> deliver -> inta -> handler
  const inFlight = new Map<number, { t0: number; dev: string; vector: number; data: number }[]>();
  const delivered: { apic: number; vector: number; flow: number; dev: string }[] = [];
  const awaitingHandler = new Map<number, number>();
  let flowId = 0;
  const flowStarts: ChromeEvent[] = [];

  for (const r of records) {
    if (r.cpu >= 0) cpus.add(r.cpu);
    // context stretches: only code running on the CPU counts (hardware
    // models and the scheduler emit from the event loop, not from a CPU)
    if (r.cpu >= 0 && r.kind !== "sim.frame" && r.kind !== "sched" && !r.kind.startsWith("hw.")) {
      const cur = ctxOpen.get(r.cpu) ?? null;
      const interesting = r.ctx === "task" || r.ctx === "softirq";
      const key = `${r.ctx}/${r.pid}`;
      if (cur && cur.key === key) cur.t1 = r.t;
      else {
        close(cur, tidCtx(r.cpu));
        ctxOpen.set(r.cpu, interesting ? { key, name: r.ctx === "task" ? `${r.comm}/${r.pid}` : "softirq", cat: r.ctx, t0: r.t, t1: r.t, args: { comm: r.comm, pid: r.pid } } : null);
      }
      const off = offOpen.get(r.cpu) ?? null;
      if (r.irqsOff) {
        if (off) off.t1 = r.t;
        else offOpen.set(r.cpu, { key: "off", name: "irqs off", cat: "irqs-off", t0: r.t, t1: r.t, args: { ctx: r.ctx, comm: r.comm } });
      } else if (off) {
        if (off.t1 > off.t0) close(off, tidOff(r.cpu));
        offOpen.set(r.cpu, null);
      }
    }
    switch (r.kind) {
      case "sim.frame": {
        if (r.label !== "irq") break;
        let st = frames.get(r.cpu);
        if (!st) frames.set(r.cpu, (st = []));
        if (r.what === "enter") st.push({ t0: r.t, handlers: [] });
        else if (r.what === "exit") {
          const f = st.pop();
          if (f) ev.push({ name: f.handlers.length ? `hardirq: ${f.handlers.join(", ")}` : "hardirq", ph: "X", pid: PID_CPUS, tid: tidHard(r.cpu), ts: us(f.t0), dur: us(r.t - f.t0), cat: "hardirq" });
          awaitingHandler.delete(r.cpu);
        }
        break;
      }
      case "irq_handler_entry": {
        let st = handlers.get(r.cpu);
        if (!st) handlers.set(r.cpu, (st = []));
        st.push({ t0: r.t, irq: r.irq, name: r.name });
        frames.get(r.cpu)?.at(-1)?.handlers.push(r.name);
        const flow = awaitingHandler.get(r.cpu);
        if (flow !== undefined) {
          awaitingHandler.delete(r.cpu);
          ev.push({ name: "MSI -> handler", ph: "f", bp: "e", pid: PID_CPUS, tid: tidHard(r.cpu), ts: us(r.t), id: flow, cat: "msi" });
          const s = flowStarts.find((x) => x.id === flow);
          if (s) ev.push(s);
        }
        break;
      }
      case "irq_handler_exit": {
        const h = handlers.get(r.cpu)?.pop();
        if (h) ev.push({ name: `${h.name} (irq ${h.irq})`, ph: "X", pid: PID_CPUS, tid: tidHard(r.cpu), ts: us(h.t0), dur: us(r.t - h.t0), cat: "handler", args: { irq: h.irq, ret: r.ret } });
        break;
      }
      case "hw.msi": {
        const m = r as Rec<"hw.msi">;
        if (m.what === "receive") {
          let q = inFlight.get(m.rid);
          if (!q) inFlight.set(m.rid, (q = []));
          q.push({ t0: m.t, dev: deviceKey(m.rid), vector: -1, data: m.data ?? 0 });
        } else if (m.what === "deliver" || m.what === "drop") {
          const w = inFlight.get(m.rid)?.shift();
          if (!w) break;
          const tid = devTid(w.dev);
          const ok = m.what === "deliver";
          ev.push({
            name: ok ? `MSI -> APIC ${m.dest ?? -1} vector 0x${(m.vector ?? 0).toString(16)}` : `MSI dropped`,
            ph: "X",
            pid: PID_DEVICES,
            tid,
            ts: us(w.t0),
            dur: us(m.t - w.t0),
            cat: "msi",
            args: { data: `0x${(w.data >>> 0).toString(16)}`, ...(ok ? { dest: m.dest, vector: m.vector } : { why: m.why }) },
          });
          if (ok) {
            const flow = ++flowId;
            flowStarts.push({ name: "MSI -> handler", ph: "s", pid: PID_DEVICES, tid, ts: us(w.t0), id: flow, cat: "msi" });
            delivered.push({ apic: m.dest ?? -1, vector: m.vector ?? -1, flow, dev: w.dev });
          }
        }
        break;
      }
      case "hw.apic": {
        if (r.what !== "inta") break;
        const i = delivered.findIndex((d) => d.apic === r.apicId && d.vector === r.vector);
        if (i >= 0) {
          // several messages coalesced in the IRR end in one acknowledge: the last one carries the arrow
          let last = i;
          for (let j = i + 1; j < delivered.length; j++) if (delivered[j]!.apic === r.apicId && delivered[j]!.vector === r.vector) last = j;
          const d = delivered[last]!;
          for (let j = last; j >= i; j--) if (delivered[j]!.apic === r.apicId && delivered[j]!.vector === r.vector) delivered.splice(j, 1);
          awaitingHandler.set(r.cpu, d.flow);
        }
        break;
      }
      case "hw.msix": {
        if (r.what === "emit" || r.what === "pending-emit" || r.what === "latch" || r.what === "drop") {
          ev.push({ name: `MSI-X ${r.what} vector ${r.vector}`, ph: "i", s: "t", pid: PID_DEVICES, tid: devTid(deviceKey(r.bdf)), ts: us(r.t), cat: "msix", args: r.why ? { why: r.why } : {} });
        }
        break;
      }
      case "hw.mmio": {
        if (r.op !== "apply") break;
        const m = /^(?:[0-9a-f]{4}:)?([0-9a-f]{2}:[0-9a-f]{2}\.[0-7]) BAR(\d)/.exec(r.region);
        if (!m) break;
        ev.push({
          name: `write BAR${m[2]!} 0x${r.addr.toString(16)} = 0x${(r.value >>> 0).toString(16)}`,
          ph: "i",
          s: "t",
          pid: PID_DEVICES,
          tid: devTid(m[1]!),
          ts: us(r.t),
          cat: "mmio",
          args: { width: r.width, cpu: r.by },
        });
        break;
      }
      default:
        break;
    }
  }
  for (const [cpu, o] of ctxOpen) close(o, tidCtx(cpu));
  for (const [cpu, o] of offOpen) if (o && o.t1 > o.t0) close(o, tidOff(cpu));

  // a track's events in time order; slices before the flow events bound to them
  const rank = (e: ChromeEvent): number => (e.ph === "X" ? 0 : e.ph === "i" ? 1 : 2);
  const body = ev
    .map((e, i) => ({ e, i }))
    .sort((a, b) => a.e.pid - b.e.pid || a.e.tid - b.e.tid || a.e.ts! - b.e.ts! || rank(a.e) - rank(b.e) || (b.e.dur ?? 0) - (a.e.dur ?? 0) || a.i - b.i)
    .map((x) => x.e);
  const meta: ChromeEvent[] = [
    { name: "process_name", ph: "M", pid: PID_CPUS, tid: 0, args: { name: "CPUs" } },
    { name: "process_sort_index", ph: "M", pid: PID_CPUS, tid: 0, args: { sort_index: 0 } },
    { name: "process_name", ph: "M", pid: PID_DEVICES, tid: 0, args: { name: "devices" } },
    { name: "process_sort_index", ph: "M", pid: PID_DEVICES, tid: 0, args: { sort_index: 1 } },
  ];
  for (const c of [...cpus].sort((a, b) => a - b)) {
    for (const [tid, name] of [
      [tidCtx(c), `CPU${c}`],
      [tidHard(c), `CPU${c} hardirq`],
      [tidOff(c), `CPU${c} irqs off`],
    ] as const) {
      meta.push({ name: "thread_name", ph: "M", pid: PID_CPUS, tid, args: { name } });
      meta.push({ name: "thread_sort_index", ph: "M", pid: PID_CPUS, tid, args: { sort_index: tid } });
    }
  }
  for (const [key, tid] of devTids) meta.push({ name: "thread_name", ph: "M", pid: PID_DEVICES, tid, args: { name: `device ${key}` } });
  return { traceEvents: [...meta, ...body], displayTimeUnit: "ns", otherData: { generator: "irqlab", ...(opts.title ? { title: opts.title } : {}) } };
}

/**
 * Structural checks of a Chrome trace: required fields per phase, time
 * order per track, slices properly nested per track, every flow start
 * paired with one finish (later, bound to a slice that encloses it).
 * Returns the problems found (empty: valid).
 */
export function validateChromeTrace(trace: unknown): string[] {
  const errs: string[] = [];
  if (typeof trace !== "object" || trace === null || !Array.isArray((trace as { traceEvents?: unknown }).traceEvents)) return ["no traceEvents array"];
  const events = (trace as { traceEvents: unknown[] }).traceEvents;
  const lastTs = new Map<string, number>();
  const slices = new Map<string, { ts: number; end: number }[]>();
  const starts = new Map<string, number>();
  const finishes = new Map<string, number>();
  const num = (x: unknown): x is number => typeof x === "number" && Number.isFinite(x);
  for (const [i, raw] of events.entries()) {
    const e = raw as Partial<ChromeEvent> & Record<string, unknown>;
    const at = `event ${i} (${String(e.ph)} ${String(e.name)})`;
    if (typeof e.name !== "string" || typeof e.ph !== "string") {
      errs.push(`${at}: name and ph must be strings`);
      continue;
    }
    if (!num(e.pid) || !num(e.tid)) errs.push(`${at}: pid and tid must be numbers`);
    if (e.ph === "M") {
      if (typeof e.args !== "object" || e.args === null) errs.push(`${at}: metadata without args`);
      continue;
    }
    if (!num(e.ts) || e.ts < 0) {
      errs.push(`${at}: ts must be a non-negative number`);
      continue;
    }
    const track = `${e.pid}/${e.tid}`;
    const prev = lastTs.get(track);
    if (prev !== undefined && e.ts < prev) errs.push(`${at}: ts ${e.ts} goes back in time on track ${track} (after ${prev})`);
    lastTs.set(track, e.ts);
    const open = slices.get(track) ?? [];
    slices.set(track, open);
    switch (e.ph) {
      case "X": {
        if (!num(e.dur) || e.dur < 0) {
          errs.push(`${at}: a complete event needs dur >= 0`);
          break;
        }
        // a slice ending where this one starts is closed (adjacent, not nested)
        while (open.length && (open.at(-1)!.end < e.ts || (open.at(-1)!.end === e.ts && open.at(-1)!.ts < e.ts))) open.pop();
        const parent = open.at(-1);
        if (parent && e.ts + e.dur > parent.end + 1e-9) errs.push(`${at}: [${e.ts}, ${e.ts + e.dur}] overlaps [${parent.ts}, ${parent.end}] on track ${track} without nesting`);
        open.push({ ts: e.ts, end: e.ts + e.dur });
        break;
      }
      case "i":
        if (e.s !== undefined && e.s !== "t" && e.s !== "p" && e.s !== "g") errs.push(`${at}: bad instant scope ${String(e.s)}`);
        break;
      case "s":
      case "f": {
        if (e.id === undefined || (typeof e.id !== "number" && typeof e.id !== "string")) {
          errs.push(`${at}: a flow event needs an id`);
          break;
        }
        const key = `${String(e.cat)}/${String(e.id)}`;
        const map = e.ph === "s" ? starts : finishes;
        if (map.has(key)) errs.push(`${at}: flow id ${key} ${e.ph === "s" ? "started" : "finished"} twice`);
        map.set(key, e.ts);
        if (!open.some((s) => s.ts <= e.ts! && e.ts! <= s.end)) errs.push(`${at}: flow ${e.ph} at ${e.ts} is not inside a slice of track ${track}`);
        break;
      }
      default:
        errs.push(`${at}: unknown phase ${String(e.ph)}`);
    }
  }
  for (const [k, ts] of starts) {
    const f = finishes.get(k);
    if (f === undefined) errs.push(`flow ${k} starts at ${ts} and never finishes`);
    else if (f < ts) errs.push(`flow ${k} finishes at ${f}, before it starts at ${ts}`);
  }
  for (const k of finishes.keys()) if (!starts.has(k)) errs.push(`flow ${k} finishes without a start`);
  return errs;
}
