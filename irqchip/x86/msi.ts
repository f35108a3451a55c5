// SPDX-License-Identifier: GPL-2.0-only
// arch/x86/kernel/apic/msi.c (v6.2..v6.9 with PCI/IMS): the vector domain as
// MSI parent, the per-device MSI domain setup it dictates, and the
// non-remapped msi_set_affinity() that never lets a device latch a torn
// (address, data) pair that points nowhere.

import { site_of } from "../../lib/kernel/stacktrace.ts";
import { EINVAL } from "../../lib/kernel/errno.ts";
import { WARN_ON_ONCE } from "../../lib/kernel/bug.ts";
import { smp_processor_id } from "../../lib/kernel/context.ts";
import { cpumask_first, type cpumask } from "../../lib/kernel/cpumask.ts";
import { raw_spin_lock, raw_spin_unlock } from "../../lib/kernel/spinlock.ts";
import { apic_read, APIC_IRR } from "../../lib/kernel/apic.ts";
import type { device } from "../../lib/kernel/device.ts";
import {
  irqd_can_reserve,
  irqd_is_started,
  IRQ_SET_MASK_OK_DONE,
  IRQCHIP_AFFINITY_PRE_STARTUP,
  IRQCHIP_MOVE_DEFERRED,
  IRQCHIP_SKIP_SET_WAKE,
  type irq_data,
} from "../../lib/irq/irq.ts";
import { irq_chip_ack_parent, irq_chip_retrigger_hierarchy } from "../../lib/irq/chip.ts";
import { handle_edge_irq } from "../../lib/irq/flow.ts";
import { DOMAIN_BUS_AMDVI, DOMAIN_BUS_ANY, DOMAIN_BUS_DMAR, DOMAIN_BUS_PCI_DEVICE_IMS, DOMAIN_BUS_PCI_DEVICE_MSI, DOMAIN_BUS_PCI_DEVICE_MSIX, type irq_domain } from "../../lib/irq/irqdomain.ts";
import {
  MSI_FLAG_PCI_IMS,
  MSI_FLAG_PCI_MSIX,
  MSI_FLAG_PCI_MSIX_ALLOC_DYN,
  MSI_FLAG_USE_DEF_CHIP_OPS,
  MSI_FLAG_USE_DEF_DOM_OPS,
  MSI_GENERIC_FLAGS_MASK,
  type msi_alloc_info_t,
  type msi_domain_info,
} from "../../lib/irq/msi.ts";
import { msi_msg, type msi_parent_ops } from "../../lib/irq/msi_types.ts";
import { __irq_msi_compose_msg, irqd_cfg, vector_irq, vs_lock, MANAGED_IRQ_SHUTDOWN_VECTOR, VECTOR_RETRIGGERED, type irq_cfg, init_irq_alloc_info } from "./vector.ts";

/* arch/x86/include/asm/hw_irq.h: enum irq_alloc_type */
export const X86_IRQ_ALLOC_TYPE_IOAPIC = 1;
export const X86_IRQ_ALLOC_TYPE_HPET = 2;
export const X86_IRQ_ALLOC_TYPE_PCI_MSI = 3;
export const X86_IRQ_ALLOC_TYPE_PCI_MSIX = 4;
export const X86_IRQ_ALLOC_TYPE_DMAR = 5;
export const X86_IRQ_ALLOC_TYPE_AMDVI = 6;
export const X86_IRQ_ALLOC_CONTIGUOUS_VECTORS = 0x1;

/** X86_VECTOR_MSI_FLAGS_SUPPORTED */
export const X86_VECTOR_MSI_FLAGS_SUPPORTED = MSI_GENERIC_FLAGS_MASK | MSI_FLAG_PCI_MSIX | MSI_FLAG_PCI_MSIX_ALLOC_DYN;
/** X86_VECTOR_MSI_FLAGS_REQUIRED */
export const X86_VECTOR_MSI_FLAGS_REQUIRED = MSI_FLAG_USE_DEF_DOM_OPS | MSI_FLAG_USE_DEF_CHIP_OPS;

// arch/x86/kernel/apic/msi.c: irq_msi_update_msg()
function irq_msi_update_msg(irqd: irq_data, cfg: irq_cfg): void {
  const msg = new msi_msg();
  __irq_msi_compose_msg(cfg, msg, false);
  irqd.chip.irq_write_msi_msg!(irqd, msg);
}

// arch/x86/kernel/apic/apic.c: lapic_vector_set_in_irr()
function lapic_vector_set_in_irr(vector: number): boolean {
  const irr = apic_read(APIC_IRR + Math.floor(vector / 32) * 0x10);
  return (irr & (1 << (vector % 32))) !== 0;
}

// arch/x86/kernel/apic/msi.c: msi_set_affinity() (the non-remapped dance, hardware.md 3.5)
export function msi_set_affinity(irqd: irq_data, mask: cpumask, force: boolean): number {
  const cfg = irqd_cfg(irqd)!;
  const parent = irqd.parent_data!;
  // Save the current configuration
  const cpu = cpumask_first(irqd.common.effective_affinity);
  const old_cfg: irq_cfg = { ...cfg };
  // Allocate a new target vector
  const ret = parent.chip.irq_set_affinity!(parent, mask, force);
  if (ret < 0 || ret === IRQ_SET_MASK_OK_DONE) return ret;
  // Direct update is possible when the MSI is maskable (reservation mode),
  // the vector is the same, the old vector is the shutdown vector, the
  // interrupt is not started or the destination CPU is the same.
  if (!irqd_can_reserve(irqd) || cfg.vector === old_cfg.vector || old_cfg.vector === MANAGED_IRQ_SHUTDOWN_VECTOR || !irqd_is_started(irqd) || cfg.dest_apicid === old_cfg.dest_apicid) {
    irq_msi_update_msg(irqd, cfg);
    return ret;
  }
  // Paranoia: Validate that the interrupt target is the local CPU.
  if (WARN_ON_ONCE(cpu !== smp_processor_id(), { fn: "msi_set_affinity" })) {
    irq_msi_update_msg(irqd, cfg);
    return ret;
  }
  // Redirect the interrupt to the new vector on the current CPU first. This
  // might cause a spurious interrupt on this vector if the device raises an
  // interrupt right between this update and the update to the final
  // destination CPU.
  const lock = vs_lock();
  raw_spin_lock(lock, 0, msi_set_affinity_ip);
  // Mark the new target vector on the local CPU if it is currently unused.
  const slot = vector_irq(smp_processor_id())[cfg.vector];
  if (slot === null || slot === undefined || typeof slot === "string") vector_irq(smp_processor_id())[cfg.vector] = VECTOR_RETRIGGERED;
  // Redirect it to the new vector on the local CPU temporarily
  old_cfg.vector = cfg.vector;
  irq_msi_update_msg(irqd, old_cfg);
  // Now transition it to the target CPU
  irq_msi_update_msg(irqd, cfg);
  // All interrupts after this point are now targeted at the new vector/CPU.
  raw_spin_unlock(lock);
  // Check whether the transition raced with a device interrupt and is
  // pending in the local APICs IRR.
  if (lapic_vector_set_in_irr(cfg.vector)) irqd.chip.irq_retrigger!(irqd);
  return ret;
}

// arch/x86/kernel/apic/msi.c: pci_msi_prepare()
export function pci_msi_prepare(_domain: irq_domain, dev: device, _nvec: number, arg: msi_alloc_info_t): number {
  const msix = (dev as unknown as { msix_enabled?: boolean }).msix_enabled ?? true;
  if (msix) arg["type"] = X86_IRQ_ALLOC_TYPE_PCI_MSIX;
  else {
    arg["type"] = X86_IRQ_ALLOC_TYPE_PCI_MSI;
    arg["flags"] = ((arg["flags"] as number | undefined) ?? 0) | X86_IRQ_ALLOC_CONTIGUOUS_VECTORS;
  }
  return 0;
}

// arch/x86/kernel/apic/msi.c: x86_msi_prepare(); always invoked from the top level MSI domain
function x86_msi_prepare(domain: irq_domain, dev: device, nvec: number, alloc: msi_alloc_info_t): number {
  const info = domain.host_data as msi_domain_info;
  init_irq_alloc_info(alloc, null);
  switch (info.bus_token) {
    case DOMAIN_BUS_PCI_DEVICE_MSI:
      alloc["type"] = X86_IRQ_ALLOC_TYPE_PCI_MSI;
      break;
    case DOMAIN_BUS_PCI_DEVICE_MSIX:
    case DOMAIN_BUS_PCI_DEVICE_IMS:
      alloc["type"] = X86_IRQ_ALLOC_TYPE_PCI_MSIX;
      break;
    default:
      return -EINVAL;
  }
  alloc["dev"] = dev;
  void nvec;
  return 0;
}

// arch/x86/kernel/apic/msi.c: x86_init_dev_msi_info()
export function x86_init_dev_msi_info(dev: device, domain: irq_domain, real_parent: irq_domain, info: msi_domain_info): boolean {
  const pops = real_parent.msi_parent_ops!;
  void dev;
  // MSI parent domain specific settings
  switch (real_parent.bus_token) {
    case DOMAIN_BUS_ANY:
      // Only the vector domain can have the ANY token
      if (WARN_ON_ONCE(domain !== real_parent, { fn: "x86_init_dev_msi_info" })) return false;
      info.chip!.irq_set_affinity = msi_set_affinity;
      info.chip!.flags = (info.chip!.flags ?? 0) | IRQCHIP_MOVE_DEFERRED;
      break;
    case DOMAIN_BUS_DMAR:
    case DOMAIN_BUS_AMDVI:
      break;
    default:
      WARN_ON_ONCE(1, { fn: "x86_init_dev_msi_info", line: 2 });
      return false;
  }
  // Is the target supported?
  switch (info.bus_token) {
    case DOMAIN_BUS_PCI_DEVICE_MSI:
    case DOMAIN_BUS_PCI_DEVICE_MSIX:
      break;
    case DOMAIN_BUS_PCI_DEVICE_IMS:
      if (!(pops.supported_flags & MSI_FLAG_PCI_IMS)) return false;
      break;
    default:
      WARN_ON_ONCE(1, { fn: "x86_init_dev_msi_info", line: 3 });
      return false;
  }
  // Mask out the domain specific MSI feature flags which are not supported by the real parent.
  info.flags &= pops.supported_flags;
  // Enforce the required flags
  info.flags |= X86_VECTOR_MSI_FLAGS_REQUIRED;
  // This is always invoked from the top level MSI domain!
  info.ops!.msi_prepare = x86_msi_prepare;
  info.chip!.irq_ack = irq_chip_ack_parent;
  info.chip!.irq_retrigger = irq_chip_retrigger_hierarchy;
  info.chip!.flags = (info.chip!.flags ?? 0) | IRQCHIP_SKIP_SET_WAKE | IRQCHIP_AFFINITY_PRE_STARTUP;
  info.handler = handle_edge_irq;
  info.handler_name = "edge";
  return true;
}

/** static const struct msi_parent_ops x86_vector_msi_parent_ops */
export const x86_vector_msi_parent_ops: msi_parent_ops = {
  supported_flags: X86_VECTOR_MSI_FLAGS_SUPPORTED,
  prefix: "",
  init_dev_msi_info: x86_init_dev_msi_info as msi_parent_ops["init_dev_msi_info"],
};

// lockdep acquire sites (_RET_IP_) of the locks these functions take,
// named instead of captured on every acquisition (lib/kernel/stacktrace.ts)
const msi_set_affinity_ip = site_of(msi_set_affinity);
