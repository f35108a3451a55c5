// SPDX-License-Identifier: GPL-2.0-only
// A test NIC: one PCI function with N queues and an MSI-X table of N
// vectors, queue k signalling vector k.
//
// BAR0 (64 KiB): MSI-X table at 0x0000, PBA at 0x8000, registers at 0xC000:
//   +0x00 ID        RO  0x7e571c00
//   +0x04 QUEUES    RO  N
//   +0x08 SCRATCH   RW  (zero after reset)
//   +0x0c DOORBELL  WO  writing k raises queue k's interrupt
// Registers take aligned 32-bit accesses; anything else is an unsupported
// request.
//
// Interrupts come from the back door raise(queue) or from a traffic pattern
// in virtual time (per-queue period with seeded jitter). Traffic is the
// world outside the device: it keeps running across a reset, and raises
// while MSI-X is off are dropped. The model never calls kernel code.

import type { SimEvent } from "../../sim/events.ts";
import type { Rng } from "../../sim/rng.ts";
import { SimulatorError } from "../../sim/sim.ts";
import { BarLayout, unsupportedRequest, type MmioHandler } from "../mmio.ts";
import { PciFunction } from "../pci.ts";
import { MsixCapability, type MsixLatching, type RaiseResult } from "../msix.ts";
import type { Platform } from "../platform.ts";

export const TESTNIC_VENDOR_ID = 0x1b36;
/** Not a real device ID: irqlab's test NIC. */
export const TESTNIC_DEVICE_ID = 0x7e57;
export const TESTNIC_BAR0_SIZE = 0x10000;
export const TESTNIC_MSIX_TABLE = 0x0000;
export const TESTNIC_MSIX_PBA = 0x8000;
export const TESTNIC_REGS = 0xc000;
export const TESTNIC_REG_ID = 0x00;
export const TESTNIC_REG_QUEUES = 0x04;
export const TESTNIC_REG_SCRATCH = 0x08;
export const TESTNIC_REG_DOORBELL = 0x0c;
export const TESTNIC_ID = 0x7e571c00;

export interface TrafficPattern {
  /** Period between interrupts of a queue in ns: one for all queues, or one per queue. */
  periodNs: number | readonly number[];
  /** Uniform jitter of each period, +-jitterNs (default 0). */
  jitterNs?: number;
  /** Queues with traffic (default all). */
  queues?: readonly number[];
  /** Delay of each queue's first interrupt (default one period). */
  startNs?: number;
  /** Stop a queue after this many interrupts (default unlimited). */
  count?: number;
}

export interface TestNicOptions {
  bdf: string;
  /** Queues = MSI-X vectors, 1..2048. */
  vectors: number;
  latching?: MsixLatching;
  tearWindowNs?: number;
  traffic?: TrafficPattern;
}

export interface QueueCounters {
  /** Interrupt conditions the queue raised. */
  raised: number;
  /** Messages sent for the queue's vector (including latched ones sent on unmask). */
  emitted: number;
  /** Raises that set the PBA bit because the vector was masked. */
  latched: number;
  /** Raises dropped because MSI-X was disabled. */
  dropped: number;
  /** Messages refused because bus mastering was off. */
  blocked: number;
}

export class TestNic extends PciFunction {
  readonly msix: MsixCapability;
  readonly queues: number;
  private readonly raised: Float64Array;
  private scratch = 0;
  private readonly rng: Rng;
  private traffic: { pattern: TrafficPattern; evs: (SimEvent | null)[]; left: Float64Array } | null = null;

  constructor(
    readonly platform: Platform,
    opts: TestNicOptions,
  ) {
    const layout = new BarLayout(platform.sim, opts.bdf);
    super(platform, {
      bdf: opts.bdf,
      vendorId: TESTNIC_VENDOR_ID,
      deviceId: TESTNIC_DEVICE_ID,
      classCode: 0x020000,
      bars: [{ index: 0, size: TESTNIC_BAR0_SIZE, handler: layout }],
    });
    this.msix = new MsixCapability(this, {
      vectors: opts.vectors,
      tableBir: 0,
      tableOffset: TESTNIC_MSIX_TABLE,
      pbaBir: 0,
      pbaOffset: TESTNIC_MSIX_PBA,
      latching: opts.latching,
      tearWindowNs: opts.tearWindowNs,
    });
    this.queues = opts.vectors;
    this.raised = new Float64Array(this.queues);
    this.rng = platform.rng.fork(this.rid);
    layout
      .add(TESTNIC_MSIX_TABLE, TESTNIC_MSIX_PBA - TESTNIC_MSIX_TABLE, "msix-table", this.msix.tableHandler)
      .add(TESTNIC_MSIX_PBA, 0x1000, "msix-pba", this.msix.pbaHandler)
      .add(TESTNIC_REGS, 0x100, "regs", this.regs);
    if (opts.traffic) this.startTraffic(opts.traffic);
  }

  /** Back door: queue `q` has an interrupt condition. */
  raise(q: number): RaiseResult {
    if (!(Number.isInteger(q) && q >= 0 && q < this.queues)) throw new SimulatorError(`irqlab: ${this.bdf}: no queue ${q} (the test NIC has ${this.queues})`);
    this.raised[q]!++;
    return this.msix.raise(q);
  }

  counters(q: number): QueueCounters {
    const s = this.msix.stats;
    return { raised: this.raised[q]!, emitted: s.emitted[q]!, latched: s.latched[q]!, dropped: s.dropped[q]!, blocked: s.blocked[q]! };
  }

  private readonly regs: MmioHandler = {
    read: (off, width) => {
      if (width !== 4 || off % 4) return unsupportedRequest(this.host.sim, this.bdf, "regs", "read", off, width, "registers take aligned dwords");
      switch (off) {
        case TESTNIC_REG_ID:
          return TESTNIC_ID;
        case TESTNIC_REG_QUEUES:
          return this.queues;
        case TESTNIC_REG_SCRATCH:
          return this.scratch;
        default:
          return 0;
      }
    },
    write: (off, value, width) => {
      if (width !== 4 || off % 4) {
        unsupportedRequest(this.host.sim, this.bdf, "regs", "write", off, width, "registers take aligned dwords");
        return;
      }
      if (off === TESTNIC_REG_SCRATCH) this.scratch = value >>> 0;
      else if (off === TESTNIC_REG_DOORBELL) {
        if (value < this.queues) this.raise(value);
        else unsupportedRequest(this.host.sim, this.bdf, "regs", "write", off, width, `doorbell for queue ${value}, which does not exist`);
      }
    },
  };

  protected override resetDevice(): void {
    this.scratch = 0;
  }

  // ------------------------------------------------------------ traffic

  /** Start (or replace) the traffic pattern. Its events do not keep m.run() alive. */
  startTraffic(p: TrafficPattern): void {
    this.stopTraffic();
    const sim = this.host.sim;
    const qs = p.queues ?? Array.from({ length: this.queues }, (_, i) => i);
    const periods = typeof p.periodNs === "number" ? null : p.periodNs;
    if (periods && periods.length !== this.queues) throw new SimulatorError(`irqlab: ${this.bdf}: traffic needs one period per queue (${this.queues})`);
    for (const q of qs) {
      if (!(Number.isInteger(q) && q >= 0 && q < this.queues)) throw new SimulatorError(`irqlab: ${this.bdf}: traffic on queue ${q}, which does not exist`);
      const period = periods ? periods[q]! : (p.periodNs as number);
      if (!(period > 0)) throw new SimulatorError(`irqlab: ${this.bdf}: traffic period must be positive`);
    }
    const left = new Float64Array(this.queues).fill(p.count ?? Infinity);
    const evs: (SimEvent | null)[] = new Array<SimEvent | null>(this.queues).fill(null);
    for (const q of qs) {
      if (evs[q]) continue;
      const ev = sim.eq.create(() => this.tick(q), `${this.bdf} traffic q${q}`, true);
      evs[q] = ev;
      const first = p.startNs ?? this.nextGap(p, q);
      sim.eq.reschedule(ev, sim.now + Math.max(0, first));
    }
    this.traffic = { pattern: p, evs, left };
  }

  stopTraffic(): void {
    if (!this.traffic) return;
    for (const ev of this.traffic.evs) if (ev) this.host.sim.eq.cancel(ev);
    this.traffic = null;
  }

  private nextGap(p: TrafficPattern, q: number): number {
    const period = typeof p.periodNs === "number" ? p.periodNs : p.periodNs[q]!;
    const j = Math.floor(p.jitterNs ?? 0);
    const gap = j > 0 ? period + this.rng.int(2 * j + 1) - j : period;
    return Math.max(1, gap);
  }

  private tick(q: number): void {
    const t = this.traffic;
    if (!t) return;
    this.raise(q);
    if (--t.left[q]! <= 0) return;
    const ev = t.evs[q]!;
    const sim = this.host.sim;
    sim.eq.reschedule(ev, sim.now + this.nextGap(t.pattern, q));
  }
}
