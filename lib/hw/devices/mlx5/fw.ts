// SPDX-License-Identifier: GPL-2.0-only
// The firmware of the mlx5-like NIC: HCA state, event and completion queues,
// UARs, the IMS store, health, resets, faults and the traffic the device
// reports as completions.
//
// Health: while the firmware runs, the health counter of the init segment
// increments every `healthTickNs`. A hung firmware stops it and completes no
// command; its on-chip watchdog may later declare the iRISC dead (health
// syndrome 0x7 with the reset-requested bit), which is what makes the driver's
// health poller start a recovery (health.c only resets on fatal sensors).
//
// Resets: power-on, function-level reset and software reset (NIC interface
// field written to 7) drop every object and command; the NIC interface then
// reads DISABLED, the initializing bit is set for `fwInitNs`, and the health
// counter starts again from 0.
//
// Traffic (irqlab): completions arrive for CQ numbers 0..queues-1 on a seeded
// schedule, like the test NIC's traffic, and are reported as COMP EQEs on the
// EQ the CQ is bound to. A completion whose CQ does not exist (before the
// driver created it, during a reset) or whose EQ is full waits in the device
// and is reported once it can be: produced == reported + waiting, always, so a
// test can check that no completion was lost.

import type { SimEvent } from "../../../sim/events.ts";
import type { Rng } from "../../../sim/rng.ts";
import type { Sim } from "../../../sim/sim.ts";
import { CmdEngine, type CmdCtx, type CmdHost } from "./cmdif.ts";
import { fw_execute, type FwOps } from "./commands.ts";
import {
  EVENT_TYPE_CMD,
  EVENT_TYPE_COMP,
  HEALTH_SYNDROME_DEAD_IRISC,
  MLX5_DEFAULT_TIMEOUTS_MS,
  MLX5_RFR_BIT_OFFSET,
  MLX5_SEVERITY_VALID,
  MLX5_UAR_FIRST_INDEX,
  MLX5_UAR_MAX,
  NIC_IFC_DISABLED,
  OP_ACCESS_REG,
  OP_CREATE_CQ,
  OP_CREATE_EQ,
  OP_DESTROY_EQ,
  OP_DISABLE_HCA,
  OP_ENABLE_HCA,
  OP_INIT_HCA,
  OP_MANAGE_PAGES,
  OP_NOP,
  OP_QUERY_HCA_CAP,
  OP_TEARDOWN_HCA,
} from "./defs.ts";
import { DevEq, eq_doorbell, eq_post, type EqHost } from "./eq.ts";
import { ImsStore, type ImsHost, type ImsWriteback } from "./ims.ts";
import "./trace.ts";

export interface Mlx5Timings {
  /** Initializing bit set after a reset (default 10 ms). */
  fwInitNs: number;
  /** Doorbell to descriptor fetch (default 2 us). */
  cmdFetchNs: number;
  /** Latency of an opcode; opcodes not listed take `defaultOpNs`. */
  opNs: Partial<Record<number, number>>;
  defaultOpNs: number;
  /** Commands the firmware executes at once (default 4). */
  parallelism: number;
  /** Health counter period (default 1 ms: below any health poll interval, scaled or not). */
  healthTickNs: number;
  /** SW reset: NIC interface written to 7 until it reads DISABLED (default 5 ms). */
  swResetNs: number;
}

export const DEFAULT_MLX5_TIMINGS: Mlx5Timings = {
  fwInitNs: 10e6,
  cmdFetchNs: 2000,
  opNs: {
    [OP_NOP]: 20e3,
    [OP_ENABLE_HCA]: 1e6,
    [OP_DISABLE_HCA]: 1e6,
    [OP_INIT_HCA]: 100e6,
    [OP_TEARDOWN_HCA]: 100e6,
    [OP_QUERY_HCA_CAP]: 50e3,
    [OP_CREATE_EQ]: 1e6,
    [OP_DESTROY_EQ]: 500e3,
    [OP_CREATE_CQ]: 200e3,
    [OP_MANAGE_PAGES]: 100e3,
    [OP_ACCESS_REG]: 50e3,
  },
  defaultOpNs: 50e3,
  parallelism: 4,
  healthTickNs: 1e6,
  swResetNs: 5e6,
};

/** Timeouts the firmware reports (init segment and DTOR), in ms. */
export type Mlx5Timeouts = { -readonly [K in keyof typeof MLX5_DEFAULT_TIMEOUTS_MS]: number };

export interface Mlx5Traffic {
  /** Period between completions of a queue (CQ number) in ns: one for all, or one per queue. */
  periodNs: number | readonly number[];
  jitterNs?: number;
  /** Queues with traffic (default all). */
  queues?: readonly number[];
  startNs?: number;
  /** Stop a queue after this many completions. */
  count?: number;
}

export interface FwPort {
  readonly sim: Sim;
  readonly bdf: string;
  readonly rng: Rng;
  dmaRead(addr: number, len: number): Uint8Array | null;
  dmaWrite(addr: number, bytes: Uint8Array): boolean;
  emitMsi(addrLo: number, addrHi: number, data: number): boolean;
  raiseMsix(vector: number): void;
}

export interface FwConfig {
  imsEntries: number;
  imsCacheSize: number;
  imsWriteback: ImsWriteback;
  imsFetchNs: readonly [number, number];
  maxEqs: number;
  msixVectors: number;
  queues: number;
  bootPages: number;
  initPages: number;
  fwRev: readonly [number, number, number];
  timings: Mlx5Timings;
  timeouts: Mlx5Timeouts | null;
}

export interface QueueCounters {
  /** Completions the outside world produced for the queue. */
  produced: number;
  /** COMP EQEs written for it. */
  reported: number;
  /** Completions waiting in the device for their CQ or for room in the EQ. */
  waiting: number;
}

export class Mlx5Firmware implements FwOps, CmdHost, EqHost, ImsHost {
  readonly sim: Sim;
  readonly bdf: string;
  readonly rng: Rng;
  readonly caps = new Uint8Array(0x1000);
  readonly maxEqs: number;
  readonly msixVectors: number;
  readonly ims: ImsStore;
  readonly psid = "IRQLAB_MLX5_0001";
  readonly bootPages: number;
  readonly initPages: number;
  readonly givenPages: number[] = [];
  readonly eqs = new Map<number, DevEq>();
  readonly cqs = new Map<number, number>();
  readonly armedCqs = new Set<number>();
  readonly uars = new Set<number>();
  readonly uarFirst = MLX5_UAR_FIRST_INDEX;
  readonly uarMax = MLX5_UAR_MAX;
  readonly cmd: CmdEngine;
  readonly timings: Mlx5Timings;
  readonly timeouts: Mlx5Timeouts | null;
  readonly fwRev: readonly [number, number, number];
  hcaEnabled = false;
  hcaInitialized = false;
  issi = 0;
  // init segment state
  cmdqAddrH = 0;
  cmdqAddrL = 0;
  nicState = NIC_IFC_DISABLED;
  initializing = true;
  healthCounter = 0;
  healthSynd = 0;
  rfrSeverity = 0;
  extSynd = 0;
  // faults
  private hangState = false;
  dead = false;
  readonly resets = { power: 1, flr: 0, sw: 0 };
  private readonly port: FwPort;
  private readonly healthEv: SimEvent;
  private initEv: SimEvent | null = null;
  private watchdogEv: SimEvent | null = null;
  private swResetEv: SimEvent | null = null;
  // traffic
  private readonly produced: Float64Array;
  private readonly reported: Float64Array;
  private readonly waiting: Float64Array;
  private traffic: { pattern: Mlx5Traffic; evs: (SimEvent | null)[]; left: Float64Array } | null = null;

  constructor(port: FwPort, cfg: FwConfig) {
    this.port = port;
    this.sim = port.sim;
    this.bdf = port.bdf;
    this.rng = port.rng;
    this.maxEqs = cfg.maxEqs;
    this.msixVectors = cfg.msixVectors;
    this.bootPages = cfg.bootPages;
    this.initPages = cfg.initPages;
    this.timings = cfg.timings;
    this.timeouts = cfg.timeouts;
    this.fwRev = cfg.fwRev;
    this.ims = new ImsStore(this, { entries: cfg.imsEntries, cacheSize: cfg.imsCacheSize, writeback: cfg.imsWriteback, fetchNs: cfg.imsFetchNs });
    this.cmd = new CmdEngine(this);
    this.cmd.fetchNs = cfg.timings.cmdFetchNs;
    this.cmd.parallelism = cfg.timings.parallelism;
    this.produced = new Float64Array(cfg.queues);
    this.reported = new Float64Array(cfg.queues);
    this.waiting = new Float64Array(cfg.queues);
    this.fillCaps();
    this.healthEv = this.sim.eq.create(() => this.healthTick(), `${this.bdf} health counter`, true);
    this.powerUp();
  }

  private fillCaps(): void {
    const c = this.caps;
    const dv = new DataView(c.buffer);
    c[0x19] = 22; // log_max_cq_sz
    c[0x1b] = 16; // log_max_cq
    c[0x1c] = 22; // log_max_eq_sz
    c[0x1f] = Math.min(15, Math.ceil(Math.log2(this.maxEqs))); // log_max_eq
    c[0x37] = 1; // num_ports
    dv.setUint16(0x8e, this.maxEqs); // max_num_eqs
  }

  get queues(): number {
    return this.produced.length;
  }

  // ------------------------------------------------------------ port glue

  dmaRead(addr: number, len: number): Uint8Array | null {
    if (this.dead) return null;
    return this.port.dmaRead(addr, len);
  }

  dmaWrite(addr: number, bytes: Uint8Array): boolean {
    if (this.dead) return false;
    return this.port.dmaWrite(addr, bytes);
  }

  emitMsi(addrLo: number, addrHi: number, data: number): boolean {
    if (this.dead) return false;
    return this.port.emitMsi(addrLo, addrHi, data);
  }

  get hung(): boolean {
    return this.hangState || this.dead;
  }

  cmdqBase(): number | null {
    const a = this.cmdqAddrH * 2 ** 32 + this.cmdqAddrL;
    return a === 0 ? null : a;
  }

  latencyOf(opcode: number): number {
    return this.timings.opNs[opcode] ?? this.timings.defaultOpNs;
  }

  execute(ctx: CmdCtx): Uint8Array {
    return fw_execute(this, ctx);
  }

  hasCmdEq(): boolean {
    for (const eq of this.eqs.values()) if (eq.wantsEvent(EVENT_TYPE_CMD)) return true;
    return false;
  }

  /** The firmware rang a slot's completion: a CMD EQE if a command EQ exists. */
  postCmdEvent(vector: number): void {
    for (const eq of this.eqs.values()) {
      if (!eq.wantsEvent(EVENT_TYPE_CMD)) continue;
      const data = new Uint8Array(28);
      new DataView(data.buffer).setUint32(0, vector >>> 0);
      eq_post(this, eq, EVENT_TYPE_CMD, 0, data);
      return;
    }
  }

  signalEq(eq: DevEq): void {
    if (this.dead) return;
    if (eq.lose > 0) {
      eq.lose--;
      if (this.sim.trace.on) this.sim.trace.emit("hw.mlx5", { bdf: this.bdf, what: "eq-irq-lost", eqn: eq.eqn });
      return;
    }
    if (eq.imsIndex !== null) this.ims.signal(eq.imsIndex);
    else this.port.raiseMsix(eq.intr);
  }

  // ------------------------------------------------------------ objects (FwOps)

  newEq(eqn: number, logSize: number, pages: number[], pageSize: number, uar: number, intr: number, mask: bigint): DevEq {
    const eq = new DevEq(eqn, logSize, pages, pageSize, uar, intr, mask);
    this.eqs.set(eqn, eq);
    return eq;
  }

  dropEq(eq: DevEq): void {
    this.stopStorm(eq);
    for (const cqn of eq.cqs) {
      this.cqs.delete(cqn);
      this.armedCqs.delete(cqn);
    }
    this.eqs.delete(eq.eqn);
  }

  /** The UAR CQ doorbell: the CQ is armed (and stays so); its waiting completions go out. */
  cqArm(uar: number, cqn: number): void {
    if (!this.cqs.has(cqn) || this.dead) {
      if (this.sim.trace.on) this.sim.trace.emit("hw.mlx5", { bdf: this.bdf, what: "uar-bad", cqn, index: uar, why: "no such CQ" });
      return;
    }
    this.armedCqs.add(cqn);
    if (this.sim.trace.on) this.sim.trace.emit("hw.mlx5", { bdf: this.bdf, what: "cq-arm", cqn, index: uar });
    this.flush(cqn);
  }

  genEqe(eq: DevEq, type: number, subType: number, data: Uint8Array): void {
    eq_post(this, eq, type, subType, data);
  }

  teardown(): void {
    for (const eq of [...this.eqs.values()]) this.dropEq(eq);
    this.cqs.clear();
    this.armedCqs.clear();
    this.uars.clear();
  }

  dtor(): Uint8Array | null {
    const t = this.timeouts;
    if (!t) return null;
    const d = new Uint8Array(0x40);
    const dv = new DataView(d.buffer);
    const put = (off: number, ms: number): void => dv.setUint32(off, encodeTimeout(ms));
    put(0x04, t.pciToggle);
    put(0x14, t.healthPoll);
    put(0x18, t.fullCrdump);
    put(0x1c, t.fwReset);
    put(0x20, t.flushOnError);
    put(0x24, t.pciSyncUpdate);
    put(0x28, t.teardown);
    put(0x2c, t.fsmReactivate);
    put(0x30, t.reclaimPages);
    put(0x34, t.reclaimVfsPages);
    put(0x38, t.resetUnload);
    return d;
  }

  /** A UAR doorbell write (EQ consumer index, with or without arming). */
  uarDoorbell(uar: number, value: number, arm: boolean): void {
    const eqn = value >>> 24;
    const eq = this.eqs.get(eqn);
    if (!eq || eq.uar !== uar || this.dead) {
      if (this.sim.trace.on) this.sim.trace.emit("hw.mlx5", { bdf: this.bdf, what: "uar-bad", eqn, index: uar, why: eq ? "EQ belongs to another UAR" : "no such EQ" });
      return;
    }
    eq_doorbell(this, eq, value & 0xffffff, arm);
    // room in the EQ: completions waiting for it may go now
    for (const cqn of eq.cqs) this.flush(cqn);
  }

  // ------------------------------------------------------------ health and resets

  private healthTick(): void {
    if (!this.hung && !this.initializing) this.healthCounter = (this.healthCounter + 1) >>> 0;
    this.sim.eq.reschedule(this.healthEv, this.sim.now + this.timings.healthTickNs);
  }

  private powerUp(): void {
    this.initializing = true;
    this.sim.eq.cancel(this.initEv);
    this.initEv = this.sim.eq.after(this.timings.fwInitNs, () => {
      this.initEv = null;
      this.initializing = false;
    }, `${this.bdf} firmware init`, true);
    this.sim.eq.reschedule(this.healthEv, this.sim.now + this.timings.healthTickNs);
  }

  /** Drop all device state (FLR, SW reset): commands, queues, IMS store and cache. */
  reset(kind: "flr" | "sw"): void {
    this.resets[kind]++;
    this.cmd.reset();
    for (const eq of this.eqs.values()) this.stopStorm(eq);
    this.eqs.clear();
    this.cqs.clear();
    this.armedCqs.clear();
    this.uars.clear();
    this.givenPages.length = 0;
    this.ims.reset();
    this.hcaEnabled = false;
    this.hcaInitialized = false;
    this.issi = 0;
    this.cmdqAddrH = 0;
    this.cmdqAddrL = 0;
    this.nicState = NIC_IFC_DISABLED;
    this.hangState = false;
    this.sim.eq.cancel(this.watchdogEv);
    this.watchdogEv = null;
    this.sim.eq.cancel(this.swResetEv);
    this.swResetEv = null;
    this.healthSynd = 0;
    this.rfrSeverity = 0;
    this.extSynd = 0;
    this.healthCounter = 0;
    if (this.sim.trace.on) this.sim.trace.emit("hw.mlx5", { bdf: this.bdf, what: "reset", why: kind });
    this.powerUp();
  }

  /** The NIC interface field of cmdq_addr_l_sz was written. */
  nicInterfaceWrite(state: number): void {
    if (state === 7) {
      if (this.swResetEv) return;
      this.nicState = 7;
      if (this.sim.trace.on) this.sim.trace.emit("hw.mlx5", { bdf: this.bdf, what: "sw-reset-start" });
      this.swResetEv = this.sim.eq.after(this.timings.swResetNs, () => {
        this.swResetEv = null;
        this.reset("sw");
      }, `${this.bdf} SW reset`);
      return;
    }
    this.nicState = state;
  }

  /** Fault: the firmware stops (no command completes, the health counter stops). */
  hang(assertAfterNs: number): void {
    this.hangState = true;
    if (this.sim.trace.on) this.sim.trace.emit("hw.mlx5", { bdf: this.bdf, what: "fault", why: "firmware hang" });
    this.sim.eq.cancel(this.watchdogEv);
    this.watchdogEv = null;
    if (Number.isFinite(assertAfterNs)) {
      this.watchdogEv = this.sim.eq.after(assertAfterNs, () => {
        this.watchdogEv = null;
        if (this.hangState) this.assertSyndrome(HEALTH_SYNDROME_DEAD_IRISC, true);
      }, `${this.bdf} iRISC watchdog`);
    }
  }

  get isHung(): boolean {
    return this.hangState;
  }

  /** The firmware writes a health syndrome (with the reset-requested bit when `rfr`). */
  assertSyndrome(synd: number, rfr: boolean, extSynd = 0): void {
    this.healthSynd = synd & 0xff;
    this.extSynd = extSynd & 0xffff;
    this.rfrSeverity = (rfr ? 1 << MLX5_RFR_BIT_OFFSET : 0) | MLX5_SEVERITY_VALID | 3;
    if (this.sim.trace.on) this.sim.trace.emit("hw.mlx5", { bdf: this.bdf, what: "health", value: synd, why: rfr ? "reset requested" : "" });
  }

  // ------------------------------------------------------------ storms

  /** Fault: an EQ raises its interrupt every `periodNs` whether armed or not. */
  storm(eqn: number, periodNs: number): boolean {
    const eq = this.eqs.get(eqn);
    if (!eq) return false;
    this.stopStorm(eq);
    const tick = (): void => {
      if (!this.eqs.has(eq.eqn)) return;
      eq.stats.interrupts++;
      this.signalEq(eq);
      this.sim.eq.reschedule(eq.stormEv!, this.sim.now + periodNs);
    };
    eq.stormEv = this.sim.eq.create(tick, `${this.bdf} EQ ${eqn} storm`, true);
    this.sim.eq.reschedule(eq.stormEv, this.sim.now + periodNs);
    return true;
  }

  stopStorm(eq: DevEq): void {
    if (eq.stormEv) this.sim.eq.cancel(eq.stormEv);
    eq.stormEv = null;
  }

  // ------------------------------------------------------------ traffic

  counters(q: number): QueueCounters {
    return { produced: this.produced[q]!, reported: this.reported[q]!, waiting: this.waiting[q]! };
  }

  /** One completion for queue (CQ number) `q`. */
  complete(q: number): void {
    this.produced[q]!++;
    this.waiting[q]!++;
    this.flush(q);
  }

  private flush(q: number): void {
    if (!(q < this.queues) || this.dead || !this.armedCqs.has(q)) return;
    const eqn = this.cqs.get(q);
    if (eqn === undefined) return;
    const eq = this.eqs.get(eqn);
    if (!eq) return;
    const data = new Uint8Array(28);
    new DataView(data.buffer).setUint32(0x18, q & 0xffffff);
    while (this.waiting[q]! > 0 && eq.outstanding < eq.nent) {
      if (!eq_post(this, eq, EVENT_TYPE_COMP, 0, data)) break;
      this.waiting[q]!--;
      this.reported[q]!++;
    }
  }

  startTraffic(p: Mlx5Traffic): void {
    this.stopTraffic();
    const qs = p.queues ?? Array.from({ length: this.queues }, (_, i) => i);
    const evs: (SimEvent | null)[] = new Array<SimEvent | null>(this.queues).fill(null);
    const left = new Float64Array(this.queues).fill(p.count ?? Infinity);
    this.traffic = { pattern: p, evs, left };
    for (const q of qs) {
      if (!(Number.isInteger(q) && q >= 0 && q < this.queues)) throw new RangeError(`irqlab: ${this.bdf}: traffic on queue ${q}, which does not exist`);
      const period = typeof p.periodNs === "number" ? p.periodNs : p.periodNs[q];
      if (!(period !== undefined && period > 0)) throw new RangeError(`irqlab: ${this.bdf}: traffic period of queue ${q} must be positive`);
      const ev = this.sim.eq.create(() => this.trafficTick(q), `${this.bdf} traffic q${q}`, true);
      evs[q] = ev;
      this.sim.eq.reschedule(ev, this.sim.now + Math.max(0, p.startNs ?? this.gap(q)));
    }
  }

  stopTraffic(): void {
    if (!this.traffic) return;
    for (const ev of this.traffic.evs) if (ev) this.sim.eq.cancel(ev);
    this.traffic = null;
  }

  private gap(q: number): number {
    const p = this.traffic!.pattern;
    const period = typeof p.periodNs === "number" ? p.periodNs : p.periodNs[q]!;
    const j = Math.floor(p.jitterNs ?? 0);
    return Math.max(1, j > 0 ? period + this.rng.int(2 * j + 1) - j : period);
  }

  private trafficTick(q: number): void {
    const t = this.traffic;
    if (!t) return;
    this.complete(q);
    if (--t.left[q]! <= 0) return;
    this.sim.eq.reschedule(t.evs[q]!, this.sim.now + this.gap(q));
  }
}

/** default_timeout / iseg timeout field: multiplier 31:29 (0 ms, 1 s), value 19:0. */
export function encodeTimeout(ms: number): number {
  const v = Math.max(1, Math.ceil(ms));
  if (v < 1 << 20) return v >>> 0;
  return ((1 << 29) | Math.min((1 << 20) - 1, Math.ceil(v / 1000))) >>> 0;
}

/** Timeouts the firmware reports: lib/tout.c's defaults divided by `scale`, then overrides. */
export function scaledTimeouts(scale: number, overrides: Partial<Mlx5Timeouts> = {}): Mlx5Timeouts {
  const t = {} as Mlx5Timeouts;
  for (const k of Object.keys(MLX5_DEFAULT_TIMEOUTS_MS) as (keyof Mlx5Timeouts)[]) {
    t[k] = overrides[k] ?? Math.max(1, Math.ceil(MLX5_DEFAULT_TIMEOUTS_MS[k] / scale));
  }
  return t;
}
