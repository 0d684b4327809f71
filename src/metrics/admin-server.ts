/**
 * The admin listener: `GET /metrics` (Prometheus text format), `GET /healthz` (the process is
 * alive: always 200) and `GET /readyz` (200 while the proxy listens and is not draining, else
 * 503). HEAD is answered like GET without a body; other methods get 405, other paths 404.
 * Responses carry no client data, so there is nothing to log per request.
 */
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { listenError } from "../proxy/listen-error.ts";
import { EXPOSITION_CONTENT_TYPE } from "./exposition.ts";

/** The admin routes, in one place (the deploy examples are checked against it). */
export const ADMIN_ROUTES = { metrics: "/metrics", health: "/healthz", ready: "/readyz" } as const;

export interface AdminSources {
  /** The exposition text. */
  metrics(): string;
  /** Listening and not draining. */
  ready(): boolean;
}

interface Answer {
  status: number;
  type: string;
  body: string;
  allow?: string;
}

const TEXT = "text/plain; charset=utf-8";

/** What a request gets; pure apart from reading the sources. */
export function answer(method: string, path: string, src: AdminSources): Answer {
  const route = Object.values(ADMIN_ROUTES).find((r) => r === path);
  if (route === undefined) return { status: 404, type: TEXT, body: "not found\n" };
  if (method !== "GET" && method !== "HEAD")
    return { status: 405, type: TEXT, body: "method not allowed\n", allow: "GET, HEAD" };
  if (route === ADMIN_ROUTES.metrics)
    return { status: 200, type: EXPOSITION_CONTENT_TYPE, body: src.metrics() };
  if (route === ADMIN_ROUTES.health) return { status: 200, type: TEXT, body: "ok\n" };
  return src.ready()
    ? { status: 200, type: TEXT, body: "ready\n" }
    : { status: 503, type: TEXT, body: "not ready\n" };
}

export class AdminServer {
  readonly #server: http.Server;

  constructor(src: AdminSources) {
    this.#server = http.createServer((req, res) => {
      const path = (req.url ?? "/").split("?")[0] ?? "/";
      const method = req.method ?? "GET";
      let a: Answer;
      try {
        a = answer(method, path, src);
      } catch {
        a = { status: 500, type: TEXT, body: "internal error\n" };
      }
      const headers: Record<string, string | number> = {
        "content-type": a.type,
        "content-length": Buffer.byteLength(a.body),
        "cache-control": "no-store",
      };
      if (a.allow) headers.allow = a.allow;
      res.writeHead(a.status, headers);
      res.end(method === "HEAD" ? undefined : a.body);
    });
    this.#server.on("clientError", (_err, socket) => socket.destroy());
  }

  listen(host: string, port: number): Promise<{ host: string; port: number }> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(listenError("admin listener", host, port, err));
      this.#server.once("error", onError);
      this.#server.listen(port, host, () => {
        this.#server.off("error", onError);
        const a = this.#server.address() as AddressInfo;
        resolve({ host: a.address, port: a.port });
      });
    });
  }

  /** Stops listening and closes every connection (scrapers keep theirs alive). */
  close(): Promise<void> {
    return new Promise((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
  }
}
