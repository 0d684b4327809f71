/**
 * One TCP connect within a deadline, as a ByteSocket: on Bun's native sockets (`Bun.connect`,
 * wrapped in a NativeSocket, like every accepted socket), or on `node:net` when too many native
 * connects are still pending after the proxy gave up on them.
 *
 * Why both: a native connect cannot be cancelled. After a deadline or an abort the caller is
 * answered at once, but the descriptor stays in SYN-SENT until the peer answers or the kernel gives
 * up (a black-holed address: `net.ipv4.tcp_syn_retries`, ~127 s by default), and meanwhile it
 * keeps the process from exiting on its own. Each such connect is reset the moment it connects
 * after all (one that fails is just no longer counted). `node:net` keeps its Readable and
 * Writable streams per socket (~2 KiB of heap and a few microseconds per read and write,
 * measured in bench/README.md) but its `destroy()` closes a connecting socket at once. So dials
 * are native while fewer than `MAX_ABANDONED` native connects are pending after their deadline,
 * and `node:net` beyond that: a flood of dials to black-holed addresses holds at most that many
 * extra descriptors, and dials keep working.
 */
import * as net from "node:net";
import { type ErrorCode, ProxyError } from "../errors/proxy-error.ts";
import { bunNet, type RawSocket } from "./bun-net.ts";
import type { ByteSocket } from "./byte-socket.ts";
import { hasFreeFds, openFilesSoftLimit } from "./fd-limit.ts";
import { NativeSocket } from "./native-socket.ts";

/**
 * Native connects given up on and not settled yet, from which dials use node:net instead: at most
 * this, and at most 1/64 of the open-files limit (fd-limit.ts keeps 1/32 of it plus 32 out of the
 * tunnel budget, so these fit in half of that reserve).
 */
const MAX_ABANDONED = 256;
const LIMIT_SHARE = 1 / 64;

/** errno values meaning "the peer did not answer in time" (504), not "cannot be reached" (502). */
const TIMEOUT_CODES = new Set(["ETIMEDOUT"]);

/** How connect failures are reported: which codes, and how the peer is named. */
export interface PeerNaming {
  name: string;
  unreachable: ErrorCode;
  /** Read only when a connect times out (may be a getter that makes the error then). */
  readonly timeout: ProxyError;
}

/** The process-wide count of abandoned native connects (exported for `run`'s exit and tests). */
export const abandonedConnects = {
  pending: 0,
  /**
   * The bound in force; null until the first dial reads the open-files limit (after start-up has
   * raised it). Tests set it.
   */
  limit: null as number | null,
};

function abandonLimit(): number {
  if (abandonedConnects.limit === null) {
    const files = openFilesSoftLimit();
    abandonedConnects.limit =
      files === null ? MAX_ABANDONED : Math.min(MAX_ABANDONED, Math.floor(files * LIMIT_SHARE));
  }
  return abandonedConnects.limit;
}

function shutdownError(): ProxyError {
  return new ProxyError("SHUTDOWN", "the proxy is stopping");
}

function failure(err: unknown, peer: PeerNaming): ProxyError {
  const e = err as NodeJS.ErrnoException;
  const code = e.code ?? "";
  // Bun's connect reports a socket it could not create (EMFILE) as ECONNREFUSED: not the peer's doing.
  if ((code === "ECONNREFUSED" || code === "EMFILE" || code === "ENFILE") && !hasFreeFds(1)) {
    return new ProxyError(
      "IO",
      `cannot connect to ${peer.name}: the proxy is out of file descriptors (open-file limit reached)`,
      { cause: err },
    );
  }
  return new ProxyError(
    TIMEOUT_CODES.has(code) ? peer.timeout.code : peer.unreachable,
    `cannot connect to ${peer.name}: ${code || e.message}`,
    { cause: err },
  );
}

/**
 * Connects to `address`:`port` within `timeoutMs`; the socket comes back paused (nothing read
 * until the caller resumes it), with Nagle off and half-close allowed.
 */
export function connectTcp(
  address: string,
  port: number,
  timeoutMs: number,
  signal: AbortSignal | undefined,
  peer: PeerNaming,
): Promise<ByteSocket> {
  if (signal?.aborted) return Promise.reject(shutdownError());
  return abandonedConnects.pending < abandonLimit()
    ? connectNative(address, port, timeoutMs, signal, peer)
    : connectNodeNet(address, port, timeoutMs, signal, peer);
}

/**
 * Calls `giveUp` once: with the peer's timeout error after `timeoutMs`, or SHUTDOWN when `signal`
 * aborts first. The function returned disarms both (the connect settled first).
 */
function onDeadline(
  timeoutMs: number,
  signal: AbortSignal | undefined,
  peer: PeerNaming,
  giveUp: (err: ProxyError) => void,
): () => void {
  const disarm = () => {
    clearTimeout(timer);
    signal?.removeEventListener("abort", onAbort);
  };
  const timer = setTimeout(() => {
    disarm();
    giveUp(peer.timeout);
  }, timeoutMs);
  const onAbort = () => {
    disarm();
    giveUp(shutdownError());
  };
  signal?.addEventListener("abort", onAbort, { once: true });
  return disarm;
}

/** Handlers for dialled native sockets: the NativeSocket exists, paused, from the first moment. */
const DIAL_HANDLERS = NativeSocket.dialHandlers();

function connectNative(
  address: string,
  port: number,
  timeoutMs: number,
  signal: AbortSignal | undefined,
  peer: PeerNaming,
): Promise<ByteSocket> {
  return new Promise((resolve, reject) => {
    let connecting: Promise<RawSocket<NativeSocket | undefined>>;
    try {
      connecting = bunNet().connect<NativeSocket | undefined>({
        hostname: address,
        port,
        allowHalfOpen: true,
        socket: DIAL_HANDLERS,
      });
    } catch (err) {
      // Refused before any descriptor exists (arguments): nothing pending, nothing to count.
      reject(failure(err, peer));
      return;
    }
    let given = false;
    const done = onDeadline(timeoutMs, signal, peer, (err) => {
      given = true;
      abandonedConnects.pending++;
      reject(err);
    });
    connecting.then(
      (raw) => {
        const s = raw.data as NativeSocket;
        if (given) {
          abandonedConnects.pending--;
          s.resetAndDestroy();
          return;
        }
        given = true;
        done();
        s.setNoDelay(true);
        resolve(s);
      },
      (err: unknown) => {
        if (given) {
          abandonedConnects.pending--;
          return;
        }
        given = true;
        done();
        reject(failure(err, peer));
      },
    );
  });
}

function ignoreError(): void {}

function connectNodeNet(
  address: string,
  port: number,
  timeoutMs: number,
  signal: AbortSignal | undefined,
  peer: PeerNaming,
): Promise<ByteSocket> {
  return new Promise((resolve, reject) => {
    let socket: net.Socket;
    try {
      socket = net.connect({ host: address, port, allowHalfOpen: true, noDelay: true });
    } catch (err) {
      reject(failure(err, peer)); // refused before any descriptor exists, as on the native path
      return;
    }
    const done = onDeadline(timeoutMs, signal, peer, (err) => {
      socket.destroy();
      reject(err);
    });
    socket.once("connect", () => {
      done();
      socket.removeAllListeners("error");
      // Until the tunnel reads from it (after the leaf and the client's handshake), an origin
      // reset must not be an unhandled 'error'; later readers see the socket destroyed. A
      // module-level function: a closure here would keep this dial's scope (timer, naming,
      // promise callbacks) alive for as long as the socket.
      socket.on("error", ignoreError);
      socket.pause();
      resolve(socket);
    });
    socket.once("error", (err: NodeJS.ErrnoException) => {
      done();
      socket.destroy();
      reject(failure(err, peer));
    });
  });
}
