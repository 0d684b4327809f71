import { H1Error, type H1Side } from "./errors.ts";
import { parseFieldLine, type RawField } from "./fields.ts";
import { CR, HTAB, isFieldValueByte, isForbiddenHeadByte, LF, SEMI, SP } from "./syntax.ts";
import { encodeLatin1, serializeFields } from "./writer.ts";

/**
 * Chunked transfer coding (RFC 9112 §7.1): an incremental decoder and an encoder.
 *
 * Decoder rules:
 * - chunk-size is 1*HEXDIG, at most 2^53-1 (BAD_CHUNK_SIZE); leading zeros are allowed but the
 *   whole size line counts toward `maxChunkLineBytes`.
 * - chunk extensions (`BWS ";" …`) are ignored but bounded by that same line limit; whitespace
 *   after the size must be followed by `;`; any CTL except HTAB, or DEL, is BAD_CHUNK_EXT.
 * - Every line ends in CRLF exactly (BARE_CR / BARE_LF); chunk data must be followed by CRLF
 *   (BAD_CHUNK_END).
 * - The trailer section is parsed strictly like a header section (fields.ts, no tolerances) into
 *   `trailers`, at most `maxTrailers` lines and `maxTrailerBytes` bytes (TRAILERS_TOO_LARGE, 431).
 * Data is returned as views into the pushed chunk (no copy): use them before reusing that buffer.
 * After an error every further `push` throws the same error.
 */

export interface ChunkedLimits {
  /** A chunk-size line with its extensions, CRLF excluded. */
  maxChunkLineBytes: number;
  /** The whole trailer section, final CRLF included. */
  maxTrailerBytes: number;
  maxTrailers: number;
}

export const DEFAULT_CHUNKED_LIMITS: ChunkedLimits = {
  maxChunkLineBytes: 4 * 1024, // bytes; a size line is ≤ 16 hex digits, extensions are virtually unused
  maxTrailerBytes: 16 * 1024, // bytes; trailers are rare and short (checksums, grpc-status)
  maxTrailers: 64, // lines
};

export interface BodyStep {
  /** Body bytes found in this push, in order (views into the pushed chunk). */
  data: Uint8Array[];
  /** The body ended in this push (or before). */
  done: boolean;
  /** Trailer fields, once `done` for a chunked body (possibly empty); otherwise null. */
  trailers: RawField[] | null;
  /** Bytes of the pushed chunk after the end of the body (the next message); empty unless `done`. */
  rest: Uint8Array;
}

const MAX_CHUNK_SIZE = Number.MAX_SAFE_INTEGER; // bytes; 2^53-1, exact in a JS number
const EMPTY = new Uint8Array(0);

type State = "size" | "ext-bws" | "ext" | "size-lf" | "data" | "data-cr" | "data-lf" | "trailer" | "done";

const HEX: Int8Array = (() => {
  const t = new Int8Array(256).fill(-1);
  for (let i = 0; i < 10; i++) t[0x30 + i] = i;
  for (let i = 0; i < 6; i++) t[0x41 + i] = t[0x61 + i] = 10 + i;
  return t;
})();

export class ChunkedDecoder {
  readonly side: H1Side;
  readonly limits: ChunkedLimits;
  /** Bytes looked at one by one (size lines, CRLFs, trailers); data runs count once per byte too. */
  bytesExamined = 0;

  private state: State = "size";
  private size = 0;
  private digits = 0;
  private lineBytes = 0;
  private remaining = 0;
  private trailerLine: number[] = [];
  private trailerCR = false;
  private trailerBytes = 0;
  private trailers: RawField[] = [];
  private failed: H1Error | null = null;

  constructor(side: H1Side, limits: ChunkedLimits = DEFAULT_CHUNKED_LIMITS) {
    this.side = side;
    this.limits = limits;
  }

  get done(): boolean {
    return this.state === "done";
  }

  push(chunk: Uint8Array): BodyStep {
    if (this.failed !== null) throw this.failed;
    try {
      return this.run(chunk);
    } catch (err) {
      if (err instanceof H1Error) this.failed = err;
      throw err;
    }
  }

  private run(chunk: Uint8Array): BodyStep {
    const data: Uint8Array[] = [];
    let i = 0;
    while (i < chunk.length && this.state !== "done") {
      if (this.state === "data") {
        const n = Math.min(this.remaining, chunk.length - i);
        data.push(chunk.subarray(i, i + n));
        this.bytesExamined += n;
        this.remaining -= n;
        i += n;
        if (this.remaining === 0) this.state = "data-cr";
        continue;
      }
      this.bytesExamined++;
      this.step(chunk[i] ?? 0);
      i++;
    }
    const done = this.state === "done";
    return { data, done, trailers: done ? this.trailers : null, rest: done ? chunk.subarray(i) : EMPTY };
  }

  /** The connection ended: TRUNCATED_BODY unless the last chunk and trailers were complete. */
  finish(): void {
    if (this.state !== "done")
      throw new H1Error(this.side, "TRUNCATED_BODY", "connection ended inside a chunked body");
  }

  private fail(
    reason: "BAD_CHUNK_SIZE" | "BAD_CHUNK_EXT" | "BAD_CHUNK_END" | "BARE_CR" | "BARE_LF",
    why: string,
  ): never {
    throw new H1Error(this.side, reason, why);
  }

  private step(b: number): void {
    switch (this.state) {
      case "size": {
        const h = HEX[b] ?? -1;
        if (h >= 0) {
          this.countLine("BAD_CHUNK_SIZE");
          if (this.size > (MAX_CHUNK_SIZE - h) / 16) this.fail("BAD_CHUNK_SIZE", "chunk size too large");
          this.size = this.size * 16 + h;
          this.digits++;
          return;
        }
        if (this.digits === 0) this.fail("BAD_CHUNK_SIZE", "chunk size is not hexadecimal");
        if (b === CR) this.state = "size-lf";
        else if (b === SEMI) this.state = "ext";
        else if (b === SP || b === HTAB) this.state = "ext-bws";
        else this.fail("BAD_CHUNK_SIZE", "invalid character after chunk size");
        if (b !== CR) this.countLine("BAD_CHUNK_EXT");
        return;
      }
      case "ext-bws":
        if (b === SEMI) this.state = "ext";
        else if (b !== SP && b !== HTAB)
          this.fail("BAD_CHUNK_EXT", "whitespace after chunk size without extension");
        this.countLine("BAD_CHUNK_EXT");
        return;
      case "ext":
        if (b === CR) {
          this.state = "size-lf";
          return;
        }
        if (b === LF) this.fail("BARE_LF", "LF without CR in chunk extension");
        if (!isFieldValueByte(b)) this.fail("BAD_CHUNK_EXT", "control character in chunk extension");
        this.countLine("BAD_CHUNK_EXT");
        return;
      case "size-lf":
        if (b !== LF) this.fail("BARE_CR", "CR not followed by LF after chunk size");
        if (this.size === 0) {
          this.state = "trailer";
        } else {
          this.state = "data";
          this.remaining = this.size;
        }
        this.size = this.digits = this.lineBytes = 0;
        return;
      case "data-cr":
        if (b !== CR) this.fail("BAD_CHUNK_END", "chunk data not followed by CRLF");
        this.state = "data-lf";
        return;
      case "data-lf":
        if (b !== LF) this.fail("BAD_CHUNK_END", "chunk data not followed by CRLF");
        this.state = "size";
        return;
      case "trailer":
        this.trailerByte(b);
        return;
      default:
        return;
    }
  }

  private countLine(reason: "BAD_CHUNK_SIZE" | "BAD_CHUNK_EXT"): void {
    if (++this.lineBytes > this.limits.maxChunkLineBytes) {
      this.fail(reason, `chunk-size line exceeds ${this.limits.maxChunkLineBytes} bytes`);
    }
  }

  private trailerByte(b: number): void {
    if (++this.trailerBytes > this.limits.maxTrailerBytes) {
      throw new H1Error(
        this.side,
        "TRAILERS_TOO_LARGE",
        `trailers exceed ${this.limits.maxTrailerBytes} bytes`,
        431,
      );
    }
    if (this.trailerCR) {
      if (b !== LF) throw new H1Error(this.side, "BARE_CR", "CR not followed by LF in trailers");
      this.trailerCR = false;
      const line = Uint8Array.from(this.trailerLine);
      this.trailerLine = [];
      if (line.length === 0) {
        this.state = "done";
        return;
      }
      if (line[0] === SP || line[0] === HTAB)
        throw new H1Error(this.side, "OBS_FOLD", "obsolete line folding in trailers");
      if (this.trailers.length >= this.limits.maxTrailers) {
        throw new H1Error(
          this.side,
          "TRAILERS_TOO_LARGE",
          `more than ${this.limits.maxTrailers} trailer fields`,
          431,
        );
      }
      this.trailers.push(parseFieldLine(line, 0, line.length, this.side, false).field);
      return;
    }
    if (b === CR) {
      this.trailerCR = true;
      return;
    }
    if (b === LF) throw new H1Error(this.side, "BARE_LF", "LF without CR in trailers");
    if (isForbiddenHeadByte(b)) throw new H1Error(this.side, "CONTROL_CHAR", "control character in trailers");
    this.trailerLine.push(b);
  }
}

/** One chunk carrying `data`; an empty input gives no bytes (an empty chunk would end the body). */
export function encodeChunk(data: Uint8Array): Uint8Array {
  const n = data.length;
  if (n === 0) return EMPTY;
  // The size in lowercase hex (as `toString(16)` spells it), written in place: one allocation.
  let digits = 1;
  for (let v = n; v >= 16; v = Math.floor(v / 16)) digits++;
  const out = new Uint8Array(digits + 2 + n + 2);
  for (let i = digits - 1, v = n; i >= 0; i--, v = Math.floor(v / 16)) out[i] = LOWER_HEX[v % 16] as number;
  out[digits] = CR;
  out[digits + 1] = LF;
  out.set(data, digits + 2);
  out[out.length - 2] = CR;
  out[out.length - 1] = LF;
  return out;
}

/** "0123456789abcdef" as octets. */
const LOWER_HEX = Uint8Array.from("0123456789abcdef", (c) => c.charCodeAt(0));

/**
 * The last chunk, the trailer fields (validated and written exactly as given, see writer.ts) and
 * the final CRLF. `side` says whose message it is, for the error code if a trailer is invalid.
 */
export function encodeLastChunk(
  trailers: readonly (readonly [string, string])[] = [],
  side: H1Side = "request",
): Uint8Array {
  return encodeLatin1(`0\r\n${serializeFields(trailers, side)}\r\n`);
}
