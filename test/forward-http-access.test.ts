/**
 * Plain HTTP proxying: the same access rules as CONNECT (407 then success, allowed ports, loop
 * protection, deny lists), errors before the response head (upstream down, https://, origin-form,
 * smuggling forms with nothing reaching the origin), upstream truncation reaching the client as a
 * truncation, response framing (HEAD, 204, 304, 1xx), content decoding, and a configured next hop.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as net from "node:net";
import {
  type ForwardEnv,
  type ForwardProxy,
  headerValue,
  rawExchange,
  startForwardEnv,
} from "./helpers/forward-env.ts";
import { GZIP_TEXT } from "./helpers/forward-origin.mjs";
import { run } from "./helpers/hop-env.ts";
import { startConnectHop } from "./helpers/hop-servers.ts";

let env: ForwardEnv;
let open: ForwardProxy;

beforeAll(async () => {
  env = await startForwardEnv();
  open = await env.polytls();
});
afterAll(async () => {
  await env.close();
});

async function curl(args: string[]) {
  const ran = await run("curl", ["-sS", "--max-time", "20", "-D", "-", "-w", "\n%{http_code}", ...args]);
  const cut = ran.stdout.lastIndexOf("\n");
  return { status: Number(ran.stdout.slice(cut + 1)), out: ran.stdout.slice(0, cut), ran };
}

const get = (port: number, path: string, extra = "") =>
  `GET http://127.0.0.1:${port}${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n${extra}\r\n`;

const seen = async (path: string) =>
  [...(await env.bun.records()), ...(await env.node.records())].filter((r) => r.path === path).length;

describe("access rules", () => {
  test("proxy auth: 407 with a challenge, then success; Proxy-Authorization never reaches the origin", async () => {
    const p = await env.polytls((c) => {
      c.proxy.auth.users = ["alice:pw"];
    });
    const url = `http://127.0.0.1:${env.node.port}/auth-1`;
    const denied = await curl(["-x", `http://127.0.0.1:${p.port}`, url]);
    expect(denied.status).toBe(407);
    expect(denied.out).toMatch(/proxy-authenticate: Basic realm="polytls"/i);
    expect(await seen("/auth-1")).toBe(0);
    const ok = await curl(["-x", `http://127.0.0.1:${p.port}`, "-U", "alice:pw", url]);
    expect(ok.status).toBe(200);
    const rec = (await env.node.records()).find((r) => r.path === "/auth-1");
    expect(rec).toBeDefined();
    expect(headerValue(rec?.rawHeaders ?? [], "proxy-authorization")).toBeUndefined();
    // Python urllib with the credentials in the proxy URL.
    const script = [
      "import os, urllib.request",
      `os.environ['http_proxy'] = 'http://alice:pw@127.0.0.1:${p.port}'`,
      `print(urllib.request.urlopen('http://127.0.0.1:${env.bun.port}/auth-2', timeout=20).status)`,
    ].join("\n");
    expect((await run("python3", ["-c", script])).stdout.trim()).toBe("200");
  });

  test("allowed_ports: another port is 403 and nothing is dialled", async () => {
    const p = await env.polytls((c) => {
      c.proxy.access.allowedPorts = [443];
    });
    const r = await curl(["-x", `http://127.0.0.1:${p.port}`, `http://127.0.0.1:${env.node.port}/ports-1`]);
    expect(r.status).toBe(403);
    expect(r.out).toContain("allowed_ports");
    expect(await seen("/ports-1")).toBe(0);
  });

  test("a request to the proxy's own address is 508 (loop)", async () => {
    const r = await curl(["-x", `http://127.0.0.1:${open.port}`, `http://127.0.0.1:${open.port}/loop`]);
    expect(r.status).toBe(508);
  });

  test("deny_private: a loopback origin is 403", async () => {
    const p = await env.polytls((c) => {
      c.proxy.access.denyPrivate = true;
    });
    const r = await curl(["-x", `http://127.0.0.1:${p.port}`, `http://127.0.0.1:${env.bun.port}/deny-1`]);
    expect(r.status).toBe(403);
    expect(await seen("/deny-1")).toBe(0);
  });
});

describe("errors before the response head", () => {
  test("upstream down → 502, and the client connection stays usable", async () => {
    const hole = net.createServer();
    await new Promise<void>((r) => hole.listen(0, "127.0.0.1", () => r()));
    const port = (hole.address() as net.AddressInfo).port;
    await new Promise<void>((r) => hole.close(() => r()));
    const r = await rawExchange(
      open.port,
      get(port, "/") + get(env.bun.port, "/after-502", "Connection: close\r\n"),
    );
    expect(r.text).toMatch(/^HTTP\/1\.1 502 /);
    expect(r.text).toContain("UPSTREAM_UNREACHABLE");
    expect(r.text).toContain('"path":"/after-502"');
  });

  test("https:// in absolute-form → 400 naming CONNECT; origin-form → 405", async () => {
    const https = await rawExchange(open.port, "GET https://127.0.0.1/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    expect(https.text).toMatch(/^HTTP\/1\.1 400 /);
    expect(https.text).toContain("CONNECT");
    const self = await rawExchange(open.port, "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    expect(self.text).toMatch(/^HTTP\/1\.1 405 /);
    expect(self.text).toContain("absolute-form http://");
  });

  test("smuggling forms are refused with 400 and nothing reaches the origin", async () => {
    const forms = [
      "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n",
      "Transfer-Encoding: chunked, identity\r\n",
      "Content-Length: 5\r\nContent-Length: 6\r\n",
      "Transfer-Encoding : chunked\r\n",
    ];
    for (const [i, form] of forms.entries()) {
      const head = `POST http://127.0.0.1:${env.node.port}/smuggle-${i} HTTP/1.1\r\nHost: 127.0.0.1\r\n${form}\r\n`;
      const r = await rawExchange(open.port, `${head}0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n`);
      expect(r.text).toMatch(/^HTTP\/1\.1 (400|501) /);
      expect(r.text.toLowerCase()).toContain("connection: close");
      expect(await seen(`/smuggle-${i}`)).toBe(0);
    }
    expect(await seen("/smuggled")).toBe(0);
  });
});

describe("responses", () => {
  test("upstream dies inside a Content-Length body: curl sees a truncation", async () => {
    const r = await run("curl", [
      "-sS",
      "-o",
      "/dev/null",
      "-x",
      `http://127.0.0.1:${open.port}`,
      `http://127.0.0.1:${env.node.port}/die`,
    ]);
    expect([18, 56]).toContain(r.code ?? 0); // 18: partial file, 56: connection reset
  });

  test("upstream dies inside a chunked body: no final chunk, the connection is reset", async () => {
    const r = await rawExchange(open.port, get(env.bun.port, "/die-chunked"));
    expect(r.text).toMatch(/^HTTP\/1\.1 200 /);
    expect(r.text.toLowerCase()).toContain("transfer-encoding: chunked");
    expect(r.text).not.toContain("\r\n0\r\n\r\n");
    expect(r.reset).toBe(true);
  });

  test("HEAD, 204, 304 and 103 keep the connection's framing", async () => {
    const head = `HEAD http://127.0.0.1:${env.node.port}/head-1 HTTP/1.1\r\nHost: x\r\n\r\n`;
    const r = await rawExchange(
      open.port,
      head +
        get(env.node.port, "/status/204") +
        get(env.node.port, "/status/304") +
        get(env.node.port, "/hints", "Connection: close\r\n"),
    );
    const statuses = [...r.text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => m[1]);
    expect(statuses).toEqual(["200", "204", "304", "103", "200"]);
    expect(r.text.endsWith("6\r\nhinted\r\n0\r\n\r\n")).toBe(true); // the origin's chunked body, re-framed
    // The HEAD answer keeps its Content-Length and carries no body: the 204 follows it directly.
    expect(r.text).toMatch(/content-length: \d+\r\n\r\nHTTP\/1\.1 204 /);
    expect(r.reset).toBe(false);
  });

  test("a gzip body is decoded for a client that did not accept gzip, passed on for one that did", async () => {
    const url = `http://127.0.0.1:${env.bun.port}/gzip`;
    const plain = await curl(["-x", `http://127.0.0.1:${open.port}`, url]);
    expect(plain.status).toBe(200);
    expect(plain.out).not.toMatch(/content-encoding/i);
    expect(plain.out.endsWith(GZIP_TEXT)).toBe(true);
    const coded = await curl(["-x", `http://127.0.0.1:${open.port}`, "--compressed", url]);
    expect(coded.out).toMatch(/content-encoding: gzip/i);
    expect(coded.out.endsWith(GZIP_TEXT)).toBe(true);
  });
});

test("a configured next hop (http CONNECT) carries plain HTTP too", async () => {
  const hop = await startConnectHop({ user: "hopper", pass: "s3cret" });
  try {
    const p = await env.polytls((c) => {
      c.proxy.upstream.nextHop = `http://hopper:s3cret@127.0.0.1:${hop.port}`;
    });
    const r = await curl(["-x", `http://127.0.0.1:${p.port}`, `http://127.0.0.1:${env.node.port}/via-hop`]);
    expect(r.status).toBe(200);
    expect(hop.targets.map((t) => t.target)).toContain(`127.0.0.1:${env.node.port}`);
    expect(p.logs.join("\n")).not.toContain("s3cret");
  } finally {
    await hop.close();
  }
});
