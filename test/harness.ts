// SPDX-License-Identifier: GPL-2.0-only
// Helpers shared by irqlab's tests.

import { expect } from "chai";
import type { Machine } from "../lib/machine.ts";

/**
 * Run `fn` expecting the machine to print a splat whose title matches
 * `pattern` (at least once). Returns what `fn` returned or threw.
 */
export async function expectSplat<T>(m: Machine, pattern: RegExp, fn: () => Promise<T>): Promise<{ value?: T; error?: unknown }> {
  const before = m.splats().filter((s) => pattern.test(s.title)).length;
  m.expectSplat(pattern, Infinity);
  let value: T | undefined;
  let error: unknown;
  try {
    value = await fn();
  } catch (e) {
    error = e;
  }
  const after = m.splats().filter((s) => pattern.test(s.title)).length;
  expect(after, `expected a splat matching ${String(pattern)}\n${m.dmesg()}`).to.be.greaterThan(before);
  return { value, error };
}

/** The dmesg lines without their timestamps. */
export function dmesgLines(m: Machine): string[] {
  return m
    .dmesg()
    .split("\n")
    .filter((l) => l.length > 0)
    .map((l) => l.replace(/^\[\s*\d+\.\d{6}\] /, ""));
}

/** The dmesg lines from the first one matching `pattern`. */
export function dmesgFrom(m: Machine, pattern: RegExp): string[] {
  const lines = dmesgLines(m);
  const i = lines.findIndex((l) => pattern.test(l));
  return i < 0 ? [] : lines.slice(i);
}
