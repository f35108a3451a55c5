// SPDX-License-Identifier: GPL-2.0-only
// A bare hardware rig for lib/hw tests: a simulator and a platform with one
// test NIC, no kernel. "CPU" accesses go straight to the MMIO map, and time
// moves only when the test advances it.

import { Sim } from "../../../lib/sim/sim.ts";
import { TraceRecorder, type TraceRecord } from "../../../lib/sim/trace.ts";
import { createPlatform, type Platform, type PlatformOptions } from "../../../lib/hw/platform.ts";
import { TestNic, type TestNicOptions } from "../../../lib/hw/devices/testnic.ts";
import { CMD_MASTER, CMD_MEMORY, CFG_COMMAND } from "../../../lib/hw/pci.ts";
import { MSIX_ENTRY_SIZE } from "../../../lib/hw/msix.ts";
import type { TraceEventMap } from "../../../lib/sim/trace.ts";

export interface Rig {
  sim: Sim;
  p: Platform;
  nic: TestNic;
  rec: TraceRecorder;
  /** BAR0 as firmware assigned it. */
  bar: number;
  /** ECAM base of the NIC. */
  cfg: number;
  /** Advance virtual time by `ns`, firing hardware events. */
  run: (ns: number) => void;
  w32: (addr: number, v: number, cpu?: number) => void;
  r32: (addr: number, cpu?: number) => number;
  w16: (addr: number, v: number) => void;
  r16: (addr: number) => number;
  /** Program MSI-X entry `v` with a compatibility message for (dest, vector). */
  entry: (v: number, dest: number, vector: number, masked?: boolean) => void;
  /** Write MSI-X message control: enable and function mask. */
  control: (enable: boolean, maskall?: boolean) => void;
  events: <K extends keyof TraceEventMap>(kind: K) => (TraceRecord & { kind: K } & TraceEventMap[K])[];
}

export function rig(opts: { cpus?: number; platform?: PlatformOptions; decode?: boolean } & Partial<TestNicOptions> = {}): Rig {
  const sim = new Sim({ cpus: opts.cpus ?? 2, seed: 1 });
  const rec = new TraceRecorder(sim.trace);
  rec.start();
  const p = createPlatform(sim, opts.platform);
  // What setup_local_APIC() does at boot: software-enable every APIC.
  for (const l of p.lapics) l.svr = 0x1ff;
  const nic = new TestNic(p, { bdf: opts.bdf ?? "0000:3b:00.0", vectors: opts.vectors ?? 8, latching: opts.latching, tearWindowNs: opts.tearWindowNs, traffic: opts.traffic });
  p.pci.add(nic);
  const cfg = p.pci.ecamAddress(nic.bus, nic.dev, nic.fn);
  const r: Rig = {
    sim,
    p,
    nic,
    rec,
    bar: nic.barAddress(0)!,
    cfg,
    run: (ns) => sim.spinFor(ns),
    w32: (addr, v, cpu = 0) => p.mmio.write(cpu, addr, v, 4),
    r32: (addr, cpu = 0) => p.mmio.read(cpu, addr, 4),
    w16: (addr, v) => p.mmio.write(0, addr, v, 2),
    r16: (addr) => p.mmio.read(0, addr, 2),
    entry: (v, dest, vector, masked = false) => {
      const e = r.bar + v * MSIX_ENTRY_SIZE;
      r.w32(e, 0xfee00000 | (dest << 12));
      r.w32(e + 4, 0);
      r.w32(e + 8, vector);
      r.w32(e + 12, masked ? 1 : 0);
    },
    control: (enable, maskall = false) => {
      r.w16(cfg + nic.msix.cap + 2, (enable ? 0x8000 : 0) | (maskall ? 0x4000 : 0));
    },
    events: <K extends keyof TraceEventMap>(kind: K) => rec.records.filter((x) => x.kind === kind) as (TraceRecord & { kind: K } & TraceEventMap[K])[],
  };
  if (opts.decode ?? true) {
    r.w16(cfg + CFG_COMMAND, CMD_MEMORY | CMD_MASTER);
    r.run(1000);
  }
  return r;
}
