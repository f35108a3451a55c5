// SPDX-License-Identifier: GPL-2.0-only
// Callback traces: which chip callback and domain op ran, at which level of
// the hierarchy, when, on which CPU and in which context (task, softirq,
// hardirq; interrupts off; locks held). Renderings of the trace bus's
// irqlab events "irq.chip", "irq.domain" and "irq.api", optionally with
// the handler invocations and the device's interrupt messages around them,
// as an aligned text table (function_graph style nesting) or as a Mermaid
// sequenceDiagram.

import type { TraceRecord } from "../sim/trace.ts";

export interface CallbackOptions {
  /** Only these Linux irqs (default: all). Domain ops match on their first irq. */
  irqs?: Iterable<number>;
  /** Include irq_handler_entry/exit (default true). */
  handlers?: boolean;
  /** Include the devices' interrupt messages and the fabric's deliveries (default true). */
  hw?: boolean;
  /** Only records at or after this sequence number (default 0). */
  fromSeq?: number;
}

export type RowKind = "api" | "chip" | "domain" | "handler" | "hw";

/** One line of a callback trace. */
export interface CallbackRow {
  t: number;
  cpu: number;
  /** "task", "softirq", "hardirq" or "idle". */
  ctx: string;
  comm: string;
  pid: number;
  irqsOff: boolean;
  preempt: number;
  locks: readonly string[];
  kind: RowKind;
  /** The callback, op, API function, handler name or hardware event. */
  name: string;
  irq: number | null;
  hwirq: number | null;
  domain: string;
  chip: string;
  /** Nesting level of the call (per CPU and context). */
  level: number;
  /** "call" is a leaf whose enter and exit were folded into one row. */
  phase: "call" | "enter" | "exit" | "event";
  ret?: string;
  /** Free text for hardware rows. */
  detail?: string;
}

type Rec<K extends TraceRecord["kind"]> = Extract<TraceRecord, { kind: K }>;

const hex = (v: number): string => `0x${(v >>> 0).toString(16)}`;

function hwRow(r: TraceRecord): { name: string; detail: string } | null {
  if (r.kind === "hw.msix" && (r.what === "emit" || r.what === "pending-emit" || r.what === "latch" || r.what === "drop")) {
    const msg = r.what.endsWith("emit") ? ` addr ${hex(r.addrHi ?? 0)}:${hex(r.addrLo ?? 0)} data ${hex(r.data ?? 0)}` : ` (${r.why ?? ""})`;
    return { name: `msix ${r.what}`, detail: `${r.bdf} vector ${r.vector}${msg}` };
  }
  if (r.kind === "hw.msi" && (r.what === "receive" || r.what === "deliver" || r.what === "drop" || r.what === "remapped")) {
    const rid = `rid ${formatRid(r.rid)}`;
    if (r.what === "deliver") return { name: "msi deliver", detail: `${rid} -> APIC ${r.dest ?? -1} vector ${hex(r.vector ?? 0)}` };
    if (r.what === "drop") return { name: "msi drop", detail: `${rid} (${r.why ?? ""})` };
    return { name: `msi ${r.what}`, detail: `${rid} addr ${hex(r.addrHi ?? 0)}:${hex(r.addrLo ?? 0)} data ${hex(r.data ?? 0)}` };
  }
  return null;
}

/** A requester ID as bus:dev.fn. */
export function formatRid(rid: number): string {
  const h = (v: number, n: number): string => v.toString(16).padStart(n, "0");
  return `${h((rid >> 8) & 0xff, 2)}:${h((rid >> 3) & 0x1f, 2)}.${rid & 7}`;
}

/** The rows of a callback trace, leaf calls folded, nesting per CPU and context. */
export function callbackRows(records: readonly TraceRecord[], opts: CallbackOptions = {}): CallbackRow[] {
  const irqs = opts.irqs ? new Set(opts.irqs) : null;
  const handlers = opts.handlers ?? true;
  const hw = opts.hw ?? true;
  const from = opts.fromSeq ?? 0;
  const rows: CallbackRow[] = [];
  const stacks = new Map<string, number[]>();
  const base = (r: TraceRecord): Omit<CallbackRow, "kind" | "name" | "irq" | "hwirq" | "domain" | "chip" | "level" | "phase"> => ({
    t: r.t,
    cpu: r.cpu,
    ctx: r.ctx,
    comm: r.comm,
    pid: r.pid,
    irqsOff: r.irqsOff,
    preempt: r.preempt,
    locks: r.locks,
  });
  const stackOf = (r: TraceRecord): number[] => {
    const key = `${r.cpu}/${r.ctx}/${r.pid}`;
    let s = stacks.get(key);
    if (!s) stacks.set(key, (s = []));
    return s;
  };
  const enterExit = (r: TraceRecord, phase: "enter" | "exit", row: Omit<CallbackRow, "level" | "phase">): void => {
    const st = stackOf(r);
    if (phase === "enter") {
      rows.push({ ...row, level: st.length, phase: "enter" });
      st.push(rows.length - 1);
      return;
    }
    const open = st.pop();
    if (open !== undefined && open === rows.length - 1 && rows[open]!.name === row.name) {
      const o = rows[open]!;
      o.phase = "call";
      if (row.ret !== undefined) o.ret = row.ret;
      return;
    }
    rows.push({ ...row, level: st.length, phase: "exit" });
  };
  for (const r of records) {
    if (r.seq < from) continue;
    switch (r.kind) {
      case "irq.chip": {
        if (irqs && !irqs.has(r.irq)) break;
        const c = r as Rec<"irq.chip">;
        enterExit(r, c.phase, { ...base(r), kind: "chip", name: c.cb, irq: c.irq, hwirq: c.hwirq, domain: c.domain, chip: c.chip, ...(c.ret !== undefined ? { ret: c.ret } : {}) });
        break;
      }
      case "irq.domain": {
        if (irqs && !irqs.has(r.irq)) break;
        const d = r as Rec<"irq.domain">;
        enterExit(r, d.phase, { ...base(r), kind: "domain", name: d.op, irq: d.irq, hwirq: null, domain: d.domain, chip: "", ...(d.ret !== undefined ? { ret: d.ret } : {}) });
        break;
      }
      case "irq.api": {
        if (irqs && !irqs.has(r.irq)) break;
        const a = r as Rec<"irq.api">;
        enterExit(r, a.phase, { ...base(r), kind: "api", name: a.fn, irq: a.irq, hwirq: null, domain: "", chip: "", ...(a.ret !== undefined ? { ret: a.ret } : {}) });
        break;
      }
      case "irq_handler_entry":
      case "irq_handler_exit": {
        if (!handlers || (irqs && !irqs.has(r.irq))) break;
        if (r.kind === "irq_handler_entry") enterExit(r, "enter", { ...base(r), kind: "handler", name: r.name, irq: r.irq, hwirq: null, domain: "", chip: "" });
        else {
          const st = stackOf(r);
          const open = st.at(-1);
          const name = open !== undefined && rows[open]!.kind === "handler" ? rows[open]!.name : "handler";
          enterExit(r, "exit", { ...base(r), kind: "handler", name, irq: r.irq, hwirq: null, domain: "", chip: "", ret: r.ret });
        }
        break;
      }
      default: {
        if (!hw) break;
        const h = hwRow(r);
        if (h) rows.push({ ...base(r), kind: "hw", name: h.name, irq: null, hwirq: null, domain: "", chip: "", level: stackOf(r).length, phase: "event", detail: h.detail });
      }
    }
  }
  return rows;
}

/** Virtual time as seconds with nanosecond digits. */
export function formatTime(t: number): string {
  const s = Math.floor(t / 1e9);
  return `${s}.${String(t - s * 1e9).padStart(9, "0")}`;
}

function contextOf(r: CallbackRow): string {
  return r.ctx === "task" ? `task ${r.comm}/${r.pid}` : r.ctx === "idle" ? `idle ${r.comm}` : r.ctx;
}

function callText(r: CallbackRow): string {
  const ind = "  ".repeat(r.level);
  const what = r.kind === "handler" ? `handler ${r.name}` : r.kind === "hw" ? `[hw] ${r.name}: ${r.detail ?? ""}` : `${r.name}()`;
  const ret = r.ret !== undefined ? ` = ${r.ret}` : "";
  switch (r.phase) {
    case "call":
      return `${ind}${what};${ret}`;
    case "enter":
      return `${ind}${what} {`;
    case "exit":
      return `${ind}} /* ${r.kind === "handler" ? r.name : `${r.name}()`} */${ret}`;
    default:
      return `${ind}${what}`;
  }
}

/** The rows as an aligned text table. */
export function renderCallbackTable(rows: readonly CallbackRow[]): string {
  const head = ["TIME(s)", "CPU", "CONTEXT", "IRQS", "PREEMPT", "LOCKS", "IRQ", "HWIRQ", "DOMAIN", "CHIP", "CALL"];
  const cells = rows.map((r) => [
    formatTime(r.t),
    String(r.cpu),
    contextOf(r),
    r.irqsOff ? "off" : "on",
    hex(r.preempt),
    r.locks.length ? r.locks.join(",") : "-",
    r.irq === null ? "-" : String(r.irq),
    r.hwirq === null ? "-" : hex(r.hwirq),
    r.domain || "-",
    r.chip || "-",
    callText(r),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]): string =>
    c
      .map((x, i) => (i === c.length - 1 ? x : x.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  return [line(head), ...cells.map(line)].join("\n") + "\n";
}

/** Mermaid text: ';' and '#' end statements or start entities. */
function mm(s: string): string {
  return s.replace(/#/g, "#35;").replace(/;/g, "#59;").replace(/\n/g, " ");
}

export interface MermaidOptions {
  /** At most this many messages (default 400); the rest is summarised in a note. */
  limit?: number;
}

/**
 * A Mermaid sequenceDiagram of the rows: participants are the driver (the
 * kernel API caller), the devices and the fabric, genirq, one per hierarchy
 * level (domain, with its chip) in the order they are first called, and the
 * handlers.
 */
export function renderCallbackMermaid(rows: readonly CallbackRow[], opts: MermaidOptions = {}): string {
  const limit = opts.limit ?? 400;
  const ids = new Map<string, string>();
  const labels: [string, string][] = [];
  const part = (key: string, label: string, prefix: string): string => {
    let id = ids.get(key);
    if (!id) {
      id = `${prefix}${ids.size}`;
      ids.set(key, id);
      labels.push([id, label]);
    }
    return id;
  };
  const drv = part("driver", "driver (kernel API caller)", "P");
  const core = part("genirq", "genirq core", "P");
  const out: string[] = [];
  const stacks = new Map<string, string[]>();
  const stackOf = (r: CallbackRow): string[] => {
    const k = `${r.cpu}/${r.ctx}/${r.pid}`;
    let s = stacks.get(k);
    if (!s) stacks.set(k, (s = []));
    return s;
  };
  let n = 0;
  let dropped = 0;
  const emit = (s: string): void => {
    if (n < limit) out.push(`  ${s}`);
    else dropped++;
    n++;
  };
  const levelOf = (r: CallbackRow): string => part(`level:${r.domain}`, r.chip ? `${r.domain} (chip ${r.chip})` : r.domain, "P");
  for (const r of rows) {
    const st = stackOf(r);
    const where = `CPU${r.cpu} ${r.ctx}${r.irqsOff ? ", irqs off" : ""}${r.locks.length ? `, holds ${r.locks.join(",")}` : ""}`;
    if (r.kind === "hw") {
      const dev = r.name.startsWith("msix") ? part(`dev:${r.detail!.split(" ")[0]!}`, `device ${r.detail!.split(" ")[0]!}`, "P") : part("fabric", "MSI fabric / local APICs", "P");
      const to = r.name.startsWith("msix") ? part("fabric", "MSI fabric / local APICs", "P") : core;
      emit(`${dev}->>${to}: ${mm(`${r.name}: ${r.detail ?? ""}`)}`);
      continue;
    }
    if (r.kind === "api") {
      if (r.phase !== "exit") emit(`${drv}->>${core}: ${mm(`${r.name}(${r.irq ?? ""}) [${where}]`)}`);
      if (r.phase !== "enter") emit(`${core}-->>${drv}: ${mm(r.ret ?? "done")}`);
      if (r.phase === "enter") st.push(core);
      else if (r.phase === "exit") st.pop();
      continue;
    }
    const callee = r.kind === "handler" ? part(`handler:${r.name}`, `handler ${r.name}`, "P") : levelOf(r);
    if (r.phase === "exit") {
      st.pop();
      const caller = st.at(-1) ?? core;
      emit(`${callee}-->>${caller}: ${mm(`${r.name}${r.ret !== undefined ? ` = ${r.ret}` : ""}`)}`);
      continue;
    }
    const caller = st.at(-1) ?? core;
    const args = r.kind === "handler" ? `irq ${r.irq ?? ""}` : `irq ${r.irq ?? ""}${r.hwirq !== null ? `, hwirq ${hex(r.hwirq)}` : ""}`;
    emit(`${caller}->>${callee}: ${mm(`${r.name}(${args}) [${where}]`)}`);
    if (r.phase === "call") {
      if (r.ret !== undefined) emit(`${callee}-->>${caller}: ${mm(r.ret)}`);
    } else st.push(callee);
  }
  const head = ["sequenceDiagram", ...labels.map(([id, l]) => `  participant ${id} as ${mm(l)}`)];
  if (dropped) out.push(`  Note over ${drv},${core}: ${dropped} more messages not shown`);
  return [...head, ...out].join("\n") + "\n";
}
