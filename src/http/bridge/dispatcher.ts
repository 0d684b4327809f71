/**
 * The upstream side of one HTTP-mode tunnel: every client request is re-originated as the
 * profile's browser would send it (request kind → header template and priority; pseudo-header
 * order; HPACK policy), over one HTTP/2 connection when the origin chose h2, or over up to
 * MAX_H1_CONNECTIONS HTTP/1.1 connections (one request each at a time, as browsers do).
 *
 * - The protocol follows the origin's latest ALPN answer (an origin may change its mind between
 *   connections); a dead h2 connection is replaced on the next request.
 * - A WebSocket handshake (`Upgrade: websocket` from an HTTP/1.1 client) goes, as browsers send
 *   it, over the tunnel's HTTP/2 connection as an extended CONNECT when the origin's SETTINGS
 *   enable it (RFC 8441, websocket-h2.ts), else on its own connection with the profile's WebSocket
 *   hello (`[websocket]`: by default ALPN `http/1.1` only and no ALPS); either becomes a byte relay.
 * - A request without body that the origin did not process (retry.ts: an idempotent one, or any
 *   that it provably refused) is sent once more on another connection.
 * - Every request's sink (a DeferredSink, with or without body) is its cancel handle: `abort`
 *   drops a request still waiting (never sent, no retry), else cancels the upstream exchange.
 * Connections are handed out synchronously (callbacks, not promises), so a connection found idle
 * is used before anything else can take it.
 */
import { ProxyError } from "../../errors/proxy-error.ts";
import type { ProfileHttp, RequestKind } from "../../profiles/http-types.ts";
import { channelEndpoint, type Endpoint } from "../../proxy/endpoint.ts";
import type { SecureChannel } from "../../proxy/secure-channel.ts";
import { h2FieldList } from "../headers/h2-fields.ts";
import { buildUpstreamHeaders, type UpstreamHeaderOptions } from "../headers/policy.ts";
import { classifyRequest } from "../headers/request-kind.ts";
import { decodingResponder } from "./decoding-sink.ts";
import { DeferredSink } from "./deferred-sink.ts";
import { fieldValue } from "./fields.ts";
import { H1Pool, MAX_H1_CONNECTIONS, type Pending } from "./h1-pool.ts";
import {
  type BodySink,
  canUpgrade,
  type Dispatcher,
  type RequestHead,
  type RequestLink,
  type Responder,
  type UpgradeResponder,
} from "./message.ts";
import { markRefused, mayRetry, retryingResponder } from "./retry.ts";
import { UpstreamH1 } from "./upstream-h1.ts";
import { type H2Owner, type H2Request, UpstreamH2 } from "./upstream-h2.ts";
import type { OpenedUpstream, OpenOptions, UpstreamProtocol } from "./upstream-open.ts";
import { extendedConnectFields, extendedConnectResponder } from "./websocket-h2.ts";

export { MAX_H1_CONNECTIONS };

/**
 * What the dispatcher reads and calls for its whole life, as one object called with methods (an
 * HTTP tunnel passes itself: no callbacks per tunnel).
 */
export interface TunnelDispatcherDeps {
  readonly http: ProfileHttp;
  /** `host[:port]` of the CONNECT target as the browser writes it (port only when not 443). */
  readonly authority: string;
  readonly keepClient: ReadonlySet<string> | "all";
  /** Opens another upstream connection to the same origin with the same profile. */
  open(opts?: OpenOptions): Promise<OpenedUpstream>;
  /** The Endpoint over an upstream TLS channel (the tunnel adds its idle watch and truncation rule). */
  endpoint?(channel: SecureChannel): Endpoint;
  /** Upstream protocol facts for the tunnel's log line. */
  onUpstream?(protocol: UpstreamProtocol): void;
  /** HTTP/1.1 connections held at most (default MAX_H1_CONNECTIONS, a browser's per host). */
  readonly maxH1Connections?: number;
  /** The response-head deadline of every upstream request (head-deadline.ts); absent: none. */
  readonly responseTimeoutMs?: number | undefined;
  /** The profile sends WebSockets over an HTTP/2 connection that allows it (`[websocket] over_h2`; absent: true). */
  readonly websocketOverH2?: boolean | undefined;
}

type Conn = UpstreamH2 | UpstreamH1;

export class TunnelDispatcher implements Dispatcher, H2Owner {
  readonly #deps: TunnelDispatcherDeps;
  #protocol: "h2" | "http/1.1";
  #h2: UpstreamH2 | null = null;
  /** Connections that had a GOAWAY and still had streams to finish (null: none). */
  #draining: Set<UpstreamH2> | null = null;
  #h2Waiters: ((c: Conn | ProxyError) => void)[] | null = null;
  /** The HTTP/1.1 connections, made on first use (most tunnels speak h2 upstream). */
  #h1Pool: H1Pool | null = null;
  /** WebSocket connections (relays), closed with the tunnel; made on first use. */
  #others: Set<UpstreamH1> | null = null;
  #closed = false;
  /** The header options of every HTTP/2 request (the same for the whole tunnel); made on first use. */
  #h2Options: UpstreamHeaderOptions | null = null;

  /**
   * `first`: the upstream connection the tunnel opened first (its ALPN decides the protocol), or
   * null when the first request opens one (another profile's requests in the tunnel:
   * profile-router.ts; until the origin answers, HTTP/2 is assumed, as the profiles offer it
   * first, and an HTTP/1.1 answer moves the requests waiting for it to the pool);
   * `firstEndpoint`: the Endpoint already started over it (the tunnel watched it while sniffing).
   * Neither is kept.
   */
  constructor(
    deps: TunnelDispatcherDeps,
    first: OpenedUpstream | null,
    firstEndpoint?: Endpoint,
    guess: UpstreamProtocol = "h2",
  ) {
    this.#deps = deps;
    this.#protocol = first?.protocol ?? guess;
    // Dialled before `200`, it waited for the client's handshake and first request.
    if (first !== null) this.#adopt(first, firstEndpoint, true);
  }

  /** The protocol the origin chose last (before any answer: the guess the dispatcher was made with). */
  get protocol(): UpstreamProtocol {
    return this.#protocol;
  }

  /** The head's control fields were checked (profile-router.ts): answered 400 before this, if bad. */
  request(head: RequestHead, client: Responder): BodySink {
    const responder = decodingResponder(client, fieldValue(head.fields, "accept-encoding"));
    const kind = classifyRequest(head); // reads method, path and fields
    const sink = new DeferredSink();
    if (kind === "websocket" && head.clientProtocol === "h1" && canUpgrade(responder)) {
      this.#websocket(head, responder, sink);
      return sink;
    }
    const first = mayRetry(head)
      ? retryingResponder(responder, head.method, () => this.#dispatch(head, kind, responder, sink))
      : responder;
    this.#dispatch(head, kind, first, sink);
    return sink;
  }

  /** Sends on the shared HTTP/2 connection at once when it can take the request, else via #withConn. */
  #dispatch(head: RequestHead, kind: RequestKind, r: Responder, sink: DeferredSink): void {
    if (sink.cancelled) return; // a retry of a request the client gave up
    const h2 = this.#h2;
    if (!this.#closed && this.#protocol === "h2" && h2?.usable) {
      try {
        this.#send(h2, head, kind, r, sink);
      } catch (err) {
        // Never let a bug in one exchange escape into the caller.
        r.fail(ProxyError.wrap(err, "INTERNAL"));
      }
      return;
    }
    this.#withConn((c) => this.#send(c, head, kind, r, sink), r, sink);
  }

  close(): void {
    this.#closed = true;
    for (const w of this.#h2Waiters?.splice(0) ?? []) w(new ProxyError("SHUTDOWN", "tunnel closed"));
    this.#h2?.close();
    for (const c of this.#draining ?? []) c.close();
    this.#draining = null;
    this.#h1Pool?.close();
    for (const c of this.#others ?? []) c.close();
  }

  get #h1(): H1Pool {
    this.#h1Pool ??= new H1Pool(() => this.#openConn(), this.#deps.maxH1Connections);
    return this.#h1Pool;
  }

  /**
   * Calls `use` with a connection that can take the request now, or fails `r`; neither once the
   * client cancelled the request (`sink`) while it waited.
   */
  #withConn(use: (c: Conn) => void, r: Responder, sink: Pending): void {
    const got = (c: Conn | ProxyError) => {
      if (sink.cancelled) return; // an idle connection handed over stays idle for the next waiter
      if (c instanceof ProxyError) return r.fail(c);
      try {
        use(c);
      } catch (err) {
        // Never let a bug in one exchange escape into a promise callback (and the process).
        r.fail(ProxyError.wrap(err, "INTERNAL"));
      }
    };
    if (this.#closed) {
      got(new ProxyError("SHUTDOWN", "tunnel closed"));
      return;
    }
    if (this.#protocol === "http/1.1") {
      this.#h1.take(got, sink);
      return;
    }
    if (this.#h2?.usable) {
      got(this.#h2);
      return;
    }
    if (this.#h2Waiters) {
      this.#h2Waiters.push(got);
      return;
    }
    const waiters = [got];
    this.#h2Waiters = waiters;
    this.#openConn().then(
      (c) => {
        this.#h2Waiters = null;
        for (const w of waiters) {
          if (this.#closed) w(new ProxyError("SHUTDOWN", "tunnel closed"));
          else if (c instanceof UpstreamH2) w(c);
          else this.#h1.take(w); // the origin switched to HTTP/1.1
        }
      },
      (err: unknown) => {
        this.#h2Waiters = null;
        for (const w of waiters) w(ProxyError.wrap(err, "UPSTREAM_UNREACHABLE"));
      },
    );
  }

  #send(c: Conn, head: RequestHead, kind: RequestKind, r: Responder, sink: DeferredSink): void {
    const http = this.#deps.http;
    const hasBody = head.bodyLength !== null;
    const authority = this.#deps.authority;
    const keepClient = this.#deps.keepClient;
    if (c instanceof UpstreamH2) {
      this.#h2Options ??= { authority, keepClient, protocol: "h2" };
      const regular = buildUpstreamHeaders(http, kind, head.fields, this.#h2Options, head.method);
      const pseudo = {
        ":method": head.method,
        ":authority": this.#deps.authority,
        ":scheme": "https",
        ":path": head.path,
      };
      const fields = h2FieldList(http.http2, pseudo, regular);
      c.request(
        { fields, hasBody, priority: http.http2.priority[kind], head: head.method === "HEAD" },
        r,
        sink,
      );
      return;
    }
    const fields = buildUpstreamHeaders(
      http,
      kind,
      head.fields,
      {
        authority,
        keepClient,
        protocol: "h1",
        ...(head.clientCase ? { clientCase: head.clientCase } : {}),
      },
      head.method,
    );
    c.request(
      { method: head.method, target: head.path, fields, hasBody, bodyLength: head.bodyLength },
      r,
      sink,
    );
  }

  /**
   * A WebSocket handshake: over the HTTP/2 connection when the origin enabled extended CONNECT
   * (known once its SETTINGS are read), else on a connection of its own.
   */
  #websocket(head: RequestHead, r: UpgradeResponder, sink: DeferredSink): void {
    const key = fieldValue(head.fields, "sec-websocket-key");
    const h2 = this.#protocol === "h2" && this.#deps.websocketOverH2 !== false ? this.#h2 : null;
    if (this.#closed || key === null || h2 === null || !h2.usable) {
      this.#websocketOwn(head, r, sink);
      return;
    }
    h2.whenSettled(() => {
      if (sink.cancelled) return;
      if (this.#closed || !h2.usable || !h2.extendedConnect) {
        this.#websocketOwn(head, r, sink);
        return;
      }
      try {
        const fallback = () => this.#websocketOwn(head, r, sink);
        this.#extendedConnect(h2, head, extendedConnectResponder(r, key), sink, fallback);
      } catch (err) {
        r.fail(ProxyError.wrap(err, "INTERNAL"));
      }
    });
  }

  /** The WebSocket handshake as an RFC 8441 extended CONNECT on `h2`, in the profile's order. */
  #extendedConnect(
    h2: UpstreamH2,
    head: RequestHead,
    r: UpgradeResponder,
    sink: DeferredSink,
    fallback: () => void,
  ): void {
    const http = this.#deps.http;
    const authority = this.#deps.authority;
    this.#h2Options ??= { authority, keepClient: this.#deps.keepClient, protocol: "h2" };
    const regular = buildUpstreamHeaders(
      http,
      "websocket",
      extendedConnectFields(head.fields),
      this.#h2Options,
    );
    const pseudo = {
      ":method": "CONNECT",
      ":authority": authority,
      ":scheme": "https",
      ":path": head.path,
      ":protocol": "websocket",
    };
    const fields = h2FieldList(http.http2, pseudo, regular);
    const priority = http.http2.priority.websocket;
    h2.request({ fields, hasBody: false, tunnel: true, priority, head: false, fallback }, r, sink);
  }

  /** A WebSocket handshake on its own HTTP/1.1-only connection, never pooled. */
  #websocketOwn(head: RequestHead, r: Responder, sink: DeferredSink): void {
    if (this.#closed) {
      r.fail(new ProxyError("SHUTDOWN", "tunnel closed"));
      return;
    }
    this.#deps.open({ websocket: { origin: this.#protocol } }).then(
      (up) => {
        if (this.#closed || up.protocol !== "http/1.1") {
          up.channel.destroy();
          r.fail(
            new ProxyError(
              this.#closed ? "SHUTDOWN" : "ALPN_MISMATCH",
              "no HTTP/1.1 connection for the WebSocket",
            ),
          );
          return;
        }
        this.#deps.onUpstream?.(up.protocol);
        const c = new UpstreamH1(this.#endpoint(up.channel), {
          responseTimeoutMs: this.#deps.responseTimeoutMs,
        });
        this.#others ??= new Set();
        const others = this.#others;
        others.add(c);
        c.onGone = () => {
          if (!c.busy) others.delete(c);
        };
        try {
          this.#send(c, head, "websocket", r, sink);
        } catch (err) {
          r.fail(ProxyError.wrap(err, "INTERNAL"));
        }
      },
      (err: unknown) => r.fail(ProxyError.wrap(err, "UPSTREAM_UNREACHABLE")),
    );
  }

  #endpoint(ch: SecureChannel): Endpoint {
    return this.#deps.endpoint?.(ch) ?? channelEndpoint(ch, { truncation: "UPSTREAM_TRUNCATED" });
  }

  /** H2Owner: a request that never left a connection that went away goes on another one. */
  h2Requeue(req: H2Request, r: Responder, link: RequestLink): void {
    if (req.fallback && this.#protocol !== "h2") {
      req.fallback(); // a WebSocket, and the origin now speaks HTTP/1.1: on a connection of its own
      return;
    }
    this.#withConn(
      (c) => {
        if (c instanceof UpstreamH2) c.request(req, r, link);
        else if (req.fallback)
          req.fallback(); // a WebSocket: on a connection of its own
        // Its fields are HTTP/2's: an origin that now chose HTTP/1.1 gets it as a refused request.
        else r.fail(markRefused(new ProxyError("UPSTREAM_UNREACHABLE", "the origin switched to HTTP/1.1")));
      },
      r,
      link,
    );
  }

  /**
   * H2Owner: the connection can take no new streams (GOAWAY, error, close). One still finishing
   * its streams after a GOAWAY is kept until it closes itself, so that closing the tunnel closes
   * it too.
   */
  h2Gone(h2: UpstreamH2): void {
    if (this.#h2 === h2) this.#h2 = null;
    const draining = this.#draining;
    if (draining !== null) for (const c of draining) if (c.closed) draining.delete(c);
    if (h2.closed) return;
    this.#draining ??= new Set();
    this.#draining.add(h2);
  }

  /** Opens a connection and adopts it (h2 → the shared connection, h1 → the pool). */
  async #openConn(): Promise<Conn> {
    const up = await this.#deps.open();
    if (this.#closed) {
      up.channel.destroy();
      throw new ProxyError("SHUTDOWN", "tunnel closed");
    }
    return this.#adopt(up);
  }

  #adopt(up: OpenedUpstream, started?: Endpoint, idledFirst = false): Conn {
    this.#deps.onUpstream?.(up.protocol);
    this.#protocol = up.protocol;
    if (up.protocol === "h2") {
      const h2 = new UpstreamH2(
        started ?? this.#endpoint(up.channel),
        this.#deps.http.http2,
        undefined,
        this.#deps.responseTimeoutMs,
      );
      h2.owner = this;
      this.#h2 = h2;
      return h2;
    }
    const h1 = new UpstreamH1(started ?? this.#endpoint(up.channel), {
      idledFirst,
      responseTimeoutMs: this.#deps.responseTimeoutMs,
    });
    this.#h1.add(h1);
    return h1;
  }
}
