/**
 * Raw client connections through the proxy, for what a client library would not do: HTTP/2 frames
 * written as the test builds them (nothing is sent on its own: no SETTINGS ACK, no WINDOW_UPDATE),
 * every frame the proxy sends kept in order; and an HTTP/1.1 tunnel read as raw text. The proxy's
 * client side is what is under test.
 */
import type * as tls from "node:tls";
import { FrameReader } from "../../src/http/h2/frame-reader.ts";
import { CLIENT_MAGIC, type Frame } from "../../src/http/h2/frame-types.ts";
import { encodeFrame } from "../../src/http/h2/frame-writer.ts";
import { CHROME_HPACK_POLICY, HpackEncoder } from "../../src/http/hpack/index.ts";
import type { HeaderField } from "../../src/http/hpack/types.ts";
import { tlsThroughProxy } from "./proxy-env.ts";
import { collectText, waitUntil } from "./wait.ts";

export interface RawFrames {
  t: tls.TLSSocket;
  frames: Frame[];
  closed: () => boolean;
  /** A Chrome-policy encoder: blocks in stream order, as one client connection would encode them. */
  encoder: HpackEncoder;
}

export async function rawFrames(proxyPort: number, authority: string, ca: string): Promise<RawFrames> {
  const t = await tlsThroughProxy(proxyPort, authority, { ca, servername: "localhost", alpn: ["h2"] });
  const reader = new FrameReader();
  reader.setMaxFrameSize(1 << 20);
  const frames: Frame[] = [];
  let closed = false;
  t.on("data", (d: Buffer) => {
    reader.push(new Uint8Array(d));
    for (let f = reader.next(); f !== null; f = reader.next()) frames.push(f);
  });
  t.on("error", () => {});
  t.on("close", () => {
    closed = true;
  });
  return { t, frames, closed: () => closed, encoder: new HpackEncoder(CHROME_HPACK_POLICY) };
}

/** Writes the client preface, an empty SETTINGS and a GET of `path` on stream 1 (END_STREAM). */
export function sendFirstGet(c: RawFrames, authority: string, path: string): void {
  c.t.write(
    Buffer.concat([
      CLIENT_MAGIC,
      encodeFrame({ type: "SETTINGS", ack: false, settings: [] }),
      encodeFrame({
        type: "HEADERS",
        streamId: 1,
        endStream: true,
        endHeaders: true,
        block: c.encoder.encode(getFields(authority, path)),
      }),
    ]),
  );
}

/** A GET's pseudo-header fields for `authority` and `path`. */
export function getFields(authority: string, path: string): HeaderField[] {
  return [
    [":method", "GET"],
    [":scheme", "https"],
    [":authority", authority],
    [":path", path],
  ];
}

/** An HTTP/1.1 tunnel on which the test writes requests as it likes and reads raw bytes. */
export async function rawText(proxyPort: number, authority: string, ca: string) {
  const t = await tlsThroughProxy(proxyPort, authority, { ca, servername: "localhost" });
  const got = collectText(t);
  return {
    t,
    ...got,
    /** Writes `bytes`, then waits until `done(all text so far)` or the close. */
    async send(bytes: string, done: (all: string) => boolean) {
      t.write(bytes);
      await waitUntil(() => got.closed() || done(got.text()), "the response");
      return got.text();
    },
  };
}
