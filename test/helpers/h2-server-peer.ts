/**
 * A scripted HTTP/2 client for the pure server session tests: frames built with our frame writer
 * and an HPACK encoder, fed to `H2ServerSession` whole, byte by byte or in random pieces; the
 * session's output read back as frames (with decoded field blocks).
 */
import { FrameReader } from "../../src/http/h2/frame-reader.ts";
import type { Frame } from "../../src/http/h2/frame-types.ts";
import { CLIENT_MAGIC } from "../../src/http/h2/frame-types.ts";
import { concatBytes, encodeFrame } from "../../src/http/h2/frame-writer.ts";
import { H2ServerSession } from "../../src/http/h2/server-session.ts";
import type { H2ServerEvent, H2ServerOptions } from "../../src/http/h2/server-types.ts";
import { CHROME_HPACK_POLICY, HpackDecoder, HpackEncoder } from "../../src/http/hpack/index.ts";
import type { HeaderField } from "../../src/http/hpack/types.ts";
import { prng, randInt } from "./prng.ts";

export const OPTS: H2ServerOptions = { maxConcurrentStreams: 100, maxHeaderListSize: 65536 };

export const GET: HeaderField[] = [
  [":method", "GET"],
  [":scheme", "https"],
  [":authority", "example.test"],
  [":path", "/p"],
];

/** A frame read from the session's output; field blocks decoded. */
export type OutFrame = Frame & { fields?: HeaderField[] };

export class Peer {
  readonly session: H2ServerSession;
  readonly encoder = new HpackEncoder(CHROME_HPACK_POLICY);
  readonly events: H2ServerEvent[] = [];
  readonly frames: OutFrame[] = [];
  readonly #reader = new FrameReader();
  readonly #decoder = new HpackDecoder();
  #block: { frame: Frame; chunks: Uint8Array[] } | null = null;

  constructor(opts: H2ServerOptions = OPTS) {
    this.session = new H2ServerSession(opts);
    this.session.start();
    this.read();
  }

  /** The client preface: magic and a SETTINGS frame. */
  static preface(settings: [number, number][] = []): Uint8Array {
    return concatBytes([CLIENT_MAGIC, encodeFrame({ type: "SETTINGS", ack: false, settings })]);
  }

  headers(streamId: number, fields: HeaderField[], endStream: boolean): Uint8Array {
    return encodeFrame({
      type: "HEADERS",
      streamId,
      endStream,
      endHeaders: true,
      block: this.encoder.encode(fields),
    });
  }

  /** Feeds bytes as one chunk, byte by byte, or in random pieces (seeded). */
  feed(bytes: Uint8Array, split: "whole" | "bytes" | number = "whole"): H2ServerEvent[] {
    const got: H2ServerEvent[] = [];
    const take = (b: Uint8Array) => {
      got.push(...this.session.receive(b));
      this.read();
    };
    if (split === "whole") take(bytes);
    else if (split === "bytes") for (let i = 0; i < bytes.length; i++) take(bytes.subarray(i, i + 1));
    else {
      const rand = prng(split);
      for (let at = 0; at < bytes.length; ) {
        const n = 1 + randInt(rand, Math.min(64, bytes.length - at));
        take(bytes.subarray(at, at + n));
        at += n;
      }
    }
    this.events.push(...got);
    return got;
  }

  /** Reads what the session queued into `frames`. */
  read(): OutFrame[] {
    const before = this.frames.length;
    for (const chunk of this.session.takeOutput()) this.#reader.push(chunk);
    for (let f = this.#reader.next(); f !== null; f = this.#reader.next()) {
      if (f.type === "HEADERS" || f.type === "CONTINUATION") {
        const b = this.#block ?? { frame: f, chunks: [] };
        b.chunks.push(f.block);
        this.#block = b;
        if (!f.endHeaders) continue;
        this.#block = null;
        this.frames.push({ ...b.frame, fields: this.#decoder.decode(concatBytes(b.chunks)) });
        continue;
      }
      this.frames.push(f);
    }
    return this.frames.slice(before);
  }

  /** Frames of one type (all so far). */
  of<T extends Frame["type"]>(type: T): (OutFrame & { type: T })[] {
    return this.frames.filter((f) => f.type === type) as (OutFrame & { type: T })[];
  }
}

/** A session past the preface exchange, with the client's settings applied. */
export function ready(settings: [number, number][] = [], opts: H2ServerOptions = OPTS): Peer {
  const p = new Peer(opts);
  p.feed(Peer.preface(settings));
  return p;
}

/** Events without views into input bytes (data as text), for comparing runs. */
export function plain(events: readonly H2ServerEvent[]): unknown[] {
  return events.map((e) => (e.type === "data" ? { ...e, data: new TextDecoder().decode(e.data) } : e));
}
