// SPDX-License-Identifier: GPL-2.0-only
// Step checkers: invariants of the live interrupt state, cheap enough to run
// at every scheduling point. Each reads kernel and hardware state through
// back doors only (no locks taken, no chip callback called through its
// traced wrapper), so checking never changes the run or its trace.

import type { Machine } from "../machine.ts";
import { K } from "../kernel/kernel.ts";
import { cpu_online } from "../kernel/cpumask.ts";
import { for_each_irq_desc, irq_desc } from "../irq/irqdesc.ts";
import {
  irqd_affinity_is_managed,
  irqd_irq_disabled,
  irqd_irq_inprogress,
  irqd_irq_masked,
  irqd_is_activated,
  irqd_is_managed_and_shutdown,
  irqd_is_started,
  type irq_data,
} from "../irq/irq.ts";
import { IRQS_PENDING, IRQS_REPLAY, irq_settings_is_per_cpu_devid } from "../irq/internals.ts";
import { irq_chip_orig } from "../irq/trace.ts";
import { MSI_DEFAULT_DOMAIN } from "../irq/msi.ts";
import { msi_msg } from "../irq/msi_types.ts";
import { irq_get_irq_data } from "../irq/irqdesc.ts";
import type { MsixCapability } from "../hw/msix.ts";
import type { PciFunction } from "../hw/pci.ts";
import type { IrteFields, VtdUnit } from "../hw/vtd.ts";
import { apic_chip_data, irqd_cfg, type vector_irq_entry, lapic_controller, vector_irq, vector_matrix, vs_lock, MANAGED_IRQ_SHUTDOWN_VECTOR } from "../../irqchip/x86/vector.ts";
import { intel_ir_chip, intel_ir_irte_of, irq_remapping_enabled, type intel_ir_data } from "../../drivers/iommu/intel/irq_remapping.ts";
import { pci_all_devices, pci_name } from "../../drivers/pci/pci.ts";
import { PCI_MSIX_ENTRY_CTRL_MASKBIT } from "../../drivers/pci/msi/msi.ts";
import { allMessageProbes, levelProbesFor, msiDescs, registerChecker, registerLevelProbe, registerMessageProbe, type Finding } from "./check.ts";

const hex = (v: number): string => `0x${(v >>> 0).toString(16)}`;

function hasVectorDomain(): boolean {
  return K.hasState("x86_vector");
}

/** The descriptors a step may look at: not per-CPU, lock free. */
function* quietDescs(): Generator<irq_desc> {
  for (const desc of for_each_irq_desc()) {
    if (desc.lock.owner !== -1 || irq_settings_is_per_cpu_devid(desc)) continue;
    yield desc;
  }
}

// ------------------------------------------------------------ irq-state-consistent

registerChecker({
  name: "irq-state-consistent",
  description: "desc->depth and the IRQD state agree: depth > 0 exactly when IRQD_IRQ_DISABLED; a started line is activated; an enabled, idle line with handlers is not masked",
  when: "step",
  check() {
    const out: Finding[] = [];
    for (const desc of quietDescs()) {
      const d = desc.irq_data;
      const irq = d.irq;
      if (desc.depth < 0) out.push({ key: `depth<0 ${irq}`, message: `irq ${irq}: desc->depth is ${desc.depth}` });
      const disabled = irqd_irq_disabled(d);
      if (disabled !== desc.depth > 0) {
        out.push({ key: `depth/disabled ${irq}`, message: `irq ${irq}: desc->depth ${desc.depth} but IRQD_IRQ_DISABLED is ${disabled ? "set" : "clear"}` });
      }
      if (irqd_is_started(d) && !irqd_is_activated(d)) out.push({ key: `started/activated ${irq}`, message: `irq ${irq}: started but not activated` });
      const idle =
        desc.depth === 0 &&
        desc.action !== null &&
        !irqd_irq_inprogress(d) &&
        desc.threads_active === 0 &&
        desc.threads_oneshot === 0n &&
        (desc.istate & (IRQS_PENDING | IRQS_REPLAY)) === 0;
      if (idle && irqd_irq_masked(d)) out.push({ key: `masked ${irq}`, message: `irq ${irq} (${desc.action!.name}): enabled and idle but IRQD_IRQ_MASKED: its interrupts are held back` });
    }
    return out;
  },
});

// ------------------------------------------------------------ hierarchy-activated

registerChecker({
  name: "hierarchy-activated",
  description: "an activated interrupt has its resources at every level below it: a parent irq_data per parent domain, and what each level's probe requires (a vector in vector_irq, a present IRTE naming that vector, ...)",
  when: "step",
  check(env) {
    const out: Finding[] = [];
    for (const desc of quietDescs()) {
      const top = desc.irq_data;
      if (!irqd_is_activated(top)) continue;
      for (let x: irq_data | null = top; x; x = x.parent_data) {
        const dom = x.domain;
        if (dom?.parent && !x.parent_data) {
          out.push({ key: `parent ${top.irq} ${dom.name}`, message: `irq ${top.irq}: activated, level ${dom.name} has no parent irq_data in ${dom.parent.name}` });
          break;
        }
        for (const p of levelProbesFor(x)) {
          const why = p.check(x, desc, env.m);
          if (!why) continue;
          const subject = p.subject?.(x, desc, env.m);
          out.push({
            key: `${p.name} ${top.irq}`,
            message: `irq ${top.irq}: activated, but at level ${irq_chip_orig(x.chip).name} (${p.name}): ${why}`,
            ...(subject ? { about: { irq: top.irq, ...subject } } : {}),
          });
        }
      }
    }
    return out;
  },
});

registerLevelProbe({
  name: "x86-vector",
  match: (d) => irq_chip_orig(d.chip) === lapic_controller,
  check(d, desc) {
    const apicd = apic_chip_data(d);
    if (!apicd) return "no apic_chip_data";
    if (apicd.vector === 0) return "no vector assigned";
    if (apicd.vector === MANAGED_IRQ_SHUTDOWN_VECTOR) {
      // reservation and managed shutdown park the interrupt on this vector
      if (irqd_is_started(d) && !(irqd_affinity_is_managed(d) && irqd_is_managed_and_shutdown(d))) return "started on MANAGED_IRQ_SHUTDOWN_VECTOR";
      return null;
    }
    if (!cpu_online(apicd.cpu)) return `vector ${hex(apicd.vector)} on offline CPU${apicd.cpu}`;
    const slot = vector_irq(apicd.cpu)[apicd.vector];
    if (slot !== desc) return `vector_irq[CPU${apicd.cpu}][${hex(apicd.vector)}] is ${slotName(slot)}, not this descriptor`;
    return null;
  },
  // the interrupt's own vector is dead (offline CPU, or a slot that routes
  // nowhere); a slot naming another descriptor is a double assignment
  subject(d) {
    const apicd = apic_chip_data(d);
    if (!apicd || apicd.vector === 0 || apicd.vector === MANAGED_IRQ_SHUTDOWN_VECTOR) return null;
    if (cpu_online(apicd.cpu) && vector_irq(apicd.cpu)[apicd.vector] instanceof irq_desc) return null;
    return { cpu: apicd.cpu, vector: apicd.vector };
  },
});

/** The interrupt's vector level is parked on MANAGED_IRQ_SHUTDOWN_VECTOR: its irq_cfg, which the IRTE is composed from, names it. */
function parkedOnShutdownVector(desc: irq_desc): boolean {
  for (let d: irq_data | null = desc.irq_data; d; d = d.parent_data) if (irq_chip_orig(d.chip) === lapic_controller) return irqd_cfg(d)?.vector === MANAGED_IRQ_SHUTDOWN_VECTOR;
  return false;
}

function slotName(slot: vector_irq_entry | undefined): string {
  if (slot instanceof irq_desc) return `irq ${slot.irq_data.irq}`;
  if (slot === null || slot === undefined) return "VECTOR_UNUSED";
  return slot;
}

registerLevelProbe({
  name: "intel-ir",
  match: (d) => irq_chip_orig(d.chip) === intel_ir_chip,
  check(d, _desc, m) {
    const unit = m.iommu;
    if (!unit) return "no remapping unit";
    const ird = d.chip_data as intel_ir_data | null;
    if (!ird) return "no intel_ir_data";
    const index = ird.irq_2_iommu.irte_index + ird.irq_2_iommu.sub_handle;
    const e = unit.readIrte(index);
    const cfg = irqd_cfg(d);
    if (!e.present) return `IRTE ${index} not present`;
    if (cfg && (e.vector !== cfg.vector || ((e.dest_id >>> 8) & 0xff) !== cfg.dest_apicid)) {
      return `IRTE ${index} names vector ${hex(e.vector)} on APIC ${(e.dest_id >>> 8) & 0xff}, the vector domain has ${hex(cfg.vector)} on APIC ${cfg.dest_apicid}`;
    }
    return null;
  },
});

// ------------------------------------------------------------ vector-matrix-balanced

registerChecker({
  name: "vector-matrix-balanced",
  description: "the vector matrix (kernel/irq/matrix.c) accounts exactly the vectors in use: per CPU, allocated = bits in alloc_map, available = size - system - managed - (allocated - managed_allocated), online CPUs' alloc_map bits = vector_irq[] entries naming a descriptor, global_available = sum over online CPUs",
  when: "step",
  check() {
    if (!hasVectorDomain() || vs_lock().owner !== -1) return [];
    const out: Finding[] = [];
    const m = vector_matrix();
    let avl = 0;
    m.maps.forEach((cm, cpu) => {
      let bits = 0;
      const vi = vector_irq(cpu);
      for (let v = m.alloc_start; v < m.alloc_end; v++) {
        const used = cm.alloc_map[v] === 1;
        if (used) bits++;
        if (!cm.online) continue;
        const isDesc = vi[v] instanceof irq_desc;
        if (used && !isDesc) out.push({ key: `alloc-no-desc ${cpu} ${v}`, message: `CPU${cpu} vector ${hex(v)} allocated in the matrix, vector_irq has ${slotName(vi[v])}`, about: { cpu, vector: v } });
        else if (!used && isDesc) out.push({ key: `desc-no-alloc ${cpu} ${v}`, message: `CPU${cpu} vector ${hex(v)} routes to ${slotName(vi[v])} but is free in the matrix` });
      }
      if (bits !== cm.allocated) out.push({ key: `allocated ${cpu}`, message: `CPU${cpu}: allocated ${cm.allocated}, alloc_map has ${bits} bits` });
      if (cm.initialized) {
        const want = m.alloc_size - m.systembits_inalloc - cm.managed - (cm.allocated - cm.managed_allocated);
        if (cm.available !== want) out.push({ key: `available ${cpu}`, message: `CPU${cpu}: available ${cm.available}, accounting says ${want}` });
      }
      if (cm.online) avl += cm.available;
    });
    if (avl !== m.global_available) out.push({ key: "global_available", message: `global_available ${m.global_available}, online CPUs have ${avl}` });
    return out;
  },
});

// ------------------------------------------------------------ irte-live-vector

registerChecker({
  name: "irte-live-vector",
  description: "every present IRTE of a remapped interrupt, and every IRTE the unit's interrupt entry cache holds, targets a live vector of its interrupt; a cached IRTE equals the table's",
  when: "step",
  check(env) {
    const unit = env.m.iommu;
    if (!unit || !hasVectorDomain() || !irq_remapping_enabled()) return [];
    const out: Finding[] = [];
    const owners = new Map<number, irq_desc>();
    for (const desc of for_each_irq_desc()) {
      const r = intel_ir_irte_of(desc.irq_data);
      if (r) owners.set(r.index, desc);
    }
    const live = (where: string, index: number, vector: number, destId: number): void => {
      const dest = (destId >>> 8) & 0xff;
      const owner = owners.get(index);
      // reservation and managed shutdown park an interrupt, and its IRTE, on this vector
      if (vector === MANAGED_IRQ_SHUTDOWN_VECTOR && owner && parkedOnShutdownVector(owner)) return;
      const slot = dest < env.m.options.cpus ? vector_irq(dest)[vector] : undefined;
      if (!(slot instanceof irq_desc)) {
        out.push({
          key: `${where} ${index} dead`,
          message: `${where} IRTE ${index} targets vector ${hex(vector)} on CPU${dest}, which is ${slotName(slot)}${owner ? ` (owner irq ${owner.irq_data.irq})` : " (no owner)"}`,
          // a dead target of an owned entry; an entry nobody owns is a leak
          ...(owner ? { about: { irq: owner.irq_data.irq, cpu: dest, vector } } : {}),
        });
      } else if (owner && slot !== owner) {
        out.push({ key: `${where} ${index} foreign`, message: `${where} IRTE ${index} of irq ${owner.irq_data.irq} targets vector ${hex(vector)} on CPU${dest}, which belongs to irq ${slot.irq_data.irq}` });
      }
    };
    for (const [index, desc] of owners) {
      if (desc.lock.owner !== -1) continue;
      const e = unit.readIrte(index);
      if (e.present) live("table", index, e.vector, e.dest_id);
    }
    for (const index of unit.iecEntries()) {
      const c = iecEntry(unit, index);
      if (!c) continue;
      const e = unit.readIrte(index);
      if (!e.present) {
        out.push({ key: `iec ${index} stale-np`, message: `IEC caches IRTE ${index} (vector ${hex(c.vector)}, APIC ${(c.dest_id >>> 8) & 0xff}) but the table entry is not present: a flush is missing` });
      } else if (e.vector !== c.vector || e.dest_id !== c.dest_id) {
        out.push({ key: `iec ${index} stale`, message: `IEC caches IRTE ${index} as vector ${hex(c.vector)} on APIC ${(c.dest_id >>> 8) & 0xff}, the table says vector ${hex(e.vector)} on APIC ${(e.dest_id >>> 8) & 0xff}: a flush is missing` });
      }
      live("cached", index, c.vector, c.dest_id);
    }
    return out;
  },
});

/**
 * The unit's cached copy of IRTE `index`, read without touching its LRU
 * order. VtdUnit keeps the cache private (iecEntries() lists only indices);
 * the checker reads it the way a debugger would.
 */
function iecEntry(unit: VtdUnit, index: number): Readonly<IrteFields> | undefined {
  return (unit as unknown as { iec: Map<number, IrteFields> }).iec.get(index);
}

// ------------------------------------------------------------ msi-message-composed

/** irq_chip_compose_msi_msg() without the traced wrappers: the innermost level that composes. */
export function compose_untraced(d: irq_data): msi_msg | null {
  for (let x: irq_data | null = d; x; x = x.parent_data) {
    const chip = irq_chip_orig(x.chip);
    if (chip.irq_compose_msi_msg) {
      const msg = new msi_msg();
      chip.irq_compose_msi_msg(x, msg);
      return msg;
    }
  }
  return null;
}

registerChecker({
  name: "msi-message-composed",
  description: "the message a device holds equals the kernel's cached msi_desc message (where the kernel keeps one) and its mask the kernel's view, and for an activated interrupt what the hierarchy composes (irq_chip_compose_msi_msg)",
  when: "step",
  check(env) {
    const out: Finding[] = [];
    for (const probe of allMessageProbes()) {
      for (const dm of probe.messages(env.m)) {
        const dev = dm.device;
        const c = dm.cache ?? { address_lo: dev.address_lo, address_hi: dev.address_hi, data: dev.data };
        if (dev.address_lo !== c.address_lo || dev.address_hi !== c.address_hi || dev.data !== c.data) {
          out.push({ key: `cache ${dm.where}`, message: `${dm.where} (irq ${dm.irq}): device holds ${hex(dev.address_hi)}:${hex(dev.address_lo)}/${hex(dev.data)}, msi_desc caches ${hex(c.address_hi)}:${hex(c.address_lo)}/${hex(c.data)}` });
        }
        if (dev.masked !== dm.cacheMasked) out.push({ key: `mask ${dm.where}`, message: `${dm.where} (irq ${dm.irq}): device mask bit ${dev.masked ? 1 : 0}, kernel thinks ${dm.cacheMasked ? 1 : 0}` });
        const d = irq_get_irq_data(dm.irq);
        if (!d || !irqd_is_activated(d) || irq_to_desc_locked(d)) continue;
        const msg = compose_untraced(d);
        if (msg && (msg.address_lo !== c.address_lo || msg.address_hi !== c.address_hi || msg.data !== c.data)) {
          out.push({ key: `compose ${dm.where}`, message: `${dm.where} (irq ${dm.irq}): the hierarchy composes ${hex(msg.address_hi)}:${hex(msg.address_lo)}/${hex(msg.data)}, the device ${dm.cache ? "was given" : "holds"} ${hex(c.address_hi)}:${hex(c.address_lo)}/${hex(c.data)}` });
        }
      }
    }
    return out;
  },
});

function irq_to_desc_locked(d: irq_data): boolean {
  for (const desc of for_each_irq_desc()) if (desc.irq_data === d) return desc.lock.owner !== -1;
  return false;
}

/** The MSI-X tables of PCI functions the kernel has MSI-X enabled on. */
registerMessageProbe({
  name: "pci-msix",
  messages(m: Machine) {
    const out = [];
    for (const pdev of pci_all_devices()) {
      if (!pdev.msix_enabled) continue;
      let fn: PciFunction & { msix?: MsixCapability };
      try {
        fn = m.pci.device(pci_name(pdev));
      } catch {
        continue;
      }
      const cap = fn.msix;
      // A function reset behind the kernel's back (or writes still posted)
      // has no table the kernel's view can be compared with.
      if (!cap || !cap.enabled || m.platform.mmio.pendingWrites(fn) > 0) continue;
      for (const desc of msiDescs(pdev, MSI_DEFAULT_DOMAIN)) {
        if (!desc.irq) continue;
        const e = cap.entry(desc.msi_index);
        out.push({
          where: `${pci_name(pdev)} msix ${desc.msi_index}`,
          irq: desc.irq,
          device: { address_lo: e.addrLo, address_hi: e.addrHi, data: e.data, masked: e.masked },
          cache: desc.msg,
          cacheMasked: (desc.pci.msix_ctrl & PCI_MSIX_ENTRY_CTRL_MASKBIT) !== 0,
        });
      }
    }
    return out;
  },
});
