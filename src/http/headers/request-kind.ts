/**
 * Classifies a client request into the request kind whose browser header template and HTTP/2
 * priority the upstream request gets. Deterministic; the first rule that matches wins:
 *
 * 1. `X-PolyTLS-Request-Kind: <kind>` with a known kind (an unknown value is ignored here: the
 *    dispatchers refuse such a request first, with `checkRequestKindHeader`).
 * 2. WebSocket: `Upgrade: websocket` (h1) or extended CONNECT with `:protocol websocket` (h2).
 * 3. The client's own `Sec-Fetch-Dest`: document / iframe / frame → navigate; image → image (or
 *    favicon for `/favicon.ico`); script, worker, sharedworker, serviceworker → script; style →
 *    style; websocket → websocket; empty and anything else → fetch.
 * 4. A method other than GET / HEAD → fetch (browsers send POST and the rest from fetch/XHR or
 *    forms; a body-carrying API call is the common case).
 * 5. `X-Requested-With: XMLHttpRequest` → xhr.
 * 6. The path's extension (query and fragment ignored): `/favicon.ico` → favicon; css → style;
 *    js, mjs → script; png, jpg, jpeg, gif, webp, avif, svg, ico, bmp, jxl, apng → image;
 *    json → fetch.
 * 7. The client's `Accept`, first media range: text/html or application/xhtml+xml → navigate;
 *    image/* → image; text/css → style; application/json or text/event-stream → fetch.
 * 8. Otherwise navigate (a plain GET, e.g. curl's with its any-type Accept, is a page load).
 */
import { ProxyError } from "../../errors/proxy-error.ts";
import { REQUEST_KINDS, type RequestKind } from "../../profiles/http-types.ts";
import { REQUEST_KIND_HEADER } from "./names.ts";

/** How much of an unknown value the refusal quotes (field values are bounded by the head limit only). */
const QUOTED_VALUE_MAX = 64; // characters

export interface ClassifyInput {
  /** Request method, any case. */
  method: string;
  /** Request target path (origin form), e.g. `/img/a.png?x=1`. */
  path: string;
  /** Client fields, lowercase names, wire order. */
  fields: readonly (readonly [string, string])[];
  /** `:protocol` of an h2 extended CONNECT, if any. */
  protocol?: string;
}

/** A known kind name (case-insensitive, trimmed), else undefined. */
export function parseRequestKind(value: string): RequestKind | undefined {
  const v = value.trim().toLowerCase();
  return (REQUEST_KINDS as readonly string[]).includes(v) ? (v as RequestKind) : undefined;
}

/**
 * Refuses a request whose `X-PolyTLS-Request-Kind` names no known kind: HTTP_BAD_REQUEST (400),
 * naming the header and the valid values, before anything is sent upstream. A request that
 * silently went out as a navigation would look like a browser's, with the wrong headers.
 */
export function checkRequestKindHeader(fields: ClassifyInput["fields"]): void {
  for (let i = 0; i < fields.length; i++) {
    const [name, value] = fields[i] as ClassifyInput["fields"][number];
    // An empty value names nothing (as an empty X-PolyTLS-Upstream-Profile): the kind is inferred.
    if (name !== REQUEST_KIND_HEADER || value.trim() === "" || parseRequestKind(value) !== undefined)
      continue;
    const shown = value.length > QUOTED_VALUE_MAX ? `${value.slice(0, QUOTED_VALUE_MAX)}…` : value;
    throw new ProxyError(
      "HTTP_BAD_REQUEST",
      `X-PolyTLS-Request-Kind: unknown request kind ${JSON.stringify(shown)}; valid values: ${REQUEST_KINDS.join(", ")}`,
    );
  }
}

function mapOf(o: Record<string, RequestKind>): ReadonlyMap<string, RequestKind> {
  return new Map(Object.entries(o));
}

// Maps, not object literals: a client value such as `constructor` must not find Object.prototype.
const DEST_KIND: ReadonlyMap<string, RequestKind> = mapOf({
  document: "navigate",
  iframe: "navigate",
  frame: "navigate",
  image: "image",
  script: "script",
  worker: "script",
  sharedworker: "script",
  serviceworker: "script",
  style: "style",
  websocket: "websocket",
});

const EXTENSION_KIND: ReadonlyMap<string, RequestKind> = mapOf({
  css: "style",
  js: "script",
  mjs: "script",
  png: "image",
  jpg: "image",
  jpeg: "image",
  gif: "image",
  webp: "image",
  avif: "image",
  svg: "image",
  ico: "image",
  bmp: "image",
  jxl: "image",
  apng: "image",
  json: "fetch",
});

/** The first values of the fields the rules read (one pass over the fields). */
interface Signals {
  explicit: string | undefined;
  upgrade: string | undefined;
  dest: string | undefined;
  requestedWith: string | undefined;
  accept: string | undefined;
}

function signals(fields: ClassifyInput["fields"]): Signals {
  const s: Signals = {
    explicit: undefined,
    upgrade: undefined,
    dest: undefined,
    requestedWith: undefined,
    accept: undefined,
  };
  for (let i = 0; i < fields.length; i++) {
    const [name, value] = fields[i] as ClassifyInput["fields"][number];
    if (name === REQUEST_KIND_HEADER) s.explicit ??= value;
    else if (name === "upgrade") s.upgrade ??= value;
    else if (name === "sec-fetch-dest") s.dest ??= value;
    else if (name === "x-requested-with") s.requestedWith ??= value;
    else if (name === "accept") s.accept ??= value;
  }
  return s;
}

/** Where the path part of a request target ends (at its query or fragment, if any). */
function pathEnd(path: string): number {
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c === 0x3f || c === 0x23) return i; // ? #
  }
  return path.length;
}

const FAVICON = "/favicon.ico";

/** Whether the path part is `/favicon.ico`, any case. */
function isFavicon(path: string): boolean {
  return pathEnd(path) === FAVICON.length && path.slice(0, FAVICON.length).toLowerCase() === FAVICON;
}

/**
 * Only the extension is lowercased (not the whole path: this runs on every request): lowercasing
 * never makes or moves a `/` or `.`, and no other character lowercases into an extension's ASCII.
 */
function byExtension(path: string): RequestKind | undefined {
  if (isFavicon(path)) return "favicon";
  const end = pathEnd(path);
  const slash = path.lastIndexOf("/", end - 1);
  const dot = path.lastIndexOf(".", end - 1);
  return dot > slash + 1 ? EXTENSION_KIND.get(path.slice(dot + 1, end).toLowerCase()) : undefined;
}

function byAccept(accept: string): RequestKind | undefined {
  const first = (accept.split(",")[0] ?? "").split(";")[0]!.trim().toLowerCase();
  if (first === "text/html" || first === "application/xhtml+xml") return "navigate";
  if (first.startsWith("image/")) return "image";
  if (first === "text/css") return "style";
  if (first === "application/json" || first === "text/event-stream") return "fetch";
  return undefined;
}

/** The request kind of a client request (rules in the file header). */
export function classifyRequest(req: ClassifyInput): RequestKind {
  const sig = signals(req.fields);
  const forced = sig.explicit === undefined ? undefined : parseRequestKind(sig.explicit);
  if (forced !== undefined) return forced;
  const method = req.method.toUpperCase();
  if (
    sig.upgrade?.trim().toLowerCase() === "websocket" ||
    (method === "CONNECT" && req.protocol?.toLowerCase() === "websocket")
  )
    return "websocket";
  const dest = sig.dest?.trim().toLowerCase();
  if (dest !== undefined) {
    const kind = DEST_KIND.get(dest) ?? "fetch";
    return kind === "image" && isFavicon(req.path) ? "favicon" : kind;
  }
  if (method !== "GET" && method !== "HEAD") return "fetch";
  if (sig.requestedWith?.trim().toLowerCase() === "xmlhttprequest") return "xhr";
  const ext = byExtension(req.path);
  if (ext !== undefined) return ext;
  return (sig.accept === undefined ? undefined : byAccept(sig.accept)) ?? "navigate";
}
