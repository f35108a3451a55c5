// SPDX-License-Identifier: GPL-2.0-only
// lib/vsprintf.c: the subset of the kernel's printf that irqlab's messages use,
// so that every message is written with the kernel's own format string.
//
// Supported: flags "-0+ #", width and precision (also "*"), length modifiers
// (h, hh, l, ll, L, z, t, which only matter for %u/%x of negative values),
// conversions d i u x X o c s %, and the kernel pointer extensions
// %ps/%pS (symbol name), %pb/%pbl (bitmap, with "*" width = number of bits),
// %pa (physical address), %p (hashed pointer: printed as an opaque id).

/** Anything printable as a bitmap by %*pb / %*pbl. */
export interface Bitmap {
  test(bit: number): boolean;
}

/** A symbol for %pS: a function (its name) or a string. */
export type Sym = ((...args: never[]) => unknown) | string | null | undefined;

import { K } from "./kernel.ts";

type Arg = unknown;

function toBig(v: Arg): bigint {
  if (typeof v === "bigint") return v;
  if (typeof v === "boolean") return v ? 1n : 0n;
  if (typeof v === "number") return BigInt(Math.trunc(v));
  return 0n;
}

function pad(s: string, width: number, left: boolean, zero: boolean, signLen = 0): string {
  if (s.length >= width) return s;
  if (left) return s + " ".repeat(width - s.length);
  if (zero) return s.slice(0, signLen) + "0".repeat(width - s.length) + s.slice(signLen);
  return " ".repeat(width - s.length) + s;
}

function bitsOfLength(len: string): number {
  switch (len) {
    case "hh":
      return 8;
    case "h":
      return 16;
    case "l":
    case "ll":
    case "L": // lib/vsprintf.c format_decode(): 'L' is long long for integers
    case "z":
    case "t":
      return 64;
    default:
      return 32;
  }
}

/** %*pbl: "0-3,8" style list. */
export function bitmap_list(bm: Bitmap, nbits: number): string {
  const parts: string[] = [];
  let i = 0;
  while (i < nbits) {
    if (!bm.test(i)) {
      i++;
      continue;
    }
    let j = i;
    while (j + 1 < nbits && bm.test(j + 1)) j++;
    parts.push(i === j ? String(i) : `${i}-${j}`);
    i = j + 1;
  }
  return parts.join(",");
}

/** %*pb: hex, 32-bit groups separated by ',', most significant first. */
export function bitmap_hex(bm: Bitmap, nbits: number): string {
  if (nbits <= 0) return "";
  const groups: string[] = [];
  const ngroups = Math.ceil(nbits / 32);
  for (let g = ngroups - 1; g >= 0; g--) {
    let v = 0;
    for (let b = 0; b < 32; b++) {
      const bit = g * 32 + b;
      if (bit < nbits && bm.test(bit)) v |= 1 << b;
    }
    const chunkBits = Math.min(32, nbits - g * 32);
    const digits = Math.ceil(chunkBits / 4);
    const s = (v >>> 0).toString(16).padStart(8, "0");
    groups.push(g === ngroups - 1 ? s.slice(8 - digits) : s);
  }
  return groups.join(",");
}

function symName(v: Arg): string {
  if (typeof v === "function") return (v as { name?: string }).name || "0x0";
  if (typeof v === "string") return v;
  if (v && typeof v === "object" && "name" in v) return String((v as { name: string }).name);
  return "0x0";
}

/** Pointer identities per machine, so that %p output is the same in every run. */
const ptrSpaces = new WeakMap<object, { ids: WeakMap<object, number>; next: number }>();

function ptrId(v: object): number {
  const space = (K as object | undefined) ?? ptrSpaces;
  let sp = ptrSpaces.get(space);
  if (!sp) {
    sp = { ids: new WeakMap(), next: 1 };
    ptrSpaces.set(space, sp);
  }
  let id = sp.ids.get(v);
  if (id === undefined) {
    id = sp.next++;
    sp.ids.set(v, id);
  }
  return id;
}

/** %px: the (virtual) address of an object. */
function ptrRaw(v: Arg): string {
  if (v === null || v === undefined) return "0000000000000000";
  if (typeof v !== "object" && typeof v !== "function") return toBig(v).toString(16).padStart(16, "0");
  return (0xffff888000000000n + BigInt(ptrId(v)) * 0x40n).toString(16);
}

/** %p: hashed, as the kernel prints pointers by default. */
function ptrHash(v: Arg): string {
  if (v === null || v === undefined) return "0000000000000000";
  const id = typeof v === "object" || typeof v === "function" ? ptrId(v) : Number(toBig(v) & 0xffffffffn);
  return (Math.imul(id, 0x9e3779b1) >>> 0).toString(16).padStart(16, "0");
}

export function vsprintf(fmt: string, args: readonly Arg[]): string {
  let out = "";
  let ai = 0;
  const next = (): Arg => args[ai++];
  for (let i = 0; i < fmt.length; i++) {
    const ch = fmt[i]!;
    if (ch !== "%") {
      out += ch;
      continue;
    }
    i++;
    if (fmt[i] === "%") {
      out += "%";
      continue;
    }
    let left = false;
    let zero = false;
    let plus = false;
    let space = false;
    let alt = false;
    for (;;) {
      const f = fmt[i];
      if (f === "-") left = true;
      else if (f === "0") zero = true;
      else if (f === "+") plus = true;
      else if (f === " ") space = true;
      else if (f === "#") alt = true;
      else break;
      i++;
    }
    let width = -1;
    if (fmt[i] === "*") {
      width = Number(next());
      if (width < 0) {
        left = true;
        width = -width;
      }
      i++;
    } else {
      let w = "";
      while (fmt[i]! >= "0" && fmt[i]! <= "9") w += fmt[i++];
      if (w) width = Number(w);
    }
    let prec = -1;
    if (fmt[i] === ".") {
      i++;
      if (fmt[i] === "*") {
        prec = Number(next());
        i++;
      } else {
        let p = "";
        while (fmt[i]! >= "0" && fmt[i]! <= "9") p += fmt[i++];
        prec = p ? Number(p) : 0;
      }
    }
    let len = "";
    while ("hlztL".includes(fmt[i] ?? "#")) len += fmt[i++];
    const conv = fmt[i];
    switch (conv) {
      case "d":
      case "i": {
        const v = toBig(next());
        let s = (v < 0n ? -v : v).toString();
        if (prec >= 0) s = s.padStart(prec, "0");
        const sign = v < 0n ? "-" : plus ? "+" : space ? " " : "";
        out += pad(sign + s, Math.max(width, 0), left, zero && prec < 0, sign.length);
        break;
      }
      case "u":
      case "x":
      case "X":
      case "o": {
        let v = toBig(next());
        const bits = bitsOfLength(len);
        if (v < 0n) v = BigInt.asUintN(bits, v);
        let s = conv === "u" ? v.toString(10) : conv === "o" ? v.toString(8) : v.toString(16);
        if (conv === "X") s = s.toUpperCase();
        if (prec >= 0) s = s.padStart(prec, "0");
        let pre = "";
        if (alt && v !== 0n) pre = conv === "o" ? "0" : conv === "x" ? "0x" : conv === "X" ? "0X" : "";
        out += pad(pre + s, Math.max(width, 0), left, zero && prec < 0, pre.length);
        break;
      }
      case "c":
        out += pad(String.fromCharCode(Number(next())), Math.max(width, 0), left, false);
        break;
      case "s": {
        const v = next();
        let s = v === null || v === undefined ? "(null)" : String(v as string);
        if (prec >= 0) s = s.slice(0, prec);
        out += pad(s, Math.max(width, 0), left, false);
        break;
      }
      case "p": {
        const ext = fmt[i + 1];
        if (ext === "s" || ext === "S") {
          i++;
          if (fmt[i + 1] === "b") i++;
          out += pad(symName(next()), Math.max(width, 0), left, false);
        } else if (ext === "b") {
          i++;
          const list = fmt[i + 1] === "l";
          if (list) i++;
          const bm = next() as Bitmap;
          const nbits = width < 0 ? 64 : width;
          out += list ? bitmap_list(bm, nbits) : bitmap_hex(bm, nbits);
        } else if (ext === "a") {
          i++;
          if (fmt[i + 1] === "p" || fmt[i + 1] === "d") i++;
          out += "0x" + toBig(next()).toString(16).padStart(16, "0");
        } else if (ext === "x") {
          i++;
          out += ptrRaw(next());
        } else if (ext === "K") {
          i++;
          out += ptrHash(next());
        } else {
          out += ptrHash(next());
        }
        break;
      }
      default:
        out += "%" + (conv ?? "");
    }
  }
  return out;
}

/** The kernel's sprintf()/snprintf() result (no truncation). */
export function sprintf(fmt: string, ...args: unknown[]): string {
  return vsprintf(fmt, args);
}
