// SPDX-License-Identifier: GPL-2.0-only
// Mutants caught by a checker of an exploration run (lib/explore) at a
// pinned seed, strategy and fault plan. The seeds were found with
// test/mutants/search.ts and pinned; each test also runs the same seed on
// the shipped code, which must come out clean.
//
// Every mutant patches a process-wide object for the duration of one run:
// a chip the remapping or vector domain installs (intel_ir_chip,
// lapic_controller), the x86 MSI parent's init_dev_msi_info (which builds
// the per-device PCI-MSIX chip during the run), or an irqlab test hook.

import { IRQ_SET_MASK_OK, type irq_data } from "../../lib/irq/irq.ts";
import { irqlab_free_irq_skip_synchronize } from "../../lib/irq/manage.ts";
import { msi_domain_set_affinity } from "../../lib/irq/msi_alloc.ts";
import type { msi_domain_info } from "../../lib/irq/msi.ts";
import { cpu_online, type cpumask } from "../../lib/kernel/cpumask.ts";
import { intel_ir_chip, irqlab_ir_skip_iec_flush } from "../../drivers/iommu/intel/irq_remapping.ts";
import { apic_chip_data, lapic_controller } from "../../irqchip/x86/vector.ts";
import { x86_vector_msi_parent_ops } from "../../irqchip/x86/msi.ts";
import { freeRace, tornMove } from "./scenarios.ts";
import { patch, patchChip, type Mutant } from "./harness.ts";

export const exploredMutants: Mutant[] = [
  {
    name: "missing IEC flush",
    bug: "INTEL-IR's irq_set_affinity rewrites the IRTE through modify_irte() without qi_flush_iec() (the irqlab_ir_skip_iec_flush hook held on for the call): the remapping unit keeps delivering the cached entry",
    apply() {
      return patchChip(intel_ir_chip, "irq_set_affinity", (orig) => (d: irq_data, mask: cpumask, force: boolean) => {
        const old = irqlab_ir_skip_iec_flush(true);
        try {
          return orig(d, mask, force);
        } finally {
          irqlab_ir_skip_iec_flush(old);
        }
      });
    },
    catch: { how: "explore", scenario: "msix-churn-ir", seed: 1, strategy: "pct:1:3:48", faults: null, checker: "irte-live-vector" },
  },
  {
    name: "message rewritten while unmasked under torn latching",
    bug: "PCI-MSIX without remapping gets the generic msi_domain_set_affinity() instead of x86's msi_set_affinity(): the message is rewritten in one step, so a device latching address and data apart sends the new vector to the old CPU",
    apply() {
      const orig = x86_vector_msi_parent_ops.init_dev_msi_info;
      return patch(x86_vector_msi_parent_ops, "init_dev_msi_info", (dev, domain, real_parent, info) => {
        const ok = orig(dev, domain, real_parent, info);
        const chip = (info as msi_domain_info).chip;
        if (ok && chip) chip.irq_set_affinity = msi_domain_set_affinity;
        return ok;
      });
    },
    catch: { how: "explore", scenario: tornMove, seed: 1, strategy: "pct:1:3:48", faults: null, checker: "no-stray-vector" },
  },
  {
    name: "free without synchronize",
    bug: "free_irq() returns without __synchronize_hardirq() (the irqlab_free_irq_skip_synchronize hook): the handler may still run on another CPU after it returned",
    apply() {
      const old = irqlab_free_irq_skip_synchronize(true);
      return () => void irqlab_free_irq_skip_synchronize(old);
    },
    catch: { how: "explore", scenario: freeRace, seed: 1, strategy: "pct:1:3:48", faults: null, checker: "no-handler-after-free" },
  },
  {
    name: "free without synchronize (stock churn)",
    bug: "the same hook in the stock msix-churn scenario, whose queue handlers declare their time with irqlab_handler_busy(): q2's free_irq()/request_irq() cycle returns while a handler still runs on another CPU",
    apply() {
      const old = irqlab_free_irq_skip_synchronize(true);
      return () => void irqlab_free_irq_skip_synchronize(old);
    },
    catch: { how: "explore", scenario: "msix-churn", seed: 1, strategy: "pct:1:3:48", faults: null, checker: "no-handler-after-free", message: /after free_irq\(\) returned/ },
  },
  {
    name: "free without synchronize (IMS churn)",
    bug: "the same hook in the stock ims-churn-idxd scenario, whose slot handlers declare their time with irqlab_handler_busy(): a free_irq()/request_irq() cycle of an IMS interrupt returns while its handler still runs on another CPU",
    apply() {
      const old = irqlab_free_irq_skip_synchronize(true);
      return () => void irqlab_free_irq_skip_synchronize(old);
    },
    catch: { how: "explore", scenario: "ims-churn-idxd", seed: 8, strategy: "pct:8:3:48", faults: null, checker: "no-handler-after-free", message: /after free_irq\(\) returned/ },
  },
  {
    name: "affinity to an offline CPU",
    bug: "the x86 vector domain's irq_set_affinity accepts the CPU an interrupt targets although it went offline (returns IRQ_SET_MASK_OK and keeps the vector there), so the hotplug migration leaves the interrupt on the dead CPU",
    apply() {
      return patchChip(lapic_controller, "irq_set_affinity", (orig) => (d: irq_data, mask: cpumask, force: boolean) => {
        const apicd = apic_chip_data(d);
        if (apicd && apicd.vector && !cpu_online(apicd.cpu)) return IRQ_SET_MASK_OK;
        return orig(d, mask, force);
      });
    },
    catch: { how: "explore", scenario: "msix-churn-ir", seed: 1, strategy: "pct:1:3:48", faults: "cpu-offline", checker: "no-lost-interrupt" },
  },
];
