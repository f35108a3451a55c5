// SPDX-License-Identifier: GPL-2.0-only
// Trace events of the mlx5-like NIC (lib/hw/devices/mlx5).

declare module "../../../sim/trace.ts" {
  interface TraceEventMap {
    /**
     * The mlx5 device: "doorbell", "cmd-fetch", "cmd-done", "cmd-stuck",
     * "eqe", "eq-arm", "eq-fire", "eq-overrun", "ims-*" (the RAM IMS store and
     * its cache), "reset", "health", "fault", "uar-bad", ...
     */
    "hw.mlx5": {
      bdf: string;
      what: string;
      slot?: number;
      opcode?: number;
      status?: number;
      eqn?: number;
      cqn?: number;
      index?: number;
      value?: number;
      why?: string;
    };
  }
}

export {};
