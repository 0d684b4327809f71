/**
 * The request half of an upstream HTTP/1.1 exchange: the head exactly as the header policy built
 * it (names, case and order untouched) with the framing field checked or added, and the sink the
 * client side writes the body into (fixed length, or chunked with trailers in the last chunk).
 */
import { ProxyError } from "../../errors/proxy-error.ts";
import type { Endpoint } from "../../proxy/endpoint.ts";
import { encodeChunk, encodeLastChunk } from "../h1/chunked.ts";
import { asciiLower } from "../h1/syntax.ts";
import { writeRequestHead } from "../h1/writer.ts";
import { forwardableTrailers } from "../headers/trailers.ts";
import type { HeaderField } from "../hpack/types.ts";
import type { BodySink } from "./message.ts";

export interface H1Request {
  method: string;
  /** origin-form path and query (`*` for OPTIONS *). */
  target: string;
  /** Exact fields, written as given (Host first: the header policy built them). */
  fields: HeaderField[];
  hasBody: boolean;
  /** null = no body; a number = its length; -1 = unknown (sent chunked). */
  bodyLength: number | null;
}

function values(fields: readonly HeaderField[], lowerName: string): string[] {
  return fields.filter(([n]) => asciiLower(n) === lowerName).map(([, v]) => v);
}

/**
 * The head bytes. The body framing is ours and must agree with what the fields say:
 * - no body: no Transfer-Encoding, no Content-Length other than 0;
 * - length n: no Transfer-Encoding; `Content-Length: n` appended last when the fields lack it;
 * - unknown length: no Content-Length; `Transfer-Encoding: chunked` appended last when absent.
 * Browsers never send Transfer-Encoding on a request over HTTP/1.1 (they buffer uploads), so the
 * appended field is only for clients that stream an upload of unknown size.
 * Throws HTTP_BAD_REQUEST when the fields contradict the framing or cannot be written.
 */
export function requestHeadBytes(req: H1Request): Uint8Array {
  const te = values(req.fields, "transfer-encoding");
  const cl = values(req.fields, "content-length");
  const fields = [...req.fields];
  const length = req.hasBody ? req.bodyLength : null;
  const bad = (why: string) => new ProxyError("HTTP_BAD_REQUEST", `request framing fields disagree: ${why}`);
  if (length === null) {
    if (te.length > 0) throw bad("Transfer-Encoding on a request without body");
    if (cl.some((v) => v !== "0")) throw bad("Content-Length on a request without body");
  } else if (length === -1) {
    if (cl.length > 0) throw bad("Content-Length on a body of unknown length");
    if (te.length === 0) fields.push(["Transfer-Encoding", "chunked"]);
    else if (te.length > 1 || asciiLower(te[0] ?? "") !== "chunked")
      throw bad("Transfer-Encoding is not chunked");
  } else {
    if (te.length > 0) throw bad("Transfer-Encoding on a body of known length");
    if (cl.length === 0) fields.push(["Content-Length", String(length)]);
    else if (cl.length > 1 || cl[0] !== String(length))
      throw bad("Content-Length differs from the body length");
  }
  return writeRequestHead(req.method, req.target, fields);
}

export interface RequestBodyHooks {
  /** Whether the exchange was abandoned: writes are dropped. */
  dead(): boolean;
  /** The last byte of the body was written. */
  done(): void;
  /** The body cannot be completed (the client side failed, or sent more or less than declared). */
  failed(err: ProxyError): void;
  /** `abort` after the body ended: the client gave the whole exchange up. */
  cancelled(err: ProxyError): void;
}

/** The sink for a body of `length` bytes (-1 = chunked); `wantsDrain` is set when it said false. */
export function requestBodySink(
  ep: Endpoint,
  length: number,
  hooks: RequestBodyHooks,
): BodySink & { wantsDrain: boolean } {
  let sent = 0;
  let ended = false;
  const sink = {
    wantsDrain: false,
    onDrain: null as (() => void) | null,
    write(chunk: Uint8Array): boolean {
      if (ended || hooks.dead() || chunk.length === 0) return true;
      if (length >= 0 && sent + chunk.length > length) {
        hooks.failed(new ProxyError("HTTP_BAD_REQUEST", "request body longer than declared"));
        return true;
      }
      sent += chunk.length;
      const room = ep.write(length < 0 ? encodeChunk(chunk) : chunk);
      if (!room) sink.wantsDrain = true;
      return room;
    },
    end(trailers: HeaderField[] | null): void {
      if (ended || hooks.dead()) return;
      ended = true;
      if (length >= 0 && sent !== length) {
        hooks.failed(new ProxyError("HTTP_BAD_REQUEST", "request body shorter than declared"));
        return;
      }
      if (length < 0) {
        let last: Uint8Array;
        try {
          last = encodeLastChunk(forwardableTrailers(trailers), "request");
        } catch {
          last = encodeLastChunk([], "request"); // a trailer HTTP/1.1 cannot carry: drop them
        }
        ep.write(last);
      }
      hooks.done();
    },
    abort(err: ProxyError): void {
      if (hooks.dead()) return;
      if (ended) {
        hooks.cancelled(err);
        return;
      }
      ended = true;
      hooks.failed(err);
    },
  };
  return sink;
}
