// SPDX-License-Identifier: GPL-2.0-only
// Boot-time setup of genirq for one machine (kernel/irq/irqdesc.c:
// early_irq_init() and the CPU hotplug states of kernel/irq).

import { cpuhp_setup_state } from "../kernel/cpu.ts";
import { irq_affinity_online_cpu, irq_migrate_all_off_this_cpu } from "./cpuhotplug.ts";

/** Extra work the architecture does on the dying CPU after the generic migration (x86: fixup_irqs()). */
export interface genirq_arch_hooks {
  fixup_irqs?: (cpu: number) => void;
}

export function genirq_init(arch: genirq_arch_hooks = {}): void {
  cpuhp_setup_state({
    name: "irq:migrate",
    dying: (cpu) => {
      irq_migrate_all_off_this_cpu();
      arch.fixup_irqs?.(cpu);
    },
  });
  cpuhp_setup_state({ name: "irq/affinity:online", online: (cpu) => void irq_affinity_online_cpu(cpu) });
}
