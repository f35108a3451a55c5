// SPDX-License-Identifier: GPL-2.0-only
// kernel/irq/msi.c (the v6.5..v6.9 generation): the default MSI domain ops,
// creating MSI domains and per-device MSI domains from a template, removing
// and matching them (C40, C41, C43-C45). msi.ts, which holds the
// descriptors and the per-device data, re-exports everything here.

import { BUG_ON, WARN_ON_ONCE } from "../kernel/bug.ts";
import { vsprintf } from "../kernel/vsprintf.ts";
import type { device } from "../kernel/device.ts";
import type { irq_chip } from "./irq.ts";
import type { msi_desc, msi_parent_ops } from "./msi_types.ts";
import { __irq_set_handler, irq_set_handler_data } from "./chip.ts";
import {
  irq_domain_alloc_named_fwnode,
  irq_domain_create_hierarchy,
  irq_domain_free_fwnode,
  irq_domain_remove,
  irq_domain_set_hwirq_and_chip,
  irq_domain_update_bus_token,
  IRQ_DOMAIN_FLAG_ISOLATED_MSI,
  IRQ_DOMAIN_FLAG_MSI,
  IRQ_DOMAIN_FLAG_MSI_DEVICE,
  IRQ_DOMAIN_FLAG_MSI_PARENT,
  type fwnode_handle,
  type irq_domain,
  type irq_domain_ops,
} from "./irqdomain.ts";
import { msi_domain_activate, msi_domain_alloc, msi_domain_deactivate, msi_domain_free, msi_domain_set_affinity, msi_domain_translate } from "./msi_alloc.ts";
import {
  md,
  msi_get_device_domain,
  msi_get_domain_info,
  msi_lock_descs,
  msi_setup_device_data,
  msi_unlock_descs,
  MSI_FLAG_USE_DEF_CHIP_OPS,
  MSI_FLAG_USE_DEF_DOM_OPS,
  MSI_MAX_DEVICE_IRQDOMAINS,
  MSI_XA_DOMAIN_SIZE,
  type msi_alloc_info_t,
  type msi_domain_info,
  type msi_domain_ops,
  type msi_domain_template,
} from "./msi.ts";

// kernel/irq/msi.c: msi_domain_ops_get_hwirq()
function msi_domain_ops_get_hwirq(_info: msi_domain_info, arg: msi_alloc_info_t): number {
  return arg.hwirq ?? 0;
}

// kernel/irq/msi.c: msi_domain_ops_prepare()
function msi_domain_ops_prepare(_domain: irq_domain, _dev: device, _nvec: number, arg: msi_alloc_info_t): number {
  for (const k of Object.keys(arg)) delete arg[k];
  return 0;
}

// kernel/irq/msi.c: msi_domain_ops_set_desc()
function msi_domain_ops_set_desc(arg: msi_alloc_info_t, desc: msi_desc): void {
  arg.desc = desc;
}

// kernel/irq/msi.c: msi_domain_ops_init()
function msi_domain_ops_init(domain: irq_domain, info: msi_domain_info, virq: number, hwirq: number, _arg: msi_alloc_info_t): number {
  irq_domain_set_hwirq_and_chip(domain, virq, hwirq, info.chip, info.chip_data);
  if (info.handler && info.handler_name) {
    __irq_set_handler(virq, info.handler, false, info.handler_name);
    if (info.handler_data) irq_set_handler_data(virq, info.handler_data);
  }
  return 0;
}

const msi_domain_ops_default: msi_domain_ops = {
  get_hwirq: msi_domain_ops_get_hwirq,
  msi_init: msi_domain_ops_init,
  msi_prepare: msi_domain_ops_prepare,
  set_desc: msi_domain_ops_set_desc,
};

// kernel/irq/msi.c: msi_domain_update_dom_ops() (C40)
function msi_domain_update_dom_ops(info: msi_domain_info): void {
  const ops = info.ops;
  if (!ops) {
    info.ops = { ...msi_domain_ops_default };
    return;
  }
  if (!(info.flags & MSI_FLAG_USE_DEF_DOM_OPS)) return;
  if (!ops.get_hwirq) ops.get_hwirq = msi_domain_ops_default.get_hwirq;
  if (!ops.msi_init) ops.msi_init = msi_domain_ops_default.msi_init;
  if (!ops.msi_prepare) ops.msi_prepare = msi_domain_ops_default.msi_prepare;
  if (!ops.set_desc) ops.set_desc = msi_domain_ops_default.set_desc;
}

// kernel/irq/msi.c: msi_domain_update_chip_ops() (C41)
function msi_domain_update_chip_ops(info: msi_domain_info): void {
  const chip = info.chip;
  BUG_ON(!chip || !chip.irq_mask || !chip.irq_unmask, { fn: "msi_domain_update_chip_ops", file: "kernel/irq/msi.c" });
  if (!chip!.irq_set_affinity) chip!.irq_set_affinity = msi_domain_set_affinity;
}

const msi_domain_ops: irq_domain_ops = {
  alloc: msi_domain_alloc,
  free: msi_domain_free,
  activate: msi_domain_activate,
  deactivate: msi_domain_deactivate,
  translate: msi_domain_translate,
};

// kernel/irq/msi.c: __msi_create_irq_domain() (C43)
async function __msi_create_irq_domain(fwnode: fwnode_handle | null, info: msi_domain_info, flags: number, parent: irq_domain | null): Promise<irq_domain | null> {
  if (info.hwsize > MSI_XA_DOMAIN_SIZE) return null;
  // Hardware size 0 is valid for backwards compatibility and for domains
  // which are not backed by a hardware table. Grant the maximum index space.
  if (!info.hwsize) info.hwsize = MSI_XA_DOMAIN_SIZE;
  msi_domain_update_dom_ops(info);
  if (info.flags & MSI_FLAG_USE_DEF_CHIP_OPS) msi_domain_update_chip_ops(info);
  const domain = await irq_domain_create_hierarchy(parent, flags | IRQ_DOMAIN_FLAG_MSI, 0, fwnode, msi_domain_ops, info);
  if (domain) await irq_domain_update_bus_token(domain, info.bus_token);
  return domain;
}

/** msi_create_irq_domain(fwnode, info, parent) */
export function msi_create_irq_domain(fwnode: fwnode_handle | null, info: msi_domain_info, parent: irq_domain | null): Promise<irq_domain | null> {
  return __msi_create_irq_domain(fwnode, info, 0, parent);
}

// kernel/irq/msi.c: msi_parent_init_dev_msi_info() (C44)
export function msi_parent_init_dev_msi_info(dev: device, domain: irq_domain, msi_parent_domain: irq_domain, msi_child_info: msi_domain_info): boolean {
  const parent = domain.parent;
  if (WARN_ON_ONCE(!parent || !parent.msi_parent_ops || !parent.msi_parent_ops.init_dev_msi_info, { fn: "msi_parent_init_dev_msi_info" })) return false;
  return parent!.msi_parent_ops!.init_dev_msi_info(dev, parent, msi_parent_domain, msi_child_info);
}

/** The template bundle of one device domain (the kmemdup()'ed copy). */
interface msi_domain_bundle {
  tmpl: msi_domain_template;
  chip: irq_chip;
  ops: msi_domain_ops;
  info: msi_domain_info;
  name: string;
}

// kernel/irq/msi.c: msi_create_device_irq_domain() (C45)
export async function msi_create_device_irq_domain(
  dev: device,
  domid: number,
  template: msi_domain_template,
  hwsize: number,
  domain_data: unknown,
  chip_data: unknown,
): Promise<boolean> {
  const parent = dev.msi.domain as irq_domain | null;
  if (!parent || !(parent.flags & IRQ_DOMAIN_FLAG_MSI_PARENT)) return false;
  if (domid >= MSI_MAX_DEVICE_IRQDOMAINS) return false;
  const chip: irq_chip = { ...template.chip };
  const ops: msi_domain_ops = { ...template.ops };
  const info: msi_domain_info = {
    ...template.info,
    handler: template.info.handler ?? null,
    handler_data: template.info.handler_data ?? null,
    handler_name: template.info.handler_name ?? null,
    data: null,
    chip_data: null,
    hwsize,
    chip,
    ops,
  };
  info.data = domain_data;
  info.chip_data = chip_data;
  const pops: msi_parent_ops = parent.msi_parent_ops!;
  const name = vsprintf("%s%s-%s", [pops.prefix ?? "", template.chip.name, dev.dev_name]).slice(0, 47);
  chip.name = name;
  const bundle: msi_domain_bundle = { tmpl: template, chip, ops, info, name };
  const fwnode = irq_domain_alloc_named_fwnode(name);
  if (!fwnode) return false;
  if (msi_setup_device_data(dev)) {
    irq_domain_free_fwnode(fwnode);
    return false;
  }
  const l = msi_lock_descs(dev);
  if (l) await l;
  let ok = false;
  try {
    if (WARN_ON_ONCE(msi_get_device_domain(dev, domid), { fn: "msi_create_device_irq_domain" })) return false;
    if (!pops.init_dev_msi_info(dev, parent, parent, info)) return false;
    const domain = await __msi_create_irq_domain(fwnode, info, IRQ_DOMAIN_FLAG_MSI_DEVICE, parent);
    if (!domain) return false;
    domain.dev = dev;
    bundles.set(domain, bundle);
    md(dev)!.__domains[domid]!.domain = domain;
    ok = true;
    return true;
  } finally {
    msi_unlock_descs(dev);
    if (!ok) irq_domain_free_fwnode(fwnode);
  }
}

const bundles = new WeakMap<irq_domain, msi_domain_bundle>();

// kernel/irq/msi.c: msi_remove_device_irq_domain()
export async function msi_remove_device_irq_domain(dev: device, domid: number): Promise<void> {
  const l = msi_lock_descs(dev);
  if (l) await l;
  try {
    const domain = msi_get_device_domain(dev, domid);
    if (!domain || !(domain.flags & IRQ_DOMAIN_FLAG_MSI_DEVICE)) return;
    md(dev)!.__domains[domid]!.domain = null;
    const fwnode = domain.fwnode;
    await irq_domain_remove(domain);
    if (fwnode) irq_domain_free_fwnode(fwnode);
    bundles.delete(domain);
  } finally {
    msi_unlock_descs(dev);
  }
}

// kernel/irq/msi.c: msi_match_device_irq_domain()
export async function msi_match_device_irq_domain(dev: device, domid: number, bus_token: number): Promise<boolean> {
  const l = msi_lock_descs(dev);
  if (l) await l;
  const domain = msi_get_device_domain(dev, domid);
  const ret = domain !== null && (domain.flags & IRQ_DOMAIN_FLAG_MSI_DEVICE) !== 0 && msi_get_domain_info(domain).bus_token === bus_token;
  msi_unlock_descs(dev);
  return ret;
}

// kernel/irq/msi.c: msi_device_has_isolated_msi()
export function msi_device_has_isolated_msi(dev: device): boolean {
  for (let domain = dev.msi.domain as irq_domain | null; domain; domain = domain.parent) {
    if (domain.flags & IRQ_DOMAIN_FLAG_ISOLATED_MSI) return true;
  }
  return false;
}
