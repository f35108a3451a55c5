// SPDX-License-Identifier: GPL-2.0-only
// cpumask words hold bit 31 of each 32-CPU group as the sign bit of an
// int32: the operations and the %*pb / %*pbl texts must not care.

import { expect } from "chai";
import { createMachine } from "../../../lib/machine.ts";
import {
  cpumask,
  cpumask_and,
  cpumask_copy,
  cpumask_empty,
  cpumask_equal,
  cpumask_first,
  cpumask_from,
  cpumask_last,
  cpumask_parse,
  cpumask_pr_hex,
  cpumask_pr_list,
  cpumask_subset,
  cpumask_weight,
  cpumask_clear_cpu,
} from "../../../lib/kernel/cpumask.ts";

describe("lib/kernel/cpumask: masks across the 32-bit word boundaries", () => {
  it("keeps CPUs 31 and 63 through copy, and, equality, parse and the hex and list texts", async () => {
    const m = await createMachine({ cpus: 64, arch: "none" });
    m.enter(() => {
      const a = cpumask_from([0, 31, 32, 63]);
      expect(cpumask_pr_hex(a)).to.equal("80000001,80000001");
      expect(cpumask_pr_list(a)).to.equal("0,31-32,63");
      expect([cpumask_weight(a), cpumask_first(a), cpumask_last(a)]).to.deep.equal([4, 0, 63]);
      const b = new cpumask();
      cpumask_copy(b, a);
      expect(cpumask_equal(a, b)).to.equal(true);
      const c = new cpumask();
      expect(cpumask_parse("80000000,80000000", c)).to.equal(0);
      expect(cpumask_subset(c, a)).to.equal(true);
      const d = new cpumask();
      expect(cpumask_and(d, a, c)).to.equal(true);
      expect(cpumask_pr_list(d)).to.equal("31,63");
      cpumask_clear_cpu(31, d);
      cpumask_clear_cpu(63, d);
      expect(cpumask_empty(d)).to.equal(true);
      expect(cpumask_equal(d, new cpumask())).to.equal(true);
    });
  });
});
