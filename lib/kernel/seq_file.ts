// SPDX-License-Identifier: GPL-2.0-only
// fs/seq_file.c, reduced to what the /proc and debugfs show functions use:
// one read of a file collects its whole text into a buffer.

import { vsprintf } from "./vsprintf.ts";

/** struct seq_file: the text of one read, and the file's private pointer. */
export class seq_file {
  buf = "";
  constructor(readonly private_: unknown = null) {}
  printf(fmt: string, ...args: unknown[]): void {
    this.buf += vsprintf(fmt, args);
  }
  puts(s: string): void {
    this.buf += s;
  }
}

// fs/seq_file.c: seq_printf()
export function seq_printf(m: seq_file, fmt: string, ...args: unknown[]): void {
  m.buf += vsprintf(fmt, args);
}

// fs/seq_file.c: seq_puts()
export function seq_puts(m: seq_file, s: string): void {
  m.buf += s;
}

// fs/seq_file.c: seq_putc()
export function seq_putc(m: seq_file, c: string): void {
  m.buf += c;
}

// fs/seq_file.c: seq_write()
export function seq_write(m: seq_file, s: string): void {
  m.buf += s;
}

// fs/seq_file.c: seq_put_decimal_ull_width(): delimiter, then the number right-aligned in width
export function seq_put_decimal_ull_width(m: seq_file, delimiter: string, num: number, width: number): void {
  m.buf += delimiter + String(num).padStart(width, " ");
}
