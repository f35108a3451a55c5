// SPDX-License-Identifier: GPL-2.0-only
// PCI core helpers mlx5 uses that irqlab's drivers/pci does not render yet,
// with their kernel names: pci_channel_offline() (no AER in irqlab: a channel
// is never offline), and pci_save_state()/pci_restore_state() reduced to the
// type 0 header (command register and BARs), which is what a function needs
// back after a reset took them away. They belong in drivers/pci.

import { PCI_BASE_ADDRESS_0, PCI_COMMAND, pci_cfg_readl, pci_cfg_readw, pci_write_config_dword, pci_write_config_word, type pci_dev } from "../../../pci/pci.ts";

const saved = new WeakMap<pci_dev, { command: number; bars: number[] }>();

// include/linux/pci.h: pci_channel_offline()
export function pci_channel_offline(_pdev: pci_dev): boolean {
  return false;
}

// drivers/pci/pci.c: pci_save_state(), type 0 header only
export function pci_save_state(pdev: pci_dev): number {
  const bars: number[] = [];
  for (let i = 0; i < 6; i++) bars.push(pci_cfg_readl(pdev, PCI_BASE_ADDRESS_0 + 4 * i));
  saved.set(pdev, { command: pci_cfg_readw(pdev, PCI_COMMAND), bars });
  return 0;
}

// drivers/pci/pci.c: pci_restore_state(), type 0 header only
export function pci_restore_state(pdev: pci_dev): void {
  const s = saved.get(pdev);
  if (!s) return;
  for (let i = 0; i < 6; i++) if (pci_cfg_readl(pdev, PCI_BASE_ADDRESS_0 + 4 * i) !== s.bars[i]) pci_write_config_dword(pdev, PCI_BASE_ADDRESS_0 + 4 * i, s.bars[i]!);
  pci_write_config_word(pdev, PCI_COMMAND, s.command);
}
