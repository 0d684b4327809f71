/**
 * The server role's options and events (RFC 9113): what `H2ServerSession` is configured with and
 * what `receive()` reports. Plain data.
 */
import type { H2Error } from "./errors.ts";
import type { ServerRequest } from "./server-request.ts";
import type { HeaderField } from "./session-types.ts";

export interface H2ServerOptions {
  /** Our SETTINGS_MAX_CONCURRENT_STREAMS; HEADERS beyond it are refused (REFUSED_STREAM). */
  readonly maxConcurrentStreams: number;
  /** Our SETTINGS_MAX_HEADER_LIST_SIZE (bytes); a larger request head is reported `oversize`. */
  readonly maxHeaderListSize: number;
  /** Our SETTINGS_INITIAL_WINDOW_SIZE for request bodies (bytes); default 65535, less past 256 streams. */
  readonly initialWindowSize?: number;
  /** The connection's receive window (bytes); default: every stream's together, 1..16 MiB (see server-session.ts). */
  readonly connectionWindowSize?: number;
}

/** What `receive()` reports, in wire order. */
export type H2ServerEvent =
  /**
   * A new request stream. `oversize`: its header list exceeded our MAX_HEADER_LIST_SIZE (answer
   * 431 without dispatching). `endStream`: no body follows.
   */
  | {
      readonly type: "request";
      readonly streamId: number;
      readonly request: ServerRequest;
      readonly endStream: boolean;
      readonly oversize: boolean;
    }
  /** Request body bytes (a view into the received bytes); give them back with `consumed()`. */
  | { readonly type: "data"; readonly streamId: number; readonly data: Uint8Array }
  /** The client ended its request (END_STREAM), with its trailers if it sent any. */
  | { readonly type: "end"; readonly streamId: number; readonly trailers: HeaderField[] | null }
  /**
   * A reported stream is gone before it completed: `remote` = the client sent RST_STREAM; else
   * the session reset it for the client's stream error (`code`).
   */
  | { readonly type: "reset"; readonly streamId: number; readonly code: number; readonly remote: boolean }
  /** Everything `writeData` queued on this stream is framed (after it returned false). */
  | { readonly type: "drained"; readonly streamId: number }
  /** An `end()` that waited for window (it returned false) is out: the response is complete. */
  | { readonly type: "ended"; readonly streamId: number }
  /** The client sent GOAWAY: it opens no more streams. */
  | { readonly type: "goaway"; readonly code: number }
  /** Connection error: GOAWAY is queued, every stream is gone, the session is closed. */
  | { readonly type: "connection-error"; readonly error: H2Error };
