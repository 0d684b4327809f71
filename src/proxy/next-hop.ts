/**
 * Dials the target through a next hop (an upstream proxy): TCP to the hop, then an HTTP CONNECT
 * (next-hop-http.ts) or a SOCKS5 handshake (socks5-client.ts), all within the connect timeout.
 * The socket returned carries the target's bytes only, so the TLS the proxy then speaks (the
 * profile's ClientHello) reaches the origin unchanged: the hop just tunnels TCP.
 *
 * Guard rules (documented in the README):
 * - The target: an IP literal is checked like a direct dial (loop protection, deny lists). A name
 *   is resolved by the proxy for `socks5://` (every address checked, the first sent to the hop);
 *   for `http://` and `socks5h://` the hop resolves it, and the proxy resolves it as well only
 *   when a deny list is configured (addresses it finds are checked; a name it cannot resolve is
 *   left to the hop), so no local DNS query leaks otherwise.
 * - The hop's own address: a configured hop (config or flag) is the operator's choice and only
 *   gets loop protection, even on a private address; a hop chosen per request (header) gets the
 *   whole guard, like a target.
 *
 * Errors name the hop as `scheme://host:port`, never with its credentials: NEXT_HOP_UNREACHABLE,
 * NEXT_HOP_TIMEOUT (504), NEXT_HOP_AUTH, NEXT_HOP_REFUSED.
 */
import { ProxyError } from "../errors/proxy-error.ts";
import { type Authority, formatAuthority, parseAuthority } from "./authority.ts";
import type { ByteSocket } from "./byte-socket.ts";
import type { DialOptions } from "./dial.ts";
import { connectFirst, guardAddresses, LOOP_ONLY, resolve, rulesFor } from "./dial-tcp.ts";
import { ConnectOutbound } from "./next-hop-http.ts";
import type { OutboundStep } from "./next-hop-outbound.ts";
import { type NextHop, parseNextHop } from "./next-hop-url.ts";
import { Socks5Outbound } from "./socks5-client.ts";
import { withTimeout } from "./timeout.ts";

export interface NextHopRoute {
  hop: NextHop;
  /** Configured by the operator (loop protection only for the hop's address), or per request. */
  trusted: boolean;
}

export async function dialViaHop(
  target: Authority,
  route: NextHopRoute,
  opts: DialOptions,
): Promise<ByteSocket> {
  const { hop } = route;
  const deadline = performance.now() + opts.timeoutMs;
  const timeout = new ProxyError(
    "NEXT_HOP_TIMEOUT",
    `next hop ${hop.name} did not open a tunnel to ${formatAuthority(target)} within ${opts.timeoutMs} ms`,
  );
  const left = () => Math.max(1, deadline - performance.now());
  const sent = await withTimeout(checkedTarget(target, hop, opts), left(), () => timeout);

  const hopAddresses = await withTimeout(
    resolve(hop.address, "NEXT_HOP_UNREACHABLE", `next hop ${hop.name}`),
    left(),
    () => timeout,
  );
  const refusal = guardAddresses(
    hop.address,
    hopAddresses,
    route.trusted ? LOOP_ONLY : rulesFor(opts.guard),
    opts,
  );
  if (refusal) throw new ProxyError(refusal.code, `next hop ${hop.name}: ${refusal.message}`);
  const peer = { name: `next hop ${hop.name}`, unreachable: "NEXT_HOP_UNREACHABLE", timeout } as const;
  const socket = await connectFirst(hopAddresses, hop.address.port, deadline, peer, opts.signal);
  const machine =
    hop.scheme === "http"
      ? new ConnectOutbound({ target: sent, credentials: hop.credentials, hopName: hop.name })
      : new Socks5Outbound({ target: sent, credentials: hop.credentials, hopName: hop.name });
  try {
    const leftover = await withTimeout(
      handshake(socket, machine, hop.name, opts.signal),
      left(),
      () => timeout,
    );
    if (leftover.length > 0) socket.unshift(leftover);
    return socket;
  } catch (err) {
    socket.destroy();
    throw err;
  }
}

/**
 * The guard on the target, and the target as sent to the hop: for `socks5://` the first checked
 * address, otherwise the target itself.
 */
async function checkedTarget(target: Authority, hop: NextHop, opts: DialOptions): Promise<Authority> {
  const rules = rulesFor(opts.guard);
  const localResolve = hop.scheme === "socks5";
  const denyLists = rules.denyPrivate || rules.denyCidrs.length > 0;
  if (target.kind !== "dns" || localResolve) {
    const addresses = await resolve(target, "UPSTREAM_UNREACHABLE");
    const refusal = guardAddresses(target, addresses, rules, opts);
    if (refusal) throw refusal;
    const first = addresses[0];
    if (!localResolve || target.kind !== "dns" || first === undefined) return target;
    return parseAuthority(first.includes(":") ? `[${first}]:${target.port}` : `${first}:${target.port}`);
  }
  if (!denyLists) return target;
  const addresses = await resolve(target, "UPSTREAM_UNREACHABLE").catch(() => [] as string[]);
  const refusal = guardAddresses(target, addresses, rules, opts);
  if (refusal) throw refusal;
  return target;
}

/** Runs the hop's handshake on the connected socket; resolves with bytes that followed it. */
function handshake(
  socket: ByteSocket,
  machine: { start(): Uint8Array; push(chunk: Uint8Array): OutboundStep },
  hopName: string,
  signal: AbortSignal | undefined,
): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const cleanup = () => {
      socket.off("data", onData);
      socket.off("end", onEnd);
      socket.off("close", onEnd);
      socket.off("error", onError);
      signal?.removeEventListener("abort", onAbort);
    };
    const fail = (err: ProxyError) => {
      cleanup();
      reject(err);
    };
    const onData = (d: Buffer) => {
      let step: OutboundStep;
      try {
        step = machine.push(d);
      } catch (err) {
        return fail(ProxyError.wrap(err, "NEXT_HOP_REFUSED"));
      }
      for (const b of step.send) socket.write(b);
      if (step.open) {
        cleanup();
        socket.pause();
        resolve(step.open.leftover);
      }
    };
    const onEnd = () =>
      fail(
        new ProxyError("NEXT_HOP_REFUSED", `next hop ${hopName} closed the connection during its handshake`),
      );
    const onError = (err: NodeJS.ErrnoException) =>
      fail(
        new ProxyError("NEXT_HOP_UNREACHABLE", `next hop ${hopName}: ${err.code ?? err.message}`, {
          cause: err,
        }),
      );
    const onAbort = () => fail(new ProxyError("SHUTDOWN", "the proxy is stopping"));
    if (signal?.aborted) return onAbort();
    socket.on("data", onData);
    socket.once("end", onEnd);
    socket.once("close", onEnd);
    socket.on("error", onError);
    signal?.addEventListener("abort", onAbort, { once: true });
    socket.write(machine.start());
    socket.resume();
  });
}

/** The operator's next-hop settings (proxy.upstream.next_hop, allow_next_hop_header). */
export interface NextHopPolicy {
  configured: NextHop | null;
  /** Whether a client may choose (or bypass, with `direct`) the hop with X-PolyTLS-Next-Hop. */
  perRequest: boolean;
}

/**
 * The route of one tunnel: the X-PolyTLS-Next-Hop value when given (`direct` = no hop; BAD_NEXT_HOP
 * when malformed or not allowed, without quoting it), else the configured hop, else direct (null).
 */
export function routeFor(header: string | null, policy: NextHopPolicy | undefined): NextHopRoute | null {
  const configured = policy?.configured ?? null;
  if (header === null) return configured ? { hop: configured, trusted: true } : null;
  if (!policy?.perRequest) {
    throw new ProxyError(
      "BAD_NEXT_HOP",
      "X-PolyTLS-Next-Hop is not allowed here (proxy.upstream.allow_next_hop_header = false)",
    );
  }
  if (header.toLowerCase() === "direct") return null;
  const hop = parseNextHop(header);
  if (typeof hop === "string") throw new ProxyError("BAD_NEXT_HOP", `X-PolyTLS-Next-Hop: ${hop}`);
  return { hop, trusted: false };
}
