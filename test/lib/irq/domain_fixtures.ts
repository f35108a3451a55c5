// SPDX-License-Identifier: GPL-2.0-only
// Domains and chips shared by the irqdomain, debugfs and proc tests.

import type { irq_chip, irq_data } from "../../../lib/irq/irq.ts";
import { cpumask_copy, cpumask_last, cpumask_of, type cpumask } from "../../../lib/kernel/cpumask.ts";
import { irq_data_update_effective_affinity } from "../../../lib/irq/chip.ts";
import {
  irq_domain_alloc_irqs_parent,
  irq_domain_free_irqs_common,
  irq_domain_set_hwirq_and_chip,
  type irq_domain,
  type irq_domain_ops,
} from "../../../lib/irq/irqdomain.ts";
import { IRQ_SET_MASK_OK } from "../../../lib/irq/irq.ts";

/** Resolve a may-sleep result (`T | Promise<T>`) in a test body. */
export async function settle<T>(x: T | Promise<T>): Promise<T> {
  return await x;
}

/** A chip whose callbacks log "<cb> <chip> <irq>/<hwirq>". */
export function log_chip(name: string, log: string[], extra: Partial<irq_chip> = {}): irq_chip {
  const rec = (cb: string) => (d: irq_data) => void log.push(`${cb} ${name} ${d.irq}/${d.hwirq}`);
  return {
    name,
    irq_mask: rec("irq_mask"),
    irq_unmask: rec("irq_unmask"),
    irq_ack: rec("irq_ack"),
    ...extra,
  };
}

/** irq_set_affinity of a chip that, like x86's vector domain, programs the highest CPU of the mask. */
export function set_affinity_highest(d: irq_data, dest: cpumask, _force: boolean): number {
  irq_data_update_effective_affinity(d, cpumask_of(cpumask_last(dest)));
  return IRQ_SET_MASK_OK;
}

/** The same, keeping the whole mask as effective. */
export function set_affinity_all(d: irq_data, dest: cpumask, _force: boolean): number {
  cpumask_copy(d.common.effective_affinity, dest);
  return IRQ_SET_MASK_OK;
}

export interface HierOpts {
  /** First hwirq this domain hands out (default 0x10 * level). */
  hwirq_base?: number;
  /** Return this error from alloc after the parent allocation. */
  fail?: number;
  /** Do not set a chip on this level. */
  no_chip?: boolean;
  extra?: Partial<irq_domain_ops>;
}

/**
 * ops of a hierarchical domain in the kernel's usual style: alloc first asks
 * the parent, then fills its own level; free resets its level, then frees
 * the parent (irq_domain_free_irqs_common).
 */
export function hier_ops(name: string, log: string[], chip: irq_chip | null, opts: HierOpts = {}): irq_domain_ops {
  let next = opts.hwirq_base ?? 0;
  return {
    alloc(d: irq_domain, virq: number, nr: number, arg: unknown): number {
      log.push(`alloc ${name} ${virq} ${nr}`);
      if (d.parent) {
        const r = irq_domain_alloc_irqs_parent(d, virq, nr, arg);
        if (r) return r;
      }
      if (opts.fail) return opts.fail;
      if (!opts.no_chip) for (let i = 0; i < nr; i++) irq_domain_set_hwirq_and_chip(d, virq + i, next++, chip, null);
      log.push(`done ${name}`);
      return 0;
    },
    free(d: irq_domain, virq: number, nr: number): void {
      log.push(`free ${name} ${virq} ${nr}`);
      irq_domain_free_irqs_common(d, virq, nr);
    },
    ...opts.extra,
  };
}
