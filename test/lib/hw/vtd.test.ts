// SPDX-License-Identifier: GPL-2.0-only
// The VT-d-like interrupt-remapping unit, programmed the way
// drivers/iommu/intel/{dmar,irq_remapping}.c program it: MMIO from "CPU 0"
// and descriptors/IRTEs written to RAM.
import { expect } from "chai";
import { rig, type Rig } from "./rig.ts";
import { composeCompat } from "../../../lib/hw/fabric.ts";
import { MSIX_ENTRY_SIZE } from "../../../lib/hw/msix.ts";
import * as V from "../../../lib/hw/vtd.ts";
import { VtdUnit, type IrteFields, type VtdOptions } from "../../../lib/hw/vtd.ts";

const B = V.VTD_DEFAULT_BASE;
const IQ = 0x100000;
const IRT = 0x200000;
const STATUS = 0x300000;
const RID = 0x3b00;
const FE_VECTOR = 0x4e;
const FE_CPU = 1;

interface Drv {
  r: Rig;
  u: VtdUnit;
  w32: (off: number, v: number) => void;
  r32: (off: number) => number;
  w64: (off: number, v: bigint) => void;
  r64: (off: number) => bigint;
  /** Write GCMD as Linux does (kept bits | cmd) and wait for the status. */
  command: (cmd: number, keep?: boolean) => void;
  setIrte: (index: number, f: Partial<IrteFields>) => void;
  /** Copy descriptors to the ring at the software tail and write IQT (no waiting). */
  submit: (...descs: (readonly [bigint, bigint])[]) => void;
  /** Submit descriptors plus a status-writing wait descriptor, run until it completes; returns ns taken. */
  sync: (...descs: (readonly [bigint, bigint])[]) => number;
  send: (index: number, sub?: number, rid?: number) => void;
  /** (dest, vector, rid) of the messages delivered since the last call. */
  take: () => [number, number, number][];
  /** The kernel's dmar_fault(): walk pending records from FSTS.FRI, clear them, clear FSTS. */
  service: () => { reason: number; sid: number; index: number; type: number }[];
  tail: number;
  waits: number;
}

const wait = (cell: number, more = 0n): readonly [bigint, bigint] => [
  BigInt(V.QI_IWD_TYPE) | V.QI_IWD_STATUS_WRITE | V.QI_IWD_STATUS_DATA(V.QI_DONE) | more,
  BigInt(STATUS + 4 * cell),
];
const iecGlobal = (): readonly [bigint, bigint] => [BigInt(V.QI_IEC_TYPE), 0n];
const iecIndex = (idx: number, im = 0): readonly [bigint, bigint] => [BigInt(V.QI_IEC_TYPE) | V.QI_IEC_SELECTIVE | V.QI_IEC_IIDEX(idx) | V.QI_IEC_IM(im), 0n];

/**
 * A unit on a rig. With `enable`, the Linux sequence: QI on, IRTA + SIRTP,
 * global IEC flush, IRE (CFI stays clear: compatibility format blocked;
 * `cfi: true` sets it to let it pass), and the fault event pointed at CPU 1
 * and unmasked (unless feMasked).
 */
function driver(opts: VtdOptions & { cpus?: number; s?: number; enable?: boolean; cfi?: boolean; feMasked?: boolean; irta?: bigint } = {}): Drv {
  const r = rig({ cpus: opts.cpus ?? 4 });
  const u = new VtdUnit(r.p, opts);
  let gcmd = 0;
  let seen = 0;
  const d: Drv = {
    r,
    u,
    tail: 0,
    waits: 0,
    w32: (off, v) => r.w32(B + off, v),
    r32: (off) => r.r32(B + off),
    w64: (off, v) => r.p.mmio.write64(0, B + off, v),
    r64: (off) => r.p.mmio.read64(0, B + off),
    command: (cmd, keep = true) => {
      d.w32(V.DMAR_GCMD_REG, gcmd | cmd);
      if (keep) gcmd |= cmd;
      r.run(100 + u.gcmdLatencyNs);
    },
    setIrte: (index, f) => {
      const e = V.encodeIrte(f);
      r.p.ram.write64(IRT + 16 * index, e.lo);
      r.p.ram.write64(IRT + 16 * index + 8, e.hi);
    },
    submit: (...descs) => {
      for (const [qw0, qw1] of descs) {
        r.p.ram.write64(IQ + d.tail, qw0);
        r.p.ram.write64(IQ + d.tail + 8, qw1);
        d.tail = (d.tail + 16) % 4096;
      }
      d.w32(V.DMAR_IQT_REG, d.tail);
    },
    sync: (...descs) => {
      const cell = d.waits++;
      r.p.ram.write32(STATUS + 4 * cell, V.QI_IN_USE);
      const t0 = r.sim.now;
      d.submit(...descs, wait(cell));
      for (let i = 0; i < 1000 && r.p.ram.read32(STATUS + 4 * cell) !== V.QI_DONE; i++) r.run(100);
      expect(r.p.ram.read32(STATUS + 4 * cell), "wait descriptor completed").to.equal(V.QI_DONE);
      return r.sim.now - t0;
    },
    send: (index, sub = 0, rid = RID) => {
      const m = V.remappableMsg(index, sub);
      r.p.dmaWrite32(rid, m.addrLo, m.addrHi, m.data);
    },
    take: () => {
      r.run(1000);
      const all = r.events("hw.msi").filter((e) => e.what === "deliver");
      const out = all.slice(seen).map((e): [number, number, number] => [e.dest!, e.vector!, e.rid]);
      seen = all.length;
      return out;
    },
    service: () => {
      const out: { reason: number; sid: number; index: number; type: number }[] = [];
      const fsts = d.r32(V.DMAR_FSTS_REG);
      if (!(fsts & V.DMA_FSTS_PPF)) return out;
      const cap = d.r64(V.DMAR_CAP_REG);
      let i = V.dma_fsts_fault_record_index(fsts);
      for (;;) {
        const reg = V.cap_fault_reg_offset(cap) + i * V.PRIMARY_FAULT_REG_LEN;
        const dw3 = d.r32(reg + 12);
        if (!(dw3 & V.DMA_FRCD_F)) break;
        const sid = V.dma_frcd_source_id(d.r32(reg + 8));
        const info = d.r64(reg);
        out.push({ reason: V.dma_frcd_fault_reason(dw3), sid, index: Number(info >> 48n), type: V.dma_frcd_type(dw3) });
        d.w32(reg + 12, V.DMA_FRCD_F);
        if (++i >= V.cap_num_fault_regs(cap)) i = 0;
      }
      d.w32(V.DMAR_FSTS_REG, V.DMA_FSTS_PFO | V.DMA_FSTS_PPF | V.DMA_FSTS_PRO);
      r.run(1000);
      return out;
    },
  };
  if (opts.enable ?? true) {
    d.w32(V.DMAR_FEDATA_REG, FE_VECTOR);
    d.w32(V.DMAR_FEADDR_REG, 0xfee00000 | (FE_CPU << 12));
    d.w32(V.DMAR_FEUADDR_REG, 0);
    if (!opts.feMasked) d.w32(V.DMAR_FECTL_REG, 0);
    d.w32(V.DMAR_IQT_REG, 0);
    d.w64(V.DMAR_IQA_REG, BigInt(IQ));
    d.command(V.DMA_GCMD_QIE);
    expect(d.r32(V.DMAR_GSTS_REG) & V.DMA_GSTS_QIES).to.not.equal(0);
    d.w64(V.DMAR_IRTA_REG, opts.irta ?? BigInt(IRT) | BigInt(opts.s ?? V.INTR_REMAP_TABLE_REG_SIZE));
    d.command(V.DMA_GCMD_SIRTP, false);
    expect(d.r32(V.DMAR_GSTS_REG) & V.DMA_GSTS_IRTPS).to.not.equal(0);
    d.sync(iecGlobal());
    d.command(V.DMA_GCMD_IRE);
    expect(d.r32(V.DMAR_GSTS_REG) & V.DMA_GSTS_IRES).to.not.equal(0);
    if (opts.cfi) {
      d.command(V.DMA_GCMD_CFI);
      expect(d.r32(V.DMAR_GSTS_REG) & V.DMA_GSTS_CFIS).to.not.equal(0);
    }
  }
  return d;
}

const FE: [number, number, number] = [FE_CPU, FE_VECTOR, V.VTD_UNIT_RID];
const irte = (dest: number, vector: number, more: Partial<IrteFields> = {}): Partial<IrteFields> => ({
  present: 1,
  dest_id: V.IRTE_DEST(dest),
  vector,
  redir_hint: 1,
  ...more,
});

describe("lib/hw/vtd interrupt-remapping unit", () => {
  it("advertises the registers a driver probes: VER, CAP (NFR, FRO, ESIRTPS), ECAP (QI, IR, EIM, MHMV, C)", () => {
    const d = driver({ enable: false });
    expect(d.r32(V.DMAR_VER_REG)).to.equal(0x10);
    const cap = d.r64(V.DMAR_CAP_REG);
    const ecap = d.r64(V.DMAR_ECAP_REG);
    expect([V.cap_num_fault_regs(cap), V.cap_fault_reg_offset(cap), V.cap_esirtps(cap), V.cap_pi_support(cap)]).to.deep.equal([8, 0x400, 0, 0]);
    expect([V.ecap_qis(ecap), V.ecap_ir_support(ecap), V.ecap_eim_support(ecap), V.ecap_max_handle_mask(ecap), V.ecap_coherent(ecap)]).to.deep.equal([1, 1, 0, 15, 1]);
    expect(BigInt(d.r32(V.DMAR_CAP_REG + 4)), "the high dword alone").to.equal(cap >> 32n);
    expect(d.r32(V.DMAR_GCMD_REG), "GCMD is write-only").to.equal(0);
    expect(d.r32(V.DMAR_FECTL_REG), "fault event masked at reset").to.equal(V.DMA_FECTL_IM);

    const o = new VtdUnit(d.r.p, { base: 0xfed91000, name: "dmar1", faultRecords: 4, esirtps: true, eim: true, mhmv: 3 });
    const cap1 = d.r.p.mmio.read64(0, o.base + V.DMAR_CAP_REG);
    const ecap1 = d.r.p.mmio.read64(0, o.base + V.DMAR_ECAP_REG);
    expect([V.cap_num_fault_regs(cap1), V.cap_esirtps(cap1), V.ecap_eim_support(ecap1), V.ecap_max_handle_mask(ecap1)]).to.deep.equal([4, 1, 1, 3]);
    expect(() => new VtdUnit(d.r.p, { base: 0xfed91000 }), "overlapping register page").to.throw(/overlaps/);
    expect(() => new VtdUnit(d.r.p, { base: 0xfed92000, faultRecords: 0 })).to.throw(/faultRecords/);
  });

  it("passes every message through unchanged while IRE is off", () => {
    const d = driver({ enable: false });
    const m = composeCompat({ dest: 2, vector: 0x51 });
    d.r.p.dmaWrite32(RID, m.addrLo, 0, m.data);
    d.send(3);
    expect(d.take()).to.deep.equal([[2, 0x51, RID]]);
    expect(d.r.events("hw.msi").find((e) => e.what === "drop")?.why).to.equal("remapper returned a remappable-format message");
    expect(d.u.stats).to.include({ passedThrough: 2, remapped: 0, blocked: 0 });
  });

  it("updates GSTS only gcmdLatencyNs after the GCMD write arrives; SIRTP clears IRTPS until the table is latched", () => {
    const d = driver({ enable: false, gcmdLatencyNs: 1000 });
    d.w32(V.DMAR_GCMD_REG, V.DMA_GCMD_QIE);
    d.r.run(100); // the posted write reaches the unit
    d.r.run(999);
    expect(d.r32(V.DMAR_GSTS_REG)).to.equal(0);
    d.r.run(1);
    expect(d.r32(V.DMAR_GSTS_REG)).to.equal(V.DMA_GSTS_QIES);

    d.w32(V.DMAR_GCMD_REG, V.DMA_GCMD_QIE | V.DMA_GCMD_IRE);
    d.r.run(5000);
    expect(d.r32(V.DMAR_GSTS_REG), "IRE without a latched table").to.equal(V.DMA_GSTS_QIES);
    expect(d.r.events("hw.vtd").some((e) => e.what === "ignored" && /IRTPS/.test(e.why ?? ""))).to.equal(true);

    d.w64(V.DMAR_IRTA_REG, BigInt(IRT) | 3n);
    d.w32(V.DMAR_GCMD_REG, V.DMA_GCMD_QIE | V.DMA_GCMD_SIRTP);
    d.r.run(100 + 1000);
    expect(d.r32(V.DMAR_GSTS_REG)).to.equal(V.DMA_GSTS_QIES | V.DMA_GSTS_IRTPS);
    expect(d.u.activeTable).to.deep.equal({ base: IRT, entries: 16, eime: false });
    d.w64(V.DMAR_IRTA_REG, BigInt(IRT + 0x10000) | 7n);
    d.w32(V.DMAR_GCMD_REG, V.DMA_GCMD_QIE | V.DMA_GCMD_SIRTP);
    d.r.run(100);
    expect(d.r32(V.DMAR_GSTS_REG) & V.DMA_GSTS_IRTPS, "cleared while the new pointer is latched").to.equal(0);
    expect(d.u.activeTable?.base).to.equal(IRT);
    d.r.run(1000);
    expect(d.r32(V.DMAR_GSTS_REG) & V.DMA_GSTS_IRTPS).to.not.equal(0);
    expect(d.u.activeTable).to.deep.equal({ base: IRT + 0x10000, entries: 256, eime: false });
  });

  it("delivers a remappable message to the CPU and vector of its IRTE, indexed by handle + subhandle", () => {
    const d = driver();
    d.setIrte(0x8005, irte(2, 0x61));
    d.setIrte(7, irte(3, 0x62, { trigger_mode: 1 }));
    const m = V.remappableMsg(0x8000, 5);
    expect(m.addrLo & (1 << 2), "handle bit 15 in address bit 2").to.not.equal(0);
    d.send(0x8000, 5);
    d.send(7);
    expect(d.take()).to.deep.equal([
      [2, 0x61, RID],
      [3, 0x62, RID],
    ]);
    expect(d.r.p.lapic(3).tmr[0x62 >> 5]! & (1 << (0x62 & 31)), "level trigger from the IRTE").to.not.equal(0);
    const remapped = d.r.events("hw.msi").filter((e) => e.what === "remapped");
    expect(remapped[0]!.addrLo).to.equal(composeCompat({ dest: 2, vector: 0x61, redirectionHint: true }).addrLo);
    expect(d.u.iecEntries()).to.deep.equal([0x8005, 7]);
    expect(d.u.stats).to.include({ remapped: 2, iecMisses: 2, iecHits: 0, irteFetchNs: 600 });
  });

  it("remaps the MSI-X message of a device with the device's requester id", () => {
    const d = driver();
    const { r } = d;
    d.setIrte(40, irte(1, 0x70, { svt: V.SVT_VERIFY_SID_SQ, sid: r.nic.rid }));
    const m = V.remappableMsg(40);
    r.w32(r.bar + 2 * MSIX_ENTRY_SIZE, m.addrLo);
    r.w32(r.bar + 2 * MSIX_ENTRY_SIZE + 4, 0);
    r.w32(r.bar + 2 * MSIX_ENTRY_SIZE + 8, m.data);
    r.w32(r.bar + 2 * MSIX_ENTRY_SIZE + 12, 0);
    r.control(true);
    r.run(1000);
    r.nic.raise(2);
    expect(d.take()).to.deep.equal([[1, 0x70, r.nic.rid]]);
  });

  it("keeps using a cached IRTE after RAM changes until an index-selective IEC invalidation", () => {
    const d = driver();
    d.setIrte(3, irte(1, 0x40));
    d.send(3);
    expect(d.take()).to.deep.equal([[1, 0x40, RID]]);
    d.setIrte(3, irte(2, 0x42));
    expect(d.u.readIrte(3)).to.include({ vector: 0x42, dest_id: V.IRTE_DEST(2) });
    d.send(3);
    expect(d.take(), "stale IEC entry").to.deep.equal([[1, 0x40, RID]]);
    d.sync(iecIndex(3));
    expect(d.u.iecEntries()).to.deep.equal([]);
    d.send(3);
    expect(d.take()).to.deep.equal([[2, 0x42, RID]]);
    expect(d.u.stats).to.include({ iecHits: 1, iecMisses: 2 });
  });

  it("drops every cached entry on a global IEC invalidation", () => {
    const d = driver();
    for (const i of [1, 2, 3]) d.setIrte(i, irte(0, 0x50 + i));
    for (const i of [1, 2, 3]) d.send(i);
    expect(d.take().map((x) => x[1])).to.deep.equal([0x51, 0x52, 0x53]);
    for (const i of [1, 2, 3]) d.setIrte(i, irte(0, 0x60 + i));
    const before = d.u.stats.iecInvalidations;
    d.sync(iecGlobal());
    expect(d.u.iecEntries()).to.deep.equal([]);
    expect(d.u.stats.iecInvalidations).to.equal(before + 1);
    for (const i of [1, 2, 3]) d.send(i);
    expect(d.take().map((x) => x[1])).to.deep.equal([0x61, 0x62, 0x63]);
  });

  it("invalidates exactly the 2^IM-aligned block of an index-selective descriptor", () => {
    const d = driver();
    for (let i = 6; i <= 17; i++) {
      d.setIrte(i, irte(0, 0x80 + i));
      d.send(i);
    }
    d.take();
    d.sync(iecIndex(13, 3));
    expect(d.u.iecEntries().sort((a, b) => a - b)).to.deep.equal([6, 7, 16, 17]);
  });

  it("evicts the least recently used entry when the IEC is full, and never caches a not-present entry", () => {
    const d = driver({ irteCacheEntries: 2 });
    for (const i of [1, 2, 3]) d.setIrte(i, irte(0, 0x40 + i));
    d.send(1);
    d.send(2);
    d.send(1);
    d.send(3);
    expect(d.u.iecEntries()).to.deep.equal([1, 3]);
    expect(d.u.stats.iecEvictions).to.equal(1);
    d.send(5);
    expect(d.u.iecEntries(), "not-present entry").to.deep.equal([1, 3]);
    d.setIrte(5, irte(2, 0x45));
    d.send(5);
    expect(d.take().map((x) => x[1]), "the fault event leaves after the messages already sent").to.deep.equal([0x41, 0x42, 0x41, 0x43, 0x45, FE_VECTOR]);
    expect(d.service().map((f) => f.reason)).to.deep.equal([V.VTD_FR_IR_ENTRY_P]);
  });

  it("records reserved-field request faults (0x20) with SID and index, and sends one fault event per PPF rise", () => {
    const d = driver();
    d.setIrte(4, irte(0, 0x44));
    const m = V.remappableMsg(4);
    d.r.p.fabric.receive(RID, m.addrLo, 1, m.data);
    d.r.p.dmaWrite32(RID + 1, m.addrLo, 0, 0x10000);
    expect(d.take()).to.deep.equal([FE]);
    const fsts = d.r32(V.DMAR_FSTS_REG);
    expect(fsts & V.DMA_FSTS_PPF).to.not.equal(0);
    expect(V.dma_fsts_fault_record_index(fsts)).to.equal(0);
    expect(d.service()).to.deep.equal([
      { reason: 0x20, sid: RID, index: 4, type: 0 },
      { reason: 0x20, sid: RID + 1, index: 4, type: 0 },
    ]);
    expect(d.r32(V.DMAR_FSTS_REG) & V.DMA_FSTS_PPF).to.equal(0);
    d.r.p.fabric.receive(RID, m.addrLo, 2, m.data);
    expect(d.take(), "a new PPF rise, a new event").to.deep.equal([FE]);
    expect(d.service()).to.deep.equal([{ reason: 0x20, sid: RID, index: 4, type: 0 }]);
    expect(d.u.stats).to.include({ faultsRecorded: 3, blocked: 3, remapped: 0 });
  });

  it("faults an index beyond the table size (0x21), including one pushed there by the subhandle", () => {
    const d = driver({ s: 3 });
    d.setIrte(15, irte(0, 0x4f));
    d.setIrte(16, irte(0, 0x50));
    d.send(15);
    d.send(16);
    d.send(15, 1);
    expect(d.take()).to.deep.equal([[0, 0x4f, RID], FE]);
    expect(d.service().map((f) => [f.reason, f.index])).to.deep.equal([
      [0x21, 16],
      [0x21, 16],
    ]);
  });

  it("faults a not-present IRTE (0x22) and malformed IRTEs (0x24)", () => {
    const d = driver();
    d.setIrte(1, { ...irte(0, 0x41), present: 0 });
    d.setIrte(2, irte(0, 0x42, { dest_id: 0x0100 | 0x1 })); // xAPIC: bits other than 15:8
    d.setIrte(3, irte(0, 0x43, { pst: 1 }));
    d.setIrte(4, irte(0, 0x44, { svt: 3 }));
    d.setIrte(5, irte(0, 0x45));
    d.r.p.ram.write64(IRT + 16 * 5, d.r.p.ram.read64(IRT + 16 * 5) | (1n << 13n));
    d.setIrte(6, irte(0, 0x46));
    d.r.p.ram.write64(IRT + 16 * 6 + 8, 1n << 40n);
    for (let i = 1; i <= 6; i++) d.send(i, 0, RID + i);
    expect(d.take()).to.deep.equal([FE]);
    expect(d.service().map((f) => [f.reason, f.index, f.sid])).to.deep.equal([
      [0x22, 1, RID + 1],
      [0x24, 2, RID + 2],
      [0x24, 3, RID + 3],
      [0x24, 4, RID + 4],
      [0x24, 5, RID + 5],
      [0x24, 6, RID + 6],
    ]);
    expect(d.u.iecEntries()).to.deep.equal([]);
  });

  it("blocks compatibility-format messages with 0x25 while CFI is clear, but never the unit's own; CFI lets them through", () => {
    const d = driver();
    const m = composeCompat({ dest: 3, vector: 0x39 });
    d.r.p.dmaWrite32(RID, m.addrLo, 0, m.data);
    d.r.p.fabric.receive(V.VTD_UNIT_RID, m.addrLo, 0, m.data);
    expect(d.take()).to.deep.equal([[3, 0x39, V.VTD_UNIT_RID], FE]);
    expect(d.service()).to.deep.equal([{ reason: 0x25, sid: RID, index: 0, type: 0 }]);
    d.command(V.DMA_GCMD_CFI);
    expect(d.r32(V.DMAR_GSTS_REG) & V.DMA_GSTS_CFIS).to.not.equal(0);
    d.r.p.dmaWrite32(RID, m.addrLo, 0, m.data);
    expect(d.take()).to.deep.equal([[3, 0x39, RID]]);
  });

  it("starts with CFIS set when firmware left compatibility format enabled", () => {
    const d = driver({ enable: false, firmwareCfi: true });
    expect(d.r32(V.DMAR_GSTS_REG)).to.equal(V.DMA_GSTS_CFIS);
  });

  it("verifies source ids (0x26): full SID, SQ-masked function bits, bus ranges, on misses and IEC hits", () => {
    const d = driver();
    d.setIrte(1, irte(0, 0x41, { svt: V.SVT_VERIFY_SID_SQ, sq: V.SQ_ALL_16, sid: 0x3b00 }));
    d.setIrte(2, irte(0, 0x42, { svt: V.SVT_VERIFY_SID_SQ, sq: V.SQ_13_IGNORE_1, sid: 0x3b00 }));
    d.setIrte(3, irte(0, 0x43, { svt: V.SVT_VERIFY_SID_SQ, sq: V.SQ_13_IGNORE_2, sid: 0x3b00 }));
    d.setIrte(4, irte(0, 0x44, { svt: V.SVT_VERIFY_SID_SQ, sq: V.SQ_13_IGNORE_3, sid: 0x3b00 }));
    d.setIrte(5, irte(0, 0x45, { svt: V.SVT_VERIFY_BUS, sid: (0x3a << 8) | 0x3c }));
    const cases: [number, number, boolean][] = [
      [1, 0x3b00, true],
      [1, 0x3b01, false],
      [2, 0x3b04, true],
      [2, 0x3b02, false],
      [3, 0x3b06, true],
      [3, 0x3b01, false],
      [4, 0x3b07, true],
      [4, 0x3b08, false],
      [5, 0x3a10, true],
      [5, 0x3cff, true],
      [5, 0x3d00, false],
      [5, 0x3900, false],
    ];
    for (const [i, rid] of cases) d.send(i, 0, rid);
    expect(d.take().filter((x) => x[2] !== V.VTD_UNIT_RID).map((x) => [x[1], x[2]])).to.deep.equal(cases.filter((c) => c[2]).map((c) => [0x40 + c[0], c[1]]));
    const faults = d.service();
    expect(faults.map((f) => [f.reason, f.index, f.sid])).to.deep.equal(cases.filter((c) => !c[2]).map((c) => [0x26, c[0], c[1]]));
    expect(d.u.stats.iecHits, "later checks ran on cached entries").to.be.greaterThan(0);
  });

  it("blocks but does not record a fault of an IRTE with FPD set", () => {
    const d = driver();
    d.setIrte(8, irte(0, 0x48, { fpd: 1, svt: V.SVT_VERIFY_SID_SQ, sid: 0x1234 }));
    d.setIrte(9, { fpd: 1 });
    d.send(8);
    d.send(9);
    expect(d.take()).to.deep.equal([]);
    expect(d.r32(V.DMAR_FSTS_REG)).to.equal(0);
    expect(d.u.stats).to.include({ blocked: 2, faultsSuppressed: 2, faultsRecorded: 0 });
    expect(d.r.events("hw.vtd").filter((e) => e.what === "fault").map((e) => e.recorded)).to.deep.equal([false, false]);
  });

  it("sets PFO and drops the record when the next fault register is still pending", () => {
    const d = driver({ faultRecords: 2 });
    d.send(1, 0, 0x101);
    d.send(2, 0, 0x102);
    d.send(3, 0, 0x103);
    const fsts = d.r32(V.DMAR_FSTS_REG);
    expect(fsts & (V.DMA_FSTS_PPF | V.DMA_FSTS_PFO)).to.equal(V.DMA_FSTS_PPF | V.DMA_FSTS_PFO);
    expect(d.u.stats).to.include({ faultsRecorded: 2, faultsOverflowed: 1, blocked: 3 });
    d.w32(0x400 + 12, V.DMA_FRCD_F); // software frees record 0 only
    d.r.run(200);
    d.send(4, 0, 0x104);
    expect(d.take(), "PPF never dropped: no second event").to.deep.equal([FE]);
    expect(d.service().map((f) => f.sid)).to.deep.equal([0x104, 0x102]);
    expect(d.r32(V.DMAR_FSTS_REG) & 0xff).to.equal(0);
  });

  it("holds a masked fault event in FECTL.IP and sends it when IM is cleared", () => {
    const d = driver({ feMasked: true });
    d.send(1);
    expect(d.take()).to.deep.equal([]);
    expect(d.r32(V.DMAR_FECTL_REG)).to.equal((V.DMA_FECTL_IM | V.DMA_FECTL_IP) >>> 0);
    d.send(2);
    d.w32(V.DMAR_FECTL_REG, 0);
    expect(d.take()).to.deep.equal([FE]);
    expect(d.r32(V.DMAR_FECTL_REG)).to.equal(0);
    d.send(3);
    expect(d.take(), "PPF still set").to.deep.equal([]);
    expect(d.service().map((f) => f.index)).to.deep.equal([1, 2, 3]);
  });

  it("stops at a bad descriptor with IQE and IQH at it, and resumes from there once software clears IQE", () => {
    const d = driver({ mhmv: 2 });
    const bad: [readonly [bigint, bigint], number][] = [
      [[0n, 0n], V.IQEI_INVALID_DESC_TYPE],
      [[BigInt(V.QI_IEC_TYPE), 1n], V.IQEI_RSVD_FIELD],
      [[BigInt(V.QI_IEC_TYPE) | (1n << 50n), 0n], V.IQEI_RSVD_FIELD],
      [iecIndex(8, 3), V.IQEI_RSVD_FIELD],
      [[BigInt(V.QI_IWD_TYPE) | (1n << 12n), 0n], V.IQEI_RSVD_FIELD],
      [[0xfn, 0n], V.IQEI_INVALID_DESC_TYPE],
    ];
    for (const [desc, iqei] of bad) {
      const cell = d.waits++;
      d.r.p.ram.write32(STATUS + 4 * cell, V.QI_IN_USE);
      const at = d.tail;
      d.submit(iecGlobal(), desc, wait(cell));
      d.r.run(10000);
      expect(d.r32(V.DMAR_FSTS_REG) & V.DMA_FSTS_IQE).to.not.equal(0);
      expect(d.r32(V.DMAR_IQH_REG), "IQH at the bad descriptor").to.equal(at + 16);
      expect(V.DMAR_IQER_REG_IQEI(d.r64(V.DMAR_IQER_REG))).to.equal(iqei);
      expect(d.r.p.ram.read32(STATUS + 4 * cell)).to.equal(V.QI_IN_USE);
      expect(d.take()).to.deep.equal([FE]);
      // qi_check_fault(): overwrite the bad descriptor with the wait descriptor, clear IQE.
      const [w0, w1] = wait(cell);
      d.r.p.ram.write64(IQ + at + 16, w0);
      d.r.p.ram.write64(IQ + at + 24, w1);
      d.w32(V.DMAR_FSTS_REG, V.DMA_FSTS_IQE);
      d.r.run(10000);
      expect(d.r.p.ram.read32(STATUS + 4 * cell)).to.equal(V.QI_DONE);
      expect(d.r32(V.DMAR_IQH_REG)).to.equal(d.tail);
      expect(d.r32(V.DMAR_FSTS_REG)).to.equal(0);
    }
  });

  it("completes one descriptor per qiDescLatencyNs and writes the wait status by DMA", () => {
    const d = driver({ qiDescLatencyNs: 500 });
    d.r.run(10000);
    const processed = d.u.stats.descriptorsProcessed;
    d.r.p.ram.write32(STATUS, V.QI_IN_USE);
    d.submit(iecGlobal(), iecIndex(1), wait(0));
    d.r.run(100 + 3 * 500 - 1);
    expect(d.r.p.ram.read32(STATUS)).to.equal(V.QI_IN_USE);
    expect(d.r32(V.DMAR_IQH_REG)).to.equal(d.tail - 16);
    d.r.run(1);
    expect(d.r.p.ram.read32(STATUS)).to.equal(V.QI_DONE);
    expect(d.u.stats.descriptorsProcessed).to.equal(processed + 3);
    expect(d.r.events("hw.dma").some((e) => e.rid === V.VTD_UNIT_RID && e.addr === STATUS && e.what === "write")).to.equal(true);
  });

  it("sets ICS.IWC and sends the invalidation event for a wait descriptor with IF, honouring IECTL.IM", () => {
    const d = driver();
    d.w32(V.DMAR_IEDATA_REG, 0x33);
    d.w32(V.DMAR_IEADDR_REG, 0xfee00000 | (2 << 12));
    d.w32(V.DMAR_IECTL_REG, 0);
    const IWD_IF: readonly [bigint, bigint] = [BigInt(V.QI_IWD_TYPE) | V.QI_IWD_IF, 0n];
    d.sync(IWD_IF);
    expect(d.r32(V.DMAR_ICS_REG)).to.equal(V.DMA_ICS_IWC);
    expect(d.take()).to.deep.equal([[2, 0x33, V.VTD_UNIT_RID]]);
    d.sync(IWD_IF);
    expect(d.take(), "IWC still set: no new event").to.deep.equal([]);
    d.w32(V.DMAR_ICS_REG, V.DMA_ICS_IWC);
    d.w32(V.DMAR_IECTL_REG, V.DMA_FECTL_IM);
    d.sync(IWD_IF);
    expect(d.take()).to.deep.equal([]);
    expect(d.r32(V.DMAR_IECTL_REG)).to.equal((V.DMA_FECTL_IM | V.DMA_FECTL_IP) >>> 0);
    d.w32(V.DMAR_IECTL_REG, 0);
    expect(d.take()).to.deep.equal([[2, 0x33, V.VTD_UNIT_RID]]);
  });

  it("latches IQT while queued invalidation is off without fetching, and resets IQH when it is disabled", () => {
    const d = driver({ enable: false });
    d.w64(V.DMAR_IQA_REG, BigInt(IQ));
    d.w32(V.DMAR_IQT_REG, 0x20);
    d.r.run(10000);
    expect([d.r32(V.DMAR_IQT_REG), d.r32(V.DMAR_IQH_REG), d.u.stats.descriptorsProcessed]).to.deep.equal([0x20, 0, 0]);
    expect(d.r.events("hw.vtd").some((e) => e.what === "ignored" && /IQT/.test(e.why ?? ""))).to.equal(true);
    d.w32(V.DMAR_IQT_REG, 0);
    d.command(V.DMA_GCMD_QIE);
    d.sync(iecGlobal());
    expect(d.r32(V.DMAR_IQH_REG)).to.equal(0x20);
    d.w32(V.DMAR_GCMD_REG, 0);
    d.r.run(100 + 1000);
    expect([d.r32(V.DMAR_GSTS_REG), d.r32(V.DMAR_IQH_REG)]).to.deep.equal([0, 0]);
  });

  it("reports an invalidation time-out (ITE) on the next wait descriptor and fetches nothing until ITE is cleared", () => {
    const d = driver();
    const processed = d.u.stats.descriptorsProcessed;
    d.u.injectIte(0x3b00);
    for (const c of [0, 1]) d.r.p.ram.write32(STATUS + 4 * c, V.QI_IN_USE);
    d.waits = 2;
    d.submit(iecGlobal(), wait(0), iecGlobal(), wait(1));
    d.r.run(10000);
    expect(d.r32(V.DMAR_FSTS_REG) & V.DMA_FSTS_ITE).to.not.equal(0);
    expect((d.r64(V.DMAR_IQER_REG) >> 32n) & 0xffffn, "IQER.ITESID").to.equal(0x3b00n);
    expect([d.r.p.ram.read32(STATUS), d.r.p.ram.read32(STATUS + 4)]).to.deep.equal([V.QI_IN_USE, V.QI_IN_USE]);
    expect(d.r32(V.DMAR_IQH_REG), "pending descriptors dropped").to.equal(d.tail);
    expect(d.u.stats.descriptorsProcessed).to.equal(processed + 1);
    expect(d.take()).to.deep.equal([FE]);
    d.submit(wait(2));
    d.r.run(10000);
    expect(d.r.p.ram.read32(STATUS + 8), "nothing fetched while ITE is set").to.equal(0);
    d.w32(V.DMAR_FSTS_REG, V.DMA_FSTS_ITE);
    d.r.run(10000);
    expect(d.r.p.ram.read32(STATUS + 8)).to.equal(V.QI_DONE);
  });

  it("flushes the IEC on SIRTP only with CAP.ESIRTPS", () => {
    for (const esirtps of [false, true]) {
      const d = driver({ esirtps });
      d.setIrte(1, irte(0, 0x41));
      d.send(1);
      d.setIrte(1, irte(0, 0x51));
      d.command(V.DMA_GCMD_SIRTP, false);
      d.send(1);
      expect(d.take().map((x) => x[1]), `esirtps ${esirtps}`).to.deep.equal(esirtps ? [0x41, 0x51] : [0x41, 0x41]);
    }
  });

  it("faults 0x23 when the latched table pointer is 0", () => {
    const d = driver({ irta: 3n });
    d.send(1);
    expect(d.take()).to.deep.equal([FE]);
    expect(d.service()).to.deep.equal([{ reason: 0x23, sid: RID, index: 1, type: 0 }]);
  });

  it("uses the full destination ID with EIME and then blocks compatibility format even with CFI set", () => {
    const d = driver({ eim: true, cfi: true, irta: BigInt(IRT) | BigInt(V.IR_X2APIC_MODE(1)) | 0xfn });
    expect(d.u.activeTable?.eime).to.equal(true);
    d.setIrte(1, irte(0, 0x41, { dest_id: V.IRTE_DEST(3, true) }));
    d.setIrte(2, irte(0, 0x42, { dest_id: 0x1003 }));
    d.send(1);
    d.send(2);
    const m = composeCompat({ dest: 1, vector: 0x39 });
    d.r.p.dmaWrite32(RID, m.addrLo, 0, m.data);
    expect(d.take()).to.deep.equal([[3, 0x41, RID], FE]);
    expect(d.service()).to.deep.equal([{ reason: 0x25, sid: RID, index: 0, type: 0 }]);
    expect(d.r.events("hw.vtd").some((e) => e.what === "ignored" && /x2APIC/.test(e.why ?? ""))).to.equal(true);
  });

  it("takes 64-bit registers as dword halves, masks reserved IRTA bits, and refuses byte accesses", () => {
    const d = driver({ enable: false });
    d.w32(V.DMAR_IQA_REG, 0x12345000 | 1);
    d.w32(V.DMAR_IQA_REG + 4, 0x7);
    expect(d.r64(V.DMAR_IQA_REG)).to.equal(0x7_12345001n);
    d.w64(V.DMAR_IRTA_REG, 0x1_0000_0000n | BigInt(IRT) | 0xff0n | 0xfn);
    expect(d.r64(V.DMAR_IRTA_REG), "EIME reserved without ECAP.EIM, bits 10:4 reserved").to.equal(0x1_0000_0000n | BigInt(IRT) | 0xfn);
    expect(d.r.p.mmio.read(0, B + V.DMAR_GSTS_REG, 1)).to.equal(0xff);
    expect(d.r.events("hw.ur").map((e) => e.dev)).to.deep.equal(["dmar0"]);
  });
});
