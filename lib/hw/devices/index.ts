// SPDX-License-Identifier: GPL-2.0-only
// Device specs a machine can be built with, and their factory.

import { SimulatorError } from "../../sim/sim.ts";
import type { PciFunction } from "../pci.ts";
import type { Platform } from "../platform.ts";
import { TestNic, type TestNicOptions } from "./testnic.ts";
import { Mlx5Nic, type Mlx5Options } from "./mlx5/mlx5.ts";
import { ImsDevice, type ImsDeviceOptions } from "./ims.ts";

export type PciDeviceSpec = ({ type: "testnic" } & TestNicOptions) | ({ type: "ims" } & ImsDeviceOptions) | ({ type: "mlx5" } & Mlx5Options);

/** Build a device from its spec and plug it into the platform's PCI bus. */
export function createPciDevice(p: Platform, spec: PciDeviceSpec): PciFunction {
  let dev: PciFunction;
  switch (spec.type) {
    case "testnic":
      dev = new TestNic(p, spec);
      break;
    case "mlx5":
      dev = new Mlx5Nic(p, spec);
      break;
    case "ims":
      dev = new ImsDevice(p, spec);
      break;
    default:
      throw new SimulatorError(`irqlab: unknown PCI device type "${String((spec as { type: unknown }).type)}"`);
  }
  p.pci.add(dev);
  return dev;
}
