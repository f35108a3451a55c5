// SPDX-License-Identifier: GPL-2.0-only
// The checks of the irq_chip conformance suite (conformance.ts). Each runs
// on a fresh rig, drives the chip only through the kernel API and the
// device's back door, and fails with a ConformanceFailure whose first line
// names the bug in the chip's terms.

import type { TraceRecord } from "../sim/trace.ts";
import { in_hardirq, irqs_disabled, smp_processor_id } from "../kernel/context.ts";
import { cpu_online_mask, cpumask_of, cpumask_pr_list, cpumask_test_cpu, for_each_cpu } from "../kernel/cpumask.ts";
import { msleep } from "../kernel/delay.ts";
import { K } from "../kernel/kernel.ts";
import { raw_spin_lock_irqsave, raw_spin_unlock_irqrestore } from "../kernel/spinlock.ts";
import { mask_irq, irq_chip_compose_msi_msg, irq_set_status_flags, unmask_irq } from "../irq/chip.ts";
import { IRQ_HANDLED, type irqreturn_t } from "../irq/interrupt.ts";
import { IRQ_DISABLE_UNLAZY, irq_data_get_effective_affinity_mask, irqd_is_activated, irqd_is_setaffinity_pending } from "../irq/irq.ts";
import { irq_get_irq_data, irq_to_desc, kstat_irqs } from "../irq/irqdesc.ts";
import { disable_irq, enable_irq, free_irq, request_irq } from "../irq/manage.ts";
import { irq_set_affinity } from "../irq/manage_affinity.ts";
import { msi_msg } from "../irq/msi_types.ts";
import { UnexpectedSplatError } from "../machine.ts";
import { ConformanceFailure, type ChipRig, type ConformanceOptions } from "./conformance_types.ts";

export interface ConformanceCheck {
  /** The behaviour checked, as a test title. */
  title: string;
  /** Does the check apply to a chip with these options (default: always)? */
  applies?(o: ConformanceOptions): boolean;
  run(rig: ChipRig, o: ConformanceOptions): Promise<void>;
}

/** What the suite's handler saw for one interrupt. */
interface Seen {
  count: number;
  cpus: number[];
  /** Invocations outside hardirq context or with interrupts on. */
  badContext: string[];
}

function fail(msg: string): never {
  throw new ConformanceFailure(msg);
}

// the suite's handler: hardirq context, desc->lock dropped
function conformance_handler(_irq: number, dev_id: unknown): irqreturn_t {
  const s = dev_id as Seen;
  s.count++;
  s.cpus.push(smp_processor_id());
  if (!in_hardirq() || !irqs_disabled()) s.badContext.push(`in_hardirq=${in_hardirq()} irqs_disabled=${irqs_disabled()}`);
  return IRQ_HANDLED;
}

// read through a call: the checks compare counts across awaits, where narrowing would lie
function cnt(x: Seen): number {
  return x.count;
}

function seen(): Seen {
  return { count: 0, cpus: [], badContext: [] };
}

/** Request the suite's handler on interrupts `ks` of the rig (all by default). */
async function requestAll(rig: ChipRig, ks: readonly number[] = rig.irqs.map((_, k) => k)): Promise<Seen[]> {
  const out: Seen[] = rig.irqs.map(() => seen());
  await rig.m.run(async () => {
    for (const k of ks) {
      const ret = await request_irq(rig.irqs[k]!, conformance_handler, 0, `conformance-${k}`, out[k]);
      if (ret) fail(`request_irq(${rig.irqs[k]!}) failed with ${ret}: the chip's startup path (irq_startup/irq_enable/irq_unmask or activation) refused it`);
    }
  });
  return out;
}

async function settle(rig: ChipRig, o: ConformanceOptions): Promise<void> {
  const ns = o.settleNs ?? 1e6;
  await rig.m.run(() => msleep(Math.max(1, Math.ceil(ns / 1e6))));
}

/** mask_irq()/unmask_irq() as genirq calls them: under desc->lock, interrupts off. */
function underDescLock(irq: number, fn: (d: NonNullable<ReturnType<typeof irq_to_desc>>) => void): void {
  const desc = irq_to_desc(irq);
  if (!desc) fail(`irq ${irq} has no descriptor`);
  const flags = raw_spin_lock_irqsave(desc.lock);
  try {
    fn(desc);
  } finally {
    raw_spin_unlock_irqrestore(desc.lock, flags);
  }
}

function onlineCpus(rig: ChipRig): number[] {
  return rig.m.enter(() => [...for_each_cpu(cpu_online_mask())]);
}

function composed(rig: ChipRig, irq: number): msi_msg {
  return rig.m.enter(() => {
    const d = irq_get_irq_data(irq);
    if (!d) fail(`irq ${irq} has no irq_data`);
    const msg = new msi_msg();
    const ret = irq_chip_compose_msi_msg(d, msg);
    if (ret) fail(`irq_chip_compose_msi_msg(irq ${irq}) returned ${ret}: no chip of the hierarchy composes a message`);
    return msg;
  });
}

const hex = (v: number): string => `0x${(v >>> 0).toString(16).padStart(8, "0")}`;
const fmtMsg = (m: { address_lo: number; address_hi: number; data: number }): string => `addr ${hex(m.address_hi)}:${hex(m.address_lo)} data ${hex(m.data)}`;

function expectMessage(rig: ChipRig, k: number, when: string): void {
  const irq = rig.irqs[k]!;
  const want = composed(rig, irq);
  const got = rig.message!(k);
  if (got.address_lo >>> 0 !== want.address_lo || got.address_hi >>> 0 !== want.address_hi || got.data >>> 0 !== want.data) {
    fail(
      `the device holds a message that differs from the composed one ${when} (irq ${irq}): ` +
        `irq_chip_compose_msi_msg() gives ${fmtMsg(want)}, the device has ${fmtMsg(got)}; ` +
        `irq_write_msi_msg did not write it, or wrote it somewhere else`,
    );
  }
}

/**
 * A deferred move completes only with interrupts: without remapping x86
 * reprograms the device in the ack of the next interrupt (still taken at
 * the old CPU, IRQD_SETAFFINITY_PENDING) and releases the old vector only
 * after the first interrupt on the new one (irq_complete_move(), then
 * __vector_cleanup() a jiffy later); a queue-backed chip pushes the new
 * message from a work item. Raise every interrupt (all at once, so that
 * several moves can meet in one deferred push), settle, raise again the
 * ones that took their pending move at the old CPU, and expect each raise
 * handled (once, or twice after x86's IRR retrigger) at a CPU of the new
 * effective affinity, which is CPU `c`.
 */
async function deliverAfterMove(rig: ChipRig, o: ConformanceOptions, s: readonly Seen[], c: number): Promise<void> {
  let todo = [...rig.irqs.keys()];
  for (let round = 0; todo.length; round++) {
    const pending = new Set(todo.filter((k) => rig.m.enter(() => irqd_is_setaffinity_pending(irq_get_irq_data(rig.irqs[k]!)!))));
    const before = s.map(cnt);
    for (const k of todo) rig.raise(k);
    await settle(rig, o);
    const again: number[] = [];
    for (const k of todo) {
      const irq = rig.irqs[k]!;
      const x = s[k]!;
      // x86's msi_set_affinity() retriggers an interrupt whose new vector it
      // finds pending in the local IRR (here: another interrupt of the rig,
      // raised at once, still on that vector number): one extra run is legal
      const n = x.count - before[k]!;
      if (n < 1 || n > 2) fail(`after moving irq ${irq} to CPU${c} one raise was handled ${n} times${n === 0 ? ": the move left the device without a routed message" : ""}`);
      const cpu = x.cpus.at(-1)!;
      const eff = rig.m.enter(() => irq_data_get_effective_affinity_mask(irq_get_irq_data(irq)!));
      if (cpu === c && cpumask_test_cpu(cpu, eff)) continue;
      // IRQCHIP_MOVE_DEFERRED: this interrupt carried out the move at the old CPU
      if (round === 0 && pending.has(k)) {
        again.push(k);
        continue;
      }
      fail(
        `after moving irq ${irq} to CPU${c}${round ? " and one interrupt to carry out the deferred move" : ""} it was handled on CPU${cpu}, ` +
          `${cpumask_test_cpu(cpu, eff) ? `its effective affinity is ${cpumask_pr_list(eff)}` : `outside its new effective affinity ${cpumask_pr_list(eff)}`}: ` +
          `the deferred update never reached the device, or gave it another message than the composed one`,
      );
    }
    todo = again;
  }
}

function checkContext(s: Seen, irq: number): void {
  if (s.badContext.length) fail(`the handler of irq ${irq} ran outside hardirq context or with interrupts on (${s.badContext[0]!}): wrong flow handler?`);
}

const maskTitle = "irq_mask() stops delivery (as declared: synchronously unless options.mask says deferred)";

export const conformanceChecks: ConformanceCheck[] = [
  {
    title: "delivers each interrupt once to its handler, in hardirq context with interrupts off, on an effective-affinity CPU",
    async run(rig, o) {
      const s = await requestAll(rig);
      for (const k of rig.irqs.keys()) rig.raise(k);
      await settle(rig, o);
      for (const [k, irq] of rig.irqs.entries()) {
        const x = s[k]!;
        if (x.count !== 1) fail(`interrupt ${k} (irq ${irq}) raised once, handled ${x.count} times: ${x.count === 0 ? "it never reached its handler" : "it was delivered more than once"}`);
        checkContext(x, irq);
        const eff = rig.m.enter(() => irq_data_get_effective_affinity_mask(irq_get_irq_data(irq)!));
        if (!cpumask_test_cpu(x.cpus[0]!, eff)) fail(`irq ${irq} was handled on CPU${x.cpus[0]!}, outside its effective affinity`);
      }
    },
  },
  {
    title: maskTitle,
    applies: (o) => o.mask !== "lazy",
    async run(rig, o) {
      const irq = rig.irqs[0]!;
      const s = await requestAll(rig, [0]);
      const deferred = typeof o.mask === "object" ? o.mask.deferredNs : 0;
      await rig.m.run(() => {
        underDescLock(irq, mask_irq);
        if (deferred > 0) K.sim.at(K.sim.now + deferred, () => rig.raise(0), "conformance raise");
        else rig.raise(0);
      });
      await settle(rig, o);
      if (cnt(s[0]!) !== 0) {
        fail(
          deferred > 0
            ? `irq ${irq} was delivered ${deferred} ns after irq_mask() returned: the mask did not take effect within the declared deferral`
            : `irq ${irq} was delivered although irq_mask() had returned: the mask is not synchronous (a posted MMIO write not flushed by a read back?)`,
        );
      }
    },
  },
  {
    title: "irq_unmask() delivers an interrupt latched while masked",
    applies: (o) => o.mask !== "lazy",
    async run(rig, o) {
      const irq = rig.irqs[0]!;
      const s = await requestAll(rig, [0]);
      const deferred = typeof o.mask === "object" ? o.mask.deferredNs : 0;
      await rig.m.run(() => underDescLock(irq, mask_irq));
      if (deferred > 0) await settle(rig, o);
      for (let i = 0; i < 3; i++) rig.raise(0);
      await settle(rig, o);
      if (cnt(s[0]!) !== 0) fail(`irq ${irq} was delivered while masked (${cnt(s[0]!)} times)`);
      await rig.m.run(() => underDescLock(irq, unmask_irq));
      await settle(rig, o);
      const n = cnt(s[0]!);
      if (n === 0) fail(`an interrupt raised while irq ${irq} was masked was lost: irq_unmask() did not deliver it (the device keeps it pending; must the chip resend it?)`);
      if ((o.coalesce ?? true) && n !== 1) fail(`three raises while masked gave ${n} deliveries on unmask; an MSI-style chip delivers the latched interrupt once`);
      rig.raise(0);
      await settle(rig, o);
      if (cnt(s[0]!) !== n + 1) fail(`after unmask a new raise of irq ${irq} was handled ${cnt(s[0]!) - n} times, expected once`);
    },
  },
  {
    title: "nothing is lost across disable_irq()/enable_irq()",
    async run(rig, o) {
      const irq = rig.irqs[0]!;
      const s = await requestAll(rig, [0]);
      await rig.m.run(() => disable_irq(irq));
      rig.raise(0);
      await settle(rig, o);
      rig.raise(0);
      await settle(rig, o);
      if (cnt(s[0]!) !== 0) fail(`irq ${irq} ran its handler while disabled`);
      await rig.m.run(() => enable_irq(irq));
      await settle(rig, o);
      const n = cnt(s[0]!);
      if (n === 0) fail(`interrupts raised while irq ${irq} was disabled were lost on enable_irq(): nothing was resent or replayed (irq_unmask/irq_retrigger?)`);
      rig.raise(0);
      await settle(rig, o);
      if (cnt(s[0]!) !== n + 1) fail(`after enable_irq() a new raise of irq ${irq} was handled ${cnt(s[0]!) - n} times, expected once`);
    },
  },
  {
    title: "an affinity change delivers at the new CPU (a deferred move after at most one interrupt on the old one), and an interrupt in flight is not lost",
    applies: (o) => o.affinity ?? true,
    async run(rig, o) {
      const irq = rig.irqs[0]!;
      const s = (await requestAll(rig, [0]))[0]!;
      const cpus = onlineCpus(rig);
      const targets = [...cpus.slice(1), cpus[0]!];
      // IRQCHIP_MOVE_DEFERRED: the move waits for the next interrupt, which
      // may still arrive at the old CPU; the one after must not
      const moveTo = async (c: number): Promise<void> => {
        const ret = await rig.m.run(() => irq_set_affinity(irq, cpumask_of(c)));
        if (ret < 0) fail(`irq_set_affinity(irq ${irq}, CPU${c}) returned ${ret}`);
        const pending = rig.m.enter(() => irqd_is_setaffinity_pending(irq_get_irq_data(irq)!));
        const before = s.count;
        rig.raise(0);
        await settle(rig, o);
        if (s.count !== before + 1) fail(`after moving irq ${irq} to CPU${c} one raise was handled ${s.count - before} times`);
        if (s.cpus.at(-1) === c) return;
        if (!pending) fail(`after moving irq ${irq} to CPU${c} it was handled on CPU${s.cpus.at(-1)!} (no deferred move was pending)`);
        rig.raise(0);
        await settle(rig, o);
        if (s.count !== before + 2) fail(`irq ${irq}: the raise after a deferred move to CPU${c} was handled ${s.count - before - 1} times`);
        if (s.cpus.at(-1) !== c) fail(`after a deferred move of irq ${irq} to CPU${c} and one interrupt, it is still handled on CPU${s.cpus.at(-1)!}: the move never happened`);
      };
      for (const c of targets) await moveTo(c);
      const before = s.count;
      const to = targets[0]!;
      // the message is on its way through the fabric while the chip reprograms
      await rig.m.run(() => {
        rig.raise(0);
        if (irq_set_affinity(irq, cpumask_of(to)) < 0) fail(`irq_set_affinity(irq ${irq}, CPU${to}) failed`);
      });
      await settle(rig, o);
      if (s.count !== before + 1) fail(`irq ${irq} raised just before an affinity change to CPU${to}: handled ${s.count - before} times (the interrupt in flight was lost)`);
      rig.raise(0);
      await settle(rig, o);
      if (s.count !== before + 2) fail(`irq ${irq}: a raise after the in-flight change was handled ${s.count - before - 1} times`);
      checkContext(s, irq);
    },
  },
  {
    title: "the composed message equals the device's after activation, request and every affinity change",
    applies: (o) => o.msi ?? true,
    async run(rig, o) {
      if (!rig.message) fail("the rig has no message(k) reader: give it one, or declare options.msi = false for a chip without messages");
      // MSI_FLAG_ACTIVATE_EARLY domains are activated (and write the message) at allocation; the others at request
      for (const [k, irq] of rig.irqs.entries()) if (rig.m.enter(() => irqd_is_activated(irq_get_irq_data(irq)!))) expectMessage(rig, k, "after allocation (early activation)");
      const s = await requestAll(rig);
      for (const k of rig.irqs.keys()) expectMessage(rig, k, "after request_irq()");
      if (o.affinity ?? true) {
        for (const c of onlineCpus(rig)) {
          for (const irq of rig.irqs) {
            const ret = await rig.m.run(() => irq_set_affinity(irq, cpumask_of(c)));
            if (ret < 0) fail(`irq_set_affinity(irq ${irq}, CPU${c}) returned ${ret}: the previous move of this interrupt never completed (no interrupt reached its new vector?)`);
          }
          await settle(rig, o);
          for (const k of rig.irqs.keys()) expectMessage(rig, k, `after an affinity change to CPU${c}`);
          await deliverAfterMove(rig, o, s, c);
          for (const k of rig.irqs.keys()) expectMessage(rig, k, `after an affinity change to CPU${c} took effect (an interrupt handled on it)`);
        }
      }
    },
  },
  {
    title: "teardown (free_irq, then freeing the interrupts) leaves the hardware silent",
    async run(rig, o) {
      const s = await requestAll(rig);
      await rig.m.run(async () => {
        for (const [k, irq] of rig.irqs.entries()) await free_irq(irq, s[k]);
        await rig.free();
      });
      await settle(rig, o);
      const from = rig.m.trace().length;
      const log = rig.m.dmesg();
      for (const k of rig.irqs.keys()) rig.raise(k);
      await settle(rig, o);
      const msgs = rig.m.trace().slice(from).filter((r) => r.kind === "hw.msi" || (r.kind === "hw.apic" && r.what === "irr"));
      if (msgs.length) {
        const r = msgs[0]!;
        fail(`after teardown a raise still reached the interrupt fabric (${r.kind} ${(r as { what: string }).what}): the chip left its interrupt armed (mask on shutdown? message cleared on deactivate?)`);
      }
      const added = rig.m.dmesg().slice(log.length);
      if (added.trim()) fail(`after teardown a raise printed:\n${added}`);
      for (const [k, x] of s.entries()) if (x.count) fail(`interrupt ${k} ran a freed handler`);
    },
  },
  {
    title: "chip callbacks respect their context: none sleeps or leaks a lock or the interrupt state, and irq_bus_lock/irq_bus_sync_unlock pair up",
    async run(rig, o) {
      const from = rig.m.trace().length;
      const affinity = o.affinity ?? true;
      try {
        const s = await requestAll(rig);
        for (const k of rig.irqs.keys()) rig.raise(k);
        await settle(rig, o);
        const irq = rig.irqs[0]!;
        await rig.m.run(async () => {
          await disable_irq(irq);
          await enable_irq(irq);
          irq_set_status_flags(irq, IRQ_DISABLE_UNLAZY);
          await disable_irq(irq);
          rig.raise(0);
          await enable_irq(irq);
          if (affinity) irq_set_affinity(irq, cpumask_of(onlineCpus(rig).at(-1)!));
        });
        rig.raise(0);
        await settle(rig, o);
        await rig.m.run(async () => {
          for (const [k, i] of rig.irqs.entries()) await free_irq(i, s[k]);
          await rig.free();
        });
      } catch (e) {
        if (e instanceof UnexpectedSplatError) fail(`a kernel splat during request/disable/enable/affinity/free, most likely a chip callback sleeping or taking a lock in atomic context:\n${e.message}`);
        throw e;
      }
      checkCallbackContext(rig.m.trace().slice(from), new Set(rig.irqs));
    },
  },
  {
    title: "error paths: a second exclusive request is -EBUSY, a bogus free WARNs, an unbalanced enable WARNs, a request after teardown fails; the line keeps working",
    async run(rig, o) {
      const irq = rig.irqs[0]!;
      const s = (await requestAll(rig, [0]))[0]!;
      const other = seen();
      const busy = await rig.m.run(() => request_irq(irq, conformance_handler, 0, "conformance-busy", other));
      if (busy !== -16) fail(`a second non-shared request_irq(${irq}) returned ${busy}, expected -16 (-EBUSY)`);
      rig.m.expectSplat(/Trying to free already-free IRQ/);
      const r = await rig.m.run(() => free_irq(irq, other));
      if (r !== null) fail(`free_irq(${irq}) with a dev_id never requested returned ${String(r)}, expected NULL`);
      rig.m.expectSplat(/Unbalanced enable for IRQ/);
      await rig.m.run(() => enable_irq(irq));
      if (rig.m.enter(() => irq_to_desc(irq)!.depth) !== 0) fail(`an unbalanced enable_irq(${irq}) changed the depth`);
      rig.raise(0);
      await settle(rig, o);
      if (s.count !== 1 || other.count !== 0) fail(`after the error paths one raise was handled ${s.count} times by the owner and ${other.count} by the refused handler`);
      const total = rig.m.enter(() => kstat_irqs(irq));
      if (total !== 1) fail(`kstat of irq ${irq} is ${total} after one delivery`);
      await rig.m.run(async () => {
        await free_irq(irq, s);
        await rig.free();
      });
      const log = rig.m.dmesg();
      const again = await rig.m.run(() => request_irq(irq, conformance_handler, 0, "conformance-late", seen()));
      if (again >= 0) fail(`request_irq(${irq}) after the interrupt was freed returned ${again}, expected a negative errno`);
      const added = rig.m.dmesg().slice(log.length);
      if (added.trim()) fail(`request_irq on a freed interrupt printed:\n${added}`);
    },
  },
];

const BUS_CALLBACKS = new Set(["irq_bus_lock", "irq_bus_sync_unlock"]);

/** Scan the irq.chip events of `irqs`: nothing sleeps, the context is restored, bus locks pair up. */
export function checkCallbackContext(records: readonly TraceRecord[], irqs: ReadonlySet<number>): void {
  const stacks = new Map<string, Extract<TraceRecord, { kind: "irq.chip" }>[]>();
  const bus = new Map<number, number>();
  const busHeld = new Map<number, string[]>();
  for (const r of records) {
    if (r.kind !== "irq.chip" || !irqs.has(r.irq)) continue;
    const key = `${r.cpu}/${r.ctx}/${r.pid}`;
    let st = stacks.get(key);
    if (!st) stacks.set(key, (st = []));
    if (r.phase === "enter") {
      st.push(r);
      if (r.depth === 0 && r.cb === "irq_bus_lock") {
        const n = bus.get(r.irq) ?? 0;
        if (n !== 0) fail(`irq_bus_lock of irq ${r.irq} called again before irq_bus_sync_unlock (${r.chip})`);
        bus.set(r.irq, 1);
      } else if (r.depth === 0 && r.cb === "irq_bus_sync_unlock") {
        if ((bus.get(r.irq) ?? 0) !== 1) fail(`irq_bus_sync_unlock of irq ${r.irq} without irq_bus_lock (${r.chip})`);
        bus.set(r.irq, 0);
      }
      continue;
    }
    const e = st.pop();
    if (!e || e.cb !== r.cb) continue;
    if (!BUS_CALLBACKS.has(r.cb) && r.ret === "promise") {
      fail(`${r.chip} ${r.cb} (irq ${r.irq}) returned a promise: it may sleep, but genirq calls it in atomic context (desc->lock held, interrupts off)`);
    }
    if (e.irqsOff !== r.irqsOff) fail(`${r.chip} ${r.cb} (irq ${r.irq}) returned with interrupts ${r.irqsOff ? "off" : "on"}; it was called with them ${e.irqsOff ? "off" : "on"}`);
    // irq_bus_lock() exists to return holding the bus lock (a mutex, as
    // regmap-irq's does); the matching irq_bus_sync_unlock() releases it
    let expected = e.locks;
    if (r.depth === 0 && r.cb === "irq_bus_lock" && r.locks.length > e.locks.length && r.locks.slice(0, e.locks.length).join() === e.locks.join()) {
      busHeld.set(r.irq, r.locks.slice(e.locks.length));
      expected = r.locks;
    } else if (r.depth === 0 && r.cb === "irq_bus_sync_unlock") {
      const held = busHeld.get(r.irq) ?? [];
      busHeld.delete(r.irq);
      expected = e.locks.filter((l) => !held.includes(l));
    }
    if (e.preempt !== r.preempt || expected.join() !== r.locks.join()) {
      fail(`${r.chip} ${r.cb} (irq ${r.irq}) returned holding [${r.locks.join(", ")}] (preempt 0x${r.preempt.toString(16)}); it was called holding [${e.locks.join(", ")}] (preempt 0x${e.preempt.toString(16)})`);
    }
  }
  for (const [irq, n] of bus) if (n) fail(`irq_bus_lock of irq ${irq} was never followed by irq_bus_sync_unlock`);
}
