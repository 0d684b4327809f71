/**
 * The TCP half of a dial, shared by direct dials (dial.ts) and next hops (next-hop.ts): resolve a
 * name, check addresses with the target guard, connect to the first address that answers within
 * a deadline, reporting failures under the caller's codes and naming.
 */
import { lookup } from "node:dns/promises";
import * as net from "node:net";
import { networkInterfaces } from "node:os";
import { type ErrorCode, ProxyError } from "../errors/proxy-error.ts";
import type { Authority } from "./authority.ts";
import type { ByteSocket } from "./byte-socket.ts";
import {
  checkAddress,
  compileGuard,
  type GuardRules,
  listensOnAll,
  type SelfAddress,
} from "./target-guard.ts";

/** errno values that mean "this peer cannot be reached" (502), as opposed to a timeout (504). */
const TIMEOUT_CODES = new Set(["ETIMEDOUT"]);

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

/** How connect failures are reported: which codes, and how the peer is named. */
export interface PeerNaming {
  name: string;
  unreachable: ErrorCode;
  /** Read only when a connect times out (may be a getter that makes the error then). */
  readonly timeout: ProxyError;
}

/**
 * Connects to the first of `addresses` that answers before `deadline` (performance.now() ms).
 *
 * Dials use `node:net`, not Bun's native sockets (which the listener's accepted sockets are): a
 * native connect cannot be cancelled while it is in progress, so a dial that times out or is
 * aborted would keep its descriptor until the kernel gives up on the SYN (~2 min) and keep the
 * process from exiting; `destroy()` on a connecting `node:net` socket closes it at once.
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
      return await connect(address, port, left, signal, peer);
    } catch (err) {
      last = ProxyError.wrap(err, peer.unreachable);
      if (last.code !== peer.unreachable) throw last;
    }
  }
  throw last ?? new ProxyError(peer.unreachable, `${peer.name} resolved to no address`);
}

function ignoreError(): void {}

function connect(
  address: string,
  port: number,
  timeoutMs: number,
  signal: AbortSignal | undefined,
  peer: PeerNaming,
): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new ProxyError("SHUTDOWN", "the proxy is stopping"));
    const socket = net.connect({ host: address, port, allowHalfOpen: true, noDelay: true });
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
    };
    const timer = setTimeout(() => {
      done();
      socket.destroy();
      reject(peer.timeout);
    }, timeoutMs);
    const onAbort = () => {
      done();
      socket.destroy();
      reject(new ProxyError("SHUTDOWN", "the proxy is stopping"));
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    socket.once("connect", () => {
      done();
      socket.removeAllListeners("error");
      // Until the tunnel reads from it (after the leaf and the client's handshake), an origin
      // reset must not be an unhandled 'error'; later readers see the socket destroyed. A
      // module-level function: a closure here would keep this dial's scope (timer, naming,
      // promise callbacks) alive for as long as the socket.
      socket.on("error", ignoreError);
      socket.pause();
      resolve(socket);
    });
    socket.once("error", (err: NodeJS.ErrnoException) => {
      done();
      socket.destroy();
      const code = err.code ?? "";
      reject(
        new ProxyError(
          TIMEOUT_CODES.has(code) ? peer.timeout.code : peer.unreachable,
          `cannot connect to ${peer.name}: ${code || err.message}`,
          { cause: err },
        ),
      );
    });
  });
}
