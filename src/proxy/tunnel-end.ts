/**
 * How a CONNECT tunnel ends: its failure is recorded and answered (an error status before `200`,
 * a reset after), its `tunnel closed` line logged, and runTunnel's promise settled, once, when
 * the steps end or, in the HTTP mode, when the HTTP layer tells it (httpEnded).
 */
import { ProxyError } from "../errors/proxy-error.ts";
import type { HttpTunnelOwner, HttpTunnelResult } from "../http/bridge/http-tunnel.ts";
import { logTunnel, type TunnelRecord } from "../log/tunnel-record.ts";
import type { ByteSocket as Socket } from "./byte-socket.ts";
import { resetSocket } from "./endpoint.ts";
import type { TunnelDeps } from "./tunnel.ts";
import type { TunnelAnswer } from "./tunnel-answer.ts";
import { recordHttp, type TunnelChannels } from "./tunnel-http.ts";

/** A client that got an error status before `200` is closed this long after it, ms. */
const ERROR_LINGER_MS = 1_000;

/** What ending a tunnel needs: its record, what to destroy, and whether `200` was sent. */
export class TunnelEnd implements HttpTunnelOwner, TunnelChannels {
  readonly started = performance.now();
  established = false;
  /** What a failure destroys, in the order the tunnel opens them: the dialled socket, the
   * client-facing channel, the (first) upstream channel. Fields, not an array. */
  upstream: Socket | null = null;
  clientChannel: { destroy(): void } | null = null;
  upstreamChannel: { destroy(): void } | null = null;
  readonly #client: Socket;
  readonly #deps: TunnelDeps;
  readonly #answer: TunnelAnswer;
  readonly rec: TunnelRecord;
  /** Settles runTunnel's promise (with a rejected promise: rejects it). */
  readonly #settled: (v: undefined | Promise<never>) => void;
  #ended = false;

  constructor(
    client: Socket,
    deps: TunnelDeps,
    answer: TunnelAnswer,
    rec: TunnelRecord,
    settled: (v: undefined | Promise<never>) => void,
  ) {
    this.#client = client;
    this.#deps = deps;
    this.#answer = answer;
    this.rec = rec;
    this.#settled = settled;
  }

  /** HttpTunnelOwner: the HTTP layer is done with the tunnel. */
  httpEnded(r: HttpTunnelResult): void {
    if (this.#ended) return;
    const failed = recordHttp(this.rec, r);
    if (failed) this.settle(true, failed);
    else this.settle(false);
  }

  /**
   * Ends the tunnel, once (a later call does nothing): answers the failure (when `failed`), logs
   * the tunnel, settles runTunnel's promise; rejected with what answering or logging threw, if
   * anything did.
   */
  settle(failed: boolean, err?: unknown): void {
    if (this.#ended) return;
    this.#ended = true;
    let thrown: { e: unknown } | null = null;
    try {
      if (failed) this.#fail(err);
    } catch (e) {
      thrown = { e };
    }
    try {
      this.#log();
    } catch (e) {
      thrown = { e };
    }
    this.#settled(thrown === null ? undefined : Promise.reject(thrown.e));
  }

  /** Records the failure, answers it (before `200`) or resets the client (after). */
  #fail(err: unknown): void {
    const { rec } = this;
    const client = this.#client;
    const e = ProxyError.wrap(err, "INTERNAL");
    rec.errorCode = e.code;
    rec.reason = e.message;
    if (!this.established && !client.destroyed) {
      client.end(this.#answer.error(e));
      // Do not wait forever for a client that keeps its side open after reading the error
      // (the server allows half-open connections): its slot is held until the socket closes.
      client.resume();
      setTimeout(() => client.destroy(), ERROR_LINGER_MS).unref();
    } else {
      resetSocket(client);
    }
    this.upstream?.destroy();
    this.clientChannel?.destroy();
    this.upstreamChannel?.destroy();
    if (!this.established) this.upstream?.destroy();
    // Kept for readers of the debug stream; the `tunnel closed` line carries the same reason.
    this.#deps.logger.debug("tunnel error", { host: rec.host, code: e.code, reason: e.message });
  }

  #log(): void {
    this.rec.durationMs = Math.round(performance.now() - this.started);
    logTunnel(this.#deps.logger, this.rec, this.#deps.observer);
  }
}
