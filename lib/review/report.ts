// SPDX-License-Identifier: GPL-2.0-only
// The report directory of `irqlab review`: per subject, a pass/fail table
// (report.md, results.json), the callback trace of every check
// (NN-<check>.callbacks.txt), a Mermaid sequence diagram and a Perfetto
// timeline of every failed check, and the domain hierarchy with the chip's
// interrupts drawn through it (hierarchy.dot, hierarchy.svg).

import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { callbackRows, renderCallbackMermaid, renderCallbackTable } from "./callbacks.ts";
import type { ChipSubject, CheckResult } from "./conformance.ts";
import { dotToSvg, machineHierarchyDot } from "./hierarchy.ts";
import { toChromeTrace } from "./timeline.ts";

export function slug(s: string): string {
  return (
    s
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, "-")
      .replace(/^-|-$/g, "")
      .slice(0, 60) || "x"
  );
}

/** The pass/fail table as Markdown. */
export function resultsTable(subject: ChipSubject, results: readonly CheckResult[]): string {
  const cell = (s: string): string => s.replace(/\|/g, "\\|").replace(/\n/g, " ");
  const lines = [`# irqlab review: ${subject.name}`, "", `${results.filter((r) => r.ok).length} of ${results.length} checks passed.`, "", "| # | check | result | why |", "| --- | --- | --- | --- |"];
  for (const [i, r] of results.entries()) lines.push(`| ${i + 1} | ${cell(r.check)} | ${r.ok ? "pass" : "**FAIL**"} | ${r.ok ? "" : cell(r.error!.split("\n")[0]!)} |`);
  return lines.join("\n") + "\n";
}

/** Write the report of one subject into `dir`; returns the files written. */
export async function writeReport(dir: string, subject: ChipSubject, results: readonly CheckResult[]): Promise<string[]> {
  mkdirSync(dir, { recursive: true });
  const files: string[] = [];
  const put = (name: string, text: string): void => {
    writeFileSync(join(dir, name), text);
    files.push(name);
  };
  let md = resultsTable(subject, results);
  md += "\n## Failures\n\n";
  const failed = results.filter((r) => !r.ok);
  if (!failed.length) md += "None.\n";
  for (const [i, r] of results.entries()) {
    const base = `${String(i + 1).padStart(2, "0")}-${slug(r.check)}`;
    if (r.m && r.rig) {
      const rows = callbackRows(r.m.trace(), { irqs: r.rig.irqs });
      put(`${base}.callbacks.txt`, renderCallbackTable(rows));
      if (!r.ok) {
        put(`${base}.mermaid.md`, "```mermaid\n" + renderCallbackMermaid(rows) + "```\n");
        put(`${base}.timeline.json`, JSON.stringify(toChromeTrace(r.m.trace(), { title: `${subject.name}: ${r.check}` })));
      }
    }
    if (!r.ok) md += `### ${i + 1}. ${r.check}\n\n\`\`\`\n${r.error ?? ""}\n\`\`\`\n\nCallback trace: \`${base}.callbacks.txt\`; sequence diagram: \`${base}.mermaid.md\`; timeline (Perfetto): \`${base}.timeline.json\`.\n\n`;
  }
  const pic = results.find((r) => r.m && r.rig);
  if (pic) {
    const dot = machineHierarchyDot(pic.m!, { irqs: pic.rig!.irqs.filter((irq) => pic.m!.debugfsIrq(irq) !== null), title: subject.name });
    put("hierarchy.dot", dot);
    put("hierarchy.svg", await dotToSvg(dot));
    md += "## Hierarchy\n\n![domain hierarchy](hierarchy.svg)\n";
  }
  put("report.md", md);
  put("results.json", JSON.stringify({ subject: subject.name, results: results.map((r) => ({ check: r.check, ok: r.ok, ...(r.error ? { error: r.error } : {}) })) }, null, 2) + "\n");
  return files;
}
