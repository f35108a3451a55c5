// SPDX-License-Identifier: GPL-2.0-only
import { expect } from "chai";
import { createMachine } from "../../../lib/machine.ts";
import { sprintf } from "../../../lib/kernel/vsprintf.ts";
import { print_time, printk, pr_cont, pr_err, KERN_CONT } from "../../../lib/kernel/printk.ts";
import { cpumask_from, cpumask_of } from "../../../lib/kernel/cpumask.ts";
import { msleep } from "../../../lib/kernel/delay.ts";

describe("lib/kernel printk and vsprintf", () => {
  it("formats the kernel's conversions, flags, widths and lengths", () => {
    expect(sprintf("%d|%5d|%-5d|%05d|%x|%08x|%X|%lu|%%|%c", -7, 42, 42, 42, 255, 0xbeef, 255, 3, 65)).to.equal(
      "-7|   42|42   |00042|ff|0000beef|FF|3|%|A",
    );
    expect(sprintf("%*d|%-*s|%.3s|%s", 4, 9, 6, "ab", "abcdef", null)).to.equal("   9|ab    |abc|(null)");
    expect(sprintf("%x %lx", -1, -1)).to.equal("ffffffff ffffffffffffffff");
    expect(sprintf("%#x %#o", 255, 8)).to.equal("0xff 010");
  });

  it("prints masks with %*pb and %*pbl as /proc/irq does", async () => {
    await createMachine({ cpus: 4 });
    expect(sprintf("%*pb", 4, cpumask_from([0, 1, 2, 3]))).to.equal("f");
    expect(sprintf("%*pbl", 4, cpumask_from([0, 1, 3]))).to.equal("0-1,3");
    expect(sprintf("%*pb", 40, { test: (b: number) => b < 4 })).to.equal("00,0000000f");
    expect(sprintf("%*pb", 16, { test: (b: number) => b < 4 })).to.equal("000f");
    expect(sprintf("[%*pbl]", 4, cpumask_of(2))).to.equal("[2]");
  });

  it("prints %ps as a function's name", () => {
    function handle_edge_irq(): void {}
    expect(sprintf("%ps/%pS", handle_edge_irq, "ims_mask_irq")).to.equal("handle_edge_irq/ims_mask_irq");
  });

  it("stamps each line with [%5lu.%06lu] of virtual time and joins KERN_CONT pieces", async () => {
    expect(print_time(0)).to.equal("[    0.000000]");
    expect(print_time(123456789012)).to.equal("[  123.456789]");
    const m = await createMachine({ cpus: 1 });
    await m.run(async () => {
      await msleep(12);
      pr_err("a %d", 1);
      pr_cont(" b\n");
      printk(KERN_CONT + "c\nd\n");
    });
    const tail = m.dmesg().trimEnd().split("\n").slice(-3);
    expect(tail).to.deep.equal(["[    0.016000] a 1 b", "[    0.016000] c", "[    0.016000] d"]);
  });
});
