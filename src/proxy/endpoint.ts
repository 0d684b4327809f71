/**
 * One side of a tunnel as the relay sees it: a byte stream with backpressure and half-close.
 * A raw TCP socket (passthrough, or before TLS) and a SecureChannel (MITM) both fit.
 */
import { type ErrorCode, ProxyError } from "../errors/proxy-error.ts";
import type { ByteSocket as Socket } from "./byte-socket.ts";
import type { ChannelEvents, SecureChannel } from "./secure-channel.ts";

/**
 * Bytes a tunnel side may hold in its socket's write buffer before the relay stops reading from
 * the other side. Larger than the stream default (16 KiB) so a bulk transfer keeps both sockets
 * busy instead of pausing after every chunk; it is also the memory bound per direction.
 */
export const RELAY_HIGH_WATER_BYTES = 64 * 1024;

/** Writes and reports whether there is room for more (the relay pauses the other side if not). */
export function writeWithRoom(socket: Socket, chunk: Uint8Array): boolean {
  if (socket.destroyed || socket.writableEnded) return false;
  socket.write(chunk);
  return socket.writableLength < RELAY_HIGH_WATER_BYTES;
}

/** Resets a TCP connection (RST) where the runtime supports it; otherwise closes it. */
export function resetSocket(socket: Socket): void {
  const s = socket as Socket & { resetAndDestroy?: () => void };
  if (socket.destroyed) return;
  if (typeof s.resetAndDestroy === "function") s.resetAndDestroy();
  else socket.destroy();
}

export interface EndpointHandlers {
  data(chunk: Uint8Array): void;
  /** The peer finished sending; `truncation` when that end counts as a failure (see channelEndpoint). */
  end(truncation?: ProxyError): void;
  /** Fatal error; the endpoint is already destroyed. */
  error(err: ProxyError): void;
  /** Writable again after write() returned false. */
  drain(): void;
  /** The underlying socket is fully closed. */
  close(): void;
}

export interface Endpoint {
  start(h: EndpointHandlers): void;
  /** false = buffer full, wait for drain. */
  write(chunk: Uint8Array): boolean;
  /** Finishes sending; `closeNotify: false` ends a TLS side without close_notify (a truncation). */
  end(closeNotify?: boolean): void;
  destroy(): void;
  /** Tears down with a TCP reset: how a tunnel fails after `200`. */
  reset(): void;
  pause(): void;
  resume(): void;
}

export function socketEndpoint(socket: Socket, leftover: Uint8Array = new Uint8Array(0)): Endpoint {
  return {
    start(h) {
      socket.on("data", (d: Buffer) => h.data(d));
      socket.on("end", () => h.end());
      socket.on("error", (e) => {
        socket.destroy();
        h.error(ProxyError.wrap(e, "IO"));
      });
      socket.on("drain", () => h.drain());
      socket.on("close", () => h.close());
      if (leftover.length > 0) h.data(leftover);
      if (socket.destroyed) {
        // Closed before the relay started: its listeners above will never fire.
        queueMicrotask(() => {
          h.end();
          h.close();
        });
        return;
      }
      socket.resume();
    },
    write: (chunk) => writeWithRoom(socket, chunk),
    end: () => {
      if (!socket.destroyed) socket.end();
    },
    destroy: () => socket.destroy(),
    reset: () => resetSocket(socket),
    pause: () => socket.pause(),
    resume: () => socket.resume(),
  };
}

/** Plaintext bytes moved each way through an endpoint (the tunnel's totals). */
export interface ByteCount {
  in: number;
  out: number;
}

export interface ChannelEndpointOptions {
  /**
   * The code under which a TCP FIN or reset without TLS close_notify is reported (for the
   * upstream side). Without it such an end is an ordinary end: clients commonly close without
   * close_notify once their exchange is complete.
   */
  truncation?: ErrorCode;
  /** Told of every chunk read or written (the tunnel's idle watch). */
  activity?: { touch(): void };
  /** Adds the plaintext bytes read (`in`) and written (`out`). */
  count?: ByteCount;
}

/** The channel's events as the endpoint's handlers see them (truncation rule, activity, count). */
class ChannelHandlers implements ChannelEvents {
  readonly #h: EndpointHandlers;
  readonly #ep: ChannelEndpoint;

  constructor(h: EndpointHandlers, ep: ChannelEndpoint) {
    this.#h = h;
    this.#ep = ep;
  }

  data(plain: Uint8Array): void {
    const ep = this.#ep;
    ep.activity?.touch();
    if (ep.count) ep.count.in += plain.length;
    this.#h.data(plain);
  }

  end(closeNotify: boolean): void {
    const ep = this.#ep;
    const code = ep.truncation;
    if (closeNotify || !code) this.#h.end();
    else this.#h.end(new ProxyError(code, `${ep.ch.side} closed the connection without TLS close_notify`));
  }

  error(err: ProxyError): void {
    const code = this.#ep.truncation;
    if (!code || err.code !== "IO") this.#h.error(err);
    else this.#h.error(new ProxyError(code, `${err.message} (without TLS close_notify)`, { cause: err }));
  }

  drain(): void {
    this.#h.drain();
  }

  close(): void {
    this.#h.close();
  }
}

/** A SecureChannel as an Endpoint; one object per side, its methods on the prototype. */
class ChannelEndpoint implements Endpoint {
  readonly ch: SecureChannel;
  readonly truncation: ErrorCode | undefined;
  readonly activity: { touch(): void } | undefined;
  readonly count: ByteCount | undefined;

  constructor(ch: SecureChannel, opts: ChannelEndpointOptions) {
    this.ch = ch;
    this.truncation = opts.truncation;
    this.activity = opts.activity;
    this.count = opts.count;
  }

  start(h: EndpointHandlers): void {
    // The socket's close reaches `h` through the channel's own close listener (ChannelEvents.close).
    this.ch.start(new ChannelHandlers(h, this));
    this.ch.socket.resume();
  }

  write(chunk: Uint8Array): boolean {
    this.activity?.touch();
    if (this.count) this.count.out += chunk.length;
    return this.ch.write(chunk);
  }

  end(closeNotify = true): void {
    this.ch.end(closeNotify);
  }

  destroy(): void {
    this.ch.destroy();
  }

  reset(): void {
    this.ch.reset();
  }

  pause(): void {
    this.ch.socket.pause();
  }

  resume(): void {
    this.ch.socket.resume();
  }
}

/** A SecureChannel as an Endpoint (see ChannelEndpointOptions). */
export function channelEndpoint(ch: SecureChannel, opts: ChannelEndpointOptions = {}): Endpoint {
  return new ChannelEndpoint(ch, opts);
}
