// SPDX-License-Identifier: GPL-2.0-only
// The irq number allocation map (lib/irq/irqdesc_bitmap.ts) against a plain
// array model: the lowest free range at or above `from`, as mas_empty_area()
// finds it in kernel/irq/irqdesc.c: irq_find_free_area().

import { expect } from "chai";
import fc from "fast-check";
import { SparseIrqBitmap } from "../../../lib/irq/irqdesc_bitmap.ts";
import { createMachine } from "../../../lib/machine.ts";
import { __irq_alloc_descs, for_each_irq_desc, irq_alloc_descs, irq_desc_count, irq_free_descs, irq_to_desc, IRQ_BITMAP_BITS } from "../../../lib/irq/irqdesc.ts";
import { EEXIST } from "../../../lib/kernel/errno.ts";

function modelFind(bits: Uint8Array, limit: number, from: number, cnt: number): number {
  for (let start = from; start + cnt <= limit; start++) {
    let ok = true;
    for (let i = 0; i < cnt; i++) {
      if (bits[start + i]) {
        ok = false;
        break;
      }
    }
    if (ok) return start;
  }
  return -1;
}

describe("lib/irq/irqdesc_bitmap: the irq number allocation map", () => {
  it("finds the lowest free range at or above `from` exactly as a linear scan does", () => {
    const limit = 5000;
    const op = fc.oneof(
      fc.record({ kind: fc.constant("set" as const), start: fc.nat(limit - 1), cnt: fc.integer({ min: 1, max: 300 }) }),
      fc.record({ kind: fc.constant("clear" as const), start: fc.nat(limit - 1), cnt: fc.integer({ min: 1, max: 300 }) }),
      fc.record({ kind: fc.constant("find" as const), start: fc.nat(limit - 1), cnt: fc.integer({ min: 1, max: 2100 }) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const b = new SparseIrqBitmap(limit, 64);
        const model = new Uint8Array(limit);
        for (const o of ops) {
          const end = Math.min(o.start + o.cnt, limit);
          if (o.kind === "set") {
            b.set(o.start, end - o.start);
            model.fill(1, o.start, end);
          } else if (o.kind === "clear") {
            b.clear(o.start, end - o.start);
            model.fill(0, o.start, end);
          } else {
            expect(b.findFreeArea(o.start, o.cnt)).to.equal(modelFind(model, limit, o.start, o.cnt));
          }
        }
        for (let n = 0; n < limit; n++) if (b.test(n) !== (model[n] === 1)) return false;
        return true;
      }),
      { seed: 1, numRuns: 300 },
    );
  });

  it("skips a long allocated prefix word by word and reports -1 past the limit", () => {
    const b = new SparseIrqBitmap(1 << 16, 64);
    b.set(0, 40000);
    expect(b.findFreeArea(5, 1)).to.equal(40000);
    b.clear(1234, 3);
    expect(b.findFreeArea(5, 3)).to.equal(1234);
    expect(b.findFreeArea(5, 4)).to.equal(40000);
    expect(b.findFreeArea(1 << 15, (1 << 16) - 40000 + 1)).to.equal(-1);
    expect(b.findFreeArea(1 << 15, (1 << 16) - 40000)).to.equal(40000);
    // a free number in the middle of the first word that is not full
    b.set(40000, 3);
    expect(b.findFreeArea(5, 4)).to.equal(40003);
  });

  it("lets __irq_alloc_descs hand out the lowest fitting range, refill a hole, and refuse a taken number with -EEXIST", async () => {
    const m = await createMachine({ cpus: 2, arch: "none" });
    await m.run(() => {
      const a = irq_alloc_descs(-1, 1, 100, -1);
      const b = irq_alloc_descs(-1, 1, 100, -1);
      expect(b).to.equal(a + 100);
      irq_free_descs(a + 10, 5);
      expect(irq_alloc_descs(-1, 1, 6, -1)).to.equal(b + 100);
      expect(irq_alloc_descs(-1, 1, 5, -1)).to.equal(a + 10);
      expect(irq_alloc_descs(a + 20, a + 20, 1, -1)).to.equal(-EEXIST);
      // irq 0 is never handed out, even when asked for from 0
      expect(__irq_alloc_descs(0, 0, 1, -1)).to.equal(-EEXIST);
      expect(IRQ_BITMAP_BITS).to.equal(1 << 21);
    });
  });

  it("lists descriptors in irq order and counts them across frees, refills and a fixed number far above the rest", async () => {
    const m = await createMachine({ cpus: 2, arch: "none" });
    await m.run(() => {
      const before = for_each_irq_desc().map((d) => d.irq);
      const a = irq_alloc_descs(-1, 1, 8, -1);
      expect(irq_alloc_descs(5000, 5000, 2, -1)).to.equal(5000);
      irq_free_descs(a + 2, 3);
      expect(irq_to_desc(a + 3)).to.equal(null);
      expect(irq_alloc_descs(-1, 1, 1, -1)).to.equal(a + 2);
      const want = [...before, a, a + 1, a + 2, a + 5, a + 6, a + 7, 5000, 5001].sort((x, y) => x - y);
      expect(for_each_irq_desc().map((d) => d.irq)).to.deep.equal(want);
      expect(irq_desc_count()).to.equal(want.length);
      irq_free_descs(5000, 2);
      expect(irq_to_desc(5001)).to.equal(null);
      expect(irq_desc_count()).to.equal(want.length - 2);
      // a fresh descriptor counts nothing yet, on every CPU
      expect([...irq_to_desc(a + 2)!.kstat_irqs]).to.deep.equal([0, 0]);
    });
  });
});
