// SPDX-License-Identifier: GPL-2.0-only
// What firmware tells the kernel about the platform (ACPI MCFG and DMAR
// tables, reduced): where PCI config space is, which devices an IOMMU
// covers. The machine fills it in at boot.

import { K } from "./kernel.ts";

/** A DMAR hardware unit (ACPI DRHD): register base and the devices it covers. */
export interface acpi_dmar_hardware_unit {
  /** Register base of the remapping unit. */
  address: number;
  /** INCLUDE_PCI_ALL: covers every PCI device. */
  include_all: boolean;
  segment: number;
}

export interface firmware_tables {
  /** ACPI MCFG: base of the ECAM window of segment 0, buses 0-255. */
  mcfg_base: number | null;
  /** ACPI DMAR: the remapping hardware units. */
  dmar_units: acpi_dmar_hardware_unit[];
  /** DMAR table flags: INTR_REMAP (bit 0), X2APIC_OPT_OUT (bit 1). */
  dmar_flags: number;
  /**
   * ACPI PCI host bridges (PNP0A08): the root bus of each. Servers have
   * several (one per root complex); irqlab has no PCI-to-PCI bridges, so
   * every device sits on a root bus.
   */
  pci_root_buses: number[];
}

export function firmware(): firmware_tables {
  return K.state<firmware_tables>("firmware", () => ({ mcfg_base: null, dmar_units: [], dmar_flags: 0, pci_root_buses: [0] }));
}
