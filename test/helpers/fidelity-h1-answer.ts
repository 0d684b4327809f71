/**
 * The recording origin's HTTP/1.1 side (tests only): keeps each request head exactly as received
 * (request line and header lines, case and order), reads its body (Content-Length or chunked),
 * and answers `200` with a small body, keeping the connection open.
 */

export interface H1Request {
  /** `GET /path HTTP/1.1` as sent. */
  requestLine: string;
  /** Header fields as sent: name case kept, wire order. */
  headers: [string, string][];
  bodyBytes: number;
}

const HEAD_END = "\r\n\r\n";

function headerValue(headers: [string, string][], name: string): string | undefined {
  return headers.find(([n]) => n.toLowerCase() === name)?.[1];
}

/** Length of a complete chunked body at the start of `buf` (with its trailer), or null if incomplete. */
function chunkedLength(buf: string): { total: number; data: number } | null {
  let at = 0;
  let data = 0;
  for (;;) {
    const eol = buf.indexOf("\r\n", at);
    if (eol < 0) return null;
    const size = Number.parseInt(buf.slice(at, eol).split(";")[0] ?? "", 16);
    if (!Number.isFinite(size)) throw new Error("bad chunk size");
    at = eol + 2;
    if (size === 0) {
      // Trailer section: lines until an empty one (RFC 9112 §7.1).
      for (let t = at; ; ) {
        const e = buf.indexOf("\r\n", t);
        if (e < 0) return null;
        if (e === t) return { total: e + 2, data };
        t = e + 2;
      }
    }
    if (buf.length < at + size + 2) return null;
    data += size;
    at += size + 2;
  }
}

/** Feeds decrypted bytes of one connection; writes the answers; reports each complete request. */
export function h1Answerer(
  write: (b: string) => void,
  onRequest: (r: H1Request) => void,
  body: (r: H1Request) => string,
): (chunk: Uint8Array) => void {
  let buf = "";
  let broken = false;
  return (chunk) => {
    if (broken) return;
    buf += Buffer.from(chunk).toString("latin1");
    try {
      for (;;) {
        const end = buf.indexOf(HEAD_END);
        if (end < 0) return;
        const lines = buf.slice(0, end).split("\r\n");
        const headers = lines.slice(1).map((l): [string, string] => {
          const colon = l.indexOf(":");
          return [l.slice(0, colon), l.slice(colon + 1).trim()];
        });
        const rest = buf.slice(end + HEAD_END.length);
        let consumed: number;
        let bodyBytes: number;
        const length = headerValue(headers, "content-length");
        if (headerValue(headers, "transfer-encoding")?.toLowerCase().includes("chunked")) {
          const c = chunkedLength(rest);
          if (c === null) return;
          consumed = c.total;
          bodyBytes = c.data;
        } else {
          bodyBytes = length === undefined ? 0 : Number(length);
          if (rest.length < bodyBytes) return;
          consumed = bodyBytes;
        }
        buf = rest.slice(consumed);
        const req: H1Request = { requestLine: lines[0] ?? "", headers, bodyBytes };
        onRequest(req);
        const text = body(req);
        write(
          `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`,
        );
      }
    } catch {
      broken = true;
    }
  };
}
