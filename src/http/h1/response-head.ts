import { H1Error } from "./errors.ts";
import { parseFieldLines, type RawField } from "./fields.ts";
import {
  type BodyFraming,
  connectionOptions,
  contentLength,
  persistent,
  transferCodings,
} from "./framing.ts";
import { HeadScanner, type ScannedHead } from "./head-scanner.ts";
import { latin1 } from "./syntax.ts";

/**
 * Parser for HTTP/1.x response heads from the origin (RFC 9112 §4, §6.3). Pure like the request
 * parser; errors are H1Error HTTP_PROTOCOL (→ 502). Byte rules are the request rules (CRLF only, no
 * CTLs, limits; see head-scanner.ts).
 *
 * Status line: `HTTP/1.0|HTTP/1.1 SP 3DIGIT SP reason`, status 100-599 (RFC 9110 §15).
 *
 * Tolerances, each because real origins need it and RFC 9112 permits it; each applied one is
 * listed in `quirks`:
 * - "no-reason": `HTTP/1.1 200` without the SP before the (empty) reason phrase; the reason is
 *   ignorable anyway (§4).
 * - "space-before-colon", "obs-fold": see fields.ts (§5.1 and §5.2 give a proxy this choice).
 * - "repeated-content-length": the same Content-Length repeated (RFC 9110 §8.6 allows a recipient
 *   to accept identical values); differing values are still CL_DUPLICATE.
 * - "content-length-with-transfer-encoding": Transfer-Encoding and Content-Length together; TE wins (§6.3
 *   item 3) and `keepAlive` is false so nothing after this response is read from the connection.
 *
 * Framing (§6.3), in order: a response to HEAD, any 1xx, 204 and 304 have no body (their CL/TE are
 * not examined); a 2xx to CONNECT and a 101 have no body and `upgraded` is true (the connection now
 * carries another protocol); Transfer-Encoding on HTTP/1.0 is TE_HTTP10 (§6.1 calls that framing
 * faulty); codings ending in `chunked` → chunked (the other codings stay in `transferCodings` for
 * the caller to undo or refuse); codings not ending in `chunked` → read until close (§6.3 item 4);
 * Content-Length → length; otherwise read until close. Read-until-close is never `keepAlive`.
 * A 1xx other than 101 is `interim`: parse the next head from `consumed` on.
 */

export interface ResponseLimits {
  maxHeadBytes: number;
  maxHeaders: number;
}

/**
 * What a browser takes from an origin: Chromium reads a response head of up to 256 KiB
 * (`kMaxHeaderBufSize`, net/http/http_stream_parser.cc) and counts no lines, and the profiles
 * advertise the same 256 KiB to HTTP/2 origins (SETTINGS_MAX_HEADER_LIST_SIZE). A smaller bound
 * would answer 502 where the browser loads the page.
 */
export const DEFAULT_RESPONSE_LIMITS: ResponseLimits = {
  maxHeadBytes: 256 * 1024, // bytes
  maxHeaders: 2000, // field lines (a bound on the work per head; the bytes bound it first in practice)
};

export type ResponseQuirk =
  | "no-reason"
  | "space-before-colon"
  | "obs-fold"
  | "repeated-content-length"
  | "content-length-with-transfer-encoding";

export interface ResponseHead {
  version: "1.0" | "1.1";
  status: number;
  reason: string;
  rawHeaders: RawField[];
  /** 1xx other than 101: another head follows. */
  interim: boolean;
  /** 101, or 2xx to CONNECT: after this head the connection is a tunnel. */
  upgraded: boolean;
  body: BodyFraming;
  /** Transfer codings in the order applied, lowercased (`chunked` included); empty without TE. */
  transferCodings: string[];
  keepAlive: boolean;
  quirks: ResponseQuirk[];
}

export type ResponseParse = { kind: "incomplete" } | { kind: "head"; head: ResponseHead; consumed: number };

const MAX_STATUS_LINE_BYTES = 8 * 1024; // bytes; a status line is ~20, the rest is reason phrase
const INCOMPLETE = Object.freeze({ kind: "incomplete" as const });

export function parseResponseHead(
  buf: Uint8Array,
  requestMethod: string,
  limits: ResponseLimits = DEFAULT_RESPONSE_LIMITS,
): ResponseParse {
  return new ResponseHeadScanner(requestMethod, limits).push(buf);
}

/** Incremental form; see RequestHeadScanner. `requestMethod` is the method of the request answered. */
export class ResponseHeadScanner {
  readonly scanner: HeadScanner;
  private readonly requestMethod: string;

  constructor(requestMethod: string, limits: ResponseLimits = DEFAULT_RESPONSE_LIMITS) {
    this.requestMethod = requestMethod;
    this.scanner = new HeadScanner("response", {
      maxHeadBytes: limits.maxHeadBytes,
      maxHeaders: limits.maxHeaders,
      maxStartLineBytes: Math.min(MAX_STATUS_LINE_BYTES, limits.maxHeadBytes),
    });
  }

  push(chunk: Uint8Array): ResponseParse {
    const scanned = this.scanner.push(chunk);
    if (scanned === null) return INCOMPLETE;
    return { kind: "head", head: buildResponseHead(scanned, this.requestMethod), consumed: scanned.consumed };
  }

  reset(): void {
    this.scanner.reset();
  }
}

function buildResponseHead(scanned: ScannedHead, requestMethod: string): ResponseHead {
  const { bytes, lines } = scanned;
  const quirks: ResponseQuirk[] = [];
  const line = latin1(bytes, 0, (lines[1] ?? 2) - 2);
  const m = /^(HTTP\/[0-9]\.[0-9]) ([0-9]{3})(?:( )(.*))?$/s.exec(line);
  if (m === null) {
    if (!/^HTTP\/[0-9]\.[0-9] /.test(line))
      throw new H1Error("response", "BAD_VERSION", "malformed status line version");
    throw new H1Error("response", "BAD_STATUS", "status code is not 3 digits");
  }
  const versionText = m[1] ?? "";
  if (versionText !== "HTTP/1.1" && versionText !== "HTTP/1.0") {
    throw new H1Error("response", "UNSUPPORTED_VERSION", `${versionText} not supported`);
  }
  const version = versionText === "HTTP/1.1" ? "1.1" : "1.0";
  const status = Number(m[2]);
  if (status < 100 || status > 599)
    throw new H1Error("response", "BAD_STATUS", `status ${status} out of range`);
  if (m[3] === undefined) quirks.push("no-reason");
  const reason = m[4] ?? "";

  const parsed = parseFieldLines(bytes, lines, "response", true);
  if (parsed.spaceBeforeColon) quirks.push("space-before-colon");
  if (parsed.obsFold) quirks.push("obs-fold");
  const fields = parsed.fields;
  const options = connectionOptions(fields);
  const interim = status < 200 && status !== 101;
  const upgraded = status === 101 || (requestMethod === "CONNECT" && status >= 200 && status < 300);
  let keepAlive = persistent(version, options);
  let codingsOut: string[] = [];
  let body: BodyFraming;

  if (requestMethod === "HEAD" || status < 200 || status === 204 || status === 304 || upgraded) {
    body = { kind: "none" };
  } else {
    const codings = transferCodings(fields, "response");
    const cl = contentLength(fields, "response", true);
    if (cl?.repeated) quirks.push("repeated-content-length");
    if (codings !== null) {
      if (version === "1.0")
        throw new H1Error("response", "TE_HTTP10", "Transfer-Encoding in an HTTP/1.0 response");
      codingsOut = codings;
      if (cl !== null) {
        quirks.push("content-length-with-transfer-encoding");
        keepAlive = false;
      }
      body = codings[codings.length - 1] === "chunked" ? { kind: "chunked" } : { kind: "close" };
    } else if (cl !== null) {
      body = { kind: "length", length: cl.length };
    } else {
      body = { kind: "close" };
    }
  }
  if (body.kind === "close" || upgraded) keepAlive = false;
  return {
    version,
    status,
    reason,
    rawHeaders: fields,
    interim,
    upgraded,
    body,
    transferCodings: codingsOut,
    keepAlive,
    quirks,
  };
}
