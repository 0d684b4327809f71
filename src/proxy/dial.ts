/**
 * Opens the upstream TCP connection with a timeout (seed step 3). The name is resolved first and
 * every address is checked by the target guard before anything is dialled; the socket then
 * connects to a checked address, never to the name, so a second resolution (DNS rebinding) cannot
 * swap in an address that was not checked.
 */
import { lookup } from "node:dns/promises";
import * as net from "node:net";
import { networkInterfaces } from "node:os";
import { ProxyError } from "../errors/proxy-error.ts";
import type { Authority } from "./authority.ts";
import {
  checkAddress,
  compileGuard,
  type GuardRules,
  listensOnAll,
  type SelfAddress,
} from "./target-guard.ts";
import { withTimeout } from "./timeout.ts";

/** errno values that mean "this upstream cannot be reached" (502), as opposed to a timeout (504). */
const TIMEOUT_CODES = new Set(["ETIMEDOUT"]);

export interface DialOptions {
  timeoutMs: number;
  guard: { denyPrivate: boolean; denyCidrs: readonly string[] };
  /** The proxy's own listen address (loop protection); null before listen(). */
  self: SelfAddress | null;
  signal?: AbortSignal;
}

/** Compiled once per config object. */
const compiled = new WeakMap<object, GuardRules>();

function rulesFor(guard: DialOptions["guard"]): GuardRules {
  let r = compiled.get(guard);
  if (!r) {
    r = compileGuard(guard);
    compiled.set(guard, r);
  }
  return r;
}

function localAddresses(): string[] {
  return Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((i) => i.address));
}

/** Every address the name stands for, in resolver order (IP literals stand for themselves). */
async function resolve(target: Authority): Promise<string[]> {
  if (target.kind !== "dns") return [target.host];
  try {
    const all = await lookup(target.host, { all: true, verbatim: true });
    return all.map((a) => a.address);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? "";
    throw new ProxyError("UPSTREAM_UNREACHABLE", `cannot resolve ${target.host}: ${code || String(err)}`, {
      cause: err,
    });
  }
}

/** Resolves, checks every address (LOOP_DETECTED / TARGET_DENIED), then connects to the first that answers. */
export async function dial(target: Authority, opts: DialOptions): Promise<net.Socket> {
  const deadline = performance.now() + opts.timeoutMs;
  const timeout = () =>
    new ProxyError(
      "UPSTREAM_TIMEOUT",
      `connecting to ${target.host}:${target.port} timed out after ${opts.timeoutMs} ms`,
    );
  const addresses = await withTimeout(resolve(target), opts.timeoutMs, timeout);
  const rules = rulesFor(opts.guard);
  const local = listensOnAll(opts.self) ? localAddresses() : [];
  for (const address of addresses) {
    const refusal = checkAddress(target.host, address, target.port, { rules, self: opts.self, local });
    if (refusal) throw refusal;
  }
  let last: ProxyError | null = null;
  for (const address of addresses) {
    const left = deadline - performance.now();
    if (left <= 0) throw timeout();
    try {
      return await connect(address, target, left, opts.signal, timeout);
    } catch (err) {
      last = ProxyError.wrap(err, "UPSTREAM_UNREACHABLE");
      if (last.code !== "UPSTREAM_UNREACHABLE") throw last;
    }
  }
  throw last ?? new ProxyError("UPSTREAM_UNREACHABLE", `${target.host} resolved to no address`);
}

function connect(
  address: string,
  target: Authority,
  timeoutMs: number,
  signal: AbortSignal | undefined,
  onTimeout: () => ProxyError,
): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new ProxyError("SHUTDOWN", "the proxy is stopping"));
    const socket = net.connect({ host: address, port: target.port, allowHalfOpen: true, noDelay: true });
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
    };
    const timer = setTimeout(() => {
      done();
      socket.destroy();
      reject(onTimeout());
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
      // reset must not be an unhandled 'error'; later readers see the socket destroyed.
      socket.on("error", () => {});
      socket.pause();
      resolve(socket);
    });
    socket.once("error", (err: NodeJS.ErrnoException) => {
      done();
      socket.destroy();
      const code = err.code ?? "";
      reject(
        new ProxyError(
          TIMEOUT_CODES.has(code) ? "UPSTREAM_TIMEOUT" : "UPSTREAM_UNREACHABLE",
          `cannot connect to ${target.host}:${target.port}: ${code || err.message}`,
          { cause: err },
        ),
      );
    });
  });
}
