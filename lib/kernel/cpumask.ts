// SPDX-License-Identifier: GPL-2.0-only
// include/linux/cpumask.h and lib/cpumask.c: CPU masks.
//
// A cpumask holds nr_cpu_ids bits. The usual operations have their kernel
// names and argument order (destination first).

import { K, state_accessor } from "./kernel.ts";
import { bitmap_hex, bitmap_list, type Bitmap } from "./vsprintf.ts";
import { EINVAL, EOVERFLOW } from "./errno.ts";

export class cpumask implements Bitmap {
  /**
   * The mask's 32-bit words, least significant CPU first, held as int32
   * (what JavaScript's bit operators produce). CPUs 0-31 are in `w0`, a
   * field of the object; only a mask of more than 32 CPUs carries an array
   * for the words above it. Every interrupt descriptor holds two masks
   * (affinity, effective affinity), and an array of one word would cost
   * twice the mask itself (P2, docs/performance.md).
   */
  w0 = 0;
  /** Words 1.. (CPUs 32 and up); null on a machine of up to 32 CPUs. */
  readonly hi: number[] | null;
  constructor(readonly nbits: number = nr_cpu_ids()) {
    this.hi = nbits > 32 ? new Array<number>(Math.ceil(nbits / 32) - 1).fill(0) : null;
  }
  /** Number of 32-bit words. */
  get nwords(): number {
    return this.hi ? this.hi.length + 1 : 1;
  }
  /** Word `i` (0 beyond the mask). */
  word(i: number): number {
    return i === 0 ? this.w0 : (this.hi?.[i - 1] ?? 0);
  }
  setWord(i: number, v: number): void {
    if (i === 0) this.w0 = v;
    else if (this.hi && i <= this.hi.length) this.hi[i - 1] = v;
  }
  test(cpu: number): boolean {
    return cpu >= 0 && cpu < this.nbits && (this.word(cpu >>> 5) & (1 << (cpu & 31))) !== 0;
  }
  /** "0-3,8", for diagnostics. */
  toString(): string {
    return bitmap_list(this, this.nbits);
  }
}

export type cpumask_var_t = cpumask;

export function nr_cpu_ids(): number {
  return K.sim.cpus.length;
}

export function zalloc_cpumask_var(): cpumask {
  return new cpumask();
}
export const alloc_cpumask_var = zalloc_cpumask_var;

export function cpumask_set_cpu(cpu: number, m: cpumask): void {
  if (cpu >= 0 && cpu < m.nbits) m.setWord(cpu >>> 5, m.word(cpu >>> 5) | (1 << (cpu & 31)));
}
export function cpumask_clear_cpu(cpu: number, m: cpumask): void {
  if (cpu >= 0 && cpu < m.nbits) m.setWord(cpu >>> 5, m.word(cpu >>> 5) & ~(1 << (cpu & 31)));
}
export function cpumask_test_cpu(cpu: number, m: cpumask): boolean {
  return m.test(cpu);
}
export function cpumask_clear(m: cpumask): void {
  m.w0 = 0;
  m.hi?.fill(0);
}
export function cpumask_setall(m: cpumask): void {
  for (let i = 0; i < m.nbits; i++) cpumask_set_cpu(i, m);
}
export function cpumask_copy(dst: cpumask, src: cpumask): void {
  const n = Math.min(dst.nwords, src.nwords);
  for (let i = 0; i < n; i++) dst.setWord(i, src.word(i));
}
/** Returns true if the result is non-empty. */
export function cpumask_and(dst: cpumask, a: cpumask, b: cpumask): boolean {
  let any = 0;
  for (let i = 0; i < dst.nwords; i++) {
    const w = a.word(i) & b.word(i);
    dst.setWord(i, w);
    any |= w;
  }
  return any !== 0;
}
export function cpumask_or(dst: cpumask, a: cpumask, b: cpumask): void {
  for (let i = 0; i < dst.nwords; i++) dst.setWord(i, a.word(i) | b.word(i));
}
export function cpumask_andnot(dst: cpumask, a: cpumask, b: cpumask): boolean {
  let any = 0;
  for (let i = 0; i < dst.nwords; i++) {
    const w = a.word(i) & ~b.word(i);
    dst.setWord(i, w);
    any |= w;
  }
  return any !== 0;
}
export function cpumask_empty(m: cpumask): boolean {
  for (let i = 0; i < m.nwords; i++) if (m.word(i) !== 0) return false;
  return true;
}
export function cpumask_equal(a: cpumask, b: cpumask): boolean {
  for (let i = 0; i < Math.max(a.nwords, b.nwords); i++) if (a.word(i) !== b.word(i)) return false;
  return true;
}
export function cpumask_intersects(a: cpumask, b: cpumask): boolean {
  for (let i = 0; i < a.nwords; i++) if ((a.word(i) & b.word(i)) !== 0) return true;
  return false;
}
export function cpumask_subset(a: cpumask, b: cpumask): boolean {
  for (let i = 0; i < a.nwords; i++) if ((a.word(i) & ~b.word(i)) !== 0) return false;
  return true;
}
export function cpumask_weight(m: cpumask): number {
  let n = 0;
  for (let i = 0; i < m.nbits; i++) if (m.test(i)) n++;
  return n;
}
/** First set CPU, or nr_cpu_ids when empty. */
export function cpumask_first(m: cpumask): number {
  for (let i = 0; i < m.nbits; i++) if (m.test(i)) return i;
  return m.nbits;
}
/** Next set CPU after `n` (n = -1 for the first), or nr_cpu_ids. */
export function cpumask_next(n: number, m: cpumask): number {
  for (let i = n + 1; i < m.nbits; i++) if (m.test(i)) return i;
  return m.nbits;
}
export function cpumask_first_and(a: cpumask, b: cpumask): number {
  for (let i = 0; i < a.nbits; i++) if (a.test(i) && b.test(i)) return i;
  return a.nbits;
}
export const cpumask_any = cpumask_first;
export const cpumask_any_and = cpumask_first_and;
export function cpumask_last(m: cpumask): number {
  for (let i = m.nbits - 1; i >= 0; i--) if (m.test(i)) return i;
  return m.nbits;
}
/** for_each_cpu(cpu, mask) */
export function* for_each_cpu(m: cpumask): Generator<number> {
  for (let i = 0; i < m.nbits; i++) if (m.test(i)) yield i;
}

/** cpumask_of(cpu): a mask with only `cpu` set. */
export function cpumask_of(cpu: number): cpumask {
  const m = new cpumask();
  cpumask_set_cpu(cpu, m);
  return m;
}

/** A mask of the listed CPUs (irqlab convenience for tests). */
export function cpumask_from(cpus: Iterable<number>): cpumask {
  const m = new cpumask();
  for (const c of cpus) cpumask_set_cpu(c, m);
  return m;
}

interface Masks {
  online: cpumask;
  possible: cpumask;
  present: cpumask;
  active: cpumask;
}

const masks_state = state_accessor("cpumasks", () => {
  const all = new cpumask();
  cpumask_setall(all);
  const online = new cpumask();
  const present = new cpumask();
  const active = new cpumask();
  cpumask_copy(online, all);
  cpumask_copy(present, all);
  cpumask_copy(active, all);
  return { online, possible: all, present, active };
});
function masks(): Masks {
  return masks_state();
}

export function cpu_online_mask(): cpumask {
  return masks().online;
}
export function cpu_possible_mask(): cpumask {
  return masks().possible;
}
export function cpu_present_mask(): cpumask {
  return masks().present;
}
export function cpu_active_mask(): cpumask {
  return masks().active;
}
export function cpu_online(cpu: number): boolean {
  return masks().online.test(cpu);
}
export function num_online_cpus(): number {
  return cpumask_weight(masks().online);
}

/** Set a CPU's online bit (the hotplug machinery does this). */
export function set_cpu_online(cpu: number, online: boolean): void {
  if (online) cpumask_set_cpu(cpu, masks().online);
  else cpumask_clear_cpu(cpu, masks().online);
  K.sim.cpus[cpu]!.online = online;
}

export function set_cpu_active(cpu: number, active: boolean): void {
  if (active) cpumask_set_cpu(cpu, masks().active);
  else cpumask_clear_cpu(cpu, masks().active);
}

/** include/linux/topology.h: cpu_to_node(): irqlab has one NUMA node, node 0. */
export function cpu_to_node(_cpu: number): number {
  return 0;
}

/** cpumask_local_spread(i, node): the i-th online CPU, wrapping (single NUMA node). */
export function cpumask_local_spread(i: number, _node: number): number {
  const online = [...for_each_cpu(masks().online)];
  return online[i % online.length] ?? 0;
}

/** "%*pb" text of a mask. */
export function cpumask_pr_hex(m: cpumask): string {
  return bitmap_hex(m, m.nbits);
}

/** "%*pbl" text of a mask. */
export function cpumask_pr_list(m: cpumask): string {
  return bitmap_list(m, m.nbits);
}

// lib/bitmap-str.c: bitmap_parse() (hex, comma-separated 32-bit groups)
export function cpumask_parse(buf: string, dst: cpumask): number {
  const s = buf.trim();
  if (s.length === 0) return -EINVAL;
  const groups = s.split(",");
  const tmp = new cpumask(dst.nbits);
  let bit = 0;
  for (let g = groups.length - 1; g >= 0; g--, bit += 32) {
    const grp = groups[g]!;
    if (!/^[0-9a-fA-F]{1,8}$/.test(grp)) return -EINVAL;
    const v = parseInt(grp, 16);
    for (let b = 0; b < 32; b++) {
      if (v & (1 << b)) {
        if (bit + b >= dst.nbits) return -EOVERFLOW;
        cpumask_set_cpu(bit + b, tmp);
      }
    }
  }
  cpumask_copy(dst, tmp);
  return 0;
}

// lib/bitmap-str.c: bitmap_parselist() ("0-3,8", with optional ":used/group" not supported)
export function cpulist_parse(buf: string, dst: cpumask): number {
  const s = buf.trim();
  const tmp = new cpumask(dst.nbits);
  if (s.length > 0) {
    for (const part of s.split(",")) {
      const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
      if (!m) return -EINVAL;
      const a = Number(m[1]);
      const b = m[2] !== undefined ? Number(m[2]) : a;
      if (b < a) return -EINVAL;
      if (b >= dst.nbits) return -ERANGE_CPULIST;
      for (let c = a; c <= b; c++) cpumask_set_cpu(c, tmp);
    }
  }
  cpumask_copy(dst, tmp);
  return 0;
}

/** bitmap_parselist() reports an out-of-range CPU with -ERANGE. */
const ERANGE_CPULIST = 34;
