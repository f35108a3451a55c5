// SPDX-License-Identifier: GPL-2.0-only
// Reading the Linux 6.12 captures in docs/oracle/ (the oracle's output, see
// docs/oracle/README.md), shared by the tests that compare irqlab with them.

import { readFileSync } from "node:fs";

/** The text of docs/oracle/<file>. */
export function oracleText(file: string): string {
  return readFileSync(new URL(`../docs/oracle/${file}`, import.meta.url), "utf8");
}

/** The `### title` sections of a capture: the title line and every line of the section, the title first. */
export function oracleSections(text: string): { title: string; lines: string[] }[] {
  return text
    .split(/^### /m)
    .slice(1)
    .map((chunk) => {
      const lines = chunk.split("\n");
      return { title: lines[0]!, lines };
    });
}

/** A CPU list as /proc prints it: "0-1,3" -> [0, 1, 3]; "" -> []. */
export function cpuList(s: string): number[] {
  if (s === "") return [];
  return s.split(",").flatMap((p) => {
    const [a, b] = p.split("-").map(Number);
    return b === undefined ? [a!] : Array.from({ length: b - a! + 1 }, (_x, i) => a! + i);
  });
}
