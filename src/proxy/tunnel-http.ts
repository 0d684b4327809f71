/**
 * Steps 5-11 of a MITM tunnel in the full HTTP mode (`proxy.mitm.http = "full"`): the client is
 * offered `h2` and `http/1.1` whatever the profile, the upstream always gets the profile's
 * ClientHello (full ALPN list and ALPS), and every request in between is re-originated as the
 * browser by src/http/bridge/. Fills the tunnel record; throws what failed.
 */
import type { Socket } from "node:net";
import { type HttpTunnelResult, serveHttpTunnel } from "../http/bridge/http-tunnel.ts";
import {
  type OpenedUpstream,
  type OpenOptions,
  openUpstream,
  type UpstreamOpenDeps,
} from "../http/bridge/upstream-open.ts";
import { DEFAULT_REQUEST_LIMITS, type RequestLimits } from "../http/h1/request-head.ts";
import type { TunnelRecord } from "../log/tunnel-record.ts";
import { acceptClient } from "../mitm/acceptor.ts";
import type { Leaf } from "../pki/leaf.ts";
import type { ProfileHttp } from "../profiles/http-types.ts";
import type { WebSocketWhen } from "../profiles/websocket.ts";
import type { TlsConnector, VerifyPolicy } from "../upstream/engine.ts";
import { SessionCache, SessionSlot } from "../upstream/session-cache.ts";
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
  /** What the tunnel must destroy if it fails (appended to; an array, not a callback, to keep no closure). */
  closeables: { destroy(): void }[];
}

/**
 * How the tunnel opens upstream connections (the first one and later ones), as one object with
 * its methods on the prototype: it lives as long as the tunnel, so it keeps only the fields it
 * needs, not runHttpMitm's scope or one closure per operation.
 */
class TunnelUpstreams implements UpstreamOpenDeps {
  readonly connector: TlsConnector;
  readonly host: string;
  readonly verify: VerifyPolicy;
  readonly handshakeTimeoutMs: number;
  readonly session: SessionSlot;
  readonly #target: Authority;
  readonly #deps: TunnelDeps;
  readonly #via: NextHopRoute | null;
  readonly #signal: AbortSignal | undefined;
  readonly #profile: string;

  constructor(input: HttpMitmInput) {
    const { deps, target, profile } = input;
    this.connector = profile.connector;
    this.host = target.host;
    this.verify = deps.verify;
    this.handshakeTimeoutMs = deps.upstreamHandshakeTimeoutMs;
    this.session = new SessionSlot(deps.sessions, SessionCache.key(profile.name, target.host, target.port));
    this.#target = target;
    this.#deps = deps;
    this.#via = input.via;
    this.#signal = input.signal;
    this.#profile = profile.name;
  }

  dial(): Promise<Socket> {
    return dial(this.#target, tunnelDialOptions(this.#deps, this.#via, this.#signal));
  }

  websocket(): { connector: TlsConnector; when: WebSocketWhen } {
    return this.#deps.connectors.websocket(this.#profile);
  }

  /** Another upstream connection (an own property: the dispatcher calls it unbound). */
  readonly open = (opts?: OpenOptions): Promise<OpenedUpstream> => openUpstream(this, undefined, opts);
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
  input.closeables.push(accepted.channel);
  rec.clientAlpn = accepted.info.alpn;

  const upDeps = new TunnelUpstreams(input);
  const upstreamStarted = performance.now();
  const first = await withAbort(openUpstream(upDeps, input.upstream), signal, stopping);
  rec.upstreamHandshakeMs = performance.now() - upstreamStarted;
  input.closeables.push(first.channel);
  rec.upstreamAlpn = first.info.alpn;
  rec.upstreamVersion = first.info.version;
  rec.upstreamCipher = first.info.cipher;
  rec.resumed = first.info.resumed;

  // Returned, not awaited: this call's scope (handshake results, the input) is then not kept for
  // the tunnel's lifetime, only what the callback needs (the record).
  return serveHttpTunnel({
    client: accepted.channel,
    target,
    authority: browserAuthority(target),
    http: input.profile.http,
    keepClient: deps.http.keepClient,
    first,
    open: upDeps.open,
    limits: requestLimits(deps.http.maxRequestHeadBytes),
    maxConcurrentStreams: deps.http.maxConcurrentStreams,
    idleTimeoutMs: deps.idleTimeoutMs,
    ...(signal ? { signal } : {}),
  }).then(recorder(rec));
}

/** The request limits for a maximum head size: one shared object per value, not one per tunnel. */
const limitsByHeadBytes = new Map<number, RequestLimits>();

function requestLimits(maxHeadBytes: number): RequestLimits {
  let limits = limitsByHeadBytes.get(maxHeadBytes);
  if (limits === undefined) {
    limits = Object.freeze({ ...DEFAULT_REQUEST_LIMITS, maxHeadBytes });
    limitsByHeadBytes.set(maxHeadBytes, limits);
  }
  return limits;
}

/** A callback that copies a finished tunnel's HTTP facts into `rec` and throws what failed. */
function recorder(rec: TunnelRecord): (r: HttpTunnelResult) => void {
  return (r) => {
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
  };
}
