// SPDX-License-Identifier: GPL-2.0-only
// Exploration scenarios on the shipped chips.
//
// msix-churn / msix-churn-ir: the test NIC's four MSI-X vectors under seeded
// traffic, three kernel threads on CPUs 1-3 racing the manage API against
// the interrupts: disable/enable pairs, disable_irq_nosync, synchronize_irq,
// free_irq/request_irq cycles, affinity changes and doorbell kicks. Queue
// roles keep each API use balanced (only one thread frees and requests q2;
// disable/enable pairs never meet a free), so any violation is the
// kernel's, not the scenario's. Without and with interrupt remapping.
//
// sim-pair: two threads on an irq_sim line, few enough scheduling decisions
// for bounded exhaustive search.

import { SimulatorError } from "../sim/sim.ts";
import type { Rng } from "../sim/rng.ts";
import { K } from "../kernel/kernel.ts";
import { irqlab_handler_busy } from "../kernel/frame.ts";
import { EBUSY, EINVAL } from "../kernel/errno.ts";
import { msleep } from "../kernel/delay.ts";
import { smp_processor_id } from "../kernel/context.ts";
import { cpu_online, cpumask_from, cpumask_of, cpumask_pr_list, type cpumask } from "../kernel/cpumask.ts";
import { kthread_create_on_cpu, to_kthread } from "../kernel/kthread.ts";
import { current, schedule, set_current_state, wake_up_process, TASK_UNINTERRUPTIBLE, type task_struct } from "../kernel/sched.ts";
import { hrtimer, hrtimer_cancel, hrtimer_start, HRTIMER_MODE_ABS, HRTIMER_NORESTART } from "../kernel/timer.ts";
import { wait_for_completion } from "../kernel/completion.ts";
import { IRQ_HANDLED, type irq_handler_t, type irqreturn_t } from "../irq/interrupt.ts";
import { disable_irq, disable_irq_nosync, enable_irq, free_irq, irq_set_irqchip_state, request_irq, synchronize_irq } from "../irq/manage.ts";
import { irq_set_affinity } from "../irq/manage_affinity.ts";
import { IRQCHIP_STATE_PENDING } from "../irq/irq.ts";
import { irq_create_mapping, irq_dispose_mapping, type irq_domain } from "../irq/irqdomain.ts";
import { irq_domain_create_sim, irq_domain_remove_sim } from "../irq/irq_sim.ts";
import type { TestNic } from "../hw/devices/testnic.ts";
import { pci_get_device_by_name } from "../../drivers/pci/pci.ts";
import { testnic_kick, testnic_probe, testnic_remove, type testnic_queue } from "../../drivers/net/testnic/testnic.ts";
import type { ImsDevice } from "../hw/devices/ims.ts";
import { idxd_pci_probe, idxd_remove } from "../../drivers/dma/idxd/init.ts";
import { idxd_wq_int_handler } from "../../drivers/dma/idxd/irq.ts";
import { idxd_submit_desc } from "../../drivers/dma/idxd/submit.ts";
import type { idxd_ims_chip } from "../../drivers/dma/idxd/idxd.ts";
import { registerScenario, type ExploreScenario, type ScenarioCtx } from "./run.ts";

export const NIC_BDF = "0000:3b:00.0";
export const IMS_BDF = "0000:6a:01.0";
const US = 1000;

/** Run `fn` in a kernel thread bound to `cpu` (join() waits for it). */
export function spawn(cpu: number, name: string, fn: () => Promise<void>): task_struct {
  const t = kthread_create_on_cpu(
    async () => {
      await fn();
      return 0;
    },
    null,
    cpu,
    name,
  );
  wake_up_process(t);
  return t;
}

/** Wait until every thread spawned with spawn() exited. */
export async function join(ts: readonly task_struct[]): Promise<void> {
  for (const t of ts) await wait_for_completion(to_kthread(t).exited);
}

/**
 * The test NIC's queue interrupt as the scenario requests it (the driver's
 * handler is private to it, and spins its time away synchronously). The
 * handler's time is declared with irqlab_handler_busy(): the flow handler's
 * frame then suspends holding IRQD_IRQ_INPROGRESS, so other CPUs' tasks run
 * meanwhile and synchronize_irq(), disable_irq() and free_irq() have a
 * handler in progress to wait for. Called by genirq from the frame of the
 * interrupt (hardirq, desc->lock dropped), as irqlab_handler_busy() needs.
 */
function explore_nic_interrupt(_irq: number, dev_id: unknown): irqreturn_t {
  const q = dev_id as testnic_queue & { handler_ns?: number };
  const cpu = smp_processor_id();
  q.per_cpu[cpu] = (q.per_cpu[cpu] ?? 0) + 1;
  q.count++;
  if (q.handler_ns) irqlab_handler_busy(q.handler_ns);
  return IRQ_HANDLED;
}

/** One interrupt line of a churn scenario, as its driver requests it. */
interface ChurnLine {
  irq: number;
  name: string;
  handler: irq_handler_t;
  dev: unknown;
}

/** What a churn scenario drives: four lines and a way to make the device raise one. */
interface Churn {
  lines: readonly ChurnLine[];
  /** Make the device raise line `i` through the driver (a doorbell, a descriptor). */
  kick(i: number): void;
}

type Op = (w: Worker) => Promise<void>;

interface Worker {
  ctx: ScenarioCtx;
  rng: Rng;
  churn: Churn;
  cpus: number;
}

/**
 * Sleep until virtual time `at` (ns) on an hrtimer, as usleep_range() does.
 * Scenario threads wake on a shared grid, so several become runnable at the
 * same instant and the scheduling strategy decides their order.
 */
export async function sleep_until(at: number): Promise<void> {
  const t = current();
  const timer = new hrtimer((): number => {
    wake_up_process(t);
    return HRTIMER_NORESTART;
  });
  while (K.sim.now < at) {
    set_current_state(TASK_UNINTERRUPTIBLE);
    t.waitingOn = "explore grid";
    hrtimer_start(timer, at, HRTIMER_MODE_ABS);
    await schedule();
    hrtimer_cancel(timer);
  }
}

/** Grid of the scenario threads' wake-ups. */
const GRID_NS = 10 * US;

/** Sleep to one of the next `span` grid points (at least one grid step). */
const pause = (w: Worker, span = 4): Promise<void> => sleep_until((Math.floor(K.sim.now / GRID_NS) + 1 + w.rng.int(span)) * GRID_NS);

function randomMask(w: Worker): cpumask {
  const a = w.rng.int(w.cpus);
  if (w.rng.int(3) > 0) return cpumask_of(a);
  return cpumask_from([a, (a + 1 + w.rng.int(w.cpus - 1)) % w.cpus]);
}

const line = (w: Worker, i: number): ChurnLine => w.churn.lines[i]!;

const ops: Record<string, Op> = {
  async disable_pair(w) {
    const irq = line(w, 0).irq;
    await disable_irq(irq);
    await pause(w);
    await enable_irq(irq);
  },
  async nosync_pair(w) {
    const irq = line(w, 1).irq;
    await disable_irq_nosync(irq);
    await pause(w, 2);
    await enable_irq(irq);
  },
  async sync(w) {
    await synchronize_irq(line(w, 1 + 2 * w.rng.int(2)).irq);
  },
  async cycle(w) {
    const l = line(w, 2);
    const name = await free_irq(l.irq, l.dev);
    if (name !== l.name) w.ctx.fail(`free_irq(${l.irq}) returned ${String(name)}, expected ${l.name}`);
    await pause(w, 3);
    const ret = await request_irq(l.irq, l.handler, 0, l.name, l.dev);
    if (ret !== 0) w.ctx.fail(`request_irq(${l.irq}) = ${ret}`);
  },
  async affinity(w) {
    const l = line(w, w.rng.int(w.churn.lines.length));
    const mask = randomMask(w);
    const ret = irq_set_affinity(l.irq, mask);
    let anyOnline = false;
    for (let c = 0; c < w.cpus; c++) if (mask.test(c) && cpu_online(c)) anyOnline = true;
    // -EBUSY: a vector move still in progress; -EINVAL: no online CPU in the mask
    if (ret !== 0 && ret !== -EBUSY && !(ret === -EINVAL && !anyOnline)) w.ctx.fail(`irq_set_affinity(${l.irq}, ${cpumask_pr_list(mask)}) = ${ret}`);
    await pause(w);
  },
  async kick(w) {
    w.churn.kick(w.rng.int(w.churn.lines.length));
    await pause(w, 2);
  },
};

/** Operations per worker CPU; each list keeps API use balanced on its lines. */
const ROLES: readonly (readonly string[])[] = [
  ["cycle", "affinity", "kick", "affinity"],
  ["disable_pair", "nosync_pair", "affinity", "sync"],
  ["disable_pair", "affinity", "sync", "kick"],
];

/** Three threads on CPUs 1-3 run 4-8 operations each of their role on the grid; returns when all are done. */
async function churn(ctx: ScenarioCtx, c: Churn): Promise<void> {
  const cpus = ctx.m.options.cpus;
  const workers = ROLES.map((role, i) => {
    const w: Worker = { ctx, rng: ctx.rng.fork(i + 1), churn: c, cpus };
    const n = 4 + w.rng.int(5);
    return spawn(1 + i, "explore/%d", async () => {
      for (let k = 0; k < n; k++) {
        await pause(w);
        await ops[role[w.rng.int(role.length)]!]!(w);
      }
    });
  });
  await join(workers);
}

/** Seeded traffic on `n` device slots, as daemon events (the test NIC has its own). */
function slotTraffic(ctx: ScenarioCtx, n: number, raise: (k: number) => void): () => void {
  const sim = ctx.m.sim;
  const rng = ctx.rng.fork(99);
  const period = 15 * US + rng.int(40 * US);
  let on = true;
  for (let k = 0; k < n; k++) {
    const tick = (): void => {
      if (!on) return;
      raise(k);
      sim.at(sim.now + period - 10 * US + rng.int(20 * US), tick, "explore traffic", true);
    };
    sim.at(sim.now + rng.int(period), tick, "explore traffic", true);
  }
  return () => {
    on = false;
  };
}

function msixChurn(ir: boolean): ExploreScenario {
  return {
    name: ir ? "msix-churn-ir" : "msix-churn",
    description: `test NIC, 4 MSI-X vectors with seeded traffic, three threads racing disable/enable, free/request, synchronize_irq and affinity changes (${ir ? "with" : "without"} interrupt remapping)`,
    machine: () => ({ cpus: 4, iommu: { interruptRemapping: ir }, pci: { devices: [{ type: "testnic", bdf: NIC_BDF, vectors: 4 }] } }),
    devices: [NIC_BDF],
    // the threads' activity lasts 200-450 us of virtual time
    horizonNs: 200_000,
    async run(ctx) {
      const pdev = pci_get_device_by_name(NIC_BDF);
      if (!pdev) throw new SimulatorError(`explore: no PCI device ${NIC_BDF}`);
      const priv = await testnic_probe(pdev, { handler_ns: 500 + ctx.rng.int(2500) });
      if (typeof priv === "number") {
        ctx.fail(`testnic_probe() = ${priv}`);
        return;
      }
      const hw = ctx.m.pci.device<TestNic>(NIC_BDF);
      // every line gets the scenario's handler before traffic starts, so
      // each handler run is in progress across scheduling points
      for (const qq of priv.queues) {
        await free_irq(qq.irq, qq);
        const ret = await request_irq(qq.irq, explore_nic_interrupt, 0, qq.name, qq);
        if (ret !== 0) ctx.fail(`request_irq(${qq.irq}) = ${ret}`);
      }
      ctx.watch(priv.queues.map((qq) => ({ bdf: NIC_BDF, index: qq.index, irq: qq.irq, name: qq.name })));
      hw.startTraffic({ periodNs: 15 * US + ctx.rng.int(40 * US), jitterNs: 10 * US });
      ctx.armFaults();
      await churn(ctx, {
        lines: priv.queues.map((qq) => ({ irq: qq.irq, name: qq.name, handler: explore_nic_interrupt, dev: qq })),
        kick: (i) => testnic_kick(priv, i),
      });
      await ctx.disarmFaults();
      hw.stopTraffic();
      await msleep(2);
      await testnic_remove(priv);
      // vector cleanup timers (jiffies + 1) and deferred work
      await msleep(12);
    },
  };
}

/**
 * The IMS array device with the idxd driver (IMS needs the remapping
 * domain, as in v6.2..v6.9): one IMS slot per work queue, seeded raises on
 * every slot, descriptor submissions as kicks, the same three threads.
 */
function imsChurn(chip: idxd_ims_chip): ExploreScenario {
  return {
    name: `ims-churn-${chip}`,
    description: `IMS array device, the ${chip === "idxd" ? "2022 IDXD" : "2020 RFC array"} chip on 4 slots with seeded raises and completions, three threads racing disable/enable, free/request, synchronize_irq and affinity changes`,
    machine: () => ({ cpus: 4, pci: { devices: [{ type: "ims", bdf: IMS_BDF, polarity: chip === "rfc2020" ? "rfc2020" : "idxd", wqs: 4 }] } }),
    devices: [IMS_BDF],
    horizonNs: 200_000,
    async run(ctx) {
      const pdev = pci_get_device_by_name(IMS_BDF);
      if (!pdev) throw new SimulatorError(`explore: no PCI device ${IMS_BDF}`);
      const idxd = await idxd_pci_probe(pdev, { chip, wqs: 4 });
      if (typeof idxd === "number") {
        ctx.fail(`idxd_pci_probe() = ${idxd}`);
        return;
      }
      const hw = ctx.m.pci.device<ImsDevice>(IMS_BDF);
      // every slot's interrupt gets a handler that takes time (as the test
      // NIC's lines do), so a handler run is in progress across scheduling
      // points and synchronize_irq()/free_irq() have something to wait for
      const handler_ns = 500 + ctx.rng.int(2500);
      const explore_idxd_interrupt = (irq: number, dev_id: unknown): irqreturn_t => {
        const ret = idxd_wq_int_handler(irq, dev_id);
        irqlab_handler_busy(handler_ns);
        return ret;
      };
      for (const wq of idxd.wqs) {
        await free_irq(wq.ie.vector, wq);
        const ret = await request_irq(wq.ie.vector, explore_idxd_interrupt, 0, "idxd-portal", wq);
        if (ret !== 0) ctx.fail(`request_irq(${wq.ie.vector}) = ${ret}`);
      }
      ctx.watch(idxd.wqs.map((wq) => ({ bdf: IMS_BDF, index: wq.ie.int_handle, irq: wq.ie.vector, name: "idxd-portal" })));
      const stop = slotTraffic(ctx, idxd.wqs.length, (k) => hw.raise(idxd.wqs[k]!.ie.int_handle));
      ctx.armFaults();
      await churn(ctx, {
        lines: idxd.wqs.map((wq) => ({ irq: wq.ie.vector, name: "idxd-portal", handler: explore_idxd_interrupt, dev: wq })),
        kick: (i) => void idxd_submit_desc(idxd.wqs[i]!),
      });
      await ctx.disarmFaults();
      stop();
      await msleep(2);
      await idxd_remove(idxd);
      await msleep(12);
    },
  };
}

registerScenario(msixChurn(false));
registerScenario(msixChurn(true));
registerScenario(imsChurn("idxd"));
registerScenario(imsChurn("rfc2020"));

/**
 * Two threads on one irq_sim line, waking at the same instants so that the
 * strategy orders them: CPU0 raises the line twice, then does a
 * disable/enable pair; CPU1 synchronizes, then does a nosync/enable pair.
 * Every raise must be handled exactly once (irq_sim's work runs each raise
 * before the next one here; a raise while disabled is replayed at enable).
 */
registerScenario({
  name: "sim-pair",
  description: "two threads racing disable/enable pairs and synchronize_irq() on an irq_sim line with two raises; each raise handled once",
  machine: () => ({ cpus: 2, arch: "none" }),
  devices: [],
  horizonNs: 100 * US,
  async run(ctx) {
    const dom = (await irq_domain_create_sim(null, 1)) as irq_domain | number;
    if (typeof dom === "number") throw new SimulatorError(`explore: irq_domain_create_sim() = ${dom}`);
    const irq = (await irq_create_mapping(dom, 0)) as number;
    let handled = 0;
    const ret = await request_irq(irq, () => {
      handled++;
      return IRQ_HANDLED;
    }, 0, "sim-pair", null);
    if (ret) ctx.fail(`request_irq() = ${ret}`);
    ctx.armFaults();
    const t0 = Math.ceil(K.sim.now / GRID_NS) * GRID_NS;
    const other = spawn(1, "explore/%d", async () => {
      await sleep_until(t0 + GRID_NS);
      await synchronize_irq(irq);
      await sleep_until(t0 + 2 * GRID_NS);
      await disable_irq_nosync(irq);
      await sleep_until(t0 + 3 * GRID_NS);
      await enable_irq(irq);
    });
    for (const k of [1, 2]) {
      await sleep_until(t0 + k * GRID_NS);
      const r = await irq_set_irqchip_state(irq, IRQCHIP_STATE_PENDING, true);
      if (r) ctx.fail(`irq_set_irqchip_state() = ${r}`);
    }
    await sleep_until(t0 + 3 * GRID_NS);
    await disable_irq(irq);
    await sleep_until(t0 + 4 * GRID_NS);
    await enable_irq(irq);
    await join([other]);
    await msleep(1);
    if (handled !== 2) ctx.fail(`2 raises, ${handled} handler runs`);
    await ctx.disarmFaults();
    await free_irq(irq, null);
    await irq_dispose_mapping(irq);
    await irq_domain_remove_sim(dom);
  },
});
