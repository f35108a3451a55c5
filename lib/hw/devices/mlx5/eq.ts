// SPDX-License-Identifier: GPL-2.0-only
// Event queues of the mlx5-like NIC, as the device keeps them.
//
// An EQ is a ring of 2^log_eq_size 64-byte EQEs in host RAM (the pages listed
// in CREATE_EQ). The device writes entry pi with owner bit (pi >> log_size) & 1
// and advances pi; software owns an entry when the owner bit matches its own
// wrap count (next_eqe_sw()). An EQ is one-shot: when armed (UAR doorbell
// +0x40) the next EQE raises its interrupt and the EQ goes FIRED; it raises
// nothing more until software arms it again. Arming an EQ whose producer is
// ahead of the consumer index written with the doorbell raises at once. The
// interrupt goes out through the MSI-X vector named in CREATE_EQ (eqc.intr),
// or, once IRQLAB_BIND_EQ_TO_IMS bound the EQ, through that IMS entry.
//
// Completion queues are reduced to their binding: CQ n reports completions on
// EQ c_eqn with EQEs of type COMP carrying n, one EQE per completion. A new CQ
// reports nothing until software arms it once through the UAR CQ doorbell
// (mlx5_cq_arm()); from then on it stays armed. CQE rings and the doorbell
// record are not modelled.

import type { SimEvent } from "../../../sim/events.ts";
import type { Sim } from "../../../sim/sim.ts";
import { EQE_OWNER, EQE_SIGNATURE, EQE_SUB_TYPE, EQE_TYPE, MLX5_EQE_SIZE } from "./defs.ts";
import "./trace.ts";

export interface EqHost {
  readonly sim: Sim;
  readonly bdf: string;
  dmaWrite(addr: number, bytes: Uint8Array): boolean;
  /** Raise the interrupt of an EQ (MSI-X vector or IMS entry). */
  signalEq(eq: DevEq): void;
}

export const EQ_STATE_ARMED = 0x9; // MLX5_EQ_STATE_ARMED
export const EQ_STATE_FIRED = 0xa; // MLX5_EQ_STATE_FIRED

export interface DevEqStats {
  eqes: number;
  interrupts: number;
  overruns: number;
  arms: number;
}

export class DevEq {
  /** Producer index (not wrapped). */
  pi = 0;
  /** Consumer index as software last reported it (not wrapped). */
  ci = 0;
  armed = false;
  /** IMS entry the EQ signals through, or null for its MSI-X vector. */
  imsIndex: number | null = null;
  readonly cqs = new Set<number>();
  stormEv: SimEvent | null = null;
  /** Fault: interrupts still to lose (the EQ goes FIRED, the message never arrives). */
  lose = 0;
  readonly stats: DevEqStats = { eqes: 0, interrupts: 0, overruns: 0, arms: 0 };

  constructor(
    readonly eqn: number,
    readonly logSize: number,
    readonly pages: readonly number[],
    readonly pageSize: number,
    readonly uar: number,
    readonly intr: number,
    /** event_bitmask[0]: which asynchronous event types land here. */
    readonly mask: bigint,
  ) {}

  get nent(): number {
    return 1 << this.logSize;
  }

  /** Entries written and not yet released by software. */
  get outstanding(): number {
    return this.pi - this.ci;
  }

  get state(): number {
    return this.armed ? EQ_STATE_ARMED : EQ_STATE_FIRED;
  }

  wantsEvent(type: number): boolean {
    return ((this.mask >> BigInt(type)) & 1n) === 1n;
  }

  /** Bus address of ring entry `i` (wrapped). */
  entryAddress(i: number): number {
    const off = (i & (this.nent - 1)) * MLX5_EQE_SIZE;
    return this.pages[Math.floor(off / this.pageSize)]! + (off % this.pageSize);
  }
}

/** Write one EQE and fire the EQ if it is armed. False if the EQ is full. */
export function eq_post(host: EqHost, eq: DevEq, type: number, subType: number, data: Uint8Array): boolean {
  const sim = host.sim;
  if (eq.outstanding >= eq.nent) {
    eq.stats.overruns++;
    if (sim.trace.on) sim.trace.emit("hw.mlx5", { bdf: host.bdf, what: "eq-overrun", eqn: eq.eqn, value: eq.pi });
    return false;
  }
  const e = new Uint8Array(MLX5_EQE_SIZE);
  e[EQE_TYPE] = type;
  e[EQE_SUB_TYPE] = subType;
  e.set(data.subarray(0, 28), 0x20);
  e[EQE_SIGNATURE] = 0;
  e[EQE_OWNER] = (Math.floor(eq.pi / eq.nent) & 1) === 1 ? 1 : 0;
  if (!host.dmaWrite(eq.entryAddress(eq.pi), e)) return false;
  eq.pi++;
  eq.stats.eqes++;
  if (sim.trace.on) sim.trace.emit("hw.mlx5", { bdf: host.bdf, what: "eqe", eqn: eq.eqn, value: type, index: eq.pi - 1 });
  if (eq.armed) eq_fire(host, eq);
  return true;
}

/** The EQ raises its interrupt and goes FIRED. */
export function eq_fire(host: EqHost, eq: DevEq): void {
  eq.armed = false;
  eq.stats.interrupts++;
  if (host.sim.trace.on) host.sim.trace.emit("hw.mlx5", { bdf: host.bdf, what: "eq-fire", eqn: eq.eqn, value: eq.pi });
  host.signalEq(eq);
}

/**
 * A UAR doorbell for this EQ: the consumer index (24 bits) and, with `arm`,
 * re-arming. The full consumer index is rebuilt from the producer's.
 */
export function eq_doorbell(host: EqHost, eq: DevEq, ci24: number, arm: boolean): void {
  const back = (eq.pi - ci24) & 0xffffff;
  const ci = eq.pi - back;
  if (ci >= eq.ci - 0x800000) eq.ci = ci;
  if (arm) {
    eq.armed = true;
    eq.stats.arms++;
    if (host.sim.trace.on) host.sim.trace.emit("hw.mlx5", { bdf: host.bdf, what: "eq-arm", eqn: eq.eqn, value: eq.ci });
    if (eq.pi !== eq.ci) eq_fire(host, eq);
  }
}
