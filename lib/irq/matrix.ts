// SPDX-License-Identifier: GPL-2.0-only
// kernel/irq/matrix.c: the per-CPU bitmap allocator of the x86 vector space,
// with managed reservations, a global reservation count, and the
// irq_matrix:* trace events.

import { trace_enabled, trace_event } from "../kernel/tracepoint.ts";
import { EINVAL, ENOSPC } from "../kernel/errno.ts";
import { BUG_ON, WARN_ON_ONCE } from "../kernel/bug.ts";
import { pr_warn } from "../kernel/printk.ts";
import { smp_processor_id } from "../kernel/context.ts";
import { cpumask_empty, cpumask_of, for_each_cpu, nr_cpu_ids, type cpumask } from "../kernel/cpumask.ts";
import type { seq_file } from "./irq.ts";

/** struct cpumap */
export interface cpumap {
  available: number;
  allocated: number;
  managed: number;
  managed_allocated: number;
  initialized: boolean;
  online: boolean;
  managed_map: Uint8Array;
  alloc_map: Uint8Array;
}

/** struct irq_matrix */
export class irq_matrix {
  global_available = 0;
  global_reserved = 0;
  systembits_inalloc = 0;
  total_allocated = 0;
  online_maps = 0;
  readonly maps: cpumap[];
  readonly system_map: Uint8Array;
  readonly alloc_size: number;
  constructor(
    readonly matrix_bits: number,
    readonly alloc_start: number,
    readonly alloc_end: number,
  ) {
    this.alloc_size = alloc_end - alloc_start;
    this.system_map = new Uint8Array(matrix_bits);
    this.maps = Array.from({ length: nr_cpu_ids() }, () => ({
      available: 0,
      allocated: 0,
      managed: 0,
      managed_allocated: 0,
      initialized: false,
      online: false,
      managed_map: new Uint8Array(matrix_bits),
      alloc_map: new Uint8Array(matrix_bits),
    }));
  }
}

// include/trace/events/irq_matrix.h: the irq_matrix_global, _global_update and _cpu classes
function trace(event: string, m: irq_matrix, bit: number, cpu: number, cm: cpumap | null): void {
  if (!trace_enabled()) return;
  const glob = "online_maps=%d global_avl=%u, global_rsvd=%u, total_alloc=%u";
  if (cm) {
    trace_event(
      "irq_matrix",
      event,
      "bit=%d cpu=%u online=%d avl=%u alloc=%u managed=%u online_maps=%u global_avl=%u, global_rsvd=%u, total_alloc=%u",
      bit,
      cpu,
      cm.online ? 1 : 0,
      cm.available,
      cm.allocated,
      cm.managed,
      m.online_maps,
      m.global_available,
      m.global_reserved,
      m.total_allocated,
    );
  } else if (event === "irq_matrix_assign_system") {
    trace_event("irq_matrix", event, "bit=%d " + glob, bit, m.online_maps, m.global_available, m.global_reserved, m.total_allocated);
  } else {
    trace_event("irq_matrix", event, glob, m.online_maps, m.global_available, m.global_reserved, m.total_allocated);
  }
}

// kernel/irq/matrix.c: irq_alloc_matrix()
export function irq_alloc_matrix(matrix_bits: number, alloc_start: number, alloc_end: number): irq_matrix {
  return new irq_matrix(matrix_bits, alloc_start, alloc_end);
}

function this_map(m: irq_matrix): cpumap {
  return m.maps[smp_processor_id()]!;
}

// kernel/irq/matrix.c: irq_matrix_online(): on the CPU coming online
export function irq_matrix_online(m: irq_matrix): void {
  const cm = this_map(m);
  BUG_ON(cm.online, { fn: "irq_matrix_online", file: "kernel/irq/matrix.c" });
  if (!cm.initialized) {
    cm.available = m.alloc_size;
    cm.available -= cm.managed + m.systembits_inalloc;
    cm.initialized = true;
  }
  m.global_available += cm.available;
  cm.online = true;
  m.online_maps++;
  trace("irq_matrix_online", m, 0, smp_processor_id(), null);
}

// kernel/irq/matrix.c: irq_matrix_offline(): on the CPU going offline
export function irq_matrix_offline(m: irq_matrix): void {
  const cm = this_map(m);
  m.global_available -= cm.available;
  cm.online = false;
  m.online_maps--;
  trace("irq_matrix_offline", m, 0, smp_processor_id(), null);
}

// kernel/irq/matrix.c: matrix_alloc_area()
function matrix_alloc_area(m: irq_matrix, cm: cpumap, num: number, managed: boolean): number {
  const end = m.alloc_end;
  for (let start = m.alloc_start; start + num <= end; start++) {
    let free = true;
    for (let i = 0; i < num; i++) {
      const b = start + i;
      if (cm.managed_map[b] || m.system_map[b] || cm.alloc_map[b]) {
        free = false;
        start = b;
        break;
      }
    }
    if (!free) continue;
    for (let i = 0; i < num; i++) {
      if (managed) cm.managed_map[start + i] = 1;
      else cm.alloc_map[start + i] = 1;
    }
    return start;
  }
  return end;
}

// kernel/irq/matrix.c: matrix_find_best_cpu(): the online CPU with the most available vectors
function matrix_find_best_cpu(m: irq_matrix, msk: cpumask): number {
  let best_cpu = -1;
  let maxavl = 0;
  for (const cpu of for_each_cpu(msk)) {
    const cm = m.maps[cpu];
    if (!cm || !cm.online || cm.available <= maxavl) continue;
    best_cpu = cpu;
    maxavl = cm.available;
  }
  return best_cpu;
}

// kernel/irq/matrix.c: matrix_find_best_cpu_managed(): the CPU with the fewest managed allocations
function matrix_find_best_cpu_managed(m: irq_matrix, msk: cpumask): number {
  let best_cpu = -1;
  let allocated = 0xffffffff;
  for (const cpu of for_each_cpu(msk)) {
    const cm = m.maps[cpu];
    if (!cm || !cm.online || cm.managed_allocated > allocated) continue;
    best_cpu = cpu;
    allocated = cm.managed_allocated;
  }
  return best_cpu;
}

// kernel/irq/matrix.c: irq_matrix_assign_system()
// The BUG_ON()s are on purpose: going wrong this early in boot leaves no
// chance to survive.
export function irq_matrix_assign_system(m: irq_matrix, bit: number, replace: boolean): void {
  const cm = this_map(m);
  const at = { fn: "irq_matrix_assign_system", file: "kernel/irq/matrix.c" };
  BUG_ON(bit > m.matrix_bits, at);
  BUG_ON(m.online_maps > 1 || (m.online_maps && !replace), at);
  m.system_map[bit] = 1;
  if (replace) {
    BUG_ON(!cm.alloc_map[bit], at);
    cm.alloc_map[bit] = 0;
    cm.allocated--;
    m.total_allocated--;
  }
  if (bit >= m.alloc_start && bit < m.alloc_end) m.systembits_inalloc++;
  trace("irq_matrix_assign_system", m, bit, smp_processor_id(), null);
}

// kernel/irq/matrix.c: irq_matrix_reserve_managed(): one bit on every CPU of
// @msk, offline ones included; not necessarily at the same offset
export function irq_matrix_reserve_managed(m: irq_matrix, msk: cpumask): number {
  let failed_cpu = -1;
  for (const cpu of for_each_cpu(msk)) {
    const cm = m.maps[cpu]!;
    const bit = matrix_alloc_area(m, cm, 1, true);
    if (bit >= m.alloc_end) {
      failed_cpu = cpu;
      break;
    }
    cm.managed++;
    if (cm.online) {
      cm.available--;
      m.global_available--;
    }
    trace("irq_matrix_reserve_managed", m, bit, cpu, cm);
  }
  if (failed_cpu < 0) return 0;
  // cleanup: the CPUs before the failing one give a managed bit back (the
  // first one not allocated, which need not be the one just reserved)
  for (const cpu of for_each_cpu(msk)) {
    if (cpu === failed_cpu) break;
    irq_matrix_remove_managed(m, cpumask_of(cpu));
  }
  return -ENOSPC;
}

// kernel/irq/matrix.c: irq_matrix_remove_managed()
export function irq_matrix_remove_managed(m: irq_matrix, msk: cpumask): void {
  for (const cpu of for_each_cpu(msk)) {
    const cm = m.maps[cpu]!;
    if (WARN_ON_ONCE(!cm.managed, { fn: "irq_matrix_remove_managed" })) continue;
    // Find a managed vector which is not allocated
    let bit = m.alloc_end;
    for (let b = m.alloc_start; b < m.alloc_end; b++) {
      if (cm.managed_map[b] && !cm.alloc_map[b]) {
        bit = b;
        break;
      }
    }
    if (WARN_ON_ONCE(bit >= m.alloc_end, { fn: "irq_matrix_remove_managed", line: 2 })) continue;
    cm.managed_map[bit] = 0;
    cm.managed--;
    if (cm.online) {
      cm.available++;
      m.global_available++;
    }
    trace("irq_matrix_remove_managed", m, bit, cpu, cm);
  }
}

// kernel/irq/matrix.c: irq_matrix_alloc_managed()
export function irq_matrix_alloc_managed(m: irq_matrix, msk: cpumask, out: { cpu: number }): number {
  if (cpumask_empty(msk)) return -EINVAL;
  const cpu = matrix_find_best_cpu_managed(m, msk);
  if (cpu < 0) return -ENOSPC;
  const cm = m.maps[cpu]!;
  let bit = m.alloc_end;
  for (let b = m.alloc_start; b < m.alloc_end; b++) {
    if (cm.managed_map[b] && !cm.alloc_map[b]) {
      bit = b;
      break;
    }
  }
  if (bit >= m.alloc_end) return -ENOSPC;
  cm.alloc_map[bit] = 1;
  cm.allocated++;
  cm.managed_allocated++;
  m.total_allocated++;
  out.cpu = cpu;
  trace("irq_matrix_alloc_managed", m, bit, cpu, cm);
  return bit;
}

// kernel/irq/matrix.c: irq_matrix_assign(): a fixed vector on this CPU
export function irq_matrix_assign(m: irq_matrix, bit: number): void {
  const cm = this_map(m);
  if (WARN_ON_ONCE(bit < m.alloc_start || bit >= m.alloc_end, { fn: "irq_matrix_assign" })) return;
  if (WARN_ON_ONCE(cm.alloc_map[bit] === 1, { fn: "irq_matrix_assign", line: 2 })) return;
  cm.alloc_map[bit] = 1;
  cm.allocated++;
  m.total_allocated++;
  cm.available--;
  m.global_available--;
  trace("irq_matrix_assign", m, bit, smp_processor_id(), cm);
}

// kernel/irq/matrix.c: irq_matrix_reserve(): a global reservation (reservation mode)
export function irq_matrix_reserve(m: irq_matrix): void {
  if (m.global_reserved === m.global_available) pr_warn("Interrupt reservation exceeds available resources\n");
  m.global_reserved++;
  trace("irq_matrix_reserve", m, 0, smp_processor_id(), null);
}

// kernel/irq/matrix.c: irq_matrix_remove_reserved()
export function irq_matrix_remove_reserved(m: irq_matrix): void {
  m.global_reserved--;
  trace("irq_matrix_remove_reserved", m, 0, smp_processor_id(), null);
}

// kernel/irq/matrix.c: irq_matrix_alloc()
export function irq_matrix_alloc(m: irq_matrix, msk: cpumask, reserved: boolean, out: { cpu: number }): number {
  // Not required in theory, but matrix_find_best_cpu() uses for_each_cpu()
  // which ignores the cpumask on UP.
  if (cpumask_empty(msk)) return -EINVAL;
  const cpu = matrix_find_best_cpu(m, msk);
  if (cpu < 0) return -ENOSPC;
  const cm = m.maps[cpu]!;
  const bit = matrix_alloc_area(m, cm, 1, false);
  if (bit < m.alloc_end) {
    cm.allocated++;
    cm.available--;
    m.total_allocated++;
    m.global_available--;
    if (reserved) m.global_reserved--;
    out.cpu = cpu;
    trace("irq_matrix_alloc", m, bit, cpu, cm);
    return bit;
  }
  return -ENOSPC;
}

// kernel/irq/matrix.c: irq_matrix_free()
export function irq_matrix_free(m: irq_matrix, cpu: number, bit: number, managed: boolean): void {
  const cm = m.maps[cpu]!;
  if (WARN_ON_ONCE(bit < m.alloc_start || bit >= m.alloc_end, { fn: "irq_matrix_free" })) return;
  if (WARN_ON_ONCE(!cm.alloc_map[bit], { fn: "irq_matrix_free", line: 2 })) return;
  cm.alloc_map[bit] = 0;
  cm.allocated--;
  if (managed) cm.managed_allocated--;
  if (cm.online) m.total_allocated--;
  if (!managed) {
    cm.available++;
    if (cm.online) m.global_available++;
  }
  trace("irq_matrix_free", m, bit, cpu, cm);
}

// kernel/irq/matrix.c: irq_matrix_available()
export function irq_matrix_available(m: irq_matrix, cpudown: boolean): number {
  const cm = this_map(m);
  if (!cpudown) return m.global_available;
  return m.global_available - cm.available;
}

export function irq_matrix_reserved(m: irq_matrix): number {
  return m.global_reserved;
}

// kernel/irq/matrix.c: irq_matrix_allocated()
export function irq_matrix_allocated(m: irq_matrix): number {
  const cm = this_map(m);
  return cm.allocated - cm.managed_allocated;
}

// kernel/irq/matrix.c: irq_matrix_debug_show()
export function irq_matrix_debug_show(sf: seq_file, m: irq_matrix, ind: number): void {
  const nsys = m.system_map.reduce((a, b) => a + b, 0);
  sf.printf("Online bitmaps:   %6u\n", m.online_maps);
  sf.printf("Global available: %6u\n", m.global_available);
  sf.printf("Global reserved:  %6u\n", m.global_reserved);
  sf.printf("Total allocated:  %6u\n", m.total_allocated);
  sf.printf("System: %u: %s\n", nsys, bitmap_list_bytes(m.system_map));
  sf.printf("%*s| CPU | avl | man | mac | act | vectors\n", ind, " ");
  for (let cpu = 0; cpu < m.maps.length; cpu++) {
    const cm = m.maps[cpu]!;
    if (!cm.online) continue;
    sf.printf("%*s %4d  %4u  %4u  %4u %4u  %s\n", ind, " ", cpu, cm.available, cm.managed, cm.managed_allocated, cm.allocated, bitmap_list_bytes(cm.alloc_map));
  }
}

function bitmap_list_bytes(b: Uint8Array): string {
  const parts: string[] = [];
  for (let i = 0; i < b.length; i++) {
    if (!b[i]) continue;
    let j = i;
    while (j + 1 < b.length && b[j + 1]) j++;
    parts.push(i === j ? String(i) : `${i}-${j}`);
    i = j;
  }
  return parts.join(",");
}

