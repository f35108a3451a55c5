// SPDX-License-Identifier: GPL-2.0-only
// kernel/irq/affinity.c and lib/group_cpus.c: spreading a device's vectors
// over the CPUs as managed interrupts (pci_alloc_irq_vectors() with
// PCI_IRQ_AFFINITY). irqlab has one NUMA node and no SMT siblings, so
// group_cpus_evenly() reduces to cutting the possible CPUs, present ones
// first, into contiguous groups with the larger groups first.

import { cpumask, cpumask_copy, cpumask_set_cpu, cpumask_weight, cpu_possible_mask, cpu_present_mask, for_each_cpu, nr_cpu_ids } from "../kernel/cpumask.ts";
import { WARN_ON_ONCE } from "../kernel/bug.ts";
import type { irq_affinity_desc } from "./interrupt.ts";
import { irq_default_affinity } from "./manage_affinity.ts";

/** struct irq_affinity */
export interface irq_affinity {
  /** vectors at the beginning that need no affinity (admin queues) */
  pre_vectors: number;
  /** vectors at the end that need no affinity */
  post_vectors: number;
  nr_sets?: number;
  set_size?: number[];
  calc_sets?: (affd: irq_affinity, nvecs: number) => void;
  priv?: unknown;
}

// kernel/irq/affinity.c: default_calc_sets()
function default_calc_sets(affd: irq_affinity, affvecs: number): void {
  affd.nr_sets = 1;
  affd.set_size = [affvecs];
}

// lib/group_cpus.c: assign_cpus_to_groups() for one node: contiguous
// chunks of `cpus`, the first `extra` groups one CPU larger
function assign_groups(masks: cpumask[], start: number, numgrps: number, cpus: number[]): number {
  const ngroups = Math.min(numgrps, cpus.length);
  if (ngroups === 0) return 0;
  let per = Math.floor(cpus.length / ngroups);
  let extra = cpus.length - ngroups * per;
  let curgrp = start;
  let k = 0;
  const base = per;
  for (let v = 0; v < ngroups; v++) {
    per = base;
    if (extra) {
      per++;
      extra--;
    }
    if (curgrp >= numgrps) curgrp = 0;
    for (let i = 0; i < per; i++) cpumask_set_cpu(cpus[k++]!, masks[curgrp]!);
    curgrp++;
  }
  return ngroups;
}

/** group_cpus_evenly()'s result: the masks and how many of them are initialized. */
export interface cpu_groups {
  masks: cpumask[];
  /** nummasks: can be less than numgrps (fewer CPUs than groups) */
  nummasks: number;
}

// lib/group_cpus.c: group_cpus_evenly(): present CPUs first, then the
// possible-but-absent ones continue from where the first pass stopped. As
// in 6.17+, the caller learns how many masks are initialized: with fewer
// possible CPUs than groups, the groups past nummasks stay empty (6.12
// WARNed there instead, lib/group_cpus.c:413 in docs/oracle/spread.txt).
export function group_cpus_evenly(numgrps: number): cpu_groups | null {
  if (numgrps === 0) return null;
  const n = nr_cpu_ids();
  const masks = Array.from({ length: numgrps }, () => new cpumask(n));
  const present = [...for_each_cpu(cpu_present_mask())];
  const nr_present = assign_groups(masks, 0, numgrps, present);
  const others = [...for_each_cpu(cpu_possible_mask())].filter((c) => !present.includes(c));
  const start = nr_present >= numgrps ? 0 : nr_present;
  const nr_others = assign_groups(masks, start, numgrps, others);
  return { masks, nummasks: Math.min(nr_present + nr_others, numgrps) };
}

// kernel/irq/affinity.c: irq_create_affinity_masks()
export function irq_create_affinity_masks(nvecs: number, affd: irq_affinity): irq_affinity_desc[] | null {
  let affvecs = 0;
  // Determine the number of vectors which need interrupt affinities
  // assigned. If the pre/post request exhausts the available vectors then
  // nothing to do here except for invoking the calc_sets() callback so the
  // device driver can adjust to the situation.
  if (nvecs > affd.pre_vectors + affd.post_vectors) affvecs = nvecs - affd.pre_vectors - affd.post_vectors;
  if (!affd.calc_sets) affd.calc_sets = default_calc_sets;
  affd.calc_sets(affd, affvecs);
  if (WARN_ON_ONCE((affd.nr_sets ?? 0) > 4, { fn: "irq_create_affinity_masks" })) return null;
  // Nothing to assign?
  if (!affvecs) return null;
  const masks: irq_affinity_desc[] = Array.from({ length: nvecs }, () => ({ mask: new cpumask(nr_cpu_ids()), is_managed: false }));
  // Fill out vectors at the beginning that don't need affinity
  let curvec = 0;
  for (; curvec < affd.pre_vectors; curvec++) cpumask_copy(masks[curvec]!.mask, irq_default_affinity());
  // Spread on present CPUs starting from affd->pre_vectors. If we have
  // multiple sets, build each sets affinity mask separately.
  let usedvecs = 0;
  for (let i = 0; i < (affd.nr_sets ?? 0); i++) {
    const this_vecs = affd.set_size![i]!;
    const result = group_cpus_evenly(this_vecs);
    // An empty set (group_cpus_evenly(0) is NULL) fails the whole spread:
    // the caller allocates the vectors without affinity, none managed.
    if (!result) return null;
    const nr_masks = result.nummasks;
    for (let j = 0; j < nr_masks; j++) cpumask_copy(masks[curvec + j]!.mask, result.masks[j]!);
    // 6.17+: a set with fewer masks than vectors moves the next set up; the
    // vectors left at the end get the default affinity below (6.12 copied
    // the empty masks, which alloc_descs() refused with -EINVAL).
    curvec += nr_masks;
    usedvecs += nr_masks;
  }
  // Fill out vectors at the end that don't need affinity
  if (usedvecs >= affvecs) curvec = affd.pre_vectors + affvecs;
  else curvec = affd.pre_vectors + usedvecs;
  for (; curvec < nvecs; curvec++) cpumask_copy(masks[curvec]!.mask, irq_default_affinity());
  // Mark the managed interrupts
  for (let i = affd.pre_vectors; i < nvecs - affd.post_vectors; i++) masks[i]!.is_managed = true;
  return masks;
}

// kernel/irq/affinity.c: irq_calc_affinity_vectors()
export function irq_calc_affinity_vectors(minvec: number, maxvec: number, affd: irq_affinity): number {
  const resv = affd.pre_vectors + affd.post_vectors;
  if (resv > minvec) return 0;
  const set_vecs = affd.calc_sets ? maxvec - resv : cpumask_weight(cpu_possible_mask());
  return resv + Math.min(set_vecs, maxvec - resv);
}
