#!/usr/bin/env -S npx tsx
// SPDX-License-Identifier: GPL-2.0-only
// The irqlab command line: `irqlab run|trace|review|explore|list` (lib/review/cli.ts).

import { main } from "../lib/review/cli.ts";

process.exitCode = await main(process.argv.slice(2), {
  stdout: (s) => void process.stdout.write(s),
  stderr: (s) => void process.stderr.write(s),
  isTTY: process.stderr.isTTY,
});
