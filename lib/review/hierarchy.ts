// SPDX-License-Identifier: GPL-2.0-only
// Pictures of the live domain hierarchy: a text tree (for `irqlab run`) and
// Graphviz DOT, rendered to SVG by Graphviz compiled to WebAssembly
// (@viz-js/viz, no browser, no native binary). Both read the domains of the
// running kernel (irq_domain_list(), each domain's parent) and, for the
// irqs asked for, walk their irq_data chain level by level (domain, hwirq,
// chip). Call them inside m.enter() / m.run(), or through the Machine
// helpers below.

import type { Machine } from "../machine.ts";
import { irq_domain_list, IRQ_DOMAIN_FLAG_MSI_DEVICE, IRQ_DOMAIN_FLAG_MSI_PARENT, type irq_domain } from "../irq/irqdomain.ts";
import { for_each_irq_desc, irq_get_irq_data } from "../irq/irqdesc.ts";
import { irq_chip_orig } from "../irq/trace.ts";
import type { msi_domain_info } from "../irq/msi.ts";

/** One level of an irq's hierarchy, outermost first. */
export interface IrqLevel {
  domain: string;
  hwirq: number;
  chip: string;
}

/** The levels of `irq` from the outermost domain to the root. */
export function irqLevels(irq: number): IrqLevel[] {
  const out: IrqLevel[] = [];
  for (let d = irq_get_irq_data(irq); d; d = d.parent_data) out.push({ domain: d.domain?.name ?? "(none)", hwirq: d.hwirq, chip: irq_chip_orig(d.chip).name ?? "-" });
  return out;
}

function chipOf(d: irq_domain): string {
  const info = d.host_data as Partial<msi_domain_info> | null;
  if (info && typeof info === "object" && info.chip && typeof info.chip.name === "string") return info.chip.name;
  for (const desc of for_each_irq_desc()) {
    for (let x: ReturnType<typeof irq_get_irq_data> = desc.irq_data; x; x = x.parent_data) if (x.domain === d) return irq_chip_orig(x.chip).name ?? "-";
  }
  return "-";
}

function kindOf(d: irq_domain): string {
  const k: string[] = [];
  if (!d.parent) k.push("root");
  if (d.flags & IRQ_DOMAIN_FLAG_MSI_PARENT) k.push("MSI parent");
  if (d.flags & IRQ_DOMAIN_FLAG_MSI_DEVICE) k.push("per-device MSI");
  return k.join(", ");
}

/** The irqs whose outermost level is in domain `d`. */
function irqsOf(d: irq_domain): number[] {
  return for_each_irq_desc()
    .filter((desc) => desc.irq_data.domain === d)
    .map((desc) => desc.irq_data.irq)
    .sort((a, b) => a - b);
}

function ranges(xs: number[]): string {
  const out: string[] = [];
  for (let i = 0; i < xs.length; ) {
    let j = i;
    while (j + 1 < xs.length && xs[j + 1] === xs[j]! + 1) j++;
    out.push(i === j ? `${xs[i]!}` : `${xs[i]!}-${xs[j]!}`);
    i = j + 1;
  }
  return out.join(",");
}

/** The domain tree as text, roots first, children in creation order. */
export function hierarchyText(): string {
  const all = [...irq_domain_list()].reverse();
  const lines: string[] = [];
  const walk = (d: irq_domain, prefix: string, last: boolean, top: boolean): void => {
    const irqs = irqsOf(d);
    const facts = [`chip ${chipOf(d)}`, kindOf(d), `mapped ${d.mapcount}`, irqs.length ? `irqs ${ranges(irqs)}` : ""].filter(Boolean).join(", ");
    lines.push(`${top ? "" : `${prefix}${last ? "`-- " : "|-- "}`}${d.name} (${facts})`);
    const kids = all.filter((c) => c.parent === d);
    kids.forEach((c, i) => walk(c, top ? "" : `${prefix}${last ? "    " : "|   "}`, i === kids.length - 1, false));
  };
  for (const r of all.filter((d) => !d.parent)) walk(r, "", true, true);
  return lines.join("\n") + "\n";
}

const q = (s: string): string => `"${s.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;

export interface DotOptions {
  /** Irqs to draw through the levels (default none). */
  irqs?: Iterable<number>;
  /** Graph title. */
  title?: string;
}

/** The domain hierarchy as Graphviz DOT; the given irqs are drawn as paths through their levels. */
export function hierarchyDot(opts: DotOptions = {}): string {
  const all = [...irq_domain_list()].reverse();
  const id = new Map(all.map((d, i) => [d, `d${i}`]));
  const out = [
    "digraph irq_hierarchy {",
    "  rankdir=BT;",
    '  node [shape=box, style="rounded,filled", fillcolor="#eef3fb", fontname="Helvetica", fontsize=10];',
    '  edge [fontname="Helvetica", fontsize=9];',
  ];
  if (opts.title) out.push(`  label=${q(opts.title)}; labelloc=t;`);
  for (const d of all) {
    const irqs = irqsOf(d);
    const label = [d.name, `chip: ${chipOf(d)}`, kindOf(d), `mapped: ${d.mapcount}${irqs.length ? `  irqs: ${ranges(irqs)}` : ""}`].filter(Boolean).join("\\n");
    out.push(`  ${id.get(d)!} [label=${q(label).replace(/\\\\n/g, "\\n")}${d.parent ? "" : ', fillcolor="#fde9d9"'}];`);
  }
  for (const d of all) if (d.parent && id.has(d.parent)) out.push(`  ${id.get(d)!} -> ${id.get(d.parent)!} [label="parent"];`);
  for (const irq of opts.irqs ?? []) {
    const levels = irqLevels(irq);
    if (!levels.length) continue;
    out.push(`  irq${irq} [label=${q(`irq ${irq}`)}, shape=ellipse, fillcolor="#e2f0d9"];`);
    let prev = `irq${irq}`;
    for (const [i, l] of levels.entries()) {
      const node = `irq${irq}_l${i}`;
      out.push(`  ${node} [label=${q(`hwirq 0x${l.hwirq.toString(16)}\\n${l.chip}`).replace(/\\\\n/g, "\\n")}, shape=note, fillcolor="#ffffff"];`);
      out.push(`  ${prev} -> ${node} [style=dashed];`);
      const dom = all.find((d) => d.name === l.domain);
      if (dom) out.push(`  ${node} -> ${id.get(dom)!} [style=dotted, arrowhead=none];`);
      prev = node;
    }
  }
  out.push("}");
  return out.join("\n") + "\n";
}

/** hierarchyText() of a machine (between runs). */
export function machineHierarchyText(m: Machine): string {
  return m.enter(() => hierarchyText());
}

/** hierarchyDot() of a machine (between runs). */
export function machineHierarchyDot(m: Machine, opts: DotOptions = {}): string {
  return m.enter(() => hierarchyDot(opts));
}

let vizInstance: Promise<{ renderString(dot: string, o: { format: string }): string }> | null = null;

/** Render DOT to SVG with Graphviz compiled to WebAssembly. */
export async function dotToSvg(dot: string): Promise<string> {
  vizInstance ??= import("@viz-js/viz").then((m) => m.instance());
  const viz = await vizInstance;
  return viz.renderString(dot, { format: "svg" });
}
