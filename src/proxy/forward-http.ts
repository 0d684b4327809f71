/**
 * Plain HTTP proxying: a client connection whose first request is absolute-form
 * (`GET http://host/path HTTP/1.1`). The listener hands over the socket and the bytes read so far;
 * the strict HTTP/1.1 client side (src/http/bridge/client-h1.ts: keep-alive, pipelining, smuggling
 * forms refused, responses in order with backpressure) reads every request, ForwardDispatcher
 * checks and routes each one and re-originates it as the profile's browser over plain TCP.
 *
 * Bounds: the first head must be complete within the header timeout (408 otherwise); the
 * connection closes after the idle timeout without a byte either way (quietly when no exchange is
 * in progress, else reset as IDLE_TIMEOUT); the proxy's stop signal resets it (SHUTDOWN). An
 * upstream failure after a response head reaches the client as a reset without the final chunk,
 * never as a clean end. One `tunnel closed` record (mode `forward`) is logged per connection.
 */
import { ProxyError } from "../errors/proxy-error.ts";
import { errorResponse } from "../errors/wire.ts";
import { serveClientH1 } from "../http/bridge/client-h1.ts";
import { type ExchangeErrors, noteExchangeError } from "../http/bridge/exchange-errors.ts";
import { CLIENT_LINGER_MS, destroyAfterLinger } from "../http/bridge/linger.ts";
import { DEFAULT_REQUEST_LIMITS } from "../http/h1/request-head.ts";
import { logTunnel, openTunnelRecord, type TunnelRecord } from "../log/tunnel-record.ts";
import type { AccessPolicy } from "./access.ts";
import { type Authority, formatAuthority, parseAuthority } from "./authority.ts";
import type { ByteSocket as Socket } from "./byte-socket.ts";
import type { ForwardStart } from "./connect-parser.ts";
import type { Drainable } from "./drain-set.ts";
import { type Endpoint, socketEndpoint } from "./endpoint.ts";
import { ForwardDispatcher, type ForwardDispatcherDeps } from "./forward-http-dispatcher.ts";
import { idleWatch } from "./timeout.ts";
import type { TunnelDeps } from "./tunnel.ts";

/** A client that got a local error answer and closes nothing is dropped this long after it, ms. */
const ERROR_LINGER_MS = 1_000;
/** serveClientH1 wants a tunnel target; the `route` hook replaces its only use. */
const NO_TUNNEL_TARGET = parseAuthority("forward.invalid:80");

export interface ForwardOptions {
  socket: Socket;
  start: ForwardStart;
  /** The listener's tunnel deps (own addresses set, users already taken out of `access`). */
  deps: TunnelDeps;
  /** The access policy with its users, for the profile a user name carries. */
  access: AccessPolicy;
  /** The listener's brake and credential check, per request. */
  authenticate(proxyAuthorization: string | null): void;
  headerTimeoutMs: number;
  signal?: AbortSignal;
}

/** What serving a plain-HTTP client connection needs (the forward proxy's, or a plaintext tunnel's). */
export interface ForwardServeOptions {
  socket: Socket;
  /** Bytes already read from the client. */
  prefix: Uint8Array;
  deps: TunnelDeps;
  /** The dispatcher's per-connection parts: access, authentication, routing, a spare connection. */
  dispatcher: Pick<ForwardDispatcherDeps, "access" | "authenticate" | "route" | "spare">;
  /** The first request head must be complete within this time (408 otherwise). */
  headerTimeoutMs: number;
  /** The 408's reason (default: "request head not received within <headerTimeoutMs> ms"). */
  headerTimeoutReason?: string;
  signal?: AbortSignal;
  onRequest?(target: Authority, profile: string | null): void;
}

/** How a plain-HTTP client connection ended. */
export interface ForwardServeResult {
  /** Why it ended (null: the client closed it, or it idled out between exchanges). */
  error: ProxyError | null;
  requests: number;
  statuses: Record<string, number>;
  /** The proxy's own error answers, by code (see exchange-errors.ts); null: none. */
  exchangeErrors: ExchangeErrors | null;
  /** Bytes read from and written to the client. */
  bytesIn: number;
  bytesOut: number;
  /** The first upstream connect, ms; undefined when none was dialled. */
  connectMs: number | undefined;
  /** Upstream connections used (dialled, or the spare). */
  upstreams: number;
}

/** An Endpoint that reports activity and counts bytes each way. */
function watched(ep: Endpoint, touch: () => void, count?: { in: number; out: number }): Endpoint {
  return {
    ...ep,
    start: (h) =>
      ep.start({
        ...h,
        data: (chunk) => {
          touch();
          if (count) count.in += chunk.length;
          h.data(chunk);
        },
      }),
    write: (chunk) => {
      touch();
      if (count) count.out += chunk.length;
      return ep.write(chunk);
    },
  };
}

/** Serves one plain-HTTP proxy connection until it closes and logs it; never rejects. */
export async function runForwardHttp(opts: ForwardOptions): Promise<void> {
  const { socket, deps } = opts;
  const started = performance.now();
  const rec: TunnelRecord = {
    ...openTunnelRecord(socket, "-", "forward"),
    http: "h1",
    upstreamHttp: [],
    requests: 0,
    statuses: {},
  };
  const r = await serveForward({
    socket,
    prefix: opts.start.bytes,
    deps,
    dispatcher: { access: opts.access, authenticate: opts.authenticate },
    headerTimeoutMs: opts.headerTimeoutMs,
    ...(opts.signal ? { signal: opts.signal } : {}),
    onRequest: (target, profile) => {
      if (rec.host === "-") rec.host = formatAuthority(target);
      rec.profile = profile;
    },
  });
  // A client that leaves (FIN or reset) ends a plain-HTTP connection normally.
  const failed = r.error !== null && r.error.code !== "IO" ? r.error : null;
  rec.errorCode = failed?.code ?? null;
  if (failed) rec.reason = failed.message;
  if (r.connectMs !== undefined) rec.connectMs = r.connectMs;
  if (r.upstreams > 0) rec.upstreamHttp = ["http/1.1"];
  rec.requests = r.requests;
  rec.statuses = r.statuses;
  if (r.exchangeErrors !== null) {
    rec.exchangeErrors = r.exchangeErrors.codes;
    rec.exchangeReason = r.exchangeErrors.lastReason;
  }
  rec.bytesUp = r.bytesIn;
  rec.bytesDown = r.bytesOut;
  rec.durationMs = Math.round(performance.now() - started);
  logTunnel(deps.logger, rec, deps.observer);
}

/**
 * Serves one plain-HTTP client connection until it closes: its requests through a
 * ForwardDispatcher, within the header, idle and shutdown bounds above. Never rejects.
 */
export function serveForward(opts: ForwardServeOptions): Promise<ForwardServeResult> {
  const { socket, deps } = opts;
  const result: ForwardServeResult = {
    error: null,
    requests: 0,
    statuses: {},
    exchangeErrors: null,
    bytesIn: 0,
    bytesOut: 0,
    connectMs: undefined,
    upstreams: 0,
  };
  return new Promise((resolve) => {
    const bytes = { in: opts.prefix.length, out: 0 };
    let done = false;
    let dispatched = 0;
    let answered = 0;
    let sawHead = false;
    let drainable: Drainable | null = null;
    const finish = (err: ProxyError | null) => {
      if (done) return;
      done = true;
      clearTimeout(headerTimer);
      idle.stop();
      opts.signal?.removeEventListener("abort", onAbort);
      if (drainable !== null) deps.drains?.delete(drainable);
      dispatcher.close();
      result.error = err;
      result.bytesIn = bytes.in;
      result.bytesOut = bytes.out;
      resolve(result);
    };
    /** Why the proxy cut the connection, if it did: the close it causes reports that, not "closed". */
    let cutWith: ProxyError | null = null;
    const abort = (err: ProxyError) => {
      cutWith = err;
      client.reset(); // after a request: never a clean close (README, "Errors")
      finish(err);
    };
    /**
     * A keep-alive connection between requests: closed as a server closes one, and done with at
     * once (after a linger the socket goes whether or not the client closed its side: a pool that
     * never reads it again would hold it for as long as it lives).
     */
    const closeQuiet = () => {
      socket.end();
      destroyAfterLinger(socket, CLIENT_LINGER_MS);
      finish(null);
    };
    const idle = idleWatch(deps.idleTimeoutMs, () => {
      if (dispatched > answered)
        abort(new ProxyError("IDLE_TIMEOUT", `no byte either way for ${deps.idleTimeoutMs} ms`));
      else closeQuiet();
    });
    const headerTimer = setTimeout(() => {
      if (sawHead) return;
      const err = new ProxyError(
        "HEADER_TIMEOUT",
        opts.headerTimeoutReason ?? `request head not received within ${Math.round(opts.headerTimeoutMs)} ms`,
      );
      const answer = errorResponse(err);
      bytes.out += Buffer.byteLength(answer); // written past the counting endpoint
      socket.end(answer);
      setTimeout(() => socket.destroy(), ERROR_LINGER_MS).unref();
      finish(err);
    }, opts.headerTimeoutMs);
    const onAbort = () => abort(new ProxyError("SHUTDOWN", "the proxy is stopping"));

    const dispatcher = new ForwardDispatcher({
      ...opts.dispatcher,
      tunnel: deps,
      endpoint: (s) => watched(socketEndpoint(s), idle.touch),
      ...(opts.signal ? { signal: opts.signal } : {}),
      onConnect: (ms) => {
        result.upstreams += 1;
        if (ms !== null) result.connectMs ??= ms;
      },
      ...(opts.onRequest ? { onRequest: opts.onRequest } : {}),
    });
    const client = serveClientH1(watched(socketEndpoint(socket), idle.touch, bytes), {
      target: NO_TUNNEL_TARGET,
      dispatcher,
      limits: { ...DEFAULT_REQUEST_LIMITS, maxHeadBytes: deps.http.maxRequestHeadBytes },
      ...(deps.http.headTimeoutMs !== undefined ? { headTimeoutMs: deps.http.headTimeoutMs } : {}),
      prefix: opts.prefix,
      route: (head) => {
        sawHead = true;
        clearTimeout(headerTimer);
        dispatched += 1;
        return dispatcher.route(head);
      },
      onExchange: (status, failure) => {
        answered += 1;
        if (failure) result.exchangeErrors = noteExchangeError(result.exchangeErrors, failure);
        result.requests += 1;
        result.statuses[String(status)] = (result.statuses[String(status)] ?? 0) + 1;
      },
      onClose: (err) => {
        if (!sawHead) clearTimeout(headerTimer);
        finish(cutWith ?? err);
      },
    });
    if (opts.signal?.aborted) onAbort();
    else opts.signal?.addEventListener("abort", onAbort, { once: true });
    if (!done) {
      // Asked to finish its requests when the drain begins; one between requests closes now.
      drainable = { drain: () => (client.quiet ? closeQuiet() : client.drain()) };
      deps.drains?.add(drainable);
    }
  });
}
