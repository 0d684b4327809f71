/**
 * The upstream side of one HTTP-mode tunnel: every client request is re-originated as the
 * profile's browser would send it (request kind → header template and priority; pseudo-header
 * order; HPACK policy), over one HTTP/2 connection when the origin chose h2, or over up to
 * MAX_H1_CONNECTIONS HTTP/1.1 connections (one request each at a time, as browsers do).
 */
import { ProxyError } from "../../errors/proxy-error.ts";
import type { ProfileHttp } from "../../profiles/http-types.ts";
import { channelEndpoint, type Endpoint } from "../../proxy/endpoint.ts";
import type { SecureChannel } from "../../proxy/secure-channel.ts";
import { h2FieldList } from "../headers/h2-fields.ts";
import { buildUpstreamHeaders } from "../headers/policy.ts";
import { classifyRequest } from "../headers/request-kind.ts";
import { decodingResponder } from "./decoding-sink.ts";
import { DeferredSink } from "./deferred-sink.ts";
import { fieldValue } from "./fields.ts";
import type { BodySink, Dispatcher, RequestHead, Responder } from "./message.ts";
import { UpstreamH1 } from "./upstream-h1.ts";
import { UpstreamH2 } from "./upstream-h2.ts";
import type { OpenedUpstream } from "./upstream-open.ts";

/** Browsers open at most 6 HTTP/1.1 connections per host (Chromium and Gecko defaults). */
export const MAX_H1_CONNECTIONS = 6;

export interface TunnelDispatcherDeps {
  http: ProfileHttp;
  /** `host[:port]` of the CONNECT target as the browser writes it (port only when not 443). */
  authority: string;
  keepClient: ReadonlySet<string> | "all";
  /** The upstream connection the tunnel opened first (its ALPN decides the protocol). */
  first: OpenedUpstream;
  /** Opens another upstream connection to the same origin with the same profile. */
  open(): Promise<OpenedUpstream>;
  /** The Endpoint over an upstream TLS channel (the tunnel adds its idle watch and truncation rule). */
  endpoint?(channel: SecureChannel): Endpoint;
  /** Upstream protocol facts for the tunnel's log line. */
  onUpstream?(protocol: string): void;
}

const NO_BODY: BodySink = { write: () => true, end: () => {}, abort: () => {}, onDrain: null };

export class TunnelDispatcher implements Dispatcher {
  readonly #deps: TunnelDispatcherDeps;
  #h2: UpstreamH2 | null = null;
  #h2Opening: Promise<UpstreamH2> | null = null;
  readonly #h1: UpstreamH1[] = [];
  #h1Opening = 0;
  readonly #h1Queue: { resolve(c: UpstreamH1): void; reject(e: unknown): void }[] = [];
  #closed = false;

  constructor(deps: TunnelDispatcherDeps) {
    this.#deps = deps;
    this.#adopt(deps.first);
  }

  request(head: RequestHead, client: Responder): BodySink {
    const responder = decodingResponder(client, fieldValue(head.fields, "accept-encoding"));
    const kind = classifyRequest({ method: head.method, path: head.path, fields: head.fields });
    const hasBody = head.bodyLength !== null;
    const sink = hasBody ? new DeferredSink() : NO_BODY;
    const attach = (s: BodySink) => (sink as DeferredSink).attach(s);
    const fail = (err: unknown) => responder.fail(ProxyError.wrap(err, "UPSTREAM_UNREACHABLE"));
    const http = this.#deps.http;
    const viaH2 = (up: UpstreamH2) => {
      const regular = buildUpstreamHeaders(http, kind, head.fields, {
        protocol: "h2",
        authority: this.#deps.authority,
        keepClient: this.#deps.keepClient,
      });
      const fields = h2FieldList(
        http.http2,
        {
          ":method": head.method,
          ":authority": this.#deps.authority,
          ":scheme": "https",
          ":path": head.path,
        },
        regular,
      );
      up.request(
        { fields, hasBody, priority: http.http2.priority[kind], head: head.method === "HEAD" },
        responder,
        attach,
      );
    };
    const viaH1 = (up: UpstreamH1) => {
      const fields = buildUpstreamHeaders(http, kind, head.fields, {
        protocol: "h1",
        authority: this.#deps.authority,
        keepClient: this.#deps.keepClient,
      });
      up.request(
        { method: head.method, target: head.path, fields, hasBody, bodyLength: head.bodyLength },
        responder,
        attach,
      );
    };
    if (this.#closed) fail(new ProxyError("SHUTDOWN", "tunnel closed"));
    else if (this.#h2?.usable) viaH2(this.#h2);
    else if (this.#h2 !== null || this.#h2Opening) this.#reopenH2().then(viaH2, fail);
    else this.#h1Connection().then(viaH1, fail);
    return sink;
  }

  #endpoint(ch: SecureChannel): Endpoint {
    return this.#deps.endpoint?.(ch) ?? channelEndpoint(ch, { truncation: "UPSTREAM_TRUNCATED" });
  }

  #adopt(up: OpenedUpstream): void {
    this.#deps.onUpstream?.(up.protocol);
    if (up.protocol === "h2") {
      const h2 = new UpstreamH2(this.#endpoint(up.channel), this.#deps.http.http2);
      h2.onGone = () => {
        if (this.#h2 === h2) this.#h2 = null;
      };
      this.#h2 = h2;
      return;
    }
    const h1 = new UpstreamH1(this.#endpoint(up.channel));
    h1.onIdle = () => this.#h1Idle(h1);
    this.#h1.push(h1);
  }

  #reopenH2(): Promise<UpstreamH2> {
    this.#h2Opening ??= this.#deps.open().then((up) => {
      this.#h2Opening = null;
      if (up.protocol !== "h2") {
        up.channel.destroy();
        throw new ProxyError("ALPN_MISMATCH", "origin switched from h2 to HTTP/1.1 between connections");
      }
      this.#adopt(up);
      return this.#h2 as UpstreamH2;
    });
    return this.#h2Opening;
  }

  /** An idle HTTP/1.1 connection, a new one (up to the cap), or the next one to become idle. */
  #h1Connection(): Promise<UpstreamH1> {
    for (let i = this.#h1.length - 1; i >= 0; i--) {
      const c = this.#h1[i] as UpstreamH1;
      if (!c.usable) this.#h1.splice(i, 1);
    }
    const idle = this.#h1.find((c) => !c.busy);
    if (idle) return Promise.resolve(idle);
    if (this.#h1.length + this.#h1Opening < MAX_H1_CONNECTIONS) {
      this.#h1Opening += 1;
      return this.#deps.open().then(
        (up) => {
          this.#h1Opening -= 1;
          this.#adopt(up);
          return this.#h1[this.#h1.length - 1] as UpstreamH1;
        },
        (err) => {
          this.#h1Opening -= 1;
          throw err;
        },
      );
    }
    return new Promise((resolve, reject) => this.#h1Queue.push({ resolve, reject }));
  }

  /** A connection finished its request (or died): hand it, or a replacement, to the next waiter. */
  #h1Idle(c: UpstreamH1): void {
    const next = this.#h1Queue.shift();
    if (!next) return;
    if (c.usable) next.resolve(c);
    else this.#h1Connection().then(next.resolve, next.reject);
  }

  close(): void {
    this.#closed = true;
    for (const w of this.#h1Queue.splice(0)) w.reject(new ProxyError("SHUTDOWN", "tunnel closed"));
    this.#h2?.close();
    for (const c of this.#h1) c.close();
  }
}
