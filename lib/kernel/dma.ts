// SPDX-License-Identifier: GPL-2.0-only
// include/linux/dma-mapping.h and kernel/dma/mapping.c: coherent DMA memory;
// arch/x86/include/asm/barrier.h: the memory barriers; include/linux/gfp_types.h.
//
// dma_alloc_coherent() returns the CPU's view of the buffer (C's void *) as
// an object with typed accessors at byte offsets, and its bus address in
// `dma_handle`. There is no IOMMU DMA translation: bus address = physical.
// The simulator executes one access at a time, in program order, and devices
// see RAM at once: it is sequentially consistent, so the barriers compile to
// nothing. They are kept so that code reads, and translates, like C.

import type { Ram } from "../hw/ram.ts";
import { SimulatorError } from "../sim/sim.ts";
import { hw_platform } from "./io.ts";
import { might_sleep } from "./sched.ts";
import { WARN } from "./bug.ts";

/* include/linux/gfp_types.h (bit positions of the ___GFP_*_BIT enum) */
export type gfp_t = number;
export const __GFP_HIGH = 0x20;
export const __GFP_IO = 0x40;
export const __GFP_FS = 0x80;
export const __GFP_ZERO = 0x100;
export const __GFP_DIRECT_RECLAIM = 0x400;
export const __GFP_KSWAPD_RECLAIM = 0x800;
export const __GFP_NOWARN = 0x2000;
export const __GFP_RECLAIM = __GFP_DIRECT_RECLAIM | __GFP_KSWAPD_RECLAIM;
export const GFP_ATOMIC = __GFP_HIGH | __GFP_KSWAPD_RECLAIM;
export const GFP_KERNEL = __GFP_RECLAIM | __GFP_IO | __GFP_FS;
export const GFP_NOWAIT = __GFP_KSWAPD_RECLAIM | __GFP_NOWARN;
export const GFP_NOIO = __GFP_RECLAIM;

// include/linux/gfp.h: gfpflags_allow_blocking()
export function gfpflags_allow_blocking(gfp_flags: gfp_t): boolean {
  return (gfp_flags & __GFP_DIRECT_RECLAIM) !== 0;
}

export type dma_addr_t = number;

/** Who asks for DMA memory; only used to name the device in dma-debug reports. */
export interface dma_device_like {
  readonly init_name?: string;
  readonly driver_name?: string;
}

/**
 * The CPU's view of a coherent buffer. Accesses outside it, or after it was
 * freed, throw: in C they would corrupt memory (KASAN's territory), and a
 * prototype should stop at the first one.
 */
export class DmaCoherentBuffer {
  freed = false;

  constructor(
    private readonly ram: Ram,
    readonly dma_handle: dma_addr_t,
    readonly size: number,
  ) {}

  private at(off: number, len: number): number {
    if (this.freed) throw new SimulatorError(`irqlab: use of DMA-coherent buffer 0x${this.dma_handle.toString(16)} after dma_free_coherent()`);
    if (!Number.isInteger(off) || off < 0 || off + len > this.size) {
      throw new SimulatorError(`irqlab: out-of-bounds access at offset ${String(off)} (+${len}) of a ${this.size}-byte DMA-coherent buffer`);
    }
    return this.dma_handle + off;
  }

  u8(off: number): number {
    return this.ram.read8(this.at(off, 1));
  }
  set_u8(off: number, v: number): void {
    this.ram.write8(this.at(off, 1), v);
  }
  le16(off: number): number {
    return this.ram.read16(this.at(off, 2));
  }
  set_le16(off: number, v: number): void {
    this.ram.write16(this.at(off, 2), v);
  }
  le32(off: number): number {
    return this.ram.read32(this.at(off, 4));
  }
  set_le32(off: number, v: number): void {
    this.ram.write32(this.at(off, 4), v);
  }
  le64(off: number): bigint {
    return this.ram.read64(this.at(off, 8));
  }
  set_le64(off: number, v: bigint): void {
    this.ram.write64(this.at(off, 8), v);
  }
  be16(off: number): number {
    return this.ram.read16be(this.at(off, 2));
  }
  set_be16(off: number, v: number): void {
    this.ram.write16be(this.at(off, 2), v);
  }
  be32(off: number): number {
    return this.ram.read32be(this.at(off, 4));
  }
  set_be32(off: number, v: number): void {
    this.ram.write32be(this.at(off, 4), v);
  }
  be64(off: number): bigint {
    return this.ram.read64be(this.at(off, 8));
  }
  set_be64(off: number, v: bigint): void {
    this.ram.write64be(this.at(off, 8), v);
  }
  /** memcpy() out of the buffer. */
  read(off: number, len: number): Uint8Array {
    return this.ram.read(this.at(off, len), len);
  }
  /** memcpy() into the buffer. */
  write(off: number, bytes: Uint8Array): void {
    this.ram.write(this.at(off, bytes.length), bytes);
  }
  /** memset(p + off, 0, len) */
  zero(off: number, len: number): void {
    this.ram.zero(this.at(off, len), len);
  }
}

function dev_strings(dev: dma_device_like | null): [string, string] {
  return dev ? [dev.driver_name ?? "NULL", dev.init_name ?? "NULL"] : ["NULL", "NULL"];
}

// kernel/dma/mapping.c: dma_alloc_attrs() via dma_alloc_coherent(); returns null on failure
export function dma_alloc_coherent(dev: dma_device_like | null, size: number, gfp: gfp_t): DmaCoherentBuffer | null {
  // include/linux/sched/mm.h: might_alloc()
  if (gfpflags_allow_blocking(gfp)) might_sleep("include/linux/sched/mm.h", 0);
  if (!(size > 0)) return null;
  const p = hw_platform();
  const addr = p.allocCoherent(size);
  if (addr === null) return null;
  return new DmaCoherentBuffer(p.ram, addr, size);
}

// kernel/dma/mapping.c: dma_free_attrs() via dma_free_coherent(), with CONFIG_DMA_API_DEBUG's checks
export function dma_free_coherent(dev: dma_device_like | null, size: number, cpu_addr: DmaCoherentBuffer | null, dma_handle: dma_addr_t): void {
  if (!cpu_addr) return;
  const p = hw_platform();
  const [drv, name] = dev_strings(dev);
  // kernel/dma/debug.c: check_unmap()
  if (cpu_addr.freed || cpu_addr.dma_handle !== dma_handle || p.coherentSize(dma_handle) === 0) {
    WARN(
      1,
      "DMA-API: %s %s: device driver tries to free DMA memory it has not allocated [device address=0x%016llx] [size=%llu bytes]\n",
      drv,
      name,
      dma_handle,
      size,
    );
    return;
  }
  if (size !== cpu_addr.size) {
    WARN(
      1,
      "DMA-API: %s %s: device driver frees DMA memory with different size [device address=0x%016llx] [map size=%llu bytes] [unmap size=%llu bytes]\n",
      drv,
      name,
      dma_handle,
      cpu_addr.size,
      size,
    );
  }
  p.freeCoherent(dma_handle);
  cpu_addr.freed = true;
}

/* arch/x86/include/asm/barrier.h: no-ops on a sequentially consistent simulator */
// arch/x86/include/asm/barrier.h: mb()
export function mb(): void {}
// arch/x86/include/asm/barrier.h: rmb()
export function rmb(): void {}
// arch/x86/include/asm/barrier.h: wmb()
export function wmb(): void {}
// arch/x86/include/asm/barrier.h: dma_rmb()
export function dma_rmb(): void {}
// arch/x86/include/asm/barrier.h: dma_wmb()
export function dma_wmb(): void {}
// include/asm-generic/barrier.h: smp_mb()
export function smp_mb(): void {}
// include/asm-generic/barrier.h: smp_rmb()
export function smp_rmb(): void {}
// include/asm-generic/barrier.h: smp_wmb()
export function smp_wmb(): void {}
