/**
 * Whether a tunnel's first line reads as an HTTP/1 request line, however malformed: text (printable
 * ASCII and whitespace) ending in an HTTP version, trailing whitespace allowed (` GET /x HTTP/1.1 `,
 * `GET\t/x\tHTTP/1.1`, `HTTP/1.2`). Lenient servers serve such lines (Python's http.server splits
 * the line on any whitespace); relayed as bytes, one would pass every check the proxy makes on a
 * request (the CONNECT host, the removal of X-PolyTLS-* and Proxy-Authorization), so the tunnel
 * sniffers hand it to the HTTP/1.1 parser instead, which refuses what it does not serve. The HTTP/2
 * preface's first line, `PRI * HTTP/2.0`, is not one. Pure.
 */

/** The end of a request line: an HTTP version, then only whitespace (HTAB, VT, FF, SP, CR). */
const VERSION_AT_END = /HTTP\/[0-9]\.[0-9][\t\v\f\r ]*$/i;
const H2_PREFACE_LINE = /^PRI \* HTTP\/2\.0\r?$/;

/** Whether `b` may appear in a text line: printable ASCII, HTAB, VT, FF, CR. */
export function isLineText(b: number): boolean {
  return (b >= 0x20 && b <= 0x7e) || b === 0x09 || b === 0x0b || b === 0x0c || b === 0x0d;
}

/**
 * Bytes of a first line looked at for binary before its end has come: a binary protocol shows a
 * non-text byte at once, and the whole line is checked once its LF is in (a trickled line is not
 * scanned again and again).
 */
export const EARLY_TEXT_OCTETS = 64;

/** Whether `bytes` from `start` to `end` (at most EARLY_TEXT_OCTETS of them) are all text. */
export function startsAsText(bytes: Uint8Array, start: number, end: number): boolean {
  const n = Math.min(end, start + EARLY_TEXT_OCTETS);
  for (let i = start; i < n; i++) if (!isLineText(bytes[i] as number)) return false;
  return true;
}

/** `line`: the bytes of a first line without its LF (a CR before it included or not). */
export function requestLineLike(line: Uint8Array): boolean {
  for (let i = 0; i < line.length; i++) if (!isLineText(line[i] as number)) return false;
  const text = String.fromCharCode(...line);
  return VERSION_AT_END.test(text) && !H2_PREFACE_LINE.test(text);
}
