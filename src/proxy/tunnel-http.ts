/**
 * Steps 9-11 of a MITM tunnel in the full HTTP mode (`proxy.mitm.http = "full"`), once the client
 * has its TLS (tunnel.ts offered it `h2` and `http/1.1` whatever the profile): the upstream always
 * gets the profile's ClientHello (full ALPN list and ALPS), and every request in between is
 * re-originated as the browser by src/http/bridge/. Fills the tunnel record and throws what failed
 * up to the hand-over to the HTTP layer; what happens after reaches the tunnel's owner
 * (`recordHttp` reads it).
 */
import { ProxyError } from "../errors/proxy-error.ts";
import { type HttpTunnelOwner, type HttpTunnelResult, startHttpTunnel } from "../http/bridge/http-tunnel.ts";
import type { ProfileUpstreams } from "../http/bridge/profile-router.ts";
import {
  type OpenedUpstream,
  type OpenOptions,
  openUpstream,
  type UpstreamOpenDeps,
} from "../http/bridge/upstream-open.ts";
import { DEFAULT_REQUEST_LIMITS, type RequestLimits } from "../http/h1/request-head.ts";
import type { TunnelRecord } from "../log/tunnel-record.ts";
import type { ProfileHttp } from "../profiles/http-types.ts";
import type { WebSocketWhen } from "../profiles/websocket.ts";
import type { TlsConnector, VerifyPolicy } from "../upstream/engine.ts";
import { SessionCache } from "../upstream/session-cache.ts";
import type { Authority } from "./authority.ts";
import type { ByteSocket as Socket } from "./byte-socket.ts";
import { dial, tunnelDialOptions } from "./dial.ts";
import type { NextHopRoute } from "./next-hop.ts";
import type { SecureChannel } from "./secure-channel.ts";
import { withAbort } from "./timeout.ts";
import { endedNormally, stopping, type TunnelDeps } from "./tunnel.ts";

/** What the client-facing TLS offers in the HTTP mode, in the proxy's order of preference. */
export const CLIENT_HTTP_ALPN = ["h2", "http/1.1"];

/** `host[:port]` as a browser writes it in Host / :authority: the port only when not 443. */
export function browserAuthority(target: Authority): string {
  const host = target.kind === "ipv6" ? `[${target.host}]` : target.host;
  return target.port === 443 ? host : `${host}:${target.port}`;
}

/** The channels a tunnel destroys when it fails: the client-facing one and the first upstream one. */
export interface TunnelChannels {
  clientChannel: { destroy(): void } | null;
  upstreamChannel: { destroy(): void } | null;
}

export interface HttpMitmInput {
  /** The client-facing TLS, handshake done (offered CLIENT_HTTP_ALPN). */
  client: SecureChannel;
  upstream: Socket;
  target: Authority;
  profile: { name: string; connector: TlsConnector; http: ProfileHttp };
  deps: TunnelDeps;
  signal: AbortSignal | undefined;
  rec: TunnelRecord;
  /** The tunnel's next hop (null = direct): later upstream connections go the same way. */
  via: NextHopRoute | null;
  /** Where the channels go that the tunnel must destroy if it fails (fields, not a callback). */
  channels: TunnelChannels;
  /** Told when the HTTP tunnel ends (after runHttpMitm resolved): fill `rec` with recordHttp. */
  owner: HttpTunnelOwner;
}

/**
 * How the tunnel opens upstream connections (the first one and later ones), as one object with
 * its methods on the prototype: it lives as long as the tunnel, so it keeps only the fields it
 * needs (what the deps hold is read through getters), not runHttpMitm's scope or one closure per
 * operation. It is also the tunnel's session-cache slot (`get`, `set`, `drop`), its key made
 * when used: no slot object or key string per tunnel.
 */
class TunnelUpstreams implements UpstreamOpenDeps, ProfileUpstreams {
  readonly connector: TlsConnector;
  readonly name: string;
  readonly http: ProfileHttp;
  readonly #target: Authority;
  readonly #deps: TunnelDeps;
  readonly #via: NextHopRoute | null;
  readonly #signal: AbortSignal | undefined;

  constructor(
    profile: HttpMitmInput["profile"],
    at: Pick<HttpMitmInput, "target" | "deps" | "via" | "signal">,
  ) {
    this.connector = profile.connector;
    this.name = profile.name;
    this.http = profile.http;
    this.#target = at.target;
    this.#deps = at.deps;
    this.#via = at.via;
    this.#signal = at.signal;
  }

  /**
   * Another profile's connections to the same origin, the same way (next hop, guards, session
   * cache under that profile's name); throws UNKNOWN_PROFILE.
   */
  profile(nameOrAlias: string): TunnelUpstreams {
    const connectors = this.#deps.connectors;
    const { name, connector } = connectors.get(nameOrAlias);
    const http = connectors.http(name);
    if (http === null) throw new ProxyError("UNKNOWN_PROFILE", `profile "${name}" has no HTTP layer`);
    const at = { target: this.#target, deps: this.#deps, via: this.#via, signal: this.#signal };
    return new TunnelUpstreams({ name, connector, http }, at);
  }

  get host(): string {
    return this.#target.host;
  }

  get verify(): VerifyPolicy {
    return this.#deps.verify;
  }

  get handshakeTimeoutMs(): number {
    return this.#deps.upstreamHandshakeTimeoutMs;
  }

  get session(): UpstreamOpenDeps["session"] {
    return this;
  }

  get(): Uint8Array | null {
    return this.#deps.sessions.get(this.#key());
  }

  set(session: Uint8Array): void {
    this.#deps.sessions.set(this.#key(), session);
  }

  drop(offered: Uint8Array | null): void {
    this.#deps.sessions.drop(this.#key(), offered);
  }

  #key(): string {
    return SessionCache.key(this.name, this.#target.host, this.#target.port);
  }

  dial(): Promise<Socket> {
    return dial(this.#target, tunnelDialOptions(this.#deps, this.#via, this.#signal));
  }

  websocket(): { connector: TlsConnector; when: WebSocketWhen } {
    return this.#deps.connectors.websocket(this.name);
  }

  get websocketOverH2(): boolean {
    return this.#deps.connectors.websocketOverH2(this.name);
  }

  /** Another upstream connection. */
  open(opts?: OpenOptions): Promise<OpenedUpstream> {
    return openUpstream(this, undefined, opts);
  }
}

/**
 * Steps 9-10, then hands the tunnel to the HTTP layer: resolves once it runs (a rejection is a
 * failure of steps 9-10); `input.owner` hears when it ends. Nothing is left pending meanwhile.
 */
export async function runHttpMitm(input: HttpMitmInput): Promise<void> {
  const { deps, target, rec, signal } = input;
  const upDeps = new TunnelUpstreams(input.profile, input);
  const upstreamStarted = performance.now();
  const first = await withAbort(openUpstream(upDeps, input.upstream), signal, stopping);
  rec.upstreamHandshakeMs = performance.now() - upstreamStarted;
  input.channels.upstreamChannel = first.channel;
  rec.upstreamAlpn = first.info.alpn;
  rec.upstreamVersion = first.info.version;
  rec.upstreamCipher = first.info.cipher;
  rec.resumed = first.info.resumed;

  startHttpTunnel(
    {
      client: input.client,
      target,
      authority: browserAuthority(target),
      http: input.profile.http,
      profileName: input.profile.name,
      keepClient: deps.http.keepClient,
      clientAlpnH2: rec.clientAlpn === "h2",
      upstreams: upDeps,
      limits: requestLimits(deps.http.maxRequestHeadBytes),
      maxConcurrentStreams: deps.http.maxConcurrentStreams,
      ...(deps.http.headTimeoutMs !== undefined ? { headTimeoutMs: deps.http.headTimeoutMs } : {}),
      ...(deps.http.responseTimeoutMs !== undefined
        ? { responseTimeoutMs: deps.http.responseTimeoutMs }
        : {}),
      idleTimeoutMs: deps.idleTimeoutMs,
      ...(signal ? { signal } : {}),
      ...(deps.drains ? { drains: deps.drains } : {}),
    },
    first,
    input.owner,
  );
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

/** Copies a finished tunnel's HTTP facts into `rec`; returns what failed (null: it ended normally). */
export function recordHttp(rec: TunnelRecord, r: HttpTunnelResult): ProxyError | null {
  rec.http = r.protocol;
  rec.upstreamHttp = r.upstream;
  if (r.otherProfiles !== null) rec.otherProfiles = r.otherProfiles;
  rec.requests = r.requests;
  rec.statuses = r.statuses;
  if (r.exchangeErrors !== null) {
    rec.exchangeErrors = r.exchangeErrors.codes;
    rec.exchangeReason = r.exchangeErrors.lastReason;
  }
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
  return failed ?? null;
}
