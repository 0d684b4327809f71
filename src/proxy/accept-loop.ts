/**
 * The listening socket, with a brake for the open-file limit. Bun's net.Server (uSockets) retries a
 * failed accept4 at once when the process is out of descriptors (EMFILE): the listening socket stays
 * readable, so the event loop spins at 100 % of a core and JavaScript is never told. So the proxy
 * watches for the limit itself (a /dev/null probe after each accept and every PROBE_INTERVAL_MS) and,
 * when it is reached, stops listening (closes the listening socket: new clients are refused by the
 * kernel instead of queueing), then listens again on the same address once RESUME_HEADROOM_FDS
 * descriptors are free, checking with exponential backoff. One warning per episode (at most one per
 * WARN_PERIOD_MS), one info line when accepting again.
 */
import * as net from "node:net";
import type { Logger } from "../log/logger.ts";
import { hasFreeFds } from "./fd-limit.ts";

const PROBE_INTERVAL_MS = 500; // ms between probes while nothing is accepted
const BACKOFF_INITIAL_MS = 50; // ms before the first check after a pause
const BACKOFF_MAX_MS = 5_000; // ms; the longest wait between checks
const RESUME_HEADROOM_FDS = 16; // descriptors that must be free before listening again
const WARN_PERIOD_MS = 60_000; // ms; later episodes within it log at debug

export class AcceptLoop {
  readonly #host: string;
  #port: number;
  #boundHost: string;
  readonly #onConnection: (s: net.Socket) => void;
  readonly #log: Logger;
  #server: net.Server | null = null;
  #closed = false;
  #paused = false;
  #delay = BACKOFF_INITIAL_MS;
  #retry: ReturnType<typeof setTimeout> | null = null;
  #probe: ReturnType<typeof setInterval> | null = null;
  #pausedAt = 0;
  #checks = 0;
  #lastWarn = Number.NEGATIVE_INFINITY;
  /** Times accepting was paused for lack of descriptors (for tests and the soak run). */
  pauses = 0;

  constructor(host: string, port: number, onConnection: (s: net.Socket) => void, log: Logger) {
    this.#host = host;
    this.#port = port;
    this.#boundHost = host;
    this.#onConnection = onConnection;
    this.#log = log;
  }

  async listen(): Promise<{ host: string; port: number }> {
    await this.#listenOnce();
    this.#probe = setInterval(() => this.check(), PROBE_INTERVAL_MS);
    this.#probe.unref();
    return this.address();
  }

  address(): { host: string; port: number } {
    return { host: this.#boundHost, port: this.#port };
  }

  get paused(): boolean {
    return this.#paused;
  }

  /** Pauses accepting when no descriptor is left; called after each accept and by the probe timer. */
  check(): void {
    if (this.#closed || this.#paused || hasFreeFds(1)) return;
    this.#paused = true;
    this.pauses++;
    this.#pausedAt = performance.now();
    this.#checks = 0;
    this.#server?.close();
    this.#server = null;
    const now = Date.now();
    const level = now - this.#lastWarn >= WARN_PERIOD_MS ? "warn" : "debug";
    if (level === "warn") this.#lastWarn = now;
    this.#log.log(level, "open-file limit reached: not accepting new connections for now", {
      listen: `${this.#host}:${this.#port}`,
      retryMs: this.#delay,
    });
    this.#schedule();
  }

  /** Stops listening for good. */
  close(): void {
    this.#closed = true;
    if (this.#retry) clearTimeout(this.#retry);
    if (this.#probe) clearInterval(this.#probe);
    this.#server?.close();
    this.#server = null;
  }

  #schedule(): void {
    this.#retry = setTimeout(() => void this.#resume(), this.#delay);
    this.#delay = Math.min(this.#delay * 2, BACKOFF_MAX_MS);
  }

  async #resume(): Promise<void> {
    this.#retry = null;
    if (this.#closed) return;
    this.#checks++;
    if (!hasFreeFds(RESUME_HEADROOM_FDS)) return this.#schedule();
    try {
      await this.#listenOnce();
    } catch (err) {
      this.#log.error("cannot listen again", {
        listen: `${this.#host}:${this.#port}`,
        reason: err instanceof Error ? err.message : String(err),
      });
      return this.#schedule();
    }
    if (this.#closed) {
      this.#server?.close();
      this.#server = null;
      return;
    }
    this.#paused = false;
    this.#delay = BACKOFF_INITIAL_MS;
    this.#log.info("accepting new connections again", {
      listen: `${this.#host}:${this.#port}`,
      pausedMs: Math.round(performance.now() - this.#pausedAt),
      checks: this.#checks,
    });
  }

  #listenOnce(): Promise<void> {
    const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: false }, this.#onConnection);
    return new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.#port, this.#host, () => {
        server.off("error", reject);
        server.on("error", (err) => this.#log.error("listener error", { reason: err.message }));
        const a = server.address() as net.AddressInfo;
        this.#port = a.port;
        this.#boundHost = a.address;
        this.#server = server;
        resolve();
      });
    });
  }
}
