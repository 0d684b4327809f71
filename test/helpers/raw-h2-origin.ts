/**
 * An HTTP/2 origin written frame by frame (tests only), for what a library will not send or to
 * record exactly what the proxy sent: over TLS with ALPN h2, it sends its SETTINGS, acknowledges
 * the client's, and hands every client frame after the preface to `onFrame` with the socket to
 * answer on. The project's FrameReader parses the client's frames: a recorder, not the peer under
 * test.
 */
import type * as tls from "node:tls";
import { FrameReader } from "../../src/http/h2/frame-reader.ts";
import type { Frame, PriorityFields } from "../../src/http/h2/frame-types.ts";
import { encodeFrame } from "../../src/http/h2/frame-writer.ts";
import type { Leaf } from "../../src/pki/leaf.ts";
import { type Origin, startTlsOrigin } from "./tls-env.ts";

export function startRawH2Origin(
  leaf: Leaf,
  settings: [number, number][],
  onFrame: (s: tls.TLSSocket, f: Frame) => void,
): Promise<Origin> {
  return startTlsOrigin(leaf, {
    alpn: ["h2"],
    handler: (s) => {
      s.on("error", () => {});
      const reader = new FrameReader();
      let preface = false;
      let buf = Buffer.alloc(0);
      s.write(encodeFrame({ type: "SETTINGS", ack: false, settings }));
      s.on("data", (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        if (!preface) {
          if (buf.length < 24) return;
          preface = true;
          buf = buf.subarray(24);
        }
        reader.push(buf);
        buf = Buffer.alloc(0);
        for (let f = reader.next(); f !== null; f = reader.next()) {
          if (f.type === "SETTINGS" && !f.ack)
            s.write(encodeFrame({ type: "SETTINGS", ack: true, settings: [] }));
          onFrame(s, f);
        }
      });
    },
  });
}

/** A request-side frame as the captures' `h2_frames` describe it (type, flags, and what they show). */
export interface RecordedFrame {
  type: string;
  streamId: number;
  flags: number;
  priority?: PriorityFields;
  increment?: number;
  data_len?: number;
}

/**
 * A client frame in those terms: HEADERS (flags END_HEADERS, END_STREAM, PRIORITY; the origin
 * reassembles CONTINUATION), DATA (END_STREAM; its length), and stream WINDOW_UPDATE; null for the
 * rest.
 */
export function recordFrame(f: Frame): RecordedFrame | null {
  if (f.type === "HEADERS") {
    const flags = 0x4 | (f.endStream ? 0x1 : 0) | (f.priority ? 0x20 : 0);
    return { type: f.type, streamId: f.streamId, flags, ...(f.priority ? { priority: f.priority } : {}) };
  }
  if (f.type === "DATA")
    return { type: f.type, streamId: f.streamId, flags: f.endStream ? 1 : 0, data_len: f.data.length };
  if (f.type === "WINDOW_UPDATE" && f.streamId !== 0)
    return { type: f.type, streamId: f.streamId, flags: 0, increment: f.increment };
  return null;
}
