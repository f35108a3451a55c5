// SPDX-License-Identifier: GPL-2.0-only
// Host RAM: a sparse physical address space of 4 KiB pages.
//
// Pages are created on first write, so a machine with a 1 TiB address space
// costs only what it touches; never-written memory reads as zero. Multi-byte
// accessors are little-endian (x86); the *be helpers exist because mlx5-style
// devices keep their structures big-endian. 64-bit values are bigint
// everywhere in irqlab's hardware and kernel I/O APIs.

import { SimulatorError } from "../sim/sim.ts";

export const PAGE_SHIFT = 12;
export const PAGE_SIZE = 1 << PAGE_SHIFT;
const PAGE_MASK = PAGE_SIZE - 1;

function checkAddr(addr: number, len: number): void {
  if (!Number.isSafeInteger(addr) || addr < 0 || !Number.isSafeInteger(addr + len)) {
    throw new SimulatorError(`irqlab: RAM access at ${String(addr)} (+${len}) is outside the simulated address space`);
  }
}

export class Ram {
  private readonly pages = new Map<number, DataView>();

  /** Number of pages ever written (for tests of sparseness). */
  get pageCount(): number {
    return this.pages.size;
  }

  private page(addr: number): DataView | undefined {
    return this.pages.get(Math.floor(addr / PAGE_SIZE));
  }

  private pageForWrite(addr: number): DataView {
    const n = Math.floor(addr / PAGE_SIZE);
    let p = this.pages.get(n);
    if (!p) {
      p = new DataView(new ArrayBuffer(PAGE_SIZE));
      this.pages.set(n, p);
    }
    return p;
  }

  /** Does [addr, addr+len) stay inside one page? */
  private static inPage(addr: number, len: number): boolean {
    return (addr & PAGE_MASK) + len <= PAGE_SIZE;
  }

  read8(addr: number): number {
    checkAddr(addr, 1);
    return this.page(addr)?.getUint8(addr & PAGE_MASK) ?? 0;
  }

  write8(addr: number, v: number): void {
    checkAddr(addr, 1);
    this.pageForWrite(addr).setUint8(addr & PAGE_MASK, v & 0xff);
  }

  read16(addr: number): number {
    checkAddr(addr, 2);
    if (Ram.inPage(addr, 2)) return this.page(addr)?.getUint16(addr & PAGE_MASK, true) ?? 0;
    return this.read8(addr) | (this.read8(addr + 1) << 8);
  }

  write16(addr: number, v: number): void {
    checkAddr(addr, 2);
    if (Ram.inPage(addr, 2)) this.pageForWrite(addr).setUint16(addr & PAGE_MASK, v & 0xffff, true);
    else {
      this.write8(addr, v);
      this.write8(addr + 1, v >>> 8);
    }
  }

  read32(addr: number): number {
    checkAddr(addr, 4);
    if (Ram.inPage(addr, 4)) return this.page(addr)?.getUint32(addr & PAGE_MASK, true) ?? 0;
    return (this.read16(addr) | (this.read16(addr + 2) << 16)) >>> 0;
  }

  write32(addr: number, v: number): void {
    checkAddr(addr, 4);
    if (Ram.inPage(addr, 4)) this.pageForWrite(addr).setUint32(addr & PAGE_MASK, v >>> 0, true);
    else {
      this.write16(addr, v & 0xffff);
      this.write16(addr + 2, v >>> 16);
    }
  }

  read64(addr: number): bigint {
    checkAddr(addr, 8);
    if (Ram.inPage(addr, 8)) return this.page(addr)?.getBigUint64(addr & PAGE_MASK, true) ?? 0n;
    return (BigInt(this.read32(addr + 4)) << 32n) | BigInt(this.read32(addr));
  }

  write64(addr: number, v: bigint): void {
    checkAddr(addr, 8);
    const u = BigInt.asUintN(64, v);
    if (Ram.inPage(addr, 8)) this.pageForWrite(addr).setBigUint64(addr & PAGE_MASK, u, true);
    else {
      this.write32(addr, Number(u & 0xffffffffn));
      this.write32(addr + 4, Number(u >> 32n));
    }
  }

  read16be(addr: number): number {
    const v = this.read16(addr);
    return ((v & 0xff) << 8) | (v >>> 8);
  }

  write16be(addr: number, v: number): void {
    this.write16(addr, ((v & 0xff) << 8) | ((v >>> 8) & 0xff));
  }

  read32be(addr: number): number {
    return swab32(this.read32(addr));
  }

  write32be(addr: number, v: number): void {
    this.write32(addr, swab32(v));
  }

  read64be(addr: number): bigint {
    return (BigInt(this.read32be(addr)) << 32n) | BigInt(this.read32be(addr + 4));
  }

  write64be(addr: number, v: bigint): void {
    const u = BigInt.asUintN(64, v);
    this.write32be(addr, Number(u >> 32n));
    this.write32be(addr + 4, Number(u & 0xffffffffn));
  }

  /** Copy `len` bytes out of RAM. */
  read(addr: number, len: number): Uint8Array {
    checkAddr(addr, len);
    const out = new Uint8Array(len);
    let done = 0;
    while (done < len) {
      const a = addr + done;
      const off = a & PAGE_MASK;
      const n = Math.min(len - done, PAGE_SIZE - off);
      const p = this.page(a);
      if (p) out.set(new Uint8Array(p.buffer, off, n), done);
      done += n;
    }
    return out;
  }

  /** Copy `bytes` into RAM at `addr`. */
  write(addr: number, bytes: Uint8Array): void {
    checkAddr(addr, bytes.length);
    let done = 0;
    while (done < bytes.length) {
      const a = addr + done;
      const off = a & PAGE_MASK;
      const n = Math.min(bytes.length - done, PAGE_SIZE - off);
      new Uint8Array(this.pageForWrite(a).buffer, off, n).set(bytes.subarray(done, done + n));
      done += n;
    }
  }

  /** Zero [addr, addr+len); whole pages are dropped rather than stored as zeros. */
  zero(addr: number, len: number): void {
    checkAddr(addr, len);
    let done = 0;
    while (done < len) {
      const a = addr + done;
      const off = a & PAGE_MASK;
      const n = Math.min(len - done, PAGE_SIZE - off);
      if (n === PAGE_SIZE) this.pages.delete(Math.floor(a / PAGE_SIZE));
      else {
        const p = this.page(a);
        if (p) new Uint8Array(p.buffer, off, n).fill(0);
      }
      done += n;
    }
  }
}

/** Byte-swap a 32-bit value. */
export function swab32(v: number): number {
  return (((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | ((v >>> 24) & 0xff)) >>> 0;
}
