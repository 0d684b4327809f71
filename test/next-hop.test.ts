/**
 * Upstream proxy chaining (issue 11 item 2): HTTP CONNECT and SOCKS5 next hops run inside the
 * test (and a python3 one), from config, flag or header; the origin still sees the profile's
 * ClientHello; hop failures are 502 / 504 naming the hop, never its password.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { overridesFrom } from "../src/cli/options.ts";
import type { RunningProxy } from "../src/cli/serve.ts";
import { parseConfig } from "../src/config/load.ts";
import { isProxyError } from "../src/errors/proxy-error.ts";
import {
  curl,
  FIREFOX,
  FIREFOX_JA4,
  type HopEnv,
  helloJa4,
  startHopEnv,
  tunnelRecords,
} from "./helpers/hop-env.ts";
import { type Hop, startConnectHop, startPythonConnectHop, startSocksHop } from "./helpers/hop-servers.ts";
import { blackholePort } from "./helpers/origins.ts";
import { connectRequest, rawConnect, readToClose } from "./helpers/proxy-env.ts";
import { waitUntil } from "./helpers/wait.ts";

const HOP_USER = "hopuser";
const HOP_PASS = "hop-Pa55:w@rd"; // ":" and "@" percent-encoded in URLs
const HOP_PASS_URL = encodeURIComponent(HOP_PASS);
const secrets = [HOP_PASS, HOP_PASS_URL, Buffer.from(`${HOP_USER}:${HOP_PASS}`).toString("base64")];

let env: HopEnv;
let connectHop: Hop;
let socksHop: Hop;
const others: Hop[] = [];

beforeAll(async () => {
  env = await startHopEnv();
  connectHop = await startConnectHop({ user: HOP_USER, pass: HOP_PASS });
  socksHop = await startSocksHop({ user: HOP_USER, pass: HOP_PASS });
});

afterAll(async () => {
  for (const h of [connectHop, socksHop, ...others]) await h?.close();
  await env?.close();
});

const hopUrl = (scheme: string, port: number, pass = HOP_PASS_URL, host = "127.0.0.1") =>
  `${scheme}://${HOP_USER}:${pass}@${host}:${port}`;

async function viaProxy(p: RunningProxy, port: number, extra: string[] = []) {
  return curl([
    "-x",
    `http://${FIREFOX}@127.0.0.1:${p.address.port}`,
    "--cacert",
    env.caPath,
    ...extra,
    `https://localhost:${port}/n`,
  ]);
}

/** CONNECT by hand; resolves with the status and the error body (for the failure cases). */
async function connectAnswer(p: RunningProxy, target: string, headers: Record<string, string> = {}) {
  const { socket, status, rest } = await rawConnect(p.address.port, connectRequest(target, headers));
  return { status, body: await readToClose(socket, rest) };
}

function expectNoSecrets(logs: string[], ...texts: string[]): void {
  for (const line of [...logs, ...texts]) for (const s of secrets) expect(line).not.toContain(s);
}

describe("the profile's ClientHello reaches the origin through the next hop", () => {
  for (const [scheme, atyp, sent] of [
    ["http", undefined, "localhost"],
    ["socks5h", 3, "localhost"],
    ["socks5", 1, "127.0.0.1"],
  ] as const) {
    test(`${scheme}:// next hop from the config, with credentials`, async () => {
      const hop = scheme === "http" ? connectHop : socksHop;
      const { proxy, logs } = await env.polytls((c) => {
        c.proxy.upstream.nextHop = hopUrl(scheme, hop.port);
      });
      const rec = await env.recorder();
      const before = hop.targets.length;
      const r = await viaProxy(proxy, rec.port);
      expect(r.ran.stderr).toBe("");
      expect(r.status).toBe(200);
      expect(r.body).toBe("2.0 /n");
      expect(hop.targets.slice(before)).toEqual([
        { target: `${sent}:${rec.port}`, ...(atyp ? { atyp } : {}) },
      ]);
      expect(await helloJa4(rec)).toBe(FIREFOX_JA4);
      await waitUntil(() => tunnelRecords(logs).length === 1, "tunnel logged");
      expectNoSecrets(logs);
    });
  }

  test("python3 CONNECT hop chosen per request with X-PolyTLS-Next-Hop", async () => {
    const py = await startPythonConnectHop(HOP_USER, HOP_PASS);
    others.push(py);
    const { proxy, logs } = await env.polytls();
    const rec = await env.recorder();
    const r = await viaProxy(proxy, rec.port, [
      "--proxy-header",
      `X-PolyTLS-Next-Hop: ${hopUrl("http", py.port)}`,
    ]);
    expect(r.status).toBe(200);
    await waitUntil(() => py.targets.length === 1, "python hop saw the CONNECT");
    expect(py.targets).toEqual([{ target: `localhost:${rec.port}` }]);
    expect(await helloJa4(rec)).toBe(FIREFOX_JA4);
    // "direct" bypasses any hop; without the header this proxy has none.
    const d = await viaProxy(proxy, rec.port, ["--proxy-header", "X-PolyTLS-Next-Hop: direct"]);
    expect(d.status).toBe(200);
    expect(py.targets).toHaveLength(1);
    expectNoSecrets(logs);
  });
});

describe("next-hop failures name the hop, never its password", () => {
  test("wrong credentials at the hop → 502 NEXT_HOP_AUTH (CONNECT and SOCKS5 hops)", async () => {
    for (const [scheme, hop] of [
      ["http", connectHop],
      ["socks5h", socksHop],
    ] as const) {
      const { proxy, logs } = await env.polytls((c) => {
        c.proxy.upstream.nextHop = hopUrl(scheme, hop.port, "wrong-pass");
      });
      const refused = hop.refused;
      const a = await connectAnswer(proxy, `localhost:${env.origin.port}`);
      expect(a.status).toBe(502);
      expect(a.body).toContain(`${scheme}://127.0.0.1:${hop.port}`);
      expect(a.body).not.toContain("wrong-pass");
      expect(hop.refused).toBe(refused + 1);
      await waitUntil(() => tunnelRecords(logs).length === 1, "tunnel logged");
      expect(tunnelRecords(logs)[0]?.errorCode).toBe("NEXT_HOP_AUTH");
      for (const line of logs) expect(line).not.toContain("wrong-pass");
    }
  });

  test("next hop down → 502 NEXT_HOP_UNREACHABLE", async () => {
    const gone = await startConnectHop();
    const port = gone.port;
    await gone.close();
    const { proxy, logs } = await env.polytls((c) => {
      c.proxy.upstream.nextHop = hopUrl("http", port);
    });
    const a = await connectAnswer(proxy, `localhost:${env.origin.port}`);
    expect(a.status).toBe(502);
    expect(a.body).toContain(`next hop http://127.0.0.1:${port}`);
    await waitUntil(() => tunnelRecords(logs).length === 1, "tunnel logged");
    expect(tunnelRecords(logs)[0]?.errorCode).toBe("NEXT_HOP_UNREACHABLE");
    expectNoSecrets(logs, a.body);
  });

  test("next hop black-holed → 504 NEXT_HOP_TIMEOUT", async () => {
    const hole = await blackholePort();
    try {
      const { proxy, logs } = await env.polytls((c) => {
        c.proxy.upstream.nextHop = hopUrl("socks5", hole.port);
        c.proxy.upstream.connectTimeoutMs = 300;
      });
      const a = await connectAnswer(proxy, `localhost:${env.origin.port}`);
      expect(a.status).toBe(504);
      expect(a.body).toContain(`next hop socks5://127.0.0.1:${hole.port}`);
      await waitUntil(() => tunnelRecords(logs).length === 1, "tunnel logged");
      expect(tunnelRecords(logs)[0]?.errorCode).toBe("NEXT_HOP_TIMEOUT");
      expectNoSecrets(logs, a.body);
    } finally {
      hole.close();
    }
  });

  test("the hop refusing the target → 502 NEXT_HOP_REFUSED", async () => {
    const { proxy } = await env.polytls((c) => {
      c.proxy.upstream.nextHop = hopUrl("socks5h", socksHop.port);
    });
    const gone = await startConnectHop();
    await gone.close();
    const a = await connectAnswer(proxy, `localhost:${gone.port}`);
    expect(a.status).toBe(502);
    expect(a.body).toContain("SOCKS5 reply 5");
  });
});

describe("guards and policy", () => {
  test("a configured hop may be on a denied address; the same hop from a header may not", async () => {
    const hop = await startSocksHop({ user: HOP_USER, pass: HOP_PASS, host: "127.0.0.2" });
    others.push(hop);
    const url = hopUrl("socks5h", hop.port, HOP_PASS_URL, "127.0.0.2");
    const { proxy } = await env.polytls((c) => {
      c.proxy.upstream.nextHop = url;
      c.proxy.access.denyCidrs = ["127.0.0.2/32"];
    });
    const rec = await env.recorder();
    expect((await viaProxy(proxy, rec.port)).status).toBe(200);
    const a = await connectAnswer(proxy, `localhost:${rec.port}`, { "X-PolyTLS-Next-Hop": url });
    expect(a.status).toBe(403);
    expect(a.body).toContain("next hop socks5h://127.0.0.2");
    expect(hop.targets).toHaveLength(1);
  });

  test("the target guard still applies to the target through a hop (the name resolved locally)", async () => {
    const { proxy } = await env.polytls((c) => {
      c.proxy.upstream.nextHop = hopUrl("http", connectHop.port);
      c.proxy.access.denyPrivate = true;
    });
    const before = connectHop.targets.length;
    for (const target of [`localhost:${env.origin.port}`, `127.0.0.1:${env.origin.port}`]) {
      expect((await connectAnswer(proxy, target)).status).toBe(403);
    }
    expect(connectHop.targets.length).toBe(before);
  });

  test("a malformed or disallowed X-PolyTLS-Next-Hop is 400 without quoting it", async () => {
    const { proxy: open } = await env.polytls();
    const bad = await connectAnswer(open, `localhost:${env.origin.port}`, {
      "X-PolyTLS-Next-Hop": `ftp://u:${HOP_PASS_URL}@127.0.0.1:1`,
    });
    expect(bad.status).toBe(400);
    expect(bad.body).toContain("X-PolyTLS-Next-Hop");
    expectNoSecrets([], bad.body);
    const { proxy: closed } = await env.polytls((c) => {
      c.proxy.upstream.allowNextHopHeader = false;
    });
    const off = await connectAnswer(closed, `localhost:${env.origin.port}`, {
      "X-PolyTLS-Next-Hop": hopUrl("http", connectHop.port),
    });
    expect(off.status).toBe(400);
    expect(off.body).toContain("allow_next_hop_header");
  });

  test("config and flag: key-path errors that never echo the password", () => {
    const problem = (text: string): string => {
      try {
        parseConfig(text, { file: "/tmp/polytls-test.toml" });
        return "accepted";
      } catch (err) {
        return isProxyError(err, "CONFIG_INVALID") ? err.message : String(err);
      }
    };
    for (const bad of [
      `ftp://u:${HOP_PASS_URL}@h:1`,
      `http://u:${HOP_PASS_URL}@h`,
      `socks5://u:${HOP_PASS_URL}@bad host:1`,
      `http://u:${HOP_PASS_URL}%zz@h:1`,
    ]) {
      const msg = problem(`[proxy.upstream]\nnext_hop = ${JSON.stringify(bad)}\n`);
      expect(msg).toContain("proxy.upstream.next_hop:");
      expectNoSecrets([], msg);
      expect(msg).not.toContain(HOP_PASS_URL);
    }
    expect(problem(`[proxy.upstream]\nnext_hop = "${hopUrl("socks5h", 1080)}"\n`)).toBe("accepted");
    expect(overridesFrom({ "next-hop": "http://h:3128" }).proxy?.upstream?.nextHop).toBe("http://h:3128");
  });
});
