// SPDX-License-Identifier: GPL-2.0-only
// npm run bench [-- p0 p1 p2 p3 p4] [--p2-n=N] [--p2-backend=ims|msix] [--quick]
//
// Runs each benchmark in its own Node process (with --expose-gc, so heap
// figures come from a settled heap, and so one bench's heap and JIT state do
// not leak into the next) and prints one table. Benchmarks measure host
// time; they are never run as tests.

import { spawn } from "node:child_process";
import { cpus, loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";
import { table, type Row } from "./util.ts";

const here = dirname(fileURLToPath(import.meta.url));

interface Bench {
  name: string;
  file: string;
  args: (o: Opts) => string[];
}

interface Opts {
  quick: boolean;
  p2n: number;
  p2backend: string;
}

const BENCHES: Bench[] = [
  { name: "p0", file: "p0_irq_sim.ts", args: (o) => (o.quick ? ["20000", "1"] : []) },
  { name: "p1", file: "p1_delivery.ts", args: (o) => (o.quick ? ["100000", "10000", "1"] : []) },
  { name: "p2", file: "p2_scale.ts", args: (o) => [String(o.quick ? Math.min(o.p2n, 200_000) : o.p2n), o.p2backend] },
  { name: "p3", file: "p3_explore.ts", args: (o) => (o.quick ? ["500"] : []) },
  { name: "p4", file: "p4_test.ts", args: () => [] },
];

function runChild(b: Bench, o: Opts): Promise<Row[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--expose-gc", "--max-old-space-size=8192", "--import", "tsx", join(here, b.file), ...b.args(o)], {
      stdio: ["ignore", "pipe", "inherit"],
      env: { ...process.env, IRQLAB_BENCH_CHILD: "1" },
    });
    let out = "";
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (d: string) => {
      out += d;
    });
    child.on("error", reject);
    child.on("close", (code) => {
      const line = out.split("\n").find((l) => l.startsWith("@@bench "));
      if (code !== 0 || !line) {
        reject(new Error(`bench ${b.name} failed (exit ${String(code)}):\n${out}`));
        return;
      }
      resolve(JSON.parse(line.slice(8)) as Row[]);
    });
  });
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const o: Opts = { quick: args.includes("--quick"), p2n: 1_000_000, p2backend: "ims" };
  for (const a of args) {
    const m = /^--p2-n=(\d+)$/.exec(a);
    if (m) o.p2n = Number(m[1]);
    const b = /^--p2-backend=(ims|msix)$/.exec(a);
    if (b) o.p2backend = b[1]!;
  }
  const wanted = args.filter((a) => !a.startsWith("--"));
  const run = BENCHES.filter((b) => wanted.length === 0 || wanted.includes(b.name));
  const rows: Row[] = [];
  const t0 = Date.now();
  for (const b of run) {
    process.stderr.write(`bench ${b.name} ...\n`);
    rows.push(...(await runChild(b, o)));
  }
  const load = loadavg().map((x) => x.toFixed(1)).join(" ");
  console.log(`irqlab benchmarks: node ${process.version}, ${cpus().length} x ${cpus()[0]?.model ?? "?"}, load average ${load}, ${((Date.now() - t0) / 1e3).toFixed(0)} s`);
  console.log("rates and times are per CPU-second of the bench process (P4: wall clock)");
  console.log(`command: npm run bench${args.length ? ` -- ${args.join(" ")}` : ""}\n`);
  console.log(table(rows));
  const failed = rows.filter((r) => r.ok === false);
  if (failed.length) console.log(`\n${failed.length} target${failed.length > 1 ? "s" : ""} not met: ${failed.map((r) => `${r.bench} ${r.metric}`).join("; ")}`);
}

await main();
