// SPDX-License-Identifier: GPL-2.0-only
// The radix-tree part of an irq domain's reverse map (domain->revmap_tree).
//
// Linux keeps the hwirq -> irq_data entries a domain has no linear slot for
// in a radix tree, whose leaf nodes hold 64 consecutive indices
// (RADIX_TREE_MAP_SIZE). irqlab keeps such leaves too: one slot array per
// run of 64 hwirqs, found by its index in a Map. A lookup is one Map read
// and one array read whatever the number of entries, as with a Map of
// entries, but a dense domain (the vector domain, whose hwirq is the Linux
// irq; a device MSI domain, whose hwirq is the MSI index) pays about 10
// bytes per entry instead of a hash-table entry of 30 or more. A leaf goes
// when its last entry does, so a freed domain leaves nothing behind.
//
// The interface is the part of Map the irq domain code and its tests use.

const LEAF_SHIFT = 6;
const LEAF_SIZE = 1 << LEAF_SHIFT;

class RevmapLeaf<T> {
  used = 0;
  readonly slots: (T | undefined)[] = new Array<T | undefined>(LEAF_SIZE);
}

export class RevmapTree<T> {
  private readonly leaves = new Map<number, RevmapLeaf<T>>();
  private count = 0;

  /** Number of entries. */
  get size(): number {
    return this.count;
  }

  get(index: number): T | undefined {
    const key = Math.floor(index / LEAF_SIZE);
    const leaf = this.leaves.get(key);
    return leaf === undefined ? undefined : leaf.slots[index - key * LEAF_SIZE];
  }

  has(index: number): boolean {
    return this.get(index) !== undefined;
  }

  /** Insert or replace the entry at `index` (`v` must not be undefined). */
  set(index: number, v: T): this {
    const key = Math.floor(index / LEAF_SIZE);
    let leaf = this.leaves.get(key);
    if (leaf === undefined) {
      leaf = new RevmapLeaf<T>();
      this.leaves.set(key, leaf);
    }
    const i = index - key * LEAF_SIZE;
    if (leaf.slots[i] === undefined) {
      leaf.used++;
      this.count++;
    }
    leaf.slots[i] = v;
    return this;
  }

  /** Remove the entry at `index`; false if there was none. */
  delete(index: number): boolean {
    const key = Math.floor(index / LEAF_SIZE);
    const leaf = this.leaves.get(key);
    if (leaf === undefined) return false;
    const i = index - key * LEAF_SIZE;
    if (leaf.slots[i] === undefined) return false;
    leaf.slots[i] = undefined;
    this.count--;
    if (--leaf.used === 0) this.leaves.delete(key);
    return true;
  }
}
