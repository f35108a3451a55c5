// SPDX-License-Identifier: GPL-2.0-only
// arch/x86/kernel/apic/msi.c (CONFIG_DMAR_TABLE part): the "DMAR-MSI"
// domain on top of the vector domain that carries a remapping unit's own
// fault-event interrupt. The unit's message is compatibility format: it is
// how the remapping hardware reports that remapping failed, so it cannot go
// through remapping itself.
//
// In Linux this sits in arch/x86; it lives beside dmar.c here because its
// chip callbacks are dmar.c's register accessors and irqchip/ may not import
// drivers/ (DESIGN.md section 3).

import { K } from "../../../lib/kernel/kernel.ts";
import { mutex_init, mutex_lock, mutex_unlock } from "../../../lib/kernel/mutex.ts";
import { irq_chip_ack_parent, irq_chip_retrigger_hierarchy } from "../../../lib/irq/chip.ts";
import { handle_edge_irq } from "../../../lib/irq/flow.ts";
import { IRQCHIP_AFFINITY_PRE_STARTUP, IRQCHIP_SKIP_SET_WAKE, type irq_chip, type irq_data } from "../../../lib/irq/irq.ts";
import { irq_domain_alloc_irqs, irq_domain_free_irqs, irq_domain_set_info, irq_domain_alloc_named_fwnode, irq_domain_free_fwnode, type irq_domain } from "../../../lib/irq/irqdomain.ts";
import { irq_get_handler_data } from "../../../lib/irq/irqdesc.ts";
import { msi_create_irq_domain, MSI_FLAG_USE_DEF_DOM_OPS, type msi_alloc_info_t, type msi_domain_info } from "../../../lib/irq/msi.ts";
import { msi_domain_set_affinity } from "../../../lib/irq/msi_alloc.ts";
import type { msi_msg } from "../../../lib/irq/msi_types.ts";
import { __irq_msi_compose_msg, irqd_cfg, init_irq_alloc_info, x86_vector_domain } from "../../../irqchip/x86/vector.ts";
import { X86_IRQ_ALLOC_TYPE_DMAR } from "../../../irqchip/x86/msi.ts";
import { dmar_msi_mask, dmar_msi_unmask, dmar_msi_write } from "./dmar.ts";
import type { intel_iommu } from "./iommu.ts";

// arch/x86/kernel/apic/msi.c: dmar_msi_compose_msg(); the unit takes the high
// destination bits in address_hi, which a PCI device could not
function dmar_msi_compose_msg(data: irq_data, msg: msi_msg): void {
  __irq_msi_compose_msg(irqd_cfg(data)!, msg, true);
}

// arch/x86/kernel/apic/msi.c: dmar_msi_write_msg()
function dmar_msi_write_msg(data: irq_data, msg: msi_msg): void {
  dmar_msi_write(irq_get_handler_data<intel_iommu>(data.irq)!, data.irq, msg);
}

/** static struct irq_chip dmar_msi_controller */
const dmar_msi_controller: irq_chip = {
  name: "DMAR-MSI",
  // drivers/iommu/intel/dmar.c: dmar_msi_unmask()
  irq_unmask: (d) => dmar_msi_unmask(irq_get_handler_data<intel_iommu>(d.irq)!, d.irq),
  // drivers/iommu/intel/dmar.c: dmar_msi_mask()
  irq_mask: (d) => dmar_msi_mask(irq_get_handler_data<intel_iommu>(d.irq)!, d.irq),
  irq_ack: irq_chip_ack_parent,
  irq_set_affinity: msi_domain_set_affinity,
  irq_retrigger: irq_chip_retrigger_hierarchy,
  irq_compose_msi_msg: dmar_msi_compose_msg,
  irq_write_msi_msg: dmar_msi_write_msg,
  flags: IRQCHIP_SKIP_SET_WAKE | IRQCHIP_AFFINITY_PRE_STARTUP,
};

// arch/x86/kernel/apic/msi.c: dmar_msi_init()
function dmar_msi_init(domain: irq_domain, info: msi_domain_info, virq: number, _hwirq: number, arg: msi_alloc_info_t): number {
  irq_domain_set_info(domain, virq, arg["devid"] as number, info.chip, null, handle_edge_irq, arg["data"], "edge");
  return 0;
}

function dmar_msi_domain_info(): msi_domain_info {
  return {
    flags: MSI_FLAG_USE_DEF_DOM_OPS,
    bus_token: 0,
    hwsize: 0,
    ops: { msi_init: dmar_msi_init },
    chip: { ...dmar_msi_controller },
    chip_data: null,
    handler: null,
    handler_data: null,
    handler_name: null,
    data: null,
  };
}

interface DmarMsiState {
  domain: irq_domain | null;
  lock: ReturnType<typeof mutex_init>;
}

// arch/x86/kernel/apic/msi.c: dmar_get_irq_domain(), created on first use
async function dmar_get_irq_domain(): Promise<irq_domain | null> {
  const s = K.state<DmarMsiState>("dmar_msi", () => ({ domain: null, lock: mutex_init("dmar_lock") }));
  await mutex_lock(s.lock);
  if (!s.domain) {
    const fn = irq_domain_alloc_named_fwnode("DMAR-MSI");
    s.domain = await msi_create_irq_domain(fn, dmar_msi_domain_info(), x86_vector_domain());
    if (!s.domain) irq_domain_free_fwnode(fn);
  }
  mutex_unlock(s.lock);
  return s.domain;
}

// arch/x86/kernel/apic/msi.c: dmar_alloc_hwirq()
export async function dmar_alloc_hwirq(id: number, node: number, arg: unknown): Promise<number> {
  const domain = await dmar_get_irq_domain();
  if (!domain) return -1;
  const info = init_irq_alloc_info({}, null);
  info.type = X86_IRQ_ALLOC_TYPE_DMAR;
  info["devid"] = id;
  info["hwirq"] = id;
  info["data"] = arg;
  return irq_domain_alloc_irqs(domain, 1, node, info);
}

// arch/x86/kernel/apic/msi.c: dmar_free_hwirq()
export async function dmar_free_hwirq(irq: number): Promise<void> {
  await irq_domain_free_irqs(irq, 1);
}
