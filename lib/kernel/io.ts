// SPDX-License-Identifier: GPL-2.0-only
// arch/x86/include/asm/io.h, lib/iomap.c and include/linux/iopoll.h: MMIO
// accessors, ioremap and the register polling helpers.
//
// An __iomem pointer is a number, the physical address (ioremap is the
// identity). Every access is an instruction boundary, so with interrupts on
// it is an interrupt window. A write is posted: it costs the CPU nothing and
// reaches the device later. A read stalls the CPU for the round trip of the
// address (1 us by default for PCIe, 0 for the local APIC), during which
// hardware events fire and, with interrupts on, this CPU takes interrupts.
// Multi-byte accessors are little-endian; 64-bit values are bigint.
//
// x86 orders MMIO in program order, so the __raw_*, *_relaxed and plain
// accessors behave the same here, as they do on x86 hardware.

import { K, state_accessor } from "./kernel.ts";
import type { Platform } from "../hw/platform.ts";
import type { AccessWidth } from "../hw/mmio.ts";
import { SimulatorError } from "../sim/sim.ts";
import { ETIMEDOUT } from "./errno.ts";
import { cpu_relax, udelay, usleep_range } from "./delay.ts";
import { might_sleep } from "./sched.ts";
import { NSEC_PER_USEC } from "./jiffies.ts";

/** void __iomem *: a physical MMIO address. */
export type iomem = number;

/** The machine's hardware, as the kernel reaches it (irqlab glue). */
const hw_platform_state = state_accessor<Platform>("platform", () => {
    throw new SimulatorError("irqlab: this machine has no hardware platform");
  });
export function hw_platform(): Platform {
  return hw_platform_state();
}

function mmio_read(addr: iomem, width: AccessWidth): number {
  const sim = K.sim;
  const cpu = sim.cur;
  if (cpu.irqsEnabled) sim.window(cpu);
  const mmio = hw_platform().mmio;
  const v = mmio.read(cpu.id, addr, width);
  const ns = mmio.readLatencyNs(addr);
  if (ns > 0) sim.spinFor(ns, "MMIO read");
  return v;
}

function mmio_read64(addr: iomem): bigint {
  const sim = K.sim;
  const cpu = sim.cur;
  if (cpu.irqsEnabled) sim.window(cpu);
  const mmio = hw_platform().mmio;
  const v = mmio.read64(cpu.id, addr);
  const ns = mmio.readLatencyNs(addr);
  if (ns > 0) sim.spinFor(ns, "MMIO read");
  return v;
}

function mmio_write(addr: iomem, v: number, width: AccessWidth): void {
  const sim = K.sim;
  const cpu = sim.cur;
  if (cpu.irqsEnabled) sim.window(cpu);
  hw_platform().mmio.write(cpu.id, addr, v, width);
}

function mmio_write64(addr: iomem, v: bigint): void {
  const sim = K.sim;
  const cpu = sim.cur;
  if (cpu.irqsEnabled) sim.window(cpu);
  hw_platform().mmio.write64(cpu.id, addr, v);
}

// arch/x86/include/asm/io.h: readb()
export function readb(addr: iomem): number {
  return mmio_read(addr, 1);
}
// arch/x86/include/asm/io.h: readw()
export function readw(addr: iomem): number {
  return mmio_read(addr, 2);
}
// arch/x86/include/asm/io.h: readl()
export function readl(addr: iomem): number {
  return mmio_read(addr, 4);
}
// arch/x86/include/asm/io.h: readq()
export function readq(addr: iomem): bigint {
  return mmio_read64(addr);
}
// arch/x86/include/asm/io.h: writeb()
export function writeb(val: number, addr: iomem): void {
  mmio_write(addr, val, 1);
}
// arch/x86/include/asm/io.h: writew()
export function writew(val: number, addr: iomem): void {
  mmio_write(addr, val, 2);
}
// arch/x86/include/asm/io.h: writel()
export function writel(val: number, addr: iomem): void {
  mmio_write(addr, val, 4);
}
// arch/x86/include/asm/io.h: writeq()
export function writeq(val: bigint, addr: iomem): void {
  mmio_write64(addr, val);
}

/* arch/x86/include/asm/io.h: the __raw_* and *_relaxed variants (same code on x86) */
export const __raw_readb = readb;
export const __raw_readw = readw;
export const __raw_readl = readl;
export const __raw_readq = readq;
export const __raw_writeb = writeb;
export const __raw_writew = writew;
export const __raw_writel = writel;
export const __raw_writeq = writeq;
export const readb_relaxed = readb;
export const readw_relaxed = readw;
export const readl_relaxed = readl;
export const readq_relaxed = readq;
export const writeb_relaxed = writeb;
export const writew_relaxed = writew;
export const writel_relaxed = writel;
export const writeq_relaxed = writeq;

/* include/uapi/linux/swab.h and include/linux/byteorder/generic.h (little-endian CPU) */
// include/uapi/linux/swab.h: __swab16()
export function swab16(x: number): number {
  return ((x & 0xff) << 8) | ((x >>> 8) & 0xff);
}
// include/uapi/linux/swab.h: __swab32()
export function swab32(x: number): number {
  return (((x & 0xff) << 24) | ((x & 0xff00) << 8) | ((x >>> 8) & 0xff00) | ((x >>> 24) & 0xff)) >>> 0;
}
// include/uapi/linux/swab.h: __swab64()
export function swab64(x: bigint): bigint {
  let v = BigInt.asUintN(64, x);
  let r = 0n;
  for (let i = 0; i < 8; i++) {
    r = (r << 8n) | (v & 0xffn);
    v >>= 8n;
  }
  return r;
}
export const cpu_to_be16 = swab16;
export const be16_to_cpu = swab16;
export const cpu_to_be32 = swab32;
export const be32_to_cpu = swab32;
export const cpu_to_be64 = swab64;
export const be64_to_cpu = swab64;
export const cpu_to_le32 = (x: number): number => x >>> 0;
export const le32_to_cpu = (x: number): number => x >>> 0;

// lib/iomap.c: ioread8()
export function ioread8(addr: iomem): number {
  return readb(addr);
}
// lib/iomap.c: ioread16()
export function ioread16(addr: iomem): number {
  return readw(addr);
}
// lib/iomap.c: ioread16be()
export function ioread16be(addr: iomem): number {
  return swab16(readw(addr));
}
// lib/iomap.c: ioread32()
export function ioread32(addr: iomem): number {
  return readl(addr);
}
// lib/iomap.c: ioread32be()
export function ioread32be(addr: iomem): number {
  return swab32(readl(addr));
}
// lib/iomap.c: iowrite8()
export function iowrite8(val: number, addr: iomem): void {
  writeb(val, addr);
}
// lib/iomap.c: iowrite16()
export function iowrite16(val: number, addr: iomem): void {
  writew(val, addr);
}
// lib/iomap.c: iowrite16be()
export function iowrite16be(val: number, addr: iomem): void {
  writew(swab16(val), addr);
}
// lib/iomap.c: iowrite32()
export function iowrite32(val: number, addr: iomem): void {
  writel(val, addr);
}
// lib/iomap.c: iowrite32be()
export function iowrite32be(val: number, addr: iomem): void {
  writel(swab32(val), addr);
}

// arch/x86/mm/ioremap.c: ioremap(). Identity: returns the physical address, 0 (NULL) for size 0.
export function ioremap(phys_addr: number, size: number): iomem {
  if (!(size > 0)) return 0;
  return phys_addr;
}
// arch/x86/mm/ioremap.c: ioremap_wc()
export const ioremap_wc = ioremap;
// arch/x86/mm/ioremap.c: ioremap_uc()
export const ioremap_uc = ioremap;
// arch/x86/mm/ioremap.c: iounmap()
export function iounmap(_addr: iomem): void {}

/** What the polling macros leave behind: their return value and the last value read. */
export interface poll_result<T> {
  ret: number;
  val: T;
}

// include/linux/iopoll.h: read_poll_timeout_atomic() on poll_timeout_us_atomic() (6.18)
export function read_poll_timeout_atomic<T>(
  op: () => T,
  cond: (val: T) => boolean,
  delay_us: number,
  timeout_us: number,
  delay_before_read = false,
): poll_result<T> {
  // Time is counted, not read from a clock: the delays plus 1 ns per
  // cpu_relax(), so slow reads stretch the real timeout as they do in Linux.
  let left_ns = timeout_us * NSEC_PER_USEC;
  const delay_ns = delay_us * NSEC_PER_USEC;
  if (delay_before_read && delay_us) {
    udelay(delay_us);
    if (timeout_us) left_ns -= delay_ns;
  }
  for (;;) {
    const expired = timeout_us !== 0 && left_ns < 0;
    const val = op();
    if (cond(val)) return { ret: 0, val };
    if (expired) return { ret: -ETIMEDOUT, val };
    if (delay_us) {
      udelay(delay_us);
      if (timeout_us) left_ns -= delay_ns;
    }
    cpu_relax();
    if (timeout_us) left_ns--;
  }
}

// include/linux/iopoll.h: read_poll_timeout() on poll_timeout_us() (6.18)
export async function read_poll_timeout<T>(
  op: () => T,
  cond: (val: T) => boolean,
  sleep_us: number,
  timeout_us: number,
  sleep_before_read = false,
): Promise<poll_result<T>> {
  const timeout = K.sim.now + timeout_us * NSEC_PER_USEC;
  // might_sleep_if(): a macro, so Linux reports the caller's line; irqlab names the header.
  if (sleep_us) might_sleep("include/linux/iopoll.h", 0);
  if (sleep_before_read && sleep_us) await usleep_range((sleep_us >> 2) + 1, sleep_us);
  for (;;) {
    const expired = timeout_us !== 0 && K.sim.now > timeout;
    const val = op();
    if (cond(val)) return { ret: 0, val };
    if (expired) return { ret: -ETIMEDOUT, val };
    if (sleep_us) await usleep_range((sleep_us >> 2) + 1, sleep_us);
    cpu_relax();
  }
}

// include/linux/iopoll.h: readl_poll_timeout_atomic()
export function readl_poll_timeout_atomic(addr: iomem, cond: (val: number) => boolean, delay_us: number, timeout_us: number): poll_result<number> {
  return read_poll_timeout_atomic(() => readl(addr), cond, delay_us, timeout_us);
}

// include/linux/iopoll.h: readl_poll_timeout()
export function readl_poll_timeout(addr: iomem, cond: (val: number) => boolean, sleep_us: number, timeout_us: number): Promise<poll_result<number>> {
  return read_poll_timeout(() => readl(addr), cond, sleep_us, timeout_us);
}

// include/linux/iopoll.h: readq_poll_timeout_atomic()
export function readq_poll_timeout_atomic(addr: iomem, cond: (val: bigint) => boolean, delay_us: number, timeout_us: number): poll_result<bigint> {
  return read_poll_timeout_atomic(() => readq(addr), cond, delay_us, timeout_us);
}
