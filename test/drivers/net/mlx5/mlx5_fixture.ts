// SPDX-License-Identifier: GPL-2.0-only
// A booted machine with one mlx5-like NIC probed by mlx5_core, for the
// driver's tests.

import { createMachine, type Machine, type MachineOptions } from "../../../../lib/machine.ts";
import type { Mlx5Nic, Mlx5Options } from "../../../../lib/hw/devices/mlx5/mlx5.ts";
import { pci_get_device_by_name } from "../../../../drivers/pci/pci.ts";
import { mlx5_probe } from "../../../../drivers/net/mlx5/core/main.ts";
import type { mlx5_core_dev } from "../../../../drivers/net/mlx5/core/driver.ts";
import { mlx5_cmd_exec } from "../../../../drivers/net/mlx5/core/cmd.ts";
import { mlx5_irqlab_queues_attach, type mlx5_irqlab_queues } from "../../../../drivers/net/mlx5/core/queues.ts";

export const MLX5_BDF = "0000:3b:00.0";

export interface Mlx5Rig {
  m: Machine;
  hw: Mlx5Nic;
  dev: mlx5_core_dev;
  queues: mlx5_irqlab_queues | null;
}

/** Boot, probe, and (with `queues`) attach that many completion queues. */
export async function mlx5Rig(opts: { machine?: MachineOptions; nic?: Partial<Mlx5Options>; queues?: number } = {}): Promise<Mlx5Rig> {
  const m = await createMachine({
    cpus: 4,
    ...(opts.machine ?? {}),
    pci: { devices: [{ type: "mlx5", bdf: MLX5_BDF, timeouts: { scale: 100 }, ...(opts.nic ?? {}) }] },
  });
  const { dev, queues } = await m.run(async () => {
    const r = await mlx5_probe(pci_get_device_by_name(MLX5_BDF)!);
    if (typeof r === "number") throw new Error(`mlx5_probe failed: ${r}\n${m.dmesg()}`);
    let q: mlx5_irqlab_queues | null = null;
    if (opts.queues) {
      const qr = await mlx5_irqlab_queues_attach(r, opts.queues);
      if (typeof qr === "number") throw new Error(`queues: ${qr}\n${m.dmesg()}`);
      q = qr;
    }
    return { dev: r, queues: q };
  });
  return { m, hw: m.pci.device<Mlx5Nic>(MLX5_BDF), dev, queues };
}

/** A command input of `len` bytes with its opcode and op_mod. */
export function cmd_in(opcode: number, len = 16, opMod = 0): Uint8Array {
  const b = new Uint8Array(len);
  const dv = new DataView(b.buffer);
  dv.setUint16(0, opcode);
  dv.setUint16(6, opMod);
  return b;
}

/** mlx5_cmd_exec() of an opcode with a zeroed input; returns the errno and the output. */
export async function exec(dev: mlx5_core_dev, opcode: number, inLen = 16, outLen = 16): Promise<{ err: number; out: Uint8Array }> {
  const out = new Uint8Array(outLen);
  const err = await mlx5_cmd_exec(dev, cmd_in(opcode, inLen), inLen, out, outLen);
  return { err, out };
}

export const MLX5_CMD_OP_NOP = 0x80d;
