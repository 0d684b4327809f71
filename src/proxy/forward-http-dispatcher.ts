/**
 * The upstream side of one plain-HTTP proxy connection: every request is checked as a CONNECT
 * would be, then re-originated over plain TCP as the chosen profile's browser.
 *
 * Per request, before anything is dialled: proxy authentication behind the brute-force brake
 * (407 / 429, from the listener), the allowed ports (403), the next hop (X-PolyTLS-Next-Hop or the
 * configured one; 400 when refused), the profile (X-PolyTLS-Upstream-Profile, else the proxy user
 * name, else the default; unknown → 400), and, when a profile applies, the request kind
 * (X-PolyTLS-Request-Kind naming no kind → 400). Those answers are local responses; the
 * connection stays open. The dial then applies the target guard (loop → 508, deny lists → 403)
 * and the connect timeout (502 / 504), through the next hop when there is one.
 *
 * Upstream connections are kept per origin (host:port, route and profile) for this client
 * connection, as a browser does: at most MAX_H1_CONNECTIONS each (H1Pool), one request at a time,
 * reused while the origin allows it. A WebSocket handshake (a plaintext tunnel's `ws://`: the
 * client side keeps its Upgrade) goes on a connection of its own, never pooled, relayed after the
 * origin's 101. At most MAX_ORIGINS origins keep idle connections: the least recently used idle
 * origin is closed to make room. Responses in a content coding the client did not accept are decoded
 * (decodingResponder); a reused connection that closed before answering an idempotent request
 * without body is retried once on another.
 */
import { ProxyError } from "../errors/proxy-error.ts";
import { Refusal } from "../http/bridge/client-h1-request.ts";
import { decodingResponder } from "../http/bridge/decoding-sink.ts";
import { DeferredSink } from "../http/bridge/deferred-sink.ts";
import { fieldValue } from "../http/bridge/fields.ts";
import { H1Pool } from "../http/bridge/h1-pool.ts";
import {
  type BodySink,
  canUpgrade,
  type Dispatcher,
  discardSink,
  type RequestHead,
  type RequestLink,
  type Responder,
} from "../http/bridge/message.ts";
import { mayRetry, retryingResponder } from "../http/bridge/retry.ts";
import { UpstreamH1 } from "../http/bridge/upstream-h1.ts";
import type { RequestHead as H1RequestHead } from "../http/h1/request-head.ts";
import { checkRequestKindHeader, classifyRequest } from "../http/headers/request-kind.ts";
import type { ProfileHttp } from "../profiles/http-types.ts";
import { type AccessPolicy, profileFromCredentials } from "./access.ts";
import type { Authority } from "./authority.ts";
import { formatAuthority } from "./authority.ts";
import type { ByteSocket as Socket } from "./byte-socket.ts";
import { dial, tunnelDialOptions } from "./dial.ts";
import type { Endpoint } from "./endpoint.ts";
import { forwardHeaders } from "./forward-http-headers.ts";
import { answerError, settling } from "./forward-http-responders.ts";
import { type ForwardRoute, routeForward } from "./forward-http-route.ts";
import { type NextHopRoute, routeFor } from "./next-hop.ts";
import type { TunnelDeps } from "./tunnel.ts";

/** Origins per client connection that may keep idle upstream connections (a page's few hosts). */
export const MAX_ORIGINS = 8;

/** The link of a request without body: an HTTP/1.1 client never cancels one after its head. */
const NO_LINK: RequestLink = { attach() {} };

export interface ForwardDispatcherDeps {
  /** The listener's tunnel deps: allowed ports, guard, own addresses, next hop, profiles, timeouts. */
  tunnel: TunnelDeps;
  /** The access policy with its users (a user name may carry a profile: proxy-user.ts). */
  access: AccessPolicy;
  /** Brake, then credentials (the listener's): throws PROXY_AUTH_REQUIRED or AUTH_RATE_LIMITED. */
  authenticate(proxyAuthorization: string | null): void;
  /** The Endpoint over a new upstream socket (the caller adds its idle watch). */
  endpoint(socket: Socket): Endpoint;
  signal?: AbortSignal;
  /** Facts for the connection's log record: each new upstream connection, with its connect time
   * (null for the spare, connected before). */
  onConnect?(ms: number | null): void;
  onRequest?(target: Authority, profile: string | null): void;
  /** Reads each head's request and route (default: routeForward, absolute-form `http://`). */
  route?(head: H1RequestHead): { request: RequestHead; route: ForwardRoute } | Refusal;
  /** A connection already dialled to `target` (a CONNECT tunnel's): the first one opened there. */
  spare?: { target: Authority; socket: Socket } | undefined;
}

interface Origin {
  key: string;
  pool: H1Pool;
  /** Exchanges taken and not yet over. */
  inFlight: number;
}

/** What a checked request needs to be sent. */
interface Plan {
  target: Authority;
  via: NextHopRoute | null;
  profile: string | null;
  http: ProfileHttp | null;
}

export class ForwardDispatcher implements Dispatcher {
  readonly #deps: ForwardDispatcherDeps;
  readonly #routes = new WeakMap<RequestHead, ForwardRoute>();
  /** Origins in least-recently-used order (a Map keeps insertion order; a use re-inserts). */
  readonly #origins = new Map<string, Origin>();
  /** Upgraded (WebSocket) connections, closed with the dispatcher. */
  readonly #upgraded = new Set<UpstreamH1>();
  #spare: { target: Authority; socket: Socket } | null;
  #closed = false;

  constructor(deps: ForwardDispatcherDeps) {
    this.#deps = deps;
    this.#spare = deps.spare ?? null;
  }

  /** The client side's `route` hook: the request to dispatch, or the refusal to answer. */
  route(head: H1RequestHead): RequestHead | Refusal {
    const r = (this.#deps.route ?? routeForward)(head);
    if (r instanceof Refusal) return r;
    this.#routes.set(r.request, r.route);
    return r.request;
  }

  request(head: RequestHead, client: Responder): BodySink {
    const route = this.#routes.get(head);
    if (route === undefined) {
      client.fail(new ProxyError("INTERNAL", "request was not routed"));
      return discardSink();
    }
    let plan: Plan;
    try {
      plan = this.#plan(route);
    } catch (err) {
      answerError(client, ProxyError.wrap(err, "INTERNAL"));
      return discardSink();
    }
    if (plan.http !== null) {
      // The kind picks the profile's headers: an unknown one is refused, never sent as a navigation.
      try {
        checkRequestKindHeader(head.fields);
      } catch (err) {
        answerError(client, ProxyError.wrap(err, "HTTP_BAD_REQUEST"));
        return discardSink();
      }
    }
    this.#deps.onRequest?.(plan.target, plan.profile);
    const kind = classifyRequest({ method: head.method, path: head.path, fields: head.fields });
    const fields = forwardHeaders({
      http: plan.http,
      kind,
      method: head.method,
      fields: head.fields,
      host: route.host,
      target: plan.target,
      keepClient: this.#deps.tunnel.http.keepClient,
      clientCase: route.clientCase,
    });
    if (kind === "websocket" && canUpgrade(client) && fieldValue(head.fields, "upgrade") !== undefined) {
      const r = decodingResponder(client, fieldValue(head.fields, "accept-encoding"));
      const ws = { method: head.method, target: head.path, fields };
      // Once more on a new connection when the first closed unanswered (an idle spare).
      this.#websocket(
        plan,
        ws,
        retryingResponder(r, ws.method, () => this.#websocket(plan, ws, r)),
      );
      return discardSink();
    }
    const origin = this.#origin(plan, route);
    origin.inFlight += 1;
    const responder = settling(decodingResponder(client, fieldValue(head.fields, "accept-encoding")), () => {
      origin.inFlight -= 1;
    });
    const sink = head.bodyLength !== null ? new DeferredSink() : null;
    const req = {
      method: head.method,
      target: head.path,
      fields,
      hasBody: head.bodyLength !== null,
      bodyLength: head.bodyLength,
    };
    const send = (r: Responder) =>
      origin.pool.take((c) => {
        if (c instanceof ProxyError) r.fail(c);
        else if (c instanceof UpstreamH1) c.request(req, r, sink ?? NO_LINK);
        else r.fail(new ProxyError("INTERNAL", "plain HTTP upstream is not HTTP/1.1"));
      });
    send(mayRetry(head) ? retryingResponder(responder, head.method, () => send(responder)) : responder);
    return sink ?? discardSink();
  }

  close(): void {
    this.#closed = true;
    for (const o of this.#origins.values()) o.pool.close();
    this.#origins.clear();
    for (const c of this.#upgraded) c.close();
    this.#upgraded.clear();
    this.#spare?.socket.destroy();
    this.#spare = null;
  }

  /** A WebSocket handshake on a connection of its own (as a browser opens one), never pooled. */
  #websocket(
    plan: Plan,
    req: { method: string; target: string; fields: [string, string][] },
    r: Responder,
  ): void {
    if (this.#closed) {
      r.fail(new ProxyError("SHUTDOWN", "client connection closed"));
      return;
    }
    this.#connect(plan.target, plan.via).then(
      (c) => {
        this.#upgraded.add(c);
        c.onGone = () => {
          if (!c.busy) this.#upgraded.delete(c);
        };
        // Refused (any final status but 101): the connection is done, never pooled or kept.
        c.onIdle = () => {
          this.#upgraded.delete(c);
          c.close();
        };
        c.request({ ...req, hasBody: false, bodyLength: null }, r, NO_LINK);
      },
      (err: unknown) => r.fail(ProxyError.wrap(err, "UPSTREAM_UNREACHABLE")),
    );
  }

  /** The per-request checks, in the order a CONNECT gets them. Throws the answer's error. */
  #plan(route: ForwardRoute): Plan {
    const deps = this.#deps;
    deps.authenticate(route.proxyAuthorization);
    const ports = deps.tunnel.access.allowedPorts;
    if (ports.size > 0 && !ports.has(route.target.port)) {
      throw new ProxyError(
        "FORBIDDEN",
        `port ${route.target.port} is not allowed (proxy.access.allowed_ports; an http:// URL without a port is port 80)`,
      );
    }
    const via = routeFor(route.nextHop, deps.tunnel.nextHop);
    const t = deps.tunnel;
    if (t.mode !== "mitm" || t.http.mode !== "full")
      return { target: route.target, via, profile: null, http: null };
    const asked = route.profile ?? profileFromCredentials(deps.access, route.proxyAuthorization);
    const name = t.connectors.get(asked ?? t.defaultProfile).name;
    return { target: route.target, via, profile: name, http: t.connectors.http(name) };
  }

  /**
   * The origin's pool, made most recently used; may close the least recently used idle one. Pools
   * are per origin, route and profile: a plain TCP connection carries no hello, but one browser
   * never shares its connections with another, so two profiles on one client connection never
   * send on the same upstream connection (an origin could tie them together).
   */
  #origin(plan: Plan, route: ForwardRoute): Origin {
    const hop = route.nextHop ?? (plan.via ? "configured" : "direct");
    const key = `${formatAuthority(plan.target)}|${hop}|${plan.profile ?? ""}`;
    let origin = this.#origins.get(key);
    if (origin !== undefined) {
      this.#origins.delete(key);
      this.#origins.set(key, origin);
      return origin;
    }
    if (this.#origins.size >= MAX_ORIGINS) {
      for (const o of this.#origins.values()) {
        if (o.inFlight > 0) continue;
        o.pool.close();
        this.#origins.delete(o.key);
        break;
      }
    }
    const pool: H1Pool = new H1Pool(() => this.#open(pool, plan.target, plan.via));
    origin = { key, pool, inFlight: 0 };
    this.#origins.set(key, origin);
    return origin;
  }

  async #open(pool: H1Pool, target: Authority, via: NextHopRoute | null): Promise<UpstreamH1> {
    const c = await this.#connect(target, via);
    pool.add(c);
    return c;
  }

  /** A new upstream connection to `target`: the spare one when it goes there, else dialled. */
  async #connect(target: Authority, via: NextHopRoute | null): Promise<UpstreamH1> {
    const deps = this.#deps;
    const spare = this.#spare;
    if (spare !== null && formatAuthority(spare.target) === formatAuthority(target)) {
      this.#spare = null; // not closed yet: close() drops the spare
      deps.onConnect?.(null);
      spare.socket.setNoDelay(true);
      // It waited for the client's first request: a close before any answer is retried (GET).
      return new UpstreamH1(deps.endpoint(spare.socket), {
        idledFirst: true,
        responseTimeoutMs: deps.tunnel.http.responseTimeoutMs,
      });
    }
    const started = performance.now();
    const socket = await dial(target, tunnelDialOptions(deps.tunnel, via, deps.signal));
    if (this.#closed) {
      socket.destroy();
      throw new ProxyError("SHUTDOWN", "client connection closed");
    }
    deps.onConnect?.(performance.now() - started);
    socket.setNoDelay(true);
    return new UpstreamH1(deps.endpoint(socket), { responseTimeoutMs: deps.tunnel.http.responseTimeoutMs });
  }
}
