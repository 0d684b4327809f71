/**
 * The HTTP mode of a MITM tunnel, after both TLS handshakes: sniff what the client speaks, serve
 * it as HTTP/2 or HTTP/1.1 with every request re-originated as the profile's browser
 * (TunnelDispatcher), or relay the bytes when it is not HTTP. Bounded by the idle timeout and
 * the proxy's stop signal. Resolves once the client side is gone, with the tunnel's HTTP facts.
 */
import { ProxyError } from "../../errors/proxy-error.ts";
import type { ProfileHttp } from "../../profiles/http-types.ts";
import type { Authority } from "../../proxy/authority.ts";
import { channelEndpoint } from "../../proxy/endpoint.ts";
import { type RelayResult, relay } from "../../proxy/relay.ts";
import type { SecureChannel } from "../../proxy/secure-channel.ts";
import { type IdleWatch, idleWatch } from "../../proxy/timeout.ts";
import type { RequestLimits } from "../h1/request-head.ts";
import { serveClientH1 } from "./client-h1.ts";
import { serveClientH2 } from "./client-h2.ts";
import { TunnelDispatcher } from "./dispatcher.ts";
import { HoldingEndpoint, type Sniffed, sniff } from "./sniff.ts";
import type { OpenedUpstream, OpenOptions } from "./upstream-open.ts";

export interface HttpTunnelOptions {
  client: SecureChannel;
  target: Authority;
  /** `host[:port]` the browser would write for the target (port only when not 443). */
  authority: string;
  http: ProfileHttp;
  keepClient: ReadonlySet<string> | "all";
  first: OpenedUpstream;
  open(opts?: OpenOptions): Promise<OpenedUpstream>;
  limits: RequestLimits;
  maxConcurrentStreams: number;
  idleTimeoutMs: number;
  signal?: AbortSignal;
}

export interface HttpTunnelResult {
  /** What the client spoke: `h2`, `h1`, or `relay` (not HTTP: bytes relayed). */
  protocol: "h2" | "h1" | "relay";
  /** Upstream protocols used (h2, http/1.1), in first-use order. */
  upstream: string[];
  requests: number;
  /** Final statuses by code; "0" = reset or truncated after the head. */
  statuses: Record<string, number>;
  error: ProxyError | null;
  relay: RelayResult | null;
  /** Plaintext bytes from the client and to it. */
  bytesFromClient: number;
  bytesToClient: number;
}

export function serveHttpTunnel(opts: HttpTunnelOptions): Promise<HttpTunnelResult> {
  return new Promise((resolve) => {
    new HttpTunnel(opts, resolve).start();
  });
}

/**
 * One tunnel's state. Methods rather than closures, so that an idle tunnel keeps only what it
 * still needs (the sniffing callbacks go once the client side starts).
 */
class HttpTunnel {
  readonly #opts: HttpTunnelOptions;
  readonly #resolve: (r: HttpTunnelResult) => void;
  readonly #result: HttpTunnelResult = {
    protocol: "relay",
    upstream: [],
    requests: 0,
    statuses: {},
    error: null,
    relay: null,
    bytesFromClient: 0,
    bytesToClient: 0,
  };
  readonly #clientBytes = { in: 0, out: 0 };
  readonly #idle: IdleWatch;
  #done = false;
  #dispatcher: TunnelDispatcher | null = null;
  #clientSide: { close(): void } | null = null;
  /** The first upstream connection, watched while sniffing when it may speak first. */
  #upHolding: HoldingEndpoint | null = null;
  #decided = false;

  constructor(opts: HttpTunnelOptions, resolve: (r: HttpTunnelResult) => void) {
    this.#opts = opts;
    this.#resolve = resolve;
    this.#idle = idleWatch(opts.idleTimeoutMs, this.#onIdle);
  }

  start(): void {
    const opts = this.#opts;
    if (opts.signal?.aborted) {
      this.#onAbort();
      return;
    }
    opts.signal?.addEventListener("abort", this.#onAbort, { once: true });

    const clientEp = channelEndpoint(opts.client, { activity: this.#idle, count: this.#clientBytes });
    // Callbacks may run inside the constructor (bytes already decrypted): they use `ep`.
    const clientHolding = new HoldingEndpoint(
      clientEp,
      (ep) => {
        const s = sniff(ep.held());
        if (s !== "incomplete") this.#decide(ep, s);
      },
      // The client left (or failed) before saying anything: the relay reports how.
      (ep) => this.#decide(ep, "other"),
    );
    // A server-speaks-first protocol (an SMTP-like banner over TLS without ALPN or with
    // http/1.1): its bytes before the client said anything mean this is not HTTP; relay at once.
    // An h2 origin always speaks first (SETTINGS), so an h2 connection is not watched.
    if (!this.#decided && opts.first.protocol !== "h2") {
      this.#upHolding = new HoldingEndpoint(
        this.#upstreamEndpoint(opts.first.channel),
        () => this.#decide(clientHolding, "other"),
        () => {}, // gone before the client spoke: the HTTP side (or the relay) reports it
      );
    }
  }

  readonly #onIdle = (): void =>
    this.#abort(new ProxyError("IDLE_TIMEOUT", `no byte either way for ${this.#opts.idleTimeoutMs} ms`));

  readonly #onAbort = (): void => this.#abort(new ProxyError("SHUTDOWN", "the proxy is stopping"));

  /** The Endpoint over an upstream channel: truncation rule and the idle watch. */
  readonly #upstreamEndpoint = (ch: SecureChannel) =>
    channelEndpoint(ch, { truncation: "UPSTREAM_TRUNCATED", activity: this.#idle });

  #finish(err: ProxyError | null): void {
    if (this.#done) return;
    this.#done = true;
    const result = this.#result;
    result.error ??= err;
    result.bytesFromClient = this.#clientBytes.in;
    result.bytesToClient = this.#clientBytes.out;
    this.#idle.stop();
    this.#opts.signal?.removeEventListener("abort", this.#onAbort);
    this.#dispatcher?.close();
    this.#resolve(result);
  }

  #abort(err: ProxyError): void {
    this.#result.error ??= err;
    this.#clientSide?.close();
    this.#opts.client.reset();
    this.#dispatcher?.close();
    this.#finish(err);
  }

  #decide(ep: HoldingEndpoint, kind: Sniffed): void {
    if (this.#decided) return;
    this.#decided = true;
    ep.pause();
    queueMicrotask(() => (kind === "other" ? this.#startRelay(ep) : this.#startHttp(ep, kind)));
  }

  #startRelay(holding: HoldingEndpoint): void {
    const up = this.#upHolding ?? this.#upstreamEndpoint(this.#opts.first.channel);
    void relay(holding, up, {}).then((r) => {
      this.#result.relay = r;
      this.#finish(r.error);
    });
  }

  #startHttp(holding: HoldingEndpoint, kind: "h2" | "h1"): void {
    const opts = this.#opts;
    const result = this.#result;
    result.protocol = kind;
    const upHolding = this.#upHolding;
    this.#upHolding = null;
    const dispatcher = new TunnelDispatcher({
      http: opts.http,
      authority: opts.authority,
      keepClient: opts.keepClient,
      first: opts.first,
      ...(upHolding ? { firstEndpoint: upHolding } : {}),
      open: opts.open,
      endpoint: this.#upstreamEndpoint,
      onUpstream: (p) => {
        if (!result.upstream.includes(p)) result.upstream.push(p);
      },
    });
    this.#dispatcher = dispatcher;
    const onExchange = (status: number) => {
      result.requests += 1;
      const key = String(status);
      result.statuses[key] = (result.statuses[key] ?? 0) + 1;
    };
    const onClose = (err: ProxyError | null) => this.#finish(err);
    this.#clientSide =
      kind === "h2"
        ? serveClientH2(holding, {
            target: opts.target,
            dispatcher,
            maxConcurrentStreams: opts.maxConcurrentStreams,
            maxHeaderListSize: opts.limits.maxHeadBytes,
            onExchange,
            onClose,
          })
        : serveClientH1(holding, {
            target: opts.target,
            dispatcher,
            limits: opts.limits,
            onExchange,
            onClose,
          });
  }
}
