// SPDX-License-Identifier: GPL-2.0-only
// Trace events of the hardware models. Payload fields never use the names of
// the record header (t, seq, cpu, kind, ctx, pid, comm, ...), and carry no
// bigint, so a trace serialises with JSON.stringify. 64-bit values are split
// into `value` (low 32 bits) and `valueHi`.

declare module "../sim/trace.ts" {
  interface TraceEventMap {
    /**
     * A CPU access to the MMIO map: "read"/"write" at issue, "apply" when a
     * posted write reaches its device, "unmapped-*" for a master abort.
     */
    "hw.mmio": {
      op: "read" | "write" | "apply" | "unmapped-read" | "unmapped-write";
      addr: number;
      width: number;
      value: number;
      valueHi?: number;
      region: string;
      /** The CPU that performed the access (the LAPIC window is per CPU). */
      by: number;
    };
    /** A device answered an access with Unsupported Request (reads all-ones, writes dropped). */
    "hw.ur": { dev: string; space: string; op: "read" | "write"; offset: number; width: number; why: string };
    /** PCI function events: BAR decode changes, FLR, blocked bus mastering. */
    "hw.pci": {
      bdf: string;
      what: "bar-map" | "bar-unmap" | "bar-conflict" | "bar-unreachable" | "flr" | "dma-blocked";
      bar?: number;
      addr?: number;
      size?: number;
    };
    /** MSI-X function events (vector = table index). */
    "hw.msix": {
      bdf: string;
      what: "emit" | "latch" | "drop" | "pending-emit" | "tear-sample" | "spec-violation" | "pba-write";
      vector: number;
      addrLo?: number;
      addrHi?: number;
      data?: number;
      why?: string;
    };
    /** The MSI fabric: an interrupt message received, delivered or dropped. */
    "hw.msi": {
      what: "receive" | "remapped" | "deliver" | "drop";
      rid: number;
      /** The message as received (absent on "deliver", which carries dest and vector). */
      addrLo?: number;
      addrHi?: number;
      data?: number;
      dest?: number;
      vector?: number;
      pasid?: number;
      why?: string;
    };
    /** Local APIC events. */
    "hw.apic": {
      apicId: number;
      what: "irr" | "coalesced" | "inta" | "spurious" | "eoi" | "eoi-idle" | "ipi" | "illegal-vector" | "disabled-drop" | "bad-access";
      vector: number;
      dest?: number;
      why?: string;
    };
    /** A device DMA transaction to host memory (not an interrupt message). */
    "hw.dma": { rid: number; what: "write" | "read" | "malformed-msi"; addr: number; len: number; pasid?: number };
  }
}

export {};
