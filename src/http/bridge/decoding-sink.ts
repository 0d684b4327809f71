/**
 * Wraps a Responder so that a response in a content coding the client did not accept is decoded
 * on its way to the client: Content-Encoding and Content-Length are dropped and a strong ETag is
 * made weak (the representation changed, RFC 9110 §8.8.3). Codings the proxy cannot decode, and
 * codings the client accepts, pass through untouched.
 */
import type { ProxyError } from "../../errors/proxy-error.ts";
import type { HeaderField } from "../hpack/types.ts";
import { ContentDecoder, canDecode, clientAccepts, parseCodings } from "./content-decode.ts";
import { fieldValue } from "./fields.ts";
import { type BodySink, canUpgrade, type Responder, type UpgradeResponder } from "./message.ts";

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

export function decodingResponder(inner: Responder, clientAcceptEncoding: string | null): Responder {
  const wrapped: Responder = {
    interim: (s, f) => inner.interim(s, f),
    fail: (e) => inner.fail(e),
    head(status, fields, bodyless) {
      const codings = parseCodings(fieldValue(fields, "content-encoding"));
      if (
        bodyless ||
        codings.length === 0 ||
        clientAccepts(clientAcceptEncoding, codings) ||
        !canDecode(codings)
      ) {
        return inner.head(status, fields, bodyless);
      }
      const out = inner.head(status, decodedFields(fields), false);
      let trailers: HeaderField[] | null = null;
      let upstreamWaiting = false;
      const decoder = new ContentDecoder(codings, {
        data(chunk) {
          if (!out.write(chunk)) decoderPausedByClient = true;
        },
        end: () => out.end(trailers),
        error: (e: ProxyError) => out.abort(e),
      });
      let decoderPausedByClient = false;
      const sink: BodySink = {
        write(chunk) {
          const room = decoder.write(chunk) && !decoderPausedByClient;
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
      const wake = () => {
        if (!upstreamWaiting) return;
        upstreamWaiting = false;
        sink.onDrain?.();
      };
      out.onDrain = () => {
        decoderPausedByClient = false;
        wake();
      };
      decoder.onDrain = wake;
      return sink;
    },
  };
  // A WebSocket (101) is a byte relay: nothing to decode, the upgrade goes straight through.
  if (!canUpgrade(inner)) return wrapped;
  const upgrading: UpgradeResponder = {
    ...wrapped,
    upgrade: (fields, toUpstream) => inner.upgrade(fields, toUpstream),
  };
  return upgrading;
}
