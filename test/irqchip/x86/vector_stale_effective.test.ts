// SPDX-License-Identifier: GPL-2.0-only
// arch/x86/kernel/apic/vector.c + kernel/irq/{manage,cpuhotplug}.c: an
// irq_set_affinity() on a deactivated, non-reservable interrupt while its
// old vector is still in use (move in progress, or queued for cleanup). The
// deactivated path copies the mask into the effective affinity, the next
// activation keeps the vector where it is (assign_vector_locked() is -EBUSY
// for the new mask and returns 0 early for the online mask), and CPU offline
// trusts the effective affinity and skips the interrupt: its vector stays on
// the dead CPU and the interrupt is lost. The same steps ran on Linux 6.12
// (docs/oracle/vecrace.txt, module/oracle_vecrace.c in
// docs/oracle/vecrace.patch); these tests assert what it showed:
// - scenarios stale/control: an interrupt allocated straight from the vector
//   domain, IRQD_CAN_RESERVE cleared as msi_init_virq() does for an MSI
//   without reservation mode, no remapping (move_in_progress holds the
//   window open until an interrupt arrives on the new vector);
// - scenarios ir_stale/ir_control: a remapped MSI without mask bits (QEMU's
//   edu device there, the IMS array device here: IMS has no reservation mode
//   either); intel_ir_set_affinity() queues the old vector for cleanup at
//   once and the window is the cleanup timer's jiffy on the old CPU.
import { expect } from "chai";
import { createMachine, type Machine } from "../../../lib/machine.ts";
import { cpu_online_mask, cpumask_of, cpumask_pr_list } from "../../../lib/kernel/cpumask.ts";
import { msleep } from "../../../lib/kernel/delay.ts";
import { smp_processor_id } from "../../../lib/kernel/context.ts";
import { EBUSY } from "../../../lib/kernel/errno.ts";
import { add_cpu, remove_cpu } from "../../../lib/kernel/cpu.ts";
import { irq_set_affinity } from "../../../lib/irq/manage_affinity.ts";
import { free_irq, request_irq } from "../../../lib/irq/manage.ts";
import { irq_inject_interrupt } from "../../../lib/irq/resend.ts";
import { irq_set_handler } from "../../../lib/irq/chip.ts";
import { handle_edge_irq } from "../../../lib/irq/flow.ts";
import { IRQ_HANDLED } from "../../../lib/irq/interrupt.ts";
import { irq_get_irq_data, irq_to_desc } from "../../../lib/irq/irqdesc.ts";
import { NUMA_NO_NODE } from "../../../lib/irq/irqdomain.ts";
import { __irq_domain_alloc_irqs, irq_domain_free_irqs } from "../../../lib/irq/irqdomain_hier.ts";
import {
  irqd_affinity_was_set,
  irqd_can_reserve,
  irqd_clr_can_reserve,
  irqd_is_activated,
  irqd_is_setaffinity_pending,
  irqd_is_started,
  type irq_data,
} from "../../../lib/irq/irq.ts";
import { apic_chip_data, init_irq_alloc_info, irqd_cfg, x86_vector_domain } from "../../../irqchip/x86/vector.ts";
import { IMSDEV_IMS_OFFSET } from "../../../lib/hw/devices/ims.ts";
import { pci_ims_alloc_irq, pci_ims_free_irq } from "../../../drivers/pci/msi/msi.ts";
import { pci_enable_device, pci_iomap, pci_set_master } from "../../../drivers/pci/pci.ts";
import { pci_ims_array_create_msi_irq_domain } from "../../../drivers/dma/idxd/ims.ts";
import { INTEL_IDXD_DEV_COOKIE } from "../../../irqchip/irq-pci-intel-idxd.ts";
import { dmesgLines } from "../../harness.ts";
import { imsRig } from "../../drivers/dma/idxd/fixture.ts";

/** What the oracle module prints after each step, as plain values. */
interface Snap {
  ret: number | string | null;
  affinity: string;
  effective: string;
  pending: boolean;
  vector: number;
  dest: number;
  prev_vector: number;
  prev_cpu: number;
  move_in_progress: boolean;
  /** the old vector is queued for the cleanup timer (apicd->clist hashed) */
  cleanup_queued: boolean;
  can_reserve: boolean;
  has_reserved: boolean;
  activated: boolean;
  started: boolean;
  irqd_can_reserve: boolean;
  affinity_set: boolean;
  online: string;
  handled: number;
  last_cpu: number;
  /** irq_vectors and irq_matrix events of the step */
  events: string[];
  /** dmesg lines of the step */
  dmesg: string[];
}

interface Run {
  irq: number;
  x: number;
  t: number;
  at(step: string): Snap;
  /** irq_vectors and irq_matrix events after the last step (the teardown) */
  teardown: string[];
}

/** Records the state of `d` after each step, as the oracle module's state() does. */
class Recorder {
  handled = 0;
  last_cpu = -1;
  readonly snaps = new Map<string, Snap>();
  private tr: number;
  private log: number;

  constructor(
    private m: Machine,
    private d: irq_data,
  ) {
    this.tr = m.trace().length;
    this.log = dmesgLines(m).length;
  }

  readonly handler = (): number => {
    this.handled++;
    this.last_cpu = smp_processor_id();
    return IRQ_HANDLED;
  };

  events(): string[] {
    return this.m
      .trace()
      .slice(this.tr)
      .filter((r) => r.kind === "tp" && (r.system === "irq_vectors" || r.system === "irq_matrix"))
      .map((r) => (r.kind === "tp" ? `${r.event}: ${r.text.replace(/ online=.*/, "")}` : ""));
  }

  snap(step: string, ret: number | string | null): void {
    const d = this.d;
    const a = apic_chip_data(d)!;
    const cfg = irqd_cfg(d)!;
    const lines = dmesgLines(this.m);
    this.snaps.set(step, {
      ret,
      affinity: cpumask_pr_list(d.common.affinity),
      effective: cpumask_pr_list(d.common.effective_affinity),
      pending: irqd_is_setaffinity_pending(d),
      vector: cfg.vector,
      dest: cfg.dest_apicid,
      prev_vector: a.prev_vector,
      prev_cpu: a.prev_cpu,
      move_in_progress: a.move_in_progress,
      cleanup_queued: a.clist,
      can_reserve: a.can_reserve,
      has_reserved: a.has_reserved,
      activated: irqd_is_activated(d),
      started: irqd_is_started(d),
      irqd_can_reserve: irqd_can_reserve(d),
      affinity_set: irqd_affinity_was_set(d),
      online: cpumask_pr_list(cpu_online_mask()),
      handled: this.handled,
      last_cpu: this.last_cpu,
      events: this.events(),
      dmesg: lines.slice(this.log),
    });
    this.tr = this.m.trace().length;
    this.log = lines.length;
  }

  run(irq: number, x: number, t: number, teardown: string[]): Run {
    const snaps = this.snaps;
    return {
      irq,
      x,
      t,
      teardown,
      at(step: string): Snap {
        const s = snaps.get(step);
        if (!s) throw new Error(`no step ${step}`);
        return s;
      },
    };
  }
}

/** T: the first CPU above 0 that is not X (the oracle module's choice). */
function pick_t(x: number): number {
  let t = 1;
  while (t === x) t++;
  return t;
}

/**
 * Scenarios stale/control: request (vector on X), irq_set_affinity({T}),
 * free_irq, [irq_set_affinity({X}) while deactivated], request_irq,
 * remove_cpu(T), inject, add_cpu(T), inject, free.
 */
async function vecrace(stale: boolean): Promise<{ m: Machine; r: Run }> {
  const m = await createMachine({ cpus: 4, iommu: { interruptRemapping: false } });
  const r = await m.run(async () => {
    const info = init_irq_alloc_info({}, null);
    const irq = (await __irq_domain_alloc_irqs(x86_vector_domain(), -1, 1, NUMA_NO_NODE, info, false, null)) as number;
    expect(irq).to.be.greaterThan(0);
    const d = irq_get_irq_data(irq)!;
    // msi_init_virq() without VIRQ_CAN_RESERVE
    irqd_clr_can_reserve(d);
    irq_set_handler(irq, handle_edge_irq);
    const rec = new Recorder(m, d);
    const dev = {};
    const inject = async (step: string): Promise<void> => {
      const ret = await irq_inject_interrupt(irq);
      await msleep(50);
      rec.snap(step, ret);
    };
    rec.snap("alloc", irq);
    rec.snap("request", await request_irq(irq, rec.handler, 0, "vecrace", dev));
    // APIC ID == CPU number
    const x = irqd_cfg(d)!.dest_apicid;
    const t = pick_t(x);
    rec.snap("set_affinity T", irq_set_affinity(irq, cpumask_of(t)));
    rec.snap("free", await free_irq(irq, dev));
    if (stale) rec.snap("set_affinity X", irq_set_affinity(irq, cpumask_of(x)));
    rec.snap("request again", await request_irq(irq, rec.handler, 0, "vecrace", dev));
    rec.snap("remove_cpu T", await remove_cpu(t));
    await inject("inject offline");
    rec.snap("add_cpu T", await add_cpu(t));
    await inject("inject online");
    rec.snap("free again", await free_irq(irq, dev));
    await irq_domain_free_irqs(irq, 1);
    return rec.run(irq, x, t, rec.events());
  });
  return { m, r };
}

/**
 * Scenarios ir_stale/ir_control: the same steps on a remapped IMS interrupt,
 * with real messages from the device instead of retriggers, and a pause
 * after the second request in which the cleanup timer runs on X.
 */
async function imsrace(stale: boolean): Promise<{ m: Machine; r: Run }> {
  const rig = await imsRig({ probe: false, dev: { polarity: "rfc2020" } });
  const { m, hw, pdev } = rig;
  const r = await m.run(async () => {
    pci_enable_device(pdev);
    pci_set_master(pdev);
    const slots = pci_iomap(pdev, 0, 0) + IMSDEV_IMS_OFFSET;
    expect(await pci_ims_array_create_msi_irq_domain(pdev, { slots, max_slots: 8 })).to.equal(true);
    const map = await pci_ims_alloc_irq(pdev, INTEL_IDXD_DEV_COOKIE(0x5a), null);
    const irq = map.virq;
    const d = irq_get_irq_data(irq)!;
    expect(d.chip.name).to.equal("IR-IMS-0000:6a:01.0");
    const rec = new Recorder(m, d);
    const dev = {};
    const raise = async (step: string): Promise<void> => {
      hw.raise(map.index);
      await msleep(50);
      rec.snap(step, 0);
    };
    rec.snap("alloc", irq);
    rec.snap("request", await request_irq(irq, rec.handler, 0, "vecrace-ims", dev));
    await raise("raise");
    const x = irqd_cfg(d)!.dest_apicid;
    const t = pick_t(x);
    rec.snap("set_affinity T", irq_set_affinity(irq, cpumask_of(t)));
    rec.snap("free", await free_irq(irq, dev));
    if (stale) rec.snap("set_affinity X", irq_set_affinity(irq, cpumask_of(x)));
    rec.snap("request again", await request_irq(irq, rec.handler, 0, "vecrace-ims", dev));
    await msleep(50);
    rec.snap("+50ms", 0);
    rec.snap("remove_cpu T", await remove_cpu(t));
    await raise("raise offline");
    rec.snap("add_cpu T", await add_cpu(t));
    await raise("raise online");
    rec.snap("free again", await free_irq(irq, dev));
    await pci_ims_free_irq(pdev, map);
    return rec.run(irq, x, t, rec.events());
  });
  return { m, r };
}

describe("irqchip/x86 vector domain: a deactivated irq_set_affinity() during a vector move (Linux 6.12 oracle: vecrace)", () => {
  it("the first activation of a non-reservable interrupt turns apicd->can_reserve off, so free_irq() keeps its vector ('Regular fixed assigned interrupt') and leaves the move in progress", async () => {
    const { r } = await vecrace(true);
    const alloc = r.at("alloc");
    // reserve_irq_vector(): parked on the shutdown vector of CPU0
    expect([alloc.vector, alloc.dest, alloc.can_reserve, alloc.has_reserved, alloc.irqd_can_reserve]).to.deep.equal([239, 0, true, true, false]);
    const req = r.at("request");
    expect([req.ret, req.effective, req.dest, req.can_reserve, req.has_reserved, req.activated, req.started]).to.deep.equal([0, `${r.x}`, r.x, false, false, true, true]);
    // lapic_controller has no IRQCHIP_MOVE_DEFERRED (6.13+): the move is
    // immediate. Linux 6.12 had no IRQD_MOVE_PCNTXT on such an interrupt and
    // made the same move in the ack of one interrupt on X; the state after it
    // is the same.
    const mv = r.at("set_affinity T");
    expect([mv.ret, mv.pending, mv.affinity, mv.effective, mv.dest]).to.deep.equal([0, false, `${r.t}`, `${r.t}`, r.t]);
    expect([mv.move_in_progress, mv.prev_vector, mv.prev_cpu]).to.deep.equal([true, req.vector, r.x]);
    const free = r.at("free");
    expect([free.activated, free.started, free.dest, free.vector, free.move_in_progress, free.prev_vector]).to.deep.equal([false, false, r.t, mv.vector, true, req.vector]);
    expect(free.events).to.deep.equal([`vector_deactivate: irq=${r.irq} is_managed=0 can_reserve=0 reserve=0`]);
  });

  it("irq_set_affinity() while deactivated sets affinity and effective affinity to {X}; the next activation keeps the vector on T; CPU offline of T skips the interrupt and it is never delivered again", async () => {
    const { m, r } = await vecrace(true);
    const mv = r.at("set_affinity T");
    const set = r.at("set_affinity X");
    // irq_set_affinity_deactivated(): no chip call, no vector event
    expect([set.ret, set.affinity, set.effective, set.affinity_set, set.pending]).to.deep.equal([0, `${r.x}`, `${r.x}`, true, false]);
    expect([set.dest, set.vector, set.move_in_progress]).to.deep.equal([r.t, mv.vector, true]);
    expect(set.events).to.deep.equal([]);
    // x86_vector_activate() -> assign_irq_vector_any_locked(): {X} is -EBUSY
    // (move in progress), the online mask returns 0 because T is online and
    // in it; irq_setup_affinity()'s irq_do_set_affinity() is -EBUSY again and
    // is not left pending.
    const again = r.at("request again");
    expect([again.ret, again.activated, again.started, again.pending]).to.deep.equal([0, true, true, false]);
    expect([again.affinity, again.effective]).to.deep.equal([`${r.x}`, `${r.x}`]);
    expect([again.dest, again.vector, again.move_in_progress, again.prev_vector, again.prev_cpu]).to.deep.equal([r.t, mv.vector, true, mv.prev_vector, r.x]);
    expect(again.events).to.deep.equal([`vector_activate: irq=${r.irq} is_managed=0 can_reserve=0 reserve=0`]);
    // fixup_irqs(): irq_force_complete_move() frees the old vector on X,
    // irq_needs_fixup() reads effective {X} and the interrupt is not moved
    const off = r.at("remove_cpu T");
    expect(off.ret).to.equal(0);
    expect(off.dmesg).to.deep.equal([`IRQ fixup: irq ${r.irq} move in progress, old vector ${mv.prev_vector}`, `smpboot: CPU ${r.t} is now offline`]);
    expect([off.effective, off.dest, off.vector, off.move_in_progress, off.prev_vector]).to.deep.equal([`${r.x}`, r.t, mv.vector, false, 0]);
    // the retrigger IPI goes to the dead CPU: nothing is handled, and the
    // injection's IRQS_REPLAY is never cleared, so the next one is -EBUSY
    const lost = r.at("inject offline");
    expect([lost.ret, lost.handled]).to.deep.equal([0, off.handled]);
    const on = r.at("add_cpu T");
    expect([on.ret, on.dest, on.effective]).to.deep.equal([0, r.t, `${r.x}`]);
    const busy = r.at("inject online");
    expect([busy.ret, busy.handled]).to.deep.equal([-EBUSY, off.handled]);
    // the vector was on T to the end
    expect(r.teardown[0]).to.equal(`vector_clear: irq=${r.irq} vector=${mv.vector} cpu=${r.t} prev_vector=0 prev_cpu=${r.x}`);
    expect(dmesgLines(m).filter((l) => /Eff\. affinity|No irq handler|WARNING/.test(l))).to.deep.equal([]);
    expect(irq_to_desc(r.irq)).to.equal(null);
  });

  it("control, without the deactivated irq_set_affinity(): the activation keeps effective {T}, CPU offline of T breaks the affinity and moves the interrupt, which is then delivered", async () => {
    const { r } = await vecrace(false);
    const mv = r.at("set_affinity T");
    const again = r.at("request again");
    expect([again.ret, again.affinity, again.effective, again.dest, again.move_in_progress]).to.deep.equal([0, `${r.t}`, `${r.t}`, r.t, true]);
    const off = r.at("remove_cpu T");
    expect(off.dmesg).to.deep.equal([`IRQ fixup: irq ${r.irq} move in progress, old vector ${mv.prev_vector}`, `smpboot: CPU ${r.t} is now offline`]);
    // migrate_one_irq(): {T} has no online CPU left, the affinity is broken to the online mask
    expect([off.affinity, off.move_in_progress, off.prev_vector]).to.deep.equal([off.online, false, 0]);
    expect(off.dest).to.not.equal(r.t);
    expect(off.effective).to.equal(`${off.dest}`);
    const got = r.at("inject offline");
    expect([got.ret, got.handled, got.last_cpu]).to.deep.equal([0, off.handled + 1, off.dest]);
    const on = r.at("inject online");
    expect([on.ret, on.handled, on.last_cpu]).to.deep.equal([0, off.handled + 2, off.dest]);
  });

  it("remapped (IMS behind INTEL-IR): the old vector queued for cleanup keeps the activation on T; after the cleanup, CPU offline of T is silent, the message is lost while T is down and hits 'No irq handler for T.v' when T is back", async () => {
    const { r } = await imsrace(true);
    const req = r.at("request");
    // IMS has no reservation mode: msi_check_reservation_mode() is false
    expect([req.ret, req.can_reserve, req.has_reserved, req.dest]).to.deep.equal([0, false, false, r.x]);
    expect([r.at("raise").handled, r.at("raise").last_cpu]).to.deep.equal([1, r.x]);
    // IR moves at once and vector_schedule_cleanup() queues the old vector
    const mv = r.at("set_affinity T");
    expect([mv.ret, mv.pending, mv.dest, mv.effective, mv.move_in_progress, mv.cleanup_queued, mv.prev_vector, mv.prev_cpu]).to.deep.equal([
      0,
      false,
      r.t,
      `${r.t}`,
      false,
      true,
      req.vector,
      r.x,
    ]);
    const set = r.at("set_affinity X");
    expect([set.affinity, set.effective, set.dest, set.cleanup_queued]).to.deep.equal([`${r.x}`, `${r.x}`, r.t, true]);
    // The oracle keeps CPU X busy with interrupts off for this window; here
    // free/set/request end inside the cleanup timer's jiffy. Either way the
    // old vector is still queued when the activation runs.
    const again = r.at("request again");
    expect([again.ret, again.effective, again.dest, again.vector, again.cleanup_queued]).to.deep.equal([0, `${r.x}`, r.t, mv.vector, true]);
    const settled = r.at("+50ms");
    expect([settled.effective, settled.dest, settled.cleanup_queued, settled.prev_vector]).to.deep.equal([`${r.x}`, r.t, false, 0]);
    // nothing left to complete: no "IRQ fixup" line, and no migration
    const off = r.at("remove_cpu T");
    expect(off.dmesg).to.deep.equal([`smpboot: CPU ${r.t} is now offline`]);
    expect([off.effective, off.dest, off.vector]).to.deep.equal([`${r.x}`, r.t, mv.vector]);
    expect(r.at("raise offline").handled).to.equal(1);
    const on = r.at("raise online");
    expect(on.handled).to.equal(1);
    expect(on.dmesg).to.deep.equal([`No irq handler for ${r.t}.${mv.vector}`]);
  });

  it("remapped control, without the deactivated irq_set_affinity(): CPU offline of T moves the interrupt and the device's messages are delivered", async () => {
    const { r } = await imsrace(false);
    const again = r.at("request again");
    expect([again.effective, again.dest, again.cleanup_queued]).to.deep.equal([`${r.t}`, r.t, true]);
    const off = r.at("remove_cpu T");
    expect(off.dmesg).to.deep.equal([`smpboot: CPU ${r.t} is now offline`]);
    expect([off.affinity, off.effective]).to.deep.equal([off.online, `${off.dest}`]);
    expect(off.dest).to.not.equal(r.t);
    const got = r.at("raise offline");
    expect([got.handled, got.last_cpu]).to.deep.equal([2, off.dest]);
    const on = r.at("raise online");
    expect([on.handled, on.last_cpu, on.dmesg]).to.deep.equal([3, off.dest, []]);
  });
});
