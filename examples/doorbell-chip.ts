// SPDX-License-Identifier: GPL-2.0-only
// "Prototype your own chip": the example doorbell controller's chip as a
// review subject. `npx irqlab review examples/doorbell-chip.ts` runs the
// conformance suite on it and writes a report; it passes.

import type { ChipSubject } from "../lib/review/conformance.ts";
import { doorbellRig } from "./doorbell/rig.ts";

export const subject: ChipSubject = {
  name: "DOORBELL (example IMS-style chip)",
  factory: doorbellRig(),
  // irq_mask() reads the slot back, so the mask is in effect on return
  options: { mask: "sync" },
};

export default subject;
