// SPDX-License-Identifier: GPL-2.0-only
// History and end-of-run checkers: properties of the whole recorded trace
// (no lost interrupt, no handler after free_irq(), no splat, no stray
// vector) and of the machine after the scenario tore everything down (no
// leaked descriptors, vectors, IRTEs, MSI descriptors, DMA memory), plus the
// built-in leak probes.

import type { TraceRecord } from "../sim/trace.ts";
import { K } from "../kernel/kernel.ts";
import { format_dmesg } from "../kernel/printk.ts";
import { irq_desc_count } from "../irq/irqdesc.ts";
import { MSI_MAX_DEVICE_IRQDOMAINS } from "../irq/msi.ts";
import { vector_matrix } from "../../irqchip/x86/vector.ts";
import { dmar_iommus } from "../../drivers/iommu/intel/dmar.ts";
import { pci_all_devices } from "../../drivers/pci/pci.ts";
import { msiDescs, registerChecker, registerLeakProbe, takeSnapshot, type Finding, type Line } from "./check.ts";

const DISABLERS = new Set(["disable_irq", "disable_irq_nosync"]);

interface Owed {
  seq: number;
  t: number;
  /** Time by which a handler must have run; Infinity while the line is not enabled. */
  deadline: number;
}

interface LineState {
  line: Line;
  depth: number;
  hasAction: boolean;
  owed: Owed[];
  reported: boolean;
}

/** Events that explain an interrupt's fate, for excerpts. */
function interruptEvents(irq: number, bdf: string): (r: TraceRecord) => boolean {
  return (r) =>
    ((r.kind === "irq_handler_entry" || r.kind === "irq_handler_exit" || r.kind === "irq.api") && r.irq === irq) ||
    ((r.kind === "hw.msix" || r.kind === "hw.ims") && r.bdf === bdf) ||
    r.kind === "hw.msi" ||
    r.kind === "hw.vtd" ||
    r.kind === "explore.fault" ||
    (r.kind === "irq.chip" && r.irq === irq);
}

registerChecker({
  name: "no-lost-interrupt",
  description:
    "every interrupt a device raises while its line is enabled (an MSI-X or IMS message sent, or latched) is handled (irq_handler_entry after it) within the bound; one sent while the line is disabled is handled within the bound after enable_irq(); free_irq() discards; messages an injected fault dropped are exempt, and so are the lines of a device after an injected surprise reset (flr); LAPIC coalescing is allowed (one handler run answers every message before it)",
  when: "history",
  check(env) {
    const out: Finding[] = [];
    if (!env.lines.length) return out;
    const byVector = new Map<string, LineState>();
    const byIrq = new Map<number, LineState[]>();
    const states: LineState[] = [];
    for (const line of env.lines) {
      const st: LineState = { line, depth: line.depth, hasAction: line.hasAction, owed: [], reported: false };
      states.push(st);
      byVector.set(`${line.bdf}/${line.index}`, st);
      const l = byIrq.get(line.irq) ?? [];
      l.push(st);
      byIrq.set(line.irq, l);
    }
    const since = Math.min(...env.lines.map((l) => l.since));
    const lastOwed = new Map<string, LineState>();
    const enabled = (st: LineState): boolean => st.depth === 0 && st.hasAction;
    const overdue = (now: number): void => {
      for (const st of states) {
        if (st.reported) continue;
        const o = st.owed[0];
        if (o && o.deadline < now) {
          st.reported = true;
          out.push({
            key: `lost ${st.line.irq}`,
            message: `irq ${st.line.irq} (${st.line.name}, ${st.line.bdf} vector ${st.line.index}): the interrupt sent at ${(o.t / 1e3).toFixed(3)} us was not handled within ${env.boundNs / 1e3} us${Number.isFinite(o.deadline) && o.deadline !== o.t + env.boundNs ? " of enable_irq()" : ""}`,
            seq: o.seq,
            about: { irq: st.line.irq },
            keep: interruptEvents(st.line.irq, st.line.bdf),
          });
        }
      }
    };
    let end = 0;
    for (const r of env.records) {
      end = r.t;
      if (r.seq < since) continue;
      overdue(r.t);
      switch (r.kind) {
        case "hw.msix":
        case "hw.ims": {
          const sent = r.what === "emit" || r.what === "pending-emit";
          // A latch while the line is enabled is owed too: the kernel masks
          // an enabled line only briefly (a message update, the edge
          // handler's replay), and its unmask must send the latched message.
          if (!sent && r.what !== "latch") break;
          const st = byVector.get(`${r.bdf}/${r.kind === "hw.msix" ? r.vector : (r.slot ?? -1)}`);
          if (!st || r.seq < st.line.since || st.reported) break;
          if (!sent && !enabled(st)) break;
          st.owed.push({ seq: r.seq, t: r.t, deadline: enabled(st) ? r.t + env.boundNs : Infinity });
          if (sent) lastOwed.set(r.bdf, st);
          break;
        }
        case "explore.fault": {
          if (r.what === "fire" && r.fault === "flr") {
            // A device reset behind the kernel's back loses its interrupt
            // setup by design of the fault: its lines are not judged from
            // here on (a driver's own reset is, and must restore them).
            for (const st of states) {
              if (st.line.bdf !== r.target) continue;
              st.reported = true;
              st.owed = [];
            }
            break;
          }
          if (r.what !== "drop-msi") break;
          // The write lost on the link is the one the device just sent.
          const st = lastOwed.get(r.target);
          if (st) st.owed.pop();
          lastOwed.delete(r.target);
          break;
        }
        case "irq_handler_entry": {
          for (const st of byIrq.get(r.irq) ?? []) st.owed = st.owed.filter((o) => o.seq > r.seq);
          break;
        }
        case "irq.api": {
          for (const st of byIrq.get(r.irq) ?? []) {
            if (r.seq < st.line.since) continue;
            if (r.phase === "enter" && DISABLERS.has(r.fn)) {
              st.depth++;
              for (const o of st.owed) o.deadline = Infinity;
            } else if (r.phase === "exit" && r.fn === "enable_irq") {
              if (st.depth > 0) st.depth--;
              if (enabled(st)) for (const o of st.owed) if (o.deadline === Infinity) o.deadline = r.t + env.boundNs;
            } else if (r.phase === "exit" && r.fn === "free_irq") {
              st.hasAction = false;
              st.depth = 1;
              st.owed = [];
            } else if (r.phase === "exit" && r.fn === "request_threaded_irq" && r.ret === "0") {
              // __setup_irq() starts the first action: depth 0
              st.hasAction = true;
              st.depth = 0;
              for (const o of st.owed) if (o.deadline === Infinity) o.deadline = r.t + env.boundNs;
            }
          }
          break;
        }
        default:
          break;
      }
    }
    overdue(end);
    return out;
  },
});

registerChecker({
  name: "no-handler-after-free",
  description: "no handler of an interrupt runs (entry or exit) after free_irq() of its only action returned, until the line is requested again (lines with one action; a shared line's other actions would look the same)",
  when: "history",
  check(env) {
    const out: Finding[] = [];
    const freedAt = new Map<number, number>();
    const reported = new Set<number>();
    for (const r of env.records) {
      if (r.kind === "irq.api") {
        // A handler may run as soon as __setup_irq() installed the action,
        // before request_threaded_irq() returns: the request's entry ends
        // the freed window.
        if (r.fn === "free_irq" && r.phase === "exit") freedAt.set(r.irq, r.seq);
        else if (r.fn === "request_threaded_irq" && r.phase === "enter") freedAt.delete(r.irq);
      } else if ((r.kind === "irq_handler_entry" || r.kind === "irq_handler_exit") && freedAt.has(r.irq) && !reported.has(r.irq)) {
        reported.add(r.irq);
        out.push({
          key: `after-free ${r.irq}`,
          message: `irq ${r.irq}: ${r.kind === "irq_handler_entry" ? "a handler started" : "a handler was still running"} after free_irq() returned (#${freedAt.get(r.irq)!})`,
          seq: r.seq,
          keep: (x) => ((x.kind === "irq.api" || x.kind === "irq_handler_entry" || x.kind === "irq_handler_exit" || x.kind === "irq.chip") && x.irq === r.irq) || x.kind === "sched",
        });
      }
    }
    return out;
  },
});

registerChecker({
  name: "no-splat",
  description: "the kernel printed no WARN, BUG, lockdep or lockup report the scenario does not expect",
  when: "history",
  check(env) {
    const out: Finding[] = [];
    const log = env.m.kernel.log;
    for (const s of env.m.splats()) {
      if (env.expectedSplats.some((re) => re.test(s.title))) continue;
      const lines = format_dmesg(log.filter((l) => l.seq >= s.firstSeq).slice(0, 24)).split("\n").filter((l) => l.length > 0);
      out.push({ key: `splat ${s.title}`, message: `${s.kind}: ${s.title}`, t: s.ts, detail: lines });
    }
    return out;
  },
});

registerChecker({
  name: "no-stray-vector",
  description: "no interrupt arrived on a vector without a handler (\"No irq handler for\"): a message went to a vector the kernel no longer (or never) routed; the first arrival on each CPU and vector is reported",
  when: "history",
  check(env) {
    const out: Finding[] = [];
    const seen = new Set<string>();
    for (const l of env.m.kernel.log) {
      if (!l.text.includes("No irq handler for")) continue;
      // arch/x86/kernel/irq.c prints "<cpu>.<vector>" (both decimal). One
      // finding per CPU and vector, not per run: a known race may explain
      // one stray vector, never the next.
      const cv = /No irq handler for (\d+)\.(\d+)/.exec(l.text);
      const where = cv ? `${cv[1]}.${cv[2]}` : l.text;
      if (seen.has(where)) continue;
      seen.add(where);
      out.push({ key: `stray ${where}`, message: l.text.trim(), t: l.ts, ...(cv ? { about: { cpu: Number(cv[1]), vector: Number(cv[2]) } } : {}), keep: (r) => r.kind === "hw.msi" || r.kind === "hw.vtd" || r.kind === "hw.apic" || r.kind === "hw.msix" || r.kind === "explore.fault" || r.kind === "irq.chip" });
    }
    return out;
  },
});

registerChecker({
  name: "no-leaks",
  description: "after the scenario's teardown every leak probe reads what it read after boot: descriptors, vectors, IRTEs, MSI descriptors, coherent DMA blocks (and what devices register)",
  when: "end",
  check(env) {
    if (!env.baseline) return [];
    const now = env.m.enter(() => takeSnapshot(env.m));
    const out: Finding[] = [];
    for (const [k, v] of Object.entries(env.baseline)) {
      const n = now[k];
      if (n !== v) out.push({ key: `leak ${k}`, message: `${k}: ${v} after boot, ${String(n)} after teardown` });
    }
    return out;
  },
});

// ------------------------------------------------------------ leak probes

registerLeakProbe({
  name: "irq",
  read: () => ({ descs: irq_desc_count() }),
});

registerLeakProbe({
  name: "vector",
  read(): Record<string, number> {
    if (!K.hasState("x86_vector")) return {};
    const m = vector_matrix();
    let allocated = 0;
    let managed = 0;
    for (const cm of m.maps) {
      allocated += cm.allocated;
      managed += cm.managed;
    }
    return { allocated, managed, reserved: m.global_reserved };
  },
});

registerLeakProbe({
  name: "irte",
  read(m) {
    let allocated = 0;
    let present = 0;
    for (const iommu of dmar_iommus()) {
      const t = iommu.ir_table;
      if (!t) continue;
      for (let i = 0; i < t.bitmap.length; i++) {
        if (!t.bitmap[i]) continue;
        allocated++;
        if (m.iommu?.readIrte(i).present) present++;
      }
    }
    return { allocated, present };
  },
});

registerLeakProbe({
  name: "msi",
  read() {
    let descs = 0;
    for (const pdev of pci_all_devices()) for (let domid = 0; domid < MSI_MAX_DEVICE_IRQDOMAINS; domid++) descs += msiDescs(pdev, domid).length;
    return { descs };
  },
});

registerLeakProbe({
  name: "dma",
  read: (m) => ({ coherent: m.platform.coherentBlocks }),
});
