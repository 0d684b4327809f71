import { H1Error, type H1Side } from "./errors.ts";
import { type RawField, valuesOf } from "./fields.ts";
import { asciiLower, isTokenString, splitList } from "./syntax.ts";

/**
 * Framing fields shared by requests and responses: Content-Length, Transfer-Encoding, Connection
 * (RFC 9112 §6, §9.3; RFC 9110 §7.6.1, §8.6). The per-side decisions live in request-head.ts and
 * response-head.ts.
 */

/** How the body of a message is delimited (RFC 9112 §6.3). `close`: read until the connection ends. */
export type BodyFraming =
  | { kind: "none" }
  | { kind: "length"; length: number }
  | { kind: "chunked" }
  | { kind: "close" };

const MAX_CONTENT_LENGTH = Number.MAX_SAFE_INTEGER; // bytes; 2^53-1 (~9 PB), exact in a JS number

/**
 * The Content-Length, or null when absent. Each value must be 1*DIGIT (no sign, no inner spaces)
 * no greater than 2^53-1. With `allowIdenticalRepeats` false any repetition (a second line or a
 * comma list, even of equal values) is CL_DUPLICATE; with it true (responses, RFC 9110 §8.6 allows
 * it) equal repeats are accepted and only differing ones are CL_DUPLICATE.
 */
export function contentLength(
  fields: readonly RawField[],
  side: H1Side,
  allowIdenticalRepeats: boolean,
): { length: number; repeated: boolean } | null {
  const lines = valuesOf(fields, "content-length");
  if (lines.length === 0) return null;
  const values: string[] = [];
  for (const line of lines) values.push(...(line.includes(",") ? splitList(line) : [line]));
  let length = -1;
  for (const v of values) {
    if (!/^[0-9]+$/.test(v)) throw new H1Error(side, "CL_INVALID", "Content-Length is not a decimal number");
    const digits = v.replace(/^0+(?=[0-9])/, "");
    const n = digits.length > 16 ? Number.POSITIVE_INFINITY : Number(digits);
    if (n > MAX_CONTENT_LENGTH) throw new H1Error(side, "CL_INVALID", "Content-Length too large");
    if (length >= 0 && (!allowIdenticalRepeats || n !== length)) {
      throw new H1Error(side, "CL_DUPLICATE", "more than one Content-Length value");
    }
    length = n;
  }
  return { length, repeated: values.length > 1 };
}

/**
 * The transfer codings, lowercased, in the order applied, or null when there is no
 * Transfer-Encoding line. Empty list elements are ignored (RFC 9110 §5.6.1 says a recipient MUST),
 * but no coding at all, a coding name that is not a token, parameters on `chunked`, or `chunked`
 * more than once (RFC 9112 §6.1: a sender MUST NOT apply it twice) is TE_NOT_CHUNKED. Parameters
 * of other codings are dropped.
 */
export function transferCodings(fields: readonly RawField[], side: H1Side): string[] | null {
  const lines = valuesOf(fields, "transfer-encoding");
  if (lines.length === 0) return null;
  const codings: string[] = [];
  for (const line of lines) {
    for (const element of splitList(line)) {
      if (element.length === 0) continue;
      const semi = element.indexOf(";");
      const name = asciiLower((semi < 0 ? element : element.slice(0, semi)).replace(/[ \t]+$/, ""));
      if (!isTokenString(name)) throw new H1Error(side, "TE_NOT_CHUNKED", "malformed Transfer-Encoding list");
      if (name === "chunked" && (semi >= 0 || codings.includes("chunked"))) {
        throw new H1Error(side, "TE_NOT_CHUNKED", "chunked with parameters or applied twice");
      }
      codings.push(name);
    }
  }
  if (codings.length === 0) throw new H1Error(side, "TE_NOT_CHUNKED", "Transfer-Encoding without a coding");
  return codings;
}

/** Connection options, lowercased (RFC 9110 §7.6.1); empty elements ignored. */
export function connectionOptions(fields: readonly RawField[]): Set<string> {
  const out = new Set<string>();
  for (const line of valuesOf(fields, "connection")) {
    for (const element of splitList(line)) if (element.length > 0) out.add(asciiLower(element));
  }
  return out;
}

/** Persistence (RFC 9112 §9.3): 1.1 unless `close`; 1.0 only with `keep-alive` and no `close`. */
export function persistent(version: "1.0" | "1.1", options: ReadonlySet<string>): boolean {
  if (options.has("close")) return false;
  return version === "1.1" || options.has("keep-alive");
}
