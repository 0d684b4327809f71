/**
 * One upstream HTTP/1.1 connection spoken as the browser: one request at a time (browsers do not
 * pipeline), the head written exactly as the header policy built it, the response read with the
 * strict codec and streamed with backpressure (the upstream endpoint is paused while the client
 * sink says `false`). The dispatcher pools these (`busy`, `usable`, `onIdle`, `onGone`); a
 * connection is reused only when the response allows it (`keepAlive`), else it is ended.
 *
 * An upstream EOF or error inside a framed body aborts the client sink with UPSTREAM_TRUNCATED:
 * never a clean end. A close-delimited body ends at EOF, unless the endpoint reports that EOF as
 * a truncation (TLS without close_notify). A 101 to a request carrying `Upgrade` hands the raw
 * connection to the client side (`UpgradeResponder.upgrade`); the connection is then a relay.
 * Response fields go to the client side with lowercase names, in order; transfer codings other
 * than `chunked` are refused (HTTP_PROTOCOL).
 */
import { ProxyError } from "../../errors/proxy-error.ts";
import type { Endpoint } from "../../proxy/endpoint.ts";
import type { Ticked, WatchGroup } from "../../proxy/timeout.ts";
import { BodyReader } from "../h1/body-reader.ts";
import { type ResponseHead, ResponseHeadScanner } from "../h1/response-head.ts";
import { asciiLower } from "../h1/syntax.ts";
import { type Cancellable, CancelSink } from "./cancel-sink.ts";
import { type HeadTicker, headTicker, headTimeoutMessage } from "./head-deadline.ts";
import { destroyAfterLinger } from "./linger.ts";
import { type BodySink, type ByteSink, canUpgrade, type RequestLink, type Responder } from "./message.ts";
import { markUnprocessed } from "./retry.ts";
import { type H1Request, requestBodySink, requestHeadBytes } from "./upstream-h1-request.ts";
import { lowered, responseFields, truncated, unsupportedCoding } from "./upstream-h1-response.ts";

export type { H1Request } from "./upstream-h1-request.ts";

const EMPTY = new Uint8Array(0);

interface Exchange {
  responder: Responder;
  upgradeAsked: boolean;
  scanner: ResponseHeadScanner;
  reader: BodyReader | null;
  response: BodySink | null;
  request: (BodySink & { wantsDrain: boolean }) | null;
  requestDone: boolean;
  responseDone: boolean;
  /** After a 101: the client's side of the relay. */
  toClient: ByteSink | null;
  /** A byte of the response arrived. */
  gotBytes: boolean;
}

export class UpstreamH1 implements Cancellable<object>, Ticked {
  readonly #ep: Endpoint;
  #ex: Exchange | null = null;
  #input: Uint8Array[] = [];
  #eof: { truncation: ProxyError | null } | null = null;
  #blocked = false;
  #paused = false;
  #noReuse = false;
  #relay = false;
  #toUpstream: ByteSink | null = null;
  /** A relay whose origin side ended cleanly (FIN with close_notify), passed on to the client. */
  #relayUpEnded = false;
  #closed = false;
  #goneSent = false;
  /** Exchanges completed on this connection (a later one runs on a reused connection). */
  #served = 0;
  /**
   * The connection sat idle before its first request (a CONNECT tunnel's, dialled before `200`):
   * the origin may have closed it meanwhile, so its first exchange counts as a reused one's.
   */
  readonly #idledFirst: boolean;
  /** The response-head deadline's ticker (null: none), and since when the exchange waits (-1: not). */
  readonly #ticker: HeadTicker | null;
  #waitingSince = -1;
  /** Called when the connection can take another request. */
  onIdle: (() => void) | null = null;
  /** Called once when the connection will take no more requests. */
  onGone: (() => void) | null = null;

  /** `responseTimeoutMs`: see head-deadline.ts (absent: none). */
  constructor(ep: Endpoint, opts?: { idledFirst?: boolean; responseTimeoutMs?: number | undefined }) {
    this.#ep = ep;
    this.#idledFirst = opts?.idledFirst ?? false;
    this.#ticker = headTicker(opts?.responseTimeoutMs);
    ep.start({
      data: (chunk) => {
        this.#input.push(chunk);
        this.#pump();
      },
      end: (truncation) => {
        this.#eof = { truncation: truncation ?? null };
        this.#pump();
      },
      error: (err) => this.#fail(err),
      drain: () => this.#onDrain(),
      close: () => this.#onClose(),
    });
  }

  /** An exchange (or a relay) is in progress. */
  get busy(): boolean {
    return this.#ex !== null || this.#relay;
  }

  /** The connection can take requests (now, or once not busy). */
  get usable(): boolean {
    return !this.#closed && !this.#noReuse && !this.#relay && this.#eof === null;
  }

  /**
   * Sends one request. `link` receives the sink for its body (or, without body, the exchange's
   * cancel handle) right after the head is written; a cancelled link is not sent. Fails the
   * responder if the connection is busy or unusable.
   */
  request(req: H1Request, responder: Responder, link: RequestLink): void {
    if (link.cancelled) return;
    if (this.busy || !this.usable) {
      responder.fail(new ProxyError("INTERNAL", "upstream HTTP/1.1 connection is busy or gone"));
      return;
    }
    let head: Uint8Array;
    try {
      head = requestHeadBytes(req);
    } catch (err) {
      responder.fail(ProxyError.wrap(err, "HTTP_BAD_REQUEST"));
      return;
    }
    const fieldNames = req.fields.map(([n]) => asciiLower(n));
    const connection = req.fields.filter(([n]) => asciiLower(n) === "connection").map(([, v]) => v);
    if (connection.some((v) => v.split(",").some((t) => asciiLower(t.trim()) === "close")))
      this.#noReuse = true;
    const length = req.hasBody ? req.bodyLength : null;
    const ex: Exchange = {
      responder,
      upgradeAsked: fieldNames.includes("upgrade"),
      scanner: new ResponseHeadScanner(req.method),
      reader: null,
      response: null,
      request: null,
      requestDone: length === null,
      responseDone: false,
      toClient: null,
      gotBytes: false,
    };
    this.#ex = ex;
    this.#ep.write(head);
    if (length === null) {
      this.#startWaiting(ex);
      link.attach(new CancelSink(this, ex));
      return;
    }
    ex.request = requestBodySink(this.#ep, length, {
      dead: () => this.#ex !== ex,
      done: () => {
        ex.requestDone = true;
        this.#startWaiting(ex); // the whole request is out: the head is due
        this.#maybeComplete(ex);
      },
      failed: (err) => this.#fail(err),
      cancelled: (err) => this.cancel(ex, err),
    });
    link.attach(ex.request);
  }

  /**
   * The client gave exchange `ex` up: an HTTP/1.1 response cannot be abandoned but by closing the
   * connection, so it is destroyed without calling the responder again (the pool replaces it). A
   * relay is torn down as a failure (both sides are told); a finished exchange is left alone.
   */
  cancel(ex: object, err: ProxyError): void {
    const cur = this.#ex;
    if (cur === null || cur !== ex) return;
    if (cur.toClient !== null) {
      this.#fail(err);
      return;
    }
    this.#stopWaiting();
    this.#ex = null;
    this.#closed = true;
    this.#input = [];
    this.#ep.destroy();
    this.#gone();
  }

  /** Ends the connection (idle pool trim, tunnel end); an exchange in progress is failed. */
  close(): void {
    if (this.busy) {
      this.#fail(new ProxyError("IO", "upstream HTTP/1.1 connection closed by the proxy"));
      return;
    }
    if (this.#closed) return;
    this.#closed = true;
    this.#ep.end();
    destroyAfterLinger(this.#ep);
    this.#gone();
  }

  #pump(): void {
    for (;;) {
      if (this.#closed || this.#blocked) break;
      const chunk = this.#input.shift();
      if (chunk === undefined) {
        if (this.#eof !== null) this.#onEof(this.#eof.truncation);
        break;
      }
      const ex = this.#ex;
      if (ex === null) {
        // Bytes while idle (e.g. a 408 before closing): the connection is not reusable.
        this.#noReuse = true;
        this.close();
        return;
      }
      ex.gotBytes = true;
      const rest = this.#step(ex, chunk);
      if (rest.length > 0) this.#input.unshift(rest);
    }
    const want = this.#blocked && !this.#closed;
    if (want !== this.#paused) {
      this.#paused = want;
      if (want) this.#ep.pause();
      else this.#ep.resume();
    }
  }

  #step(ex: Exchange, chunk: Uint8Array): Uint8Array {
    if (ex.toClient !== null) {
      if (!ex.toClient.write(chunk)) this.#blocked = true;
      return EMPTY;
    }
    if (ex.reader === null) return this.#stepHead(ex, chunk);
    let step: ReturnType<BodyReader["push"]>;
    try {
      step = ex.reader.push(chunk);
    } catch (err) {
      this.#fail(ProxyError.wrap(err, "HTTP_PROTOCOL"));
      return EMPTY;
    }
    for (const d of step.data) if (ex.response?.write(d) === false) this.#blocked = true;
    if (step.done) {
      const trailers = step.trailers && step.trailers.length > 0 ? lowered(step.trailers) : null;
      ex.response?.end(trailers);
      if (step.rest.length > 0) this.#noReuse = true; // bytes past the response: not ours to read
      this.#responseDone(ex);
      return EMPTY;
    }
    return EMPTY;
  }

  #stepHead(ex: Exchange, chunk: Uint8Array): Uint8Array {
    let parsed: ReturnType<ResponseHeadScanner["push"]>;
    try {
      parsed = ex.scanner.push(chunk);
    } catch (err) {
      this.#fail(ProxyError.wrap(err, "HTTP_PROTOCOL"));
      return EMPTY;
    }
    if (parsed.kind === "incomplete") return EMPTY;
    ex.scanner.reset();
    const rest = chunk.subarray(parsed.consumed);
    const head = parsed.head;
    if (head.interim) {
      ex.responder.interim(head.status, lowered(head.rawHeaders));
      return rest;
    }
    this.#stopWaiting();
    if (head.upgraded) {
      this.#upgrade(ex, head);
      return rest;
    }
    const refused = unsupportedCoding(head);
    if (refused !== null) {
      this.#fail(refused);
      return EMPTY;
    }
    if (!head.keepAlive) this.#noReuse = true;
    const sink = ex.responder.head(head.status, responseFields(head), head.body.kind === "none");
    const reader = new BodyReader(head.body, "response");
    if (reader.done) {
      sink.end(null); // no body, or Content-Length: 0
      if (rest.length > 0) this.#noReuse = true; // bytes past the response: not ours to read
      this.#responseDone(ex);
      return EMPTY;
    }
    ex.response = sink;
    ex.reader = reader;
    sink.onDrain = () => {
      if (ex.response !== sink) return; // a late wake-up from a finished response
      this.#blocked = false;
      this.#pump();
    };
    return rest;
  }

  #upgrade(ex: Exchange, head: ResponseHead): void {
    const responder = ex.responder;
    if (!ex.upgradeAsked || head.status !== 101 || !canUpgrade(responder)) {
      this.#fail(new ProxyError("HTTP_PROTOCOL", "upstream switched protocols without being asked"));
      return;
    }
    this.#relay = true;
    this.#noReuse = true;
    const ep = this.#ep;
    const toUpstream: ByteSink = {
      write: (chunk) => {
        try {
          return ep.write(chunk);
        } catch (err) {
          this.#fail(ProxyError.wrap(err, "IO")); // the connection was already shut
          return true;
        }
      },
      end: () => ep.end(),
      abort: () => ep.reset(),
      onDrain: null,
    };
    this.#toUpstream = toUpstream;
    const toClient = responder.upgrade(lowered(head.rawHeaders), toUpstream);
    ex.toClient = toClient;
    toClient.onDrain = () => {
      this.#blocked = false;
      this.#pump();
    };
    this.#gone();
  }

  #onEof(truncation: ProxyError | null): void {
    const ex = this.#ex;
    this.#eof = null;
    this.#noReuse = true;
    if (ex === null) {
      this.close();
      return;
    }
    if (ex.toClient !== null) {
      // A relay (after a 101) passes a truncation on as one: never a clean close to the client.
      if (truncation === null) {
        this.#relayUpEnded = true;
        ex.toClient.end();
      } else this.#fail(truncation);
      return;
    }
    if (ex.reader !== null && ex.reader.framing.kind === "close" && truncation === null) {
      ex.reader.finish();
      ex.response?.end(null);
      this.#responseDone(ex);
      return;
    }
    const why = ex.reader === null ? "before its response" : "inside the response body";
    this.#fail(
      new ProxyError("UPSTREAM_TRUNCATED", `upstream closed the connection ${why}`, { cause: truncation }),
    );
  }

  #onDrain(): void {
    const req = this.#ex?.request;
    if (req?.wantsDrain) {
      req.wantsDrain = false;
      req.onDrain?.();
    }
    this.#toUpstream?.onDrain?.();
  }

  #responseDone(ex: Exchange): void {
    ex.responseDone = true;
    this.#blocked = false; // a `false` from the finished response's sink no longer holds
    ex.response = null;
    ex.reader = null;
    if (!ex.requestDone) this.#noReuse = true; // answered before the upload ended
    this.#maybeComplete(ex);
  }

  #maybeComplete(ex: Exchange): void {
    if (!ex.requestDone || !ex.responseDone || this.#ex !== ex) return;
    this.#ex = null;
    this.#served += 1;
    if (this.#noReuse || this.#eof !== null) this.close();
    else this.onIdle?.();
  }

  /** The connection failed: the exchange is failed or truncated, the endpoint destroyed. */
  /**
   * The socket closed: a failure, but for a relay whose origin side had ended cleanly, where it
   * is the relay's normal end (a failure after that end still resets the client: #fail).
   */
  #onClose(): void {
    if (!this.#relayUpEnded) {
      this.#fail(new ProxyError("IO", "upstream connection closed"));
      return;
    }
    if (this.#closed) return;
    this.#closed = true;
    this.#ex = null;
    this.#gone();
  }

  /** The response-head deadline runs for `ex` (sent whole, no final head yet). */
  #startWaiting(ex: Exchange): void {
    if (this.#ticker === null || ex.reader !== null || ex.toClient !== null || this.#ex !== ex) return;
    if (this.#waitingSince < 0) this.#ticker.add(this);
    this.#waitingSince = performance.now();
  }

  #stopWaiting(): void {
    if (this.#waitingSince < 0) return;
    this.#waitingSince = -1;
    this.#ticker?.remove(this);
  }

  /** Ticked (the deadline's group): the exchange waited `ms` for its head: it fails (504), the connection ends. */
  onTick(group: WatchGroup): void {
    const ms = group.ms;
    if (this.#waitingSince < 0 || performance.now() - this.#waitingSince < ms) return;
    this.#fail(new ProxyError("UPSTREAM_TIMEOUT", headTimeoutMessage(ms)));
  }

  #fail(err: ProxyError): void {
    this.#stopWaiting();
    if (this.#closed && this.#ex === null) return;
    this.#closed = true;
    const ex = this.#ex;
    this.#ex = null;
    this.#input = [];
    if (ex?.toClient) ex.toClient.abort(err);
    else if (ex?.response) ex.response.abort(truncated(err));
    else if (ex && !ex.responseDone) {
      // A reused (or long idle) connection the origin closed before answering: the request was
      // not processed (RFC 9112 §9.3.1); the dispatcher may send it again elsewhere.
      const reused = this.#served > 0 || this.#idledFirst;
      // A request the origin took and left unanswered may have been processed: not sent again.
      const unprocessed =
        reused && !ex.gotBytes && err.code !== "HTTP_BAD_REQUEST" && err.code !== "UPSTREAM_TIMEOUT";
      ex.responder.fail(unprocessed ? markUnprocessed(err) : err);
    }
    this.#ep.destroy();
    this.#gone();
  }

  #gone(): void {
    if (this.#goneSent) return;
    this.#goneSent = true;
    this.onGone?.();
  }
}
