// SPDX-License-Identifier: GPL-2.0-only
// Shared by the flow handler tests (flow*.test.ts): the id of the simulated
// CPU the current code runs on, as a handler records it.
import { K } from "../../../lib/kernel/kernel.ts";

export const cpu = (): number => K.sim.cur.id;
