/**
 * The admin listener of the whole proxy (src/cli/serve.ts): metrics scraped and parsed strictly
 * before and after real traffic through the proxy (a good MITM tunnel in the HTTP mode, a 403, a
 * 502; listener rejections and the auth brake), health and readiness, readiness 503 while draining.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type * as tls from "node:tls";
import { overridesFrom } from "../src/cli/options.ts";
import { startProxy as startServe } from "../src/cli/serve.ts";
import { loadConfig } from "../src/config/load.ts";
import { isProxyError } from "../src/errors/proxy-error.ts";
import { createLogger } from "../src/log/logger.ts";
import { adminAddress, isLoopbackHost } from "../src/metrics/admin-address.ts";
import {
  adminRequest,
  closedPort,
  type Served,
  scrape,
  scrapeUntil,
  serveWithAdmin,
} from "./helpers/admin-env.ts";
import { type H2Origin, startH2Origin } from "./helpers/origins.ts";
import type { ParsedFamily } from "./helpers/prom-text.ts";
import { sampleValue } from "./helpers/prom-text.ts";
import { connectRequest, rawConnect, tlsThroughProxy } from "./helpers/proxy-env.ts";
import { makeTestPki, type TestPki } from "./helpers/tls-env.ts";
import { openSocket, readHead, waitUntil } from "./helpers/wait.ts";

let pki: TestPki;
let origin: H2Origin;

beforeAll(async () => {
  pki = await makeTestPki();
  origin = await startH2Origin(await pki.leaf("localhost"));
});
afterAll(() => pki?.remove());
afterAll(() => origin.close());

type Metrics = Map<string, ParsedFamily>;

const total = (m: Metrics, family: string) =>
  (m.get(family)?.samples ?? []).reduce((sum, s) => sum + s.value, 0);

const hist = (m: Metrics, family: string, part: "count" | "sum") =>
  sampleValue(m, family, {}, `${family}_${part}`);

/** CONNECT + TLS (verified against the proxy CA) + one HTTP/1.1 GET with Connection: close. */
async function goodExchange(proxyPort: number, path: string): Promise<string> {
  const t: tls.TLSSocket = await tlsThroughProxy(proxyPort, `localhost:${origin.port}`, {
    ca: pki.ca.certPem,
    servername: "localhost",
  });
  return await new Promise((resolve, reject) => {
    let text = "";
    t.on("data", (d: Buffer) => {
      text += d.toString("latin1");
    });
    t.once("error", reject);
    t.once("close", () => resolve(text));
    t.write(`GET ${path} HTTP/1.1\r\nHost: localhost:${origin.port}\r\nConnection: close\r\n\r\n`);
  });
}

async function statusOf(proxyPort: number, target: string): Promise<number> {
  const r = await rawConnect(proxyPort, connectRequest(target));
  r.socket.destroy();
  return r.status;
}

describe("metrics through the running proxy", () => {
  let served: Served;
  let deadPort = 0;

  beforeAll(async () => {
    deadPort = await closedPort();
    served = await serveWithAdmin(pki, { access: { allowedPorts: [origin.port, deadPort] } });
  });
  afterAll(() => served.running.stop());

  test("before traffic: valid exposition, nothing counted, every family documented", async () => {
    const r = await adminRequest(served.adminPort, "/metrics");
    expect(r.status).toBe(200);
    expect(r.headers["content-type"]).toBe("text/plain; version=0.0.4; charset=utf-8");
    const m = await scrape(served.adminPort);
    expect(total(m, "polytls_tunnels_total")).toBe(0);
    expect(sampleValue(m, "polytls_tunnels_active")).toBe(0);
    expect(sampleValue(m, "polytls_draining")).toBe(0);
    expect(hist(m, "polytls_upstream_connect_duration_seconds", "count")).toBe(0);
    for (const f of m.values()) {
      expect(f.help ?? "").not.toBe("");
      expect(["counter", "gauge", "histogram"]).toContain(f.type);
      if (f.type === "counter") expect(f.name).toEndWith("_total");
    }
  });

  test("one good MITM tunnel, one 403, one 502 move the counters and histograms as expected", async () => {
    const answer = await goodExchange(served.running.address.port, "/one");
    expect(answer).toStartWith("HTTP/1.1 200");
    expect(await statusOf(served.running.address.port, "localhost:1")).toBe(403);
    expect(await statusOf(served.running.address.port, `localhost:${deadPort}`)).toBe(502);

    const m = await scrapeUntil(
      served.adminPort,
      (x) => total(x, "polytls_tunnels_total") === 3,
      "three tunnels closed",
    );
    const tunnels = m.get("polytls_tunnels_total")?.samples ?? [];
    const ok = tunnels.filter((s) => s.labels.outcome === "ok");
    expect(ok.length).toBe(1);
    expect(ok[0]?.value).toBe(1);
    expect(ok[0]?.labels).toMatchObject({ mode: "mitm", code: "none" });
    expect(ok[0]?.labels.profile).toStartWith("chrome");
    expect(
      sampleValue(m, "polytls_tunnels_total", { outcome: "error", code: "FORBIDDEN", profile: "none" }),
    ).toBe(1);
    expect(sampleValue(m, "polytls_tunnels_total", { outcome: "error", code: "UPSTREAM_UNREACHABLE" })).toBe(
      1,
    );
    // Histograms count only the steps that completed: one connect, one handshake each side.
    for (const h of [
      "polytls_upstream_connect_duration_seconds",
      "polytls_client_handshake_duration_seconds",
      "polytls_upstream_handshake_duration_seconds",
    ]) {
      expect(hist(m, h, "count")).toBe(1);
      expect(hist(m, h, "sum")).toBeGreaterThan(0);
    }
    expect(sampleValue(m, "polytls_tunnel_bytes_total", { direction: "up" })).toBeGreaterThan(0);
    expect(sampleValue(m, "polytls_tunnel_bytes_total", { direction: "down" })).toBeGreaterThan(
      answer.length - 1,
    );
    expect(sampleValue(m, "polytls_upstream_alpn_total", { alpn: "h2" })).toBe(1);
    expect(sampleValue(m, "polytls_http_tunnels_total", { protocol: "h1" })).toBe(1);
    expect(sampleValue(m, "polytls_http_upstream_protocol_total", { protocol: "h2" })).toBe(1);
    expect(sampleValue(m, "polytls_http_requests_total", { status_class: "2xx" })).toBe(1);
    expect(sampleValue(m, "polytls_leaf_cache_lookups_total", { result: "miss" })).toBe(1);
    expect(sampleValue(m, "polytls_leaf_cache_lookups_total", { result: "hit" })).toBe(0);
    expect(sampleValue(m, "polytls_tunnels_active")).toBe(0);
    // No host, client address or path ever becomes part of the exposition.
    const text = (await adminRequest(served.adminPort, "/metrics")).body;
    expect(text).not.toContain("localhost");
    expect(text).not.toContain("127.0.0.1");
    expect(text).not.toContain("/one");
  });

  test("a second tunnel to the same host: a leaf cache hit and a resumed upstream session", async () => {
    expect(await goodExchange(served.running.address.port, "/two")).toStartWith("HTTP/1.1 200");
    const m = await scrapeUntil(
      served.adminPort,
      (x) => total(x, "polytls_tunnels_total") === 4,
      "four tunnels closed",
    );
    expect(sampleValue(m, "polytls_leaf_cache_lookups_total", { result: "hit" })).toBe(1);
    expect(sampleValue(m, "polytls_upstream_session_resumptions_total")).toBe(1);
    expect(hist(m, "polytls_upstream_handshake_duration_seconds", "count")).toBe(2);
    const closed = served.logs
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.msg === "tunnel closed");
    expect(closed.filter((l) => typeof l.upstreamHandshakeMs === "number").length).toBe(2);
  });

  test("an open tunnel shows in the active gauge", async () => {
    const t = await tlsThroughProxy(served.running.address.port, `localhost:${origin.port}`, {
      ca: pki.ca.certPem,
      servername: "localhost",
    });
    const m = await scrapeUntil(
      served.adminPort,
      (x) => sampleValue(x, "polytls_tunnels_active") === 1,
      "one active",
    );
    expect(sampleValue(m, "polytls_connections_open")).toBe(1);
    t.destroy();
    await scrapeUntil(served.adminPort, (x) => sampleValue(x, "polytls_tunnels_active") === 0, "none active");
  });
});

describe("listener rejections and the auth brake", () => {
  test("407 twice, then 429 from the brake, and a capacity refusal, each counted by code", async () => {
    const served = await serveWithAdmin(pki, {
      auth: { users: ["user:pass"], maxFailures: 1 },
      limits: { maxTunnels: 1 },
    });
    try {
      const port = served.running.address.port;
      const target = `localhost:${origin.port}`;
      const idle = () => waitUntil(() => served.running.server.openConnections === 0, "connections closed");
      expect((await rawConnect(port, connectRequest(target))).status).toBe(407);
      await idle();
      const wrong = { "Proxy-Authorization": `Basic ${Buffer.from("user:nope").toString("base64")}` };
      const first = await rawConnect(port, connectRequest(target, wrong));
      first.socket.destroy();
      expect(first.status).toBe(407);
      await idle();
      const braked = await rawConnect(port, connectRequest(target, wrong));
      braked.socket.destroy();
      expect(braked.status).toBe(429);
      await idle();
      const holder = await openSocket(port);
      await waitUntil(() => served.running.server.openConnections === 1, "slot taken");
      const refused = await openSocket(port);
      expect(await readHead(refused)).toStartWith("HTTP/1.1 503");
      refused.destroy();
      holder.destroy();

      const m = await scrape(served.adminPort);
      expect(sampleValue(m, "polytls_rejected_total", { code: "PROXY_AUTH_REQUIRED" })).toBe(2);
      expect(sampleValue(m, "polytls_rejected_total", { code: "AUTH_RATE_LIMITED" })).toBe(1);
      expect(sampleValue(m, "polytls_rejected_total", { code: "CAPACITY" })).toBe(1);
      expect(sampleValue(m, "polytls_auth_brake_engagements_total")).toBe(1);
      expect(m.get("polytls_tunnels_total")?.samples.length ?? 0).toBe(0);
    } finally {
      await served.running.stop();
    }
  });
});

describe("health and readiness", () => {
  test("no tunnel reaches the admin listener: CONNECT to it (any spelling) is the proxy itself, 508", async () => {
    const served = await serveWithAdmin(pki, { socks: { listen: "127.0.0.1:0" } });
    try {
      const port = served.running.address.port;
      const p = served.adminPort;
      for (const target of [`127.0.0.1:${p}`, `localhost:${p}`, `[::ffff:127.0.0.1]:${p}`])
        expect(await statusOf(port, target)).toBe(508);
      // The SOCKS5 listener is still refused too, next to it.
      expect(await statusOf(port, `127.0.0.1:${served.running.server.socksAddress()?.port}`)).toBe(508);
      expect((await adminRequest(p, "/healthz")).status).toBe(200);
    } finally {
      await served.running.stop();
    }
  });

  test("/healthz 200, /readyz 200; other paths 404, other methods 405, HEAD without a body", async () => {
    const served = await serveWithAdmin(pki);
    try {
      const p = served.adminPort;
      expect((await adminRequest(p, "/healthz")).status).toBe(200);
      expect((await adminRequest(p, "/readyz")).status).toBe(200);
      expect((await adminRequest(p, "/readyz?verbose=1")).status).toBe(200);
      expect((await adminRequest(p, "/")).status).toBe(404);
      expect((await adminRequest(p, "/metricsx")).status).toBe(404);
      const post = await adminRequest(p, "/metrics", "POST");
      expect(post.status).toBe(405);
      expect(post.headers.allow).toBe("GET, HEAD");
      const head = await adminRequest(p, "/metrics", "HEAD");
      expect(head.status).toBe(200);
      expect(head.body).toBe("");
    } finally {
      await served.running.stop();
    }
  });

  test("draining: /readyz 503 (and polytls_draining 1) while a tunnel drains, /healthz still 200; then closed", async () => {
    const served = await serveWithAdmin(pki, { limits: { drainTimeoutMs: 30_000 } });
    const p = served.adminPort;
    const t = await tlsThroughProxy(served.running.address.port, `localhost:${origin.port}`, {
      ca: pki.ca.certPem,
      servername: "localhost",
    });
    t.on("error", () => {});
    await waitUntil(() => served.running.server.activeTunnels === 1, "tunnel open");
    const stopping = served.running.stop();
    const ready = await adminRequest(p, "/readyz");
    expect(ready.status).toBe(503);
    expect((await adminRequest(p, "/healthz")).status).toBe(200);
    const m = await scrape(p);
    expect(sampleValue(m, "polytls_draining")).toBe(1);
    expect(sampleValue(m, "polytls_tunnels_active")).toBe(1);
    t.end(); // the tunnel finishes by itself: the drain ends
    const report = await stopping;
    expect(report.drained).toBe(1);
    await expect(adminRequest(p, "/healthz")).rejects.toThrow();
  });
});

describe("admin address", () => {
  test("off by default; loopback only unless allow_remote; the flag maps to proxy.admin.listen", () => {
    const config = loadConfig({ cwd: pki.dir });
    expect(config.proxy.admin).toEqual({ listen: "", allowRemote: false });
    expect(adminAddress(config.proxy.admin)).toBeNull();
    for (const h of ["127.0.0.1", "127.9.9.9", "::1", "::ffff:127.0.0.1", "localhost", "LOCALHOST"]) {
      expect(isLoopbackHost(h)).toBe(true);
    }
    for (const h of ["0.0.0.0", "::", "10.0.0.1", "192.168.1.1", "example.com", "128.0.0.1"]) {
      expect(isLoopbackHost(h)).toBe(false);
    }
    expect(adminAddress({ listen: "[::1]:9090", allowRemote: false })).toEqual({ host: "::1", port: 9090 });
    let err: unknown;
    try {
      adminAddress({ listen: "0.0.0.0:9090", allowRemote: false });
    } catch (e) {
      err = e;
    }
    expect(isProxyError(err, "CONFIG_INVALID")).toBe(true);
    expect((err as Error).message).toContain("proxy.admin.allow_remote");
    expect(adminAddress({ listen: "0.0.0.0:9090", allowRemote: true })).toEqual({
      host: "0.0.0.0",
      port: 9090,
    });
    expect(overridesFrom({ "admin-listen": "127.0.0.1:9090" }).proxy?.admin).toEqual({
      listen: "127.0.0.1:9090",
    });
    expect(() => loadConfig({ cwd: pki.dir, overrides: { proxy: { admin: { listen: "nope" } } } })).toThrow(
      /proxy\.admin\.listen/,
    );
  });

  test("the proxy refuses to start with a non-loopback admin address before listening", async () => {
    const config = loadConfig({
      cwd: pki.dir,
      overrides: {
        proxy: {
          listen: { address: "127.0.0.1:0" },
          admin: { listen: "0.0.0.0:0" },
          certificate: { caKeyPath: pki.caKeyPath, caCertPath: pki.caCertPath },
        },
      },
    });
    const logger = createLogger({ level: "error", format: "json", sink: () => {} });
    await expect(startServe(config, logger)).rejects.toThrow(/not a loopback address/);
  });
});
