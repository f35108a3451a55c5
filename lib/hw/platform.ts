// SPDX-License-Identifier: GPL-2.0-only
// The hardware platform of a machine: host RAM, the CPU's MMIO map, PCI
// segment 0 with its ECAM window, the MSI fabric and one local APIC per CPU.
//
// Address map (defaults):
//   0x0000_0000 ..              RAM (sparse; the whole space not claimed below)
//   0xC000_0000 + 512 MiB       PCI MMIO window (firmware assigns BARs here)
//   0xE000_0000 + 256 MiB       ECAM
//   0xFEE0_0000 + 4 KiB         local APIC registers (CPU side), per accessing CPU
//   0xFEE0_0000 .. 0xFEEF_FFFF  interrupt messages (device side)
//   0x1_0000_0000 + 1 GiB       DMA-coherent pool (dma_alloc_coherent)
//
// Devices reach memory only through dmaWrite/dmaRead with their requester
// ID; the platform sends interrupt-window writes to the fabric and the rest
// to RAM. No IOMMU DMA translation is modelled: bus address = physical.

import type { Sim } from "../sim/sim.ts";
import { Rng } from "../sim/rng.ts";
import { SimulatorError } from "../sim/sim.ts";
import { Ram, PAGE_SIZE } from "./ram.ts";
import { MmioMap, type MmioRegion, type MmioOwner } from "./mmio.ts";
import { PciBus, type PciHost } from "./pci.ts";
import { MsiFabric, isInterruptAddress } from "./fabric.ts";
import { LocalApic, APIC_DEFAULT_PHYS_BASE, APIC_MMIO_SIZE } from "./apic.ts";
import "./trace.ts";

export interface PlatformOptions {
  /** CPU write to device arrival (default 100 ns). */
  mmioWriteLatencyNs?: number;
  /** CPU stall of an MMIO read (default 1 us). */
  mmioReadRoundTripNs?: number;
  /** MSI write to IRR (default 200 ns). */
  msiDeliveryLatencyNs?: number;
  ecamBase?: number;
  pciMmioBase?: number;
  pciMmioSize?: number;
  /** DMA-coherent pool (default 4 GiB, 1 GiB long). */
  coherentBase?: number;
  coherentSize?: number;
  /** Seed of the device RNGs (default: the simulator's seed). */
  seed?: number;
}

/** The CPU side of a local APIC, what the interrupt entry uses. */
export interface LapicCpuSide {
  deliverable(): boolean;
  inta(): number;
  readonly spuriousVector: number;
}

const INTR_WINDOW_LO = 0xfee00000;
const INTR_WINDOW_HI = 0xfef00000;

/** A first-fit allocator of naturally aligned power-of-two page blocks. */
class CoherentPool {
  private free: { base: number; size: number }[];
  private readonly used = new Map<number, number>();
  constructor(
    readonly base: number,
    readonly size: number,
  ) {
    this.free = [{ base, size }];
  }

  alloc(bytes: number): number | null {
    let size = PAGE_SIZE;
    while (size < bytes) size *= 2;
    for (let i = 0; i < this.free.length; i++) {
      const f = this.free[i]!;
      const a = Math.ceil(f.base / size) * size;
      if (a + size > f.base + f.size) continue;
      const parts: { base: number; size: number }[] = [];
      if (a > f.base) parts.push({ base: f.base, size: a - f.base });
      if (a + size < f.base + f.size) parts.push({ base: a + size, size: f.base + f.size - a - size });
      this.free.splice(i, 1, ...parts);
      this.used.set(a, size);
      return a;
    }
    return null;
  }

  /** Size of the block at `addr`, or 0 if none starts there. */
  sizeOf(addr: number): number {
    return this.used.get(addr) ?? 0;
  }

  release(addr: number): boolean {
    const size = this.used.get(addr);
    if (size === undefined) return false;
    this.used.delete(addr);
    let i = 0;
    while (i < this.free.length && this.free[i]!.base < addr) i++;
    this.free.splice(i, 0, { base: addr, size });
    const next = this.free[i + 1];
    if (next && addr + size === next.base) {
      this.free[i]!.size += next.size;
      this.free.splice(i + 1, 1);
    }
    const prev = this.free[i - 1];
    if (prev && prev.base + prev.size === addr) {
      prev.size += this.free[i]!.size;
      this.free.splice(i, 1);
    }
    return true;
  }

  get allocated(): number {
    return this.used.size;
  }
}

export class Platform implements PciHost {
  readonly ram = new Ram();
  readonly mmio: MmioMap;
  readonly pci: PciBus;
  readonly lapics: LocalApic[];
  readonly fabric: MsiFabric;
  /** Devices fork their generators from this one, in creation order. */
  readonly rng: Rng;
  private readonly pool: CoherentPool;
  readonly lapicRegion: MmioRegion;

  constructor(
    readonly sim: Sim,
    opts: PlatformOptions = {},
  ) {
    this.mmio = new MmioMap(sim, {
      writeLatencyNs: opts.mmioWriteLatencyNs ?? 100,
      readRoundTripNs: opts.mmioReadRoundTripNs ?? 1000,
    });
    this.lapics = sim.cpus.map((c) => new LocalApic(sim, c));
    this.fabric = new MsiFabric(sim, this.lapics, { deliveryLatencyNs: opts.msiDeliveryLatencyNs ?? 200 });
    for (const l of this.lapics) l.bus = this.fabric;
    this.rng = new Rng(opts.seed ?? sim.rng.seed).fork(0x9c1);
    const owner: MmioOwner = { name: "lapic", posted: false };
    // One page, many APICs: each CPU reaches its own (the xAPIC's per-CPU
    // decode), so the region dispatches on the accessing CPU.
    this.lapicRegion = {
      base: APIC_DEFAULT_PHYS_BASE,
      size: APIC_MMIO_SIZE,
      owner,
      name: "lapic",
      readLatencyNs: 0,
      read: (off, w, cpu) => this.lapic(cpu).read(off, w),
      write: (off, v, w, cpu) => this.lapic(cpu).write(off, v, w),
      read64: (off, cpu) => BigInt(this.lapic(cpu).read(off, 8)),
      write64: (off, _v, cpu) => this.lapic(cpu).write(off, 0, 8),
    };
    this.mmio.map(this.lapicRegion);
    this.pci = new PciBus(this, { ecamBase: opts.ecamBase, mmioWindowBase: opts.pciMmioBase, mmioWindowSize: opts.pciMmioSize });
    const cb = opts.coherentBase ?? 2 ** 32;
    const cs = opts.coherentSize ?? 2 ** 30;
    if (cb % PAGE_SIZE || cs % PAGE_SIZE || cs <= 0) throw new SimulatorError("irqlab: the DMA-coherent pool must be page aligned");
    this.pool = new CoherentPool(cb, cs);
  }

  /** The local APIC of CPU `cpu` (APIC ID = CPU number). */
  lapic(cpu: number): LocalApic {
    const l = this.lapics[cpu];
    if (!l) throw new SimulatorError(`irqlab: no local APIC for CPU ${cpu}`);
    return l;
  }

  // ------------------------------------------------------------ DMA

  /** Hot path of interrupt messages: an upstream dword write. */
  dmaWrite32(rid: number, addrLo: number, addrHi: number, data: number, pasid = -1): void {
    if (isInterruptAddress(addrLo, addrHi)) {
      this.fabric.receive(rid, addrLo, addrHi, data, pasid);
      return;
    }
    const addr = addrHi * 2 ** 32 + (addrLo >>> 0);
    if (this.sim.trace.on) this.traceDma(rid, "write", addr, 4, pasid);
    this.ram.write32(addr, data);
  }

  /** An upstream write of `bytes`, or of a little-endian dword when given a number. */
  dmaWrite(rid: number, addr: number, data: Uint8Array | number, pasid = -1): void {
    if (typeof data === "number") {
      this.dmaWrite32(rid, addr % 2 ** 32, Math.floor(addr / 2 ** 32), data, pasid);
      return;
    }
    if (addr < INTR_WINDOW_HI && addr + data.length > INTR_WINDOW_LO) {
      if (data.length === 4 && addr >= INTR_WINDOW_LO) {
        this.fabric.receive(rid, addr, 0, (data[0]! | (data[1]! << 8) | (data[2]! << 16) | (data[3]! << 24)) >>> 0, pasid);
      } else if (this.sim.trace.on) this.traceDma(rid, "malformed-msi", addr, data.length, pasid);
      return;
    }
    if (this.sim.trace.on) this.traceDma(rid, "write", addr, data.length, pasid);
    this.ram.write(addr, data);
  }

  /** An upstream read. Reads of the interrupt window complete with all-ones. */
  dmaRead(rid: number, addr: number, len: number, pasid = -1): Uint8Array {
    if (this.sim.trace.on) this.traceDma(rid, "read", addr, len, pasid);
    if (addr < INTR_WINDOW_HI && addr + len > INTR_WINDOW_LO) return new Uint8Array(len).fill(0xff);
    return this.ram.read(addr, len);
  }

  private traceDma(rid: number, what: "write" | "read" | "malformed-msi", addr: number, len: number, pasid: number): void {
    if (pasid >= 0) this.sim.trace.emit("hw.dma", { rid, what, addr, len, pasid });
    else this.sim.trace.emit("hw.dma", { rid, what, addr, len });
  }

  // ------------------------------------------------------------ coherent memory

  /**
   * Allocate zeroed DMA-coherent memory: a naturally aligned power-of-two
   * block of pages, as the page allocator behind dma_alloc_coherent() gives.
   * Returns the bus (= physical) address, or null when the pool is exhausted.
   */
  allocCoherent(size: number): number | null {
    if (!(size > 0) || !Number.isSafeInteger(size)) return null;
    const a = this.pool.alloc(size);
    if (a === null) return null;
    this.ram.zero(a, this.pool.sizeOf(a));
    return a;
  }

  /** Size of the coherent block at `addr` (0 if none starts there). */
  coherentSize(addr: number): number {
    return this.pool.sizeOf(addr);
  }

  freeCoherent(addr: number): boolean {
    return this.pool.release(addr);
  }

  get coherentBlocks(): number {
    return this.pool.allocated;
  }
}

export function createPlatform(sim: Sim, opts: PlatformOptions = {}): Platform {
  return new Platform(sim, opts);
}
