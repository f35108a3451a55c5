// SPDX-License-Identifier: GPL-2.0-only
// Helpers of the benchmarks: wall-clock timing (benchmarks are the one place
// irqlab reads the host clock; the simulator never does), forced garbage
// collection for heap figures, and the result rows every bench prints.

import { Machine } from "../lib/machine.ts";

/** One line of the bench table. */
export interface Row {
  bench: string;
  metric: string;
  value: number;
  unit: string;
  /** The target as text, e.g. ">= 2000000"; empty when the row is informative. */
  target?: string;
  /** Whether `value` meets the target (undefined: no target). */
  ok?: boolean;
  note?: string;
}

/**
 * CPU time of this process in nanoseconds (user + system, all threads).
 * The benches time with it rather than the wall clock: the host is shared,
 * and CPU time does not count the time other processes hold the cores.
 */
export function cpuNow(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) * 1000;
}

/** Nanoseconds of the host's monotonic wall clock. */
export function wallNow(): number {
  return Number(process.hrtime.bigint());
}

const gcfn = (globalThis as { gc?: () => void }).gc;

/** Whether the process runs with --expose-gc (heap figures need it). */
export function canGc(): boolean {
  return typeof gcfn === "function";
}

/**
 * Full collections until the heap stops shrinking; returns the bytes in use:
 * the JavaScript heap plus the backing stores of ArrayBuffers, which live
 * outside it.
 */
export function settledHeap(): number {
  if (!gcfn) throw new Error("bench: heap figures need node --expose-gc (run through `npm run bench`)");
  let last = Infinity;
  for (let i = 0; i < 8; i++) {
    gcfn();
    const u = process.memoryUsage();
    const h = u.heapUsed + u.arrayBuffers;
    if (h >= last - 64 * 1024) return h;
    last = h;
  }
  return last;
}

/**
 * Forget the machines this process created: Machine.created keeps every
 * machine for the test harness's splat check, which would make a bench that
 * boots thousands of machines hold them all.
 */
export function forgetMachines(): void {
  for (const m of Machine.created.splice(0)) {
    if (m.unexpectedSplats().length > 0) m.checkSplats();
  }
}

export function row(bench: string, metric: string, value: number, unit: string, target?: { min?: number; max?: number; text?: string }, note?: string): Row {
  const r: Row = { bench, metric, value, unit };
  if (target) {
    r.target = target.text ?? (target.min !== undefined ? `>= ${fmt(target.min)}` : `<= ${fmt(target.max!)}`);
    r.ok = (target.min === undefined || value >= target.min) && (target.max === undefined || value <= target.max);
  }
  if (note) r.note = note;
  return r;
}

export function fmt(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a >= 1e6) return `${(v / 1e6).toFixed(2)} M`;
  if (a >= 1e4) return `${(v / 1e3).toFixed(1)} k`;
  if (a >= 100) return v.toFixed(0);
  if (a >= 1) return v.toFixed(2);
  return v.toPrecision(3);
}

/** Print rows as JSON for the parent process (bench/index.ts) on a marked line. */
export function emitRows(rows: Row[]): void {
  process.stdout.write(`@@bench ${JSON.stringify(rows)}\n`);
}

/** Render the table. */
export function table(rows: readonly Row[]): string {
  const head = ["bench", "metric", "value", "unit", "target", "ok", "note"];
  const cells = rows.map((r) => [r.bench, r.metric, fmt(r.value), r.unit, r.target ?? "", r.ok === undefined ? "" : r.ok ? "yes" : "NO", r.note ?? ""]);
  const w = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]): string => c.map((x, i) => (i === 2 ? x.padStart(w[i]!) : x.padEnd(w[i]!))).join("  ").trimEnd();
  return [line(head), line(w.map((n) => "-".repeat(n))), ...cells.map(line)].join("\n");
}

/** A bench file run directly prints its table; run by index.ts it emits JSON. */
export function report(rows: Row[]): void {
  if (process.env["IRQLAB_BENCH_CHILD"]) emitRows(rows);
  else console.log(table(rows));
}
