/**
 * The proxy's TCP listener: reads each client's CONNECT head (with a header timeout and the
 * parser's size limits), answers parse errors with their status, and hands good requests to the
 * tunnel. Tracks open tunnels so that stop() can drain them within a bound.
 */
import * as net from "node:net";
import { ProxyError } from "../errors/proxy-error.ts";
import { errorResponse } from "../errors/wire.ts";
import type { Logger } from "../log/logger.ts";
import { type ConnectLimits, type ConnectRequest, parseConnect } from "./connect-parser.ts";
import { runTunnel, type TunnelDeps } from "./tunnel.ts";

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
}

/** Reads one CONNECT head from `socket`; resolves with the request (socket paused) or rejects. */
export function readConnect(socket: net.Socket, opts: ListenerOptions): Promise<ConnectRequest> {
  return new Promise((resolve, reject) => {
    let buf = new Uint8Array(0);
    const timer = setTimeout(() => {
      cleanup();
      reject(new ProxyError("HEADER_TIMEOUT", `CONNECT head not received within ${opts.headerTimeoutMs} ms`));
    }, opts.headerTimeoutMs);
    const cleanup = () => {
      clearTimeout(timer);
      socket.off("data", onData);
      socket.off("end", onEnd);
      socket.off("error", onEnd);
    };
    const onEnd = () => {
      cleanup();
      reject(new ProxyError("BAD_REQUEST", "client closed before completing the CONNECT head"));
    };
    const onData = (d: Buffer) => {
      const next = new Uint8Array(buf.length + d.length);
      next.set(buf);
      next.set(d, buf.length);
      buf = next;
      try {
        const r = parseConnect(buf, opts.limits);
        if (r.kind === "incomplete") return;
        socket.pause();
        cleanup();
        resolve(r.request);
      } catch (err) {
        cleanup();
        reject(err);
      }
    };
    socket.on("data", onData);
    socket.on("end", onEnd);
    socket.on("error", onEnd);
  });
}

export class ProxyServer {
  readonly #server: net.Server;
  readonly #opts: ListenerOptions;
  readonly #deps: TunnelDeps;
  readonly #log: Logger;
  readonly #open = new Set<net.Socket>();
  readonly #running = new Set<Promise<void>>();

  constructor(opts: ListenerOptions, deps: TunnelDeps) {
    this.#opts = opts;
    this.#deps = deps;
    this.#log = deps.logger;
    this.#server = net.createServer({ allowHalfOpen: true, pauseOnConnect: false }, (s) => this.#onClient(s));
  }

  listen(): Promise<{ host: string; port: number }> {
    return new Promise((resolve, reject) => {
      this.#server.once("error", reject);
      this.#server.listen(this.#opts.port, this.#opts.host, () => {
        this.#server.off("error", reject);
        resolve(this.address());
      });
    });
  }

  address(): { host: string; port: number } {
    const a = this.#server.address() as net.AddressInfo;
    return { host: a.address, port: a.port };
  }

  get openConnections(): number {
    return this.#open.size;
  }

  #onClient(socket: net.Socket): void {
    socket.setNoDelay(true);
    this.#open.add(socket);
    socket.on("close", () => this.#open.delete(socket));
    socket.on("error", () => {}); // reported through the tunnel or readConnect
    const task = this.#serve(socket);
    this.#running.add(task);
    void task.finally(() => this.#running.delete(task));
  }

  async #serve(socket: net.Socket): Promise<void> {
    let req: ConnectRequest;
    try {
      req = await readConnect(socket, this.#opts);
    } catch (err) {
      const e = ProxyError.wrap(err, "BAD_REQUEST");
      this.#log.info("request rejected", {
        client: `${socket.remoteAddress ?? "?"}:${socket.remotePort ?? 0}`,
        code: e.code,
        reason: e.message,
      });
      if (!socket.destroyed) {
        socket.end(errorResponse(e));
        // Do not wait forever for a client that never reads its error.
        setTimeout(() => socket.destroy(), 1000).unref();
      }
      return;
    }
    await runTunnel(socket, req, this.#deps);
  }

  /**
   * Stops accepting, lets open tunnels finish for up to `drainMs`, then closes what is left.
   * Resolves with the number of connections that had to be closed.
   */
  async stop(drainMs: number): Promise<number> {
    const closed = new Promise<void>((r) => this.#server.close(() => r()));
    const deadline = new Promise<void>((r) => setTimeout(r, drainMs).unref());
    await Promise.race([Promise.allSettled([...this.#running]), deadline]);
    const left = this.#open.size;
    for (const s of this.#open) s.destroy();
    await Promise.race([
      Promise.allSettled([...this.#running]),
      new Promise((r) => setTimeout(r, 200).unref()),
    ]);
    await closed;
    return left;
  }
}
