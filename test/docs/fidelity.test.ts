// SPDX-License-Identifier: GPL-2.0-only
// docs/fidelity.md must stay true: every numbered behaviour of the genirq
// reference notes (A1-A58, B1-B46, C1-C67) has a row, every test the row
// names exists with that title, and a behaviour without tests says why it
// is not applicable.

import { expect } from "chai";
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";

const RANGES: [string, number][] = [
  ["A", 58],
  ["B", 46],
  ["C", 67],
];

function testFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out.push(...testFiles(p));
    else if (p.endsWith(".test.ts")) out.push(p);
  }
  return out;
}

/** The literal start of every it() title in a file (template literals up to their first ${). */
function titlesOf(src: string): string[] {
  const out: string[] = [];
  for (const m of src.matchAll(/\bit\(\s*(["`])((?:[^"`\\]|\\.)*)\1/g)) out.push(m[2]!.split("${")[0]!);
  return out;
}

describe("docs/fidelity.md", () => {
  const rows = new Map<string, { tests: string; notes: string }>();
  for (const line of readFileSync("docs/fidelity.md", "utf8").split("\n")) {
    // cells split at unescaped pipes; a title's own pipes are written \|
    const m = /^\| ([ABC]\d+) \|((?:[^|\\]|\\.)*)\|((?:[^|\\]|\\.)*)\|$/.exec(line);
    if (m) rows.set(m[1]!, { tests: m[2]!.trim().replace(/\\\|/g, "|"), notes: m[3]!.trim() });
  }
  const titles = new Map<string, string[]>();
  for (const f of testFiles("test")) titles.set(f, titlesOf(readFileSync(f, "utf8")));

  it("has a row for every numbered behaviour, with tests or a reason it is not applicable", () => {
    const bad: string[] = [];
    for (const [letter, n] of RANGES) {
      for (let i = 1; i <= n; i++) {
        const row = rows.get(`${letter}${i}`);
        if (!row) bad.push(`${letter}${i}: no row`);
        else if (!row.tests && !/not applicable/.test(row.notes)) bad.push(`${letter}${i}: no tests and no reason`);
      }
    }
    expect(bad).to.deep.equal([]);
  });

  it("names only tests that exist, with their titles", () => {
    const bad: string[] = [];
    for (const [num, row] of rows) {
      if (!row.tests) continue;
      // entries are "`file`: title" joined by "; " (titles may hold semicolons)
      for (const entry of row.tests.split(/; (?=`test\/)/)) {
        const m = /^`([^`]+\.test\.ts)`: (.*)$/.exec(entry);
        if (!m) {
          bad.push(`${num}: cannot read "${entry.slice(0, 60)}"`);
          continue;
        }
        const file = m[1]!;
        const title = m[2]!.trim();
        const have = titles.get(file);
        if (!have) bad.push(`${num}: ${file} does not exist`);
        else if (!have.some((t) => t.length > 0 && title.startsWith(t.trimEnd()))) bad.push(`${num}: ${file} has no test "${title}"`);
      }
    }
    expect(bad).to.deep.equal([]);
  });

  it("lists every test whose title starts with a behaviour number", () => {
    const bad: string[] = [];
    for (const [file, ts] of titles) {
      for (const t of ts) {
        const lead = t.split(" ")[0]!;
        if (!/^[ABC]\d+(\/[ABC]?\d+)*$/.test(lead)) continue;
        for (const num of lead.match(/[ABC]\d+/g) ?? []) {
          const row = rows.get(num);
          if (row && !row.tests.includes(`\`${file}\``)) bad.push(`${num}: ${file} "${t}" is not in the map`);
        }
      }
    }
    expect(bad).to.deep.equal([]);
  });
});
