/**
 * The protocol-neutral exchange between the client side of an HTTP-mode tunnel (HTTP/1.1 or
 * HTTP/2 spoken by the client) and its upstream side (HTTP/1.1 or HTTP/2 spoken as the browser).
 * Bodies are pushed with backpressure: a `write` returning false stops the producer until the
 * sink calls its `onDrain`.
 */
import type { ProxyError } from "../../errors/proxy-error.ts";
import type { HeaderField } from "../hpack/types.ts";

export type ClientProtocol = "h1" | "h2";

export interface RequestHead {
  method: string;
  /** `host[:port]` the request names (Host or :authority), already checked against CONNECT. */
  authority: string;
  /** origin-form target (path and query). */
  path: string;
  /** The client's regular header fields, lowercase names, in the client's wire order. */
  fields: HeaderField[];
  clientProtocol: ClientProtocol;
  /** null = no body; a number = declared length; -1 = length unknown (chunked, h2 without CL). */
  bodyLength: number | null;
  /**
   * HTTP/1.1 clients: each field name as the client spelled it, by lowercase name, so a header
   * the proxy passes through to an HTTP/1.1 origin keeps the client's case (HTTP/2 has none).
   */
  clientCase?: ReadonlyMap<string, string>;
}

/** A byte stream with backpressure and an optional trailer section at its end. */
export interface BodySink {
  /** false = stop writing until `onDrain` is called. */
  write(chunk: Uint8Array): boolean;
  end(trailers: HeaderField[] | null): void;
  /**
   * The other side failed: abandon the message (reset the stream, truncate the response). On a
   * request sink, also after `end()`: the client gave the exchange up, so the upstream exchange is
   * cancelled (HTTP/2 RST_STREAM(CANCEL), HTTP/1.1 connection closed, a queued request dropped)
   * and the Responder is not called any more.
   */
  abort(err: ProxyError): void;
  /** Set by the producer; called once after a `write` returned false, when there is room. */
  onDrain: (() => void) | null;
}

/** The client side's view of one response, driven by the upstream side. */
export interface Responder {
  /** A 1xx interim response (100, 103); never 101. */
  interim(status: number, fields: HeaderField[]): void;
  /** The final response head; `bodyless` for HEAD, 204, 304. Returns the body sink. */
  head(status: number, fields: HeaderField[], bodyless: boolean): BodySink;
  /** The exchange failed before or after the head: an error status, or a reset/truncation. */
  fail(err: ProxyError): void;
}

/** The upstream side of a tunnel, as the client side sees it. */
export interface Dispatcher {
  /**
   * Starts one request; returns the sink for its body (end it at once when there is none). Its
   * `abort` cancels the exchange at any time, with or without body, before or after `end`.
   */
  request(head: RequestHead, responder: Responder): BodySink;
  /** Closes every upstream connection. */
  close(): void;
}

/** How an upstream connection gives the dispatcher the request's sink (no closure per request). */
export interface RequestLink {
  /**
   * Called once the request is sent: the sink for its body or, without body, a sink whose only
   * use is `abort` (cancel the exchange).
   */
  attach(sink: BodySink): void;
  /** The client side gave the request up before it was sent: never send it. */
  readonly cancelled?: boolean;
}

/**
 * One direction of a connection after a protocol switch (`101 Switching Protocols` to an HTTP/1.1
 * `Upgrade: websocket` request): raw bytes with backpressure, no HTTP framing left.
 */
export interface ByteSink {
  /** false = stop writing until `onDrain` is called. */
  write(chunk: Uint8Array): boolean;
  /** The producer finished sending (half-close). */
  end(): void;
  /** The producer failed: tear the whole relay down. */
  abort(err: ProxyError): void;
  /** Set by the producer; called once after a `write` returned false, when there is room. */
  onDrain: (() => void) | null;
}

/**
 * A Responder that can take a protocol switch. The upstream side calls `upgrade` instead of
 * `head` when the origin answers 101 to a request carrying `Upgrade`: `toUpstream` carries the
 * client's bytes to the origin; the returned sink carries the origin's bytes to the client. The
 * client side writes the 101 head with `fields`. Only an HTTP/1.1 client side offers it; a
 * wrapper around a Responder must forward it (see `canUpgrade`).
 */
export interface UpgradeResponder extends Responder {
  upgrade(fields: HeaderField[], toUpstream: ByteSink): ByteSink;
}

export function canUpgrade(r: Responder): r is UpgradeResponder {
  return typeof (r as Partial<UpgradeResponder>).upgrade === "function";
}

/** A body sink that drops what it is given (the request body of a request answered locally). */
export function discardSink(): BodySink {
  return { write: () => true, end: () => {}, abort: () => {}, onDrain: null };
}
