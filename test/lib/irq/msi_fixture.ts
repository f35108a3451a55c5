// SPDX-License-Identifier: GPL-2.0-only
// A bare MSI parent domain (the role of the x86 vector or remapping domain,
// without an architecture) and a device whose per-device MSI domains hang
// off it, for the MSI core conformance tests (genirq-C.md C28-C55). Every
// callback of both levels appends to one log.

import { createMachine, type Machine } from "../../../lib/machine.ts";
import { device } from "../../../lib/kernel/device.ts";
import { cpumask_copy, type cpumask } from "../../../lib/kernel/cpumask.ts";
import { IRQ_SET_MASK_OK, type irq_chip, type irq_data } from "../../../lib/irq/irq.ts";
import { irq_data_get_msi_desc } from "../../../lib/irq/irq.ts";
import { handle_edge_irq } from "../../../lib/irq/flow.ts";
import {
  irq_domain_alloc_named_fwnode,
  irq_domain_create_tree,
  irq_domain_free_irqs_common,
  irq_domain_set_hwirq_and_chip,
  IRQ_DOMAIN_FLAG_MSI_PARENT,
  type irq_domain,
} from "../../../lib/irq/irqdomain.ts";
import {
  msi_create_device_irq_domain,
  MSI_FLAG_ACTIVATE_EARLY,
  MSI_FLAG_ALLOC_SIMPLE_MSI_DESCS,
  MSI_FLAG_FREE_MSI_DESCS,
  MSI_FLAG_USE_DEF_CHIP_OPS,
  MSI_FLAG_USE_DEF_DOM_OPS,
  MSI_GENERIC_FLAGS_MASK,
  MSI_FLAG_PCI_MSIX,
  type msi_alloc_info_t,
  type msi_domain_info,
  type msi_domain_ops,
  type msi_domain_template,
} from "../../../lib/irq/msi.ts";
import type { msi_desc, msi_msg, msi_parent_ops } from "../../../lib/irq/msi_types.ts";

/** DOMAIN_BUS_PLATFORM_MSI: a non-PCI bus token (no reservation mode, -ENOSPC on failure). */
export const TEST_BUS = 4;

/** The message the parent composes for `hwirq` at affinity generation `gen`. */
export function parent_msg(hwirq: number, gen = 0): { address_lo: number; address_hi: number; data: number } {
  return { address_lo: (0xfee00000 + hwirq * 0x10) >>> 0, address_hi: gen, data: 0x40 + hwirq };
}

export interface ParentOpts {
  /** msi_parent_ops::prefix (default "TST-") */
  prefix?: string;
  /** msi_parent_ops::supported_flags (default the generic flags and PCI_MSIX) */
  supported_flags?: number;
  /** init_dev_msi_info() result (default true) */
  accept?: boolean;
  /** The parent's irq_set_affinity() return value (default IRQ_SET_MASK_OK). */
  set_affinity_ret?: number;
  /** Fail the parent's ops->alloc for the n-th virq it is asked for (1-based). */
  fail_alloc_at?: number;
}

export interface MsiRig {
  m: Machine;
  log: string[];
  parent: irq_domain;
  pops: msi_parent_ops;
  opts: ParentOpts;
  dev: device;
  /** Affinity generations: bumped by every parent irq_set_affinity(). */
  gen: Map<number, number>;
}

/** The parent's level: composes a message from its hwirq and affinity generation. */
function parent_chip(r: MsiRig): irq_chip {
  return {
    name: "MSIP",
    irq_compose_msi_msg(d: irq_data, msg: msi_msg): void {
      const want = parent_msg(d.hwirq, r.gen.get(d.irq) ?? 0);
      msg.address_lo = want.address_lo;
      msg.address_hi = want.address_hi;
      msg.data = want.data;
      r.log.push(`compose MSIP ${d.irq}`);
    },
    irq_set_affinity(d: irq_data, mask: cpumask, _force: boolean): number {
      r.log.push(`set_affinity MSIP ${d.irq}`);
      const ret = r.opts.set_affinity_ret ?? IRQ_SET_MASK_OK;
      if (ret >= 0) {
        r.gen.set(d.irq, (r.gen.get(d.irq) ?? 0) + 1);
        cpumask_copy(d.common.effective_affinity, mask);
      }
      return ret;
    },
  };
}

/** A machine with the MSI parent "MSIP" (a root domain) and one device "tdev0" under it. */
export async function msiRig(opts: ParentOpts = {}): Promise<MsiRig> {
  const m = await createMachine({ cpus: 2 });
  const r = { m, log: [] as string[], opts, gen: new Map<number, number>() } as MsiRig;
  await m.run(async () => {
    const chip = parent_chip(r);
    let next = 0x100;
    let calls = 0;
    const parent = await irq_domain_create_tree(
      irq_domain_alloc_named_fwnode("MSIP"),
      {
        alloc(d, virq, nr, _arg) {
          r.log.push(`alloc MSIP ${virq} ${nr}`);
          if (opts.fail_alloc_at && ++calls === opts.fail_alloc_at) return -28;
          for (let i = 0; i < nr; i++) irq_domain_set_hwirq_and_chip(d, virq + i, next++, chip, null);
          return 0;
        },
        free(d, virq, nr) {
          r.log.push(`free MSIP ${virq} ${nr}`);
          irq_domain_free_irqs_common(d, virq, nr);
        },
        activate(_d, irqd, reserve) {
          r.log.push(`activate MSIP ${irqd.irq} ${reserve ? 1 : 0}`);
          return 0;
        },
        deactivate(_d, irqd) {
          r.log.push(`deactivate MSIP ${irqd.irq}`);
        },
      },
      null,
    );
    if (!parent) throw new Error("no parent domain");
    r.parent = parent;
    r.pops = {
      supported_flags: opts.supported_flags ?? MSI_GENERIC_FLAGS_MASK | MSI_FLAG_PCI_MSIX,
      prefix: opts.prefix ?? "TST-",
      init_dev_msi_info(_dev, domain, real_parent, i) {
        const info = i as msi_domain_info;
        r.log.push(`init_dev_msi_info ${(domain as irq_domain).name} ${(real_parent as irq_domain).name}`);
        if (opts.accept === false) return false;
        info.flags &= r.pops.supported_flags;
        info.flags |= MSI_FLAG_USE_DEF_DOM_OPS | MSI_FLAG_USE_DEF_CHIP_OPS;
        if (!info.handler) {
          info.handler = handle_edge_irq;
          info.handler_name = "edge";
        }
        return true;
      },
    };
    parent.flags |= IRQ_DOMAIN_FLAG_MSI_PARENT;
    parent.msi_parent_ops = r.pops;
    r.dev = new device("tdev0");
    r.dev.msi.domain = parent;
  });
  return r;
}

/** A device chip that logs, and caches what it writes in the descriptor (as PCI's writer does). */
export function device_chip(log: string[], name = "TDEV", extra: Partial<irq_chip> = {}): irq_chip {
  return {
    name,
    irq_mask: (d) => void log.push(`mask ${name} ${d.irq}`),
    irq_unmask: (d) => void log.push(`unmask ${name} ${d.irq}`),
    irq_write_msi_msg(d: irq_data, msg: msi_msg): void {
      log.push(`write ${name} ${d.irq} ${msg.address_lo.toString(16)}/${msg.address_hi}/${msg.data.toString(16)}`);
      const desc = irq_data_get_msi_desc(d);
      if (desc) {
        desc.msg.address_lo = msg.address_lo;
        desc.msg.address_hi = msg.address_hi;
        desc.msg.data = msg.data;
      }
    },
    ...extra,
  };
}

export interface TemplateOpts {
  name?: string;
  flags?: number;
  bus_token?: number;
  ops?: msi_domain_ops;
  chip?: Partial<irq_chip>;
}

/** set_desc of a device template: the MSI index is the hwirq (as PCI's and platform MSI's are). */
export function set_desc_index(arg: msi_alloc_info_t, desc: msi_desc): void {
  arg.desc = desc;
  arg.hwirq = desc.msi_index;
}

/** A device domain template: core-managed descriptors, early activation by default. */
export function template(r: MsiRig, t: TemplateOpts = {}): msi_domain_template {
  return {
    chip: device_chip(r.log, t.name ?? "TDEV", t.chip ?? {}),
    ops: t.ops ?? { set_desc: set_desc_index },
    info: {
      flags: t.flags ?? MSI_FLAG_ALLOC_SIMPLE_MSI_DESCS | MSI_FLAG_FREE_MSI_DESCS | MSI_FLAG_ACTIVATE_EARLY,
      bus_token: t.bus_token ?? TEST_BUS,
      handler: null,
      handler_data: null,
      handler_name: null,
    },
  };
}

/** msi_create_device_irq_domain() in a task: returns its result. */
export function createDeviceDomain(r: MsiRig, domid: number, tmpl: msi_domain_template, hwsize: number, data: unknown = null, chip_data: unknown = null): Promise<boolean> {
  return r.m.run(() => msi_create_device_irq_domain(r.dev, domid, tmpl, hwsize, data, chip_data));
}
