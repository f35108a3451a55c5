// SPDX-License-Identifier: GPL-2.0-only
// Trace helpers of the exploration tooling: a one-line text form of a trace
// record, excerpts around a record for violation reports, and a digest that
// identifies a whole trace (two runs with the same digest produced the same
// events, in the same order, at the same virtual times).

import { createHash } from "node:crypto";
import type { TraceRecord } from "../sim/trace.ts";

const HEADER = new Set(["seq", "t", "cpu", "kind", "ctx", "pid", "comm", "irqsOff", "preempt", "locks"]);

function fmtValue(k: string, v: unknown): string {
  if (typeof v === "number" && /^(addr|data|value)/.test(k)) return `0x${(v >>> 0).toString(16)}`;
  if (typeof v === "string") return /\s/.test(v) ? JSON.stringify(v) : v;
  if (Array.isArray(v)) return `[${v.join(",")}]`;
  return String(v);
}

/** `[  0.001234567] cpu1 hardirq irq_handler_entry irq=34 name=testnic-q2` */
export function formatRecord(r: TraceRecord): string {
  const secs = (r.t / 1e9).toFixed(9).padStart(13);
  const fields: string[] = [];
  for (const [k, v] of Object.entries(r)) if (!HEADER.has(k) && v !== undefined) fields.push(`${k}=${fmtValue(k, v)}`);
  const locks = r.locks.length ? ` {${r.locks.join(",")}}` : "";
  return `[${secs}] #${r.seq} cpu${r.cpu} ${r.ctx}${r.comm ? `/${r.comm}` : ""}${locks} ${r.kind} ${fields.join(" ")}`;
}

/**
 * Records around `seq` (the one with that number and `before`/`after`
 * neighbours), keeping only those `keep` accepts, as text lines. The record
 * at `seq` is marked with ">>".
 */
export function excerpt(records: readonly TraceRecord[], seq: number, keep: (r: TraceRecord) => boolean = () => true, before = 12, after = 6): string[] {
  let i = lowerBound(records, seq);
  if (i >= records.length) i = records.length - 1;
  const out: string[] = [];
  for (let j = i, n = 0; j >= 0 && n <= before; j--) {
    const r = records[j]!;
    if (j !== i && !keep(r)) continue;
    out.unshift(`${j === i ? ">>" : "  "} ${formatRecord(r)}`);
    n++;
  }
  for (let j = i + 1, n = 0; j < records.length && n < after; j++) {
    const r = records[j]!;
    if (!keep(r)) continue;
    out.push(`   ${formatRecord(r)}`);
    n++;
  }
  return out;
}

/** Index of the first record with seq >= `seq` (records are in seq order). */
export function lowerBound(records: readonly TraceRecord[], seq: number): number {
  let lo = 0;
  let hi = records.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (records[mid]!.seq < seq) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** SHA-1 over the JSON text of every record, one per line: equal digests, equal traces. */
export function traceDigest(records: readonly TraceRecord[]): string {
  const h = createHash("sha1");
  for (const r of records) h.update(`${JSON.stringify(r)}\n`);
  return `${records.length}:${h.digest("hex").slice(0, 16)}`;
}
