/**
 * Decodes a response body whose content coding the client did not ask for (RFC 9110 §8.4): the
 * upstream request carries the browser's `Accept-Encoding` (`gzip, deflate, br, zstd`), so an
 * origin may answer with a coding a client such as `curl` without `--compressed` cannot read.
 * Streaming (node:zlib transforms), with a cap against decompression bombs: at most
 * MAX_CODINGS codings, and decoded bytes bounded by a ratio to the encoded bytes.
 */

import type { Transform } from "node:stream";
import * as zlib from "node:zlib";
import { ProxyError } from "../../errors/proxy-error.ts";
import { DeflateEither } from "./deflate-either.ts";
import { ZstdFraming } from "./zstd-framing.ts";

/** Most codings stacked in one Content-Encoding (undici uses the same bound). */
export const MAX_CODINGS = 5;
/** Decoded bytes may exceed the encoded bytes by this factor (after the allowance below). */
export const MAX_DECODE_RATIO = 1000;
/** Decoded bytes always allowed before the ratio applies, bytes (small bodies compress well). */
export const DECODE_ALLOWANCE_BYTES = 8 * 1024 * 1024;

const FACTORIES: Record<string, () => Transform> = {
  gzip: () => zlib.createGunzip(),
  "x-gzip": () => zlib.createGunzip(),
  deflate: () => new DeflateEither(), // the zlib format, or raw deflate as servers also send
  br: () => zlib.createBrotliDecompress(),
  zstd: () => (zlib as unknown as { createZstdDecompress(): Transform }).createZstdDecompress(),
};

/** The codings of a Content-Encoding value, in the order they were applied; [] for identity. */
export function parseCodings(value: string | null): string[] {
  if (value === null) return [];
  return value
    .split(",")
    .map((c) => c.trim().toLowerCase())
    .filter((c) => c !== "" && c !== "identity");
}

/** Whether `accept` (a client's Accept-Encoding) allows every coding in `codings`. */
export function clientAccepts(accept: string | null, codings: readonly string[]): boolean {
  if (codings.length === 0) return true;
  if (accept === null) return false; // RFC 9110 §12.5.3: no header = any coding, but clients
  // that omit it (curl without --compressed, many SDKs) do not decode: decode for them.
  const allowed = new Map<string, number>();
  for (const part of accept.split(",")) {
    const [name, ...params] = part.split(";").map((s) => s.trim().toLowerCase());
    if (!name) continue;
    const q = params.find((p) => p.startsWith("q="));
    allowed.set(name, q ? Number(q.slice(2)) : 1);
  }
  return codings.every((c) => {
    const q = allowed.get(c) ?? allowed.get(c === "x-gzip" ? "gzip" : "") ?? allowed.get("*");
    return q !== undefined && q > 0;
  });
}

/** Whether the proxy can decode every coding (unknown codings are passed through undecoded). */
export function canDecode(codings: readonly string[]): boolean {
  return codings.length <= MAX_CODINGS && codings.every((c) => Object.hasOwn(FACTORIES, c));
}

export interface DecodeSink {
  /** Decoded bytes; false = the consumer is full: decoding pauses until `resume()` is called. */
  data(chunk: Uint8Array): boolean;
  end(): void;
  error(err: ProxyError): void;
}

/**
 * A push decoder: `write` encoded bytes, decoded bytes arrive at `sink.data`. Writes return
 * false while the transforms hold more than their high-water mark; `onDrain` fires when they
 * can take more.
 */
export class ContentDecoder {
  readonly #first: Transform;
  readonly #chain: Transform[];
  /** The framing of the outermost coding's input when it is zstd (see zstd-framing.ts). */
  readonly #zstd: ZstdFraming | null;
  #last: Transform;
  #encoded = 0;
  #decoded = 0;
  #failed = false;
  onDrain: (() => void) | null = null;

  constructor(codings: readonly string[], sink: DecodeSink) {
    if (!canDecode(codings)) {
      throw new ProxyError("HTTP_PROTOCOL", `cannot decode content coding "${codings.join(", ")}"`);
    }
    // Codings are listed in the order applied: undo them last to first.
    this.#chain = [...codings].reverse().map((c) => (FACTORIES[c] as () => Transform)());
    for (let i = 0; i + 1 < this.#chain.length; i++) {
      (this.#chain[i] as Transform).pipe(this.#chain[i + 1] as Transform);
    }
    this.#first = this.#chain[0] as Transform;
    // The zstd decoder ends quietly on input cut inside a frame: its input's framing is followed
    // here, so that a truncated body is an error, as it is for the other codings. Inner zstd
    // layers are followed on the output of the layer before them.
    const outer = codings[codings.length - 1] === "zstd";
    this.#zstd = outer ? new ZstdFraming() : null;
    const inner: ZstdFraming[] = [];
    for (let i = 1; i < this.#chain.length; i++) {
      if (codings[codings.length - 1 - i] !== "zstd") continue;
      const framing = new ZstdFraming();
      inner.push(framing);
      (this.#chain[i - 1] as Transform).on("data", (d: Buffer) => framing.push(d));
    }
    const last = this.#chain[this.#chain.length - 1] as Transform;
    const fail = (err: unknown) => {
      if (this.#failed) return;
      this.#failed = true;
      for (const t of this.#chain) t.destroy();
      sink.error(ProxyError.wrap(err, "HTTP_PROTOCOL", "response body does not decode"));
    };
    for (const t of this.#chain) t.on("error", fail);
    last.on("data", (d: Buffer) => {
      this.#decoded += d.length;
      if (this.#decoded > DECODE_ALLOWANCE_BYTES + this.#encoded * MAX_DECODE_RATIO) {
        fail(
          new ProxyError(
            "HTTP_PROTOCOL",
            `decoded response exceeds ${MAX_DECODE_RATIO}x its encoded size (decompression bomb?)`,
          ),
        );
        return;
      }
      // Backpressure: a full consumer pauses the last transform, which stops the chain and
      // makes `write` return false upstream; nothing decodes faster than the client reads.
      if (!this.#failed && !sink.data(d)) last.pause();
    });
    last.on("end", () => {
      if (this.#failed) return;
      const zstd = this.#zstd === null ? inner : [this.#zstd, ...inner];
      if (zstd.every((f) => f.complete)) sink.end();
      else
        fail(new ProxyError("HTTP_PROTOCOL", "response body does not decode: zstd data ends inside a frame"));
    });
    this.#first.on("drain", () => this.onDrain?.());
    this.#last = last;
  }

  /** The consumer has room again: decoding goes on. */
  resume(): void {
    if (!this.#failed) this.#last.resume();
  }

  write(chunk: Uint8Array): boolean {
    if (this.#failed) return true;
    this.#encoded += chunk.length;
    const malformed = this.#zstd?.push(chunk) ?? null;
    if (malformed !== null) {
      this.#first.destroy(new ProxyError("HTTP_PROTOCOL", `response body does not decode: ${malformed}`));
      return true;
    }
    return this.#first.write(chunk);
  }

  end(): void {
    if (!this.#failed) this.#first.end();
  }

  destroy(): void {
    this.#failed = true;
    for (const t of this.#chain) t.destroy();
  }
}
