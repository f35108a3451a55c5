// SPDX-License-Identifier: GPL-2.0-only
// The x86 boot of a machine, in the order Linux does it: the local APICs and
// the vector domain (init_IRQ, arch_early_irq_init), interrupt remapping
// (enable_IR_x2apic -> try_to_enable_IR), the PCI scan (with the DMAR bus
// notifier handing devices the remapping domain), then the remapping unit's
// fault interrupt (a CPU-online callback in Linux).

import { firmware } from "../kernel/firmware.ts";
import { set_arch_show_interrupts } from "../irq/proc.ts";
import { MSI_FLAG_PCI_IMS } from "../irq/msi.ts";
import type { Platform } from "../hw/platform.ts";
import { VtdUnit, type VtdOptions } from "../hw/vtd.ts";
import { x86_irq_init, arch_show_interrupts } from "../../irqchip/x86/irq.ts";
import { x86_vector_msi_parent_ops } from "../../irqchip/x86/msi.ts";
import { x86_vector_domain } from "../../irqchip/x86/vector.ts";
import { pci_scan_root_bus, pci_set_default_msi_domain } from "../../drivers/pci/pci.ts";
import { irq_remap_enable_fault_handling, setup_irqremap_off, try_to_enable_IR } from "../../drivers/iommu/irq_remapping.ts";

export interface IommuOptions {
  /** An interrupt-remapping unit covering every PCI device, enabled by the kernel (default true). */
  interruptRemapping?: boolean;
  /** Hardware knobs of the remapping unit (lib/hw/vtd.ts). */
  unit?: Partial<VtdOptions>;
}

export interface ImsOptions {
  /**
   * Let the bare vector domain parent IMS domains, as the 2020 RFC did
   * (default false: v6.2..v6.9 refuse, IMS needs the remapping domain).
   */
  onVectorDomain?: boolean;
}

export interface X86BootOptions {
  iommu?: IommuOptions;
  ims?: ImsOptions;
}

/** Register base of the remapping unit (the DRHD address firmware reports). */
export const DMAR_UNIT_BASE = 0xfed90000;

/** Build the hardware the x86 boot needs beyond the platform (before the kernel runs). */
export function x86_build_hardware(p: Platform, opts: X86BootOptions): VtdUnit | null {
  if (opts.iommu?.interruptRemapping === false) return null;
  return new VtdUnit(p, { base: DMAR_UNIT_BASE, ...(opts.iommu?.unit ?? {}) });
}

/** Boot the interrupt architecture, in a task on CPU0. */
export async function x86_boot(p: Platform, unit: VtdUnit | null, opts: X86BootOptions): Promise<void> {
  const fw = firmware();
  fw.mcfg_base = p.pci.ecamBase;
  fw.pci_root_buses = [...new Set([0, ...p.pci.devices().map((d) => d.bus)])].sort((a, b) => a - b);
  if (unit) {
    fw.dmar_units = [{ address: unit.base, include_all: true, segment: 0 }];
    // DMAR table flags: INTR_REMAP
    fw.dmar_flags = 0x1;
  }
  const parent_ops = opts.ims?.onVectorDomain ? { ...x86_vector_msi_parent_ops, supported_flags: x86_vector_msi_parent_ops.supported_flags | MSI_FLAG_PCI_IMS } : x86_vector_msi_parent_ops;
  await x86_irq_init(parent_ops);
  set_arch_show_interrupts((s, prec) => {
    arch_show_interrupts(s, prec);
    return 0;
  });
  if (!unit) setup_irqremap_off();
  await try_to_enable_IR();
  pci_set_default_msi_domain(x86_vector_domain());
  pci_scan_root_bus();
  await irq_remap_enable_fault_handling();
}
