import { ProxyError } from "../../errors/proxy-error.ts";
import { H1Error, type H1Side } from "./errors.ts";
import { CR, isForbiddenHeadByte, LF } from "./syntax.ts";

/**
 * Incremental framer for one HTTP/1.x head (start line + field lines + CRLF): finds where the head
 * ends and applies the byte-level rules, so the line parsers only ever see complete, clean lines.
 *
 * Every byte is examined exactly once, in stream order, however the input is split: pushing a
 * head one byte at a time costs O(n) overall (the scanner remembers where it stopped; the bytes of
 * an incomplete head are kept in a buffer that grows by doubling). `bytesExamined` and
 * `bytesCopied` expose that work for tests.
 *
 * Byte rules (checked at the byte that breaks them, so the first error is the same for any split):
 * - Line endings are CRLF: a bare LF is BARE_LF, a CR not followed by LF is BARE_CR (RFC 9112 §2.2
 *   lets a recipient accept LF alone; one terminator rule leaves no doubt about where a head ends).
 * - CTLs other than HTAB, and DEL, are CONTROL_CHAR anywhere in a head (RFC 9110 §5.5, §5.6.2).
 * - One empty line before the start line is skipped (RFC 9112 §2.2 SHOULD); a second one is
 *   LEADING_EMPTY_LINES.
 * - The head, counted from the first byte pushed (a skipped empty line included) to the final LF,
 *   must fit in `maxHeadBytes` (else HEAD_TOO_LARGE, 431); at most `maxHeaders` field lines (else
 *   TOO_MANY_FIELDS, 431); the start line at most `maxStartLineBytes` without its CRLF (else
 *   URI_TOO_LONG, 414, for a request; BAD_START_LINE for a response).
 * After an error every further `push` throws the same error until `reset()`.
 */

export interface ScanLimits {
  maxHeadBytes: number;
  maxHeaders: number;
  maxStartLineBytes: number;
}

export interface ScannedHead {
  /** The head from the start line's first byte to the final CRLF CRLF inclusive. */
  bytes: Uint8Array;
  /**
   * Offsets in `bytes` of the start line, each field line, and the final empty line: line `i`
   * spans `[lines[i], lines[i + 1] - 2)` (the CRLF excluded).
   */
  lines: number[];
  /** How many bytes of the chunk passed to the last `push` belong to the head. */
  consumed: number;
  /** Whether every byte of `bytes` is below 0x80 (its text then decodes natively: syntax.ts `latin1`). */
  ascii: boolean;
}

const INITIAL_CAPACITY = 1024; // bytes; most heads fit, doubling covers the rest

/** Byte classes for the scan loop: one table load per byte instead of a chain of comparisons. */
const PLAIN = 0;
const IS_CR = 1;
const IS_LF = 2;
const FORBIDDEN = 3;
const HIGH = 4; // ≥ 0x80: allowed (obs-text), but the head is no longer ASCII
const CLASS: Uint8Array = (() => {
  const t = new Uint8Array(256);
  for (let b = 0; b < 256; b++) {
    if (b === CR) t[b] = IS_CR;
    else if (b === LF) t[b] = IS_LF;
    else if (isForbiddenHeadByte(b)) t[b] = FORBIDDEN;
    else if (b >= 0x80) t[b] = HIGH;
  }
  return t;
})();
/** The empty accumulation buffer (shared: `append` replaces it before writing). */
const NO_BYTES = new Uint8Array(0);

export class HeadScanner {
  readonly side: H1Side;
  readonly limits: ScanLimits;
  /** Bytes looked at by the scan loop since construction (never reset): the work measure. */
  bytesExamined = 0;
  /** Bytes copied into the internal buffer, growth included, since construction. */
  bytesCopied = 0;

  private acc = NO_BYTES;
  private accLen = 0;
  private total = 0; // stream offset of the next byte
  private headStart = 0;
  private lineStart = 0;
  private prevCR = false;
  private haveStartLine = false;
  private emptyLines = 0;
  private fields = 0;
  private lineStarts: number[] = [];
  private ascii = true;
  private complete = false;
  private failed: H1Error | null = null;

  constructor(side: H1Side, limits: ScanLimits) {
    this.side = side;
    this.limits = limits;
  }

  /** Whether bytes of a head were seen since the last reset (a head is begun). */
  get started(): boolean {
    return this.total > 0;
  }

  /** Forgets the current head (complete or not) so the scanner can frame the next message. */
  reset(): void {
    // A head split across reads grew `acc`; an idle keep-alive connection holds none.
    if (this.acc.length > 0) this.acc = NO_BYTES;
    this.accLen = 0;
    this.total = 0;
    this.headStart = 0;
    this.lineStart = 0;
    this.prevCR = false;
    this.haveStartLine = false;
    this.emptyLines = 0;
    this.fields = 0;
    this.lineStarts = [];
    this.ascii = true;
    this.complete = false;
    this.failed = null;
  }

  /** Feeds the next bytes; returns the head once its final CRLF has arrived, else null. */
  push(chunk: Uint8Array): ScannedHead | null {
    if (this.failed !== null) throw this.failed;
    if (this.complete)
      throw new ProxyError("INTERNAL", "HeadScanner.push after a complete head: reset() first");
    const base = this.total;
    let end: number;
    try {
      end = this.scan(chunk, base);
    } catch (err) {
      if (err instanceof H1Error) this.failed = err;
      throw err;
    }
    if (end < 0) {
      this.append(chunk, chunk.length);
      this.total = base + chunk.length;
      return null;
    }
    this.complete = true;
    const consumed = end - base;
    let bytes: Uint8Array;
    if (this.accLen === 0) {
      bytes =
        this.headStart === 0 && consumed === chunk.length ? chunk : chunk.subarray(this.headStart, consumed);
    } else {
      this.append(chunk, consumed);
      bytes = this.acc.subarray(this.headStart, this.accLen);
    }
    this.total = end;
    const lines = this.lineStarts;
    // `reset()` replaces the array, so the caller may keep this one.
    if (this.headStart !== 0)
      for (let i = 0; i < lines.length; i++) lines[i] = (lines[i] as number) - this.headStart;
    return { bytes, lines, consumed, ascii: this.ascii };
  }

  /** Scans `chunk` (whose first byte is at stream offset `base`); the stream end offset of the head, or -1. */
  private scan(chunk: Uint8Array, base: number): number {
    // The state lives in locals while the loop runs (written back on every exit): the loop is
    // the per-byte cost of every request.
    const { maxHeadBytes, maxHeaders, maxStartLineBytes } = this.limits;
    let prevCR = this.prevCR;
    let lineStart = this.lineStart;
    let haveStartLine = this.haveStartLine;
    let ascii = this.ascii;
    let i = 0;
    let threw = true;
    try {
      for (; i < chunk.length; i++) {
        const p = base + i;
        const b = chunk[i] as number;
        if (p >= maxHeadBytes) {
          throw new H1Error(this.side, "HEAD_TOO_LARGE", `head exceeds ${maxHeadBytes} bytes`, 431);
        }
        if (prevCR) {
          if (b !== LF) throw new H1Error(this.side, "BARE_CR", "CR not followed by LF in head");
          prevCR = false;
          const empty = p - 1 === lineStart;
          if (empty && !haveStartLine) {
            if (++this.emptyLines > 1) {
              throw new H1Error(
                this.side,
                "LEADING_EMPTY_LINES",
                "more than one empty line before the start line",
              );
            }
            this.headStart = lineStart = p + 1;
            continue;
          }
          this.lineStarts.push(lineStart);
          if (empty) {
            i++;
            threw = false;
            return p + 1;
          }
          if (!haveStartLine) {
            haveStartLine = true;
          } else if (++this.fields > maxHeaders) {
            throw new H1Error(this.side, "TOO_MANY_FIELDS", `more than ${maxHeaders} field lines`, 431);
          }
          lineStart = p + 1;
          continue;
        }
        const c = CLASS[b] as number;
        if (c !== PLAIN) {
          if (c === IS_CR) {
            prevCR = true;
            continue;
          }
          if (c === IS_LF) throw new H1Error(this.side, "BARE_LF", "LF without CR in head");
          if (c === FORBIDDEN) throw new H1Error(this.side, "CONTROL_CHAR", "control character in head");
          ascii = false;
        }
        if (!haveStartLine && p - lineStart >= maxStartLineBytes) {
          if (this.side === "request") {
            throw new H1Error(
              this.side,
              "URI_TOO_LONG",
              `request line exceeds ${maxStartLineBytes} bytes`,
              414,
            );
          }
          throw new H1Error(this.side, "BAD_START_LINE", `status line exceeds ${maxStartLineBytes} bytes`);
        }
      }
      threw = false;
      return -1;
    } finally {
      // Bytes looked at: `i` of them, plus the one that broke a rule.
      this.bytesExamined += threw ? i + 1 : i;
      this.prevCR = prevCR;
      this.lineStart = lineStart;
      this.haveStartLine = haveStartLine;
      this.ascii = ascii;
    }
  }

  private append(chunk: Uint8Array, n: number): void {
    const need = this.accLen + n;
    if (need > this.acc.length) {
      let cap = Math.max(INITIAL_CAPACITY, this.acc.length * 2);
      while (cap < need) cap *= 2;
      const grown = new Uint8Array(cap);
      grown.set(this.acc.subarray(0, this.accLen));
      this.bytesCopied += this.accLen;
      this.acc = grown;
    }
    this.acc.set(n === chunk.length ? chunk : chunk.subarray(0, n), this.accLen);
    this.accLen = need;
    this.bytesCopied += n;
  }
}
