/**
 * The Responder of one exchange on an HTTP/1.1 client connection: turns the upstream's response
 * into HTTP/1.1 bytes with framing chosen here (the upstream's framing never passes through):
 * - HEAD, 204, 304: no body; Content-Length kept for HEAD / 304 (it describes the GET
 *   representation, RFC 9110 §8.6), dropped for 204 (§15.3.5);
 * - a single valid Content-Length (present only when no decoding happened): that length, checked;
 * - otherwise chunked for HTTP/1.1 clients, trailers in the last chunk (RFC 9112 §7.1.2: a
 *   recipient that does not want them discards them), or read-until-close for HTTP/1.0.
 * Interim 1xx heads (100, 103) are forwarded to HTTP/1.1 clients only (RFC 9110 §15.2), never 101
 * except through `upgrade`. A failure before the head is a short error answer; after it the
 * connection is reset without a terminating chunk, so a truncation can never look complete.
 */
import { ProxyError } from "../../errors/proxy-error.ts";
import { statusFor } from "../../errors/wire.ts";
import { encodeChunk, encodeLastChunk } from "../h1/chunked.ts";
import { writeResponseHead } from "../h1/writer.ts";
import type { HeaderField } from "../hpack/types.ts";
import { type Exchange, type ResponseQueue, reasonPhrase } from "./client-h1-queue.ts";
import { CONNECTION_SPECIFIC, withoutHopByHop } from "./fields.ts";
import type { BodySink, ByteSink, UpgradeResponder } from "./message.ts";

type Framing =
  | { kind: "none" }
  | { kind: "length"; length: number }
  | { kind: "chunked" }
  | { kind: "close" };

/** Called when the upstream switched protocols: the client's raw bytes go to `toUpstream`. */
export type OnUpgrade = (toUpstream: ByteSink) => void;

const INERT: BodySink = { write: () => true, end: () => {}, abort: () => {}, onDrain: null };

function errorAnswer(q: ResponseQueue, ex: Exchange, err: ProxyError): void {
  const status = statusFor(err);
  q.answer(ex, status, `${err.code}: ${err.message}`, ex.bodyPending);
}

/** Response fields minus hop-by-hop ones and Content-Length, with the framing to use. */
function frame(ex: Exchange, status: number, fields: readonly HeaderField[], bodyless: boolean) {
  const kept = withoutHopByHop(fields).filter(([n]) => !n.startsWith(":"));
  const lengths = kept.filter(([n]) => n === "content-length").map(([, v]) => v);
  const out = kept.filter(([n]) => n !== "content-length");
  const first = lengths[0];
  const single = first !== undefined && /^[0-9]{1,15}$/.test(first) && lengths.every((v) => v === first);
  let framing: Framing;
  if (bodyless || ex.method === "HEAD" || status === 204 || status === 304) {
    framing = { kind: "none" };
    if (single && status !== 204) out.push(["content-length", String(Number(first))]);
  } else if (single) {
    framing = { kind: "length", length: Number(first) };
    out.push(["content-length", String(framing.length)]);
  } else if (ex.version === "1.1") {
    framing = { kind: "chunked" };
    out.push(["transfer-encoding", "chunked"]);
  } else {
    framing = { kind: "close" };
    ex.closeAfter = true;
  }
  if (ex.closeAfter) out.push(["connection", "close"]);
  return { out, framing };
}

function bodySink(q: ResponseQueue, ex: Exchange, framing: Framing): BodySink {
  let sent = 0;
  const sink: BodySink = {
    write(chunk) {
      if (ex.done) return true;
      if (framing.kind === "length" && sent + chunk.length > framing.length) {
        q.truncate(ex, new ProxyError("HTTP_PROTOCOL", "response body longer than its Content-Length"));
        return true;
      }
      sent += chunk.length;
      const room = q.emit(ex, framing.kind === "chunked" ? encodeChunk(chunk) : chunk);
      if (!room) ex.wantsDrain = true;
      return room;
    },
    end(trailers) {
      if (ex.done) return;
      if (framing.kind === "length" && sent !== framing.length) {
        q.truncate(ex, new ProxyError("UPSTREAM_TRUNCATED", "response body shorter than its Content-Length"));
        return;
      }
      if (framing.kind === "chunked") q.emit(ex, lastChunk(trailers));
      q.finish(ex);
    },
    abort(err) {
      q.truncate(ex, err);
    },
    onDrain: null,
  };
  ex.sink = sink;
  return sink;
}

/** The last chunk with the trailers that can be written (hop-by-hop and framing fields dropped). */
function lastChunk(trailers: readonly HeaderField[] | null): Uint8Array {
  const kept = withoutHopByHop(trailers ?? []).filter(([n]) => !n.startsWith(":") && n !== "content-length");
  try {
    return encodeLastChunk(kept, "response");
  } catch {
    return encodeLastChunk([], "response"); // a trailer value HTTP/1.1 cannot carry: drop them all
  }
}

/** Fields of a 101 answer: hop-by-hop ones dropped except Connection and Upgrade themselves. */
function upgradeFields(fields: readonly HeaderField[]): HeaderField[] {
  return fields.filter(
    ([n]) => n === "connection" || n === "upgrade" || (!CONNECTION_SPECIFIC.has(n) && !n.startsWith(":")),
  );
}

export function clientH1Responder(q: ResponseQueue, ex: Exchange, onUpgrade: OnUpgrade): UpgradeResponder {
  return {
    interim(status, fields) {
      if (ex.settled || ex.version === "1.0" || status < 100 || status > 199 || status === 101) return;
      if (status === 100 && ex.sent100) return;
      try {
        const kept = withoutHopByHop(fields).filter(([n]) => !n.startsWith(":")); // h2 :status
        q.emit(ex, writeResponseHead(status, reasonPhrase(status), kept));
      } catch {
        // An interim head HTTP/1.1 cannot carry is only a hint: drop it.
      }
    },
    head(status, fields, bodyless) {
      if (ex.settled) return INERT;
      const { out, framing } = frame(ex, status, fields, bodyless);
      let bytes: Uint8Array;
      try {
        bytes = writeResponseHead(status, reasonPhrase(status), out);
      } catch (err) {
        errorAnswer(q, ex, ProxyError.wrap(err, "HTTP_PROTOCOL"));
        return INERT;
      }
      ex.settled = true;
      ex.status = status;
      q.emit(ex, bytes);
      if (framing.kind !== "none") return bodySink(q, ex, framing);
      q.finish(ex);
      return INERT;
    },
    fail(err) {
      if (ex.settled) q.truncate(ex, err);
      else errorAnswer(q, ex, err);
    },
    upgrade(fields, toUpstream) {
      if (ex.settled || !ex.upgradeRequested) {
        toUpstream.abort(new ProxyError("HTTP_PROTOCOL", "upstream switched protocols unasked"));
        if (!ex.settled) errorAnswer(q, ex, new ProxyError("HTTP_PROTOCOL", "unexpected 101 from upstream"));
        return INERT_BYTES;
      }
      let bytes: Uint8Array;
      try {
        bytes = writeResponseHead(101, reasonPhrase(101), upgradeFields(fields));
      } catch (err) {
        toUpstream.abort(ProxyError.wrap(err, "HTTP_PROTOCOL"));
        errorAnswer(q, ex, ProxyError.wrap(err, "HTTP_PROTOCOL"));
        return INERT_BYTES;
      }
      ex.settled = true;
      ex.status = 101;
      ex.closeAfter = true;
      q.emit(ex, bytes);
      const toClient: ByteSink = {
        write(chunk) {
          if (ex.done) return true;
          const room = q.emit(ex, chunk);
          if (!room) ex.wantsDrain = true;
          return room;
        },
        end: () => q.finish(ex),
        abort: (err) => q.truncate(ex, err),
        onDrain: null,
      };
      ex.sink = toClient;
      onUpgrade(toUpstream);
      return toClient;
    },
  };
}

const INERT_BYTES: ByteSink = { write: () => true, end: () => {}, abort: () => {}, onDrain: null };
