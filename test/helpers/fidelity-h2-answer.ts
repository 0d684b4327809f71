/**
 * The recording origin's HTTP/2 side (tests only): a minimal server on one decrypted connection.
 * It sends an empty SETTINGS, ACKs the client's, answers PING, decodes every request's field
 * block with one HpackDecoder per connection (so later requests decode too), keeps each request's
 * HEADERS flags and priority fields, and answers every request, once its END_STREAM arrived, with
 * `:status 200`, a content-length and a small body.
 */
import { clientFrameFeed } from "../../src/fingerprint/h2-recorder.ts";
import type { PriorityFields } from "../../src/http/h2/frame-types.ts";
import { encodeFrame } from "../../src/http/h2/frame-writer.ts";
import { HpackDecoder } from "../../src/http/hpack/decoder.ts";

/** One request as the origin decoded it. */
export interface H2Request {
  streamId: number;
  /** Raw flag byte of the HEADERS frame. */
  flags: number;
  priority: PriorityFields | null;
  /** Every field in wire order, pseudo-headers included. */
  fields: [string, string][];
  bodyBytes: number;
}

/** HPACK: `:status: 200` is static-table entry 8, sent indexed (RFC 7541 Appendix A, §6.1). */
const STATUS_200 = 0x88;

/** A literal field without indexing, new name, no Huffman (RFC 7541 §6.2.2); short strings only. */
function literal(name: string, value: string): number[] {
  const n = [...Buffer.from(name, "latin1")];
  const v = [...Buffer.from(value, "latin1")];
  if (n.length > 126 || v.length > 126) throw new Error("literal too long for this helper");
  return [0x00, n.length, ...n, v.length, ...v];
}

export function responseBlock(body: string): Uint8Array {
  return new Uint8Array([
    STATUS_200,
    ...literal("content-type", "text/plain"),
    ...literal("content-length", String(Buffer.byteLength(body))),
  ]);
}

interface Pending {
  head: Omit<H2Request, "fields" | "bodyBytes">;
  block: Uint8Array[];
  fields: [string, string][] | null;
  bodyBytes: number;
  ended: boolean;
}

/**
 * Feeds a connection's decrypted bytes (preface first); `write` sends to the client; `onRequest`
 * gets each complete request. Stops answering (keeps nothing more) at the first unreadable frame.
 */
export function h2Answerer(
  write: (b: Uint8Array) => void,
  onRequest: (r: H2Request) => void,
  body: (r: H2Request) => string,
): (chunk: Uint8Array) => void {
  const decoder = new HpackDecoder();
  const streams = new Map<number, Pending>();
  write(encodeFrame({ type: "SETTINGS", ack: false, settings: [] }));

  const finish = (id: number, p: Pending) => {
    if (p.fields === null || !p.ended) return;
    streams.delete(id);
    const req: H2Request = { ...p.head, fields: p.fields, bodyBytes: p.bodyBytes };
    onRequest(req);
    const text = body(req);
    write(
      encodeFrame({
        type: "HEADERS",
        streamId: id,
        endStream: false,
        endHeaders: true,
        block: responseBlock(text),
      }),
    );
    write(encodeFrame({ type: "DATA", streamId: id, endStream: true, data: new TextEncoder().encode(text) }));
  };
  const endBlock = (id: number, p: Pending) => {
    p.fields = decoder.decode(Buffer.concat(p.block)).map(([n, v]) => [n, v]);
    finish(id, p);
  };

  return clientFrameFeed((f) => {
    if (f.type === "SETTINGS" && !f.ack) write(encodeFrame({ type: "SETTINGS", ack: true, settings: [] }));
    else if (f.type === "PING" && !f.ack) write(encodeFrame({ ...f, ack: true }));
    else if (f.type === "HEADERS") {
      const flags = (f.endStream ? 0x1 : 0) | (f.endHeaders ? 0x4 : 0) | (f.priority ? 0x20 : 0);
      const p: Pending = {
        head: { streamId: f.streamId, flags, priority: f.priority ?? null },
        block: [f.block],
        fields: null,
        bodyBytes: 0,
        ended: f.endStream,
      };
      streams.set(f.streamId, p);
      if (f.endHeaders) endBlock(f.streamId, p);
    } else if (f.type === "CONTINUATION") {
      const p = streams.get(f.streamId);
      if (p === undefined) return;
      p.block.push(f.block);
      if (f.endHeaders) endBlock(f.streamId, p);
    } else if (f.type === "DATA") {
      const p = streams.get(f.streamId);
      if (p === undefined) return;
      p.bodyBytes += f.data.length;
      if (f.data.length > 0) {
        // Give the window back so a larger body never stalls (RFC 9113 §6.9).
        const increment = f.data.length;
        write(encodeFrame({ type: "WINDOW_UPDATE", streamId: 0, increment }));
        if (!f.endStream) write(encodeFrame({ type: "WINDOW_UPDATE", streamId: f.streamId, increment }));
      }
      if (f.endStream) {
        p.ended = true;
        finish(f.streamId, p);
      }
    }
  });
}
