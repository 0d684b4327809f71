import { detachedString } from "../detached.ts";
import { H1Error } from "./errors.ts";
import { parseFieldLines, type RawField, valuesOf } from "./fields.ts";
import { connectionOptions, contentLength, persistent, transferCodings } from "./framing.ts";
import { HeadScanner, type ScannedHead } from "./head-scanner.ts";
import { parseHostPort, parseTarget, type RequestTarget } from "./request-target.ts";
import { asciiLower, isTokenString, latin1, splitList } from "./syntax.ts";

/**
 * Strict parser for HTTP/1.x request heads from the (untrusted) client (RFC 9112 §2-§7,
 * RFC 9110). Pure: bytes in, `incomplete` or a head out, H1Error (HTTP_BAD_REQUEST) otherwise;
 * the outcome never depends on how the input was split.
 *
 * Request line: exactly `method SP request-target SP HTTP/1.0|HTTP/1.1` (single spaces). The method
 * is any token (case-sensitive, RFC 9110 §9.1) of at most 32 chars; the version must be
 * `HTTP/DIGIT.DIGIT` (else BAD_VERSION) and 1.0 or 1.1 (else UNSUPPORTED_VERSION, 505); the target
 * is checked by request-target.ts, and longer than `maxUriBytes` is URI_TOO_LONG (414).
 *
 * Fields: strict (see fields.ts). Host: exactly one on 1.1, at most one on 1.0, and valid
 * (RFC 9112 §3.2). For absolute-form the target's authority wins over Host (§3.2.2); the two are
 * not required to match.
 *
 * Body framing (RFC 9112 §6), the smuggling defence:
 * - Transfer-Encoding on HTTP/1.0: TE_HTTP10. With Content-Length: CL_AND_TE (RFC 9112 §6.1 allows
 *   rejecting it; a proxy must). The codings must end in `chunked` (else TE_NOT_CHUNKED, 400,
 *   §6.3 item 4); any coding besides `chunked` is TE_UNSUPPORTED (501, §6.1): only `chunked` alone
 *   is accepted.
 * - Content-Length: one line with one 1*DIGIT value ≤ 2^53-1; any repeat, even identical, is
 *   CL_DUPLICATE; anything else CL_INVALID.
 * - CONNECT has no content (RFC 9110 §9.3.6): Transfer-Encoding or a non-zero Content-Length is
 *   CONNECT_BODY.
 * - Neither field: no body.
 *
 * Derived flags: `keepAlive` per §9.3; `upgrade` is the Upgrade value when Connection lists
 * `upgrade` on HTTP/1.1 (RFC 9110 §7.8: ignored on 1.0); `expectContinue` when Expect lists
 * `100-continue` on HTTP/1.1 (RFC 9110 §10.1.1: ignored on 1.0).
 */

export interface RequestLimits {
  /** Whole head, request line to the final CRLF CRLF. */
  maxHeadBytes: number;
  /** Field lines. */
  maxHeaders: number;
  /** Request-target length. */
  maxUriBytes: number;
}

export const DEFAULT_REQUEST_LIMITS: RequestLimits = {
  maxHeadBytes: 64 * 1024, // bytes; browsers' heads with big cookies stay far below (Node's default is 16 KiB)
  maxHeaders: 200, // field lines; browsers send ~20
  maxUriBytes: 16 * 1024, // bytes; RFC 9110 §4.1 recommends supporting at least 8000 octets
};

export type RequestBody = { kind: "none" } | { kind: "length"; length: number } | { kind: "chunked" };

export interface RequestHead {
  /** Case-sensitive token, e.g. `GET`. */
  method: string;
  target: RequestTarget;
  version: "1.0" | "1.1";
  /** Field lines in wire order, names in their original case, values trimmed. */
  rawHeaders: RawField[];
  /** `rawHeaders`' names lowercased (same indices): computed once for every later lookup. */
  lowerNames: string[];
  /** Target authority (absolute-form, authority-form) or the Host value; null on 1.0 without Host. */
  authority: string | null;
  body: RequestBody;
  keepAlive: boolean;
  /** Upgrade value (e.g. `websocket`) when the client asks for a protocol switch, else null. */
  upgrade: string | null;
  expectContinue: boolean;
}

export type RequestParse = { kind: "incomplete" } | { kind: "head"; head: RequestHead; consumed: number };

const MAX_METHOD_CHARS = 32; // chars; longest registered method (UPDATEREDIRECTREF) has 17
const VERSION_CHARS = 8; // "HTTP/1.1"
const INCOMPLETE = Object.freeze({ kind: "incomplete" as const });

/** Parses the head at the start of `buf`; `consumed` counts the head bytes (one skipped leading CRLF included). */
export function parseRequestHead(
  buf: Uint8Array,
  limits: RequestLimits = DEFAULT_REQUEST_LIMITS,
): RequestParse {
  return new RequestHeadScanner(limits).push(buf);
}

/**
 * Incremental form: `push` each chunk as it arrives. On `head`, `consumed` counts the bytes of
 * that last chunk belonging to the head; the rest of that chunk is the body or the next request.
 * Call `reset()` before framing the next request.
 */
export class RequestHeadScanner implements HostMemo {
  readonly scanner: HeadScanner;

  constructor(limits: RequestLimits = DEFAULT_REQUEST_LIMITS) {
    this.maxUriBytes = limits.maxUriBytes;
    this.scanner = new HeadScanner("request", {
      maxHeadBytes: limits.maxHeadBytes,
      maxHeaders: limits.maxHeaders,
      maxStartLineBytes: MAX_METHOD_CHARS + 1 + limits.maxUriBytes + 1 + VERSION_CHARS,
    });
  }

  private readonly maxUriBytes: number;
  /** The last Host value found valid on this connection (clients repeat it on every request). */
  validHost: string | null = null;

  push(chunk: Uint8Array): RequestParse {
    const scanned = this.scanner.push(chunk);
    if (scanned === null) return INCOMPLETE;
    const head = buildRequestHead(scanned, this.maxUriBytes, this);
    return { kind: "head", head, consumed: scanned.consumed };
  }

  reset(): void {
    this.scanner.reset();
  }

  /** Whether bytes of a head were seen since the last reset. */
  get started(): boolean {
    return this.scanner.started;
  }
}

/** Where a connection keeps the last Host value found valid (the check depends on the string alone). */
interface HostMemo {
  validHost: string | null;
}

/** Lowercase names of the fields the head's framing and flags depend on. */
const FRAMING_NAMES: ReadonlySet<string> = new Set([
  "host",
  "content-length",
  "transfer-encoding",
  "connection",
  "upgrade",
  "expect",
]);

function buildRequestHead(scanned: ScannedHead, maxUriBytes: number, memo: HostMemo): RequestHead {
  const { bytes, lines } = scanned;
  // The whole head decoded once; the request line, names and values are cut from it.
  const text = latin1(bytes, 0, bytes.length, scanned.ascii);
  const line = text.slice(0, (lines[1] ?? 2) - 2);
  const { method, rawTarget, version } = splitRequestLine(line);
  if (rawTarget.length > maxUriBytes) {
    throw new H1Error("request", "URI_TOO_LONG", `request-target exceeds ${maxUriBytes} bytes`, 414);
  }
  const target = parseTarget(rawTarget, method);
  const { fields } = parseFieldLines(bytes, lines, "request", false, text);
  const lowerNames: string[] = new Array(fields.length);
  // Only the few framing fields are looked up below: a short list instead of a pass per lookup.
  let few: RawField[] = NO_FIELDS;
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i] as RawField;
    const lower = asciiLower(f[0]);
    lowerNames[i] = lower;
    if (!FRAMING_NAMES.has(lower)) continue;
    if (few === NO_FIELDS) few = [];
    few.push(lower === f[0] ? f : [lower, f[1]]); // lowercase: each lookup below is then one compare
  }

  const hosts = valuesOf(few, "host");
  if (hosts.length > 1) throw new H1Error("request", "HOST_DUPLICATE", "more than one Host field");
  const host = hosts[0];
  if (host === undefined && version === "1.1")
    throw new H1Error("request", "HOST_MISSING", "HTTP/1.1 request without Host");
  if (host !== undefined && host !== memo.validHost) {
    if (host.length === 0) throw new H1Error("request", "HOST_INVALID", "empty Host");
    parseHostPort(host, false, "HOST_INVALID");
    memo.validHost = detachedString(host); // the same string passes again; kept while idle
  }

  const body = requestBody(few, version, method);
  const options = connectionOptions(few);
  const upgradeValues = valuesOf(few, "upgrade");
  const upgrade =
    version === "1.1" && options.has("upgrade") && upgradeValues.length > 0 && method !== "CONNECT"
      ? upgradeValues.join(", ")
      : null;
  const expectContinue =
    version === "1.1" &&
    valuesOf(few, "expect").some((v) => splitList(v).some((e) => asciiLower(e) === "100-continue"));
  const authority =
    target.form === "absolute" || target.form === "authority" ? target.authority : (host ?? null);
  return {
    method,
    target,
    version,
    rawHeaders: fields,
    lowerNames,
    authority,
    body,
    keepAlive: persistent(version, options),
    upgrade,
    expectContinue,
  };
}

/** Shared and never written to: `few` is replaced by a new array before its first push. */
const NO_FIELDS: RawField[] = [];

function splitRequestLine(line: string): { method: string; rawTarget: string; version: "1.0" | "1.1" } {
  const sp1 = line.indexOf(" ");
  const sp2 = line.lastIndexOf(" ");
  if (sp1 <= 0 || sp2 === sp1) {
    throw new H1Error("request", "BAD_START_LINE", "request line is not 'method SP target SP version'");
  }
  const method = knownMethod(line, sp1) ?? line.slice(0, sp1);
  if (method !== "GET" && !isTokenString(method))
    throw new H1Error("request", "BAD_METHOD", "method is not a token");
  if (method.length > MAX_METHOD_CHARS) throw new H1Error("request", "BAD_METHOD", "method too long");
  const versionText = line.slice(sp2 + 1);
  if (versionText !== "HTTP/1.1" && versionText !== "HTTP/1.0") {
    if (!/^HTTP\/[0-9]\.[0-9]$/.test(versionText))
      throw new H1Error("request", "BAD_VERSION", "malformed HTTP version");
    throw new H1Error("request", "UNSUPPORTED_VERSION", `${versionText} not supported`, 505);
  }
  const rawTarget = line.slice(sp1 + 1, sp2);
  if (rawTarget.length === 0 || rawTarget.includes(" ")) {
    throw new H1Error("request", "BAD_TARGET", "request-target empty or containing spaces");
  }
  return { method, rawTarget, version: versionText === "HTTP/1.1" ? "1.1" : "1.0" };
}

/**
 * The method as a string of its own when it is a common one: the exchange keeps the method until
 * its response ends, and a slice would keep the whole head text alive that long.
 */
function knownMethod(line: string, length: number): string | undefined {
  switch (length) {
    case 3:
      return line.startsWith("GET") ? "GET" : line.startsWith("PUT") ? "PUT" : undefined;
    case 4:
      return line.startsWith("POST") ? "POST" : line.startsWith("HEAD") ? "HEAD" : undefined;
    case 5:
      return line.startsWith("PATCH") ? "PATCH" : undefined;
    case 6:
      return line.startsWith("DELETE") ? "DELETE" : undefined;
    case 7:
      return line.startsWith("OPTIONS") ? "OPTIONS" : undefined;
    default:
      return undefined;
  }
}

function requestBody(fields: readonly RawField[], version: "1.0" | "1.1", method: string): RequestBody {
  const codings = transferCodings(fields, "request");
  const cl = contentLength(fields, "request", false);
  if (codings !== null) {
    if (version === "1.0")
      throw new H1Error("request", "TE_HTTP10", "Transfer-Encoding in an HTTP/1.0 request");
    if (cl !== null) throw new H1Error("request", "CL_AND_TE", "both Content-Length and Transfer-Encoding");
    if (codings[codings.length - 1] !== "chunked") {
      throw new H1Error("request", "TE_NOT_CHUNKED", "Transfer-Encoding does not end in chunked");
    }
    if (codings.length > 1) {
      throw new H1Error("request", "TE_UNSUPPORTED", `transfer coding ${codings[0]} not implemented`, 501);
    }
    if (method === "CONNECT") throw new H1Error("request", "CONNECT_BODY", "CONNECT with Transfer-Encoding");
    return { kind: "chunked" };
  }
  if (cl !== null) {
    if (method === "CONNECT" && cl.length !== 0)
      throw new H1Error("request", "CONNECT_BODY", "CONNECT with content");
    if (method !== "CONNECT") return { kind: "length", length: cl.length };
  }
  return { kind: "none" };
}
