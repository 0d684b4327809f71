/**
 * The TCP half of a dial, shared by direct dials (dial.ts) and next hops (next-hop.ts): resolve a
 * name, check addresses with the target guard, connect to the first address that answers within
 * a deadline, reporting failures under the caller's codes and naming.
 */
import { lookup } from "node:dns/promises";
import { networkInterfaces } from "node:os";
import { type ErrorCode, ProxyError } from "../errors/proxy-error.ts";
import type { Authority } from "./authority.ts";
import type { ByteSocket } from "./byte-socket.ts";
import { connectTcp, type PeerNaming } from "./connect-tcp.ts";
import {
  checkAddress,
  compileGuard,
  type GuardRules,
  listensOnAll,
  type SelfAddress,
} from "./target-guard.ts";

/** Compiled once per config object. */
const compiled = new WeakMap<object, GuardRules>();

export function rulesFor(guard: { denyPrivate: boolean; denyCidrs: readonly string[] }): GuardRules {
  let r = compiled.get(guard);
  if (!r) {
    r = compileGuard(guard);
    compiled.set(guard, r);
  }
  return r;
}

/** Loop protection only: for addresses the operator chose (a configured next hop). */
export const LOOP_ONLY: GuardRules = { denyPrivate: false, denyCidrs: [] };

function localAddresses(): string[] {
  return Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((i) => i.address));
}

/** Every address the name stands for, in resolver order (IP literals stand for themselves). */
export async function resolve(target: Authority, code: ErrorCode, what = target.host): Promise<string[]> {
  if (target.kind !== "dns") return [target.host];
  try {
    const all = await lookup(target.host, { all: true, verbatim: true });
    return all.map((a) => a.address);
  } catch (err) {
    const errno = (err as NodeJS.ErrnoException).code ?? "";
    throw new ProxyError(code, `cannot resolve ${what}: ${errno || String(err)}`, { cause: err });
  }
}

/** The first refusal of the guard for any of `addresses` of `target` (null = all may be dialled). */
export function guardAddresses(
  target: Authority,
  addresses: readonly string[],
  rules: GuardRules,
  opts: { self: SelfAddress | null; otherSelves?: readonly SelfAddress[] | undefined },
): ProxyError | null {
  const selves = [opts.self, ...(opts.otherSelves ?? [])];
  for (const self of selves) {
    const local = listensOnAll(self) ? localAddresses() : [];
    for (const address of addresses) {
      const refusal = checkAddress(target.host, address, target.port, { rules, self, local });
      if (refusal) return refusal;
    }
  }
  return null;
}

/**
 * Connects to the first of `addresses` that answers before `deadline` (performance.now() ms).
 * Each attempt is one `connectTcp` (connect-tcp.ts: native, or `node:net` while many native
 * connects given up on are still pending).
 */
export async function connectFirst(
  addresses: readonly string[],
  port: number,
  deadline: number,
  peer: PeerNaming,
  signal: AbortSignal | undefined,
): Promise<ByteSocket> {
  let last: ProxyError | null = null;
  for (const address of addresses) {
    const left = deadline - performance.now();
    if (left <= 0) throw peer.timeout;
    try {
      return await connectTcp(address, port, left, signal, peer);
    } catch (err) {
      last = ProxyError.wrap(err, peer.unreachable);
      if (last.code !== peer.unreachable) throw last;
    }
  }
  throw last ?? new ProxyError(peer.unreachable, `${peer.name} resolved to no address`);
}
