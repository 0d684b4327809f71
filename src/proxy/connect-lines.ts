/**
 * The line parsers of the CONNECT head (connect-parser.ts has the rules they follow): the request
 * line, a header line, and the early check of a line not yet complete. Pure: bytes in, a value or
 * a ProxyError out.
 */
import { ProxyError } from "../errors/proxy-error.ts";
import { fieldLineValue, scanFieldName } from "../http/h1/fields.ts";
import { CR, DEL, HTAB, isTokenString, latin1, SP } from "../http/h1/syntax.ts";
import { type Authority, parseAuthority } from "./authority.ts";

export function badRequest(reason: string): ProxyError {
  return new ProxyError("BAD_REQUEST", `malformed CONNECT request: ${reason}`);
}

/**
 * Rejects early what no completion of the current line could make valid: control characters
 * (HTAB aside) and a CR not at the very end (a CR followed by anything but LF is a bare CR).
 * Every byte refused here is also refused as BAD_REQUEST once its line is complete.
 */
export function checkPartialLine(buf: Uint8Array, start: number, end: number): void {
  for (let i = start; i < end; i++) {
    const b = buf[i] ?? 0;
    if (b === CR) {
      if (i !== end - 1) throw badRequest("bare CR");
    } else if ((b < SP && b !== HTAB) || b === DEL) {
      throw badRequest("control character");
    }
  }
}

/** parseRequestLine's answer for a plain-HTTP proxy request. */
export const FORWARD = Symbol("forward");

/** The request line `[start, end)`: a CONNECT's target, or FORWARD; throws what it cannot be. */
export function parseRequestLine(buf: Uint8Array, start: number, end: number): Authority | typeof FORWARD {
  for (let i = start; i < end; i++) {
    const b = buf[i] ?? 0;
    if (b < SP || b >= DEL) throw badRequest("invalid character in request line");
  }
  const line = latin1(buf, start, end);
  const parts = line.split(" ");
  if (parts.length !== 3) throw badRequest("request line must be 'METHOD SP target SP version'");
  const [method = "", rawTarget = "", version = ""] = parts;
  if (!isTokenString(method)) throw badRequest("invalid method");
  if (rawTarget.length === 0) throw badRequest("empty request target");
  if (!/^HTTP\/[0-9]\.[0-9]$/.test(version)) throw badRequest("invalid HTTP version");
  if (version !== "HTTP/1.1" && version !== "HTTP/1.0") throw badRequest(`unsupported version ${version}`);
  if (method !== "CONNECT") return nonConnect(method, rawTarget);
  return parseAuthority(rawTarget);
}

/** FORWARD for an absolute-form `http://` target; otherwise the error to answer (target never quoted). */
function nonConnect(method: string, rawTarget: string): typeof FORWARD {
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(rawTarget)?.[1]?.toLowerCase();
  if (scheme === "http") {
    const authority = rawTarget.slice("http://".length).split(/[/?#]/, 1)[0] ?? "";
    if (authority.includes("@")) {
      throw new ProxyError(
        "BAD_REQUEST",
        "userinfo in the request target is not allowed (use Proxy-Authorization)",
      );
    }
    return FORWARD;
  }
  if (scheme === "https") {
    throw new ProxyError(
      "BAD_REQUEST",
      "https:// URLs are not forwarded as plain requests: send CONNECT host:443 and speak TLS through the tunnel (https_proxy)",
    );
  }
  throw new ProxyError(
    "BAD_METHOD",
    `method ${method} not allowed here: this proxy takes CONNECT host:port, or an absolute-form http:// request (GET http://host/path)`,
  );
}

/** A header line `[start, end)`: `[name, value]`, the name as sent, the value trimmed. */
export function parseHeaderLine(buf: Uint8Array, start: number, end: number): [string, string] {
  const first = buf[start];
  if (first === SP || first === HTAB) throw badRequest("obsolete line folding");
  const scan = scanFieldName(buf, start, end);
  if (scan.kind === "bad-char") throw badRequest("invalid character in header name");
  if (scan.kind !== "name") throw badRequest("header line without colon");
  if (scan.nameEnd !== scan.colon) throw badRequest("whitespace before colon");
  if (scan.colon === start) throw badRequest("empty header name");
  const value = fieldLineValue(buf, scan.colon + 1, end);
  if (value === null) throw badRequest("control character in header value");
  return [latin1(buf, start, scan.colon), value];
}
