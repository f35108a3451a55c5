// SPDX-License-Identifier: GPL-2.0-only
// irqlab substrate: the trace bus.
//
// Every layer adds its event kinds to TraceEventMap by declaration merging, so
// events are typed without the substrate importing anything above it. Emitters
// test `bus.on` before building an event object: with no listener the hot path
// pays one field load and a branch.

/** Event payloads by kind. Other layers extend this interface. */
export interface TraceEventMap {
  "sched": { what: "run" | "park" | "wake" | "exit" | "spawn"; pid: number; comm: string; target?: number };
  "sim.frame": { what: "enter" | "suspend" | "resume" | "exit"; label: string };
  "note": { text: string };
}

export type TraceKind = keyof TraceEventMap;

/** Context of the code that emitted an event, filled in by the kernel layer. */
export interface TraceCtx {
  /** "task", "softirq", "hardirq" or "idle". */
  ctx: string;
  pid: number;
  comm: string;
  irqsOff: boolean;
  preempt: number;
  /** Names of the locks held by the emitting context, outermost first. */
  locks: readonly string[];
}

export interface TraceHeader extends TraceCtx {
  seq: number;
  t: number;
  cpu: number;
}

export type TraceRecord = {
  [K in TraceKind]: TraceHeader & { kind: K } & TraceEventMap[K];
}[TraceKind];

export type TraceListener = (r: TraceRecord) => void;

const NO_CTX: TraceCtx = { ctx: "none", pid: -1, comm: "", irqsOff: false, preempt: 0, locks: [] };

export class TraceBus {
  /** True when somebody listens. Emitters must test it before building events. */
  on = false;
  private listeners: TraceListener[] = [];
  private seq = 0;
  /** Supplies time and CPU; installed by the simulator. */
  clock: () => number = () => 0;
  cpu: () => number = () => -1;
  /** Supplies the execution context; installed by the kernel layer. */
  context: () => TraceCtx = () => NO_CTX;

  subscribe(l: TraceListener): () => void {
    this.listeners.push(l);
    this.on = true;
    return () => {
      const i = this.listeners.indexOf(l);
      if (i >= 0) this.listeners.splice(i, 1);
      this.on = this.listeners.length > 0;
    };
  }

  emit<K extends TraceKind>(kind: K, payload: TraceEventMap[K]): void {
    if (!this.on) return;
    // Built field by field: object spread of payloads of many shapes is one
    // of the slowest paths of the simulator. The field order (context,
    // header, payload) is what JSON renderings of a record show.
    const c = this.context();
    const rec: Record<string, unknown> = {
      ctx: c.ctx,
      pid: c.pid,
      comm: c.comm,
      irqsOff: c.irqsOff,
      preempt: c.preempt,
      locks: c.locks,
      seq: this.seq++,
      t: this.clock(),
      cpu: this.cpu(),
      kind,
    };
    const p = payload as Record<string, unknown>;
    for (const k in p) rec[k] = p[k];
    for (const l of this.listeners) l(rec as unknown as TraceRecord);
  }
}

/** Keeps every event in memory, for m.trace() and the renderers. */
export class TraceRecorder {
  readonly records: TraceRecord[] = [];
  private unsub: (() => void) | null = null;

  constructor(private bus: TraceBus) {}

  start(): void {
    if (!this.unsub) this.unsub = this.bus.subscribe((r) => this.records.push(r));
  }

  stop(): void {
    this.unsub?.();
    this.unsub = null;
  }

  get recording(): boolean {
    return this.unsub !== null;
  }

  clear(): void {
    this.records.length = 0;
  }
}
