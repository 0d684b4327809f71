/**
 * One side of a tunnel as the relay sees it: a byte stream with backpressure and half-close.
 * A raw TCP socket (passthrough, or before TLS) and a SecureChannel (MITM) both fit.
 */
import type { Socket } from "node:net";
import { ProxyError } from "../errors/proxy-error.ts";
import type { SecureChannel } from "./secure-channel.ts";

export interface EndpointHandlers {
  data(chunk: Uint8Array): void;
  /** The peer finished sending. */
  end(): void;
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
  end(): void;
  destroy(): void;
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
      socket.resume();
    },
    write: (chunk) => !socket.destroyed && socket.write(chunk),
    end: () => {
      if (!socket.destroyed) socket.end();
    },
    destroy: () => socket.destroy(),
    pause: () => socket.pause(),
    resume: () => socket.resume(),
  };
}

export function channelEndpoint(ch: SecureChannel): Endpoint {
  return {
    start(h) {
      ch.socket.on("close", () => h.close());
      ch.start({ data: h.data, end: h.end, error: h.error, drain: h.drain });
      ch.socket.resume();
    },
    write: (chunk) => ch.write(chunk),
    end: () => ch.end(),
    destroy: () => ch.destroy(),
    pause: () => ch.socket.pause(),
    resume: () => ch.socket.resume(),
  };
}
