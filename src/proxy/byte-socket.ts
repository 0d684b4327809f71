/**
 * The TCP socket as the proxy uses it: the small part of `node:net`'s Socket that the listener,
 * the CONNECT and SOCKS readers, the relay and SecureChannel touch. The proxy's own sockets are
 * NativeSocket (native-socket.ts, over Bun's native sockets); a `node:net` Socket fits too: tests
 * and tools hand them in, and so do dials while many native connects are pending (connect-tcp.ts).
 *
 * Events, as in `node:net` with `allowHalfOpen`: `data` (Buffer), `end` (the peer's FIN, after
 * every byte it sent was delivered), `drain` (after a write returned false, once the buffer is
 * empty), `error` (then `close`), `close` (once, last).
 */
// biome-ignore lint/suspicious/noExplicitAny: each event has its own arguments, as in EventEmitter
type Listener = (...args: any[]) => void;

export interface ByteSocket {
  on(event: string, listener: Listener): unknown;
  once(event: string, listener: Listener): unknown;
  off(event: string, listener: Listener): unknown;
  removeAllListeners(event?: string): unknown;
  // biome-ignore lint/complexity/noBannedTypes: EventEmitter's own return type
  listeners(event: string): Function[];
  /** Queues `chunk` (taken by reference); false when the caller should wait for `drain`. */
  write(chunk: Uint8Array | string): boolean;
  /** Half-closes (FIN) once everything queued is sent, after writing `chunk` if given. */
  end(chunk?: Uint8Array | string): unknown;
  /** Closes now; what is still queued is dropped. */
  destroy(): unknown;
  /** Closes with a TCP reset (RST), where the runtime can. */
  resetAndDestroy?(): unknown;
  pause(): unknown;
  resume(): unknown;
  setNoDelay(noDelay?: boolean): unknown;
  /** Puts bytes back in front of what is still to be read. */
  unshift(chunk: Uint8Array): unknown;
  readonly destroyed: boolean;
  readonly writableEnded: boolean;
  /** Bytes queued and not yet taken by the kernel. */
  readonly writableLength: number;
  readonly remoteAddress?: string | undefined;
  readonly remotePort?: number | undefined;
}
