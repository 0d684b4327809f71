/**
 * The listener's proxy login: checks the credentials of a CONNECT, a plain-HTTP request or a SOCKS5
 * handshake behind the brute-force brake (auth-brake.ts), sweeps the brake on a timer, and logs and
 * counts the brake engaging and releasing. With no users configured every client is let in.
 */
import { ProxyError } from "../errors/proxy-error.ts";
import type { Logger } from "../log/logger.ts";
import type { TunnelObserver } from "../log/tunnel-record.ts";
import { type AccessPolicy, checkAuth, credentialsMatch } from "./access.ts";
import { AuthBrake, type BrakeEvent } from "./auth-brake.ts";

const MIN_SWEEP_MS = 1000; // ms; the brake is swept no more often than this
const MAX_SWEEP_MS = 10_000; // ms; nor less often than this (its window, if between the two)

export class AuthGate {
  readonly #access: AccessPolicy;
  readonly #log: Logger;
  readonly #observer: TunnelObserver | undefined;
  readonly #brake: AuthBrake;
  readonly #sweep: ReturnType<typeof setInterval> | null = null;

  constructor(
    access: AccessPolicy,
    failures: { max: number; windowMs: number },
    log: Logger,
    observer: TunnelObserver | undefined,
  ) {
    this.#access = access;
    this.#log = log;
    this.#observer = observer;
    this.#brake = new AuthBrake({
      maxFailures: failures.max,
      windowMs: failures.windowMs,
      report: (e) => this.#logBrake(e),
    });
    if (access.users.size > 0) {
      const every = Math.min(Math.max(failures.windowMs, MIN_SWEEP_MS), MAX_SWEEP_MS);
      this.#sweep = setInterval(() => this.#brake.sweep(Date.now()), every);
      this.#sweep.unref();
    }
  }

  /** The proxy has users: clients must log in. */
  get required(): boolean {
    return this.#access.users.size > 0;
  }

  /** Brake first (no credential check while braked), then the credentials; failures feed the brake. */
  authenticate(proxyAuthorization: string | null, client: string): void {
    if (!this.required) return;
    const now = Date.now();
    this.#checkBrake(client, now);
    try {
      checkAuth(this.#access, proxyAuthorization);
    } catch (err) {
      // A request without credentials is a client's first try, not a guess.
      if (proxyAuthorization !== null) this.#brake.fail(client, now);
      throw err;
    }
  }

  /** SOCKS5 (RFC 1929) credentials, behind the same brake; with no users any are accepted. */
  authenticateSocks(username: string, password: string, client: string): void {
    if (!this.required) return;
    const now = Date.now();
    this.#checkBrake(client, now);
    if (!credentialsMatch(this.#access, username, password)) {
      this.#brake.fail(client, now);
      throw new ProxyError("PROXY_AUTH_REQUIRED", "SOCKS5 credentials rejected");
    }
  }

  /** Stops the sweep timer (the proxy is stopping). */
  stopSweeping(): void {
    if (this.#sweep) clearInterval(this.#sweep);
  }

  /** Releases every client still braked (and logs each release). */
  releaseAll(): void {
    this.#brake.sweep(Number.POSITIVE_INFINITY);
  }

  #checkBrake(client: string, now: number): void {
    const waitMs = this.#brake.retryAfterMs(client, now);
    if (waitMs > 0) {
      const s = Math.ceil(waitMs / 1000);
      throw new ProxyError("AUTH_RATE_LIMITED", `too many failed proxy logins; try again in ${s} s`, {
        retryAfterS: s,
      });
    }
  }

  #logBrake(e: BrakeEvent): void {
    if (e.kind === "engaged") {
      this.#observer?.authBrakeEngaged();
      this.#log.warn("proxy auth brake engaged", {
        client: e.client,
        failures: e.failures,
        windowMs: e.windowMs,
      });
    } else {
      this.#log.info("proxy auth brake released", {
        client: e.client,
        failures: e.failures,
        refused: e.refused,
        evicted: e.evicted,
      });
    }
  }
}
