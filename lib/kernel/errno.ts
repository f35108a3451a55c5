// SPDX-License-Identifier: GPL-2.0-only
// include/uapi/asm-generic/errno-base.h, errno.h and include/linux/errno.h:
// the errno values irqlab returns, negated by the callers as the kernel does.

export const EPERM = 1;
export const ENOENT = 2;
export const ESRCH = 3;
export const EINTR = 4;
export const EIO = 5;
export const ENXIO = 6;
export const E2BIG = 7;
export const EBADF = 9;
export const EAGAIN = 11;
export const ENOMEM = 12;
export const EACCES = 13;
export const EFAULT = 14;
export const ENOTTY = 25;
export const EBUSY = 16;
export const EEXIST = 17;
export const ENODEV = 19;
export const EINVAL = 22;
export const ENOSPC = 28;
export const ERANGE = 34;
export const EDEADLK = 35;
export const ENOSYS = 38;
export const ENOMSG = 42;
export const ENODATA = 61;
export const ETIME = 62;
export const ENOLINK = 67;
export const EBADR = 53;
export const EOVERFLOW = 75;
export const EOPNOTSUPP = 95;
export const ENOTCONN = 107;
export const ESHUTDOWN = 108;
export const ETIMEDOUT = 110;
export const ECANCELED = 125;
export const EREMOTEIO = 121;
/* include/linux/errno.h (kernel internal) */
export const ERESTARTSYS = 512;
export const ENOTSUPP = 524;

const NAMES: Record<number, string> = {
  [EPERM]: "EPERM", [ENOENT]: "ENOENT", [ESRCH]: "ESRCH", [EINTR]: "EINTR", [EIO]: "EIO",
  [ENXIO]: "ENXIO", [E2BIG]: "E2BIG", [EBADF]: "EBADF", [EAGAIN]: "EAGAIN", [ENOMEM]: "ENOMEM",
  [EACCES]: "EACCES", [EFAULT]: "EFAULT", [ENOTTY]: "ENOTTY", [EBUSY]: "EBUSY", [EEXIST]: "EEXIST", [ENODEV]: "ENODEV",
  [EINVAL]: "EINVAL", [ENOSPC]: "ENOSPC", [ERANGE]: "ERANGE", [EDEADLK]: "EDEADLK", [ENOSYS]: "ENOSYS",
  [ENOMSG]: "ENOMSG", [ENODATA]: "ENODATA", [ETIME]: "ETIME", [ENOLINK]: "ENOLINK", [EBADR]: "EBADR",
  [EOVERFLOW]: "EOVERFLOW", [EOPNOTSUPP]: "EOPNOTSUPP", [ENOTCONN]: "ENOTCONN", [ESHUTDOWN]: "ESHUTDOWN",
  [ETIMEDOUT]: "ETIMEDOUT", [ECANCELED]: "ECANCELED", [EREMOTEIO]: "EREMOTEIO",
  [ERESTARTSYS]: "ERESTARTSYS", [ENOTSUPP]: "ENOTSUPP",
};

/** "-EINVAL" for -22, for diagnostics; plain number text for unknown values. */
export function errname(err: number): string {
  const n = NAMES[-err];
  return n ? `-${n}` : String(err);
}

/** include/linux/err.h: IS_ERR_VALUE() on a returned value. */
export function IS_ERR_VALUE(x: number): boolean {
  return x < 0 && x >= -4095;
}
