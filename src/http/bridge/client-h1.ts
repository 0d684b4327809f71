/**
 * The client side of an HTTP-mode tunnel when the client speaks HTTP/1.x: reads requests off the
 * decrypted tunnel with the strict codec (keep-alive and pipelining), checks each one, hands it to
 * the dispatcher and streams its body with backpressure (the endpoint is paused while the
 * request sink says `false`). Responses go back in request order through ResponseQueue.
 *
 * - A malformed head or body (H1Error) is answered with its status (400, 414, 431, 501, 505) and
 *   `Connection: close`; nothing of it reaches the dispatcher.
 * - Requests naming another origin (421) and CONNECT (405) are refused: client-h1-request.ts.
 * - `Expect: 100-continue` is answered locally when the request is dispatched (and not passed on).
 * - At most PIPELINE_DEPTH requests are outstanding; no request is read past one that asked to
 *   upgrade until it is answered; a 101 turns the connection into a raw byte relay.
 * Idle keep-alive connections are bounded by the tunnel's idle timeout, not here.
 */
import { ProxyError } from "../../errors/proxy-error.ts";
import type { Authority } from "../../proxy/authority.ts";
import type { Endpoint } from "../../proxy/endpoint.ts";
import { headTimeout, type IdleWatch, idleWatch } from "../../proxy/timeout.ts";
import { BodyReader } from "../h1/body-reader.ts";
import { H1Error } from "../h1/errors.ts";
import {
  type RequestHead as H1RequestHead,
  RequestHeadScanner,
  type RequestLimits,
} from "../h1/request-head.ts";
import { concatBytes } from "../h2/frame-writer.ts";
import { type Exchange, ResponseQueue } from "./client-h1-queue.ts";
import { type AuthorityMemo, bridgeTlsRequest, lowerFields, Refusal } from "./client-h1-request.ts";
import { clientH1Responder } from "./client-h1-responder.ts";
import { type BodySink, type ByteSink, type Dispatcher, discardSink, type RequestHead } from "./message.ts";

export interface ClientH1Options {
  target: Authority;
  dispatcher: Dispatcher;
  limits: RequestLimits;
  /** Called once per finished exchange with its final status (0 = truncated). */
  /** `failure`: the error the proxy answered the exchange with (a local error status), if any. */
  onExchange(status: number, failure: ProxyError | null): void;
  /** Called once when the client connection is gone. */
  onClose(err: ProxyError | null): void;
  /** Bytes already read from the client (while sniffing the protocol). */
  prefix?: Uint8Array;
  /**
   * A request head must be whole within this many ms of its first byte, else `408` and the
   * connection ends (slowloris; `proxy.limits.header_timeout_ms`). Absent: no deadline.
   */
  headTimeoutMs?: number;
  /** Maps each head to its request or a local refusal instead of `bridgeRequest` (plain-HTTP proxying: src/proxy/forward-http.ts). */
  route?(head: H1RequestHead): RequestHead | Refusal;
}

/** Requests (pipelined, unanswered) before the reader stops taking more: bounds memory per connection. */
export const PIPELINE_DEPTH = 16;

const EMPTY = new Uint8Array(0);

/** The request body being read: its decoder, where it goes, and its exchange. */
interface Body {
  reader: BodyReader;
  sink: BodySink;
  ex: Exchange;
}

/** Where the rest of an answered request's body goes (see #dropAnsweredBody). */
const DROP: BodySink = discardSink();
/**
 * Bytes a stopped connection reads and drops before it stops reading: enough for the rest of a
 * refused request's body in flight, so the answer is read before any reset (nginx's lingering
 * close does the same); after them the connection is closed once its answers are out (until
 * then it is not read, and the idle timeout bounds it).
 */
const STOPPED_DROP_BYTES = 1024 * 1024;

/** `onUpgrade` of an exchange that did not ask to upgrade (never called: see client-h1-responder.ts). */
const NO_UPGRADE = (_: ByteSink): void => {};

const CONTINUE = new TextEncoder().encode("HTTP/1.1 100 Continue\r\n\r\n");

/** What the shared handlers of a connection are called on. */
interface Bound {
  readonly c: ClientH1;
}

class ClientH1 implements AuthorityMemo {
  readonly #ep: Endpoint;
  readonly #opts: ClientH1Options;
  readonly #queue: ResponseQueue;
  readonly #scanner: RequestHeadScanner;
  #input: Uint8Array[] = [];
  #mode: "head" | "body" | "relay" | "stopped" = "head";
  /** Bytes read and dropped since the mode became "stopped" (see #blocked). */
  #dropped = 0;
  #body: Body | null = null;
  #lastRequest = false;
  /** The proxy is draining (see drain()): every request read from now on is the last. */
  #draining = false;
  #sinkBlocked = false;
  #upgradeEx: Exchange | null = null;
  #relay: ByteSink | null = null;
  #relayBlocked = false;
  #relayEnded = false;
  #inputEnded = false;
  #endHandled = false;
  #paused = false;
  #pumping = false;
  #again = false;
  #closed = false;
  #failure: ProxyError | null = null;
  /** The deadline of a request head begun and not whole yet (see ClientH1Options.headTimeoutMs). */
  #headWatch: IdleWatch | null = null;
  /** See AuthorityMemo: a field here rather than one more object per connection. */
  checkedHost: string | null = null;

  constructor(ep: Endpoint, opts: ClientH1Options) {
    this.#ep = ep;
    this.#opts = opts;
    this.#scanner = new RequestHeadScanner(opts.limits);
    // One object carries the endpoint's and the queue's callbacks (see #handlers).
    const events = { c: this, ...ClientH1.#handlers };
    this.#queue = new ResponseQueue(ep, events);
    if (opts.prefix && opts.prefix.length > 0) this.#input.push(opts.prefix);
    ep.start(events);
    this.#pump();
  }

  /**
   * The endpoint handlers and queue hooks, shared by every connection: each connection gets one
   * object `{ c, ...these }` (own properties, no closures), so that an endpoint wrapper that
   * copies the handlers with a spread (src/proxy/forward-http.ts) keeps them and `c`.
   */
  static readonly #handlers = {
    data(this: Bound, chunk: Uint8Array): void {
      this.c.#input.push(chunk);
      this.c.#pump();
    },
    end(this: Bound): void {
      const c = this.c;
      c.#inputEnded = true;
      c.#dropAnsweredBody();
      // A full pipeline would keep the end from being seen (see #onInputEnd).
      if (c.#mode === "head" && c.#blocked() && !c.#endHandled) c.#onInputEnd();
      else c.#pump();
    },
    error(this: Bound, err: ProxyError): void {
      this.c.#teardown(err);
    },
    drain(this: Bound): void {
      this.c.#queue.drain();
    },
    close(this: Bound): void {
      this.c.#teardown(null);
    },
    onExchange(this: Bound, status: number, failure: ProxyError | null): void {
      this.c.#opts.onExchange(status, failure);
    },
    onProgress(this: Bound): void {
      if (this.c.#inputEnded) this.c.#dropAnsweredBody();
      this.c.#pump();
    },
    onStop(this: Bound, err: ProxyError | null): void {
      this.c.#onStop(err);
    },
  };

  close(): void {
    this.#ep.destroy();
    this.#teardown(null);
  }

  /** Between requests: none begun, none owed, no relay (what an idle keep-alive connection is). */
  get quiet(): boolean {
    return (
      !this.#closed &&
      this.#mode === "head" &&
      this.#queue.length === 0 &&
      !this.#scanner.started &&
      this.#input.length === 0
    );
  }

  /**
   * The proxy began its drain: no request is read after the one begun (if any); the answers owed
   * still go out, the last with `Connection: close`, then the connection ends. A connection idle
   * between requests ends now. A relay (after a 101) is left to the drain's end.
   */
  drain(): void {
    if (this.#closed || this.#draining || this.#mode === "relay" || this.#mode === "stopped") return;
    this.#draining = true;
    this.#lastRequest = true;
    if (this.#mode === "body" || (!this.#scanner.started && this.#input.length === 0)) {
      if (this.#mode === "head") this.#stopReading();
      this.#queue.closeWhenDone(); // the request being read, or the last one queued, is the last
    }
    // Otherwise a head is begun (or pipelined bytes wait): it is read and marked the last.
  }

  /** Cuts the connection with a TCP reset (the proxy gave up on it: idle timeout, shutdown). */
  reset(): void {
    this.#ep.reset();
    this.#teardown(null);
  }

  #blocked(): boolean {
    switch (this.#mode) {
      case "head":
        return (
          this.#queue.length >= PIPELINE_DEPTH ||
          this.#queue.full ||
          (this.#upgradeEx !== null && !this.#upgradeEx.done)
        );
      case "body":
        return this.#sinkBlocked;
      case "relay":
        return this.#relayBlocked;
      default:
        // Stopped: what the client still sends is read and dropped, so that closing with it unread
        // (a reset) cannot destroy the answer before the client reads it; but only so much, then
        // reading stops (a client could send for ever: a tester's 16 GB in 8 s at 80 % CPU).
        return this.#dropped > STOPPED_DROP_BYTES;
    }
  }

  #pump(): void {
    if (this.#pumping) {
      this.#again = true;
      return;
    }
    this.#pumping = true;
    try {
      do {
        this.#again = false;
        while (!this.#closed && !this.#blocked()) {
          const chunk = this.#input.shift();
          if (chunk === undefined) {
            if (this.#inputEnded && !this.#endHandled) this.#onInputEnd();
            break;
          }
          const rest = this.#step(chunk);
          if (rest.length > 0) this.#input.unshift(rest);
        }
      } while (this.#again);
    } finally {
      this.#pumping = false;
    }
    const blocked = this.#blocked();
    if (blocked && !this.#paused && !this.#closed) this.#ep.pause();
    else if (!blocked && this.#paused && !this.#closed) this.#ep.resume();
    this.#paused = blocked;
  }

  #step(chunk: Uint8Array): Uint8Array {
    switch (this.#mode) {
      case "head":
        return this.#stepHead(chunk);
      case "body":
        return this.#stepBody(chunk);
      case "relay":
        if (this.#relay && !this.#relay.write(chunk)) this.#relayBlocked = true;
        return EMPTY;
      default:
        // Stopped: nothing more is taken from this connection. Past the bound, with every answer
        // written, it is closed (the client had 1 MiB of time to read them); until then, reading
        // stops (see #blocked).
        this.#dropped += chunk.length;
        if (this.#dropped > STOPPED_DROP_BYTES && this.#queue.length === 0) this.#ep.destroy();
        return EMPTY;
    }
  }

  #stepHead(chunk: Uint8Array): Uint8Array {
    let parsed: ReturnType<RequestHeadScanner["push"]>;
    try {
      parsed = this.#scanner.push(chunk);
    } catch (err) {
      const ex = this.#queue.open("", "1.1", false, false);
      this.#refuse(ex, err instanceof H1Error ? err.status : 400, ProxyError.wrap(err, "HTTP_BAD_REQUEST"));
      return EMPTY;
    }
    if (parsed.kind === "incomplete") {
      if (this.#headWatch === null && this.#opts.headTimeoutMs !== undefined)
        this.#watchHead(this.#opts.headTimeoutMs);
      return EMPTY;
    }
    this.#stopHeadWatch();
    this.#scanner.reset();
    const rest = parsed.consumed === chunk.length ? EMPTY : chunk.subarray(parsed.consumed);
    return this.#onHead(parsed.head, rest);
  }

  #stepBody(chunk: Uint8Array): Uint8Array {
    const body = this.#body;
    if (body === null) return chunk;
    let step: ReturnType<BodyReader["push"]>;
    try {
      step = body.reader.push(chunk);
    } catch (err) {
      this.#bodyFailed(err);
      return EMPTY;
    }
    return this.#bodyStep(body, step);
  }

  #bodyStep(body: Body, step: ReturnType<BodyReader["push"]>): Uint8Array {
    for (const d of step.data) if (!body.sink.write(d)) this.#sinkBlocked = true;
    if (step.done) {
      this.#body = null;
      this.#sinkBlocked = false; // a `false` from the finished body's sink no longer holds
      body.ex.bodyPending = false;
      this.#mode = this.#lastRequest ? "stopped" : "head";
      body.sink.end(lowerFields(step.trailers));
    }
    return step.rest;
  }

  /**
   * Validates a complete head and the body bytes already read after it (so a malformed body that
   * came with its head, the usual smuggling payload, is refused before anything goes upstream),
   * then dispatches it; answers locally when it must not go upstream. Returns the bytes left.
   */
  #onHead(head: H1RequestHead, rest: Uint8Array): Uint8Array {
    const ex = this.#queue.open(head.method, head.version, head.keepAlive, head.upgrade !== null);
    if (this.#draining) ex.closeAfter = true;
    if (ex.closeAfter) this.#lastRequest = true;
    const req = this.#opts.route ? this.#opts.route(head) : bridgeTlsRequest(head, this.#opts.target, this);
    if (req instanceof Refusal) {
      this.#refuse(ex, req.status, req.error);
      return EMPTY;
    }
    const hasBody = req.bodyLength !== null && req.bodyLength !== 0;
    const reader = hasBody ? new BodyReader(head.body, "request") : null;
    let first: ReturnType<BodyReader["push"]> | null = null;
    if (reader !== null) {
      const available = concatBytes([rest, ...this.#input.splice(0)]);
      try {
        first = reader.push(available);
      } catch (err) {
        this.#refuse(ex, err instanceof H1Error ? err.status : 400, ProxyError.wrap(err, "HTTP_BAD_REQUEST"));
        return EMPTY;
      }
    }
    // Only a request that asked to upgrade can switch protocols (the responder refuses the rest).
    const onUpgrade =
      head.upgrade !== null ? (toUpstream: ByteSink) => this.#startRelay(toUpstream) : NO_UPGRADE;
    const responder = clientH1Responder(this.#queue, ex, onUpgrade);
    if (head.expectContinue && hasBody) {
      ex.sent100 = true;
      this.#queue.emit(ex, CONTINUE);
    }
    ex.bodyPending = hasBody;
    let sink: BodySink;
    try {
      sink = this.#opts.dispatcher.request(req, responder);
    } catch (err) {
      responder.fail(ProxyError.wrap(err, "INTERNAL"));
      sink = discardSink();
    }
    if (head.upgrade !== null) this.#upgradeEx = ex;
    if (reader === null || first === null) {
      if (this.#lastRequest) this.#mode = "stopped";
      sink.end(null);
      return rest;
    }
    this.#mode = "body";
    const body = { reader, sink, ex };
    this.#body = body;
    sink.onDrain = () => {
      if (this.#body !== body) return; // a late wake-up from a finished body
      this.#sinkBlocked = false;
      this.#pump();
    };
    return this.#bodyStep(body, first);
  }

  /**
   * The client finished sending (FIN) while the body of a request whose response is already
   * complete is unfinished (curl after an origin refused its upload with 413 before reading it):
   * the rest can never come, so its upstream request is cancelled and what the client still sent
   * is read and dropped, and the connection ends, rather than waiting until the idle timeout
   * behind a sink the origin no longer reads. A client still sending keeps its body flowing to
   * the origin (which may still read it: an early answer alone does not end a request).
   */
  #dropAnsweredBody(): void {
    const body = this.#body;
    if (body === null || !body.ex.done || body.sink === DROP) return;
    const sink = body.sink;
    body.sink = DROP;
    sink.onDrain = null;
    this.#sinkBlocked = false;
    sink.abort(new ProxyError("IO", "the response ended before the request body"));
  }

  /** Starts the deadline of a head whose first bytes came (a timer only for a head split across reads). */
  #watchHead(ms: number): void {
    this.#headWatch = idleWatch(ms, () => {
      this.#headWatch = null;
      if (this.#closed || this.#mode !== "head") return;
      if (this.#blocked()) {
        this.#watchHead(ms); // the proxy stopped reading (a full pipeline): not the client's delay
        return;
      }
      this.#refuse(this.#queue.open("", "1.1", false, false), 408, headTimeout(ms));
      this.#pump();
    });
  }

  #stopHeadWatch(): void {
    this.#headWatch?.stop();
    this.#headWatch = null;
  }

  /** A local answer that ends the connection: nothing more is read. */
  #refuse(ex: Exchange, status: number, err: ProxyError): void {
    this.#failure ??= err;
    this.#stopReading();
    this.#queue.answer(ex, status, err, true);
  }

  /** The request body is malformed (or cut): answer its status, then abandon the upstream side. */
  #bodyFailed(cause: unknown): void {
    const body = this.#body;
    if (body === null) return;
    this.#body = null;
    const err = ProxyError.wrap(cause, "HTTP_BAD_REQUEST");
    this.#failure ??= err;
    this.#stopReading();
    if (body.ex.settled) this.#queue.truncate(body.ex, err);
    else this.#queue.answer(body.ex, cause instanceof H1Error ? cause.status : 400, err, true);
    body.sink.abort(err);
  }

  #stopReading(): void {
    this.#mode = "stopped";
    this.#input = [];
    this.#stopHeadWatch();
  }

  #startRelay(toUpstream: ByteSink): void {
    this.#mode = "relay";
    this.#relay = toUpstream;
    toUpstream.onDrain = () => {
      this.#relayBlocked = false;
      this.#pump();
    };
    if (this.#endHandled) {
      toUpstream.end(); // the client already finished sending
      this.#relayEnded = true;
    }
    this.#pump();
  }

  #onInputEnd(): void {
    this.#endHandled = true;
    if (this.#mode === "body" && this.#body !== null) {
      if (this.#body.ex.done) {
        // Answered already (see #dropAnsweredBody): a client giving up on the rest of its
        // upload after the answer is not an error; the connection just ends.
        this.#dropAnsweredBody();
        this.#body = null;
        this.#stopReading();
        this.#queue.closeWhenDone();
        return;
      }
      try {
        this.#body.reader.finish();
      } catch (err) {
        this.#bodyFailed(err);
      }
      return;
    }
    if (this.#mode === "relay") {
      this.#relay?.end();
      this.#relayEnded = true;
      return;
    }
    this.#stopReading();
    if (this.#queue.unanswered) {
      // A client that closes while its requests wait for their answers has given up on them (a
      // long poll it timed out, a page it left): they are cancelled upstream and the connection
      // ends now, as nginx does, rather than when the answers come or the idle timeout fires. A
      // client that only half-closed its side gets no answer (none of ours do).
      this.#ep.destroy();
      this.#teardown(null);
      return;
    }
    this.#queue.closeWhenDone();
  }

  #onStop(err: ProxyError | null): void {
    if (err === null && this.#mode === "relay") return; // the origin half-closed: keep relaying up
    if (err) this.#failure ??= err;
    const body = this.#body;
    this.#body = null;
    body?.sink.abort(err ?? new ProxyError("IO", "client connection closed before the request body ended"));
    if (this.#mode === "relay") this.#relay?.abort(err ?? new ProxyError("IO", "relay ended"));
    this.#stopReading();
  }

  #teardown(err: ProxyError | null): void {
    if (err) this.#failure ??= err;
    if (this.#closed) return;
    this.#closed = true;
    this.#queue.shutdown();
    const gone = err ?? new ProxyError("IO", "client connection closed");
    this.#body?.sink.abort(gone);
    this.#body = null;
    if (this.#mode === "relay" && !(err === null && this.#relayEnded)) this.#relay?.abort(gone);
    this.#mode = "stopped";
    this.#input = [];
    this.#stopHeadWatch();
    this.#opts.onClose(this.#failure);
  }
}

/** Serves the decrypted client side of a tunnel as HTTP/1.1 until the client goes away. */
export function serveClientH1(
  ep: Endpoint,
  opts: ClientH1Options,
): { close(): void; reset(): void; drain(): void; readonly quiet: boolean } {
  // The connection itself, seen as its close handle: no wrapper object or closure per tunnel.
  return new ClientH1(ep, opts);
}
