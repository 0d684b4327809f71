/**
 * The listening socket (Bun's native listener: each client a NativeSocket), with a brake for the
 * open-file limit. Bun's listener (uSockets) retries a failed accept4 at once when the process is
 * out of descriptors (EMFILE): the listening socket stays readable, so the event loop spins at
 * 100 % of a core and JavaScript is never told. So the proxy watches for the limit itself (a
 * /dev/null probe after each accept and every PROBE_INTERVAL_MS) and, when it is reached, stops
 * listening (closes the listening socket: new clients are refused by the kernel instead of
 * queueing), then listens again on the same address once RESUME_HEADROOM_FDS descriptors are
 * free, checking with exponential backoff. One warning per episode (at most one per
 * WARN_PERIOD_MS), one info line when accepting again.
 */
import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import type { Logger } from "../log/logger.ts";
import { bunNet, type RawHandlers, type RawListener } from "./bun-net.ts";
import { hasFreeFds } from "./fd-limit.ts";
import { NativeSocket } from "./native-socket.ts";

const PROBE_INTERVAL_MS = 500; // ms between probes while nothing is accepted
const BACKOFF_INITIAL_MS = 50; // ms before the first check after a pause
const BACKOFF_MAX_MS = 5_000; // ms; the longest wait between checks
const RESUME_HEADROOM_FDS = 16; // descriptors that must be free before listening again
const WARN_PERIOD_MS = 60_000; // ms; later episodes within it log at debug

export class AcceptLoop {
  readonly #host: string;
  #port: number;
  #boundHost: string;
  readonly #handlers: RawHandlers<NativeSocket | undefined>;
  readonly #log: Logger;
  #server: RawListener | null = null;
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

  constructor(host: string, port: number, onConnection: (s: NativeSocket) => void, log: Logger) {
    this.#host = host;
    this.#port = port;
    this.#boundHost = host;
    this.#handlers = NativeSocket.listenHandlers(onConnection);
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
    this.#server?.stop(false);
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
    this.#server?.stop(false);
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
      this.#server?.stop(false);
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

  /**
   * Listens on the configured address (a host name is resolved first, as `node:net` does, so the
   * bound address is an IP the loop protection can compare); open connections are not touched
   * by stopping (`stop(false)`), the tunnels own them.
   */
  async #listenOnce(): Promise<void> {
    const host = isIP(this.#boundHost) !== 0 ? this.#boundHost : (await lookup(this.#host)).address;
    try {
      this.#server = bunNet().listen<NativeSocket | undefined>({
        hostname: host,
        port: this.#port,
        allowHalfOpen: true,
        socket: this.#handlers,
      });
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      const e = new Error(`listen ${typeof code === "string" ? code : "failed"}: ${host}:${this.#port}`, {
        cause: err,
      });
      Object.assign(e, { code });
      throw e;
    }
    this.#port = this.#server.port;
    this.#boundHost = host;
  }
}
