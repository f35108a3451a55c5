// SPDX-License-Identifier: GPL-2.0-only
// A raw software interrupt source for testing interrupt windows before any
// interrupt controller exists: raise(cpu) makes an interrupt pending on a CPU;
// the handler runs in hardirq context when the CPU takes it.

import type { SimCpu, Frame } from "../../../lib/sim/cpu.ts";
import { register_irq_source } from "../../../lib/kernel/entry.ts";
import { K } from "../../../lib/kernel/kernel.ts";

export interface SoftVector {
  raise(cpu: number): void;
  pending(cpu: number): boolean;
  taken: { cpu: number; t: number }[];
}

export function soft_vector(handler: (cpu: SimCpu) => Frame | void, prio = 0x40): SoftVector {
  const pend = new Set<number>();
  const taken: { cpu: number; t: number }[] = [];
  register_irq_source({
    name: "SOFT",
    prio,
    pending: (cpu) => pend.has(cpu.id),
    handle: (cpu) => {
      pend.delete(cpu.id);
      taken.push({ cpu: cpu.id, t: K.sim.now });
      return handler(cpu);
    },
  });
  return {
    raise(cpu: number) {
      pend.add(cpu);
      K.sim.kick(K.sim.cpus[cpu]!);
    },
    pending: (cpu) => pend.has(cpu),
    taken,
  };
}
