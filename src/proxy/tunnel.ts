/**
 * One CONNECT tunnel after its request head was parsed: seed steps 2-11. Errors before `200`
 * become an HTTP status (errors/wire.ts); after `200` the client connection is reset, except an
 * upstream truncation, which reaches the client as one (FIN without close_notify). One
 * TunnelRecord is logged when the tunnel closes.
 */
import { ProxyError } from "../errors/proxy-error.ts";
import type { Logger } from "../log/logger.ts";
import { openTunnelRecord, type TunnelObserver } from "../log/tunnel-record.ts";
import { acceptClient } from "../mitm/acceptor.ts";
import { checkUpstreamAlpn, planUpstreamAlpn } from "../mitm/alpn-policy.ts";
import type { Leaf } from "../pki/leaf.ts";
import type { ConnectorPool } from "../upstream/connector-pool.ts";
import type { UpstreamTlsEngine, VerifyPolicy } from "../upstream/engine.ts";
import { SessionCache } from "../upstream/session-cache.ts";
import { type AccessPolicy, checkAccess } from "./access.ts";
import { formatAuthority } from "./authority.ts";
import type { ByteSocket as Socket } from "./byte-socket.ts";
import type { ConnectRequest } from "./connect-parser.ts";
import { dial, tunnelDialOptions } from "./dial.ts";
import type { DrainSet } from "./drain-set.ts";
import { channelEndpoint, socketEndpoint } from "./endpoint.ts";
import { type NextHopPolicy, routeFor } from "./next-hop.ts";
import { type RelayResult, relay } from "./relay.ts";
import { SecureChannel } from "./secure-channel.ts";
import type { SelfAddress } from "./target-guard.ts";
import { withAbort, withTimeout } from "./timeout.ts";
import { HTTP_ANSWER, type TunnelAnswer } from "./tunnel-answer.ts";
import { TunnelEnd } from "./tunnel-end.ts";
import { CLIENT_HTTP_ALPN, runHttpMitm } from "./tunnel-http.ts";
import {
  readTunnelOpening,
  relayPlaintext,
  servesPlainHttp,
  startPlainHttpTunnel,
} from "./tunnel-plaintext.ts";

export { ESTABLISHED } from "./tunnel-answer.ts";

export interface TunnelDeps {
  mode: "mitm" | "passthrough";
  access: AccessPolicy;
  defaultProfile: string;
  connectTimeoutMs: number;
  /** Client-facing TLS handshake bound (proxy.limits.client_handshake_timeout_ms). */
  clientHandshakeTimeoutMs: number;
  /** Upstream TLS handshake bound (proxy.upstream.handshake_timeout_ms). */
  upstreamHandshakeTimeoutMs: number;
  /** After `200`: a tunnel with no byte either way for this long is closed (IDLE_TIMEOUT). */
  idleTimeoutMs: number;
  /** Target address rules applied after DNS resolution (loop protection always; deny lists opt-in). */
  targetGuard: { denyPrivate: boolean; denyCidrs: readonly string[] };
  /** The proxy's own listen address, set by the listener once it listens (loop protection, 508). */
  self?: SelfAddress;
  /**
   * The proxy's other listen addresses, set as they listen: the SOCKS5 listener and the admin
   * listener (loop protection too: a tunnel to them is the proxy itself, 508).
   */
  otherSelves?: SelfAddress[];
  /** HTTP client connections asked to finish when the drain begins (set by the listener). */
  drains?: DrainSet;
  /** Next hop (upstream proxy): the configured one, and whether clients may choose per request. */
  nextHop?: NextHopPolicy;
  verify: VerifyPolicy;
  engine: UpstreamTlsEngine;
  connectors: ConnectorPool;
  sessions: SessionCache;
  leaves: { get(host: string): Promise<Leaf> };
  logger: Logger;
  /** Metrics: sees every tunnel record and the listener's rejections (optional). */
  observer?: TunnelObserver;
  /** MITM HTTP mode (`proxy.mitm.http`, `[proxy.http]`). */
  http: {
    mode: "full" | "tls-relay";
    keepClient: ReadonlySet<string> | "all";
    maxConcurrentStreams: number;
    maxRequestHeadBytes: number;
    /**
     * A request head inside a tunnel (HTTP/1.1 head, HTTP/2 field block) must be whole within
     * this many ms of its first byte (`proxy.limits.header_timeout_ms`); absent: no deadline.
     */
    headTimeoutMs?: number;
    /** An upstream response head must come within this many ms of the whole request (head-deadline.ts); absent: no limit. */
    responseTimeoutMs?: number;
  };
}

/** A relay that ended because the client reset or dropped its connection ended normally: that
 * is how many clients close once their exchange is complete (no close_notify, or a reset). */
export function endedNormally(r: RelayResult): boolean {
  return r.error === null || (r.errorFrom === "a" && r.error.code === "IO");
}

export const stopping = () => new ProxyError("SHUTDOWN", "the proxy is stopping");

/**
 * `signal` aborts when the proxy stops and the drain time has run out: the tunnel then ends with
 * SHUTDOWN (503 before `200`, reset after) and is logged like any other.
 */
export function runTunnel(
  client: Socket,
  req: ConnectRequest,
  deps: TunnelDeps,
  signal?: AbortSignal,
  answer: TunnelAnswer = HTTP_ANSWER,
): Promise<void> {
  const rec = openTunnelRecord(client, formatAuthority(req.target), deps.mode);
  // One pending promise per tunnel, settled by its TunnelEnd. In the HTTP mode the steps end once
  // the tunnel is handed to the HTTP layer (which tells the TunnelEnd when it ends), so an idle
  // tunnel keeps no step's locals and no chain of promises.
  return new Promise<void>((settled) => {
    void run(client, req, deps, signal, answer, new TunnelEnd(client, deps, answer, rec, settled));
  });
}

/** Runs the steps; settles the tunnel when they end, unless the HTTP layer took it over. */
async function run(
  client: Socket,
  req: ConnectRequest,
  deps: TunnelDeps,
  signal: AbortSignal | undefined,
  answer: TunnelAnswer,
  t: TunnelEnd,
): Promise<void> {
  try {
    if ((await steps(client, req, deps, signal, answer, t)) === HANDED_OVER) return;
  } catch (err) {
    t.settle(true, err);
    return;
  }
  t.settle(false);
}

/** What steps() returns when the HTTP layer runs the tunnel from there (TunnelEnd.httpEnded). */
const HANDED_OVER = "handed over";

/**
 * Seed steps 2-11; throws what failed (TunnelEnd answers it). HANDED_OVER: the HTTP layer runs
 * the tunnel on and settles it when it ends.
 */
async function steps(
  client: Socket,
  req: ConnectRequest,
  deps: TunnelDeps,
  signal: AbortSignal | undefined,
  answer: TunnelAnswer,
  t: TunnelEnd,
): Promise<typeof HANDED_OVER | undefined> {
  const { rec } = t;
  const target = req.target;
  const relayOpts = () => ({ idleTimeoutMs: deps.idleTimeoutMs, ...(signal ? { signal } : {}) });
  // Who may connect where (407 / 403), before anything is dialled.
  checkAccess(deps.access, req.proxyAuthorization, target);
  // Step 2: profile and connector (MITM only; passthrough never speaks TLS).
  const selected = deps.mode === "mitm" ? deps.connectors.get(req.profile ?? deps.defaultProfile) : null;
  rec.profile = selected?.name ?? null;
  // Step 3: resolve, guard (508 / 403), upstream TCP, directly or through the next hop.
  const via = routeFor(req.nextHop, deps.nextHop);
  const dialStarted = performance.now();
  const upstream = await dial(target, tunnelDialOptions(deps, via, signal));
  t.upstream = upstream;
  rec.connectMs = performance.now() - dialStarted;
  // The leaf is minted only once the upstream answered: a failed dial costs no signature.
  const leaf = selected ? await withAbort(deps.leaves.get(target.host), signal, stopping) : null;
  // Step 4.
  client.write(answer.established());
  t.established = true;

  if (!selected || !leaf) {
    const r = await relay(socketEndpoint(client, req.leftover), socketEndpoint(upstream), relayOpts());
    rec.bytesUp = r.aToB;
    rec.bytesDown = r.bToA;
    if (!endedNormally(r) && r.error) throw r.error;
    return;
  }

  // Steps 5-8: client-facing TLS (the HTTP mode offers h2 and http/1.1 whatever the profile), SNI
  // check. A client that does not start TLS is served as plaintext (tunnel-plaintext.ts).
  const profileHttp = deps.http.mode === "full" ? deps.connectors.http(selected.name) : null;
  const acceptStarted = performance.now();
  const accepted = await acceptClient({
    engine: deps.engine,
    socket: client,
    leftover: req.leftover,
    leaf,
    alpn: profileHttp ? CLIENT_HTTP_ALPN : selected.spec.alpn,
    target,
    timeoutMs: deps.clientHandshakeTimeoutMs,
    ...(signal ? { signal } : {}),
  });
  if ("plaintext" in accepted) {
    rec.clientTls = false;
    rec.bytesUp = accepted.plaintext.length; // until what serves the tunnel counts every byte
    // The first line, then the first request head, within what is left of the one bound.
    const limitMs = deps.clientHandshakeTimeoutMs;
    const leftMs = () => Math.max(1, limitMs - (performance.now() - acceptStarted));
    const opening = await readTunnelOpening(client, accepted.plaintext, leftMs(), signal, limitMs);
    const plain = { client, opening, upstream, target, deps, signal, rec };
    if (servesPlainHttp(opening, profileHttp)) {
      const rest = { profile: selected.name, nextHop: req.nextHop, headTimeoutMs: leftMs(), owner: t };
      startPlainHttpTunnel({ ...plain, ...rest });
      return HANDED_OVER;
    }
    const r = await relayPlaintext(plain);
    if (!endedNormally(r) && r.error) throw r.error;
    return;
  }
  rec.clientHandshakeMs = performance.now() - acceptStarted;
  t.clientChannel = accepted.channel;
  rec.clientAlpn = accepted.info.alpn;

  if (profileHttp) {
    await runHttpMitm({
      client: accepted.channel,
      upstream,
      target,
      profile: { name: selected.name, connector: selected.connector, http: profileHttp },
      deps,
      signal,
      rec,
      via,
      channels: t,
      owner: t,
    });
    return HANDED_OVER;
  }

  // Steps 9-10: upstream TLS with the profile, session cache and ALPN plan.
  const plan = planUpstreamAlpn(accepted.info.alpn);
  const sessionKey = SessionCache.key(selected.name, target.host, target.port);
  const offered = deps.sessions.get(sessionKey);
  const upstreamStarted = performance.now();
  const conn = selected.connector.connect({
    host: target.host,
    ...(plan.offer ? { alpn: plan.offer } : {}),
    alps: plan.alps,
    verify: deps.verify,
    session: offered,
  });
  const up = new SecureChannel(upstream, conn, "upstream");
  t.upstreamChannel = up;
  up.onSession = (s) => deps.sessions.set(sessionKey, s);
  upstream.resume();
  const handshake = withTimeout(up.handshake(), deps.upstreamHandshakeTimeoutMs, () => {
    return new ProxyError(
      "TLS_HANDSHAKE",
      `upstream TLS handshake timed out after ${deps.upstreamHandshakeTimeoutMs} ms`,
    );
  });
  const info = await withAbort(handshake, signal, stopping).catch((err: unknown) => {
    deps.sessions.drop(sessionKey, offered); // a refused session is not offered again
    throw err;
  });
  rec.upstreamHandshakeMs = performance.now() - upstreamStarted;
  if (!info.resumed) deps.sessions.drop(sessionKey, offered);
  rec.upstreamAlpn = info.alpn;
  rec.upstreamVersion = info.version;
  rec.upstreamCipher = info.cipher;
  rec.resumed = info.resumed;
  checkUpstreamAlpn(plan, info.alpn);

  // Step 11: relay plaintext. An upstream FIN or reset without close_notify is a truncation.
  const r = await relay(
    channelEndpoint(accepted.channel),
    channelEndpoint(up, { truncation: "UPSTREAM_TRUNCATED" }),
    relayOpts(),
  );
  rec.bytesUp = r.aToB;
  rec.bytesDown = r.bToA;
  if (!endedNormally(r) && r.error) throw r.error;
}
