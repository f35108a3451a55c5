// SPDX-License-Identifier: GPL-2.0-only
// Fault kinds of the mlx5-like NIC (lib/hw/devices/mlx5/), on the device's
// own fault knobs: a command that completes late or never (the driver's
// command timeout, a late completion after it), a command that fails
// delivery or returns an error status, a firmware hang, a health syndrome.
// They apply to scenarios whose devices include an Mlx5Nic. The checker
// "no-lost-completion" judges the completion accounting of the queues a
// scenario watches (watchCompletions()).
//
// Command delays are relative to the driver's command timeout, which the
// device's `timeouts` option sets (docs/mlx5.md): generated plans draw the
// delay between half and three times the scenario's horizon, so a scenario
// that wants both outcomes sets its horizon near that timeout.

import type { Machine } from "../machine.ts";
import type { Rng } from "../sim/rng.ts";
import { Mlx5Nic } from "../hw/devices/mlx5/mlx5.ts";
import { registerFaultKind, type FaultSpec } from "./faults.ts";
import { registerChecker, type Finding } from "./check.ts";

function mlx5Devices(m: Machine, devices: readonly string[]): string[] {
  return devices.filter((d) => m.pci.device(d) instanceof Mlx5Nic);
}

function nic(m: Machine, spec: FaultSpec, devices: readonly string[]): Mlx5Nic {
  const bdf = spec.target ?? mlx5Devices(m, devices)[0];
  const dev = bdf ? m.pci.device(bdf) : null;
  if (!(dev instanceof Mlx5Nic)) throw new Error(`irqlab explore: ${spec.kind} needs an mlx5 device, got ${String(bdf)}`);
  return dev;
}

const num = (spec: FaultSpec, key: string): number | undefined => {
  const v = spec.params?.[key];
  return typeof v === "number" ? v : undefined;
};

function pick(rng: Rng, m: Machine, devs: readonly string[]): string | undefined {
  const l = mlx5Devices(m, devs);
  return l.length ? l[rng.int(l.length)] : undefined;
}

const applicable = (m: Machine, devs: readonly string[]): boolean => mlx5Devices(m, devs).length > 0;

registerFaultKind({
  name: "mlx5-cmd",
  description: "the next `count` commands (of `opcode`, default any) complete `delayNs` late (a command timeout, or a late completion after it), fail delivery with `delivery`, or return `status`/`syndrome` (Mlx5Nic.failCommands())",
  context: "hardware",
  applicable,
  generate: (rng, h, devs, m) => [
    {
      kind: "mlx5-cmd",
      at: Math.floor(h * 0.8 * rng.float()),
      target: pick(rng, m, devs),
      params: { delayNs: Math.floor(h * (0.5 + 2.5 * rng.float())), count: 1 + rng.int(2) },
    },
  ],
  apply(env, spec) {
    const f: Parameters<Mlx5Nic["failCommands"]>[0] = {};
    for (const k of ["opcode", "delayNs", "delivery", "status", "syndrome", "count"] as const) {
      const v = num(spec, k);
      if (v !== undefined) f[k] = v;
    }
    nic(env.m, spec, env.devices).failCommands(f);
  },
});

registerFaultKind({
  name: "mlx5-fw-hang",
  description: "the firmware hangs: no command completes, the health counter stops; its watchdog asserts 'iRISC not responding' with reset requested `assertAfterNs` later (Mlx5Nic.hangFirmware())",
  context: "hardware",
  applicable,
  generate: (rng, h, devs, m) => [{ kind: "mlx5-fw-hang", at: Math.floor(h * 0.8 * rng.float()), target: pick(rng, m, devs), params: { assertAfterNs: Math.floor(h * rng.float()) } }],
  apply(env, spec) {
    nic(env.m, spec, env.devices).hangFirmware({ assertAfterNs: num(spec, "assertAfterNs") ?? Infinity });
  },
});

registerFaultKind({
  name: "mlx5-health",
  description: "the firmware writes health syndrome `syndrome` (with reset requested when `rfr`) (Mlx5Nic.assertHealthSyndrome())",
  context: "hardware",
  applicable,
  generate: (rng, h, devs, m) => [{ kind: "mlx5-health", at: Math.floor(h * 0.8 * rng.float()), target: pick(rng, m, devs), params: { syndrome: [0x1, 0x7, 0x8, 0xf][rng.int(4)]!, rfr: rng.int(2) === 0 } }],
  apply(env, spec) {
    nic(env.m, spec, env.devices).assertHealthSyndrome(num(spec, "syndrome") ?? 0x7, spec.params?.["rfr"] !== false);
  },
});

/** A queue a scenario drives on an mlx5-like NIC: the traffic queue (CQ) number and its driver's handled count. */
export interface CompletionQueue {
  index: number;
  /** Completion EQEs the driver's queue handled. */
  completions: number;
}

const watchedQueues = new WeakMap<Machine, { bdf: string; queues: readonly CompletionQueue[] }[]>();

/** Judge these queues of device `bdf` with "no-lost-completion" at the end of the run (the scenario keeps them up to date). */
export function watchCompletions(m: Machine, bdf: string, queues: readonly CompletionQueue[]): void {
  const l = watchedQueues.get(m) ?? [];
  l.push({ bdf, queues });
  watchedQueues.set(m, l);
}

// The device keeps produced == reported + waiting by construction
// (lib/hw/devices/mlx5/fw.ts); after the scenario stopped the traffic and
// settled, a completion still waiting in the device (its EQ was never polled
// again: not re-armed, or its interrupt never arrived) or reported as an EQE
// that no handler consumed is lost.
registerChecker({
  name: "no-lost-completion",
  description: "every completion an mlx5-like NIC produced for a watched queue was reported as an EQE and handled by the queue's driver by the end of the run",
  when: "end",
  check(env) {
    const out: Finding[] = [];
    for (const w of watchedQueues.get(env.m) ?? []) {
      const hw = env.m.pci.device(w.bdf);
      if (!(hw instanceof Mlx5Nic)) continue;
      for (const q of w.queues) {
        const c = hw.counters(q.index);
        if (c.produced !== c.reported + c.waiting) out.push({ key: `acct/${w.bdf}/${q.index}`, message: `${w.bdf} queue ${q.index}: produced ${c.produced} != reported ${c.reported} + waiting ${c.waiting}` });
        if (c.waiting || q.completions !== c.reported) {
          out.push({
            key: `lost/${w.bdf}/${q.index}`,
            message: `${w.bdf} queue ${q.index}: ${c.produced} completions produced, ${c.reported} reported as EQEs, ${c.waiting} still waiting in the device, ${q.completions} handled`,
          });
        }
      }
    }
    return out;
  },
});
