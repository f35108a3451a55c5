// SPDX-License-Identifier: GPL-2.0-only
// Mutants of the shipped chips caught by a named check of the conformance
// suite: each one a buggy variant of PCI-MSIX, INTEL-IR or an IMS chip,
// applied to the rig's machine (the chip of its device domain) or process
// wide (intel_ir_chip), never by editing the shipped source.

import { __mutex_lock, mutex_init, mutex_unlock, type mutex } from "../../lib/kernel/mutex.ts";
import { ioread32, iowrite32 } from "../../lib/kernel/io.ts";
import { IRQ_SET_MASK_OK_DONE, irq_data_get_msi_desc, type irq_chip, type irq_data } from "../../lib/irq/irq.ts";
import { irq_get_irq_data } from "../../lib/irq/irqdesc.ts";
import { irq_chip_orig } from "../../lib/irq/trace.ts";
import type { cpumask } from "../../lib/kernel/cpumask.ts";
import { intel_ir_chip } from "../../drivers/iommu/intel/irq_remapping.ts";
import { CTRL_VECTOR_MASKBIT } from "../../irqchip/irq-pci-intel-idxd.ts";
import type { msi_msg } from "../../lib/irq/msi_types.ts";
import { mlx5_ims_chip_data_of } from "../../irqchip/irq-mlx5-ims.ts";
import { mlx5ImsRig, testnicMsixRig } from "../../lib/review/subjects.ts";
import type { ChipRig } from "../../lib/review/conformance.ts";
import { patchChip, type Mutant } from "./harness.ts";
import { imsSubject } from "./rigs.ts";

/** The registered chip (not its traced view) of the outermost level of the rig's interrupt `k`. */
export function rigChip(rig: ChipRig, k = 0): irq_chip {
  return rig.m.enter(() => irq_chip_orig(irq_get_irq_data(rig.irqs[k]!)!.chip));
}

const IMS_SLOT_CTRL = 0xc;

const msix = { name: "PCI-MSIX (test NIC, x86 vector domain)", factory: testnicMsixRig(false) };
const irMsix = { name: "IR-PCI-MSIX (test NIC, Intel interrupt remapping)", factory: testnicMsixRig(true) };
const mlx5Ims = { name: "MLX5-IMS (queue-backed mlx5 IMS, x86 vector domain)", factory: mlx5ImsRig(false), options: { mask: "lazy" as const } };

export const conformanceMutants: Mutant[] = [
  {
    name: "sleep in irq_mask",
    bug: "the 2022 IDXD chip's irq_mask takes a mutex (a sleeping lock, as a slow-bus register access would) around its ctrl write",
    mutateRig(rig) {
      const lock: mutex = rig.m.enter(() => mutex_init("ims_slot_mutex"));
      patchChip(rigChip(rig), "irq_mask", (orig) => (d: irq_data) => {
        // uncontended: __mutex_lock() takes it at once, after might_sleep()
        void __mutex_lock(lock);
        orig(d);
        mutex_unlock(lock);
      });
    },
    catch: { how: "conformance", subject: imsSubject({ chip: "idxd" }), check: "context", message: /sleeping function called from invalid context/ },
  },
  {
    name: "ctrl RMW without the lock",
    bug: "the 2022 IDXD chip masks and unmasks with an unserialised read-modify-write of ctrl (as the 2020 chip does) on a device whose pending latch shows in ctrl as write-1-to-clear: the ctrl value read back carries the device's latch, the write clears it",
    mutateRig(rig) {
      const chip = rigChip(rig);
      const rmw = (set: boolean) => (d: irq_data) => {
        const slot = irq_data_get_msi_desc(d)!.data.dcookie.iobase + IMS_SLOT_CTRL;
        const v = ioread32(slot);
        iowrite32((set ? v | CTRL_VECTOR_MASKBIT : v & ~CTRL_VECTOR_MASKBIT) >>> 0, slot);
        ioread32(slot);
      };
      patchChip(chip, "irq_mask", () => rmw(true));
      patchChip(chip, "irq_unmask", () => rmw(false));
    },
    catch: { how: "conformance", subject: imsSubject({ chip: "idxd", pendingStatus: "rw1c" }), check: "unmask-latched", message: /was lost: irq_unmask\(\) did not deliver it/ },
  },
  {
    name: "no pending latch",
    bug: "an IMS slot that drops a raise while masked (device knob pending: \"drop\") under the 2022 IDXD chip, whose irq_unmask has no resend",
    subject: imsSubject({ chip: "idxd", pending: "drop" }),
    catch: { how: "conformance", subject: imsSubject({ chip: "idxd" }), check: "unmask-latched", message: /was lost: irq_unmask\(\) did not deliver it/ },
  },
  {
    name: "enable without resend of a pending interrupt",
    bug: "the 2022 IDXD chip gets an irq_retrigger that claims the retrigger (returns 1) and resends nothing, so check_irq_resend() at enable_irq() neither retriggers through the hierarchy nor falls back to the software resend; on a slot that drops raises while masked the interrupt genirq marked pending is lost",
    mutateRig(rig) {
      patchChip(rigChip(rig), "irq_retrigger", () => () => 1);
    },
    catch: { how: "conformance", subject: imsSubject({ chip: "idxd", pending: "drop" }), check: "disable-enable", message: /were lost on enable_irq\(\)/ },
  },
  {
    name: "IRQ_SET_MASK_OK_DONE misuse (PCI-MSIX claims the message is done)",
    bug: "PCI-MSIX's irq_set_affinity moves the vector in the parent and returns IRQ_SET_MASK_OK_DONE without writing the new message to the device",
    mutateRig(rig) {
      patchChip(rigChip(rig), "irq_set_affinity", () => (d: irq_data, mask: cpumask, force: boolean) => {
        const parent = d.parent_data!;
        const ret = parent.chip.irq_set_affinity!(parent, mask, force);
        return ret < 0 ? ret : IRQ_SET_MASK_OK_DONE;
      });
    },
    catch: { how: "conformance", subject: msix, check: "affinity", message: /the move never happened/ },
  },
  {
    name: "IRQ_SET_MASK_OK_DONE misuse (INTEL-IR returns OK_DONE without the IRTE)",
    bug: "INTEL-IR's irq_set_affinity moves the vector and returns IRQ_SET_MASK_OK_DONE without rewriting the IRTE: the device keeps its message, the remapping unit the old vector",
    apply() {
      return patchChip(intel_ir_chip, "irq_set_affinity", () => (d: irq_data, mask: cpumask, force: boolean) => {
        const parent = d.parent_data!;
        const ret = parent.chip.irq_set_affinity!(parent, mask, force);
        return ret < 0 ? ret : IRQ_SET_MASK_OK_DONE;
      });
    },
    catch: { how: "conformance", subject: irMsix, check: "affinity", message: /it was handled on CPU\d \(no deferred move was pending\)/ },
  },
  {
    name: "one pending async push (mlx5 IMS)",
    bug: "the mlx5 IMS chip remembers one entry for its async push (the last message an affinity change recorded without remapping) instead of a set: when two interrupts move before the work runs, the first one's device entry keeps the old message",
    mutateRig(rig) {
      const ims = rig.m.enter(() => mlx5_ims_chip_data_of(irq_get_irq_data(rig.irqs[0]!)!));
      patchChip(rigChip(rig), "irq_write_msi_msg", (orig) => (d: irq_data, msg: msi_msg) => {
        orig(d, msg);
        const index = irq_data_get_msi_desc(d)!.msi_index;
        if (!ims.async_dirty.has(index)) return;
        // the single "entry to push" field overwritten
        ims.async_dirty.clear();
        ims.async_dirty.add(index);
      });
    },
    catch: { how: "conformance", subject: mlx5Ims, check: "message", message: /the deferred update never reached the device/ },
  },
];
