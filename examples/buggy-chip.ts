// SPDX-License-Identifier: GPL-2.0-only
// The example doorbell chip with a deliberate bug: its irq_unmask() clears
// the slot's mask bit but forgets that this device does not send a pending
// interrupt by itself, so an interrupt raised while masked is lost.
// `npx irqlab review examples/buggy-chip.ts` names the bug and exits 1.

import type { ChipSubject } from "../lib/review/conformance.ts";
import { doorbellRig } from "./doorbell/rig.ts";

export const subject: ChipSubject = {
  name: "DOORBELL with a lossy irq_unmask (deliberately buggy example)",
  factory: doorbellRig({ unmaskForgetsResend: true }),
  options: { mask: "sync" },
};

export default subject;
