// SPDX-License-Identifier: GPL-2.0-only
// Boot-time setup of genirq for one machine (kernel/irq/irqdesc.c:
// early_irq_init() and the CPU hotplug states of kernel/irq).

import { K } from "../kernel/kernel.ts";
import { cpuhp_setup_state } from "../kernel/cpu.ts";
import { irq_affinity_online_cpu, irq_migrate_all_off_this_cpu } from "./cpuhotplug.ts";
import { spurious_boot_options } from "./spurious.ts";

/** What the architecture does around CPU hotplug. */
export interface genirq_arch_hooks {
  /** On the dying CPU, interrupts off (x86: cpu_disable_common(): fixup_irqs(), lapic_offline()). Default: irq_migrate_all_off_this_cpu(). */
  cpu_disable?: (cpu: number) => void;
  /** On the CPU coming online, before the online states (x86: lapic_online()). */
  cpu_starting?: (cpu: number) => void;
}

function hooks(): genirq_arch_hooks {
  return K.state("genirq_arch_hooks", () => ({}) as genirq_arch_hooks);
}

/** Install the architecture's hotplug hooks (the x86 code does at boot). */
export function genirq_set_arch_hooks(h: genirq_arch_hooks): void {
  Object.assign(hooks(), h);
}

export function genirq_init(): void {
  spurious_boot_options();
  cpuhp_setup_state({
    name: "irq:migrate",
    dying: (cpu) => {
      const h = hooks();
      if (h.cpu_disable) h.cpu_disable(cpu);
      else irq_migrate_all_off_this_cpu();
    },
  });
  cpuhp_setup_state({
    name: "irq/affinity:online",
    online: (cpu) => {
      hooks().cpu_starting?.(cpu);
      irq_affinity_online_cpu(cpu);
    },
  });
}
