/** Runs the whole proxy through src/cli/serve.ts with an admin listener, and scrapes it (tests only). */
import { mkdtempSync } from "node:fs";
import * as http from "node:http";
import * as net from "node:net";
import { join } from "node:path";
import { type RunningProxy, startProxy as startServe } from "../../src/cli/serve.ts";
import { loadConfig } from "../../src/config/load.ts";
import type { ConfigOverrides } from "../../src/config/schema.ts";
import { createLogger } from "../../src/log/logger.ts";
import { type ParsedFamily, parsePrometheusText } from "./prom-text.ts";
import type { TestPki } from "./tls-env.ts";

export interface Served {
  running: RunningProxy;
  adminPort: number;
  logs: string[];
}

/** The proxy on 127.0.0.1:0 with its admin listener on 127.0.0.1:0, the test CA, `proxy` merged in. */
export async function serveWithAdmin(
  pki: TestPki,
  proxy: NonNullable<ConfigOverrides["proxy"]> = {},
): Promise<Served> {
  const config = loadConfig({
    // Inside the test CA's dir, so that the test file's pki.remove() removes it too.
    cwd: mkdtempSync(join(pki.dir, "admin-")),
    overrides: {
      proxy: {
        ...proxy,
        listen: { address: "127.0.0.1:0" },
        admin: { listen: "127.0.0.1:0" },
        certificate: { caKeyPath: pki.caKeyPath, caCertPath: pki.caCertPath },
        upstream: { caFile: pki.caCertPath, ...proxy.upstream },
      },
    },
  });
  const logs: string[] = [];
  const running = await startServe(
    config,
    createLogger({ level: "debug", format: "json", sink: (l) => logs.push(l) }),
  );
  if (running.admin === null) throw new Error("no admin listener");
  return { running, adminPort: running.admin.port, logs };
}

export interface HttpAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One request to the admin listener (node:http, so no proxy variable of the environment applies). */
export function adminRequest(port: number, path: string, method = "GET"): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port, path, method, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (d: Buffer) => chunks.push(d));
      res.on("end", () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString("utf8"),
        }),
      );
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}

/** GET /metrics, checked and parsed by the strict parser. */
export async function scrape(port: number): Promise<Map<string, ParsedFamily>> {
  const r = await adminRequest(port, "/metrics");
  if (r.status !== 200) throw new Error(`/metrics answered ${r.status}`);
  return parsePrometheusText(r.body);
}

/** Scrapes until `cond` holds on the parsed metrics, within `ms` (bounded polling). */
export async function scrapeUntil(
  port: number,
  cond: (m: Map<string, ParsedFamily>) => boolean,
  what: string,
  ms = 10_000,
): Promise<Map<string, ParsedFamily>> {
  const STEP_MS = 20; // ms between scrapes
  for (let waited = 0; ; waited += STEP_MS) {
    const m = await scrape(port);
    if (cond(m)) return m;
    if (waited >= ms) throw new Error(`not within ${ms} ms: ${what}`);
    await Bun.sleep(STEP_MS);
  }
}

/** A loopback port nothing listens on (bound, then closed). */
export async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}
