// SPDX-License-Identifier: GPL-2.0-only
// Shared by manage.test.ts and manage_state.test.ts: a trivial primary
// handler and a bus-locked recording chip that also notes, per callback,
// whether desc->lock was held and interrupts were off (B43-B46).
import { irq_data, type irq_chip } from "../../../lib/irq/irq.ts";
import { IRQ_HANDLED } from "../../../lib/irq/interrupt.ts";
import type { irq_desc } from "../../../lib/irq/irqdesc.ts";
import { irqs_disabled } from "../../../lib/kernel/context.ts";
import { rec_chip } from "./fixture.ts";

export const h = (): number => IRQ_HANDLED;

/** A bus-locked chip whose callbacks also record whether desc->lock is held and irqs are off. */
export function ctx_chip(log: string[], ctx: string[], desc_of: () => irq_desc | null, extra: { flags?: number } = {}): irq_chip {
  const cbs = [
    "irq_bus_lock",
    "irq_bus_sync_unlock",
    "irq_request_resources",
    "irq_release_resources",
    "irq_startup",
    "irq_shutdown",
    "irq_mask",
    "irq_unmask",
    "irq_set_type",
    "irq_set_affinity",
    "irq_set_wake",
    "irq_get_irqchip_state",
    "irq_set_irqchip_state",
  ] as const;
  const impl: Record<string, (d: irq_data) => unknown> = {};
  for (const cb of cbs) {
    impl[cb] = (d: irq_data) => {
      const desc = desc_of();
      ctx.push(`${cb}:${desc && desc.lock.owner >= 0 ? "locked" : "unlocked"}${irqs_disabled() ? ",irqs-off" : ""}`);
      if (cb === "irq_set_affinity") return 0;
      void d;
      return cb === "irq_bus_lock" || cb === "irq_bus_sync_unlock" || cb === "irq_release_resources" || cb === "irq_shutdown" || cb === "irq_mask" || cb === "irq_unmask" ? undefined : 0;
    };
  }
  return rec_chip(log, { cbs: [...cbs], flags: extra.flags ?? 0, impl });
}
