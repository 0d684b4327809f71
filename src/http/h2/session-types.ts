import type { HeaderField } from "../hpack/types.ts";
import type { H2Error } from "./errors.ts";
import type { PriorityFields, Setting } from "./frame-types.ts";

export type { HeaderField };

/** What the session needs from an HPACK encoder (RFC 7541); `src/http/hpack/` provides one. */
export interface H2HeaderEncoder {
  /** The peer's SETTINGS_HEADER_TABLE_SIZE; the next block starts with a table size update. */
  setMaxTableSize(bytes: number): void;
  encode(fields: readonly HeaderField[]): Uint8Array;
}

/** What the session needs from an HPACK decoder. It may throw on a malformed block. */
export interface H2HeaderDecoder {
  decode(block: Uint8Array): HeaderField[];
}

/**
 * The browser's connection preface as plain data (from the profile). SETTINGS go out exactly as
 * listed (order, duplicates, unknown or GREASE ids).
 */
export interface H2ClientPlan {
  readonly settings: ReadonlyArray<readonly [id: number, value: number]>;
  /** Connection WINDOW_UPDATE sent after SETTINGS; 0 = none. */
  readonly connectionWindowIncrement: number;
  /** PRIORITY frames sent after the WINDOW_UPDATE (old Firefox's idle dependency streams). */
  readonly priorityFrames: ReadonlyArray<{
    readonly streamId: number;
    readonly exclusive: boolean;
    readonly dependency: number;
    readonly weight: number;
  }>;
  /** Odd id of the first request stream: 1 (Chrome, Safari), 3 (Firefox), 15 (old Firefox). */
  readonly firstStreamId: number;
}

export interface H2ClientOptions {
  readonly plan: H2ClientPlan;
  readonly encoder: H2HeaderEncoder;
  /** Must accept table size updates up to the plan's SETTINGS_HEADER_TABLE_SIZE (id 1). */
  readonly decoder: H2HeaderDecoder;
  /**
   * Queued output above which `writeData` accepts nothing more until `takeOutput()` (bytes).
   * Default 1 MiB. Frames the session must answer on its own (ACKs, RST, WINDOW_UPDATE) may go
   * past it up to 4×; a peer that drives the queue further (e.g. a PING flood while we cannot
   * write) ends the connection with ENHANCE_YOUR_CALM.
   */
  readonly maxQueuedOutput?: number;
  /**
   * MAX_CONCURRENT_STREAMS assumed until the peer's SETTINGS arrive. Default 100 (Chromium's
   * `kInitialMaxConcurrentStreams`, from source memory).
   */
  readonly initialMaxConcurrentStreams?: number;
  /** Largest compressed field block accepted across HEADERS + CONTINUATION (bytes). Default 256 KiB. */
  readonly maxHeaderBlockBytes?: number;
}

export interface OpenStreamRequest {
  /** The whole field list, pseudo-headers first, in wire order; already validated by the caller. */
  readonly fields: readonly HeaderField[];
  /** True when there is no body: HEADERS carries END_STREAM. */
  readonly endStream: boolean;
  /** Sets the PRIORITY flag and fields on HEADERS; absent = no PRIORITY flag (Safari). */
  readonly priority?: PriorityFields;
  /** A stream WINDOW_UPDATE sent right after HEADERS (Firefox: 12451840); absent or 0 = none. */
  readonly windowIncrement?: number;
}

/**
 * Why `openStream` did not open a stream. `concurrency-limit` is the only "wait" reason: retry
 * after an `open-capacity` event. The others mean: use a new connection.
 */
export type OpenRefusal = "concurrency-limit" | "going-away" | "ids-exhausted" | "closed";

export type OpenResult =
  | { readonly ok: true; readonly streamId: number }
  | { readonly ok: false; readonly reason: OpenRefusal };

/** What `receive()` reports, in wire order. */
export type H2Event =
  /** Response headers: `interim` for 1xx (more headers follow), else the final response. */
  | {
      readonly type: "headers";
      readonly streamId: number;
      readonly status: number;
      readonly interim: boolean;
      readonly fields: HeaderField[];
    }
  /**
   * Response body bytes (a view into the bytes given to `receive()`). `flowLength` is what the
   * frame counted against the windows; padding is released at once, so hand exactly `data.length`
   * back through `consumed()`.
   */
  | {
      readonly type: "data";
      readonly streamId: number;
      readonly data: Uint8Array;
      readonly flowLength: number;
    }
  | { readonly type: "trailers"; readonly streamId: number; readonly fields: HeaderField[] }
  /** The peer ended its side (END_STREAM); follows the stream's last headers/data/trailers event. */
  | { readonly type: "end"; readonly streamId: number }
  /**
   * The stream is gone. `remote`: the peer sent RST_STREAM (or GOAWAY refused it); otherwise the
   * session reset it for a stream error of the peer's. `retryable`: the peer did not process the
   * request (REFUSED_STREAM, or above a GOAWAY's last stream id), safe to send again elsewhere.
   * A `reset` with NO_ERROR after `end` is a server that has answered and wants no more request
   * body (RFC 9113 §8.1): the response stands. Unconsumed bytes of a reset stream are released.
   */
  | {
      readonly type: "reset";
      readonly streamId: number;
      readonly code: number;
      readonly remote: boolean;
      readonly retryable: boolean;
      /** Ours (`remote` false): what was wrong with the server's frames. */
      readonly reason?: string;
    }
  /** Peer GOAWAY. Streams above `lastStreamId` follow as retryable `reset` events. */
  | {
      readonly type: "goaway";
      readonly lastStreamId: number;
      readonly code: number;
      readonly debug: Uint8Array;
    }
  /** Peer SETTINGS applied (ACK already queued), as received. */
  | { readonly type: "settings"; readonly settings: readonly Setting[] }
  /** The peer acknowledged our SETTINGS. */
  | { readonly type: "settings-ack" }
  | { readonly type: "ping-ack"; readonly opaque: Uint8Array }
  /** A stream that `writeData` left short has flow-control window again. */
  | { readonly type: "writable"; readonly streamId: number }
  /** `openStream` refused with `concurrency-limit` before; a stream can be opened now. */
  | { readonly type: "open-capacity" }
  /** Connection error: GOAWAY is queued, every open stream is gone, the session is closed. */
  | { readonly type: "connection-error"; readonly error: H2Error };
