// SPDX-License-Identifier: GPL-2.0-only
// P4: the wall time of `npm test` (type check, lint, the layer rule, every
// mocha test) on this machine, with the time mocha reports for the tests
// themselves.

import { spawnSync } from "node:child_process";
import { cpus } from "node:os";
import { wallNow, report, row, type Row } from "./util.ts";

export function p4(): Row[] {
  const t0 = wallNow();
  const r = spawnSync("npm", ["test"], { stdio: ["ignore", "pipe", "pipe"], encoding: "utf8", maxBuffer: 256 << 20 });
  const s = (wallNow() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`P4: npm test failed:\n${r.stdout.slice(-4000)}\n${r.stderr.slice(-4000)}`);
  const m = /(\d+) passing \((\d+(?:\.\d+)?)(ms|s|m)\)/.exec(r.stdout);
  const rows = [row("P4", "npm test wall time", s, "s", { max: 60 }, `${cpus().length} host CPUs, shared with other work`)];
  if (m) {
    const v = Number(m[2]) * (m[3] === "ms" ? 1e-3 : m[3] === "m" ? 60 : 1);
    rows.push(row("P4", "of which mocha (its own count)", v, "s", undefined, `${m[1]} tests`));
  }
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) report(p4());
