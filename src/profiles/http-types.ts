/**
 * The HTTP layer of a resolved profile (`ProfileHttp`): the HTTP/2 session plan, HPACK policy,
 * per-request-kind priority, HTTP/1.1 header case, and per-kind header templates. Kept apart from
 * `ProfileSettings` (the TLS part), which becomes the native engine's `ProfileSpec`: no HTTP data
 * ever reaches the native side. Keys and docs: `schema-http.ts`.
 */
import type { HpackPolicy } from "../http/hpack/types.ts";

/**
 * Request kinds a header template and an HTTP/2 priority exist for. `src/http/headers/request-kind.ts`
 * classifies a client request into one of them.
 */
export const REQUEST_KINDS = [
  "navigate",
  "fetch",
  "xhr",
  "image",
  "script",
  "style",
  "favicon",
  "websocket",
] as const;
export type RequestKind = (typeof REQUEST_KINDS)[number];

/**
 * A kind a profile does not define takes the one it falls back to here, repeatedly; every chain
 * ends at `navigate`, the one kind a profile with header templates (or priorities) must define.
 */
export const KIND_FALLBACK: { readonly [K in RequestKind]: RequestKind | null } = {
  navigate: null,
  fetch: "navigate",
  xhr: "fetch",
  image: "fetch",
  script: "fetch",
  style: "fetch",
  favicon: "image",
  websocket: "fetch",
};

/** One SETTINGS entry as sent: any 16-bit id, any 32-bit value. */
export type H2Setting = [id: number, value: number];

/** Stream dependency of a HEADERS or PRIORITY frame; `weight` is 1..256 (the wire byte + 1). */
export interface H2PriorityFrame {
  streamId: number;
  exclusive: boolean;
  dependency: number;
  weight: number;
}

/** What the HTTP/2 session (`src/http/h2/`) takes to open a connection like the browser. */
export interface H2SessionPlan {
  /** SETTINGS in wire order (no GREASE entry: see `Http2Profile.greaseSetting`). */
  settings: H2Setting[];
  /** Stream-0 WINDOW_UPDATE increment sent after SETTINGS; 0 = none. */
  connectionWindowIncrement: number;
  /** PRIORITY frames sent after the WINDOW_UPDATE, before the first request (legacy Firefox). */
  priorityFrames: H2PriorityFrame[];
  /** Stream id of the first request (1; Firefox 3). */
  firstStreamId: number;
}

/** `"last-open-higher"`: the last still-open stream whose weight is >= this one's, else 0 (Chromium). */
export type H2Dependency = number | "last-open-higher";

/** Priority fields of a request's HEADERS frame; null = no PRIORITY flag. */
export interface H2HeadersPriority {
  exclusive: boolean;
  dependency: H2Dependency;
  weight: number;
}

export const PSEUDO_HEADERS = [":method", ":authority", ":scheme", ":path", ":protocol"] as const;
export type PseudoHeader = (typeof PSEUDO_HEADERS)[number];

export interface Http2Profile {
  plan: H2SessionPlan;
  /** Chrome Finch `http2_grease_settings`: append one random `0x?a?a` id with a random value last. */
  greaseSetting: boolean;
  /** WINDOW_UPDATE on each new request stream right after its HEADERS (Firefox); null = none. */
  streamWindowIncrement: number | null;
  /** Pseudo-header order; `:protocol` (extended CONNECT) goes last when not listed. */
  pseudoHeaderOrder: PseudoHeader[];
  hpack: HpackPolicy;
  /** HEADERS priority per request kind, every kind resolved (fallbacks applied). */
  priority: Record<RequestKind, H2HeadersPriority | null>;
}

export interface Http1Profile {
  /** Exact case on the wire by lowercase name, for the names the browser itself writes. */
  headerCase: Record<string, string>;
  /** Header names the browser sends on h2 only (dropped on h1), e.g. Chrome's `priority`. */
  omit: string[];
  /** `Connection` value of a normal request (`Upgrade` for a WebSocket handshake). */
  connection: string;
}

/** The browser's header template for one request kind (names lowercase). */
export interface KindHeaders {
  /** h2 wire order of regular headers; `*` marks where unlisted client headers go. */
  order: string[];
  /** h1 order after `Host` (null: `connection` then `order`); may list `connection` and `*`. */
  h1Order: string[] | null;
  /**
   * Values the profile supplies. Browser-identity names (user-agent, accept*, sec-ch-*,
   * sec-fetch-*, upgrade-insecure-requests, priority, te, ...) replace the client's; any other
   * name is a default the client's own value overrides.
   */
  values: Record<string, string>;
}

export interface ProfileHttp {
  http2: Http2Profile;
  http1: Http1Profile;
  /** Header template per kind (fallbacks applied), or null: no template, client headers pass through. */
  headers: Record<RequestKind, KindHeaders> | null;
}
