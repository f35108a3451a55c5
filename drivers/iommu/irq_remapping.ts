// SPDX-License-Identifier: GPL-2.0-only
// drivers/iommu/irq_remapping.c: the vendor-neutral entry points the x86
// APIC code calls at boot (irq_remapping_prepare(), irq_remapping_enable(),
// the fault-handling enable), with Intel's ops as the only vendor; and
// drivers/iommu/intel/dmar.c's PCI bus notifier that hands new devices the
// remapping domain as their MSI parent.

import { K } from "../../lib/kernel/kernel.ts";
import { ENODEV, ENOSYS } from "../../lib/kernel/errno.ts";
import { BUS_NOTIFY_ADD_DEVICE, pci_bus_register_notifier, type pci_dev } from "../pci/pci.ts";
import { enable_drhd_fault_handling } from "./intel/dmar.ts";
import { intel_enable_irq_remapping, intel_irq_remap_add_device, intel_prepare_irq_remapping, irq_remapping_enabled } from "./intel/irq_remapping.ts";

interface RemapState {
  /** intremap=off (irqlab: the machine option iommu.interruptRemapping false) */
  disable_irq_remap: boolean;
  prepared: boolean;
}

function rs(): RemapState {
  return K.state<RemapState>("irq_remapping", () => ({ disable_irq_remap: false, prepared: false }));
}

/** The intremap=off command-line switch. */
export function setup_irqremap_off(): void {
  rs().disable_irq_remap = true;
}

// drivers/iommu/intel/dmar.c: dmar_pci_bus_notifier() -> dmar_pci_bus_add_dev()
function dmar_pci_bus_notifier(action: number, dev: pci_dev): void {
  if (action === BUS_NOTIFY_ADD_DEVICE) intel_irq_remap_add_device(dev);
}

// drivers/iommu/irq_remapping.c: irq_remapping_prepare()
export async function irq_remapping_prepare(): Promise<number> {
  const s = rs();
  if (s.disable_irq_remap) return -ENOSYS;
  if ((await intel_prepare_irq_remapping()) !== 0) return -ENOSYS;
  s.prepared = true;
  return 0;
}

// drivers/iommu/irq_remapping.c: irq_remapping_enable()
export function irq_remapping_enable(): number {
  if (!rs().prepared) return -ENODEV;
  const ret = intel_enable_irq_remapping();
  if (irq_remapping_enabled()) pci_bus_register_notifier(dmar_pci_bus_notifier);
  return ret;
}

// drivers/iommu/irq_remapping.c: irq_remap_enable_fault_handling(); Linux
// runs it from a CPU hotplug callback once the CPUs are up
export async function irq_remap_enable_fault_handling(): Promise<number> {
  if (!irq_remapping_enabled()) return 0;
  return enable_drhd_fault_handling();
}

// arch/x86/kernel/apic/apic.c: try_to_enable_IR(), the part irqlab renders
export async function try_to_enable_IR(): Promise<number> {
  const ret = await irq_remapping_prepare();
  if (ret < 0) return ret;
  return irq_remapping_enable();
}
