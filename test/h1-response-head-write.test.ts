/**
 * The one-pass head writer (`writeResponseHead` / `writeRequestHead`) against the plain rule: the
 * start line, `name: value` CRLF per field, CRLF; a name that is not a token, or a value with a
 * CTL (HTAB aside), DEL, a char above U+00FF or SP / HTAB at either end is refused, the first bad
 * field in order naming the error. Random heads, valid and not.
 */
import { describe, expect, test } from "bun:test";
import { H1Error } from "../src/http/h1/errors.ts";
import { writeRequestHead, writeResponseHead } from "../src/http/h1/writer.ts";
import { prng } from "./helpers/prng.ts";

const TCHAR = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

function fieldText(v: string): boolean {
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09) || c === 0x7f || c > 0xff) return false;
  }
  return !/^[ \t]|[ \t]$/.test(v);
}

/** What the writer must give: the bytes, or the message of its error. */
function expected(startLine: string, fields: [string, string][]): number[] | string {
  let text = startLine;
  for (const [n, v] of fields) {
    if (!TCHAR.test(n)) return `field name ${JSON.stringify(n)}`;
    if (!fieldText(v)) return `value of ${n} is invalid`;
    text += `${n}: ${v}\r\n`;
  }
  text += "\r\n";
  return Array.from(text, (c) => c.charCodeAt(0));
}

function actual(write: () => Uint8Array): number[] | string {
  try {
    return [...write()];
  } catch (err) {
    if (!(err instanceof H1Error)) throw err;
    const m = /field name (.*) is not a token|(value of .* is invalid)/.exec(err.message);
    if (m?.[2]) return m[2];
    return m?.[1] !== undefined ? `field name ${m[1]}` : err.message;
  }
}

const ALPHABET = [
  "a",
  "Z",
  "-",
  "0",
  " ",
  "\t",
  "\0",
  "\r",
  "\n",
  "\x7f",
  "\xe9",
  "\xff",
  "\u0100",
  ":",
  '"',
  "/",
];

describe("head writer", () => {
  test("a usual response head", () => {
    const out = writeResponseHead(200, "OK", [
      ["content-type", "text/html"],
      ["Content-Length", "5"],
    ]);
    expect(new TextDecoder().decode(out)).toBe(
      "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\nContent-Length: 5\r\n\r\n",
    );
    expect(out).toBeInstanceOf(Uint8Array);
  });

  test("obs-text is written as single octets", () => {
    expect([...writeResponseHead(200, "OK", [["x", "caf\xe9"]])].slice(17, 25)).toEqual([
      0x78, 0x3a, 0x20, 0x63, 0x61, 0x66, 0xe9, 0x0d,
    ]);
  });

  test("random heads match the plain rule, bytes and errors", () => {
    const rnd = prng(11);
    const pick = () => ALPHABET[Math.floor(rnd() * ALPHABET.length)] as string;
    const text = (max: number) => Array.from({ length: Math.floor(rnd() * max) }, pick).join("");
    for (let n = 0; n < 5000; n++) {
      const fields: [string, string][] = Array.from({ length: Math.floor(rnd() * 4) }, () => [
        rnd() < 0.6 ? "x-field" : text(4),
        rnd() < 0.5 ? "some value" : text(6),
      ]);
      expect(actual(() => writeResponseHead(404, "Not Found", fields))).toEqual(
        expected("HTTP/1.1 404 Not Found\r\n", fields),
      );
      expect(actual(() => writeRequestHead("GET", "/a?b", fields, "1.0"))).toEqual(
        expected("GET /a?b HTTP/1.0\r\n", fields),
      );
    }
  });
});
