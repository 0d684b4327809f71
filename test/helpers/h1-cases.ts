/**
 * The raw request table shared by the codec tests and the llhttp cross-check. Strings use `\x..`
 * escapes for raw bytes (every char is one byte). `expect` is "ok" or the H1Error reason; `status`
 * the status hint (400 when omitted). `llhttp` records what Node 20's strict llhttp server does
 * with the same bytes, checked by test/h1-llhttp.test.ts:
 * - "agree": same verdict (accepted / refused);
 * - "accepts": llhttp accepts what we deliberately refuse (`why` says which rule makes us stricter);
 * - "n/a": not comparable (our limits differ from Node's).
 */
import type { H1Reason } from "../../src/http/h1/errors.ts";

export interface RequestCase {
  name: string;
  raw: string;
  expect: "ok" | H1Reason;
  status?: number;
  llhttp: "agree" | "accepts" | "n/a";
  why?: string;
}

const H = "Host: example.com\r\n";

export const REQUEST_CASES: RequestCase[] = [
  // ---- valid ----
  { name: "simple GET", raw: `GET / HTTP/1.1\r\n${H}\r\n`, expect: "ok", llhttp: "agree" },
  {
    name: "browser-like GET, case and order kept",
    raw: `GET /a/b?c=d&e[]=f|g HTTP/1.1\r\nHost: example.com\r\nUser-Agent: Mozilla/5.0 (X11)\r\nAccept: */*\r\nsec-ch-ua: "Chromium";v="130"\r\nCookie: a=b; c=d\r\n\r\n`,
    expect: "ok",
    llhttp: "agree",
  },
  {
    name: "POST with Content-Length body",
    raw: `POST /f HTTP/1.1\r\n${H}Content-Length: 5\r\n\r\nhello`,
    expect: "ok",
    llhttp: "agree",
  },
  {
    name: "Content-Length with leading zeros",
    raw: `POST / HTTP/1.1\r\n${H}Content-Length: 005\r\n\r\nhello`,
    expect: "ok",
    llhttp: "agree",
  },
  {
    name: "Content-Length: 0",
    raw: `POST / HTTP/1.1\r\n${H}Content-Length: 0\r\n\r\n`,
    expect: "ok",
    llhttp: "agree",
  },
  {
    name: "chunked upload with trailers",
    raw: `POST /up HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Sum: abc\r\n\r\n`,
    expect: "ok",
    llhttp: "agree",
  },
  {
    name: "Transfer-Encoding: Chunked (case-insensitive)",
    raw: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: Chunked\r\n\r\n0\r\n\r\n`,
    expect: "ok",
    llhttp: "agree",
  },
  {
    name: "absolute-form",
    raw: `GET http://example.com/path?q=1 HTTP/1.1\r\n${H}\r\n`,
    expect: "ok",
    llhttp: "agree",
  },
  {
    name: "absolute-form without path",
    raw: `GET http://example.com:8080 HTTP/1.1\r\n${H}\r\n`,
    expect: "ok",
    llhttp: "agree",
  },
  {
    name: "Expect: 100-continue",
    raw: `PUT /x HTTP/1.1\r\n${H}Expect: 100-continue\r\nContent-Length: 2\r\n\r\nhi`,
    expect: "ok",
    llhttp: "agree",
  },
  {
    name: "Upgrade: websocket",
    raw: `GET /ws HTTP/1.1\r\n${H}Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`,
    expect: "ok",
    llhttp: "agree",
  },
  { name: "HTTP/1.0 without Host", raw: "GET / HTTP/1.0\r\n\r\n", expect: "ok", llhttp: "agree" },
  {
    name: "HTTP/1.0 keep-alive",
    raw: "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    expect: "ok",
    llhttp: "agree",
  },
  { name: "OPTIONS *", raw: `OPTIONS * HTTP/1.1\r\n${H}\r\n`, expect: "ok", llhttp: "agree" },
  {
    name: "CONNECT authority-form",
    raw: "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
    expect: "ok",
    llhttp: "agree",
  },
  {
    name: "one empty line before the request line",
    raw: `\r\nGET / HTTP/1.1\r\n${H}\r\n`,
    expect: "ok",
    llhttp: "agree",
  },
  {
    name: "obs-text and HTAB in a value",
    raw: `GET / HTTP/1.1\r\n${H}X-T: caf\xe9\tau lait \r\n\r\n`,
    expect: "ok",
    llhttp: "agree",
  },
  { name: "empty field value", raw: `GET / HTTP/1.1\r\n${H}X-Empty:\r\n\r\n`, expect: "ok", llhttp: "agree" },
  {
    name: "IPv6 Host with port",
    raw: "GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n",
    expect: "ok",
    llhttp: "agree",
  },

  // ---- framing: Content-Length / Transfer-Encoding (smuggling) ----
  {
    name: "CL then TE",
    raw: `POST / HTTP/1.1\r\n${H}Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
    expect: "CL_AND_TE",
    llhttp: "agree",
  },
  {
    name: "TE then CL",
    raw: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n`,
    expect: "CL_AND_TE",
    llhttp: "agree",
  },
  {
    name: "duplicate identical CL lines",
    raw: `POST / HTTP/1.1\r\n${H}Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello`,
    expect: "CL_DUPLICATE",
    llhttp: "agree",
  },
  {
    name: "differing CL lines",
    raw: `POST / HTTP/1.1\r\n${H}Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!`,
    expect: "CL_DUPLICATE",
    llhttp: "agree",
  },
  {
    name: "CL list of equal values",
    raw: `POST / HTTP/1.1\r\n${H}Content-Length: 5, 5\r\n\r\nhello`,
    expect: "CL_DUPLICATE",
    llhttp: "agree",
  },
  {
    name: "CL with plus sign",
    raw: `POST / HTTP/1.1\r\n${H}Content-Length: +5\r\n\r\nhello`,
    expect: "CL_INVALID",
    llhttp: "agree",
  },
  {
    name: "negative CL",
    raw: `POST / HTTP/1.1\r\n${H}Content-Length: -1\r\n\r\n`,
    expect: "CL_INVALID",
    llhttp: "agree",
  },
  {
    name: "CL with inner space",
    raw: `POST / HTTP/1.1\r\n${H}Content-Length: 1 0\r\n\r\n0123456789`,
    expect: "CL_INVALID",
    llhttp: "agree",
  },
  {
    name: "CL in hex",
    raw: `POST / HTTP/1.1\r\n${H}Content-Length: 0x5\r\n\r\nhello`,
    expect: "CL_INVALID",
    llhttp: "agree",
  },
  {
    name: "CL not a number",
    raw: `POST / HTTP/1.1\r\n${H}Content-Length: abc\r\n\r\n`,
    expect: "CL_INVALID",
    llhttp: "agree",
  },
  {
    name: "CL too big",
    raw: `POST / HTTP/1.1\r\n${H}Content-Length: 99999999999999999999\r\n\r\n`,
    expect: "CL_INVALID",
    llhttp: "agree",
  },
  {
    name: "empty CL",
    raw: `POST / HTTP/1.1\r\n${H}Content-Length:\r\n\r\n`,
    expect: "CL_INVALID",
    llhttp: "agree",
  },
  {
    name: "TE xchunked",
    raw: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n`,
    expect: "TE_NOT_CHUNKED",
    llhttp: "agree",
  },
  {
    name: "TE chunked not final",
    raw: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n`,
    expect: "TE_NOT_CHUNKED",
    llhttp: "agree",
  },
  {
    name: "TE gzip only",
    raw: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: gzip\r\n\r\n`,
    expect: "TE_NOT_CHUNKED",
    llhttp: "agree",
  },
  {
    name: "TE gzip, chunked",
    raw: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n`,
    expect: "TE_UNSUPPORTED",
    status: 501,
    llhttp: "accepts",
    why: "only chunked alone is implemented (RFC 9112 §6.1: 501)",
  },
  {
    name: "TE chunked twice in a list",
    raw: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n`,
    expect: "TE_NOT_CHUNKED",
    llhttp: "agree",
  },
  {
    name: "TE chunked on two lines",
    raw: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
    expect: "TE_NOT_CHUNKED",
    llhttp: "agree",
  },
  {
    name: "TE chunked with parameter",
    raw: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked;q=1\r\n\r\n0\r\n\r\n`,
    expect: "TE_NOT_CHUNKED",
    llhttp: "agree",
  },
  {
    name: "TE empty list element ignored",
    raw: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: , chunked\r\n\r\n0\r\n\r\n`,
    expect: "ok",
    llhttp: "agree",
  },
  {
    name: "TE empty value",
    raw: `POST / HTTP/1.1\r\n${H}Transfer-Encoding:\r\n\r\n`,
    expect: "TE_NOT_CHUNKED",
    llhttp: "accepts",
    why: "Transfer-Encoding is 1#transfer-coding (RFC 9112 §6.1)",
  },
  {
    name: "TE on HTTP/1.0",
    raw: "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    expect: "TE_HTTP10",
    llhttp: "accepts",
    why: "RFC 9112 §6.1: TE in HTTP/1.0 means faulty framing",
  },
  {
    name: "vertical tab before chunked",
    raw: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: \x0bchunked\r\n\r\n0\r\n\r\n`,
    expect: "CONTROL_CHAR",
    llhttp: "agree",
  },
  {
    name: "space before colon (TE)",
    raw: `POST / HTTP/1.1\r\n${H}Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n`,
    expect: "SPACE_BEFORE_COLON",
    llhttp: "agree",
  },
  {
    name: "space before colon (CL)",
    raw: `POST / HTTP/1.1\r\n${H}Content-Length : 5\r\n\r\nhello`,
    expect: "SPACE_BEFORE_COLON",
    llhttp: "agree",
  },
  {
    name: "tab before colon",
    raw: `GET / HTTP/1.1\r\n${H}X-A\t: b\r\n\r\n`,
    expect: "SPACE_BEFORE_COLON",
    llhttp: "agree",
  },
  {
    name: "CONNECT with a body",
    raw: "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\nContent-Length: 5\r\n\r\nhello",
    expect: "CONNECT_BODY",
    llhttp: "accepts",
    why: "RFC 9110 §9.3.6: CONNECT has no content",
  },

  // ---- line structure ----
  {
    name: "obs-fold",
    raw: `GET / HTTP/1.1\r\n${H}X-A: b\r\n c\r\n\r\n`,
    expect: "OBS_FOLD",
    llhttp: "agree",
  },
  {
    name: "obs-fold with tab on TE",
    raw: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: gzip\r\n\tchunked\r\n\r\n0\r\n\r\n`,
    expect: "OBS_FOLD",
    llhttp: "agree",
  },
  {
    name: "whitespace line before first field",
    raw: `GET / HTTP/1.1\r\n Host: example.com\r\n\r\n`,
    expect: "OBS_FOLD",
    llhttp: "agree",
  },
  {
    name: "bare LF everywhere",
    raw: "GET / HTTP/1.1\nHost: example.com\n\n",
    expect: "BARE_LF",
    llhttp: "agree",
  },
  {
    name: "bare LF after a field",
    raw: `GET / HTTP/1.1\r\nHost: example.com\nX-A: b\r\n\r\n`,
    expect: "BARE_LF",
    llhttp: "agree",
  },
  {
    name: "bare LF terminating the head",
    raw: `GET / HTTP/1.1\r\n${H}\n`,
    expect: "BARE_LF",
    llhttp: "agree",
  },
  {
    name: "bare CR inside a value",
    raw: `GET / HTTP/1.1\r\n${H}X-A: b\rX-B: c\r\n\r\n`,
    expect: "BARE_CR",
    llhttp: "agree",
  },
  {
    name: "bare CR in the request line",
    raw: `GET /\r HTTP/1.1\r\n${H}\r\n`,
    expect: "BARE_CR",
    llhttp: "agree",
  },
  {
    name: "two empty lines before the request line",
    raw: `\r\n\r\nGET / HTTP/1.1\r\n${H}\r\n`,
    expect: "LEADING_EMPTY_LINES",
    llhttp: "accepts",
    why: "at most one CRLF before the request line (RFC 9112 §2.2 asks for at least one)",
  },
  {
    name: "NUL in a value",
    raw: `GET / HTTP/1.1\r\n${H}X-A: b\x00c\r\n\r\n`,
    expect: "CONTROL_CHAR",
    llhttp: "agree",
  },
  {
    name: "NUL in a name",
    raw: `GET / HTTP/1.1\r\n${H}X\x00A: b\r\n\r\n`,
    expect: "CONTROL_CHAR",
    llhttp: "agree",
  },
  {
    name: "DEL in a value",
    raw: `GET / HTTP/1.1\r\n${H}X-A: b\x7fc\r\n\r\n`,
    expect: "CONTROL_CHAR",
    llhttp: "agree",
  },
  {
    name: "ESC in a value",
    raw: `GET / HTTP/1.1\r\n${H}X-A: \x1b[31m\r\n\r\n`,
    expect: "CONTROL_CHAR",
    llhttp: "agree",
  },
  {
    name: "invalid char in a field name",
    raw: `GET / HTTP/1.1\r\n${H}X@A: b\r\n\r\n`,
    expect: "BAD_FIELD_NAME",
    llhttp: "agree",
  },
  {
    name: "space inside a field name",
    raw: `GET / HTTP/1.1\r\n${H}X A: b\r\n\r\n`,
    expect: "BAD_FIELD_NAME",
    llhttp: "agree",
  },
  {
    name: "field line without colon",
    raw: `GET / HTTP/1.1\r\n${H}X-A\r\n\r\n`,
    expect: "BAD_FIELD_NAME",
    llhttp: "agree",
  },
  {
    name: "empty field name",
    raw: `GET / HTTP/1.1\r\n${H}: b\r\n\r\n`,
    expect: "BAD_FIELD_NAME",
    llhttp: "agree",
  },
  {
    name: "non-ASCII field name",
    raw: `GET / HTTP/1.1\r\n${H}X-\xe9: b\r\n\r\n`,
    expect: "BAD_FIELD_NAME",
    llhttp: "agree",
  },

  // ---- request line ----
  {
    name: "invalid char in method",
    raw: `GE(T / HTTP/1.1\r\n${H}\r\n`,
    expect: "BAD_METHOD",
    llhttp: "agree",
  },
  {
    name: "target with a space",
    raw: `GET /a b HTTP/1.1\r\n${H}\r\n`,
    expect: "BAD_TARGET",
    llhttp: "agree",
  },
  { name: "target with a tab", raw: `GET /a\tb HTTP/1.1\r\n${H}\r\n`, expect: "BAD_TARGET", llhttp: "agree" },
  {
    name: "target with a non-ASCII byte",
    raw: `GET /caf\xe9 HTTP/1.1\r\n${H}\r\n`,
    expect: "BAD_TARGET",
    llhttp: "agree",
  },
  {
    name: "target with a fragment",
    raw: `GET /a#b HTTP/1.1\r\n${H}\r\n`,
    expect: "BAD_TARGET",
    llhttp: "accepts",
    why: "a fragment is not part of a request-target (RFC 9112 §3.2)",
  },
  {
    name: "double space after the method",
    raw: `GET  / HTTP/1.1\r\n${H}\r\n`,
    expect: "BAD_TARGET",
    llhttp: "accepts",
    why: "exactly one SP between request-line parts (RFC 9112 §3)",
  },
  {
    name: "trailing space after the version",
    raw: `GET / HTTP/1.1 \r\n${H}\r\n`,
    expect: "BAD_VERSION",
    llhttp: "agree",
  },
  { name: "tab as separator", raw: `GET\t/ HTTP/1.1\r\n${H}\r\n`, expect: "BAD_START_LINE", llhttp: "agree" },
  {
    name: "no version (HTTP/0.9 style)",
    raw: `GET /\r\n${H}\r\n`,
    expect: "BAD_START_LINE",
    llhttp: "accepts",
    why: "HTTP/0.9 is not supported",
  },
  { name: "lowercase version", raw: `GET / http/1.1\r\n${H}\r\n`, expect: "BAD_VERSION", llhttp: "agree" },
  {
    name: "HTTP/1.2",
    raw: `GET / HTTP/1.2\r\n${H}\r\n`,
    expect: "UNSUPPORTED_VERSION",
    status: 505,
    llhttp: "agree",
  },
  {
    name: "HTTP/2.0 in an h1 request line",
    raw: `GET / HTTP/2.0\r\n${H}\r\n`,
    expect: "UNSUPPORTED_VERSION",
    status: 505,
    llhttp: "accepts",
    why: "only HTTP/1.0 and HTTP/1.1 heads are parsed here",
  },
  {
    name: "asterisk-form with GET",
    raw: `GET * HTTP/1.1\r\n${H}\r\n`,
    expect: "BAD_TARGET",
    llhttp: "accepts",
    why: "asterisk-form is only for OPTIONS (RFC 9112 §3.2.4)",
  },
  {
    name: "CONNECT with origin-form",
    raw: `CONNECT / HTTP/1.1\r\n${H}\r\n`,
    expect: "BAD_TARGET",
    llhttp: "accepts",
    why: "CONNECT takes authority-form only (RFC 9112 §3.2.3)",
  },
  {
    name: "CONNECT without port",
    raw: "CONNECT example.com HTTP/1.1\r\nHost: example.com\r\n\r\n",
    expect: "BAD_TARGET",
    llhttp: "accepts",
    why: "authority-form needs a port (RFC 9112 §3.2.3)",
  },
  {
    name: "absolute-form with userinfo",
    raw: `GET http://user:pw@example.com/ HTTP/1.1\r\n${H}\r\n`,
    expect: "BAD_TARGET",
    llhttp: "accepts",
    why: "userinfo is an error (RFC 9110 §4.2.4)",
  },
  {
    name: "absolute-form with another scheme",
    raw: `GET ftp://example.com/ HTTP/1.1\r\n${H}\r\n`,
    expect: "BAD_TARGET",
    llhttp: "accepts",
    why: "only http and https are proxied",
  },
  {
    name: "relative target",
    raw: `GET index.html HTTP/1.1\r\n${H}\r\n`,
    expect: "BAD_TARGET",
    llhttp: "agree",
  },

  // ---- Host ----
  {
    name: "HTTP/1.1 without Host",
    raw: "GET / HTTP/1.1\r\nAccept: */*\r\n\r\n",
    expect: "HOST_MISSING",
    llhttp: "agree",
  },
  {
    name: "two Host lines",
    raw: `GET / HTTP/1.1\r\n${H}${H}\r\n`,
    expect: "HOST_DUPLICATE",
    llhttp: "accepts",
    why: "exactly one Host (RFC 9112 §3.2)",
  },
  {
    name: "two differing Host lines",
    raw: `GET / HTTP/1.1\r\n${H}Host: evil.example\r\n\r\n`,
    expect: "HOST_DUPLICATE",
    llhttp: "accepts",
    why: "exactly one Host (RFC 9112 §3.2)",
  },
  {
    name: "empty Host",
    raw: "GET / HTTP/1.1\r\nHost:\r\n\r\n",
    expect: "HOST_INVALID",
    llhttp: "accepts",
    why: "an http URI needs a host (RFC 9110 §4.2.1)",
  },
  {
    name: "Host with a path",
    raw: "GET / HTTP/1.1\r\nHost: example.com/x\r\n\r\n",
    expect: "HOST_INVALID",
    llhttp: "accepts",
    why: "Host must be uri-host [:port] (RFC 9112 §3.2)",
  },
  {
    name: "Host with userinfo",
    raw: "GET / HTTP/1.1\r\nHost: a@example.com\r\n\r\n",
    expect: "HOST_INVALID",
    llhttp: "accepts",
    why: "Host must be uri-host [:port] (RFC 9112 §3.2)",
  },
  {
    name: "Host with a bad port",
    raw: "GET / HTTP/1.1\r\nHost: example.com:99999\r\n\r\n",
    expect: "HOST_INVALID",
    llhttp: "accepts",
    why: "Host must be uri-host [:port] (RFC 9112 §3.2)",
  },
  {
    name: "two Host lines on HTTP/1.0",
    raw: `GET / HTTP/1.0\r\n${H}${H}\r\n`,
    expect: "HOST_DUPLICATE",
    llhttp: "accepts",
    why: "at most one Host on any version (RFC 9112 §3.2)",
  },

  // ---- chunked bodies ----
  {
    name: "chunk size not hex",
    raw: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n`,
    expect: "BAD_CHUNK_SIZE",
    llhttp: "agree",
  },
  {
    name: "chunk size overflow",
    raw: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\nfffffffffffffffff1\r\nhello\r\n0\r\n\r\n`,
    expect: "BAD_CHUNK_SIZE",
    llhttp: "agree",
  },
  {
    name: "chunk size with 0x prefix",
    raw: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n`,
    expect: "BAD_CHUNK_SIZE",
    llhttp: "agree",
  },
  {
    name: "negative chunk size",
    raw: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n-5\r\nhello\r\n0\r\n\r\n`,
    expect: "BAD_CHUNK_SIZE",
    llhttp: "agree",
  },
  {
    name: "chunk size line with bare LF",
    raw: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n`,
    expect: "BAD_CHUNK_SIZE",
    llhttp: "agree",
  },
  {
    name: "chunk data without CRLF",
    raw: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n`,
    expect: "BAD_CHUNK_END",
    llhttp: "agree",
  },
  {
    name: "chunk data ended by bare LF",
    raw: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5\r\nhello\n0\r\n\r\n`,
    expect: "BAD_CHUNK_END",
    llhttp: "agree",
  },
  {
    name: "space after chunk size",
    raw: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5 \r\nhello\r\n0\r\n\r\n`,
    expect: "BAD_CHUNK_EXT",
    llhttp: "agree",
  },
  {
    name: "LF inside a chunk extension",
    raw: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5;a=\nb\r\nhello\r\n0\r\n\r\n`,
    expect: "BARE_LF",
    llhttp: "agree",
  },
  {
    name: "obs-fold in trailers",
    raw: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n0\r\nX-T: a\r\n b\r\n\r\n`,
    expect: "OBS_FOLD",
    llhttp: "agree",
  },
  {
    name: "bare LF in trailers",
    raw: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n0\r\nX-T: a\n\r\n`,
    expect: "BARE_LF",
    llhttp: "agree",
  },
];

/**
 * Raw responses (each followed by the server closing the connection) to a request of `method`.
 * `llhttp` compares with Node 20's node:http client: "agree" (same verdict; when both accept,
 * same final status and body length), "refuses" (llhttp refuses what we deliberately tolerate,
 * `why` names the RFC allowance), "accepts" (llhttp accepts what we refuse).
 */
export interface ResponseCase {
  name: string;
  raw: string;
  method: string;
  expect: "ok" | H1Reason;
  llhttp: "agree" | "accepts" | "refuses";
  why?: string;
}

export const RESPONSE_CASES: ResponseCase[] = [
  {
    name: "200 with Content-Length",
    raw: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
    method: "GET",
    expect: "ok",
    llhttp: "agree",
  },
  {
    name: "200 chunked with trailers",
    raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX-Checksum: 1\r\n\r\n",
    method: "GET",
    expect: "ok",
    llhttp: "agree",
  },
  {
    name: "200 read until close",
    raw: "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nhello world",
    method: "GET",
    expect: "ok",
    llhttp: "agree",
  },
  {
    name: "HTTP/1.0 200 read until close",
    raw: "HTTP/1.0 200 OK\r\n\r\nhello",
    method: "GET",
    expect: "ok",
    llhttp: "agree",
  },
  {
    name: "204 has no body",
    raw: "HTTP/1.1 204 No Content\r\n\r\n",
    method: "DELETE",
    expect: "ok",
    llhttp: "agree",
  },
  {
    name: "304 ignores Content-Length",
    raw: "HTTP/1.1 304 Not Modified\r\nContent-Length: 100\r\n\r\n",
    method: "GET",
    expect: "ok",
    llhttp: "agree",
  },
  {
    name: "HEAD response ignores Content-Length",
    raw: "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n",
    method: "HEAD",
    expect: "ok",
    llhttp: "agree",
  },
  {
    name: "100 Continue then 200",
    raw: "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
    method: "POST",
    expect: "ok",
    llhttp: "agree",
  },
  {
    name: "103 Early Hints then 200",
    raw: "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
    method: "GET",
    expect: "ok",
    llhttp: "agree",
  },
  {
    name: "no reason phrase, no SP",
    raw: "HTTP/1.1 200\r\nContent-Length: 2\r\n\r\nok",
    method: "GET",
    expect: "ok",
    llhttp: "agree",
  },
  {
    name: "empty reason phrase",
    raw: "HTTP/1.1 404 \r\nContent-Length: 0\r\n\r\n",
    method: "GET",
    expect: "ok",
    llhttp: "agree",
  },
  {
    name: "gzip, chunked",
    raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
    method: "GET",
    expect: "ok",
    llhttp: "agree",
  },
  {
    name: "TE gzip alone: read until close",
    raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nabcdef",
    method: "GET",
    expect: "ok",
    llhttp: "agree",
  },
  {
    name: "space before colon tolerated",
    raw: "HTTP/1.1 200 OK\r\nContent-Type : text/plain\r\nContent-Length: 2\r\n\r\nok",
    method: "GET",
    expect: "ok",
    llhttp: "refuses",
    why: "RFC 9112 §5.1: a proxy may remove the whitespace",
  },
  {
    name: "obs-fold tolerated",
    raw: "HTTP/1.1 200 OK\r\nX-Long: a\r\n b\r\nContent-Length: 2\r\n\r\nok",
    method: "GET",
    expect: "ok",
    llhttp: "refuses",
    why: "RFC 9112 §5.2: a proxy may replace obs-fold with SP",
  },
  {
    name: "repeated identical Content-Length",
    raw: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok",
    method: "GET",
    expect: "ok",
    llhttp: "refuses",
    why: "RFC 9110 §8.6: identical values may be accepted",
  },
  {
    name: "Content-Length with chunked",
    raw: "HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
    method: "GET",
    expect: "ok",
    llhttp: "refuses",
    why: "RFC 9112 §6.3 item 3: TE overrides CL; keepAlive is false",
  },
  {
    name: "differing Content-Length",
    raw: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok!",
    method: "GET",
    expect: "CL_DUPLICATE",
    llhttp: "agree",
  },
  {
    name: "invalid Content-Length",
    raw: "HTTP/1.1 200 OK\r\nContent-Length: 2x\r\n\r\nok",
    method: "GET",
    expect: "CL_INVALID",
    llhttp: "agree",
  },
  {
    name: "bare LF line endings",
    raw: "HTTP/1.1 200 OK\nContent-Length: 2\n\nok",
    method: "GET",
    expect: "BARE_LF",
    llhttp: "agree",
  },
  {
    name: "NUL in a value",
    raw: "HTTP/1.1 200 OK\r\nX-A: a\x00b\r\nContent-Length: 2\r\n\r\nok",
    method: "GET",
    expect: "CONTROL_CHAR",
    llhttp: "agree",
  },
  {
    name: "four-digit status",
    raw: "HTTP/1.1 2000 OK\r\nContent-Length: 0\r\n\r\n",
    method: "GET",
    expect: "BAD_STATUS",
    llhttp: "agree",
  },
  {
    name: "status out of range",
    raw: "HTTP/1.1 600 Odd\r\nContent-Length: 0\r\n\r\n",
    method: "GET",
    expect: "BAD_STATUS",
    llhttp: "accepts",
    why: "valid status codes are 100-599 (RFC 9110 §15)",
  },
  { name: "not HTTP", raw: "ICY 200 OK\r\n\r\n", method: "GET", expect: "BAD_VERSION", llhttp: "agree" },
  {
    name: "TE on HTTP/1.0",
    raw: "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
    method: "GET",
    expect: "TE_HTTP10",
    llhttp: "accepts",
    why: "RFC 9112 §6.1: TE in HTTP/1.0 means faulty framing",
  },
  {
    name: "truncated Content-Length body",
    raw: "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello",
    method: "GET",
    expect: "TRUNCATED_BODY",
    llhttp: "agree",
  },
  {
    name: "truncated chunked body",
    raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel",
    method: "GET",
    expect: "TRUNCATED_BODY",
    llhttp: "agree",
  },
  {
    name: "bad chunk size",
    raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nxyz\r\n",
    method: "GET",
    expect: "BAD_CHUNK_SIZE",
    llhttp: "agree",
  },
];
