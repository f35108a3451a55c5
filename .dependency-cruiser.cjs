// SPDX-License-Identifier: GPL-2.0-only
// The layer table of DESIGN.md section 3, enforced on every `npm test`.
const layer = (name, path, mayImport) => ({ name, path, mayImport });
const L = {
  sim: "^lib/sim/",
  hw: "^lib/hw/",
  hwdev: "^lib/hw/devices/",
  kernel: "^lib/kernel/",
  irq: "^lib/irq/",
  chips: "^irqchip/",
  drivers: "^drivers/",
  machine: "^lib/machine",
  tooling: "^(lib/review/|lib/explore/|bin/)",
};
module.exports = {
  forbidden: [
    { name: "sim-is-the-bottom", severity: "error", comment: "lib/sim imports nothing else of irqlab",
      from: { path: L.sim }, to: { path: "^(lib/(?!sim/)|irqchip/|drivers/|bin/)" } },
    { name: "hw-only-sim", severity: "error", comment: "hardware models import only lib/sim",
      from: { path: L.hw }, to: { path: "^(lib/(?!sim/|hw/)|irqchip/|drivers/|bin/)" } },
    { name: "kernel-no-devices", severity: "error", comment: "kernel primitives see the bus interfaces of lib/hw, never device internals",
      from: { path: L.kernel }, to: { path: "^(lib/hw/devices/|lib/irq/|lib/machine|lib/review/|irqchip/|drivers/|bin/)" } },
    { name: "irq-only-kernel-sim", severity: "error", comment: "genirq imports lib/kernel and lib/sim",
      from: { path: L.irq }, to: { path: "^(lib/hw/|lib/machine|lib/review/|irqchip/|drivers/|bin/)" } },
    { name: "chips-below-drivers", severity: "error", comment: "irqchip imports lib/irq and lib/kernel",
      from: { path: L.chips }, to: { path: "^(lib/hw/|lib/machine|lib/review/|drivers/|bin/)" } },
    { name: "drivers-no-hw-internals", severity: "error", comment: "drivers touch hardware only through kernel accessors",
      from: { path: L.drivers }, to: { path: "^(lib/hw/|lib/machine|lib/review/|bin/)" } },
    { name: "machine-not-tooling", severity: "error", comment: "the machine does not import tooling",
      from: { path: L.machine }, to: { path: "^(lib/review/|lib/explore/|bin/)" } },
    { name: "no-circular", severity: "error", from: {}, to: { circular: true, viaOnly: { path: "^(lib/sim|lib/hw)/" } } },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: { extensions: [".ts", ".js"] },
  },
};
