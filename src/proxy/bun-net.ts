/**
 * The part of Bun's native TCP API (`Bun.listen`, `Bun.connect`) the proxy uses, typed here: this
 * is the one file that reaches for the runtime's socket API, and the core type-checks without
 * Bun's type package (`make check` runs Deno on it too). NativeSocket (native-socket.ts) is
 * what the rest of the proxy sees.
 */

/** A native TCP socket; `data` is the caller's per-socket slot. */
export interface RawSocket<D> {
  data: D;
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** Bytes taken by the kernel (may be fewer than given, 0 when full); -1 when closed. */
  write(data: Uint8Array): number;
  /** Closes the descriptor (FIN): not a half-close; the close handler runs before it returns. */
  end(): void;
  /** Half-close: `shutdown(2)` of the write side (FIN). */
  shutdown(): void;
  /** SO_LINGER 0 and close: a reset (RST); the close handler runs before it returns. */
  terminate(): void;
  pause(): void;
  resume(): void;
  setNoDelay(noDelay?: boolean): boolean;
}

/** Native handlers: shared objects, called with the socket (its `data` says whose it is). */
export interface RawHandlers<D> {
  open?(socket: RawSocket<D>): void;
  data?(socket: RawSocket<D>, chunk: Buffer): void;
  /** The kernel takes writes again (also called when nothing was waiting). */
  drain?(socket: RawSocket<D>): void;
  /** The peer's FIN, while our side is open. */
  end?(socket: RawSocket<D>): void;
  error?(socket: RawSocket<D>, error: Error): void;
  /** The socket is closed; `error` after a reset or failure. */
  close?(socket: RawSocket<D>, error?: Error): void;
}

export interface RawListener {
  readonly port: number;
  /** Stops listening; `closeActive` false leaves accepted sockets alone. */
  stop(closeActive?: boolean): void;
}

interface BunNet {
  listen<D>(opts: {
    hostname: string;
    port: number;
    allowHalfOpen: boolean;
    socket: RawHandlers<D>;
  }): RawListener;
  /** Resolves once connected (after the `open` handler ran); cannot be cancelled meanwhile. */
  connect<D>(opts: {
    hostname: string;
    port: number;
    allowHalfOpen: boolean;
    socket: RawHandlers<D>;
  }): Promise<RawSocket<D>>;
}

/** Bun's socket API (throws at first use outside Bun). */
export function bunNet(): BunNet {
  const bun = (globalThis as { Bun?: BunNet }).Bun;
  if (bun === undefined) throw new Error("native sockets need the Bun runtime");
  return bun;
}
