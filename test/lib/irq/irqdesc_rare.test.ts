// SPDX-License-Identifier: GPL-2.0-only
// The members of struct irq_desc kept in irq_desc_rare (lib/irq/irqdesc.ts):
// a descriptor reads them as the zeroed C struct does until something
// writes them, keeps every value written, and reads the zero again once it
// is written back, whatever else was written in between.

import { expect } from "chai";
import { createMachine } from "../../../lib/machine.ts";
import { irq_alloc_descs, irq_free_descs, irq_to_desc, type irq_desc } from "../../../lib/irq/irqdesc.ts";
import { cpumask_of } from "../../../lib/kernel/cpumask.ts";

type Rare = Pick<
  irq_desc,
  | "wake_depth"
  | "last_unhandled"
  | "irqs_unhandled"
  | "threads_handled"
  | "threads_handled_last"
  | "percpu_enabled"
  | "percpu_affinity"
  | "affinity_hint"
  | "affinity_notify"
  | "threads_oneshot"
  | "no_suspend_depth"
  | "cond_suspend_depth"
  | "force_resume_depth"
  | "parent_irq"
  | "owner"
>;

describe("lib/irq/irqdesc: the rarely used irq_desc members", () => {
  it("read as zero on a new descriptor, keep what is written, and read zero again when it is written back", async () => {
    const m = await createMachine({ cpus: 2, arch: "none" });
    await m.run(() => {
      const irq = irq_alloc_descs(-1, 1, 2, -1);
      const desc = irq_to_desc(irq)!;
      const other = irq_to_desc(irq + 1)!;
      const zero: Rare = {
        wake_depth: 0,
        last_unhandled: 0,
        irqs_unhandled: 0,
        threads_handled: 0,
        threads_handled_last: 0,
        percpu_enabled: null,
        percpu_affinity: null,
        affinity_hint: null,
        affinity_notify: null,
        threads_oneshot: 0n,
        no_suspend_depth: 0,
        cond_suspend_depth: 0,
        force_resume_depth: 0,
        parent_irq: 0,
        owner: null,
      };
      const keys = Object.keys(zero) as (keyof Rare)[];
      const read = (d: irq_desc): Rare => Object.fromEntries(keys.map((k) => [k, d[k]])) as unknown as Rare;
      expect(read(desc)).to.deep.equal(zero);
      const set: Rare = {
        wake_depth: 2,
        last_unhandled: 1234,
        irqs_unhandled: 7,
        threads_handled: 0x80000001,
        threads_handled_last: 5,
        percpu_enabled: cpumask_of(1),
        percpu_affinity: cpumask_of(0),
        affinity_hint: cpumask_of(1),
        affinity_notify: { irq, notify: () => {}, release: () => {} },
        threads_oneshot: 0x3n,
        no_suspend_depth: 1,
        cond_suspend_depth: 1,
        force_resume_depth: 3,
        parent_irq: irq + 1,
        owner: m,
      };
      for (const k of keys) {
        (desc as unknown as Record<string, unknown>)[k] = set[k];
        expect(desc[k], k).to.equal(set[k]);
      }
      expect(read(desc)).to.deep.equal(set);
      // the other descriptor shares nothing
      expect(read(other)).to.deep.equal(zero);
      desc.irqs_unhandled++;
      desc.threads_oneshot |= 0x4n;
      expect([desc.irqs_unhandled, desc.threads_oneshot]).to.deep.equal([8, 0x7n]);
      for (const k of keys) (desc as unknown as Record<string, unknown>)[k] = zero[k];
      expect(read(desc)).to.deep.equal(zero);
      // writing zeroes to a descriptor that never held anything else keeps reading zero
      for (const k of keys) (other as unknown as Record<string, unknown>)[k] = zero[k];
      expect(read(other)).to.deep.equal(zero);
      irq_free_descs(irq, 2);
    });
  });
});
