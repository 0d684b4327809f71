/**
 * Opens the upstream TCP connection with a timeout (seed step 3), directly or through a next hop
 * (next-hop.ts). The name is resolved first and every address is checked by the target guard
 * before anything is dialled; the socket then connects to a checked address, never to the name,
 * so a second resolution (DNS rebinding) cannot swap in an address that was not checked.
 */
import { ProxyError } from "../errors/proxy-error.ts";
import { type Authority, formatAuthority } from "./authority.ts";
import type { ByteSocket } from "./byte-socket.ts";
import { connectFirst, guardAddresses, resolve, rulesFor } from "./dial-tcp.ts";
import { dialViaHop, type NextHopRoute } from "./next-hop.ts";
import type { SelfAddress } from "./target-guard.ts";
import { withTimeout } from "./timeout.ts";

export interface DialOptions {
  timeoutMs: number;
  guard: { denyPrivate: boolean; denyCidrs: readonly string[] };
  /** The proxy's own listen address (loop protection); null before listen(). */
  self: SelfAddress | null;
  /** The proxy's other listen addresses (the SOCKS5 listener), also refused (loop protection). */
  otherSelves?: readonly SelfAddress[];
  /** Through this next hop; null or absent = directly. */
  via?: NextHopRoute | null;
  signal?: AbortSignal;
}

/** Resolves, checks every address (LOOP_DETECTED / TARGET_DENIED), then connects to the first that answers. */
export async function dial(target: Authority, opts: DialOptions): Promise<ByteSocket> {
  if (opts.via) return dialViaHop(target, opts.via, opts);
  const deadline = performance.now() + opts.timeoutMs;
  const timeout = () =>
    new ProxyError(
      "UPSTREAM_TIMEOUT",
      `connecting to ${formatAuthority(target)} timed out after ${opts.timeoutMs} ms`,
    );
  const addresses = await withTimeout(resolve(target, "UPSTREAM_UNREACHABLE"), opts.timeoutMs, timeout);
  const refusal = guardAddresses(target, addresses, rulesFor(opts.guard), opts);
  if (refusal) throw refusal;
  const peer = {
    name: formatAuthority(target),
    unreachable: "UPSTREAM_UNREACHABLE",
    // Made only when a connect times out: an error (and its stack) per dial is otherwise garbage.
    get timeout() {
      return timeout();
    },
  } as const;
  return connectFirst(addresses, target.port, deadline, peer, opts.signal);
}

/** The dial options of a tunnel: its deps' timeout, guard and own addresses, and its route. */
export function tunnelDialOptions(
  deps: {
    connectTimeoutMs: number;
    targetGuard: DialOptions["guard"];
    self?: SelfAddress | undefined;
    otherSelves?: SelfAddress[] | undefined;
  },
  via: NextHopRoute | null | undefined,
  signal: AbortSignal | undefined,
): DialOptions {
  return {
    timeoutMs: deps.connectTimeoutMs,
    guard: deps.targetGuard,
    self: deps.self ?? null,
    ...(deps.otherSelves && deps.otherSelves.length > 0 ? { otherSelves: deps.otherSelves } : {}),
    ...(via ? { via } : {}),
    ...(signal ? { signal } : {}),
  };
}
