/**
 * A WebSocket from an HTTP/1.1 client carried over the tunnel's HTTP/2 connection as an RFC 8441
 * extended CONNECT, as Chromium and Firefox do when the origin's SETTINGS enable it (captures
 * local-debian-http/{chromium,firefox}-h2/cap-conn1.json): the request goes without the HTTP/1.1
 * handshake's key (RFC 8441 §5), and the client's 101 is made from the origin's 2xx with the
 * Sec-WebSocket-Accept its key asks for (RFC 6455 §4.2.2), which the origin never computes.
 */
import { createHash } from "node:crypto";
import type { ProxyError } from "../../errors/proxy-error.ts";
import type { HeaderField } from "../hpack/types.ts";
import type { BodySink, ByteSink, UpgradeResponder } from "./message.ts";

/** RFC 6455 §1.3. */
const WEBSOCKET_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/** The Sec-WebSocket-Accept value for a Sec-WebSocket-Key (RFC 6455 §4.2.2 item 5.4). */
export function websocketAccept(key: string): string {
  return createHash("sha1")
    .update(key + WEBSOCKET_GUID)
    .digest("base64");
}

/** The client's fields for the extended CONNECT: its handshake key stays with the proxy. */
export function extendedConnectFields(fields: readonly HeaderField[]): HeaderField[] {
  return fields.filter(([name]) => name !== "sec-websocket-key");
}

/** Hands on every call; `upgrade` turns the origin's 2xx fields into the client's 101 fields. */
class ExtendedConnectResponder implements UpgradeResponder {
  readonly #inner: UpgradeResponder;
  readonly #accept: string;

  constructor(inner: UpgradeResponder, accept: string) {
    this.#inner = inner;
    this.#accept = accept;
  }

  interim(status: number, fields: HeaderField[]): void {
    this.#inner.interim(status, fields);
  }

  head(status: number, fields: HeaderField[], bodyless: boolean): BodySink {
    return this.#inner.head(status, fields, bodyless);
  }

  fail(err: ProxyError): void {
    this.#inner.fail(err);
  }

  upgrade(fields: HeaderField[], toUpstream: ByteSink): ByteSink {
    const out: HeaderField[] = [
      ["upgrade", "websocket"],
      ["connection", "Upgrade"],
      ["sec-websocket-accept", this.#accept],
    ];
    for (let i = 0; i < fields.length; i++) {
      const f = fields[i] as HeaderField;
      if (f[0] !== "sec-websocket-accept" && f[0] !== "content-length") out.push(f);
    }
    return this.#inner.upgrade(out, toUpstream);
  }
}

/** `r` for an extended CONNECT whose client sent `key` (Sec-WebSocket-Key). */
export function extendedConnectResponder(r: UpgradeResponder, key: string): UpgradeResponder {
  return new ExtendedConnectResponder(r, websocketAccept(key));
}

/**
 * The byte relay of an extended CONNECT the origin answered 2xx: the client side writes its 101
 * (`responder.upgrade`), `upstream` (the stream's request sink) takes the client's bytes, and the
 * sink returned takes the origin's DATA for the client. `cancel` resets the stream (the client
 * side tore the relay down).
 */
export function relayStream(
  responder: UpgradeResponder,
  fields: HeaderField[],
  upstream: BodySink,
  cancel: (err: ProxyError) => void,
): BodySink {
  const toUpstream: ByteSink = {
    write: (chunk) => upstream.write(chunk),
    end: () => upstream.end(null),
    abort: cancel,
    onDrain: null,
  };
  upstream.onDrain = () => toUpstream.onDrain?.();
  const toClient = responder.upgrade(fields, toUpstream);
  const response: BodySink = {
    write: (chunk) => toClient.write(chunk),
    end: () => toClient.end(),
    abort: (err) => toClient.abort(err),
    onDrain: null,
  };
  toClient.onDrain = () => response.onDrain?.();
  return response;
}
