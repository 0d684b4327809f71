/**
 * Steps 5-11 of a MITM tunnel in the full HTTP mode (`proxy.mitm.http = "full"`): the client is
 * offered `h2` and `http/1.1` whatever the profile, the upstream always gets the profile's
 * ClientHello (full ALPN list and ALPS), and every request in between is re-originated as the
 * browser by src/http/bridge/. Fills the tunnel record; throws what failed.
 */
import type { Socket } from "node:net";
import { serveHttpTunnel } from "../http/bridge/http-tunnel.ts";
import { openUpstream, type UpstreamOpenDeps } from "../http/bridge/upstream-open.ts";
import { DEFAULT_REQUEST_LIMITS } from "../http/h1/request-head.ts";
import type { TunnelRecord } from "../log/tunnel-record.ts";
import { acceptClient } from "../mitm/acceptor.ts";
import type { Leaf } from "../pki/leaf.ts";
import type { ProfileHttp } from "../profiles/http-types.ts";
import type { TlsConnector } from "../upstream/engine.ts";
import { SessionCache } from "../upstream/session-cache.ts";
import type { Authority } from "./authority.ts";
import { dial, tunnelDialOptions } from "./dial.ts";
import type { NextHopRoute } from "./next-hop.ts";
import { withAbort } from "./timeout.ts";
import { endedNormally, stopping, type TunnelDeps } from "./tunnel.ts";

/** What the client-facing TLS offers in the HTTP mode, in the proxy's order of preference. */
export const CLIENT_HTTP_ALPN = ["h2", "http/1.1"];

/** `host[:port]` as a browser writes it in Host / :authority: the port only when not 443. */
export function browserAuthority(target: Authority): string {
  const host = target.kind === "ipv6" ? `[${target.host}]` : target.host;
  return target.port === 443 ? host : `${host}:${target.port}`;
}

export interface HttpMitmInput {
  client: Socket;
  leftover: Uint8Array;
  leaf: Leaf;
  upstream: Socket;
  target: Authority;
  profile: { name: string; connector: TlsConnector; http: ProfileHttp };
  deps: TunnelDeps;
  signal: AbortSignal | undefined;
  rec: TunnelRecord;
  /** The tunnel's next hop (null = direct): later upstream connections go the same way. */
  via: NextHopRoute | null;
  /** Registers what the tunnel must destroy if it fails. */
  closeable(c: { destroy(): void }): void;
}

export async function runHttpMitm(input: HttpMitmInput): Promise<void> {
  const { deps, target, rec, signal } = input;
  const acceptStarted = performance.now();
  const accepted = await acceptClient({
    engine: deps.engine,
    socket: input.client,
    leftover: input.leftover,
    leaf: input.leaf,
    alpn: CLIENT_HTTP_ALPN,
    target,
    timeoutMs: deps.clientHandshakeTimeoutMs,
    ...(signal ? { signal } : {}),
  });
  rec.clientHandshakeMs = performance.now() - acceptStarted;
  input.closeable(accepted.channel);
  rec.clientAlpn = accepted.info.alpn;

  const key = SessionCache.key(input.profile.name, target.host, target.port);
  const upDeps: UpstreamOpenDeps = {
    dial: () => dial(target, tunnelDialOptions(deps, input.via, signal)),
    connector: input.profile.connector,
    host: target.host,
    verify: deps.verify,
    session: {
      get: () => deps.sessions.get(key),
      set: (s) => deps.sessions.set(key, s),
      drop: (offered) => deps.sessions.drop(key, offered),
    },
    handshakeTimeoutMs: deps.upstreamHandshakeTimeoutMs,
    websocket: () => deps.connectors.websocket(input.profile.name),
  };
  const upstreamStarted = performance.now();
  const first = await withAbort(openUpstream(upDeps, input.upstream), signal, stopping);
  rec.upstreamHandshakeMs = performance.now() - upstreamStarted;
  input.closeable(first.channel);
  rec.upstreamAlpn = first.info.alpn;
  rec.upstreamVersion = first.info.version;
  rec.upstreamCipher = first.info.cipher;
  rec.resumed = first.info.resumed;

  const r = await serveHttpTunnel({
    client: accepted.channel,
    target,
    authority: browserAuthority(target),
    http: input.profile.http,
    keepClient: deps.http.keepClient,
    first,
    open: (opts) => openUpstream(upDeps, undefined, opts),
    limits: { ...DEFAULT_REQUEST_LIMITS, maxHeadBytes: deps.http.maxRequestHeadBytes },
    maxConcurrentStreams: deps.http.maxConcurrentStreams,
    idleTimeoutMs: deps.idleTimeoutMs,
    ...(signal ? { signal } : {}),
  });
  rec.http = r.protocol;
  rec.upstreamHttp = r.upstream;
  rec.requests = r.requests;
  rec.statuses = r.statuses;
  // Plaintext the client sent and received (in HTTP mode the upstream's bytes differ).
  rec.bytesUp = r.bytesFromClient;
  rec.bytesDown = r.bytesToClient;
  // A client that leaves (FIN, reset, no close_notify) ends an HTTP tunnel normally.
  const failed = r.relay
    ? endedNormally(r.relay)
      ? null
      : r.relay.error
    : r.error?.code === "IO"
      ? null
      : r.error;
  if (failed) throw failed;
}
