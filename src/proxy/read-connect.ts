/**
 * Reads one CONNECT head from a client socket: pushes each read into the incremental parser (each
 * byte is scanned once, nothing is re-copied per read), with the header timeout and an abort signal
 * (the proxy is stopping), through read-head.ts.
 */
import { ProxyError } from "../errors/proxy-error.ts";
import type { ByteSocket as Socket } from "./byte-socket.ts";
import {
  type ConnectLimits,
  ConnectParser,
  type ConnectRequest,
  type ForwardStart,
} from "./connect-parser.ts";
import { readHead } from "./read-head.ts";

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
  const parser = new ConnectParser(opts.limits);
  return readHead<ConnectRequest | ForwardStart>(
    socket,
    {
      headerTimeoutMs: opts.headerTimeoutMs,
      timeoutMessage: `CONNECT head not received within ${opts.headerTimeoutMs} ms`,
      closed: () => new ProxyError("BAD_REQUEST", "client closed before completing the CONNECT head"),
    },
    signal,
    (d, read) => {
      const r = parser.push(d);
      if (r.kind !== "incomplete") read.done(r.kind === "done" ? r.request : r.start);
    },
  );
}
