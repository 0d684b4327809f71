/**
 * What reading a client's opening (a CONNECT head, a SOCKS5 handshake) shares: feeding each read
 * to a parser until it settles, within the header timeout, and giving up when the client closes or
 * errors, or the proxy stops (the abort signal). read-connect.ts and socks-inbound.ts supply the
 * parser and what its outcome means.
 */
import { ProxyError } from "../errors/proxy-error.ts";
import type { ByteSocket as Socket } from "./byte-socket.ts";

export interface HeadReadSpec {
  /** A client must finish within this time (HEADER_TIMEOUT). */
  headerTimeoutMs: number;
  /** The HEADER_TIMEOUT message. */
  timeoutMessage: string;
  /** The error when the client closes or errors before finishing. */
  closed(): ProxyError;
  /** The error when the socket errors (a reset) before finishing; default `closed()`. */
  failed?(err: unknown): ProxyError;
}

/** How a data handler ends the read: either detaches every listener and stops the timer. */
export interface HeadRead<T> {
  /** Pauses the socket and resolves with `value`. */
  done(value: T): void;
  fail(err: unknown): void;
}

/**
 * Resolves with what `onData` settles on (socket paused) or rejects with a ProxyError. `onData`
 * gets each read; an exception it throws fails the read.
 */
export function readHead<T>(
  socket: Socket,
  spec: HeadReadSpec,
  signal: AbortSignal | undefined,
  onData: (chunk: Buffer, read: HeadRead<T>) => void,
): Promise<T> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new ProxyError("SHUTDOWN", "the proxy is shutting down"));
      return;
    }
    if (socket.destroyed) {
      // Closed while nobody listened (between two readers): its end events are past.
      reject(spec.closed());
      return;
    }
    const timer = setTimeout(() => {
      cleanup();
      reject(new ProxyError("HEADER_TIMEOUT", spec.timeoutMessage));
    }, spec.headerTimeoutMs);
    const cleanup = () => {
      clearTimeout(timer);
      socket.off("data", onChunk);
      socket.off("end", onEnd);
      socket.off("error", onError);
      socket.off("close", onEnd);
      signal?.removeEventListener("abort", onAbort);
    };
    const onEnd = () => {
      cleanup();
      reject(spec.closed());
    };
    const onError = (err: unknown) => {
      cleanup();
      reject(spec.failed ? spec.failed(err) : spec.closed());
    };
    const onAbort = () => {
      cleanup();
      socket.pause();
      reject(new ProxyError("SHUTDOWN", "the proxy is shutting down"));
    };
    const read: HeadRead<T> = {
      done: (value) => {
        socket.pause();
        cleanup();
        resolve(value);
      },
      fail: (err) => {
        cleanup();
        reject(err);
      },
    };
    const onChunk = (d: Buffer) => {
      try {
        onData(d, read);
      } catch (err) {
        read.fail(err);
      }
    };
    socket.on("data", onChunk);
    socket.on("end", onEnd);
    socket.on("error", onError);
    socket.on("close", onEnd); // a close without an end or error first (destroyed from our side)
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
