/**
 * The client side of an HTTP-mode tunnel when the client speaks HTTP/2: the decrypted tunnel's
 * bytes go through our server-role session (src/http/h2/server-session.ts, pure) and each request
 * stream becomes a RequestHead for the dispatcher; what the session queues is written back. Raw
 * header order is kept (fields in wire order, lowercase names). Extended CONNECT (RFC 8441) is
 * not offered: CONNECT and `:protocol` are answered 405.
 *
 * Backpressure: request body bytes are granted back to the client (WINDOW_UPDATE) only as the
 * dispatcher's sink takes them; response bytes go out within the client's windows, and a full
 * client socket stops both the response producers and the reading of more client frames.
 */
import { ProxyError } from "../../errors/proxy-error.ts";
import type { Authority } from "../../proxy/authority.ts";
import type { Endpoint } from "../../proxy/endpoint.ts";
import { headTimeout, type IdleWatch, idleWatch } from "../../proxy/timeout.ts";
import { type Corked, sendAtEndOfTurn } from "../../proxy/write-cork.ts";
import { H2ErrorCode } from "../h2/errors.ts";
import { H2ServerSession } from "../h2/server-session.ts";
import type { H2ServerEvent, H2ServerOptions } from "../h2/server-types.ts";
import type { HeaderField } from "../hpack/types.ts";
import { type ExchangeHost, H2Exchange, windowNever } from "./client-h2-exchange.ts";
import { checkAuthority } from "./fields.ts";
import { destroyAfterLinger } from "./linger.ts";
import { type Dispatcher, discardSink } from "./message.ts";

export interface ClientH2Options {
  target: Authority;
  dispatcher: Dispatcher;
  maxConcurrentStreams: number;
  maxHeaderListSize: number;
  /**
   * A field block (or the client preface) must be whole within this many ms of its first byte,
   * else GOAWAY(ENHANCE_YOUR_CALM) and the connection ends (slowloris;
   * `proxy.limits.header_timeout_ms`). Absent: no deadline.
   */
  headTimeoutMs?: number;
  /**
   * Called once per finished exchange with its final status (0 = reset or cut, before or after
   * the head; a response counts as complete once its END_STREAM went out) and,
   * when the proxy reset the stream, why (null when the client reset it).
   */
  onExchange(status: number, failure: ProxyError | null): void;
  /** Called once when the client connection is gone. */
  onClose(err: ProxyError | null): void;
}

type RequestEvent = Extract<H2ServerEvent, { type: "request" }>;

/** Whether an `expect` field lists 100-continue (RFC 9110 §10.1.1). */
function expectsContinue(fields: readonly HeaderField[]): boolean {
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i] as HeaderField;
    if (f[0] === "expect" && /(?:^|,)\s*100-continue\s*(?:,|$)/i.test(f[1])) return true;
  }
  return false;
}

/** The session options last made: a proxy's connections all have the same limits (its config). */
let lastServerOptions: H2ServerOptions | null = null;

/** The session options of a pair of limits, one object shared while the limits stay the same
 * (the session keeps it for as long as the connection lives). */
function serverOptions(maxConcurrentStreams: number, maxHeaderListSize: number): H2ServerOptions {
  const o = lastServerOptions;
  if (o?.maxConcurrentStreams === maxConcurrentStreams && o.maxHeaderListSize === maxHeaderListSize) return o;
  lastServerOptions = Object.freeze({ maxConcurrentStreams, maxHeaderListSize });
  return lastServerOptions;
}

class ClientH2 implements ExchangeHost, Corked {
  readonly session: H2ServerSession;
  readonly #ep: Endpoint;
  readonly #opts: ClientH2Options;
  /** Open exchanges by stream id, made on first use and dropped when empty. */
  #exchanges: Map<number, H2Exchange> | null = null;
  /** Exchanges waiting for the client's socket to drain; made on first use. */
  #socketWaiters: H2Exchange[] | null = null;
  /** The last write to the client found its socket full: input is paused until `drain`. */
  #blocked = false;
  /** The client sent FIN (see ExchangeHost). */
  inputEnded = false;
  /** The deadline of a field block begun and not whole yet (see ClientH2Options.headTimeoutMs). */
  #headWatch: IdleWatch | null = null;
  /** `session.headsEnded` when the watch started: the head it times is the next one. */
  #watchedFrom = 0;
  /** A `flushSoon` microtask is queued. */
  #flushQueued = false;
  /** The client finished sending (FIN / close_notify) or sent GOAWAY: close once streams end. */
  #ending = false;
  /** Our side was ended (after GOAWAY or the last stream): waiting for the socket to close. */
  #ended = false;
  #closed = false;
  #failure: ProxyError | null = null;
  /** The last authority `checkAuthority` accepted (it depends only on the value and the target):
   * a connection's requests all name the same one. */
  #checkedAuthority: string | null = null;

  constructor(ep: Endpoint, opts: ClientH2Options) {
    this.#ep = ep;
    this.#opts = opts;
    this.session = new H2ServerSession(serverOptions(opts.maxConcurrentStreams, opts.maxHeaderListSize));
    this.session.start(); // our SETTINGS are queued first: a client frame read at start is answered after them
    const handlers = { c: this, ...ClientH2.#handlers };
    ep.start(handlers);
    this.flush();
  }

  /**
   * The endpoint's handlers, shared by every connection: each gets `{ c, ...these }` (own
   * properties, no closures; safe for an endpoint wrapper that copies handlers with a spread).
   */
  static readonly #handlers = {
    data(this: { c: ClientH2 }, chunk: Uint8Array): void {
      this.c.#onBytes(chunk);
    },
    end(this: { c: ClientH2 }): void {
      this.c.#onInputEnd();
    },
    error(this: { c: ClientH2 }, err: ProxyError): void {
      this.c.#teardown(err);
    },
    drain(this: { c: ClientH2 }): void {
      this.c.#onSocketDrain();
    },
    close(this: { c: ClientH2 }): void {
      this.c.#teardown(null);
    },
  };

  close(): void {
    this.#ep.destroy();
    this.#teardown(null);
  }

  /** Between requests: no stream open and no field block begun. */
  get quiet(): boolean {
    return !this.#closed && !this.#ended && this.session.activeStreams === 0 && !this.session.receivingHead;
  }

  /**
   * The proxy began its drain: GOAWAY(NO_ERROR) names the last stream taken; those go on, no new
   * one is opened, and the connection ends once they are done.
   */
  drain(): void {
    if (this.#closed || this.#ended) return;
    this.session.goaway();
    this.#ending = true;
    this.flush();
    this.#maybeEnd();
  }

  // ExchangeHost

  flush(): boolean {
    const out = this.session.takeOutput();
    if (this.#closed || this.#ended) return !this.#blocked;
    for (let i = 0; i < out.length; i++) {
      if (!this.#ep.write(out[i] as Uint8Array) && !this.#blocked) {
        this.#blocked = true;
        this.#ep.pause(); // no more client frames (and answers to them) until the socket drains
      }
    }
    return !this.#blocked;
  }

  flushSoon(): void {
    if (this.#flushQueued) return;
    this.#flushQueued = true;
    sendAtEndOfTurn(this); // the channels' own microtask: no closure, no timer per connection
  }

  /** Corked: the `flushSoon` of this turn. */
  sendCorked(): void {
    this.#flushQueued = false;
    this.flush();
  }

  waitSocket(ex: H2Exchange): void {
    this.#socketWaiters ??= [];
    this.#socketWaiters.push(ex);
  }

  finished(ex: H2Exchange, status: number, failure: ProxyError | null): void {
    if (ex.requestDone) this.#drop(ex.id);
    this.#opts.onExchange(status, failure);
    this.#maybeEnd();
  }

  // Input

  #onBytes(chunk: Uint8Array): void {
    if (this.#closed || this.#ended) return; // after our end nothing more is answered
    const events = this.session.receive(chunk);
    for (let i = 0; i < events.length; i++) this.#onEvent(events[i] as H2ServerEvent);
    this.flush();
    this.#maybeEnd();
    const ms = this.#opts.headTimeoutMs;
    if (ms === undefined) return;
    if (this.#closed || this.#ended || !this.session.receivingHead) {
      this.#stopHeadWatch();
      return;
    }
    // Each head has its own deadline: a read that ends inside a head begun after the watched one
    // finished starts it anew.
    const ended = this.session.headsEnded;
    if (this.#headWatch !== null && this.#watchedFrom === ended) return;
    this.#stopHeadWatch();
    this.#watchedFrom = ended;
    this.#headWatch = idleWatch(ms, () => this.#headTimedOut(ms));
  }

  #headTimedOut(ms: number): void {
    this.#headWatch = null;
    if (this.#closed || this.#ended) return;
    if (this.#blocked) {
      // The proxy stopped reading (the client does not take its responses): not the client's delay.
      this.#headWatch = idleWatch(ms, () => this.#headTimedOut(ms));
      return;
    }
    const err = headTimeout(ms);
    this.#failure ??= err;
    const events = this.session.abandon(H2ErrorCode.ENHANCE_YOUR_CALM, err.message);
    for (let i = 0; i < events.length; i++) this.#onEvent(events[i] as H2ServerEvent);
  }

  #stopHeadWatch(): void {
    this.#headWatch?.stop();
    this.#headWatch = null;
  }

  #onEvent(ev: H2ServerEvent): void {
    switch (ev.type) {
      case "request":
        this.#onRequest(ev);
        return;
      case "data": {
        const ex = this.#exchanges?.get(ev.streamId);
        const sink = ex?.request;
        if (!ex || !sink) this.session.consumed(ev.streamId, ev.data.length);
        else if (!sink.write(ev.data) || ex.unacked > 0)
          ex.unacked += ev.data.length; // granted on onDrain
        else this.session.consumed(ev.streamId, ev.data.length);
        return;
      }
      case "end": {
        const ex = this.#exchanges?.get(ev.streamId);
        if (!ex) return;
        ex.requestDone = true;
        if (ex.done) this.#drop(ex.id);
        ex.request?.end(ev.trailers);
        return;
      }
      case "reset": {
        const ex = this.#exchanges?.get(ev.streamId);
        if (!ex) return;
        this.#drop(ev.streamId);
        ex.gone(
          ev.remote
            ? new ProxyError("IO", "client reset the stream")
            : new ProxyError("HTTP_BAD_REQUEST", `malformed request body (HTTP/2 error ${ev.code})`),
        );
        return;
      }
      case "drained":
        this.#exchanges?.get(ev.streamId)?.windowFree();
        return;
      case "ended":
        this.#exchanges?.get(ev.streamId)?.sent();
        return;
      case "goaway":
        this.#ending = true;
        return;
      case "connection-error":
        this.#failure ??= ev.error;
        this.#abandonAll(ev.error);
        this.#endOutput(); // the GOAWAY naming the error goes first
        return;
    }
  }

  #onRequest(ev: RequestEvent): void {
    const id = ev.streamId;
    const r = ev.request;
    const ex = new H2Exchange(this, id);
    this.#exchanges ??= new Map();
    this.#exchanges.set(id, ex);
    if (ev.oversize) {
      ex.answer(431, new ProxyError("HEADERS_TOO_LARGE", "request header list exceeds the limit"));
      return;
    }
    if (r.method === "CONNECT" || r.protocol !== null) {
      ex.answer(405, new ProxyError("HTTP_BAD_REQUEST", "CONNECT inside a tunnel is not supported"));
      return;
    }
    if (r.scheme !== "https" && r.scheme?.toLowerCase() !== "https") {
      // As an http:// URL from an HTTP/1.1 client (bridgeTlsRequest): sent on, it would reach the
      // origin as https under the client's nose.
      ex.answer(
        400,
        new ProxyError("HTTP_BAD_REQUEST", `:scheme ${r.scheme} inside a TLS tunnel (only https)`),
      );
      return;
    }
    if (r.authority === null || r.authority !== this.#checkedAuthority) {
      try {
        checkAuthority(r.authority, this.#opts.target);
      } catch (err) {
        ex.answer(421, ProxyError.wrap(err, "HTTP_BAD_REQUEST"));
        return;
      }
      this.#checkedAuthority = r.authority;
    }
    const head = {
      method: r.method,
      authority: r.authority ?? "",
      path: r.path ?? "/",
      fields: r.fields,
      clientProtocol: "h2" as const,
      bodyLength: ev.endStream ? null : (r.contentLength ?? -1),
    };
    // `Expect: 100-continue` (curl sends it before large uploads) is answered here, as node:http2
    // did, and never passed on (src/http/headers/names.ts).
    if (!ev.endStream && expectsContinue(r.fields)) ex.interim(100, []);
    let sink: H2Exchange["request"];
    try {
      sink = this.#opts.dispatcher.request(head, ex);
    } catch (err) {
      ex.fail(ProxyError.wrap(err, "INTERNAL"));
      sink = discardSink(); // the dispatcher refused to take it (it threw)
    }
    if (ex.requestDone) {
      sink?.abort(new ProxyError("IO", "client reset the stream")); // reset meanwhile: cancel upstream
      return;
    }
    ex.request = sink;
    // A request that ended with its head has no body to hold back: no drain to wait for.
    if (sink !== null && !ev.endStream) sink.onDrain = () => this.#requestDrained(ex);
  }

  #drop(id: number): void {
    const m = this.#exchanges;
    if (m === null) return;
    const ex = m.get(id);
    m.delete(id);
    if (m.size === 0) this.#exchanges = null;
    // Body bytes still counted against the client's windows are delivered or discarded by now:
    // whatever the sink did or did not signal, the connection window gets them back (else each
    // such exchange would shrink it for the life of the connection, until uploads stall).
    if (ex !== undefined && ex.unacked > 0 && !this.#closed) {
      const n = ex.unacked;
      ex.unacked = 0;
      this.session.consumed(id, n);
      this.flush();
    }
  }

  /** The request sink has room again: grant the client what it held. */
  #requestDrained(ex: H2Exchange): void {
    const n = ex.unacked;
    if (n === 0 || this.#closed) return;
    ex.unacked = 0;
    this.session.consumed(ex.id, n);
    this.flush();
  }

  #onSocketDrain(): void {
    if (!this.#blocked || this.#closed) return;
    this.#blocked = false;
    this.#ep.resume();
    const waiters = this.#socketWaiters;
    this.#socketWaiters = null;
    if (waiters !== null) for (let i = 0; i < waiters.length; i++) (waiters[i] as H2Exchange).socketFree();
  }

  /**
   * The client finished sending: requests still incoming can never complete, and neither can
   * responses waiting for its flow-control window (no WINDOW_UPDATE can come): both are cancelled
   * upstream, so that the connection ends now rather than at the idle timeout. So are requests
   * still waiting for their answer: the client has given up on them (a long poll it timed out), as
   * over HTTP/1.1 and as nginx does; a response already on its way goes on.
   */
  #onInputEnd(): void {
    if (this.#closed) return;
    this.#ending = true;
    this.inputEnded = true;
    for (const ex of [...(this.#exchanges?.values() ?? [])]) {
      if (ex.waitingWindow) {
        ex.abort(windowNever());
        continue;
      }
      const incoming = !ex.requestDone && this.session.receiving(ex.id);
      if (!incoming && ex.answered) continue;
      this.session.resetStream(ex.id, H2ErrorCode.CANCEL);
      this.#drop(ex.id);
      ex.gone(
        new ProxyError(
          "IO",
          incoming
            ? "client connection closed before the request body ended"
            : "client connection closed before the answer",
        ),
      );
    }
    this.flush();
    this.#maybeEnd();
  }

  /** Ends our side once the client is ending and no stream is left. */
  #maybeEnd(): void {
    if (this.#ending && !this.#ended && !this.#closed && this.session.activeStreams === 0) this.#endOutput();
  }

  #endOutput(): void {
    if (this.#ended || this.#closed) return;
    this.flush();
    this.#ended = true;
    this.#ep.end();
    destroyAfterLinger(this.#ep); // a client that keeps its side open is cut off
  }

  #abandonAll(err: ProxyError): void {
    const all = [...(this.#exchanges?.values() ?? [])];
    this.#exchanges = null;
    this.#socketWaiters = null;
    for (let i = 0; i < all.length; i++) (all[i] as H2Exchange).gone(err);
  }

  #teardown(err: ProxyError | null): void {
    if (err) this.#failure ??= err;
    if (this.#closed) return;
    this.#closed = true;
    this.#stopHeadWatch();
    this.#abandonAll(err ?? new ProxyError("IO", "client connection closed"));
    this.#opts.onClose(this.#failure);
  }
}

/** Serves the decrypted client side of a tunnel as HTTP/2 until the client goes away. */
export function serveClientH2(
  ep: Endpoint,
  opts: ClientH2Options,
): { close(): void; drain(): void; readonly quiet: boolean } {
  // The connection itself, seen as its close handle: no wrapper object or closure per tunnel.
  return new ClientH2(ep, opts);
}
