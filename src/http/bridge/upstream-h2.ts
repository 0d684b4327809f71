/**
 * One upstream HTTP/2 connection spoken as the browser: the pure H2ClientSession (our framer and
 * HPACK encoder, configured from the profile) over the upstream TLS endpoint. Carries every
 * request of a tunnel. Response bodies are acknowledged to the origin (WINDOW_UPDATE) only as
 * the client takes them, so a slow client holds at most the browser's windows in memory.
 */
import { ProxyError } from "../../errors/proxy-error.ts";
import type { H2HeadersPriority, Http2Profile } from "../../profiles/http-types.ts";
import type { Endpoint } from "../../proxy/endpoint.ts";
import type { Ticked, WatchGroup } from "../../proxy/timeout.ts";
import type { H2ClientSession } from "../h2/client-session.ts";
import { H2ErrorCode } from "../h2/errors.ts";
import type { H2Event } from "../h2/session-types.ts";
import type { HeaderField } from "../hpack/types.ts";
import { type Cancellable, CancelSink } from "./cancel-sink.ts";
import { type HeadTicker, headTicker, headTimeoutMessage } from "./head-deadline.ts";
import { destroyAfterLinger } from "./linger.ts";
import { type BodySink, canUpgrade, type RequestLink, type Responder } from "./message.ts";
import { markRefused } from "./retry.ts";
import { type Exchange, newExchange, resetError } from "./upstream-h2-exchange.ts";
import { browserSession } from "./upstream-h2-session.ts";
import { RequestBody, type UploadHost } from "./upstream-h2-upload.ts";
import { type Waiting, WaitQueue } from "./upstream-h2-waiting.ts";
import { relayStream } from "./websocket-h2.ts";

export { MAX_ENCODER_TABLE_BYTES, withGreaseSetting } from "./upstream-h2-session.ts";

export interface H2Request {
  /** Pseudo-headers first, in the profile's order, then regular fields. */
  fields: HeaderField[];
  hasBody: boolean;
  /** HEADERS priority; `last-open-higher` = the newest open stream of equal or higher weight. */
  priority: H2HeadersPriority | null;
  /** HEAD: the response has no body whatever its headers say. */
  head: boolean;
  /** Times the request was handed back unsent by a connection that went away (see #handBack). */
  requeued?: number;
  /**
   * An RFC 8441 extended CONNECT (a WebSocket over this connection): sent only once the origin's
   * SETTINGS enabled it, its stream stays open, and a 2xx answer makes it a byte relay through the
   * responder's `upgrade` (an UpgradeResponder). Its link gets only a cancel handle.
   */
  tunnel?: boolean;
  /**
   * An extended CONNECT that cannot go on the connection it reaches (handed on after a GOAWAY to
   * one whose origin did not enable it, or that answered HTTP/1.1) goes this way instead: on a
   * connection of its own.
   */
  fallback?: () => void;
}

/** Who hears that a connection can take no new streams: a method on the owner, no callback per connection. */
export interface H2Owner {
  h2Gone(c: UpstreamH2): void;
  /**
   * A request that waited for a stream slot on a connection that will never give it one (GOAWAY,
   * closed): it was never sent, body and all, so it goes on another connection as it is.
   */
  h2Requeue(req: H2Request, responder: Responder, link: RequestLink): void;
}

/**
 * How long the origin may take to send its SETTINGS (RFC 9113 §3.4: its first frame, sent at once
 * by every server) before the connection is given up (HTTP_PROTOCOL): the requests after the first
 * wait for them.
 */
export const SETTINGS_TIMEOUT_MS = 10_000;

/** Connections a request that never left may be handed on to (see #handBack). */
const MAX_REQUEUES = 3;

export class UpstreamH2 implements Cancellable<number>, Ticked {
  readonly #ep: Endpoint;
  readonly #session: H2ClientSession;
  /**
   * Open exchanges by stream id, made on first use and dropped when empty: a Map that held
   * entries keeps its table (~250 bytes) even when empty, and most connections sit idle.
   */
  #streams: Map<number, Exchange> | null = null;
  /** Requests waiting for the origin's SETTINGS or MAX_CONCURRENT_STREAMS. */
  #waiting: WaitQueue | null = null; // made on first use: most connections never wait
  /** What request bodies see of this connection (made on first use, see #uploadHost). */
  #host: UploadHost | null = null;
  /** The stream last added to `#streams` and its weight (for `#parent`); ids are never reused. */
  #newestId = 0;
  #newestWeight = 0;
  #closed = false;
  #blocked = false;
  /**
   * Whether the origin's SETTINGS were read. Until then one stream is opened, the first request,
   * which leaves with the preface as Chromium sends it (its captures: HEADERS before the SETTINGS
   * ACK), and no request DATA: what follows waits for the origin's own limits (an origin that
   * allows fewer streams, or a smaller window, than the defaults may enforce them at once).
   */
  #settled = false;
  /** Fails the connection if the origin's SETTINGS do not come (cleared once settled or closed). */
  #settingsTimer: ReturnType<typeof setTimeout> | null = null;
  /** Told when the connection can take no new streams (GOAWAY, error, close). */
  owner: H2Owner | null = null;
  /** Called once the origin's SETTINGS are read or the connection is over (see whenSettled). */
  #onSettled: (() => void)[] | null = null;
  /** The response-head deadline's ticker (null: none), and how many exchanges it watches. */
  readonly #ticker: HeadTicker | null;
  #headsDue = 0;

  readonly #streamWindowIncrement: number;

  /**
   * `settingsTimeoutMs`: see SETTINGS_TIMEOUT_MS (tests shorten it); `responseTimeoutMs`: see
   * head-deadline.ts (absent: none).
   */
  constructor(
    ep: Endpoint,
    profile: Http2Profile,
    settingsTimeoutMs = SETTINGS_TIMEOUT_MS,
    responseTimeoutMs?: number,
  ) {
    this.#ep = ep;
    this.#ticker = headTicker(responseTimeoutMs);
    this.#streamWindowIncrement = profile.streamWindowIncrement ?? 0;
    this.#session = browserSession(profile);
    // The client preface goes out before anything the origin already sent is read: reading its
    // SETTINGS first would put our SETTINGS ACK on the wire ahead of the connection preface.
    this.#ep.write(this.#session.preface());
    const handlers = { c: this, ...UpstreamH2.#handlers };
    ep.start(handlers);
    // Not when start() already delivered the origin's SETTINGS (an endpoint that held them while
    // the tunnel waited for the client): nothing would ever clear the timer.
    if (!this.#closed && !this.#settled) {
      this.#settingsTimer = setTimeout(UpstreamH2.#noSettings, settingsTimeoutMs, this, settingsTimeoutMs);
      this.#settingsTimer.unref?.();
    }
  }

  static #noSettings(c: UpstreamH2, ms: number): void {
    c.#settingsTimer = null;
    c.#fail(new ProxyError("HTTP_PROTOCOL", `upstream sent no HTTP/2 SETTINGS within ${ms} ms`));
  }

  /** The origin's SETTINGS came, or the connection is over: no more waiting for them. */
  #settle(): void {
    this.#settled = true;
    if (this.#settingsTimer !== null) clearTimeout(this.#settingsTimer);
    this.#settingsTimer = null;
    const calls = this.#onSettled;
    this.#onSettled = null;
    if (calls !== null) for (let i = 0; i < calls.length; i++) (calls[i] as () => void)();
  }

  /**
   * Calls `fn` once the origin's SETTINGS are read (at once if they were), or the connection is
   * over: what they allow (extended CONNECT) is known then.
   */
  whenSettled(fn: () => void): void {
    if (this.#settled) {
      fn();
      return;
    }
    this.#onSettled ??= [];
    this.#onSettled.push(fn);
  }

  /** The origin's SETTINGS enabled RFC 8441 extended CONNECT (false until they are read). */
  get extendedConnect(): boolean {
    return this.#settled && this.#session.extendedConnect;
  }

  /**
   * The endpoint's handlers, shared by every connection: each gets `{ c, ...these }` (own
   * properties, no closures; safe for an endpoint wrapper that copies handlers with a spread).
   */
  static readonly #handlers = {
    data(this: { c: UpstreamH2 }, bytes: Uint8Array): void {
      this.c.#onBytes(bytes);
    },
    end(this: { c: UpstreamH2 }): void {
      this.c.#fail(new ProxyError("UPSTREAM_TRUNCATED", "upstream closed the HTTP/2 connection"));
    },
    error(this: { c: UpstreamH2 }, e: ProxyError): void {
      this.c.#fail(e);
    },
    drain(this: { c: UpstreamH2 }): void {
      this.c.#blocked = false;
      this.c.#flush(); // what queued in the session meanwhile
      this.c.#retryPending();
    },
    close(this: { c: UpstreamH2 }): void {
      this.c.#fail(new ProxyError("IO", "upstream connection closed"));
    },
  };

  /** Whether new requests can go on this connection. */
  get usable(): boolean {
    return !this.#closed && !this.#session.goingAway && !this.#session.closed;
  }

  get activeStreams(): number {
    return this.#streams?.size ?? 0;
  }

  /**
   * Sends a request now, or when the peer's MAX_CONCURRENT_STREAMS allows; `link` receives the
   * sink for its body (or, without body, the stream's cancel handle) once the stream is open. A
   * request cancelled while it waited is never sent.
   */
  request(req: H2Request, responder: Responder, link: RequestLink): void {
    if (link.cancelled) return;
    if (!this.usable) {
      // Not sent (a slot freed in the same read as the origin's GOAWAY, say): another connection.
      this.#handOn({ req, responder, link });
      return;
    }
    const tunnel = req.tunnel === true;
    if (!this.#settled && (this.#newestId !== 0 || tunnel)) {
      this.#wait({ req, responder, link });
      return;
    }
    if (tunnel && !this.#session.extendedConnect) {
      // RFC 8441 §3: never without the origin's SETTINGS_ENABLE_CONNECT_PROTOCOL (the dispatcher
      // checked the connection it chose; a request handed on may reach another).
      if (req.fallback) req.fallback();
      else responder.fail(new ProxyError("HTTP_PROTOCOL", "upstream did not enable extended CONNECT"));
      return;
    }
    const p = req.priority;
    const r = this.#session.openStream({
      fields: req.fields,
      endStream: !req.hasBody && !tunnel,
      priority: p ? { exclusive: p.exclusive, weight: p.weight, dependency: this.#parent(p) } : undefined,
      windowIncrement: this.#streamWindowIncrement,
    });
    if (!r.ok) {
      if (r.reason === "concurrency-limit") {
        this.#wait({ req, responder, link });
      } else {
        responder.fail(
          markRefused(new ProxyError("UPSTREAM_UNREACHABLE", `upstream refused a new stream (${r.reason})`)),
        );
      }
      return;
    }
    const ex = newExchange(p?.weight ?? 0, responder, req.head, tunnel);
    this.#streams ??= new Map();
    this.#streams.set(r.streamId, ex);
    this.#newestId = r.streamId;
    this.#newestWeight = ex.weight;
    this.#flush();
    if (tunnel || !req.hasBody) this.#startWaiting(ex);
    if (tunnel) {
      // The relay's upstream direction, taken by #startRelay; the client side gets a cancel handle.
      ex.request = new RequestBody(this.#uploadHost(), r.streamId);
      link.attach(new CancelSink(this, r.streamId));
    } else if (req.hasBody) {
      ex.request = new RequestBody(this.#uploadHost(), r.streamId);
      link.attach(ex.request);
    } else link.attach(new CancelSink(this, r.streamId));
  }

  /**
   * The client gave the exchange up: RST_STREAM(CANCEL), as Chrome does for a cancelled request;
   * the session returns the stream's unconsumed bytes to the connection window, and DATA still
   * in flight is dropped. The responder is not called again. The session ignores a stream that is
   * over; one whose response ended while the upload goes on is reset, so the upload stops.
   */
  cancel(id: number, _err: ProxyError): void {
    // Reset first: when this was the last stream of a connection the origin sent GOAWAY on,
    // forgetting it closes the connection, and the RST_STREAM leaves with our GOAWAY.
    this.#session.resetStream(id, H2ErrorCode.CANCEL);
    this.#delete(id);
    // The freed slot (`open-capacity`) lets a waiting request go now, not at the origin's next frame.
    const events = this.#session.takeEvents();
    for (let i = 0; i < events.length; i++) this.#onEvent(events[i] as H2Event);
    this.#flush();
  }

  /** Sends (or fails) every waiting request, in order; those that still cannot go queue again. */
  #releaseWaiting(): void {
    const waiting = this.#waiting?.take() ?? null;
    if (waiting === null) return;
    for (let i = 0; i < waiting.length; i++) {
      const w = waiting[i] as Waiting;
      this.request(w.req, w.responder, w.link);
    }
  }

  #wait(w: Waiting): void {
    this.#waiting ??= new WaitQueue();
    this.#waiting.push(w);
  }

  #delete(id: number): void {
    const m = this.#streams;
    if (m === null) return;
    const ex = m.get(id);
    m.delete(id);
    if (ex !== undefined) this.#stopWaiting(ex);
    // Request bytes still queued for a stream that is over (answered before its body was read,
    // or reset) never go out: dropped, and their producer told, or it would keep holding the
    // client's window credit for them and the client's next uploads would stall.
    ex?.request?.dropped();
    if (m.size === 0) {
      this.#streams = null;
      this.#closeIfDrained();
    }
  }

  /**
   * After the origin's GOAWAY the connection takes no new stream: once its last one ended it is
   * closed, as a browser does (the origin may keep its side open for ever).
   */
  #closeIfDrained(): void {
    if (this.#streams !== null || this.#closed || !this.#session.goingAway) return;
    this.close();
    this.owner?.h2Gone(this); // the owner lets go of it
  }

  /** Chromium's parent rule: the newest still-open stream whose weight is >= this one's, else 0. */
  #parent(p: H2HeadersPriority): number {
    if (p.dependency !== "last-open-higher") return p.dependency;
    // Streams are added in id order, so the newest open one is the last added while it is open:
    // when it qualifies, no scan (a page's requests of equal weight take this path). Weights are
    // 1..256, so the initial 0 never qualifies.
    const streams = this.#streams;
    if (streams === null) return 0;
    if (this.#newestWeight >= p.weight && streams.has(this.#newestId)) return this.#newestId;
    let parent = 0;
    for (const [id, ex] of streams) {
      if (ex.weight >= p.weight) parent = id;
    }
    return parent;
  }

  /**
   * An extended CONNECT's 2xx: the stream becomes a byte relay. The client side writes its 101
   * (`upgrade`); DATA carries the bytes both ways, END_STREAM ends one direction, a reset both.
   */
  #startRelay(id: number, ex: Exchange, fields: HeaderField[]): void {
    const responder = ex.responder;
    const upstream = ex.request;
    if (!canUpgrade(responder) || upstream === null) {
      this.cancel(id, new ProxyError("INTERNAL", "extended CONNECT without a relay"));
      responder.fail(new ProxyError("INTERNAL", "extended CONNECT without a relay"));
      return;
    }
    ex.relay = { localEnded: false, remoteEnded: false };
    this.#takeResponse(
      id,
      ex,
      relayStream(responder, fields, upstream, (err) => this.cancel(id, err)),
    );
  }

  /** `sink` takes the stream's response body; DATA is acknowledged to the origin as it drains. */
  #takeResponse(id: number, ex: Exchange, sink: BodySink): void {
    ex.response = sink;
    sink.onDrain = () => {
      const n = ex.unacked;
      ex.unacked = 0;
      this.#session.consumed(id, n);
      this.#flush();
    };
  }

  #retryPending(): void {
    // A stream opened while this runs may be in a new Map: its pending bytes wait for the next
    // `writable` or drain, as they would after any short write. Nothing before the origin's SETTINGS.
    const streams = this.#streams;
    if (streams === null || !this.#settled) return;
    for (const ex of streams.values()) {
      if (this.#blocked) return;
      if (ex.request?.waiting === true) ex.request.pump();
    }
  }

  /** The bodies' view of this connection, made for its first request with a body. */
  #uploadHost(): UploadHost {
    if (this.#host !== null) return this.#host;
    const c = this;
    this.#host = {
      session: this.#session,
      get settled() {
        return c.#settled;
      },
      isOpen: (id) => c.#streams?.has(id) === true,
      flush: () => c.#flush(),
      cancel: (id, err) => c.cancel(id, err),
      sent: (id) => c.#requestSent(id),
    };
    return this.#host;
  }

  /** A request's END_STREAM went out: its head deadline starts, or its relay's direction ends. */
  #requestSent(id: number): void {
    const ex = this.#streams?.get(id);
    if (ex === undefined) return;
    if (!ex.tunnel) this.#startWaiting(ex); // the whole request is out
    const relay = ex.relay;
    if (relay) {
      relay.localEnded = true;
      if (relay.remoteEnded) this.#delete(id); // both directions over
    }
  }

  /**
   * Hands the session's output to the endpoint, unless the endpoint is full (`force`: the last
   * frames before an end): while it is, output stays in the session, whose bound refuses an origin
   * that floods it with frames to answer (PING, SETTINGS) while not reading ours. Handing it on
   * regardless let the endpoint buffer those answers without end (a tester's 3.5 GB in 12 s).
   */
  #flush(force = false): void {
    if (this.#blocked && !force) return;
    const out = this.#session.takeOutput();
    if (out.length === 0 || this.#closed) return; // after close(): nothing more goes out
    try {
      if (!this.#ep.write(out)) this.#blocked = true;
    } catch (err) {
      this.#fail(ProxyError.wrap(err, "IO")); // the TLS side is already shut
    }
  }

  #onBytes(bytes: Uint8Array): void {
    let events: H2Event[];
    try {
      events = this.#session.receive(bytes);
    } catch (err) {
      this.#fail(ProxyError.wrap(err, "HTTP_PROTOCOL"));
      return;
    }
    for (const ev of events) this.#onEvent(ev);
    this.#flush();
  }

  #onEvent(ev: H2Event): void {
    switch (ev.type) {
      case "headers": {
        const ex = this.#streams?.get(ev.streamId);
        if (!ex) return;
        if (ev.interim) {
          if (ev.status !== 101) ex.responder.interim(ev.status, ev.fields);
          return;
        }
        this.#stopWaiting(ex);
        if (ex.tunnel && ev.status >= 200 && ev.status < 300) {
          this.#startRelay(ev.streamId, ex, ev.fields);
          return;
        }
        const bodyless = ex.head || ev.status === 204 || ev.status === 304;
        this.#takeResponse(ev.streamId, ex, ex.responder.head(ev.status, ev.fields, bodyless));
        return;
      }
      case "data": {
        const ex = this.#streams?.get(ev.streamId);
        if (!ex?.response) return;
        if (ex.response.write(ev.data)) this.#session.consumed(ev.streamId, ev.data.length);
        else ex.unacked += ev.data.length;
        return;
      }
      case "trailers": {
        const ex = this.#streams?.get(ev.streamId);
        if (ex) ex.trailers = ev.fields;
        return;
      }
      case "end": {
        const ex = this.#streams?.get(ev.streamId);
        const relay = ex?.relay;
        if (relay && !relay.localEnded) {
          relay.remoteEnded = true; // the origin's direction only: the client's goes on
          ex?.response?.end(null);
          return;
        }
        // An extended CONNECT refused (not 2xx): the side we kept open is closed (reset first, as
        // in cancel(): forgetting the last stream may close the connection).
        if (ex?.tunnel === true && ex.relay === null)
          this.#session.resetStream(ev.streamId, H2ErrorCode.CANCEL);
        this.#delete(ev.streamId);
        ex?.response?.end(ex.trailers);
        return;
      }
      case "reset": {
        const ex = this.#streams?.get(ev.streamId);
        this.#delete(ev.streamId);
        if (!ex) return;
        // After its END_STREAM, RST_STREAM(NO_ERROR) is the origin's "stop sending" (RFC 9113
        // §8.1): the relay's upstream direction is over, what the client still sends is dropped.
        if (ex.relay?.remoteEnded === true && ev.remote && ev.code === H2ErrorCode.NO_ERROR) return;
        const err = resetError(ev, ex.relay !== null);
        if (ex.response) ex.response.abort(err);
        else ex.responder.fail(ev.retryable ? markRefused(err) : err);
        return;
      }
      case "settings":
        if (this.#settled) return;
        this.#settle();
        this.#retryPending();
        this.#releaseWaiting();
        return;
      case "writable":
        this.#retryPending();
        return;
      case "open-capacity":
        this.#releaseWaiting();
        return;
      case "goaway":
        this.owner?.h2Gone(this);
        // Requests waiting for a stream slot will never get one here: they go on another connection.
        this.#handBack(null);
        this.#closeIfDrained();
        return;
      case "connection-error":
        this.#flush(true); // the GOAWAY the session queued, naming the error, then a clean close
        this.#fail(ev.error, true);
        return;
      default:
        return;
    }
  }

  #fail(err: ProxyError, graceful = false): void {
    if (this.#closed) return;
    const worked = this.#settled; // an origin that never sent SETTINGS would fail them again
    this.#closed = true; // before #settle: what waited for the SETTINGS finds the connection unusable
    this.#settle();
    const streams = [...(this.#streams?.values() ?? [])];
    this.#streams = null;
    for (const ex of streams) this.#stopWaiting(ex);
    for (const ex of streams) {
      if (ex.response) ex.response.abort(err);
      else ex.responder.fail(err);
    }
    this.#handBack(worked ? null : err);
    if (graceful) {
      this.#ep.end();
      destroyAfterLinger(this.#ep);
    } else this.#ep.destroy();
    this.owner?.h2Gone(this);
  }

  /** The response-head deadline runs for `ex` (sent whole, or an extended CONNECT's HEADERS). */
  #startWaiting(ex: Exchange): void {
    if (this.#ticker === null || ex.response !== null || ex.waitingSince >= 0) return;
    ex.waitingSince = performance.now();
    if (this.#headsDue++ === 0) this.#ticker.add(this);
  }

  #stopWaiting(ex: Exchange): void {
    if (ex.waitingSince < 0) return;
    ex.waitingSince = -1;
    if (--this.#headsDue === 0) this.#ticker?.remove(this);
  }

  /**
   * Ticked (the deadline's group): each exchange that waited `ms` for its head is reset (CANCEL, as
   * for a request the client gave up) and fails (504); the connection and its other streams go on.
   */
  onTick(group: WatchGroup): void {
    const streams = this.#streams;
    if (streams === null) return;
    const ms = group.ms;
    const now = performance.now();
    const late: number[] = [];
    for (const [id, ex] of streams) if (ex.waitingSince >= 0 && now - ex.waitingSince >= ms) late.push(id);
    for (let i = 0; i < late.length; i++) {
      const id = late[i] as number;
      const ex = this.#streams?.get(id);
      if (ex === undefined) continue;
      this.#session.resetStream(id, H2ErrorCode.CANCEL);
      this.#delete(id);
      ex.responder.fail(new ProxyError("UPSTREAM_TIMEOUT", headTimeoutMessage(ms)));
    }
    // The freed slots (`open-capacity`) let waiting requests go now, as in cancel().
    const events = this.#session.takeEvents();
    for (let i = 0; i < events.length; i++) this.#onEvent(events[i] as H2Event);
    this.#flush();
  }

  /** Closed (by close(), a failure, or once drained after the origin's GOAWAY). */
  get closed(): boolean {
    return this.#closed;
  }

  close(): void {
    if (this.#closed) return;
    for (const ex of this.#streams?.values() ?? []) this.#stopWaiting(ex); // off the ticker
    this.#session.goaway();
    this.#flush(true);
    this.#ep.end();
    destroyAfterLinger(this.#ep);
    this.#closed = true;
    this.#settle(); // after #closed: what waited for the SETTINGS finds the connection unusable
    this.#handBack(null);
  }

  /**
   * The requests still waiting for a stream slot (never sent): handed to the owner for another
   * connection, or failed with `err` (an origin that never worked), or refused without an owner.
   */
  #handBack(err: ProxyError | null): void {
    const waiting = this.#waiting?.take() ?? null;
    if (waiting === null) return;
    for (let i = 0; i < waiting.length; i++) {
      const w = waiting[i] as Waiting;
      if (w.link.cancelled) continue;
      if (err !== null) w.responder.fail(err);
      else this.#handOn(w);
    }
  }

  /** A request this connection will never send: to the owner for another one, else refused. */
  #handOn(w: Waiting): void {
    if (this.owner !== null && (w.req.requeued ?? 0) < MAX_REQUEUES) {
      // Bounded: an origin that sends GOAWAY on every new connection must not make a loop.
      w.req.requeued = (w.req.requeued ?? 0) + 1;
      this.owner.h2Requeue(w.req, w.responder, w.link);
      return;
    }
    w.responder.fail(
      markRefused(new ProxyError("UPSTREAM_UNREACHABLE", "upstream HTTP/2 connection went away")),
    );
  }
}
