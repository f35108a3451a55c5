// SPDX-License-Identifier: GPL-2.0-only
// kernel/irq/proc.c: /proc/interrupts in the v6.11..v6.1x generation that
// Linux 6.18 has (C62), /proc/irq/<N>/ (C64, C65) with the affinity writes
// (C66), and /proc/irq/default_smp_affinity. Which /proc/irq/<N>
// directories exist is decided by proc_hooks.ts (register_irq_proc()).
//
// Reads return the whole text of a file; writes return what write(2) would:
// the byte count or a negative errno. irqlab's reader is root, whose
// writes pass the permission check of any mode; a file without a write
// method then fails with -EIO as procfs does.

import { K } from "../kernel/kernel.ts";
import { EINVAL, EIO, ENOENT, EPERM } from "../kernel/errno.ts";
import { raw_spin_lock_irq, raw_spin_unlock_irq } from "../kernel/spinlock.ts";
import { seq_file, seq_printf, seq_putc, seq_put_decimal_ull_width } from "../kernel/seq_file.ts";
import {
  cpumask,
  cpumask_copy,
  cpumask_intersects,
  cpumask_parse,
  cpulist_parse,
  cpu_online_mask,
  for_each_cpu,
  nr_cpu_ids,
} from "../kernel/cpumask.ts";
import { jiffies_to_msecs } from "../kernel/jiffies.ts";
import { irqd_is_setaffinity_pending } from "./irq.ts";
import { irq_settings_is_hidden } from "./internals.ts";
import { irq_desc_is_chained, irq_to_desc, nr_irqs, type irq_desc } from "./irqdesc.ts";
import { irq_can_set_affinity_usr, irq_default_affinity, irq_set_affinity } from "./manage_affinity.ts";
import { proc_handler_dirs } from "./proc_hooks.ts";

/** arch_show_interrupts(p, prec): the architecture's rows after the last irq (x86: NMI, LOC, ...). */
export type arch_show_interrupts_t = (p: seq_file, prec: number) => number;

interface ProcState {
  arch_show_interrupts: arch_show_interrupts_t;
}

function ps(): ProcState {
  // kernel/irq/proc.c: the __weak default adds nothing
  return K.state("irq_proc", () => ({ arch_show_interrupts: () => 0 }));
}

/** Install this machine's arch_show_interrupts() (the arch code does, at boot). */
export function set_arch_show_interrupts(fn: arch_show_interrupts_t): void {
  ps().arch_show_interrupts = fn;
}

/** `no_irq_affinity`: set by architectures that cannot route interrupts; never on x86. */
const no_irq_affinity = 0;

/* ---------------------------------------------------------- /proc/interrupts (C62) */

// kernel/irq/proc.c: show_interrupts() for one row
function show_irq_row(p: seq_file, desc: irq_desc, i: number, prec: number): void {
  if (irq_settings_is_hidden(desc)) return;
  if (!desc.action || irq_desc_is_chained(desc)) return;
  seq_printf(p, "%*d:", prec, i);
  for (const j of for_each_cpu(cpu_online_mask())) seq_put_decimal_ull_width(p, " ", desc.kstat_irqs[j] ?? 0, 10);
  seq_putc(p, " ");
  raw_spin_lock_irq(desc.lock);
  const data = desc.irq_data;
  const chip = data.chip as typeof data.chip | null;
  if (chip) {
    if (chip.irq_print_chip) chip.irq_print_chip(data, p);
    else if (chip.name !== null && chip.name !== undefined) seq_printf(p, "%8s", chip.name);
    else seq_printf(p, "%8s", "-");
  } else {
    seq_printf(p, "%8s", "None");
  }
  if (data.domain) seq_printf(p, " %*lu", prec, data.hwirq);
  else seq_printf(p, " %*s", prec, "");
  if (desc.name) seq_printf(p, "-%-8s", desc.name);
  const action = desc.action;
  if (action) {
    seq_printf(p, "  %s", action.name);
    for (let a = action.next; a; a = a.next) seq_printf(p, ", %s", a.name);
  }
  seq_putc(p, "\n");
  raw_spin_unlock_irq(desc.lock);
}

// kernel/irq/proc.c: show_interrupts() over the whole seq_file walk 0..ACTUAL_NR_IRQS
export function show_interrupts(): string {
  const p = new seq_file();
  const n = nr_irqs();
  // print header and calculate the width of the first column
  let prec = 3;
  for (let j = 1000; prec < 10 && j <= n; ++prec) j *= 10;
  seq_printf(p, "%*s", prec + 8, "");
  for (const j of for_each_cpu(cpu_online_mask())) seq_printf(p, "CPU%-8d", j);
  seq_putc(p, "\n");
  for (let i = 0; i < n; i++) {
    const desc = irq_to_desc(i);
    if (desc) show_irq_row(p, desc, i, prec);
  }
  ps().arch_show_interrupts(p, prec);
  return p.buf;
}

/* ---------------------------------------------------------- /proc/irq/<N>/ (C64, C65) */

/** The files of /proc/irq/<N> (SMP, GENERIC_IRQ_EFFECTIVE_AFF_MASK), in creation order. */
export const proc_irq_files = [
  "smp_affinity",
  "affinity_hint",
  "smp_affinity_list",
  "node",
  "effective_affinity",
  "effective_affinity_list",
  "spurious",
] as const;

const AFFINITY = 0;
const AFFINITY_LIST = 1;
const EFFECTIVE = 2;
const EFFECTIVE_LIST = 3;

function proc_desc(irq: number): irq_desc | null {
  const desc = irq_to_desc(irq);
  return desc && desc.dir ? desc : null;
}

// kernel/irq/proc.c: show_irq_affinity(): a pending move shows its target
function show_irq_affinity(type: number, m: seq_file, desc: irq_desc): void {
  raw_spin_lock_irq(desc.lock);
  let mask: cpumask;
  if (type === AFFINITY || type === AFFINITY_LIST) {
    mask = desc.irq_common_data.affinity;
    if (irqd_is_setaffinity_pending(desc.irq_data)) mask = desc.pending_mask;
  } else {
    mask = desc.irq_common_data.effective_affinity;
  }
  if (type === AFFINITY_LIST || type === EFFECTIVE_LIST) seq_printf(m, "%*pbl\n", nr_cpu_ids(), mask);
  else seq_printf(m, "%*pb\n", nr_cpu_ids(), mask);
  raw_spin_unlock_irq(desc.lock);
}

// kernel/irq/proc.c: irq_affinity_hint_proc_show()
function irq_affinity_hint_proc_show(m: seq_file, desc: irq_desc): void {
  const mask = new cpumask(nr_cpu_ids());
  raw_spin_lock_irq(desc.lock);
  if (desc.affinity_hint) cpumask_copy(mask, desc.affinity_hint);
  raw_spin_unlock_irq(desc.lock);
  seq_printf(m, "%*pb\n", nr_cpu_ids(), mask);
}

// kernel/irq/proc.c: irq_spurious_proc_show()
function irq_spurious_proc_show(m: seq_file, desc: irq_desc): void {
  seq_printf(m, "count %u\nunhandled %u\nlast_unhandled %u ms\n", desc.irq_count, desc.irqs_unhandled, jiffies_to_msecs(desc.last_unhandled));
}

/** The text of /proc/irq/<irq>/<file>, or null when the file does not exist. */
export function proc_irq_read(irq: number, file: string): string | null {
  const desc = proc_desc(irq);
  if (!desc) return null;
  const m = new seq_file(irq);
  switch (file) {
    case "smp_affinity":
      show_irq_affinity(AFFINITY, m, desc);
      break;
    case "smp_affinity_list":
      show_irq_affinity(AFFINITY_LIST, m, desc);
      break;
    case "effective_affinity":
      show_irq_affinity(EFFECTIVE, m, desc);
      break;
    case "effective_affinity_list":
      show_irq_affinity(EFFECTIVE_LIST, m, desc);
      break;
    case "affinity_hint":
      irq_affinity_hint_proc_show(m, desc);
      break;
    case "node":
      // kernel/irq/proc.c: irq_node_proc_show()
      seq_printf(m, "%d\n", desc.irq_common_data.node);
      break;
    case "spurious":
      irq_spurious_proc_show(m, desc);
      break;
    default:
      return null;
  }
  return m.buf;
}

/** The entries of /proc/irq/<irq>: its files and one directory per named action; null without the directory. */
export function proc_irq_entries(irq: number): string[] | null {
  const desc = proc_desc(irq);
  if (!desc) return null;
  return [...proc_irq_files, ...proc_handler_dirs(desc)];
}

function byte_count(buf: string): number {
  return new TextEncoder().encode(buf).length;
}

// kernel/irq/proc.c: write_irq_affinity() (C66)
function write_irq_affinity(type: number, irq: number, buf: string): number {
  const count = byte_count(buf);
  if (!irq_can_set_affinity_usr(irq) || no_irq_affinity) return -EPERM;
  const new_value = new cpumask(nr_cpu_ids());
  const err = type ? cpulist_parse(buf, new_value) : cpumask_parse(buf, new_value);
  if (err) return err;
  // Do not allow disabling IRQs completely - it's a too easy way to make
  // the system unusable accidentally :-) At least one online CPU still has
  // to be targeted. Without CONFIG_AUTO_IRQ_AFFINITY irq_select_affinity_usr()
  // is -EINVAL.
  if (!cpumask_intersects(new_value, cpu_online_mask())) return -EINVAL;
  const r = irq_set_affinity(irq, new_value);
  return r ? r : count;
}

/** write(2) of `buf` to /proc/irq/<irq>/<file>: the byte count or a negative errno. */
export function proc_irq_write(irq: number, file: string, buf: string): number {
  const desc = proc_desc(irq);
  if (!desc || !(proc_irq_files as readonly string[]).includes(file)) return -ENOENT;
  if (file === "smp_affinity") return write_irq_affinity(AFFINITY, irq, buf);
  if (file === "smp_affinity_list") return write_irq_affinity(AFFINITY_LIST, irq, buf);
  return -EIO;
}

// kernel/irq/proc.c: default_affinity_show()
export function default_affinity_read(): string {
  const m = new seq_file();
  seq_printf(m, "%*pb\n", nr_cpu_ids(), irq_default_affinity());
  return m.buf;
}

// kernel/irq/proc.c: default_affinity_write()
export function default_affinity_write(buf: string): number {
  const count = byte_count(buf);
  const new_value = new cpumask(nr_cpu_ids());
  const err = cpumask_parse(buf, new_value);
  if (err) return err;
  // At least one online CPU still has to be targeted.
  if (!cpumask_intersects(new_value, cpu_online_mask())) return -EINVAL;
  cpumask_copy(irq_default_affinity(), new_value);
  return count;
}
