// SPDX-License-Identifier: GPL-2.0-only
// include/linux/msi.h: the MSI message and the MSI descriptor (C28, C29).
// The MSI core (kernel/irq/msi.c) lives in msi.ts; the types are here so
// that irq.h's irq_chip can name them.

import type { irq_affinity_desc } from "./interrupt.ts";

/** struct msi_msg */
export class msi_msg {
  address_lo = 0;
  address_hi = 0;
  data = 0;
  constructor(lo = 0, hi = 0, data = 0) {
    this.address_lo = lo >>> 0;
    this.address_hi = hi >>> 0;
    this.data = data >>> 0;
  }
  copy(): msi_msg {
    return new msi_msg(this.address_lo, this.address_hi, this.data);
  }
  equals(o: msi_msg): boolean {
    return this.address_lo === o.address_lo && this.address_hi === o.address_hi && this.data === o.data;
  }
}

/** struct pci_msi_desc */
export interface pci_msi_desc {
  /** Cached MSI-X vector control word (msix_ctrl) or MSI mask bits (msi_mask). */
  msix_ctrl: number;
  msi_mask: number;
  msi_attrib: {
    is_msix: boolean;
    multiple: number;
    multi_cap: number;
    can_mask: boolean;
    is_64: boolean;
    is_virtual: boolean;
    default_irq: number;
  };
  /** MSI-X: __iomem address of the table entry base (mask_base); MSI: mask register position. */
  mask_base: number;
  mask_pos: number;
}

/** union msi_domain_cookie / union msi_instance_cookie */
export interface msi_cookie {
  value: bigint;
  ptr: unknown;
  /** __iomem address (for IMS slots in device memory) */
  iobase: number;
}

/** struct msi_desc_data: the domain and instance cookies (IMS) */
export interface msi_desc_data {
  dcookie: msi_cookie;
  icookie: msi_cookie;
}

/**
 * struct msi_desc. In C `pci` and `data` are the two members of a union:
 * a PCI MSI/MSI-X descriptor uses the first, an IMS descriptor the second.
 * Each is allocated here on first use, zeroed as the kernel's kzalloc()ed
 * descriptor would read, so a descriptor pays for the member it uses.
 */
export class msi_desc {
  irq = 0;
  nvec_used = 1;
  msg = new msi_msg();
  affinity: irq_affinity_desc[] | null = null;
  msi_index = 0;
  private _pci: pci_msi_desc | null = null;
  private _data: msi_desc_data | null = null;
  constructor(
    readonly dev: unknown,
    nvec = 1,
  ) {
    this.nvec_used = nvec;
  }
  get pci(): pci_msi_desc {
    return (this._pci ??= {
      msix_ctrl: 0,
      msi_mask: 0,
      msi_attrib: { is_msix: false, multiple: 0, multi_cap: 0, can_mask: false, is_64: false, is_virtual: false, default_irq: 0 },
      mask_base: 0,
      mask_pos: 0,
    });
  }
  set pci(p: pci_msi_desc) {
    this._pci = p;
  }
  get data(): msi_desc_data {
    return (this._data ??= {
      dcookie: { value: 0n, ptr: null, iobase: 0 },
      icookie: { value: 0n, ptr: null, iobase: 0 },
    });
  }
  set data(d: msi_desc_data) {
    this._data = d;
  }
}

/** struct msi_parent_ops (C44) */
export interface msi_parent_ops {
  supported_flags: number;
  required_flags?: number;
  chip_flags?: number;
  bus_select_token?: number;
  bus_select_mask?: number;
  prefix: string;
  /** init_dev_msi_info(dev, domain, real_parent, info): false rejects the child domain. */
  init_dev_msi_info: (dev: unknown, domain: unknown, real_parent: unknown, info: unknown) => boolean;
}
