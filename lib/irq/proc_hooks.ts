// SPDX-License-Identifier: GPL-2.0-only
// kernel/irq/proc.c: creating and removing the /proc/irq/N entries when
// handlers come and go (C64). The files are rendered by proc.ts.

import type { irq_desc } from "./irqdesc.ts";
import type { irqaction } from "./interrupt.ts";
import { irq_to_desc } from "./irqdesc.ts";
import { irq_chip_is_none } from "./chip.ts";

/** /proc/irq/N/<action name> directories, by irq. */
const handlerDirs = new WeakMap<irq_desc, Set<string>>();

// kernel/irq/proc.c: register_irq_proc()
export function register_irq_proc(_irq: number, desc: irq_desc): void {
  if (irq_chip_is_none(desc.irq_data.chip) || desc.dir) return;
  desc.dir = true;
}

// kernel/irq/proc.c: unregister_irq_proc()
export function unregister_irq_proc(_irq: number, desc: irq_desc): void {
  desc.dir = false;
  handlerDirs.delete(desc);
}

// kernel/irq/proc.c: name_unique() + register_handler_proc()
export function register_handler_proc(irq: number, action: irqaction): void {
  const desc = irq_to_desc(irq);
  if (!desc || !desc.dir || !action.name) return;
  let set = handlerDirs.get(desc);
  if (!set) {
    set = new Set();
    handlerDirs.set(desc, set);
  }
  // name_unique(): another action with the same name already has the directory
  for (let a = desc.action; a; a = a.next) if (a !== action && a.name === action.name && set.has(a.name)) return;
  set.add(action.name);
}

// kernel/irq/proc.c: unregister_handler_proc()
export function unregister_handler_proc(irq: number, action: irqaction): void {
  const desc = irq_to_desc(irq);
  if (!desc || !action.name) return;
  handlerDirs.get(desc)?.delete(action.name);
}

/** The handler directory names of /proc/irq/N. */
export function proc_handler_dirs(desc: irq_desc): string[] {
  return [...(handlerDirs.get(desc) ?? [])];
}
