// SPDX-License-Identifier: GPL-2.0-only
// arch/x86/include/asm/irq_vectors.h, hw_irq.h and msidef.h: the vector
// numbers, the vector_irq[] sentinels, struct irq_cfg and struct
// irq_alloc_info that the vector domain, the x86 MSI parent and interrupt
// remapping share. vector.ts re-exports all of it.

import type { cpumask } from "../../lib/kernel/cpumask.ts";
import type { irq_desc } from "../../lib/irq/irqdesc.ts";

/* arch/x86/include/asm/irq_vectors.h */
export const NR_VECTORS = 256;
export const FIRST_EXTERNAL_VECTOR = 0x20;
export const IA32_SYSCALL_VECTOR = 0x80;
export const LOCAL_TIMER_VECTOR = 0xec;
export const MANAGED_IRQ_SHUTDOWN_VECTOR = 0xef;
export const FIRST_SYSTEM_VECTOR = LOCAL_TIMER_VECTOR;

/* arch/x86/include/asm/hw_irq.h: vector_irq[] sentinels */
export const VECTOR_UNUSED = null;
export const VECTOR_SHUTDOWN = "shutdown" as const;
export const VECTOR_RETRIGGERED = "retriggered" as const;
export type vector_irq_entry = irq_desc | typeof VECTOR_UNUSED | typeof VECTOR_SHUTDOWN | typeof VECTOR_RETRIGGERED;

/* arch/x86/include/asm/msidef.h / msi.h */
export const X86_MSI_BASE_ADDRESS_LOW = 0xfee00000;
export const X86_MSI_BASE_ADDRESS_HIGH = 0;

/** struct irq_cfg */
export interface irq_cfg {
  dest_apicid: number;
  vector: number;
}

/** struct irq_alloc_info (arch/x86/include/asm/hw_irq.h), the fields the vector domain reads. */
export interface irq_alloc_info {
  type: number;
  flags: number;
  mask: cpumask | null;
  /** Fields of the children (MSI descriptor, IOMMU data) ride along. */
  [key: string]: unknown;
}

export const X86_IRQ_ALLOC_LEGACY = 0x2;
