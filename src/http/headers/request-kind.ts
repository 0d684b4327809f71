/**
 * Classifies a client request into the request kind whose browser header template and HTTP/2
 * priority the upstream request gets. Deterministic; the first rule that matches wins:
 *
 * 1. `X-PolyTLS-Request-Kind: <kind>` with a known kind (an unknown value is ignored here; see
 *    `parseRequestKind` to reject it instead).
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
import { REQUEST_KINDS, type RequestKind } from "../../profiles/http-types.ts";
import { REQUEST_KIND_HEADER } from "./names.ts";

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

const DEST_KIND: Readonly<Record<string, RequestKind>> = {
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
};

const EXTENSION_KIND: Readonly<Record<string, RequestKind>> = {
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
};

function field(fields: ClassifyInput["fields"], name: string): string | undefined {
  return fields.find(([n]) => n === name)?.[1];
}

function pathOnly(path: string): string {
  const end = path.search(/[?#]/);
  return (end === -1 ? path : path.slice(0, end)).toLowerCase();
}

function byExtension(path: string): RequestKind | undefined {
  const p = pathOnly(path);
  if (p === "/favicon.ico") return "favicon";
  const base = p.slice(p.lastIndexOf("/") + 1);
  const dot = base.lastIndexOf(".");
  return dot > 0 ? EXTENSION_KIND[base.slice(dot + 1)] : undefined;
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
  const explicit = field(req.fields, REQUEST_KIND_HEADER);
  const forced = explicit === undefined ? undefined : parseRequestKind(explicit);
  if (forced !== undefined) return forced;
  const method = req.method.toUpperCase();
  if (
    field(req.fields, "upgrade")?.trim().toLowerCase() === "websocket" ||
    (method === "CONNECT" && req.protocol?.toLowerCase() === "websocket")
  )
    return "websocket";
  const dest = field(req.fields, "sec-fetch-dest")?.trim().toLowerCase();
  if (dest !== undefined) {
    const kind = DEST_KIND[dest] ?? "fetch";
    return kind === "image" && pathOnly(req.path) === "/favicon.ico" ? "favicon" : kind;
  }
  if (method !== "GET" && method !== "HEAD") return "fetch";
  if (field(req.fields, "x-requested-with")?.trim().toLowerCase() === "xmlhttprequest") return "xhr";
  const ext = byExtension(req.path);
  if (ext !== undefined) return ext;
  const accept = field(req.fields, "accept");
  return (accept === undefined ? undefined : byAccept(accept)) ?? "navigate";
}
