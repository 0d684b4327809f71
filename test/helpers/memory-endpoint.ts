/**
 * An Endpoint in memory, for unit tests and the in-process micro-benchmarks: it keeps the
 * handlers it was started with (drive the peer side through them), counts writes and bytes,
 * records `end()`, and shows each written chunk to `onWrite`. Writes always have room.
 */
import type { Endpoint, EndpointHandlers } from "../../src/proxy/endpoint.ts";

export interface MemoryEndpoint extends Endpoint {
  handlers: EndpointHandlers | null;
  writes: number;
  bytes: number;
  ended: boolean;
}

export function memoryEndpoint(onWrite?: (chunk: Uint8Array) => void): MemoryEndpoint {
  const ep: MemoryEndpoint = {
    handlers: null,
    writes: 0,
    bytes: 0,
    ended: false,
    start(h) {
      ep.handlers = h;
    },
    write(chunk) {
      ep.writes++;
      ep.bytes += chunk.length;
      onWrite?.(chunk);
      return true;
    },
    end() {
      ep.ended = true;
    },
    destroy() {},
    reset() {},
    pause() {},
    resume() {},
  };
  return ep;
}
