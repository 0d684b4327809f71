import { ProxyError } from "../errors/proxy-error.ts";

/**
 * Bounds-checked big-endian reader over a window of a byte array. Every read checks the window
 * first and throws ProxyError("BAD_REQUEST") naming what was being read, so a parser built on it
 * never reads out of bounds.
 */
export class ByteReader {
  private pos: number;

  constructor(
    private readonly buf: Uint8Array,
    start: number,
    private readonly end: number,
    /** What the window holds, for error messages (e.g. "ClientHello", "extension 43"). */
    readonly what: string,
  ) {
    if (start < 0 || end > buf.length || start > end) {
      throw new ProxyError(
        "INTERNAL",
        `ByteReader window [${start}, ${end}) outside buffer of ${buf.length}`,
      );
    }
    this.pos = start;
  }

  static over(buf: Uint8Array, what: string): ByteReader {
    return new ByteReader(buf, 0, buf.length, what);
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  get offset(): number {
    return this.pos;
  }

  private need(n: number, field: string): void {
    if (n > this.remaining) {
      throw new ProxyError(
        "BAD_REQUEST",
        `${this.what}: truncated ${field} (need ${n} bytes, ${this.remaining} left)`,
      );
    }
  }

  u8(field: string): number {
    this.need(1, field);
    return this.buf[this.pos++]!;
  }

  u16(field: string): number {
    this.need(2, field);
    const v = (this.buf[this.pos]! << 8) | this.buf[this.pos + 1]!;
    this.pos += 2;
    return v;
  }

  u24(field: string): number {
    this.need(3, field);
    const v = (this.buf[this.pos]! << 16) | (this.buf[this.pos + 1]! << 8) | this.buf[this.pos + 2]!;
    this.pos += 3;
    return v;
  }

  bytes(n: number, field: string): Uint8Array {
    this.need(n, field);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  skip(n: number, field: string): void {
    this.need(n, field);
    this.pos += n;
  }

  /**
   * Reads a length prefix of `prefixBytes` bytes and returns a reader over that many bytes
   * (named `what` in its error messages).
   */
  vector(prefixBytes: 1 | 2 | 3, field: string, what = `${this.what} ${field}`): ByteReader {
    const len =
      prefixBytes === 1
        ? this.u8(`${field} length`)
        : prefixBytes === 2
          ? this.u16(`${field} length`)
          : this.u24(`${field} length`);
    this.need(len, field);
    const sub = new ByteReader(this.buf, this.pos, this.pos + len, what);
    this.pos += len;
    return sub;
  }

  /** Reads a whole vector of u16 values (length prefix in bytes must be even). */
  u16List(prefixBytes: 1 | 2, field: string): number[] {
    const sub = this.vector(prefixBytes, field);
    if (sub.remaining % 2 !== 0) {
      throw new ProxyError("BAD_REQUEST", `${this.what}: ${field} length ${sub.remaining} is odd`);
    }
    const out: number[] = [];
    while (sub.remaining > 0) out.push(sub.u16(field));
    return out;
  }

  /** Reads a whole vector of u8 values. */
  u8List(prefixBytes: 1 | 2, field: string): number[] {
    const sub = this.vector(prefixBytes, field);
    return Array.from(sub.bytes(sub.remaining, field));
  }

  /** Throws unless the window is fully consumed. */
  expectEnd(): void {
    if (this.remaining !== 0) {
      throw new ProxyError("BAD_REQUEST", `${this.what}: ${this.remaining} unexpected trailing bytes`);
    }
  }
}
