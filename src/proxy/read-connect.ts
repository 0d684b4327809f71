/**
 * Reads one CONNECT head from a client socket: pushes each read into the incremental parser (each
 * byte is scanned once, nothing is re-copied per read), with the header timeout and an abort signal
 * (the proxy is stopping).
 */
import type { Socket } from "node:net";
import { ProxyError } from "../errors/proxy-error.ts";
import {
  type ConnectLimits,
  ConnectParser,
  type ConnectRequest,
  type ForwardStart,
} from "./connect-parser.ts";

export interface ReadConnectOptions {
  limits: ConnectLimits;
  /** A client must finish its CONNECT head within this time. */
  headerTimeoutMs: number;
}

/**
 * Resolves with the request (socket paused) or rejects with a ProxyError. A plain-HTTP proxy
 * request (absolute-form `http://`) resolves as soon as its request line is complete, with the
 * bytes read so far: the HTTP/1.1 codec reads the rest of its head (forward-http.ts).
 */
export function readConnect(
  socket: Socket,
  opts: ReadConnectOptions,
  signal?: AbortSignal,
): Promise<ConnectRequest | ForwardStart> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new ProxyError("SHUTDOWN", "the proxy is shutting down"));
      return;
    }
    const parser = new ConnectParser(opts.limits);
    const timer = setTimeout(() => {
      cleanup();
      reject(new ProxyError("HEADER_TIMEOUT", `CONNECT head not received within ${opts.headerTimeoutMs} ms`));
    }, opts.headerTimeoutMs);
    const cleanup = () => {
      clearTimeout(timer);
      socket.off("data", onData);
      socket.off("end", onEnd);
      socket.off("error", onEnd);
      signal?.removeEventListener("abort", onAbort);
    };
    const onEnd = () => {
      cleanup();
      reject(new ProxyError("BAD_REQUEST", "client closed before completing the CONNECT head"));
    };
    const onAbort = () => {
      cleanup();
      socket.pause();
      reject(new ProxyError("SHUTDOWN", "the proxy is shutting down"));
    };
    const onData = (d: Buffer) => {
      try {
        const r = parser.push(d);
        if (r.kind === "incomplete") return;
        socket.pause();
        cleanup();
        resolve(r.kind === "done" ? r.request : r.start);
      } catch (err) {
        cleanup();
        reject(err);
      }
    };
    socket.on("data", onData);
    socket.on("end", onEnd);
    socket.on("error", onEnd);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
