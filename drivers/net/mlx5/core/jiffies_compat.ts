// SPDX-License-Identifier: GPL-2.0-only
// include/linux/jiffies.h helpers irqlab's lib/kernel/jiffies.ts lacks.

import { jiffies, msecs_to_jiffies, time_after, time_before } from "../../../../lib/kernel/jiffies.ts";

export { jiffies, msecs_to_jiffies, time_after, time_before };

/** time_is_after_jiffies(a): a is in the future */
export function time_is_after_jiffies(a: number): boolean {
  return time_before(jiffies(), a);
}
