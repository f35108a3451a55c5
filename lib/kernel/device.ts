// SPDX-License-Identifier: GPL-2.0-only
// include/linux/device.h, reduced: what the interrupt code needs of a device
// (its name, its MSI domain and MSI data, its driver).

/** struct dev_msi_info */
export interface dev_msi_info {
  /** dev->msi.domain: the MSI domain (a parent for per-device domains) */
  domain: unknown;
  /** dev->msi.data: struct msi_device_data */
  data: unknown;
}

/** struct device */
export class device {
  readonly msi: dev_msi_info = { domain: null, data: null };
  driver_name: string | undefined = undefined;
  parent: device | null = null;
  /** NUMA node; irqlab has one node. */
  numa_node = -1;
  /** devres actions run at release (device_release_driver()). */
  readonly devres: (() => void)[] = [];
  constructor(readonly init_name: string) {}
  /** dev_name() */
  get dev_name(): string {
    return this.init_name;
  }
}

export function dev_name(dev: device): string {
  return dev.init_name;
}

export function dev_to_node(dev: device): number {
  return dev.numa_node;
}

/** devm_add_action(): run `fn` when the device's resources are released. */
export function devm_add_action(dev: device, fn: () => void): number {
  dev.devres.push(fn);
  return 0;
}

/** Release the device's managed resources, newest first. */
export function devres_release_all(dev: device): void {
  while (dev.devres.length > 0) dev.devres.pop()!();
}
