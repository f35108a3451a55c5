// SPDX-License-Identifier: GPL-2.0-only
// Named scenarios the CLI can run. Each boots a machine, drives it and
// returns it for the renderers.

import { createMachine, type Machine, type MachineOptions } from "../machine.ts";
import { msleep } from "../kernel/delay.ts";

export interface Scenario {
  name: string;
  description: string;
  run(opts: MachineOptions): Promise<Machine>;
}

export const scenarios: Record<string, Scenario> = {
  default: {
    name: "default",
    description: "boot the default machine and let it idle for 100 ms",
    async run(opts) {
      const m = await createMachine(opts);
      await m.run(async () => {
        await msleep(100);
      });
      return m;
    },
  },
};
