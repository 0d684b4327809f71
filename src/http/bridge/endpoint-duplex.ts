/**
 * A node:stream Duplex over a tunnel Endpoint (the decrypted client side of a MITM tunnel), so
 * that a node:http2 server can be fed with `server.emit("connection", duplex)`. Backpressure
 * both ways: the endpoint is paused while the readable side is full, and writes complete only
 * when the endpoint has room.
 */
import { Duplex } from "node:stream";
import type { ProxyError } from "../../errors/proxy-error.ts";
import type { Endpoint } from "../../proxy/endpoint.ts";

export class EndpointDuplex extends Duplex {
  readonly #ep: Endpoint;
  #paused = false;
  #pendingWrite: (() => void) | null = null;
  /** Set when the endpoint failed; the duplex is destroyed with it. */
  failure: ProxyError | null = null;

  constructor(ep: Endpoint, prefix?: Uint8Array) {
    super({ allowHalfOpen: true });
    this.#ep = ep;
    if (prefix && prefix.length > 0) this.push(prefix);
    ep.start({
      data: (chunk) => {
        if (!this.push(chunk) && !this.#paused) {
          this.#paused = true;
          ep.pause();
        }
      },
      end: () => this.push(null),
      error: (err) => {
        this.failure = err;
        this.destroy(err);
      },
      drain: () => {
        const w = this.#pendingWrite;
        this.#pendingWrite = null;
        w?.();
      },
      close: () => {
        if (!this.destroyed) this.destroy();
      },
    });
  }

  override _read(): void {
    if (this.#paused) {
      this.#paused = false;
      this.#ep.resume();
    }
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.#ep.write(chunk)) cb();
    else this.#pendingWrite = () => cb();
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.#ep.end();
    cb();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.#ep.destroy();
    const w = this.#pendingWrite;
    this.#pendingWrite = null;
    w?.();
    cb(err);
  }
}
