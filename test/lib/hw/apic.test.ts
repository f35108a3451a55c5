// SPDX-License-Identifier: GPL-2.0-only
import { expect } from "chai";
import { rig } from "./rig.ts";
import { APIC_DEFAULT_PHYS_BASE as BASE, APIC_EOI, APIC_ICR, APIC_ICR2, APIC_ID, APIC_IRR, APIC_ISR, APIC_PROCPRI, APIC_SPIV, APIC_TASKPRI } from "../../../lib/hw/apic.ts";

describe("lib/hw/apic local APIC", () => {
  it("delivers by priority class and holds lower classes while a higher vector is in service", () => {
    const { p } = rig({ cpus: 1 });
    const l = p.lapic(0);
    l.accept(0x80, 0);
    expect(l.deliverable()).to.equal(true);
    expect(l.inta()).to.equal(0x80);
    expect(l.isIsr(0x80)).to.equal(true);
    l.accept(0x50, 0);
    l.accept(0x85, 0);
    expect(l.deliverable(), "0x5x and 0x8x are not above in-service class 8").to.equal(false);
    l.accept(0x90, 0);
    expect(l.deliverable()).to.equal(true);
    expect(l.inta()).to.equal(0x90);
    expect(l.ppr()).to.equal(0x90);
    l.eoi();
    expect(l.isIsr(0x90)).to.equal(false);
    expect(l.isIsr(0x80)).to.equal(true);
    expect(l.deliverable()).to.equal(false);
    l.eoi();
    expect(l.inta()).to.equal(0x85);
    l.eoi();
    expect(l.inta()).to.equal(0x50);
    l.eoi();
    expect(l.highestIsr()).to.equal(-1);
  });

  it("returns the spurious vector, with nothing in service, when nothing is deliverable", () => {
    const { p } = rig({ cpus: 1 });
    const l = p.lapic(0);
    expect(l.inta()).to.equal(0xff);
    expect(l.highestIsr()).to.equal(-1);
    l.tpr = 0x60;
    l.accept(0x55, 0);
    expect(l.deliverable(), "TPR blocks class 5").to.equal(false);
    expect(l.inta()).to.equal(0xff);
    expect(l.stats.spurious).to.equal(2);
  });

  it("merges an edge vector that is already pending and rejects vectors below 16", () => {
    const { p, events } = rig({ cpus: 1 });
    const l = p.lapic(0);
    l.accept(0x40, 0);
    l.accept(0x40, 0);
    l.accept(0x0e, 0);
    expect(l.stats).to.include({ accepted: 1, coalesced: 1 });
    expect(l.highestIrr()).to.equal(0x40);
    expect(events("hw.apic").map((e) => e.what)).to.deep.equal(["irr", "coalesced", "illegal-vector"]);
  });

  it("drops interrupts while software-disabled", () => {
    const { p } = rig({ cpus: 1 });
    const l = p.lapic(0);
    l.svr = 0xff;
    l.accept(0x40, 0);
    expect(l.highestIrr()).to.equal(-1);
  });

  it("maps one register page that each CPU sees as its own APIC", () => {
    const r = rig({ cpus: 3 });
    expect(r.r32(BASE + APIC_ID, 0) >>> 24).to.equal(0);
    expect(r.r32(BASE + APIC_ID, 2) >>> 24).to.equal(2);
    r.p.lapic(2).accept(0x41, 0);
    r.run(0);
    expect(r.r32(BASE + APIC_IRR + 0x20, 2)).to.equal(1 << 1);
    expect(r.r32(BASE + APIC_IRR + 0x20, 1)).to.equal(0);
    r.p.lapic(2).inta();
    expect(r.r32(BASE + APIC_ISR + 0x20, 2)).to.equal(1 << 1);
    r.w32(BASE + APIC_TASKPRI, 0x20, 2);
    expect(r.r32(BASE + APIC_PROCPRI, 2)).to.equal(0x40);
    r.w32(BASE + APIC_EOI, 0, 2);
    expect(r.r32(BASE + APIC_ISR + 0x20, 2), "EOI takes effect at once: the APIC is not behind a posted path").to.equal(0);
    expect(r.r32(BASE + APIC_SPIV, 1)).to.equal(0x1ff);
    expect(r.p.mmio.read(0, BASE + APIC_ID + 1, 1), "byte access ignored").to.equal(0);
    expect(r.events("hw.apic").filter((e) => e.what === "bad-access")).to.have.length(1);
  });

  it("sends fixed IPIs through the ICR: to an APIC ID, to itself, and to all but itself", () => {
    const r = rig({ cpus: 3 });
    r.w32(BASE + APIC_ICR2, 2 << 24, 0);
    r.w32(BASE + APIC_ICR, 0x31, 0);
    r.w32(BASE + APIC_ICR, 0x40000 | 0x32, 1);
    r.w32(BASE + APIC_ICR, 0xc0000 | 0x33, 0);
    r.run(199);
    expect(r.p.lapic(2).highestIrr()).to.equal(-1);
    r.run(1);
    expect(r.p.lapic(2).isIrr(0x31)).to.equal(true);
    expect(r.p.lapic(1).isIrr(0x32)).to.equal(true);
    expect(r.p.lapic(0).isIrr(0x33)).to.equal(false);
    expect(r.p.lapic(1).isIrr(0x33)).to.equal(true);
    expect(r.p.lapic(2).isIrr(0x33)).to.equal(true);
  });
});
