// SPDX-License-Identifier: GPL-2.0-only
// The acquire sites the x86 vector domain, the x86 MSI parent and the
// INTEL-IR chip name for vector_lock, desc->lock in fixup_irqs() and
// irq_2_ir_lock (site_of(), instead of a stack capture on every
// acquisition) must be the sites a stack capture finds: with
// lockdep_check_ip the kernel captures as well and a difference is a
// SimulatorError, which an exploration run reports as a "machine"
// violation. The churn scenarios with CPU offline take all of them:
// allocation, activation, affinity changes with and without remapping,
// cleanup, retrigger, forced move completion, fixup_irqs(), lapic_online(),
// deactivation and free.

import { expect } from "chai";
import { runSeed } from "../../../lib/explore/index.ts";

describe("irqchip/x86 and intel-iommu: named vector_lock and irq_2_ir_lock sites match the captured ones (lockdep_check_ip)", function () {
  this.timeout(120_000);

  for (const sc of ["msix-churn", "msix-churn-ir", "ims-churn-idxd"]) {
    it(`${sc} under cpu-offline faults, three seeds`, async () => {
      for (const seed of [1, 2, 87]) {
        const r = await runSeed(sc, seed, "fifo", "cpu-offline", { machine: { config: { lockdep_check_ip: true } } });
        expect(r.violations.map((v) => `${v.checker}: ${v.message}`), `${sc} seed ${seed}`).to.deep.equal([]);
        expect(r.faultsFired, `${sc} seed ${seed}: the CPU went offline`).to.be.greaterThan(0);
      }
    });
  }
});
