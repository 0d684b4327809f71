/**
 * The HTTP mode of a MITM tunnel, after both TLS handshakes: sniff what the client speaks, serve
 * it as HTTP/2 or HTTP/1.1 with every request re-originated as the profile's browser
 * (TunnelDispatcher), or relay the bytes when it is not HTTP. Bounded by the idle timeout and
 * the proxy's stop signal. Tells its owner once the client side is gone, with the tunnel's HTTP
 * facts.
 */
import { ProxyError } from "../../errors/proxy-error.ts";
import type { ProfileHttp } from "../../profiles/http-types.ts";
import type { Authority } from "../../proxy/authority.ts";
import type { Drainable, DrainSet } from "../../proxy/drain-set.ts";
import { type ByteCount, channelEndpoint, type Endpoint } from "../../proxy/endpoint.ts";
import { type RelayResult, relay } from "../../proxy/relay.ts";
import type { SecureChannel } from "../../proxy/secure-channel.ts";
import { headTimeout, type IdleOwner, type IdleWatch, idleWatch, watchIdle } from "../../proxy/timeout.ts";
import type { RequestLimits } from "../h1/request-head.ts";
import { type ClientH1Options, serveClientH1 } from "./client-h1.ts";
import { type ClientH2Options, serveClientH2 } from "./client-h2.ts";
import { TunnelDispatcher } from "./dispatcher.ts";
import { type ExchangeErrors, noteExchangeError } from "./exchange-errors.ts";
import { CLIENT_LINGER_MS, destroyAfterLinger } from "./linger.ts";
import type { Dispatcher } from "./message.ts";
import { ProfileRouter, type ProfileRouterDeps, type ProfileUpstreams } from "./profile-router.ts";
import { HoldingEndpoint, type Sniffed, sniff } from "./sniff.ts";
import type { OpenedUpstream, OpenOptions, UpstreamProtocol } from "./upstream-open.ts";

export interface HttpTunnelOptions {
  client: SecureChannel;
  target: Authority;
  /** `host[:port]` the browser would write for the target (port only when not 443). */
  authority: string;
  http: ProfileHttp;
  /** The tunnel's profile (canonical name). */
  profileName: string;
  keepClient: ReadonlySet<string> | "all";
  /**
   * The client negotiated `h2` (ALPN): its first bytes must be the connection preface, which the
   * HTTP/2 side checks (RFC 9113 §3.4: anything else is a connection error, not HTTP/1.1 or bytes
   * to relay).
   */
  clientAlpnH2: boolean;
  /**
   * Opens another upstream connection, and another profile's for a request that names one
   * (methods: no closure per tunnel; `profile` throws UNKNOWN_PROFILE).
   */
  upstreams: {
    open(opts?: OpenOptions): Promise<OpenedUpstream>;
    profile(name: string): ProfileUpstreams;
    readonly websocketOverH2?: boolean;
  };
  limits: RequestLimits;
  maxConcurrentStreams: number;
  /** See ClientH1Options.headTimeoutMs. */
  headTimeoutMs?: number;
  /** See TunnelDispatcherDeps.responseTimeoutMs. */
  responseTimeoutMs?: number;
  idleTimeoutMs: number;
  signal?: AbortSignal;
  /** Where the client side is asked to finish when the proxy's drain begins. */
  drains?: DrainSet;
}

export interface HttpTunnelResult {
  /** What the client spoke: `h2`, `h1`, or `relay` (not HTTP: bytes relayed). */
  protocol: "h2" | "h1" | "relay";
  /** Upstream protocols used (h2, http/1.1), in first-use order. */
  upstream: string[];
  /** Profiles requests named besides the tunnel's (X-PolyTLS-Upstream-Profile), in first-use order. */
  otherProfiles: string[] | null;
  requests: number;
  /** Final statuses by code; "0" = reset or truncated after the head. */
  statuses: Record<string, number>;
  /**
   * Exchanges the proxy answered with an error of its own (before any response head) or reset
   * while the connection went on (HTTP/2 streams), by error code, and the last one's reason; null
   * when none (an HTTP/1.1 failure after the head ends the tunnel: its `error`).
   */
  exchangeErrors: ExchangeErrors | null;
  error: ProxyError | null;
  relay: RelayResult | null;
  /** Plaintext bytes from the client and to it. */
  bytesFromClient: number;
  bytesToClient: number;
}

/** Who hears, once, that an HTTP tunnel ended (a method on the tunnel's owner, not a callback). */
export interface HttpTunnelOwner {
  /** Called in a microtask after the client side is gone (as a promise reaction would be). */
  httpEnded(result: HttpTunnelResult): void;
}

/**
 * Serves the tunnel until the client side is gone, then tells `owner`. Nothing is awaited: an
 * idle tunnel keeps its HttpTunnel and what hangs off it, no pending promise.
 */
export function startHttpTunnel(
  opts: HttpTunnelOptions,
  first: OpenedUpstream,
  owner: HttpTunnelOwner,
): void {
  new HttpTunnel(opts, first, owner).start();
}

/** The upstream protocols used, in first-use order (at most the two an origin can choose). */
function upstreamList(a: string | null, b: string | null): string[] {
  return a === null ? [] : b === null ? [a] : [a, b];
}

/** The client side of a tunnel (HTTP/1.1 or HTTP/2) as the tunnel drives it. */
interface ClientSide {
  close(): void;
  /** Finish what was taken, then end; at once when quiet. */
  drain(): void;
  /** Between requests: nothing begun, nothing owed. */
  readonly quiet: boolean;
}

/**
 * One tunnel's state. Methods rather than closures, so that an idle tunnel keeps only what it
 * still needs (the sniffing callbacks go once the client side starts). The tunnel is itself the
 * options object of its dispatcher and client side, its idle watch's owner, its abort signal's
 * listener (`handleEvent`) and its client byte count: no per-tunnel callbacks or option objects.
 */
class HttpTunnel
  implements ProfileRouterDeps, ClientH2Options, ClientH1Options, IdleOwner, ByteCount, Drainable
{
  readonly target: Authority;
  readonly authority: string;
  readonly http: ProfileHttp;
  readonly profileName: string;
  readonly keepClient: ReadonlySet<string> | "all";
  readonly #clientAlpnH2: boolean;
  readonly limits: RequestLimits;
  readonly headTimeoutMs?: number;
  readonly responseTimeoutMs?: number;
  readonly maxConcurrentStreams: number;
  /** Plaintext bytes from the client (`in`) and to it (`out`): ByteCount of the client endpoint. */
  in = 0;
  out = 0;
  readonly #client: SecureChannel;
  readonly #upstreams: HttpTunnelOptions["upstreams"];
  readonly #signal: AbortSignal | undefined;
  readonly #drains: DrainSet | undefined;
  /** Told once when the tunnel ends; null from then on. */
  #owner: HttpTunnelOwner | null;
  /** The first upstream connection, until the dispatcher (or the relay) takes it. */
  #first: OpenedUpstream | null;
  readonly #idle: IdleWatch;
  /** What the client speaks, once sniffed (null: not decided yet). */
  #protocol: HttpTunnelResult["protocol"] | null = null;
  /** Upstream protocols used, in first-use order (no array kept per tunnel). */
  #upstream1: UpstreamProtocol | null = null;
  #upstream2: UpstreamProtocol | null = null;
  /**
   * Final statuses by code: the first code seen and its count in fields, others in an object
   * made when a second code comes (an idle tunnel has usually seen one; integer keys would also
   * need the object's indexed storage).
   */
  #status = -1;
  #statusCount = 0;
  #otherStatuses: Record<string, number> | null = null;
  /** Made on the first exchange the proxy reset (see HttpTunnelResult.exchangeErrors). */
  #exchangeErrors: HttpTunnelResult["exchangeErrors"] = null;
  #error: ProxyError | null = null;
  #relay: RelayResult | null = null;
  #dispatcher: ProfileRouter | null = null;
  #clientSide: ClientSide | null = null;
  /** The first upstream connection, watched while sniffing when it may speak first. */
  #upHolding: HoldingEndpoint | null = null;
  /** The first head's deadline while its first bytes do not tell the protocol yet. */
  #sniffWatch: IdleWatch | null = null;

  constructor(opts: HttpTunnelOptions, first: OpenedUpstream, owner: HttpTunnelOwner) {
    this.target = opts.target;
    this.authority = opts.authority;
    this.http = opts.http;
    this.profileName = opts.profileName;
    this.keepClient = opts.keepClient;
    this.#clientAlpnH2 = opts.clientAlpnH2;
    this.limits = opts.limits;
    if (opts.headTimeoutMs !== undefined) this.headTimeoutMs = opts.headTimeoutMs;
    if (opts.responseTimeoutMs !== undefined) this.responseTimeoutMs = opts.responseTimeoutMs;
    this.maxConcurrentStreams = opts.maxConcurrentStreams;
    this.#client = opts.client;
    this.#upstreams = opts.upstreams;
    this.#signal = opts.signal;
    this.#drains = opts.drains;
    this.#owner = owner;
    this.#first = first;
    this.#idle = watchIdle(opts.idleTimeoutMs, this);
  }

  /** Starts serving; a throw on the way aborts the tunnel (the owner is told once, as always). */
  start(): void {
    try {
      this.#start();
    } catch (err) {
      this.#abort(ProxyError.wrap(err, "INTERNAL"));
    }
  }

  #start(): void {
    const signal = this.#signal;
    if (signal?.aborted) {
      this.handleEvent();
      return;
    }
    signal?.addEventListener("abort", this, { once: true });

    const clientEp = channelEndpoint(this.#client, { activity: this.#idle, count: this });
    // Callbacks may run inside the constructor (bytes already decrypted): they use `ep`.
    const clientHolding = new HoldingEndpoint(
      clientEp,
      (ep) => {
        const s = this.#clientAlpnH2 ? "h2" : sniff(ep.held());
        if (s !== "incomplete") this.#decide(ep, s);
        else this.#watchFirstHead();
      },
      // The client left (or failed) before saying anything: the relay reports how.
      (ep) => this.#decide(ep, "other"),
    );
    // A server-speaks-first protocol (an SMTP-like banner over TLS without ALPN or with
    // http/1.1): its bytes before the client said anything mean this is not HTTP; relay at once.
    // An h2 origin always speaks first (SETTINGS), so an h2 connection is not watched.
    const first = this.#first;
    if (this.#protocol === null && first !== null && first.protocol !== "h2") {
      this.#upHolding = new HoldingEndpoint(
        this.endpoint(first.channel),
        () => this.#decide(clientHolding, "other"),
        () => {}, // gone before the client spoke: the HTTP side (or the relay) reports it
      );
    }
  }

  // IdleOwner and the abort signal's listener

  onIdle(ms: number): void {
    // A keep-alive connection between requests is closed as a server closes one (HTTP/2 GOAWAY,
    // then the end; a normal end in the record): a reset is for what the timeout cuts short.
    // Once asked, a side is no longer quiet: a second timeout finds it so and resets it.
    const side = this.#clientSide;
    if (side?.quiet === true) {
      this.#closeQuiet(side);
      return;
    }
    this.#abort(new ProxyError("IDLE_TIMEOUT", `no byte either way for ${ms} ms`));
  }

  /**
   * Ends a client connection that is between requests (close_notify and FIN, or GOAWAY first),
   * then closes it after a short linger whether or not the client closed its side: a pooled
   * connection the client does not read (urllib3, requests) would otherwise hold its tunnel, and
   * its slot, for as long as the client lives. Nothing was owed, so nothing is cut.
   */
  #closeQuiet(side: ClientSide): void {
    side.drain();
    destroyAfterLinger(this.#client, CLIENT_LINGER_MS);
  }

  handleEvent(): void {
    this.#abort(new ProxyError("SHUTDOWN", "the proxy is stopping"));
  }

  /** Drainable: the proxy's drain began; the client side finishes what it took, then ends. */
  drain(): void {
    const side = this.#clientSide;
    if (side?.quiet === true) this.#closeQuiet(side);
    else side?.drain();
  }

  // TunnelDispatcherDeps

  open(opts?: OpenOptions): Promise<OpenedUpstream> {
    return this.#upstreams.open(opts);
  }

  profile(name: string): ProfileUpstreams {
    return this.#upstreams.profile(name);
  }

  /** The Endpoint over an upstream channel: truncation rule and the idle watch. */
  endpoint(ch: SecureChannel): Endpoint {
    return channelEndpoint(ch, { truncation: "UPSTREAM_TRUNCATED", activity: this.#idle });
  }

  /** An origin answers `h2` or `http/1.1`: two fields hold every order they can come in. */
  onUpstream(protocol: UpstreamProtocol): void {
    if (this.#upstream1 === null) this.#upstream1 = protocol;
    else if (this.#upstream1 !== protocol && this.#upstream2 === null) this.#upstream2 = protocol;
  }

  // ClientH2Options and ClientH1Options

  get dispatcher(): Dispatcher {
    return this.#dispatcher as ProfileRouter;
  }

  get websocketOverH2(): boolean | undefined {
    return this.#upstreams.websocketOverH2;
  }

  get maxHeaderListSize(): number {
    return this.limits.maxHeadBytes;
  }

  onExchange(status: number, failure?: ProxyError | null): void {
    if (failure) this.#exchangeErrors = noteExchangeError(this.#exchangeErrors, failure);
    if (this.#status === -1 || this.#status === status) {
      this.#status = status;
      this.#statusCount += 1;
      return;
    }
    const key = String(status);
    this.#otherStatuses ??= {};
    this.#otherStatuses[key] = (this.#otherStatuses[key] ?? 0) + 1;
  }

  onClose(err: ProxyError | null): void {
    this.#finish(err);
  }

  #finish(err: ProxyError | null): void {
    const owner = this.#owner;
    if (owner === null) return;
    this.#owner = null;
    this.#error ??= err;
    const bytesFromClient = this.in;
    const bytesToClient = this.out;
    this.#idle.stop();
    this.#sniffWatch?.stop();
    this.#signal?.removeEventListener("abort", this);
    this.#drains?.delete(this);
    this.#dispatcher?.close();
    // As a promise's reaction would: after whatever called this has unwound, with the counts
    // of exchanges that ended meanwhile.
    queueMicrotask(() => owner.httpEnded(this.#result(bytesFromClient, bytesToClient)));
  }

  #result(bytesFromClient: number, bytesToClient: number): HttpTunnelResult {
    const statuses: Record<string, number> = { ...this.#otherStatuses };
    let requests = 0;
    for (const k in statuses) requests += statuses[k] as number;
    if (this.#status !== -1) statuses[String(this.#status)] = this.#statusCount;
    return {
      protocol: this.#protocol ?? "relay",
      upstream: upstreamList(this.#upstream1, this.#upstream2),
      otherProfiles: this.#dispatcher?.otherProfiles ?? null,
      // One status per exchange: the counts add up to the requests.
      requests: requests + this.#statusCount,
      statuses,
      exchangeErrors: this.#exchangeErrors,
      error: this.#error,
      relay: this.#relay,
      bytesFromClient,
      bytesToClient,
    };
  }

  #abort(err: ProxyError): void {
    this.#error ??= err;
    // The reset first: closing the client side first would end the connection with a FIN, which a
    // client may take for a complete response (Node's HTTP/2 client does).
    this.#client.reset();
    this.#clientSide?.close();
    this.#dispatcher?.close();
    this.#finish(err);
  }

  /**
   * A client trickling the first bytes of its first request is timed from its first byte, as the
   * HTTP sides time every head once they have it (`headTimeoutMs`).
   */
  #watchFirstHead(): void {
    const ms = this.headTimeoutMs;
    if (ms === undefined || this.#sniffWatch !== null || this.#owner === null) return;
    this.#sniffWatch = idleWatch(ms, () => {
      this.#sniffWatch = null;
      if (this.#protocol !== null) return;
      this.#abort(headTimeout(ms));
    });
  }

  #decide(ep: HoldingEndpoint, kind: Sniffed): void {
    this.#sniffWatch?.stop();
    this.#sniffWatch = null;
    if (this.#protocol !== null) return;
    this.#protocol = kind === "other" ? "relay" : kind;
    ep.pause();
    queueMicrotask(() => {
      try {
        if (kind === "other") this.#startRelay(ep);
        else this.#startHttp(ep, kind);
      } catch (err) {
        this.#abort(ProxyError.wrap(err, "INTERNAL")); // as in start(): the tunnel, not the process
      }
    });
  }

  #startRelay(holding: HoldingEndpoint): void {
    const up = this.#upHolding ?? this.endpoint((this.#first as OpenedUpstream).channel);
    this.#first = null;
    void relay(holding, up, {}).then((r) => {
      this.#relay = r;
      this.#finish(r.error);
    });
  }

  #startHttp(holding: HoldingEndpoint, kind: "h2" | "h1"): void {
    const upHolding = this.#upHolding;
    this.#upHolding = null;
    const first = this.#first as OpenedUpstream;
    this.#first = null;
    this.#dispatcher = new ProfileRouter(this, new TunnelDispatcher(this, first, upHolding ?? undefined));
    this.#clientSide = kind === "h2" ? serveClientH2(holding, this) : serveClientH1(holding, this);
    if (this.#owner !== null) this.#drains?.add(this); // (a client side may end as it starts)
  }
}
