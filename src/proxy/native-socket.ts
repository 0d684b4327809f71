/**
 * A ByteSocket over Bun's native TCP socket, for every socket the proxy accepts (`Bun.listen`)
 * and dials (`Bun.connect`; `node:net` only past a bound, see connect-tcp.ts). `node:net` puts a
 * Readable and a Writable stream between the kernel and the tunnel: per read and per write a
 * chain of stream calls and state objects, per socket a few KiB of state and closures. Here a
 * read is one handler call and one `emit`, a write one native `write`; a socket is one small
 * object.
 *
 * What the stream layer did and this keeps: bytes read while paused, or before anyone listens,
 * are held and delivered in order on resume (the native socket is paused meanwhile, so that is
 * bounded by one read); writes the kernel does not take are queued in order and sent on the
 * native `drain`; `end` half-closes only after the queue is sent; `end` is delivered after the
 * last byte; `close` comes once, last, and never from inside the call that caused it.
 *
 * Native handlers are shared objects (one set per listener); each native socket's
 * `data` field names its NativeSocket, so a socket holds no closures.
 */
import type { RawHandlers, RawSocket } from "./bun-net.ts";
import type { ByteSocket } from "./byte-socket.ts";
import { SocketEvents } from "./socket-events.ts";

/** Queued bytes from which `write` asks the caller to wait for `drain` (as `node:net`'s default). */
const HIGH_WATER_BYTES = 16 * 1024;

type Raw = RawSocket<NativeSocket | undefined>;
type Handlers = RawHandlers<NativeSocket | undefined>;

function rethrow(err: unknown): never {
  throw err;
}

export class NativeSocket extends SocketEvents implements ByteSocket {
  readonly #raw: Raw;
  readonly remoteAddress: string | undefined;
  readonly remotePort: number | undefined;
  destroyed = false;
  writableEnded = false;
  writableLength = 0;
  /** Writes the kernel has not taken yet, in order (null: none). */
  #queue: Uint8Array[] | null = null;
  #needDrain = false;
  /** `end()` was called while the queue was not empty: shut down once it is sent. */
  #shutdownPending = false;
  /** Paused by the caller. */
  #paused = false;
  /** resume() was called since the last pause(): bytes nobody listens for are dropped. */
  #flowing = false;
  /** Bytes read but not delivered (paused, or nobody listening); null: none. */
  #pending: Buffer[] | null = null;
  #deliverQueued = false;
  /** The peer's FIN was read (or the connection closed cleanly after ours). */
  #eof = false;
  #endEmitted = false;
  /** The native socket is closed. */
  #closed = false;
  #closeEmitted = false;
  #byUs = false;
  #error: Error | null = null;

  constructor(raw: Raw) {
    super();
    this.#raw = raw;
    raw.data = this;
    this.remoteAddress = raw.remoteAddress;
    this.remotePort = raw.remotePort;
  }

  /**
   * Native handlers shared by every socket: each finds its NativeSocket in `raw.data`. A
   * listener's exception must not reach the native layer (which would report it as this socket's
   * error, and keep reading): it is thrown again a turn later, uncaught, as a listener's exception
   * under `node:net` is.
   */
  static readonly #handlers: Handlers = {
    data(raw, chunk) {
      const s = raw.data;
      if (s === undefined || s.#byUs) return;
      if (s.#paused || s.#pending !== null) {
        s.#hold(chunk);
        return;
      }
      try {
        // Nobody listens: held for the first listener, or dropped once resume() made it flow.
        if (!s.emit("data", chunk) && !s.#flowing) s.#hold(chunk);
      } catch (err) {
        process.nextTick(rethrow, err);
      }
    },
    drain(raw) {
      const s = raw.data;
      if (s === undefined) return;
      try {
        s.#onDrain();
      } catch (err) {
        process.nextTick(rethrow, err);
      }
    },
    end(raw) {
      const s = raw.data;
      if (s === undefined) return;
      s.#eof = true;
      try {
        s.#finish();
      } catch (err) {
        process.nextTick(rethrow, err);
      }
    },
    error(raw, err) {
      const s = raw.data;
      if (s !== undefined) s.#error ??= err;
    },
    close(raw, err) {
      const s = raw.data;
      if (s !== undefined) s.#onClose(err ?? null);
    },
  };

  /** Handlers for `Bun.listen`: each accepted socket becomes a NativeSocket given to `accept`. */
  static listenHandlers(accept: (s: NativeSocket) => void): Handlers {
    return {
      ...NativeSocket.#handlers,
      open(raw) {
        try {
          accept(new NativeSocket(raw));
        } catch (err) {
          process.nextTick(rethrow, err);
        }
      },
    };
  }

  /**
   * Handlers for `Bun.connect`: the connected socket's NativeSocket is made, paused, before any
   * byte can arrive (`raw.data` once the connect resolves); the dialler resumes it when it reads.
   */
  static dialHandlers(): Handlers {
    return {
      ...NativeSocket.#handlers,
      open(raw) {
        new NativeSocket(raw).pause();
      },
    };
  }

  write(chunk: Uint8Array | string): boolean {
    if (this.destroyed || this.writableEnded) return false;
    const buf = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
    if (buf.length === 0) return this.writableLength < HIGH_WATER_BYTES;
    const q = this.#queue;
    if (q === null) {
      const n = this.#raw.write(buf);
      if (n === buf.length) return true;
      if (n < 0) return false; // closing: the close handler follows
      this.#queue = [n === 0 ? buf : buf.subarray(n)];
      this.writableLength = buf.length - n;
    } else {
      q.push(buf);
      this.writableLength += buf.length;
    }
    if (this.writableLength < HIGH_WATER_BYTES) return true;
    this.#needDrain = true;
    return false;
  }

  end(chunk?: Uint8Array | string): this {
    if (chunk !== undefined) this.write(chunk);
    if (this.writableEnded || this.destroyed) return this;
    this.writableEnded = true;
    if (this.#queue === null) this.#raw.shutdown();
    else this.#shutdownPending = true;
    return this;
  }

  destroy(): this {
    return this.#destroy(false);
  }

  resetAndDestroy(): this {
    return this.#destroy(true);
  }

  #destroy(reset: boolean): this {
    if (this.#byUs) return this;
    this.#dropAll();
    if (this.#closed) {
      // Closed cleanly with bytes still held: they are dropped and `close` goes out now.
      process.nextTick(NativeSocket.#emitClose, this);
      return this;
    }
    // Either closes the descriptor at once (terminate with SO_LINGER 0: RST); the native close
    // handler runs before this returns.
    if (reset) this.#raw.terminate();
    else this.#raw.end();
    this.#onClose(null);
    return this;
  }

  pause(): this {
    this.#flowing = false;
    if (!this.#paused) {
      this.#paused = true;
      if (!this.#closed) this.#raw.pause();
    }
    return this;
  }

  /** Reads again; as with `node:net`, bytes read while nobody listens from now on are dropped. */
  resume(): this {
    this.#flowing = true;
    if (!this.#paused && this.#pending === null) return this;
    this.#paused = false;
    if (this.#pending !== null) this.#queueDeliver();
    else if (!this.#closed) this.#raw.resume();
    return this;
  }

  setNoDelay(noDelay = true): this {
    if (!this.#closed) this.#raw.setNoDelay(noDelay);
    return this;
  }

  unshift(chunk: Uint8Array): this {
    if (chunk.length === 0 || this.#byUs) return this;
    const b = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
    if (this.#pending === null) {
      this.#pending = [b];
      if (!this.#closed) this.#raw.pause();
    } else this.#pending.unshift(b);
    if (!this.#paused) this.#queueDeliver();
    return this;
  }

  /** A new `data` listener gets what was held for want of one. */
  protected override listenerAdded(event: string | symbol): void {
    if (event === "data" && this.#pending !== null && !this.#paused) this.#queueDeliver();
  }

  #hold(chunk: Buffer): void {
    if (this.#pending === null) {
      this.#pending = [chunk];
      if (!this.#closed) this.#raw.pause();
    } else this.#pending.push(chunk);
  }

  #queueDeliver(): void {
    if (this.#deliverQueued) return;
    this.#deliverQueued = true;
    process.nextTick(NativeSocket.#deliver, this);
  }

  static #deliver(s: NativeSocket): void {
    s.#deliverQueued = false;
    let p = s.#pending;
    while (p !== null && !s.#paused && !s.#byUs) {
      const chunk = p.shift() as Buffer;
      if (p.length === 0) s.#pending = null;
      if (!s.emit("data", chunk) && !s.#flowing) {
        // Nobody listens (any more) and nobody asked to flow: back in front for the next listener.
        if (s.#pending === null) s.#hold(chunk);
        else s.#pending.unshift(chunk);
        return;
      }
      p = s.#pending;
    }
    if (s.#byUs) return; // destroyed meanwhile: its own `close` is on the way
    if (s.#pending === null && !s.#paused && !s.#closed) s.#raw.resume();
    s.#finish();
  }

  #onDrain(): void {
    const q = this.#queue;
    if (q === null) return;
    while (q.length > 0) {
      const b = q[0] as Uint8Array;
      const n = this.#raw.write(b);
      if (n < 0) return;
      this.writableLength -= n;
      if (n < b.length) {
        q[0] = b.subarray(n);
        return;
      }
      q.shift();
    }
    this.#queue = null;
    if (this.#shutdownPending) {
      this.#shutdownPending = false;
      this.#raw.shutdown();
    }
    if (this.#needDrain) {
      this.#needDrain = false;
      this.emit("drain");
    }
  }

  #dropAll(): void {
    this.#byUs = true;
    this.#pending = null;
    this.#queue = null;
    this.writableLength = 0;
  }

  #onClose(err: Error | null): void {
    if (this.#closed) return;
    this.#closed = true;
    this.destroyed = true;
    if (err !== null) {
      this.#error ??= err;
      this.#pending = null;
    } else if (!this.#byUs) {
      this.#eof = true; // a clean close we did not cause: the peer's FIN after our own
    }
    this.#queue = null;
    // Never from inside the caller's destroy() or write(): as `node:net`, a turn later.
    process.nextTick(NativeSocket.#emitClose, this);
  }

  static #emitClose(s: NativeSocket): void {
    if (s.#pending !== null) {
      // Bytes that arrived before a clean close still go first: `close` follows their delivery
      // (on resume; a caller that never resumes destroys the socket, which drops them).
      if (!s.#paused) s.#queueDeliver();
      return;
    }
    s.#finish();
  }

  /** Delivers `end`, then `error` and `close`, once nothing read is still undelivered. */
  #finish(): void {
    if (this.#pending !== null) return;
    if (this.#eof && !this.#endEmitted && !this.#byUs && this.#error === null) {
      this.#endEmitted = true;
      this.emit("end");
    }
    if (!this.#closed || this.#closeEmitted) return;
    this.#closeEmitted = true;
    const err = this.#byUs ? null : this.#error;
    if (err !== null && this.listenerCount("error") > 0) this.emit("error", err);
    this.emit("close", err !== null);
  }
}
