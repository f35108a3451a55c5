// SPDX-License-Identifier: GPL-2.0-only
// PCI: functions with a 4 KiB configuration space, 64-bit memory BARs, a
// capability list, function-level reset, and the bus with its ECAM window.
//
// Configuration space follows QEMU's scheme: the bytes, a write mask (bits
// software may change) and a write-1-to-clear mask. BAR sizing falls out of
// the write mask: the low bits below the BAR size are read-only zero, so
// writing all-ones reads back the size mask. A BAR decodes (its handler is in
// the MMIO map) while Memory Space Enable is set and its address is non-zero;
// irqlab treats address 0 as "not assigned" rather than decoding over RAM.
// INTx is not modelled: the INTx-disable bit is stored and has no effect.

import type { Sim } from "../sim/sim.ts";
import { SimulatorError } from "../sim/sim.ts";
import { unsupportedRequest, type AccessWidth, type MmioHandler, type MmioMap, type MmioOwner, type MmioRegion } from "./mmio.ts";
import "./trace.ts";

/* Type 0 header offsets and bits (include/uapi/linux/pci_regs.h names in comments). */
export const CFG_VENDOR_ID = 0x00; // PCI_VENDOR_ID
export const CFG_DEVICE_ID = 0x02; // PCI_DEVICE_ID
export const CFG_COMMAND = 0x04; // PCI_COMMAND
export const CFG_STATUS = 0x06; // PCI_STATUS
export const CFG_CLASS_REVISION = 0x08; // PCI_CLASS_REVISION
export const CFG_HEADER_TYPE = 0x0e; // PCI_HEADER_TYPE
export const CFG_BAR0 = 0x10; // PCI_BASE_ADDRESS_0
export const CFG_SUBSYSTEM_VENDOR_ID = 0x2c; // PCI_SUBSYSTEM_VENDOR_ID
export const CFG_CAP_PTR = 0x34; // PCI_CAPABILITY_LIST
export const CFG_INTERRUPT_PIN = 0x3d; // PCI_INTERRUPT_PIN
export const CMD_MEMORY = 1 << 1; // PCI_COMMAND_MEMORY
export const CMD_MASTER = 1 << 2; // PCI_COMMAND_MASTER
export const CMD_INTX_DISABLE = 1 << 10; // PCI_COMMAND_INTX_DISABLE
export const STATUS_CAP_LIST = 1 << 4; // PCI_STATUS_CAP_LIST
export const BAR_MEM_TYPE_64 = 0x4; // PCI_BASE_ADDRESS_MEM_TYPE_64
export const BAR_MEM_PREFETCH = 0x8; // PCI_BASE_ADDRESS_MEM_PREFETCH
export const CAP_ID_EXP = 0x10; // PCI_CAP_ID_EXP
export const CAP_ID_MSIX = 0x11; // PCI_CAP_ID_MSIX
/* PCI Express capability registers, relative to the capability. */
export const EXP_DEVCAP = 0x04; // PCI_EXP_DEVCAP
export const EXP_DEVCTL = 0x08; // PCI_EXP_DEVCTL
export const EXP_DEVSTA = 0x0a; // PCI_EXP_DEVSTA
export const EXP_DEVCAP_FLR = 1 << 28; // PCI_EXP_DEVCAP_FLR
export const EXP_DEVCTL_BCR_FLR = 1 << 15; // PCI_EXP_DEVCTL_BCR_FLR
const EXP_CAP_SIZE = 0x3c;

export interface Bdf {
  domain: number;
  bus: number;
  dev: number;
  fn: number;
}

/** Parse "0000:3b:00.0". Throws on a malformed address (a bad machine option). */
export function parseBdf(s: string): Bdf {
  const m = /^([0-9a-fA-F]{4}):([0-9a-fA-F]{2}):([0-9a-fA-F]{2})\.([0-7])$/.exec(s);
  if (!m) throw new SimulatorError(`irqlab: bad PCI address "${s}" (expected dddd:bb:dd.f)`);
  const b: Bdf = { domain: parseInt(m[1]!, 16), bus: parseInt(m[2]!, 16), dev: parseInt(m[3]!, 16), fn: parseInt(m[4]!, 10) };
  if (b.dev > 31) throw new SimulatorError(`irqlab: bad PCI address "${s}": device number above 0x1f`);
  if (b.domain !== 0) throw new SimulatorError(`irqlab: bad PCI address "${s}": only segment 0000 is modelled`);
  return b;
}

export function formatBdf(b: Bdf): string {
  const h = (v: number, n: number): string => v.toString(16).padStart(n, "0");
  return `${h(b.domain, 4)}:${h(b.bus, 2)}:${h(b.dev, 2)}.${b.fn}`;
}

/** What a PCI function needs from the platform: time, the MMIO map and DMA. */
export interface PciHost {
  readonly sim: Sim;
  readonly mmio: MmioMap;
  /** An upstream dword write (interrupt messages are dword writes). */
  dmaWrite32(rid: number, addrLo: number, addrHi: number, data: number, pasid: number): void;
  dmaWrite(rid: number, addr: number, bytes: Uint8Array, pasid: number): void;
  dmaRead(rid: number, addr: number, len: number, pasid: number): Uint8Array;
}

export interface BarSpec {
  /** BAR register index 0..4; a 64-bit BAR also uses index + 1. */
  index: number;
  /** Power of two, at least 16 bytes. */
  size: number;
  prefetchable?: boolean;
  handler: MmioHandler;
  /** CPU-side cost of a read of this BAR (default: the map's round trip). */
  readLatencyNs?: number;
}

export interface PciFunctionOptions {
  bdf: string;
  vendorId: number;
  deviceId: number;
  /** 24-bit class code (default 0x020000, Ethernet controller). */
  classCode?: number;
  revision?: number;
  subsystemVendorId?: number;
  subsystemId?: number;
  bars?: BarSpec[];
  /** Advertise Function Level Reset in the PCIe capability (default true). */
  flr?: boolean;
}

/** Hooks of a capability the function calls after a config write and on reset. */
export interface CapabilityHooks {
  /** A config write touched the capability; `off` and the value are as written. */
  written?(off: number, value: number, width: AccessWidth): void;
  reset?(): void;
}

interface Capability {
  id: number;
  off: number;
  size: number;
  hooks: CapabilityHooks;
}

interface BarState {
  spec: BarSpec;
  /** Where software asked the BAR to decode (null: not decoding). */
  wanted: number | null;
  region: MmioRegion | null;
}

/** The byte a write of `value` (at off, width) put at config offset `at`, or -1. */
export function writtenByte(off: number, value: number, width: number, at: number): number {
  if (at < off || at >= off + width) return -1;
  return (value >>> ((at - off) * 8)) & 0xff;
}

export class PciFunction implements MmioOwner {
  readonly bdf: string;
  readonly bus: number;
  readonly dev: number;
  readonly fn: number;
  /** Requester ID: bus << 8 | dev << 3 | fn. */
  readonly rid: number;
  readonly name: string;
  readonly cfg = new Uint8Array(4096);
  readonly wmask = new Uint8Array(4096);
  readonly w1cmask = new Uint8Array(4096);
  private initCfg: Uint8Array = new Uint8Array(0);
  private readonly caps: Capability[] = [];
  private nextCap = 0x40;
  private readonly bars: BarState[] = [];
  private flrPending = false;
  /** Offset of the PCI Express capability. */
  readonly expCap: number;
  readonly stats = { dmaBlocked: 0, flr: 0 };

  constructor(
    readonly host: PciHost,
    opts: PciFunctionOptions,
  ) {
    const b = parseBdf(opts.bdf);
    this.bdf = formatBdf(b);
    this.bus = b.bus;
    this.dev = b.dev;
    this.fn = b.fn;
    this.rid = (b.bus << 8) | (b.dev << 3) | b.fn;
    this.name = this.bdf;
    this.set16(CFG_VENDOR_ID, opts.vendorId);
    this.set16(CFG_DEVICE_ID, opts.deviceId);
    this.set32(CFG_CLASS_REVISION, (((opts.classCode ?? 0x020000) << 8) | (opts.revision ?? 0)) >>> 0);
    this.set16(CFG_SUBSYSTEM_VENDOR_ID, opts.subsystemVendorId ?? opts.vendorId);
    this.set16(CFG_SUBSYSTEM_VENDOR_ID + 2, opts.subsystemId ?? 0);
    this.setMask16(CFG_COMMAND, CMD_MEMORY | CMD_MASTER | CMD_INTX_DISABLE);
    this.cfg[0x0c] = 0x10; // cache line size 64 bytes, writable as on hardware
    this.wmask[0x0c] = 0xff;
    this.wmask[0x3c] = 0xff; // interrupt line: scratch for software
    for (const spec of opts.bars ?? []) this.addBar(spec);
    this.expCap = this.addCapability(CAP_ID_EXP, EXP_CAP_SIZE, { written: (off, v, w) => this.expWritten(off, v, w) });
    this.set16(this.expCap + 2, 0x0002); // version 2, endpoint
    this.set32(this.expCap + EXP_DEVCAP, opts.flr === false ? 0 : EXP_DEVCAP_FLR);
    this.setMask16(this.expCap + EXP_DEVCTL, 0x7fff);
    this.w1cmask[this.expCap + EXP_DEVSTA] = 0x0f;
  }

  private set16(off: number, v: number): void {
    this.cfg[off] = v & 0xff;
    this.cfg[off + 1] = (v >>> 8) & 0xff;
  }

  private set32(off: number, v: number): void {
    for (let i = 0; i < 4; i++) this.cfg[off + i] = (v >>> (8 * i)) & 0xff;
  }

  private setMask16(off: number, m: number): void {
    this.wmask[off] = m & 0xff;
    this.wmask[off + 1] = (m >>> 8) & 0xff;
  }

  private setMask32(off: number, m: number): void {
    for (let i = 0; i < 4; i++) this.wmask[off + i] = (m >>> (8 * i)) & 0xff;
  }

  /** Initial values of a capability's registers are set by its owner (device construction only). */
  initCfg32(off: number, v: number, wmask = 0): void {
    this.set32(off, v);
    this.setMask32(off, wmask);
  }

  initCfg16(off: number, v: number, wmask = 0): void {
    this.set16(off, v);
    this.setMask16(off, wmask);
  }

  private addBar(spec: BarSpec): void {
    const { index, size } = spec;
    if (!Number.isInteger(index) || index < 0 || index > 4) throw new SimulatorError(`irqlab: ${this.bdf}: BAR index ${index} out of 0..4 for a 64-bit BAR`);
    if (!(size >= 16 && size <= 2 ** 40 && Number.isInteger(Math.log2(size)))) {
      throw new SimulatorError(`irqlab: ${this.bdf}: BAR${index} size ${size} is not a power of two >= 16`);
    }
    if (this.bars.some((b) => Math.abs(b.spec.index - index) < 2)) throw new SimulatorError(`irqlab: ${this.bdf}: BAR${index} overlaps another 64-bit BAR`);
    const off = CFG_BAR0 + 4 * index;
    this.set32(off, BAR_MEM_TYPE_64 | (spec.prefetchable ? BAR_MEM_PREFETCH : 0));
    const lowMask = size >= 2 ** 32 ? 0 : (~(size - 1) & ~0xf) >>> 0;
    const highMask = size > 2 ** 32 ? (~(size / 2 ** 32 - 1)) >>> 0 : 0xffffffff;
    this.setMask32(off, lowMask);
    this.setMask32(off + 4, highMask);
    this.bars.push({ spec, wanted: null, region: null });
  }

  /**
   * Append a capability of `size` bytes to the list; returns its offset. Only
   * during device construction: the capability list is part of the device.
   */
  addCapability(id: number, size: number, hooks: CapabilityHooks = {}): number {
    const off = this.nextCap;
    if (off + size > 0x100) throw new SimulatorError(`irqlab: ${this.bdf}: capabilities overflow the 256-byte header space`);
    this.cfg[off] = id;
    this.cfg[off + 1] = 0;
    const prev = this.caps[this.caps.length - 1];
    if (prev) this.cfg[prev.off + 1] = off;
    else this.cfg[CFG_CAP_PTR] = off;
    this.set16(CFG_STATUS, STATUS_CAP_LIST);
    this.caps.push({ id, off, size, hooks });
    this.nextCap = (off + size + 3) & ~3;
    return off;
  }

  /** Offset of the first capability with `id`, or 0. */
  findCapability(id: number): number {
    return this.caps.find((c) => c.id === id)?.off ?? 0;
  }

  /** Freeze the power-on state that FLR returns to (called by the bus when the function is added). */
  sealResetState(): void {
    this.initCfg = this.cfg.slice();
  }

  /** Header Type bit 7: software scans functions 1..7 of this device. */
  setMultiFunction(): void {
    this.cfg[CFG_HEADER_TYPE] = this.cfg[CFG_HEADER_TYPE]! | 0x80;
    if (this.initCfg.length) this.initCfg[CFG_HEADER_TYPE] = this.initCfg[CFG_HEADER_TYPE]! | 0x80;
  }

  // ------------------------------------------------------------ config space

  get command(): number {
    return this.cfg[CFG_COMMAND]! | (this.cfg[CFG_COMMAND + 1]! << 8);
  }

  get memoryEnabled(): boolean {
    return (this.command & CMD_MEMORY) !== 0;
  }

  get busMaster(): boolean {
    return (this.command & CMD_MASTER) !== 0;
  }

  /** Read config space (a back door for tests; software goes through ECAM). */
  cfgRead(off: number, width: AccessWidth): number {
    let v = 0;
    for (let i = width - 1; i >= 0; i--) v = (v << 8) | this.cfg[off + i]!;
    return v >>> 0;
  }

  /** Write config space with the write masks, then run the side effects. */
  cfgWrite(off: number, value: number, width: AccessWidth): void {
    for (let i = 0; i < width; i++) {
      const at = off + i;
      const byte = (value >>> (8 * i)) & 0xff;
      const w = this.wmask[at]!;
      let b = (this.cfg[at]! & ~w) | (byte & w);
      b &= ~(byte & this.w1cmask[at]!);
      this.cfg[at] = b;
    }
    const end = off + width;
    if ((off < CFG_COMMAND + 2 && end > CFG_COMMAND) || (off < CFG_BAR0 + 24 && end > CFG_BAR0)) this.updateBars();
    for (const c of this.caps) {
      if (off < c.off + c.size && end > c.off) c.hooks.written?.(off, value, width);
    }
    if (this.flrPending) {
      this.flrPending = false;
      this.flr();
    }
  }

  private expWritten(off: number, value: number, width: AccessWidth): void {
    const b = writtenByte(off, value, width, this.expCap + EXP_DEVCTL + 1);
    if (b >= 0 && (b & (EXP_DEVCTL_BCR_FLR >> 8)) && (this.cfgRead(this.expCap + EXP_DEVCAP, 4) & EXP_DEVCAP_FLR)) this.flrPending = true;
  }

  /** The handler of the function's ECAM page. */
  readonly ecamHandler: MmioHandler = {
    read: (off, width) => {
      if (off % width !== 0) return unsupportedRequest(this.host.sim, this.bdf, "config", "read", off, width, "misaligned config access");
      return this.cfgRead(off, width);
    },
    write: (off, value, width) => {
      if (off % width !== 0) {
        unsupportedRequest(this.host.sim, this.bdf, "config", "write", off, width, "misaligned config access");
        return;
      }
      this.cfgWrite(off, value, width);
    },
    read64: (off) => {
      unsupportedRequest(this.host.sim, this.bdf, "config", "read", off, 8, "config requests are at most a dword");
      return 0xffffffffffffffffn;
    },
    write64: (off) => {
      unsupportedRequest(this.host.sim, this.bdf, "config", "write", off, 8, "config requests are at most a dword");
    },
  };

  // ------------------------------------------------------------ BARs

  /** The address BAR `index` is programmed with (null if there is no such BAR). */
  barAddress(index: number): number | null {
    const b = this.bars.find((x) => x.spec.index === index);
    if (!b) return null;
    const off = CFG_BAR0 + 4 * index;
    return this.cfgRead(off + 4, 4) * 2 ** 32 + ((this.cfgRead(off, 4) & ~0xf) >>> 0);
  }

  /** Where BAR `index` decodes now, or null. */
  barMappedAt(index: number): number | null {
    return this.bars.find((x) => x.spec.index === index)?.region?.base ?? null;
  }

  /** Set a BAR's address directly (firmware resource assignment). */
  assignBar(index: number, addr: number): void {
    const off = CFG_BAR0 + 4 * index;
    this.set32(off, ((addr % 2 ** 32) | (this.cfg[off]! & 0xf)) >>> 0);
    this.set32(off + 4, Math.floor(addr / 2 ** 32));
    this.updateBars();
  }

  barSpecs(): readonly BarSpec[] {
    return this.bars.map((b) => b.spec);
  }

  private updateBars(): void {
    const sim = this.host.sim;
    const mmio = this.host.mmio;
    for (const b of this.bars) {
      const size = b.spec.size;
      const addr = this.barAddress(b.spec.index)!;
      let want: number | null = this.memoryEnabled && addr !== 0 ? addr : null;
      if (want !== null && !Number.isSafeInteger(want + size)) {
        if (b.wanted !== want && sim.trace.on) sim.trace.emit("hw.pci", { bdf: this.bdf, what: "bar-unreachable", bar: b.spec.index, size });
        b.wanted = want;
        want = null;
        if (!b.region) continue;
      } else {
        if (b.wanted === want) continue;
        b.wanted = want;
      }
      if (b.region) {
        mmio.unmap(b.region);
        if (sim.trace.on) sim.trace.emit("hw.pci", { bdf: this.bdf, what: "bar-unmap", bar: b.spec.index, addr: b.region.base, size });
        b.region = null;
      }
      if (want === null) continue;
      const h = b.spec.handler;
      const r: MmioRegion = {
        base: want,
        size,
        owner: this,
        name: `${this.bdf} BAR${b.spec.index}`,
        readLatencyNs: b.spec.readLatencyNs,
        read: (o, w, c) => h.read(o, w, c),
        write: (o, v, w, c) => h.write(o, v, w, c),
        read64: h.read64 ? (o, c) => h.read64!(o, c) : undefined,
        write64: h.write64 ? (o, v, c) => h.write64!(o, v, c) : undefined,
      };
      if (mmio.map(r)) {
        b.region = r;
        if (sim.trace.on) sim.trace.emit("hw.pci", { bdf: this.bdf, what: "bar-map", bar: b.spec.index, addr: want, size });
      } else if (sim.trace.on) sim.trace.emit("hw.pci", { bdf: this.bdf, what: "bar-conflict", bar: b.spec.index, addr: want, size });
    }
  }

  // ------------------------------------------------------------ DMA

  /**
   * Send an MSI/MSI-X message (an upstream dword write). Refused without Bus
   * Master Enable, which gates every upstream request of the function.
   */
  emitMsi(addrLo: number, addrHi: number, data: number, pasid = -1): boolean {
    if (!this.busMaster) {
      this.blocked(addrLo, addrHi, 4);
      return false;
    }
    this.host.dmaWrite32(this.rid, addrLo, addrHi, data, pasid);
    return true;
  }

  dmaWrite(addr: number, bytes: Uint8Array, pasid = -1): boolean {
    if (!this.busMaster) {
      this.blocked(addr % 2 ** 32, Math.floor(addr / 2 ** 32), bytes.length);
      return false;
    }
    this.host.dmaWrite(this.rid, addr, bytes, pasid);
    return true;
  }

  /** A DMA read; null when bus mastering is off. */
  dmaRead(addr: number, len: number, pasid = -1): Uint8Array | null {
    if (!this.busMaster) {
      this.blocked(addr % 2 ** 32, Math.floor(addr / 2 ** 32), len);
      return null;
    }
    return this.host.dmaRead(this.rid, addr, len, pasid);
  }

  private blocked(addrLo: number, addrHi: number, len: number): void {
    this.stats.dmaBlocked++;
    const sim = this.host.sim;
    if (sim.trace.on) sim.trace.emit("hw.pci", { bdf: this.bdf, what: "dma-blocked", addr: addrHi * 2 ** 32 + addrLo, size: len });
  }

  // ------------------------------------------------------------ reset

  /**
   * Function Level Reset: configuration space returns to its power-on state
   * (BARs unassigned, decoding and bus mastering off), capabilities and the
   * device's own state reset. irqlab completes it at once; Linux waits 100 ms
   * after initiating it anyway (pcie_flr()).
   */
  flr(): void {
    this.stats.flr++;
    const sim = this.host.sim;
    if (sim.trace.on) sim.trace.emit("hw.pci", { bdf: this.bdf, what: "flr" });
    this.cfg.set(this.initCfg);
    this.updateBars();
    for (const c of this.caps) c.hooks.reset?.();
    this.resetDevice();
  }

  /** Device-specific part of a reset; device models override it. */
  protected resetDevice(): void {}
}

export interface PciBusOptions {
  /** Base of the ECAM window (default 0xE000_0000, 256 buses). */
  ecamBase?: number;
  /** Window from which firmware assigns BAR addresses (default 0xC000_0000, 512 MiB). */
  mmioWindowBase?: number;
  mmioWindowSize?: number;
}

/** PCI segment 0: its functions, their ECAM pages, and firmware BAR assignment. */
export class PciBus {
  readonly ecamBase: number;
  private readonly fns = new Map<string, PciFunction>();
  private readonly ecam = new Map<PciFunction, MmioRegion>();
  private nextMmio: number;
  private readonly mmioEnd: number;

  constructor(
    private readonly host: PciHost,
    opts: PciBusOptions = {},
  ) {
    this.ecamBase = opts.ecamBase ?? 0xe0000000;
    this.nextMmio = opts.mmioWindowBase ?? 0xc0000000;
    this.mmioEnd = this.nextMmio + (opts.mmioWindowSize ?? 0x20000000);
  }

  /** ECAM address of a config register of bus/dev/fn. */
  ecamAddress(bus: number, dev: number, fn: number, offset = 0): number {
    return this.ecamBase + ((bus << 20) | (dev << 15) | (fn << 12) | offset);
  }

  /**
   * Plug a function in: its ECAM page appears, and firmware assigns its BARs
   * (addresses programmed, decoding left off for the OS to enable).
   */
  add(f: PciFunction, assign = true): void {
    if (this.fns.has(f.bdf)) throw new SimulatorError(`irqlab: two PCI functions at ${f.bdf}`);
    if (f.host !== this.host) throw new SimulatorError(`irqlab: ${f.bdf} was built for another platform`);
    f.sealResetState();
    const base = this.ecamAddress(f.bus, f.dev, f.fn);
    const h = f.ecamHandler;
    const r: MmioRegion = {
      base,
      size: 4096,
      owner: f,
      name: `${f.bdf} ECAM`,
      read: (o, w, c) => h.read(o, w, c),
      write: (o, v, w, c) => h.write(o, v, w, c),
      read64: (o, c) => h.read64!(o, c),
      write64: (o, v, c) => h.write64!(o, v, c),
    };
    if (!this.host.mmio.map(r)) throw new SimulatorError(`irqlab: ECAM page of ${f.bdf} overlaps another region`);
    this.fns.set(f.bdf, f);
    this.ecam.set(f, r);
    if (f.fn !== 0 || [...this.fns.values()].some((o) => o.bus === f.bus && o.dev === f.dev && o !== f)) {
      for (const o of this.fns.values()) if (o.bus === f.bus && o.dev === f.dev && o.fn === 0) o.setMultiFunction();
    }
    if (!assign) return;
    for (const spec of f.barSpecs()) {
      const addr = Math.ceil(this.nextMmio / spec.size) * spec.size;
      if (addr + spec.size > this.mmioEnd) throw new SimulatorError(`irqlab: PCI MMIO window exhausted assigning ${f.bdf} BAR${spec.index}`);
      f.assignBar(spec.index, addr);
      this.nextMmio = addr + spec.size;
    }
  }

  device(bdf: string): PciFunction | undefined {
    return this.fns.get(bdf);
  }

  devices(): PciFunction[] {
    return [...this.fns.values()];
  }
}
