/**
 * The HTTP/2 client side (serveClientH2) over an in-memory Endpoint, with a scripted dispatcher:
 * the test plays the client with raw frames and reads back the frames written to it, and controls
 * the socket's backpressure (`full`) and its events.
 */

import type { ProxyError } from "../../src/errors/proxy-error.ts";
import { serveClientH2 } from "../../src/http/bridge/client-h2.ts";
import type { BodySink, Dispatcher, RequestHead, Responder } from "../../src/http/bridge/message.ts";
import { FrameReader } from "../../src/http/h2/frame-reader.ts";
import { CLIENT_MAGIC, type Frame } from "../../src/http/h2/frame-types.ts";
import { concatBytes, encodeFrame } from "../../src/http/h2/frame-writer.ts";
import { CHROME_HPACK_POLICY, HpackDecoder, HpackEncoder } from "../../src/http/hpack/index.ts";
import type { HeaderField } from "../../src/http/hpack/types.ts";
import { parseAuthority } from "../../src/proxy/authority.ts";
import type { Endpoint, EndpointHandlers } from "../../src/proxy/endpoint.ts";

/** One request as the dispatcher saw it, with the sink the test controls. */
export interface Seen {
  head: RequestHead;
  responder: Responder;
  body: Uint8Array[];
  ended: boolean;
  aborted: ProxyError | null;
  /** What the request sink's `write` answers. */
  accept: boolean;
  sink: BodySink;
}

export class Bridge {
  readonly seen: Seen[] = [];
  readonly frames: (Frame & { fields?: HeaderField[] })[] = [];
  readonly exchanges: number[] = [];
  closed: ProxyError | null | undefined = undefined;
  paused = false;
  ended = false;
  destroyed = false;
  /** What `write` answers: false = the socket is full. */
  full = false;
  readonly encoder = new HpackEncoder(CHROME_HPACK_POLICY);
  handlers!: EndpointHandlers;
  readonly #reader = new FrameReader();
  readonly #decoder = new HpackDecoder();
  readonly server: { close(): void };

  constructor(opts: { maxHeaderListSize?: number } = {}) {
    const dispatcher: Dispatcher = {
      request: (head, responder) => {
        const seen: Seen = {
          head,
          responder,
          body: [],
          ended: false,
          aborted: null,
          accept: true,
          sink: {
            write: (c) => {
              seen.body.push(c.slice());
              return seen.accept;
            },
            end: () => {
              seen.ended = true;
            },
            abort: (err) => {
              seen.aborted = err;
            },
            onDrain: null,
          },
        };
        this.seen.push(seen);
        return seen.sink;
      },
      close() {},
    };
    const ep: Endpoint = {
      start: (h) => {
        this.handlers = h;
      },
      write: (chunk) => {
        this.#read(chunk);
        return !this.full;
      },
      end: () => {
        this.ended = true;
      },
      destroy: () => {
        this.destroyed = true;
      },
      reset: () => {
        this.destroyed = true;
      },
      pause: () => {
        this.paused = true;
      },
      resume: () => {
        this.paused = false;
      },
    };
    this.server = serveClientH2(ep, {
      target: parseAuthority("example.test:443"),
      dispatcher,
      maxConcurrentStreams: 100,
      maxHeaderListSize: opts.maxHeaderListSize ?? 65536,
      onExchange: (s) => this.exchanges.push(s),
      onClose: (err) => {
        this.closed = err;
      },
    });
    this.send(concatBytes([CLIENT_MAGIC, encodeFrame({ type: "SETTINGS", ack: false, settings: [] })]));
  }

  send(bytes: Uint8Array): void {
    this.handlers.data(bytes);
  }

  headers(streamId: number, fields: HeaderField[], endStream: boolean): void {
    const block = this.encoder.encode(fields);
    this.send(encodeFrame({ type: "HEADERS", streamId, endStream, endHeaders: true, block }));
  }

  data(streamId: number, bytes: Uint8Array, endStream = false): void {
    this.send(encodeFrame({ type: "DATA", streamId, endStream, data: bytes }));
  }

  of<T extends Frame["type"]>(type: T, streamId?: number): (Frame & { type: T; fields?: HeaderField[] })[] {
    return this.frames.filter(
      (f) => f.type === type && (streamId === undefined || ("streamId" in f && f.streamId === streamId)),
    ) as (Frame & { type: T; fields?: HeaderField[] })[];
  }

  #read(chunk: Uint8Array): void {
    this.#reader.push(chunk.slice());
    for (let f = this.#reader.next(); f !== null; f = this.#reader.next()) {
      if (f.type === "HEADERS") this.frames.push({ ...f, fields: this.#decoder.decode(f.block) });
      else this.frames.push(f);
    }
  }
}

export function req(
  method: string,
  path: string,
  extra: HeaderField[] = [],
  authority = "example.test",
): HeaderField[] {
  return [[":method", method], [":scheme", "https"], [":authority", authority], [":path", path], ...extra];
}
