import { ProxyError } from "../../errors/proxy-error.ts";
import { HpackDecoder } from "../hpack/decoder.ts";
import { HpackEncoder } from "../hpack/encoder.ts";
import { appendChunk } from "./chunk-list.ts";
import { connectionError, H2ErrorCode } from "./errors.ts";
import { CLIENT_MAGIC, MAX_WINDOW } from "./frame-types.ts";
import { ServerFrameHandler } from "./server-frames.ts";
import { SERVER_HPACK_POLICY } from "./server-hpack.ts";
import { ServerState } from "./server-state.ts";
import type { H2ServerEvent, H2ServerOptions } from "./server-types.ts";
import type { HeaderField } from "./session-types.ts";
import { DEFAULT_INITIAL_WINDOW_SIZE, SettingId } from "./settings.ts";

/**
 * Request body window per stream (our SETTINGS_INITIAL_WINDOW_SIZE): the RFC default, 65535
 * bytes, as node:http2 offered before. Bytes are granted back only as the caller takes them.
 */
const DEFAULT_STREAM_WINDOW = DEFAULT_INITIAL_WINDOW_SIZE;
/**
 * The connection's receive window: the most request body bytes a connection holds unaccepted,
 * whatever its streams do (so the memory bound per tunnel). At least every stream's window
 * together, so that streams holding bytes they cannot pass on yet (waiting for an HTTP/1.1
 * upstream connection, or for a slow origin) never leave the others without window: a
 * connection-level deadlock. At least 1 MiB, at most 16 MiB; past that the stream window shrinks.
 */
const MIN_CONNECTION_WINDOW = 1 << 20;
const MAX_CONNECTION_WINDOW = 16 << 20;
/** Smallest bound on one compressed field block (HEADERS + CONTINUATION), bytes. */
const MIN_BLOCK_BYTES = 16 * 1024;

const NONE: readonly HeaderField[] = [];
const NO_EVENTS: readonly H2ServerEvent[] = [];

function misuse(message: string): ProxyError {
  return new ProxyError("INTERNAL", `h2 server session: ${message}`);
}

/**
 * One client connection in the server role (RFC 9113), as a pure state machine: no I/O, no
 * timers. Queue `start()`'s frames first, feed the client's bytes to `receive()`, and after every
 * call send what `takeOutput()` returns.
 *
 * Request bodies: each `data` event's bytes count against the windows until `consumed()` gives
 * them back, so the client can have at most the connection window in flight. Responses:
 * `respond()` sends a head (1xx interim or final), `writeData()` frames what the client's windows
 * and max frame size allow and keeps the rest (false: stop until `drained`), `end()` finishes with
 * trailers or an empty END_STREAM DATA frame once everything queued is sent.
 */
export class H2ServerSession {
  readonly #s: ServerState;
  readonly #handler: ServerFrameHandler;
  readonly #streamWindow: number;
  readonly #connectionWindow: number;
  readonly #opts: H2ServerOptions;
  /** Client magic bytes still expected (RFC 9113 §3.4). */
  #magicLeft = CLIENT_MAGIC.length;

  constructor(opts: H2ServerOptions) {
    this.#opts = opts;
    const streams = opts.maxConcurrentStreams;
    this.#connectionWindow =
      opts.connectionWindowSize ??
      Math.min(MAX_CONNECTION_WINDOW, Math.max(MIN_CONNECTION_WINDOW, streams * DEFAULT_STREAM_WINDOW));
    this.#streamWindow =
      opts.initialWindowSize ?? Math.min(DEFAULT_STREAM_WINDOW, Math.floor(this.#connectionWindow / streams));
    if (this.#streamWindow > MAX_WINDOW || this.#connectionWindow > MAX_WINDOW)
      throw misuse("window too large");
    this.#s = new ServerState(
      new HpackEncoder(SERVER_HPACK_POLICY),
      opts.maxConcurrentStreams,
      this.#streamWindow,
      this.#connectionWindow,
    );
    const list = opts.maxHeaderListSize;
    // Past twice our limit the decoder stops (a connection error: its table is then out of step);
    // between the two the request is answered 431.
    const decoder = new HpackDecoder({ maxHeaderListSize: Math.max(2 * list, MIN_BLOCK_BYTES) });
    this.#handler = new ServerFrameHandler(this.#s, decoder, list, Math.max(2 * list, MIN_BLOCK_BYTES));
  }

  /** Queues our SETTINGS and the connection WINDOW_UPDATE: the server preface (§3.4). */
  start(): void {
    const o = this.#opts;
    const settings: [number, number][] = [
      [SettingId.MAX_CONCURRENT_STREAMS, o.maxConcurrentStreams],
      [SettingId.ENABLE_PUSH, 0],
      [SettingId.MAX_HEADER_LIST_SIZE, o.maxHeaderListSize],
    ];
    if (this.#streamWindow !== DEFAULT_INITIAL_WINDOW_SIZE) {
      settings.push([SettingId.INITIAL_WINDOW_SIZE, this.#streamWindow]);
    }
    const s = this.#s;
    s.queueFrame({ type: "SETTINGS", ack: false, settings });
    const inc = this.#connectionWindow - DEFAULT_INITIAL_WINDOW_SIZE;
    if (inc > 0) s.queueFrame({ type: "WINDOW_UPDATE", streamId: 0, increment: inc });
  }

  /** Feeds the client's bytes (the magic first); returns what happened, in order. */
  receive(bytes: Uint8Array): readonly H2ServerEvent[] {
    const s = this.#s;
    if (s.closed) return this.takeEvents();
    let rest = bytes;
    if (this.#magicLeft > 0) {
      const at = CLIENT_MAGIC.length - this.#magicLeft;
      const n = Math.min(this.#magicLeft, bytes.length);
      for (let i = 0; i < n; i++) {
        if (bytes[i] !== CLIENT_MAGIC[at + i]) {
          s.fail(connectionError(H2ErrorCode.PROTOCOL_ERROR, "invalid client connection preface"));
          return this.takeEvents();
        }
      }
      this.#magicLeft -= n;
      rest = bytes.subarray(n);
    }
    if (rest.length > 0) this.#handler.receive(rest);
    return this.takeEvents();
  }

  /**
   * A request head is on its way and not whole yet: the client preface, or a field block (the
   * caller bounds how long that may take; a body or an idle connection is not counted).
   */
  get receivingHead(): boolean {
    if (this.#s.closed) return false;
    const magic = this.#magicLeft;
    return (magic > 0 && magic < CLIENT_MAGIC.length) || this.#handler.reader.inFieldBlock;
  }

  /** Request heads read whole so far (field blocks, the preface not counted): see `receivingHead`. */
  get headsEnded(): number {
    return this.#handler.reader.blocksEnded;
  }

  /** Graceful GOAWAY (NO_ERROR): the open streams go on, no new one is opened. */
  goaway(): void {
    this.#s.goaway();
  }

  /** Ends the connection from our side: GOAWAY with `code`; returns the `connection-error` event. */
  abandon(code: number, message: string): readonly H2ServerEvent[] {
    this.#s.fail(connectionError(code, message));
    return this.takeEvents();
  }

  takeEvents(): readonly H2ServerEvent[] {
    const s = this.#s;
    if (s.events.length === 0) return NO_EVENTS;
    const events = s.events;
    s.events = [];
    return events;
  }

  /** Queued frames, in order (the array is handed over). */
  takeOutput(): Uint8Array[] {
    const s = this.#s;
    const out = s.out;
    if (out.length === 0) return out;
    s.out = [];
    s.outBytes = 0;
    s.outputTaken();
    return out;
  }

  get queuedOutput(): number {
    return this.#s.outBytes;
  }

  /**
   * Sends a response head: a 1xx interim (more heads follow) or the final one (`endStream` for a
   * bodyless response). `fields` is the whole list, `:status` (of `status`) first. A no-op on a
   * stream that is gone or already answered.
   */
  respond(streamId: number, status: number, fields: readonly HeaderField[], endStream: boolean): void {
    const s = this.#s;
    const stream = s.live(streamId);
    if (!stream || stream.headSent || stream.localClosed) return;
    if (fields[0]?.[0] !== ":status") throw misuse("a response head starts with :status");
    const interim = status < 200;
    const frames = s.sendBlock(stream, fields, endStream && !interim);
    if (interim) return;
    stream.headSent = true;
    if (!endStream) {
      stream.headFrame = frames;
      s.queuedHeads.push(stream);
    }
    if (endStream) {
      stream.localClosed = true;
      s.finishIfDone(stream);
    }
  }

  /**
   * Response body bytes: frames what the windows allow and keeps the rest in order. Returns false
   * when bytes wait for window (a `drained` event follows once they are sent). Dropped (true) on
   * a stream that is gone.
   */
  writeData(streamId: number, bytes: Uint8Array): boolean {
    const s = this.#s;
    const stream = s.live(streamId);
    if (!stream || stream.localClosed || stream.pendingEnd !== null) return true;
    if (!stream.headSent) throw misuse(`DATA before the response head on stream ${streamId}`);
    if (bytes.length === 0) return stream.queue === null;
    if (stream.queue === null) {
      const n = s.frameData(stream, bytes);
      if (n === bytes.length) return true;
      stream.queue = [bytes.subarray(n)];
      stream.queued = bytes.length - n;
      s.waiting++;
    } else {
      appendChunk(stream.queue, bytes); // tiny chunks copied together (chunk-list.ts)
      stream.queued += bytes.length;
    }
    stream.wantDrain = true;
    return false;
  }

  /**
   * Ends the response: trailers (HEADERS) or END_STREAM, after the queue. Returns false when the
   * end waits behind bytes the client's window has not taken yet: an `ended` event says when it
   * went out (a reset comes instead if the stream goes first). True otherwise (a stream already
   * gone or ended included).
   */
  end(streamId: number, trailers: readonly HeaderField[] | null): boolean {
    const s = this.#s;
    const stream = s.live(streamId);
    if (!stream || stream.localClosed || stream.pendingEnd !== null) return true;
    if (!stream.headSent) throw misuse(`end before the response head on stream ${streamId}`);
    const t = trailers ?? NONE;
    if (stream.queue !== null) {
      stream.pendingEnd = t;
      return false;
    }
    s.endLocal(stream, t);
    return true;
  }

  /** The caller answers this stream itself (not from the origin): its end earns no reset back. */
  answeredLocally(streamId: number): void {
    const stream = this.#s.live(streamId);
    if (stream) stream.earnsReset = false;
  }

  /** Resets a live stream (INTERNAL_ERROR by default: a response cut short); else a no-op. */
  resetStream(streamId: number, code: number = H2ErrorCode.INTERNAL_ERROR): void {
    const s = this.#s;
    const stream = s.live(streamId);
    if (!stream || s.closed) return;
    s.queueFrame({ type: "RST_STREAM", streamId, code });
    s.finish(stream, false);
  }

  /**
   * The caller took `n` bytes of a stream's `data` events: they go back to the stream and
   * connection windows (WINDOW_UPDATE once half a window is due). A no-op after a reset.
   */
  consumed(streamId: number, n: number): void {
    const s = this.#s;
    const stream = s.streams.get(streamId);
    if (!stream || s.closed) return;
    const take = Math.min(n, stream.outstanding);
    stream.outstanding -= take;
    s.releaseStream(stream, take);
    if (stream.closed && stream.outstanding === 0) s.streams.remove(streamId);
  }

  /** Whether the request of a live stream is still being received. */
  receiving(streamId: number): boolean {
    const stream = this.#s.live(streamId);
    return stream !== undefined && !stream.remoteClosed;
  }

  /** Streams open or half-closed (what MAX_CONCURRENT_STREAMS counts). */
  get activeStreams(): number {
    return this.#s.liveCount;
  }

  /** After a connection error: nothing more is received or sent. */
  get closed(): boolean {
    return this.#s.closed;
  }

  get goawayReceived(): boolean {
    return this.#s.goawayReceived;
  }
}
