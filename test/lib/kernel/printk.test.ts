// SPDX-License-Identifier: GPL-2.0-only
import { expect } from "chai";
import { createMachine } from "../../../lib/machine.ts";
import { sprintf } from "../../../lib/kernel/vsprintf.ts";
import { print_time, printk, pr_cont, pr_err, pr_warn_ratelimited, __ratelimit, ratelimit_state, KERN_CONT, RATELIMIT_MSG_ON_RELEASE } from "../../../lib/kernel/printk.ts";
import { HZ, jiffies } from "../../../lib/kernel/jiffies.ts";
import { dmesgLines } from "../../harness.ts";
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

  describe("___ratelimit()", () => {
    // A named function, as a C call site is: its name is the __func__ of the report.
    function noisy_site(i: number): void {
      pr_warn_ratelimited("noisy %d\n", i);
    }

    it("prints a burst of 10 per 5 s, then '<func>: N callbacks suppressed' at warning level once the interval has passed", async () => {
      const m = await createMachine({ cpus: 1 });
      await m.run(async () => {
        for (let i = 0; i < 13; i++) noisy_site(i);
        await msleep(5001);
        noisy_site(13);
      });
      const lines = dmesgLines(m).filter((l) => /noisy|suppressed/.test(l));
      expect(lines).to.deep.equal([...Array.from({ length: 10 }, (_, i) => `noisy ${i}`), "noisy_site: 3 callbacks suppressed", "noisy 13"]);
      const rec = m.kernel.log.find((r) => r.text.includes("callbacks suppressed"));
      expect(rec?.level).to.equal(4);
    });

    it("resets only when jiffies is strictly after begin + interval (time_is_before_jiffies)", async () => {
      const m = await createMachine({ cpus: 1 });
      const got = await m.run(async () => {
        const rs = new ratelimit_state(2, 1);
        const r: boolean[] = [__ratelimit(rs, "site"), __ratelimit(rs, "site")];
        const begin = jiffies();
        // sleep until exactly begin + interval: still the same interval
        while (jiffies() < begin + 2) await msleep(1);
        r.push(jiffies() === begin + 2 && __ratelimit(rs, "site"));
        while (jiffies() < begin + 3) await msleep(1);
        r.push(__ratelimit(rs, "site"));
        return r;
      });
      expect(got).to.deep.equal([true, false, false, true]);
      expect(dmesgLines(m).filter((l) => l.includes("suppressed"))).to.deep.equal(["site: 2 callbacks suppressed"]);
    });

    it("with RATELIMIT_MSG_ON_RELEASE keeps counting misses but prints no report", async () => {
      const m = await createMachine({ cpus: 1 });
      const missed = await m.run(async () => {
        const rs = new ratelimit_state(HZ(), 1);
        rs.flags |= RATELIMIT_MSG_ON_RELEASE;
        __ratelimit(rs, "quiet");
        __ratelimit(rs, "quiet");
        const before = rs.missed;
        await msleep(1100);
        __ratelimit(rs, "quiet");
        return [before, rs.missed];
      });
      expect(missed).to.deep.equal([1, 0]);
      expect(m.dmesg()).not.to.include("callbacks suppressed");
    });

    it("a zero interval never limits; a zero burst always does, counting each miss", async () => {
      await createMachine({ cpus: 1 });
      const open = new ratelimit_state(0, 0);
      const shut = new ratelimit_state(HZ(), 0);
      expect([__ratelimit(open), __ratelimit(open), __ratelimit(shut), __ratelimit(shut)]).to.deep.equal([true, true, false, false]);
      expect([open.missed, shut.missed]).to.deep.equal([0, 2]);
    });
  });
});
