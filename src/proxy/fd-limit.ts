/**
 * The open-file budget: the soft RLIMIT_NOFILE of this process and how many tunnels fit in it.
 * A tunnel holds two descriptors (client and upstream socket); the reserve covers the runtime's own
 * (epoll, eventfds, timers, stdio, the native library), the listening socket, DNS look-ups and
 * connections being answered 503 / 429 while the proxy is full.
 */
import { closeSync, openSync, readFileSync } from "node:fs";

export const FDS_PER_TUNNEL = 2; // client socket + upstream socket
/** Descriptors kept out of the tunnel budget: a fixed part plus 1/32 of the limit (bench: Bun uses ~10 at start). */
export const RESERVE_FIXED_FDS = 32;
export const RESERVE_FRACTION = 1 / 32;

/** The soft open-files limit from /proc/self/limits; null when unknown (no procfs) or unlimited. */
export function openFilesSoftLimit(): number | null {
  try {
    const text = readFileSync("/proc/self/limits", "utf8");
    const v = /^Max open files\s+(\S+)/m.exec(text)?.[1];
    if (v === undefined || v === "unlimited") return null;
    const n = Number(v);
    return Number.isInteger(n) && n > 0 ? n : null;
  } catch {
    return null;
  }
}

/** Most tunnels that fit in `softLimit` descriptors with the reserve (at least 1). Pure. */
export function tunnelsThatFit(softLimit: number): number {
  const reserve = RESERVE_FIXED_FDS + Math.ceil(softLimit * RESERVE_FRACTION);
  return Math.max(1, Math.floor((softLimit - reserve) / FDS_PER_TUNNEL));
}

/**
 * Whether `count` more descriptors can be opened right now: opens /dev/null that many times and
 * closes them again (a few microseconds). Only EMFILE / ENFILE say no; any other failure (no
 * /dev/null) says yes, so a missing probe never stops the proxy from accepting.
 */
export function hasFreeFds(count: number): boolean {
  const fds: number[] = [];
  try {
    for (let i = 0; i < count; i++) fds.push(openSync("/dev/null", "r"));
    return true;
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    return code !== "EMFILE" && code !== "ENFILE";
  } finally {
    for (const fd of fds) closeSync(fd);
  }
}
