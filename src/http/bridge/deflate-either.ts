/**
 * `Content-Encoding: deflate` is meant to be the zlib format (RFC 9110 §8.4.1.2), but servers
 * have long sent raw deflate under that name, and browsers read both. This transform decides from
 * the first two bytes (a zlib header: compression method 8, and CMF·256 + FLG a multiple of 31,
 * RFC 1950 §2.2) and inflates with the matching node:zlib stream.
 */
import { Transform, type TransformCallback } from "node:stream";
import * as zlib from "node:zlib";

function isZlibHeader(a: number, b: number): boolean {
  return (a & 0x0f) === 8 && a >> 4 <= 7 && ((a << 8) | b) % 31 === 0;
}

export class DeflateEither extends Transform {
  #inner: zlib.Inflate | zlib.InflateRaw | null = null;
  #first: Buffer | null = null;

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    if (this.#inner === null) {
      const head = this.#first === null ? chunk : Buffer.concat([this.#first, chunk]);
      if (head.length < 2) {
        this.#first = head;
        done();
        return;
      }
      this.#first = null;
      const inner = isZlibHeader(head[0] as number, head[1] as number)
        ? zlib.createInflate()
        : zlib.createInflateRaw();
      // Backpressure: a full readable side pauses the inflater until it is read (_read).
      inner.on("data", (d: Buffer) => {
        if (!this.push(d)) inner.pause();
      });
      inner.on("error", (err) => this.destroy(err));
      this.#inner = inner;
      chunk = head;
    }
    if (this.#inner.write(chunk)) done();
    else this.#inner.once("drain", () => done());
  }

  override _read(size: number): void {
    this.#inner?.resume();
    super._read(size);
  }

  override _flush(done: TransformCallback): void {
    const inner = this.#inner;
    if (inner === null) {
      // Fewer than two bytes in all: not a deflate stream of either kind.
      done(this.#first === null ? null : new Error("deflate data ends before its header"));
      return;
    }
    inner.once("end", () => done());
    inner.end();
  }

  override _destroy(err: Error | null, done: (err: Error | null) => void): void {
    this.#inner?.destroy();
    done(err);
  }
}
