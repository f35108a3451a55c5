// SPDX-License-Identifier: GPL-2.0-only
// kernel/irq/debugfs.c (v6.13+ generation) and the domain files of
// kernel/irq/irqdomain.c: /sys/kernel/debug/irq/irqs/<N> and
// /sys/kernel/debug/irq/domains/<name> (C59, C60).
//
// The show functions render a file's whole text; irq_debug_write() is the
// write side of irqs/<N>. debugfs is mounted at boot, so every allocated
// descriptor has its irqs/<N> file and every published domain whose name is
// not taken yet has its domains/<name> file.

import { ENOENT } from "../kernel/errno.ts";
import { raw_spin_lock_irq, raw_spin_unlock_irq } from "../kernel/spinlock.ts";
import { seq_file, seq_printf } from "../kernel/seq_file.ts";
import { nr_cpu_ids } from "../kernel/cpumask.ts";
import {
  IRQ_DISABLE_UNLAZY,
  IRQ_HIDDEN,
  IRQ_IS_POLLED,
  IRQ_NESTED_THREAD,
  IRQ_NOAUTOEN,
  IRQ_NOPROBE,
  IRQ_NOREQUEST,
  IRQ_NOTHREAD,
  IRQ_PER_CPU_DEVID,
  IRQ_TYPE_EDGE_FALLING,
  IRQ_TYPE_EDGE_RISING,
  IRQ_TYPE_LEVEL_HIGH,
  IRQ_TYPE_LEVEL_LOW,
  IRQCHIP_EOI_IF_HANDLED,
  IRQCHIP_EOI_THREADED,
  IRQCHIP_ENABLE_WAKEUP_ON_SUSPEND,
  IRQCHIP_IMMUTABLE,
  IRQCHIP_MASK_ON_SUSPEND,
  IRQCHIP_MOVE_DEFERRED,
  IRQCHIP_ONESHOT_SAFE,
  IRQCHIP_ONOFFLINE_ENABLED,
  IRQCHIP_SET_TYPE_MASKED,
  IRQCHIP_SKIP_SET_WAKE,
  IRQCHIP_SUPPORTS_LEVEL_MSI,
  IRQCHIP_SUPPORTS_NMI,
  IRQD_ACTIVATED,
  IRQD_AFFINITY_MANAGED,
  IRQD_AFFINITY_ON_ACTIVATE,
  IRQD_AFFINITY_SET,
  IRQD_CAN_RESERVE,
  IRQD_DEFAULT_TRIGGER_SET,
  IRQD_FORWARDED_TO_VCPU,
  IRQD_HANDLE_ENFORCE_IRQCTX,
  IRQD_IRQ_DISABLED,
  IRQD_IRQ_ENABLED_ON_SUSPEND,
  IRQD_IRQ_INPROGRESS,
  IRQD_IRQ_MASKED,
  IRQD_IRQ_STARTED,
  IRQD_LEVEL,
  IRQD_MANAGED_SHUTDOWN,
  IRQD_NO_BALANCING,
  IRQD_PER_CPU,
  IRQD_RESEND_WHEN_IN_PROGRESS,
  IRQD_SETAFFINITY_PENDING,
  IRQD_SINGLE_TARGET,
  IRQD_WAKEUP_ARMED,
  IRQD_WAKEUP_STATE,
  irqd_get,
  irq_data_get_affinity_mask,
  irq_data_get_effective_affinity_mask,
  irq_data_get_node,
  type irq_data,
} from "./irq.ts";
import {
  IRQS_AUTODETECT,
  IRQS_NMI,
  IRQS_ONESHOT,
  IRQS_PENDING,
  IRQS_POLL_INPROGRESS,
  IRQS_REPLAY,
  IRQS_SPURIOUS_DISABLED,
  IRQS_SUSPENDED,
  IRQS_WAITING,
} from "./internals.ts";
import { irq_to_desc, type irq_desc } from "./irqdesc.ts";
import { irq_inject_interrupt } from "./resend.ts";
import {
  IRQ_DOMAIN_FLAG_HIERARCHY,
  IRQ_DOMAIN_FLAG_IPI_PER_CPU,
  IRQ_DOMAIN_FLAG_IPI_SINGLE,
  IRQ_DOMAIN_FLAG_ISOLATED_MSI,
  IRQ_DOMAIN_FLAG_MSI,
  IRQ_DOMAIN_FLAG_MSI_DEVICE,
  IRQ_DOMAIN_FLAG_MSI_PARENT,
  IRQ_DOMAIN_FLAG_NO_MAP,
  IRQ_DOMAIN_FLAG_NONCORE,
  IRQ_DOMAIN_NAME_ALLOCATED,
  irq_domain_debugfs_lookup,
  irq_get_default_domain,
  type irq_domain,
} from "./irqdomain.ts";

/** struct irq_bit_descr: BIT_MASK_DESCR() spells the macro's name. */
type irq_bit_descr = readonly [mask: number, name: string];

// kernel/irq/debugfs.c: irq_debug_show_bits()
function irq_debug_show_bits(m: seq_file, ind: number, state: number, sd: readonly irq_bit_descr[]): void {
  for (const [mask, name] of sd) if (state & mask) seq_printf(m, "%*s%s\n", ind + 12, "", name);
}

const irqchip_flags: readonly irq_bit_descr[] = [
  [IRQCHIP_SET_TYPE_MASKED, "IRQCHIP_SET_TYPE_MASKED"],
  [IRQCHIP_EOI_IF_HANDLED, "IRQCHIP_EOI_IF_HANDLED"],
  [IRQCHIP_MASK_ON_SUSPEND, "IRQCHIP_MASK_ON_SUSPEND"],
  [IRQCHIP_ONOFFLINE_ENABLED, "IRQCHIP_ONOFFLINE_ENABLED"],
  [IRQCHIP_SKIP_SET_WAKE, "IRQCHIP_SKIP_SET_WAKE"],
  [IRQCHIP_ONESHOT_SAFE, "IRQCHIP_ONESHOT_SAFE"],
  [IRQCHIP_EOI_THREADED, "IRQCHIP_EOI_THREADED"],
  [IRQCHIP_SUPPORTS_LEVEL_MSI, "IRQCHIP_SUPPORTS_LEVEL_MSI"],
  [IRQCHIP_SUPPORTS_NMI, "IRQCHIP_SUPPORTS_NMI"],
  [IRQCHIP_ENABLE_WAKEUP_ON_SUSPEND, "IRQCHIP_ENABLE_WAKEUP_ON_SUSPEND"],
  [IRQCHIP_IMMUTABLE, "IRQCHIP_IMMUTABLE"],
  [IRQCHIP_MOVE_DEFERRED, "IRQCHIP_MOVE_DEFERRED"],
];

const irqdata_states: readonly irq_bit_descr[] = [
  [IRQ_TYPE_EDGE_RISING, "IRQ_TYPE_EDGE_RISING"],
  [IRQ_TYPE_EDGE_FALLING, "IRQ_TYPE_EDGE_FALLING"],
  [IRQ_TYPE_LEVEL_HIGH, "IRQ_TYPE_LEVEL_HIGH"],
  [IRQ_TYPE_LEVEL_LOW, "IRQ_TYPE_LEVEL_LOW"],
  [IRQD_LEVEL, "IRQD_LEVEL"],
  [IRQD_ACTIVATED, "IRQD_ACTIVATED"],
  [IRQD_IRQ_STARTED, "IRQD_IRQ_STARTED"],
  [IRQD_IRQ_DISABLED, "IRQD_IRQ_DISABLED"],
  [IRQD_IRQ_MASKED, "IRQD_IRQ_MASKED"],
  [IRQD_IRQ_INPROGRESS, "IRQD_IRQ_INPROGRESS"],
  [IRQD_PER_CPU, "IRQD_PER_CPU"],
  [IRQD_NO_BALANCING, "IRQD_NO_BALANCING"],
  [IRQD_SINGLE_TARGET, "IRQD_SINGLE_TARGET"],
  [IRQD_AFFINITY_SET, "IRQD_AFFINITY_SET"],
  [IRQD_SETAFFINITY_PENDING, "IRQD_SETAFFINITY_PENDING"],
  [IRQD_AFFINITY_MANAGED, "IRQD_AFFINITY_MANAGED"],
  [IRQD_AFFINITY_ON_ACTIVATE, "IRQD_AFFINITY_ON_ACTIVATE"],
  [IRQD_MANAGED_SHUTDOWN, "IRQD_MANAGED_SHUTDOWN"],
  [IRQD_CAN_RESERVE, "IRQD_CAN_RESERVE"],
  [IRQD_FORWARDED_TO_VCPU, "IRQD_FORWARDED_TO_VCPU"],
  [IRQD_WAKEUP_STATE, "IRQD_WAKEUP_STATE"],
  [IRQD_WAKEUP_ARMED, "IRQD_WAKEUP_ARMED"],
  [IRQD_DEFAULT_TRIGGER_SET, "IRQD_DEFAULT_TRIGGER_SET"],
  [IRQD_HANDLE_ENFORCE_IRQCTX, "IRQD_HANDLE_ENFORCE_IRQCTX"],
  [IRQD_IRQ_ENABLED_ON_SUSPEND, "IRQD_IRQ_ENABLED_ON_SUSPEND"],
  [IRQD_RESEND_WHEN_IN_PROGRESS, "IRQD_RESEND_WHEN_IN_PROGRESS"],
];

/* kernel/irq/settings.h: the _IRQ_* names of the IRQ_* settings */
const irqdesc_states: readonly irq_bit_descr[] = [
  [IRQ_NOPROBE, "_IRQ_NOPROBE"],
  [IRQ_NOREQUEST, "_IRQ_NOREQUEST"],
  [IRQ_NOTHREAD, "_IRQ_NOTHREAD"],
  [IRQ_NOAUTOEN, "_IRQ_NOAUTOEN"],
  [IRQ_NESTED_THREAD, "_IRQ_NESTED_THREAD"],
  [IRQ_PER_CPU_DEVID, "_IRQ_PER_CPU_DEVID"],
  [IRQ_IS_POLLED, "_IRQ_IS_POLLED"],
  [IRQ_DISABLE_UNLAZY, "_IRQ_DISABLE_UNLAZY"],
  [IRQ_HIDDEN, "_IRQ_HIDDEN"],
];

const irqdesc_istates: readonly irq_bit_descr[] = [
  [IRQS_AUTODETECT, "IRQS_AUTODETECT"],
  [IRQS_SPURIOUS_DISABLED, "IRQS_SPURIOUS_DISABLED"],
  [IRQS_POLL_INPROGRESS, "IRQS_POLL_INPROGRESS"],
  [IRQS_ONESHOT, "IRQS_ONESHOT"],
  [IRQS_REPLAY, "IRQS_REPLAY"],
  [IRQS_WAITING, "IRQS_WAITING"],
  [IRQS_PENDING, "IRQS_PENDING"],
  [IRQS_SUSPENDED, "IRQS_SUSPENDED"],
  [IRQS_NMI, "IRQS_NMI"],
];

const irqdomain_flags: readonly irq_bit_descr[] = [
  [IRQ_DOMAIN_FLAG_HIERARCHY, "IRQ_DOMAIN_FLAG_HIERARCHY"],
  [IRQ_DOMAIN_NAME_ALLOCATED, "IRQ_DOMAIN_NAME_ALLOCATED"],
  [IRQ_DOMAIN_FLAG_IPI_PER_CPU, "IRQ_DOMAIN_FLAG_IPI_PER_CPU"],
  [IRQ_DOMAIN_FLAG_IPI_SINGLE, "IRQ_DOMAIN_FLAG_IPI_SINGLE"],
  [IRQ_DOMAIN_FLAG_MSI, "IRQ_DOMAIN_FLAG_MSI"],
  [IRQ_DOMAIN_FLAG_ISOLATED_MSI, "IRQ_DOMAIN_FLAG_ISOLATED_MSI"],
  [IRQ_DOMAIN_FLAG_NO_MAP, "IRQ_DOMAIN_FLAG_NO_MAP"],
  [IRQ_DOMAIN_FLAG_MSI_PARENT, "IRQ_DOMAIN_FLAG_MSI_PARENT"],
  [IRQ_DOMAIN_FLAG_MSI_DEVICE, "IRQ_DOMAIN_FLAG_MSI_DEVICE"],
  [IRQ_DOMAIN_FLAG_NONCORE, "IRQ_DOMAIN_FLAG_NONCORE"],
];

// kernel/irq/debugfs.c: irq_debug_show_masks() (SMP, EFFECTIVE_AFF_MASK, GENERIC_PENDING_IRQ)
function irq_debug_show_masks(m: seq_file, desc: irq_desc): void {
  const data = desc.irq_data;
  const n = nr_cpu_ids();
  seq_printf(m, "affinity: %*pbl\n", n, irq_data_get_affinity_mask(data));
  seq_printf(m, "effectiv: %*pbl\n", n, irq_data_get_effective_affinity_mask(data));
  seq_printf(m, "pending:  %*pbl\n", n, desc.pending_mask);
}

// kernel/irq/debugfs.c: irq_debug_show_chip(): a NULL chip line is not indented
function irq_debug_show_chip(m: seq_file, data: irq_data, ind: number): void {
  const chip = data.chip as irq_data["chip"] | null;
  if (!chip) {
    seq_printf(m, "chip: None\n");
    return;
  }
  seq_printf(m, "%*schip:    ", ind, "");
  if (chip.irq_print_chip) chip.irq_print_chip(data, m);
  else seq_printf(m, "%s", chip.name);
  seq_printf(m, "\n%*sflags:   0x%lx\n", ind + 1, "", chip.flags ?? 0);
  irq_debug_show_bits(m, ind, chip.flags ?? 0, irqchip_flags);
}

// kernel/irq/debugfs.c: irq_debug_show_data(): one hierarchy level, the parent 4 columns in
function irq_debug_show_data(m: seq_file, data: irq_data, ind: number): void {
  seq_printf(m, "%*sdomain:  %s\n", ind, "", data.domain ? data.domain.name : "");
  seq_printf(m, "%*shwirq:   0x%lx\n", ind + 1, "", data.hwirq);
  irq_debug_show_chip(m, data, ind + 1);
  const show = data.domain?.ops.debug_show;
  if (show) show.call(data.domain!.ops, m, null, data, ind + 1);
  if (!data.parent_data) return;
  seq_printf(m, "%*sparent:\n", ind + 1, "");
  irq_debug_show_data(m, data.parent_data, ind + 4);
}

// kernel/irq/debugfs.c: irq_debug_show()
function irq_debug_show(m: seq_file, desc: irq_desc): void {
  raw_spin_lock_irq(desc.lock);
  const data = desc.irq_data;
  seq_printf(m, "handler:  %ps\n", desc.handle_irq);
  seq_printf(m, "device:   %s\n", desc.dev_name);
  seq_printf(m, "status:   0x%08x\n", desc.status_use_accessors);
  irq_debug_show_bits(m, 0, desc.status_use_accessors, irqdesc_states);
  seq_printf(m, "istate:   0x%08x\n", desc.istate);
  irq_debug_show_bits(m, 0, desc.istate, irqdesc_istates);
  seq_printf(m, "ddepth:   %u\n", desc.depth);
  seq_printf(m, "wdepth:   %u\n", desc.wake_depth);
  seq_printf(m, "dstate:   0x%08x\n", irqd_get(data));
  irq_debug_show_bits(m, 0, irqd_get(data), irqdata_states);
  seq_printf(m, "node:     %d\n", irq_data_get_node(data));
  irq_debug_show_masks(m, desc);
  irq_debug_show_data(m, data, 0);
  raw_spin_unlock_irq(desc.lock);
}

/** The text of /sys/kernel/debug/irq/irqs/<irq>, or null when the file does not exist. */
export function irq_debugfs_irq_read(irq: number): string | null {
  const desc = irq_to_desc(irq);
  if (!desc) return null;
  const m = new seq_file(desc);
  irq_debug_show(m, desc);
  return m.buf;
}

// kernel/irq/debugfs.c: irq_debug_write(): any prefix of "trigger" injects the interrupt
export function irq_debug_write(irq: number, buf: string): number | Promise<number> {
  const desc = irq_to_desc(irq);
  if (!desc) return -ENOENT;
  const bytes = new TextEncoder().encode(buf);
  const count = bytes.length;
  const size = Math.min(7, count);
  const head = new TextDecoder().decode(bytes.subarray(0, size));
  // strncmp(buf, "trigger", size) with buf NUL-terminated after `size` bytes
  if (head === "trigger".slice(0, size)) {
    return irq_inject_interrupt(desc.irq_data.irq).then((err) => (err ? err : count));
  }
  return count;
}

// kernel/irq/irqdomain.c: irq_domain_debug_show_one(): the domain, then its parents
function irq_domain_debug_show_one(m: seq_file, d: irq_domain, ind: number): void {
  seq_printf(m, "%*sname:   %s\n", ind, "", d.name);
  seq_printf(m, "%*ssize:   %u\n", ind + 1, "", d.revmap_size);
  seq_printf(m, "%*smapped: %u\n", ind + 1, "", d.mapcount);
  seq_printf(m, "%*sflags:  0x%08x\n", ind + 1, "", d.flags);
  irq_debug_show_bits(m, ind, d.flags, irqdomain_flags);
  const show = d.ops.debug_show;
  if (show) show.call(d.ops, m, d, null, ind + 1);
  if (!d.parent) return;
  seq_printf(m, "%*sparent: %s\n", ind + 1, "", d.parent.name);
  irq_domain_debug_show_one(m, d.parent, ind + 4);
}

/**
 * The text of /sys/kernel/debug/irq/domains/<name> ("default": the default
 * domain, empty without one), or null when there is no such file.
 */
export function irq_debugfs_domain_read(name: string): string | null {
  let d: irq_domain | null | undefined;
  if (name === "default") d = irq_get_default_domain();
  else {
    d = irq_domain_debugfs_lookup(name);
    if (!d) return null;
  }
  const m = new seq_file(d);
  if (d) irq_domain_debug_show_one(m, d, 0);
  return m.buf;
}
