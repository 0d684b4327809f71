/**
 * The proxy's TCP listener: admits each client within the connection limits (counted from accept),
 * reads its CONNECT head (header timeout, the parser's size limits), authenticates it behind the
 * brute-force brake (auth-gate.ts), and hands good requests to the tunnel. Rejections get their status and at
 * most one log line per connection. stop() drains open tunnels within a bound, then aborts them.
 * A request for an `http://` URL (absolute-form) is plain HTTP proxying instead: the connection
 * goes to forward-http.ts, which authenticates each request behind the same brake.
 * An optional second listen address speaks SOCKS5 (socks-inbound.ts) and feeds the same limits,
 * brake, tunnels and logs; its requests differ only in how the answer is written.
 */
import { ProxyError } from "../errors/proxy-error.ts";
import { errorResponse } from "../errors/wire.ts";
import type { Logger } from "../log/logger.ts";
import { AcceptLoop } from "./accept-loop.ts";
import { profileFromCredentials, withoutUsers } from "./access.ts";
import { AuthGate } from "./auth-gate.ts";
import type { ByteSocket } from "./byte-socket.ts";
import type { ConnectLimits, ConnectRequest, ForwardStart } from "./connect-parser.ts";
import { DrainSet } from "./drain-set.ts";
import { resetSocket } from "./endpoint.ts";
import { runForwardHttp } from "./forward-http.ts";
import { ConnectionLimiter, clientKey } from "./limits.ts";
import { listenError } from "./listen-error.ts";
import { readConnect } from "./read-connect.ts";
import { RejectLog } from "./reject-log.ts";
import { readSocks } from "./socks-inbound.ts";
import type { SelfAddress } from "./target-guard.ts";
import { runTunnel, type TunnelDeps } from "./tunnel.ts";
import { HTTP_ANSWER, SOCKS5_ANSWER } from "./tunnel-answer.ts";

type Inbound = "http" | "socks5";

export { readConnect } from "./read-connect.ts";

export interface ListenerOptions {
  host: string;
  port: number;
  limits: ConnectLimits;
  /** A client must finish its CONNECT head within this time. */
  headerTimeoutMs: number;
  /** Most tunnels open at once (CAPACITY, 503) and per client IP (CLIENT_LIMIT, 429). */
  maxTunnels: number;
  maxTunnelsPerClient: number;
  /** Failed proxy logins per client IP within the window before AUTH_RATE_LIMITED (429). */
  authFailures: { max: number; windowMs: number };
  /** SOCKS5 listen address (proxy.socks.listen); absent or null = no SOCKS5 listener. */
  socks?: { host: string; port: number } | null;
}

/** What stop() did with the connections it found. */
export interface StopReport {
  /** Tunnels that finished by themselves within the drain time. */
  drained: number;
  /** Tunnels aborted (SHUTDOWN) when the drain time ran out. */
  reset: number;
  /** Clients still sending their CONNECT head, answered 503 at once. */
  refused: number;
  /** Connections whose task was still running after the abort grace: their sockets were destroyed. */
  destroyed: number;
}

const REJECT_LINGER_MS = 1000; // ms a refused client gets to read its status before it is dropped
const ABORT_GRACE_MS = 1000; // ms aborted tunnels get to end and write their `tunnel closed` line
const FINAL_GRACE_MS = 200; // ms for tasks of destroyed sockets to finish logging
const MAX_REASON_CHARS = 160; // a rejection's logged reason is cut here (it may quote client input)

/** A module-level no-op: an inline one would keep the accepting call's scope alive per socket. */
function ignoreError(): void {}

/** What the listener remembers on an accepted socket until it closes. */
interface Admission {
  server: ProxyServer;
  /** The limiter's key for the client (its IP). */
  client: string;
  /** Whether the client holds a slot of the limiter (it was admitted). */
  counted: boolean;
}
const ADMISSION = Symbol("admission");
type AdmittedSocket = ByteSocket & { [ADMISSION]?: Admission };

/** Resolves when every promise has settled or after `ms`, whichever is first. */
async function settledWithin(tasks: Iterable<Promise<unknown>>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expiry = new Promise<void>((r) => {
    timer = setTimeout(r, ms);
  });
  await Promise.race([Promise.allSettled([...tasks]), expiry]);
  clearTimeout(timer);
}

export class ProxyServer {
  readonly #opts: ListenerOptions;
  readonly #deps: TunnelDeps;
  readonly #log: Logger;
  readonly #accept: AcceptLoop;
  readonly #socksAccept: AcceptLoop | null;
  readonly #limiter: ConnectionLimiter;
  readonly #auth: AuthGate;
  readonly #rejects = new RejectLog();
  /** Every accepted socket until it closes, refused ones included. */
  readonly #open = new Set<ByteSocket>();
  /** Connections still sending their CONNECT head. */
  readonly #heads = new Set<AbortController>();
  /** Running tunnels and the controller that aborts each. */
  readonly #tunnels = new Map<Promise<void>, AbortController>();
  readonly #tasks = new Set<Promise<void>>();
  #stop: StopReport | null = null;

  constructor(opts: ListenerOptions, deps: TunnelDeps) {
    this.#opts = opts;
    this.#log = deps.logger;
    // The listener authenticates (behind the brake); the tunnel checks only the allowed ports.
    this.#deps = { ...deps, access: withoutUsers(deps.access), drains: new DrainSet() };
    this.#limiter = new ConnectionLimiter(opts.maxTunnels, opts.maxTunnelsPerClient);
    this.#auth = new AuthGate(deps.access, opts.authFailures, this.#log, deps.observer);
    this.#accept = new AcceptLoop(opts.host, opts.port, (s) => this.#onClient(s, deps, "http"), this.#log);
    this.#socksAccept = opts.socks
      ? new AcceptLoop(opts.socks.host, opts.socks.port, (s) => this.#onClient(s, deps, "socks5"), this.#log)
      : null;
  }

  async listen(): Promise<{ host: string; port: number }> {
    const self = await this.#accept.listen().catch((err: unknown) => {
      throw listenError("proxy listener", this.#opts.host, this.#opts.port, err);
    });
    this.#deps.self = self; // loop protection: tunnels refuse this address and port (508)
    if (this.#socksAccept && this.#opts.socks) {
      const { host, port } = this.#opts.socks;
      try {
        this.alsoSelf(await this.#socksAccept.listen());
      } catch (err) {
        this.#accept.close();
        throw listenError("SOCKS5 listener", host, port, err);
      }
    }
    return self;
  }

  /**
   * Another address this process listens on (the SOCKS5 listener, the admin listener): tunnels to
   * it are refused as tunnels to the proxy's own listener are (LOOP_DETECTED, 508).
   */
  alsoSelf(address: SelfAddress): void {
    this.#deps.otherSelves ??= [];
    this.#deps.otherSelves.push(address);
  }

  /** The SOCKS5 listener's address, or null when there is none. */
  socksAddress(): { host: string; port: number } | null {
    return this.#socksAccept?.address() ?? null;
  }

  address(): { host: string; port: number } {
    return this.#accept.address();
  }

  /** Client connections open now (admitted ones: header phase and tunnels). */
  get openConnections(): number {
    return this.#limiter.open;
  }

  /** Tunnels running now (CONNECT head accepted, not yet closed). */
  get activeTunnels(): number {
    return this.#tunnels.size;
  }

  /** True from the moment stop() is called: the proxy takes no new work. */
  get draining(): boolean {
    return this.#stop !== null;
  }

  /**
   * Resets every client connection still open (TCP RST), for an exit that will not wait for the
   * drain (a second signal): a client must not take the kernel's FIN for a complete answer.
   * Resolves once the tunnels have logged (at most FINAL_GRACE_MS).
   */
  async resetAll(): Promise<void> {
    // Aborted first, so that each tunnel records SHUTDOWN (warn), not the reset as a client's end.
    for (const ac of this.#heads) ac.abort();
    for (const ac of this.#tunnels.values()) ac.abort();
    for (const s of [...this.#open]) resetSocket(s);
    await settledWithin(this.#tunnels.keys(), FINAL_GRACE_MS); // their `tunnel closed` lines
  }

  /** Times accepting was paused because the open-file limit was reached. */
  get acceptPauses(): number {
    return this.#accept.pauses;
  }

  static readonly #onClientClose = function (this: AdmittedSocket): void {
    const a = this[ADMISSION];
    if (a === undefined) return;
    a.server.#open.delete(this);
    if (a.counted) a.server.#limiter.release(a.client);
  };

  #onClient(socket: ByteSocket, deps: TunnelDeps, inbound: Inbound): void {
    (inbound === "socks5" ? this.#socksAccept : this.#accept)?.check();
    this.#open.add(socket);
    socket.on("error", ignoreError); // reported through the tunnel or readConnect
    const client = clientKey(socket.remoteAddress);
    const refused = this.#stop ? "SHUTDOWN" : this.#limiter.acquire(client);
    // Held for as long as the tunnel lives: a shared listener and a small record on the socket,
    // not a closure over this call's scope.
    (socket as AdmittedSocket)[ADMISSION] = { server: this, client, counted: refused === null };
    socket.on("close", ProxyServer.#onClientClose);
    if (refused !== null) {
      this.#refuseAtAccept(socket, client, refused, inbound);
      return;
    }
    socket.setNoDelay(true);
    const task = this.#serve(socket, client, deps, inbound);
    this.#tasks.add(task);
    void task.finally(() => this.#tasks.delete(task));
  }

  async #serve(socket: ByteSocket, client: string, deps: TunnelDeps, inbound: Inbound): Promise<void> {
    const ac = new AbortController();
    let req: ConnectRequest | ForwardStart;
    this.#heads.add(ac);
    try {
      if (inbound === "socks5") {
        req = await readSocks(
          socket,
          {
            headerTimeoutMs: this.#opts.headerTimeoutMs,
            authRequired: this.#auth.required,
            authenticate: (user, password) => this.#auth.authenticateSocks(user, password, client),
            knowsProfile: (name) => deps.connectors.has(name),
          },
          ac.signal,
        );
      } else {
        req = await readConnect(socket, this.#opts, ac.signal);
      }
      if (ac.signal.aborted) throw new ProxyError("SHUTDOWN", "the proxy is shutting down");
      if (inbound === "http" && req.method === "CONNECT") {
        this.#auth.authenticate(req.proxyAuthorization, client);
        // The header wins; else the profile the user name asks for (proxy-user.ts). Passthrough
        // has no profile: the credentials choose nothing there.
        if (req.profile === null && deps.mode === "mitm")
          req = { ...req, profile: profileFromCredentials(deps.access, req.proxyAuthorization) };
      }
    } catch (err) {
      this.#reject(socket, client, ProxyError.wrap(err, "BAD_REQUEST"), inbound);
      return;
    } finally {
      this.#heads.delete(ac);
    }
    const answer = inbound === "socks5" ? SOCKS5_ANSWER : HTTP_ANSWER;
    // A plain-HTTP request (absolute-form http://) is authenticated per request by forward-http.ts.
    const tunnel = (
      req.method === "forward"
        ? runForwardHttp({
            socket,
            start: req,
            deps: this.#deps,
            access: deps.access,
            authenticate: (auth) => this.#auth.authenticate(auth, client),
            headerTimeoutMs: this.#opts.headerTimeoutMs,
            signal: ac.signal,
          })
        : runTunnel(socket, req, this.#deps, ac.signal, answer)
    ).catch(() => {});
    // Returned, not awaited: this call's scope (the request, its headers) is not kept while the
    // tunnel runs.
    return this.#track(tunnel, ac);
  }

  /** Holds a running tunnel until it ends, then counts it for stop()'s report. */
  #track(tunnel: Promise<void>, ac: AbortController): Promise<void> {
    this.#tunnels.set(tunnel, ac);
    return tunnel.then(() => {
      this.#tunnels.delete(tunnel);
      if (this.#stop) {
        if (ac.signal.aborted) this.#stop.reset++;
        else this.#stop.drained++;
      }
    });
  }

  #refuseAtAccept(
    socket: ByteSocket,
    client: string,
    code: "CAPACITY" | "CLIENT_LIMIT" | "SHUTDOWN",
    inbound: Inbound,
  ): void {
    const why =
      code === "CAPACITY"
        ? `${this.#limiter.max} connections open (proxy.limits.max_tunnels)`
        : code === "CLIENT_LIMIT"
          ? `${this.#opts.maxTunnelsPerClient} connections open from ${client} (proxy.limits.max_tunnels_per_client)`
          : "the proxy is shutting down";
    this.#reject(socket, client, new ProxyError(code, why), inbound);
  }

  /** Answers `e` and logs it: one line per connection, loud only for the first of its kind per period. */
  #reject(socket: ByteSocket, client: string, e: ProxyError, inbound: Inbound): void {
    this.#deps.observer?.rejected(e.code);
    if (e.code !== "AUTH_RATE_LIMITED") {
      // Capacity is one kind for everyone; other rejections are per client and code.
      const key = e.code === "CAPACITY" ? e.code : `${client} ${e.code}`;
      const { loud, quietened } = this.#rejects.note(key, Date.now());
      const level = !loud ? "debug" : e.code === "CAPACITY" || e.code === "CLIENT_LIMIT" ? "warn" : "info";
      this.#log.log(level, "request rejected", {
        client: `${socket.remoteAddress ?? "?"}:${socket.remotePort ?? 0}`,
        code: e.code,
        reason: e.message.length > MAX_REASON_CHARS ? `${e.message.slice(0, MAX_REASON_CHARS)}…` : e.message,
        ...(quietened > 0 ? { sameBefore: quietened } : {}),
      });
    }
    if (socket.destroyed) return;
    // A SOCKS5 client already got its reply from the handshake (or none fits: before its greeting).
    if (inbound === "socks5") socket.end();
    else socket.end(errorResponse(e));
    socket.resume(); // discard what the client still sends, so closing does not reset the answer
    setTimeout(() => socket.destroy(), REJECT_LINGER_MS).unref();
  }

  /**
   * Stops accepting; clients still sending their head get 503 at once; open tunnels get `drainMs`
   * to finish, then are aborted (SHUTDOWN, through runTunnel's signal) and get ABORT_GRACE_MS to end
   * and log; sockets still open after that are destroyed.
   */
  async stop(drainMs: number): Promise<StopReport> {
    if (this.#stop) return this.#stop;
    const report: StopReport = { drained: 0, reset: 0, refused: this.#heads.size, destroyed: 0 };
    this.#stop = report;
    this.#auth.stopSweeping();
    this.#accept.close();
    this.#socksAccept?.close();
    for (const ac of this.#heads) ac.abort();
    this.#deps.drains?.drainAll(); // keep-alive clients are asked to finish
    await settledWithin(this.#tunnels.keys(), drainMs);
    for (const ac of this.#tunnels.values()) ac.abort();
    await settledWithin(this.#tunnels.keys(), ABORT_GRACE_MS);
    report.destroyed = this.#tasks.size;
    for (const s of this.#open) s.destroy();
    await settledWithin(this.#tasks, FINAL_GRACE_MS);
    this.#auth.releaseAll();
    return report;
  }
}
