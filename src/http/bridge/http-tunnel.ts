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
import { idleWatch } from "../../proxy/timeout.ts";
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
    const result: HttpTunnelResult = {
      protocol: "relay",
      upstream: [],
      requests: 0,
      statuses: {},
      error: null,
      relay: null,
      bytesFromClient: 0,
      bytesToClient: 0,
    };
    const clientBytes = { in: 0, out: 0 };
    let done = false;
    let dispatcher: TunnelDispatcher | null = null;
    let clientSide: { close(): void } | null = null;
    const finish = (err: ProxyError | null) => {
      if (done) return;
      done = true;
      result.error ??= err;
      result.bytesFromClient = clientBytes.in;
      result.bytesToClient = clientBytes.out;
      idle.stop();
      opts.signal?.removeEventListener("abort", onAbort);
      dispatcher?.close();
      resolve(result);
    };
    const abort = (err: ProxyError) => {
      result.error ??= err;
      clientSide?.close();
      opts.client.reset();
      dispatcher?.close();
      finish(err);
    };
    const idle = idleWatch(opts.idleTimeoutMs, () =>
      abort(new ProxyError("IDLE_TIMEOUT", `no byte either way for ${opts.idleTimeoutMs} ms`)),
    );
    const onAbort = () => abort(new ProxyError("SHUTDOWN", "the proxy is stopping"));
    if (opts.signal?.aborted) return onAbort();
    opts.signal?.addEventListener("abort", onAbort, { once: true });

    const clientEp = channelEndpoint(opts.client, { activity: idle, count: clientBytes });
    const upstreamEndpoint = (ch: SecureChannel) =>
      channelEndpoint(ch, { truncation: "UPSTREAM_TRUNCATED", activity: idle });
    const upstreamEp = () => upstreamEndpoint(opts.first.channel);
    /** The first upstream connection, watched while sniffing when it may speak first. */
    let upHolding: HoldingEndpoint | null = null;
    let decided = false;
    // Callbacks may run inside the constructor (bytes already decrypted): they use `ep`.
    const decide = (ep: HoldingEndpoint, kind: Sniffed) => {
      if (decided) return;
      decided = true;
      ep.pause();
      queueMicrotask(() => (kind === "other" ? startRelay(ep) : startHttp(ep, kind)));
    };
    const clientHolding = new HoldingEndpoint(
      clientEp,
      (ep) => {
        const s = sniff(ep.held());
        if (s !== "incomplete") decide(ep, s);
      },
      // The client left (or failed) before saying anything: the relay reports how.
      (ep) => decide(ep, "other"),
    );
    // A server-speaks-first protocol (an SMTP-like banner over TLS without ALPN or with
    // http/1.1): its bytes before the client said anything mean this is not HTTP; relay at once.
    // An h2 origin always speaks first (SETTINGS), so an h2 connection is not watched.
    if (!decided && opts.first.protocol !== "h2") {
      upHolding = new HoldingEndpoint(
        upstreamEp(),
        () => decide(clientHolding, "other"),
        () => {}, // gone before the client spoke: the HTTP side (or the relay) reports it
      );
    }

    const startRelay = (holding: HoldingEndpoint) => {
      const up = upHolding ?? upstreamEp();
      void relay(holding, up, {}).then((r) => {
        result.relay = r;
        finish(r.error);
      });
    };

    const startHttp = (holding: HoldingEndpoint, kind: "h2" | "h1") => {
      result.protocol = kind;
      dispatcher = new TunnelDispatcher({
        http: opts.http,
        authority: opts.authority,
        keepClient: opts.keepClient,
        first: opts.first,
        ...(upHolding ? { firstEndpoint: upHolding } : {}),
        open: opts.open,
        endpoint: upstreamEndpoint,
        onUpstream: (p) => {
          if (!result.upstream.includes(p)) result.upstream.push(p);
        },
      });
      const onExchange = (status: number) => {
        result.requests += 1;
        const key = String(status);
        result.statuses[key] = (result.statuses[key] ?? 0) + 1;
      };
      const onClose = (err: ProxyError | null) => finish(err);
      clientSide =
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
    };
  });
}
