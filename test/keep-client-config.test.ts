/**
 * `proxy.http.keep_client_headers` read from TOML (parseConfig, the loader `polytls run` uses) and
 * wired as `polytls run` wires it (startProxy): `["*"]` keeps every browser-identity header the
 * client sent, as `X-PolyTLS-Keep-Headers: *` does per request; `["user-agent"]` keeps that one
 * only. Through MITM (curl --http2 to a recording h2 origin, curl --http1.1 to an HTTP/1.1-only
 * one) and plain-HTTP forwarding (a Node origin). Before the fix, `["*"]` was accepted and kept
 * nothing.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type RunningProxy, rootCaOf, startProxy } from "../src/cli/serve.ts";
import { parseConfig } from "../src/config/load.ts";
import { keepSet } from "../src/http/headers/names.ts";
import { createLogger } from "../src/log/logger.ts";
import { type FidelityOrigin, type OriginRequest, startFidelityOrigin } from "./helpers/fidelity-origin.ts";
import { type ForwardEnv, headerValue, startForwardEnv } from "./helpers/forward-env.ts";
import { curlThroughProxy } from "./helpers/proxy-env.ts";
import { removeTempTree } from "./helpers/temp-tree.ts";
import { makeTestPki, type TestPki } from "./helpers/tls-env.ts";

const CLIENT: Record<string, string> = {
  "user-agent": "keep-test/1.0",
  accept: "text/x-keep",
  "accept-language": "x-keep",
};
/** The built-in default profile's navigation values (Chrome), which replace the client's. */
const PROFILE_ACCEPT_PREFIX = "text/html,application/xhtml+xml";
const PROFILE_ACCEPT_LANGUAGE = "en-US,en;q=0.9";

let pki: TestPki;
let tmp: string;
let h2Origin: FidelityOrigin;
let h1Origin: FidelityOrigin;
let forward: ForwardEnv;
const proxies = new Map<string, RunningProxy>();

/** A proxy from TOML text with `keep_client_headers = <list>` (plus the test's paths). */
async function proxyWith(list: string): Promise<RunningProxy> {
  const dir = mkdtempSync(join(tmp, "p-"));
  const config = parseConfig(`[proxy.http]\nkeep_client_headers = ${list}\n`, {
    file: join(dir, "polytls.toml"),
    cwd: dir,
  });
  config.proxy.listen.address = "127.0.0.1:0";
  config.proxy.certificate.caKeyPath = join(dir, "ca", "private.key");
  config.proxy.certificate.caCertPath = join(dir, "ca", "certificate.pem");
  config.proxy.upstream.caFile = pki.caCertPath;
  const logger = createLogger({ level: "info", format: "json", sink: () => {} });
  return startProxy(config, logger);
}

beforeAll(async () => {
  pki = await makeTestPki();
  tmp = mkdtempSync(join(tmpdir(), "polytls-keep-"));
  const leaf = await pki.leaf("localhost");
  h2Origin = await startFidelityOrigin({
    keyPem: leaf.keyPem,
    certPem: leaf.chainPem,
    alpn: ["h2", "http/1.1"],
  });
  h1Origin = await startFidelityOrigin({ keyPem: leaf.keyPem, certPem: leaf.chainPem, alpn: ["http/1.1"] });
  forward = await startForwardEnv();
  for (const list of ['["*"]', '["user-agent"]']) proxies.set(list, await proxyWith(list));
});

afterAll(async () => {
  for (const p of proxies.values()) await p.stop();
  await h2Origin?.close();
  await h1Origin?.close();
  await forward?.close();
  removeTempTree(tmp);
  pki?.remove();
});

const headerArgs = () => Object.entries(CLIENT).flatMap(([n, v]) => ["-H", `${n}: ${v}`]);

function fields(r: OriginRequest): [string, string][] {
  return (r.protocol === "h2" ? r.req.fields : r.req.headers).map(([n, v]) => [n.toLowerCase(), v]);
}

async function throughMitm(list: string, origin: FidelityOrigin, flag: string, path: string) {
  const proxy = proxies.get(list) as RunningProxy;
  const caPath = join(tmp, `proxy-ca-${proxy.address.port}.pem`);
  await Bun.write(caPath, rootCaOf(proxy).certPem);
  const r = await curlThroughProxy(proxy.address.port, caPath, [
    flag,
    ...headerArgs(),
    `https://localhost:${origin.port}${path}`,
  ]);
  expect(r.err).toBe("");
  expect(r.code).toBe(0);
  const seen = origin.byPath(path);
  expect(seen).toHaveLength(1);
  return new Map(fields(seen[0] as OriginRequest));
}

describe('keep_client_headers = ["*"] from the config file keeps every identity header', () => {
  for (const [flag, which] of [
    ["--http2", "h2"],
    ["--http1.1", "h1"],
  ] as const) {
    test(`MITM, curl ${flag} to the ${which === "h2" ? "h2" : "HTTP/1.1-only"} origin`, async () => {
      const origin = which === "h2" ? h2Origin : h1Origin;
      const got = await throughMitm('["*"]', origin, flag, `/keep-all-${which}`);
      for (const [n, v] of Object.entries(CLIENT)) expect(got.get(n)).toBe(v);
      // Identity headers the client did not send are still the profile's.
      expect(got.get("sec-ch-ua-mobile")).toBe("?0");
    });
  }

  test("plain-HTTP forwarding to a Node origin", async () => {
    const proxy = proxies.get('["*"]') as RunningProxy;
    const r = await curlThroughProxy(proxy.address.port, pki.caCertPath, [
      ...headerArgs(),
      `http://127.0.0.1:${forward.node.port}/keep-all-forward`,
    ]);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    const rec = (await forward.node.records()).find((x) => x.path === "/keep-all-forward");
    expect(rec).toBeDefined();
    for (const [n, v] of Object.entries(CLIENT)) expect(headerValue(rec?.rawHeaders ?? [], n)).toBe(v);
    // Not sent by curl: the profile's (a loopback host is potentially trustworthy: sec-* stay),
    // under the http:// rules (no br / zstd on any http:// host).
    expect(headerValue(rec?.rawHeaders ?? [], "sec-ch-ua-mobile")).toBe("?0");
    expect(headerValue(rec?.rawHeaders ?? [], "accept-encoding")).toBe("gzip, deflate");
  });
});

test('keep_client_headers = ["user-agent"] keeps only the User-Agent', async () => {
  const got = await throughMitm('["user-agent"]', h2Origin, "--http2", "/keep-ua");
  expect(got.get("user-agent")).toBe(CLIENT["user-agent"]);
  expect(got.get("accept")?.startsWith(PROFILE_ACCEPT_PREFIX)).toBe(true);
  expect(got.get("accept-language")).toBe(PROFILE_ACCEPT_LANGUAGE);
});

test("a keep list with * anywhere keeps all; without it, the names", () => {
  expect(keepSet(["user-agent", "*"])).toBe("all");
  expect(keepSet(["*"])).toBe("all");
  expect(keepSet(["user-agent"])).toEqual(new Set(["user-agent"]));
  expect(keepSet([])).toEqual(new Set());
});

test("a name the profile does not own is a config error naming its index (it would pass through anyway)", () => {
  const parse = (list: string) => () =>
    parseConfig(`[proxy.http]\nkeep_client_headers = ${list}\n`, { file: "/tmp/polytls.toml" });
  expect(
    parse('["user-agent", "sec-ch-ua-platform", "sec-fetch-site", "accept-encoding", "*"]'),
  ).not.toThrow();
  expect(parse('["user-agent", "cookie"]')).toThrow(
    'proxy.http.keep_client_headers[1]: "cookie" is not a browser-identity header',
  );
  expect(parse('["x-custom"]')).toThrow(
    'proxy.http.keep_client_headers[0]: "x-custom" is not a browser-identity',
  );
  expect(parse('["te"]')).toThrow('proxy.http.keep_client_headers[0]: "te" is hop-by-hop');
});
