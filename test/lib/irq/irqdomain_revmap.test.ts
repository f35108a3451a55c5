// SPDX-License-Identifier: GPL-2.0-only
// The radix-tree part of an irq domain's reverse map (lib/irq/irqdomain_revmap.ts)
// against a Map model: the same entries, the same size, the same answers to
// get/has/delete, for dense and sparse hwirqs, negative and beyond 2^32 ones.

import { expect } from "chai";
import fc from "fast-check";
import { RevmapTree } from "../../../lib/irq/irqdomain_revmap.ts";

describe("lib/irq/irqdomain_revmap: domain->revmap_tree", () => {
  it("answers get, has, set, delete and size exactly as a Map of the entries does", () => {
    const index = fc.oneof(fc.integer({ min: 0, max: 300 }), fc.integer({ min: -200, max: 2 ** 40 }), fc.constantFrom(63, 64, 127, 128, -1, -64, -65));
    const op = fc.oneof(
      fc.record({ kind: fc.constant("set" as const), i: index, v: fc.nat() }),
      fc.record({ kind: fc.constant("delete" as const), i: index }),
      fc.record({ kind: fc.constant("get" as const), i: index }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
        const t = new RevmapTree<{ v: number }>();
        const model = new Map<number, { v: number }>();
        for (const o of ops) {
          if (o.kind === "set") {
            const v = { v: o.v };
            t.set(o.i, v);
            model.set(o.i, v);
          } else if (o.kind === "delete") {
            expect(t.delete(o.i)).to.equal(model.delete(o.i));
          }
          expect(t.get(o.i)).to.equal(model.get(o.i));
          expect(t.has(o.i)).to.equal(model.has(o.i));
          expect(t.size).to.equal(model.size);
        }
        for (const [k, v] of model) expect(t.get(k)).to.equal(v);
      }),
      { numRuns: 300 },
    );
  });

  it("drops a leaf with its last entry, so a filled and emptied tree holds no leaf", () => {
    const t = new RevmapTree<number>();
    for (let i = 0; i < 10_000; i++) t.set(i * 3, i + 1);
    expect(t.size).to.equal(10_000);
    for (let i = 0; i < 10_000; i++) expect(t.delete(i * 3)).to.equal(true);
    expect(t.size).to.equal(0);
    expect((t as unknown as { leaves: Map<number, unknown> }).leaves.size).to.equal(0);
    expect(t.get(0)).to.equal(undefined);
  });
});
