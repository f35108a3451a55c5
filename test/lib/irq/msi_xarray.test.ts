// SPDX-License-Identifier: GPL-2.0-only
// The MSI descriptor store (lib/irq/msi.ts: msi_xarray) against a plain Map
// model: xa_insert/xa_erase/xa_load, xa_alloc's lowest free index in a
// range, xa_find's next entry and the walk in index order.

import { expect } from "chai";
import fc from "fast-check";
import { msi_xarray, msi_desc, MSI_XA_MAX_INDEX } from "../../../lib/irq/msi.ts";
import { EBUSY } from "../../../lib/kernel/errno.ts";

describe("lib/irq/msi: the descriptor store (msi_xarray)", () => {
  it("answers load, insert, erase, alloc, find and the ordered walk as a map of index to descriptor does", () => {
    const LIM = 300;
    const op = fc.oneof(
      fc.record({ kind: fc.constant("insert" as const), i: fc.nat(LIM) }),
      fc.record({ kind: fc.constant("erase" as const), i: fc.nat(LIM) }),
      fc.record({ kind: fc.constant("alloc" as const), i: fc.nat(LIM), n: fc.nat(80) }),
      fc.record({ kind: fc.constant("find" as const), i: fc.nat(LIM + 40) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 120 }), (ops) => {
        const xa = new msi_xarray();
        const model = new Map<number, msi_desc>();
        for (const o of ops) {
          if (o.kind === "insert") {
            const d = new msi_desc(null);
            const want = model.has(o.i) ? -EBUSY : 0;
            expect(xa.insert(o.i, d)).to.equal(want);
            if (!want) model.set(o.i, d);
          } else if (o.kind === "erase") {
            xa.erase(o.i);
            model.delete(o.i);
          } else if (o.kind === "alloc") {
            let w = o.i;
            while (model.has(w)) w++;
            expect(xa.alloc(o.i, o.i + o.n)).to.equal(w <= o.i + o.n ? w : -EBUSY);
          } else {
            const keys = [...model.keys()].filter((k) => k >= o.i).sort((a, b) => a - b);
            const f = xa.find(o.i);
            if (keys.length === 0) expect(f).to.equal(null);
            else expect(f).to.deep.equal([keys[0], model.get(keys[0]!)]);
          }
          expect(xa.size).to.equal(model.size);
        }
        const order = [...model.keys()].sort((a, b) => a - b);
        expect(xa.values()).to.deep.equal(order.map((k) => model.get(k)));
        for (let i = 0; i <= LIM; i++) expect(xa.load(i)).to.equal(model.get(i));
        expect(xa.find(MSI_XA_MAX_INDEX)).to.equal(null);
        return true;
      }),
      { seed: 3, numRuns: 300 },
    );
  });

  it("allocates 16k slots one at a time, lowest first, and refills a freed slot", () => {
    const xa = new msi_xarray();
    for (let i = 0; i < 16384; i++) expect(xa.insert(xa.alloc(0, 16383), new msi_desc(null))).to.equal(0);
    expect(xa.alloc(0, 16383)).to.equal(-EBUSY);
    xa.erase(9000);
    expect(xa.alloc(0, 16383)).to.equal(9000);
    expect(xa.find(8999)![0]).to.equal(8999);
    expect(xa.find(9000)![0]).to.equal(9001);
  });
});
