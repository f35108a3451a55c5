// SPDX-License-Identifier: GPL-2.0-only
// An mlx5-like NIC (ConnectX-6 Dx PF identity): one PCI function whose BAR0
// holds the initialization segment, the MSI-X table and PBA, and UAR pages;
// the firmware (fw.ts) behind it runs the command queue in host RAM, event
// queues, health, resets and irqlab's RAM-backed IMS store.
//
// BAR0 (64 KiB):
//   0x0000 init segment (struct mlx5_init_seg, big-endian)
//   0x2000 MSI-X table, 0x3000 PBA
//   0x4000 + 4 KiB * k: UAR page 4 + k (k < 8), EQ doorbells at +0x40 / +0x48
// The init segment takes aligned dword writes; reads of any width 1, 2 or 4
// return the big-endian register bytes (ioread8 of the health syndrome,
// ioread16be of ext_synd, ioread32be of the rest). A device that is gone
// (setDead()) answers every BAR read with all-ones and drops writes, DMA and
// interrupts, as a surprise-removed function behind a live link would; its
// configuration space still answers (irqlab does not model link down).
//
// The model never calls kernel code; tests use the back doors below.

import type { Rng } from "../../../sim/rng.ts";
import { SimulatorError } from "../../../sim/sim.ts";
import { BarLayout, unsupportedRequest, type AccessWidth, type MmioHandler } from "../../mmio.ts";
import { MsixCapability } from "../../msix.ts";
import { PciFunction } from "../../pci.ts";
import type { Platform } from "../../platform.ts";
import type { CmdFault } from "./cmdif.ts";
import {
  CMD_IF_REV,
  HEALTH_FW_VER,
  HEALTH_HW_ID,
  HEALTH_IRISC_INDEX,
  HEALTH_RFR_SEVERITY,
  HEALTH_TIME,
  ISEG_CMD_DBELL,
  ISEG_CMD_EXEC_TO,
  ISEG_CMD_Q_INIT_TO,
  ISEG_CMDIF_REV_FW_SUB,
  ISEG_CMDQ_ADDR_H,
  ISEG_CMDQ_ADDR_L_SZ,
  ISEG_FW_REV,
  ISEG_HEALTH,
  ISEG_HEALTH_COUNTER,
  ISEG_INITIALIZING,
  ISEG_INTERNAL_TIMER_H,
  ISEG_INTERNAL_TIMER_L,
  MLX5_BAR0_SIZE,
  MLX5_CMDQ_LOG_STRIDE,
  MLX5_CMDQ_LOG_SZ,
  MLX5_FW_RESET_SUPPORTED_OFFSET,
  MLX5_ISEG_SIZE,
  MLX5_MSIX_PBA_OFFSET,
  MLX5_MSIX_TABLE_OFFSET,
  MLX5_NIC_IFC_OFFSET,
  MLX5_PCI_DEVICE_ID,
  MLX5_PCI_VENDOR_ID,
  MLX5_UAR_EQ_ARM,
  MLX5_UAR_CQ_DOORBELL,
  MLX5_UAR_EQ_CI,
  MLX5_UAR_FIRST_INDEX,
  MLX5_UAR_MAX,
  MLX5_UAR_PAGE_SIZE,
} from "./defs.ts";
import type { DevEq } from "./eq.ts";
import { DEFAULT_MLX5_TIMINGS, encodeTimeout, Mlx5Firmware, scaledTimeouts, type Mlx5Timeouts, type Mlx5Timings, type Mlx5Traffic, type QueueCounters } from "./fw.ts";
import type { ImsStore, ImsWriteback } from "./ims.ts";
import "./trace.ts";

export interface Mlx5Options {
  bdf: string;
  /** IMS entries the device supports (>= 64, default 128). */
  imsEntries?: number;
  /** On-die IMS cache lines (default 16). */
  imsCacheSize?: number;
  /** IMS cache write-back policy (default "none"). */
  imsWriteback?: ImsWriteback;
  /** IMS miss-fetch latency range in ns (default [500, 2000]). */
  imsFetchNs?: readonly [number, number];
  /** MSI-X table size (default 9: the control vector and 8 completion vectors). */
  msixVectors?: number;
  /** max_num_eqs capability (default 64). */
  maxEqs?: number;
  /** Traffic queues, i.e. CQ numbers 0..queues-1 that receive completions (default 8). */
  queues?: number;
  /** Pages the firmware asks for at boot / init (QUERY_PAGES, default 0). */
  bootPages?: number;
  initPages?: number;
  /** Firmware revision major.minor.sub (default 22.39.1002). */
  fwRev?: readonly [number, number, number];
  timings?: Partial<Mlx5Timings>;
  /**
   * Timeouts the firmware reports in the init segment (cmd_exec_to,
   * cmd_q_init_to) and the DTOR register, in ms: lib/tout.c's defaults divided
   * by `scale`, with per-timeout overrides. Absent: the firmware reports none
   * and the driver uses its own defaults (60 s command timeout, ...).
   */
  timeouts?: { scale?: number } & Partial<Mlx5Timeouts>;
  traffic?: Mlx5Traffic;
  /** Check layout and mailbox signatures (default off, as with checksum_disabled). */
  checkSignatures?: boolean;
}

const swab32 = (v: number): number => (((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | ((v >>> 24) & 0xff)) >>> 0;

export class Mlx5Nic extends PciFunction {
  readonly msix: MsixCapability;
  readonly fw: Mlx5Firmware;
  private readonly rng: Rng;

  constructor(
    readonly platform: Platform,
    opts: Mlx5Options,
  ) {
    const layout = new BarLayout(platform.sim, opts.bdf);
    const bar0: MmioHandler = {
      read: (o, w, c) => (this.fw.dead ? allOnes(w) : layout.read(o, w, c)),
      write: (o, v, w, c) => {
        if (!this.fw.dead) layout.write(o, v, w, c);
      },
      read64: (o, c) => (this.fw.dead ? 0xffffffffffffffffn : layout.read64(o, c)),
      write64: (o, v, c) => {
        if (!this.fw.dead) layout.write64(o, v, c);
      },
    };
    super(platform, {
      bdf: opts.bdf,
      vendorId: MLX5_PCI_VENDOR_ID,
      deviceId: MLX5_PCI_DEVICE_ID,
      classCode: 0x020000,
      bars: [{ index: 0, size: MLX5_BAR0_SIZE, handler: bar0 }],
    });
    const imsEntries = opts.imsEntries ?? 128;
    if (!(Number.isInteger(imsEntries) && imsEntries >= 64 && imsEntries <= 65536)) throw new SimulatorError(`irqlab: ${opts.bdf}: mlx5 imsEntries must be an integer in 64..65536`);
    const msixVectors = opts.msixVectors ?? 9;
    if (!(Number.isInteger(msixVectors) && msixVectors >= 1 && msixVectors <= 256)) throw new SimulatorError(`irqlab: ${opts.bdf}: mlx5 msixVectors must be in 1..256`);
    const maxEqs = opts.maxEqs ?? 64;
    if (!(Number.isInteger(maxEqs) && maxEqs >= 4 && maxEqs <= 256)) throw new SimulatorError(`irqlab: ${opts.bdf}: mlx5 maxEqs must be in 4..256`);
    const cache = opts.imsCacheSize ?? 16;
    if (!(Number.isInteger(cache) && cache >= 1)) throw new SimulatorError(`irqlab: ${opts.bdf}: mlx5 imsCacheSize must be a positive integer`);
    const fetch = opts.imsFetchNs ?? [500, 2000];
    if (!(fetch[0] >= 0 && fetch[1] >= fetch[0])) throw new SimulatorError(`irqlab: ${opts.bdf}: mlx5 imsFetchNs must be [min, max] with 0 <= min <= max`);
    this.msix = new MsixCapability(this, { vectors: msixVectors, tableBir: 0, tableOffset: MLX5_MSIX_TABLE_OFFSET, pbaBir: 0, pbaOffset: MLX5_MSIX_PBA_OFFSET });
    this.rng = platform.rng.fork(this.rid);
    const timings: Mlx5Timings = { ...DEFAULT_MLX5_TIMINGS, ...(opts.timings ?? {}), opNs: { ...DEFAULT_MLX5_TIMINGS.opNs, ...(opts.timings?.opNs ?? {}) } };
    const to = opts.timeouts ? scaledTimeouts(opts.timeouts.scale ?? 1, opts.timeouts) : null;
    this.fw = new Mlx5Firmware(
      {
        sim: platform.sim,
        bdf: this.bdf,
        rng: this.rng,
        dmaRead: (a, l) => this.dmaRead(a, l),
        dmaWrite: (a, b) => this.dmaWrite(a, b),
        emitMsi: (lo, hi, d) => this.emitMsi(lo, hi, d),
        raiseMsix: (v) => {
          this.msix.raise(v);
        },
      },
      {
        imsEntries,
        imsCacheSize: cache,
        imsWriteback: opts.imsWriteback ?? "none",
        imsFetchNs: fetch,
        maxEqs,
        msixVectors,
        queues: opts.queues ?? 8,
        bootPages: opts.bootPages ?? 0,
        initPages: opts.initPages ?? 0,
        fwRev: opts.fwRev ?? [22, 39, 1002],
        timings,
        timeouts: to,
      },
    );
    this.fw.cmd.checkSignatures = opts.checkSignatures ?? false;
    layout
      .add(0, MLX5_ISEG_SIZE, "iseg", this.iseg)
      .add(MLX5_MSIX_TABLE_OFFSET, 0x1000, "msix-table", this.msix.tableHandler)
      .add(MLX5_MSIX_PBA_OFFSET, 0x1000, "msix-pba", this.msix.pbaHandler)
      .add(MLX5_UAR_FIRST_INDEX * MLX5_UAR_PAGE_SIZE, (MLX5_UAR_MAX - MLX5_UAR_FIRST_INDEX) * MLX5_UAR_PAGE_SIZE, "uar", this.uar);
    if (opts.traffic) this.fw.startTraffic(opts.traffic);
  }

  // ------------------------------------------------------------ init segment

  /** The big-endian value of the init-segment dword at `off`. */
  private isegDword(off: number): number {
    const fw = this.fw;
    const [maj, min, sub] = fw.fwRev;
    const h = off - ISEG_HEALTH;
    switch (off) {
      case ISEG_FW_REV:
        return ((min << 16) | maj) >>> 0;
      case ISEG_CMDIF_REV_FW_SUB:
        return ((CMD_IF_REV << 16) | sub) >>> 0;
      case ISEG_CMDQ_ADDR_H:
        return fw.cmdqAddrH;
      case ISEG_CMDQ_ADDR_L_SZ:
        return (fw.cmdqAddrL | (fw.nicState << MLX5_NIC_IFC_OFFSET) | (MLX5_CMDQ_LOG_SZ << 4) | MLX5_CMDQ_LOG_STRIDE) >>> 0;
      case ISEG_INITIALIZING:
        return ((fw.initializing ? 0x80000000 : 0) | (1 << MLX5_FW_RESET_SUPPORTED_OFFSET)) >>> 0;
      case ISEG_CMD_EXEC_TO:
        return fw.timeouts ? encodeTimeout(fw.timeouts.cmd) : 0;
      case ISEG_CMD_Q_INIT_TO:
        return fw.timeouts ? encodeTimeout(fw.timeouts.fwInit) : 0;
      case ISEG_INTERNAL_TIMER_H:
        return Math.floor(this.host.sim.now / 2 ** 32) >>> 0;
      case ISEG_INTERNAL_TIMER_L:
        return this.host.sim.now % 2 ** 32 >>> 0;
      case ISEG_HEALTH_COUNTER:
        return fw.healthCounter;
    }
    if (h >= 0 && h < 0x40) {
      switch (h) {
        case HEALTH_TIME:
          return Math.floor(this.host.sim.now / 1e9) >>> 0;
        case HEALTH_FW_VER:
          return ((maj << 24) | (min << 16) | (sub & 0xffff)) >>> 0;
        case HEALTH_HW_ID:
          return 0x0000021d;
        case HEALTH_RFR_SEVERITY:
          return (fw.rfrSeverity << 24) >>> 0;
        case HEALTH_IRISC_INDEX:
          return ((0 << 24) | (fw.healthSynd << 16) | fw.extSynd) >>> 0;
      }
    }
    return 0;
  }

  private readonly iseg: MmioHandler = {
    read: (off, width) => {
      if (off % width) return unsupportedRequest(this.host.sim, this.bdf, "iseg", "read", off, width, "misaligned init segment read");
      const v = this.isegDword(off & ~3);
      const shift = 8 * (4 - width - (off & 3));
      const be = width === 4 ? v : (v >>> shift) & (width === 2 ? 0xffff : 0xff);
      // The CPU sees the register bytes in address order (little-endian load).
      return width === 4 ? swab32(be) : width === 2 ? ((be & 0xff) << 8) | (be >>> 8) : be;
    },
    write: (off, value, width) => {
      if (width !== 4 || off % 4) {
        unsupportedRequest(this.host.sim, this.bdf, "iseg", "write", off, width, "init segment takes aligned dwords");
        return;
      }
      const v = swab32(value);
      const fw = this.fw;
      switch (off) {
        case ISEG_CMDQ_ADDR_H:
          fw.cmdqAddrH = v;
          return;
        case ISEG_CMDQ_ADDR_L_SZ:
          fw.cmdqAddrL = (v & 0xfffff000) >>> 0;
          fw.nicInterfaceWrite((v >>> MLX5_NIC_IFC_OFFSET) & 7);
          return;
        case ISEG_CMD_DBELL:
          fw.cmd.doorbell(v);
          return;
        default:
          if (this.host.sim.trace.on) this.host.sim.trace.emit("hw.mlx5", { bdf: this.bdf, what: "iseg-ro-write", index: off, value: v });
      }
    },
  };

  /** First dword of a CQ doorbell written as two dwords, by UAR page. */
  private readonly cqDbLatch = new Map<number, number>();

  private readonly uar: MmioHandler = {
    read: () => 0,
    write: (off, value, width) => {
      const uar = MLX5_UAR_FIRST_INDEX + Math.floor(off / MLX5_UAR_PAGE_SIZE);
      const o = off % MLX5_UAR_PAGE_SIZE;
      if (width === 4 && o === MLX5_UAR_CQ_DOORBELL) {
        this.cqDbLatch.set(uar, swab32(value));
        return;
      }
      if (width === 4 && o === MLX5_UAR_CQ_DOORBELL + 4) {
        if (this.fw.uars.has(uar) && this.cqDbLatch.has(uar)) this.fw.cqArm(uar, swab32(value) & 0xffffff);
        this.cqDbLatch.delete(uar);
        return;
      }
      if (width !== 4 || (o !== MLX5_UAR_EQ_ARM && o !== MLX5_UAR_EQ_CI)) {
        unsupportedRequest(this.host.sim, this.bdf, "uar", "write", off, width, "only the EQ doorbells are modelled");
        return;
      }
      if (!this.fw.uars.has(uar)) {
        if (this.host.sim.trace.on) this.host.sim.trace.emit("hw.mlx5", { bdf: this.bdf, what: "uar-bad", index: uar, why: "UAR not allocated" });
        return;
      }
      this.fw.uarDoorbell(uar, swab32(value), o === MLX5_UAR_EQ_ARM);
    },
  };

  protected override resetDevice(): void {
    this.fw.reset("flr");
  }

  // ------------------------------------------------------------ back doors

  get ims(): ImsStore {
    return this.fw.ims;
  }

  /** The device's EQ `eqn`, if it exists. */
  eq(eqn: number): DevEq | undefined {
    return this.fw.eqs.get(eqn);
  }

  eqs(): DevEq[] {
    return [...this.fw.eqs.values()];
  }

  /** Completion counters of traffic queue (CQ number) `q`. */
  counters(q: number): QueueCounters {
    return this.fw.counters(q);
  }

  /** One completion for queue `q` now. */
  complete(q: number): void {
    if (!(Number.isInteger(q) && q >= 0 && q < this.fw.queues)) throw new SimulatorError(`irqlab: ${this.bdf}: no traffic queue ${q}`);
    this.fw.complete(q);
  }

  startTraffic(p: Mlx5Traffic): void {
    this.fw.startTraffic(p);
  }

  stopTraffic(): void {
    this.fw.stopTraffic();
  }

  /** Fault: the firmware hangs; its watchdog asserts "iRISC not responding" (with RFR) after `assertAfterNs` (default never). */
  hangFirmware(opts: { assertAfterNs?: number } = {}): void {
    this.fw.hang(opts.assertAfterNs ?? Infinity);
  }

  /** Fault: the next matching commands are delayed, fail with a delivery status, or return a status and syndrome. */
  failCommands(f: CmdFault): void {
    this.fw.cmd.addFault(f);
  }

  /** Fault: the firmware writes a health syndrome (with the reset-requested bit if `rfr`). */
  assertHealthSyndrome(synd: number, rfr: boolean, extSynd = 0): void {
    this.fw.assertSyndrome(synd, rfr, extSynd);
  }

  /** Fault: the device is gone (or comes back): BAR reads all-ones, no DMA, no interrupts. */
  setDead(dead: boolean): void {
    this.fw.dead = dead;
    if (this.host.sim.trace.on) this.host.sim.trace.emit("hw.mlx5", { bdf: this.bdf, what: "fault", why: dead ? "device gone" : "device back" });
  }

  /** Fault: EQ `eqn` raises its interrupt every `periodNs`, armed or not. False if there is no such EQ. */
  storm(eqn: number, periodNs: number): boolean {
    return this.fw.storm(eqn, periodNs);
  }

  /**
   * Fault: the next `count` interrupts EQ `eqn` raises are lost on the way (a
   * dropped message write): the EQ goes FIRED and its EQEs wait for a poll.
   * False if there is no such EQ.
   */
  loseInterrupts(eqn: number, count = 1): boolean {
    const eq = this.fw.eqs.get(eqn);
    if (!eq) return false;
    eq.lose = count;
    return true;
  }

  stopStorm(eqn: number): void {
    const eq = this.fw.eqs.get(eqn);
    if (eq) this.fw.stopStorm(eq);
  }
}

function allOnes(w: AccessWidth): number {
  return w === 4 ? 0xffffffff : w === 2 ? 0xffff : 0xff;
}
