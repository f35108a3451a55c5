// SPDX-License-Identifier: GPL-2.0-only
// kernel/printk/printk.c: the kernel log of one machine, with the kernel's
// timestamp prefix and log levels. Messages are written with the kernel's own
// format strings (lib/kernel/vsprintf.ts).

import { K } from "./kernel.ts";
import { vsprintf } from "./vsprintf.ts";
import { jiffies, time_after } from "./jiffies.ts";
import { capture_stack } from "./stacktrace.ts";

/* include/linux/kern_levels.h */
export const KERN_SOH = "\x01";
export const KERN_EMERG = "\x010";
export const KERN_ALERT = "\x011";
export const KERN_CRIT = "\x012";
export const KERN_ERR = "\x013";
export const KERN_WARNING = "\x014";
export const KERN_NOTICE = "\x015";
export const KERN_INFO = "\x016";
export const KERN_DEBUG = "\x017";
export const KERN_DEFAULT = "";
export const KERN_CONT = "\x01c";

/** CONFIG_MESSAGE_LOGLEVEL_DEFAULT */
const MESSAGE_LOGLEVEL_DEFAULT = 4;

// kernel/printk/printk.c: printk_get_level() / printk_skip_level()
function parseLevel(s: string): { level: number; cont: boolean; rest: string } {
  let level = -1;
  let cont = false;
  while (s.length >= 2 && s[0] === KERN_SOH) {
    const c = s[1]!;
    if (c >= "0" && c <= "7") level = c.charCodeAt(0) - 48;
    else if (c === "c") cont = true;
    s = s.slice(2);
  }
  return { level, cont, rest: s };
}

// kernel/printk/printk.c: vprintk_store(), split into one record per line
function store(text: string): number {
  const k = K;
  const { level, cont, rest } = parseLevel(text);
  let body = rest;
  if (cont && k.contOpen && k.log.length > 0) {
    const last = k.log[k.log.length - 1]!;
    const nl = body.indexOf("\n");
    const head = nl < 0 ? body : body.slice(0, nl);
    last.text += head;
    if (nl < 0) return body.length;
    k.contOpen = false;
    body = body.slice(nl + 1);
    if (body.length === 0) return text.length;
  }
  const lvl = level >= 0 ? level : MESSAGE_LOGLEVEL_DEFAULT;
  const lines = body.split("\n");
  const terminated = lines.length > 1 && lines[lines.length - 1] === "";
  if (terminated) lines.pop();
  for (const line of lines) k.appendLog(lvl, line);
  k.contOpen = !terminated;
  return text.length;
}

/** printk(fmt, ...): returns the number of characters stored. */
export function printk(fmt: string, ...args: unknown[]): number {
  return store(vsprintf(fmt, args));
}

export function pr_emerg(fmt: string, ...args: unknown[]): number {
  return printk(KERN_EMERG + fmt, ...args);
}
export function pr_alert(fmt: string, ...args: unknown[]): number {
  return printk(KERN_ALERT + fmt, ...args);
}
export function pr_crit(fmt: string, ...args: unknown[]): number {
  return printk(KERN_CRIT + fmt, ...args);
}
export function pr_err(fmt: string, ...args: unknown[]): number {
  return printk(KERN_ERR + fmt, ...args);
}
export function pr_warn(fmt: string, ...args: unknown[]): number {
  return printk(KERN_WARNING + fmt, ...args);
}
export function pr_notice(fmt: string, ...args: unknown[]): number {
  return printk(KERN_NOTICE + fmt, ...args);
}
export function pr_info(fmt: string, ...args: unknown[]): number {
  return printk(KERN_INFO + fmt, ...args);
}
export function pr_cont(fmt: string, ...args: unknown[]): number {
  return printk(KERN_CONT + fmt, ...args);
}
/** pr_debug() is compiled out without DEBUG/dynamic debug, as in a production kernel. */
export function pr_debug(_fmt: string, ..._args: unknown[]): number {
  return 0;
}

const onceKeys = new WeakMap<object, Set<string>>();

/** printk_once() family: prints once per call site (keyed by format) per machine. */
export function printk_once_key(key: string): boolean {
  let s = onceKeys.get(K);
  if (!s) {
    s = new Set();
    onceKeys.set(K, s);
  }
  if (s.has(key)) return false;
  s.add(key);
  return true;
}

export function pr_err_once(fmt: string, ...args: unknown[]): number {
  return printk_once_key("err:" + fmt) ? pr_err(fmt, ...args) : 0;
}
export function pr_warn_once(fmt: string, ...args: unknown[]): number {
  return printk_once_key("warn:" + fmt) ? pr_warn(fmt, ...args) : 0;
}
export function pr_info_once(fmt: string, ...args: unknown[]): number {
  return printk_once_key("info:" + fmt) ? pr_info(fmt, ...args) : 0;
}

/** include/linux/ratelimit_types.h: RATELIMIT_MSG_ON_RELEASE, RATELIMIT_INITIALIZED */
export const RATELIMIT_MSG_ON_RELEASE = 1 << 0;
export const RATELIMIT_INITIALIZED = 1 << 1;
/** include/linux/ratelimit_types.h: DEFAULT_RATELIMIT_BURST (the interval is 5 * HZ jiffies) */
export const DEFAULT_RATELIMIT_BURST = 10;

/** include/linux/ratelimit_types.h: struct ratelimit_state; interval and begin in jiffies. */
export class ratelimit_state {
  begin = 0;
  flags = 0;
  missed = 0;
  rs_n_left = 0;
  readonly interval: number;
  /** DEFINE_RATELIMIT_STATE(name, interval, burst); the default is DEFAULT_RATELIMIT_INTERVAL (5 * HZ). */
  constructor(
    interval?: number,
    readonly burst: number = DEFAULT_RATELIMIT_BURST,
  ) {
    this.interval = interval ?? 5 * K.config.HZ;
  }
}

/** Wrappers between a rate-limited call site and ___ratelimit(): not the __func__ C would pass. */
const RATELIMIT_WRAPPERS = new Set(["ratelimit_caller", "___ratelimit", "__ratelimit", "printk_ratelimited", "pr_err_ratelimited", "pr_warn_ratelimited", "pr_info_ratelimited"]);

/** The rate-limited call site's function, named from the stack only when a suppression report prints it. */
function ratelimit_caller(): string {
  for (const f of capture_stack(0, 16)) if (!RATELIMIT_WRAPPERS.has(f)) return f;
  return "__ratelimit";
}

// lib/ratelimit.c: ___ratelimit(); rs->lock is never contended here, because
// nothing runs between its trylock and unlock in irqlab, so the lock-contended
// fast path is not rendered
export function ___ratelimit(rs: ratelimit_state, func?: string): boolean {
  const { interval, burst } = rs;
  if (interval <= 0 || burst <= 0) {
    const ret = interval === 0 || burst > 0;
    if (!ret) rs.missed++;
    return ret;
  }
  const now = jiffies();
  if (!(rs.flags & RATELIMIT_INITIALIZED)) {
    rs.begin = now;
    rs.flags |= RATELIMIT_INITIALIZED;
    rs.rs_n_left = burst;
  }
  // time_is_before_jiffies(): strictly after the interval's last jiffy
  if (time_after(now, rs.begin + interval)) {
    rs.rs_n_left = burst;
    rs.begin = now;
    const m = rs.missed;
    rs.missed = 0;
    // printk_deferred(KERN_WARNING ...): irqlab has no console to defer from
    if (m && !(rs.flags & RATELIMIT_MSG_ON_RELEASE)) printk(KERN_WARNING + "%s: %d callbacks suppressed\n", func ?? ratelimit_caller(), m);
  }
  if (--rs.rs_n_left >= 0) return true;
  rs.missed++;
  return false;
}

/** include/linux/ratelimit_types.h: __ratelimit(state), which passes the caller's __func__. */
export function __ratelimit(rs: ratelimit_state, func?: string): boolean {
  return ___ratelimit(rs, func);
}

const rlStates = new WeakMap<object, Map<string, ratelimit_state>>();

function rl(key: string): ratelimit_state {
  let m = rlStates.get(K);
  if (!m) {
    m = new Map();
    rlStates.set(K, m);
  }
  let s = m.get(key);
  if (!s) {
    s = new ratelimit_state();
    m.set(key, s);
  }
  return s;
}

/** printk_ratelimited(): the format's own level, rate-limited per call site (format). */
export function printk_ratelimited(fmt: string, ...args: unknown[]): number {
  return __ratelimit(rl("printk:" + fmt)) ? printk(fmt, ...args) : 0;
}

export function pr_err_ratelimited(fmt: string, ...args: unknown[]): number {
  return __ratelimit(rl("err:" + fmt)) ? pr_err(fmt, ...args) : 0;
}
export function pr_warn_ratelimited(fmt: string, ...args: unknown[]): number {
  return __ratelimit(rl("warn:" + fmt)) ? pr_warn(fmt, ...args) : 0;
}
export function pr_info_ratelimited(fmt: string, ...args: unknown[]): number {
  return __ratelimit(rl("info:" + fmt)) ? pr_info(fmt, ...args) : 0;
}

// kernel/printk/printk.c: print_time()
export function print_time(ts_ns: number): string {
  const sec = Math.floor(ts_ns / 1e9);
  const usec = Math.floor((ts_ns % 1e9) / 1000);
  return `[${String(sec).padStart(5, " ")}.${String(usec).padStart(6, "0")}]`;
}

/** What `dmesg` prints: every record with its timestamp prefix. */
export function format_dmesg(records: readonly { ts: number; text: string }[]): string {
  let out = "";
  for (const r of records) out += `${print_time(r.ts)} ${r.text}\n`;
  return out;
}

/** include/linux/dev_printk.h: dev_err() and friends print "<driver> <device>: ". */
export interface DevLike {
  dev_name: string;
  driver_name?: string;
}

function devPrefix(dev: DevLike): string {
  return dev.driver_name ? `${dev.driver_name} ${dev.dev_name}: ` : `${dev.dev_name}: `;
}

export function dev_err(dev: DevLike, fmt: string, ...args: unknown[]): number {
  return printk(KERN_ERR + devPrefix(dev) + fmt, ...args);
}
export function dev_warn(dev: DevLike, fmt: string, ...args: unknown[]): number {
  return printk(KERN_WARNING + devPrefix(dev) + fmt, ...args);
}
export function dev_info(dev: DevLike, fmt: string, ...args: unknown[]): number {
  return printk(KERN_INFO + devPrefix(dev) + fmt, ...args);
}
export function dev_dbg(_dev: DevLike, _fmt: string, ..._args: unknown[]): number {
  return 0;
}
