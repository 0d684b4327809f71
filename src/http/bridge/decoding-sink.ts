/**
 * Wraps a Responder so that a response in a content coding the client did not accept is decoded
 * on its way to the client: Content-Encoding and Content-Length are dropped and a strong ETag is
 * made weak (the representation changed, RFC 9110 §8.8.3). Codings the proxy cannot decode, and
 * codings the client accepts, pass through untouched. A bodyless answer (HEAD, 304) gets the
 * same fields as the body's answer would: it describes the representation the client would get.
 */
import type { ProxyError } from "../../errors/proxy-error.ts";
import type { HeaderField } from "../hpack/types.ts";
import { ContentDecoder, canDecode, clientAccepts, parseCodings } from "./content-decode.ts";
import { fieldValue } from "./fields.ts";
import {
  type BodySink,
  type ByteSink,
  canUpgrade,
  type Responder,
  type UpgradeResponder,
} from "./message.ts";

const PARTIAL_CONTENT = 206;

/** The response fields after decoding: no Content-Encoding / Content-Length, weak ETag. */
export function decodedFields(fields: readonly HeaderField[]): HeaderField[] {
  const out: HeaderField[] = [];
  for (const [n, v] of fields) {
    if (n === "content-encoding" || n === "content-length") continue;
    if (n === "etag" && !v.startsWith("W/")) out.push([n, `W/${v}`]);
    else out.push([n, v]);
  }
  return out;
}

/** The Responder wrapper: passes a head through, or decodes its body (see `decodingResponder`). */
class DecodingResponder implements Responder {
  protected readonly inner: Responder;
  readonly #accept: string | null;

  constructor(inner: Responder, clientAcceptEncoding: string | null) {
    this.inner = inner;
    this.#accept = clientAcceptEncoding;
  }

  interim(status: number, fields: HeaderField[]): void {
    this.inner.interim(status, fields);
  }

  fail(err: ProxyError): void {
    this.inner.fail(err);
  }

  head(status: number, fields: HeaderField[], bodyless: boolean): BodySink {
    const inner = this.inner;
    const encoding = fieldValue(fields, "content-encoding");
    // A 206 carries a part of the coded bytes (its Content-Range counts them): it cannot be
    // decoded alone, so it goes as it came, its Content-Encoding included.
    if (encoding === null || status === PARTIAL_CONTENT) return inner.head(status, fields, bodyless);
    const codings = parseCodings(encoding);
    if (codings.length === 0 || clientAccepts(this.#accept, codings) || !canDecode(codings)) {
      return inner.head(status, fields, bodyless);
    }
    if (bodyless) return inner.head(status, decodedFields(fields), true);
    return decodedBody(inner.head(status, decodedFields(fields), false), codings);
  }
}

/** A DecodingResponder that forwards a protocol switch (a 101 is a byte relay: nothing to decode). */
class DecodingUpgradeResponder extends DecodingResponder implements UpgradeResponder {
  upgrade(fields: HeaderField[], toUpstream: ByteSink): ByteSink {
    return (this.inner as UpgradeResponder).upgrade(fields, toUpstream);
  }
}

/**
 * The sink the upstream writes the encoded body into; `out` receives it decoded. A full client
 * pauses the decoder (ContentDecoder.resume on its drain), whose buffers then fill and stop the
 * upstream: memory stays bounded by the transforms' buffers and the upstream's own window.
 */
function decodedBody(out: BodySink, codings: string[]): BodySink {
  let trailers: HeaderField[] | null = null;
  let upstreamWaiting = false;
  const decoder = new ContentDecoder(codings, {
    data: (chunk) => out.write(chunk),
    end: () => out.end(trailers),
    error: (e: ProxyError) => out.abort(e),
  });
  const sink: BodySink = {
    write(chunk) {
      const room = decoder.write(chunk);
      if (!room) upstreamWaiting = true;
      return room;
    },
    end(t) {
      trailers = t;
      decoder.end();
    },
    abort(e) {
      decoder.destroy();
      out.abort(e);
    },
    onDrain: null,
  };
  out.onDrain = () => decoder.resume();
  decoder.onDrain = () => {
    if (!upstreamWaiting) return;
    upstreamWaiting = false;
    sink.onDrain?.();
  };
  return sink;
}

export function decodingResponder(inner: Responder, clientAcceptEncoding: string | null): Responder {
  return canUpgrade(inner)
    ? new DecodingUpgradeResponder(inner, clientAcceptEncoding)
    : new DecodingResponder(inner, clientAcceptEncoding);
}
