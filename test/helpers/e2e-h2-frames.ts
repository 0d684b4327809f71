/**
 * A raw HTTP/2 connection through the proxy for frame-level tests: frames are written as the test
 * builds them (nothing is sent on its own: no SETTINGS ACK, no WINDOW_UPDATE) and every frame the
 * proxy sends is kept in order. The proxy's client-facing HTTP/2 is what is under test.
 */
import type * as tls from "node:tls";
import { FrameReader } from "../../src/http/h2/frame-reader.ts";
import type { Frame } from "../../src/http/h2/frame-types.ts";
import { CHROME_HPACK_POLICY, HpackEncoder } from "../../src/http/hpack/index.ts";
import type { HeaderField } from "../../src/http/hpack/types.ts";
import { tlsThroughProxy } from "./proxy-env.ts";

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

/** A GET's pseudo-header fields for `authority` and `path`. */
export function getFields(authority: string, path: string): HeaderField[] {
  return [
    [":method", "GET"],
    [":scheme", "https"],
    [":authority", authority],
    [":path", path],
  ];
}
