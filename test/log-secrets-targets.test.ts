/**
 * A request-target the HTTP/1.1 parser refuses is quoted in the refusal's reason, which the tunnel
 * record logs (`exchangeReason`, at warn) and debug lines repeat: only up to its query or fragment,
 * and without userinfo, since those carry tokens (`#access_token=` of an OAuth implicit flow,
 * `?session=`, `user:password@`). Before, up to 60 characters of the target were quoted whole.
 * Through the running proxy (full HTTP mode, debug level, JSON), inside a TLS tunnel and on the
 * plain-HTTP proxy; and a CONNECT target with a query.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import * as net from "node:net";
import { type ProxyHandle, startHttpModeProxy, tlsThroughProxy } from "./helpers/proxy-env.ts";
import { makeTestPki, type Origin, startTlsOrigin, type TestPki } from "./helpers/tls-env.ts";
import { waitUntil } from "./helpers/wait.ts";

const TOKEN = `T0ken${randomBytes(8).toString("hex")}`;

let pki: TestPki;
let proxy: ProxyHandle;
let origin: Origin;
let ca: string;

beforeAll(async () => {
  pki = await makeTestPki();
  ca = await Bun.file(pki.caCertPath).text();
  origin = await startTlsOrigin(await pki.leaf("localhost"));
  proxy = await startHttpModeProxy(pki);
});

afterAll(async () => {
  await proxy?.stop();
  await origin?.close();
  pki?.remove();
});

/** Refused request lines, each quoting a secret in its query, fragment or userinfo. */
const lines = (authority: string) => [
  `GET /cb#access_token=${TOKEN} HTTP/1.1`,
  `GET /s?q=caf\u00e9&session=${TOKEN} HTTP/1.1`,
  `GET ftp://${authority}/?token=${TOKEN} HTTP/1.1`,
  `GET http://user:${TOKEN}@${authority}/ HTTP/1.1`,
];

/** Writes `line` and a Host header on `s`; resolves with the answer once the proxy closes. */
function refused(s: net.Socket, line: string, host: string): Promise<string> {
  return new Promise((resolve) => {
    let text = "";
    s.on("data", (d: Buffer) => {
      text += d.toString("latin1");
    });
    s.on("error", () => {});
    s.on("close", () => resolve(text));
    s.write(Buffer.from(`${line}\r\nHost: ${host}\r\n\r\n`, "latin1"));
  });
}

test("inside a TLS tunnel: 400, and no log line holds the target's query, fragment or userinfo", async () => {
  const authority = `localhost:${origin.port}`;
  for (const line of lines(authority)) {
    const before = proxy.logs.length;
    const t = await tlsThroughProxy(proxy.port, authority, { ca, servername: "localhost" });
    const answer = await refused(t, line, authority);
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    await waitUntil(() => proxy.logs.slice(before).some((l) => l.includes('"tunnel closed"')), "the record");
    const logged = proxy.logs.slice(before);
    expect(logged.some((l) => l.includes('"exchangeErrors":"HTTP_BAD_REQUEST:1"'))).toBe(true);
    for (const l of logged) expect(l.includes(TOKEN), l).toBe(false);
    expect(answer.includes(TOKEN)).toBe(false);
  }
});

test("on the plain-HTTP proxy: the same", async () => {
  const authority = `127.0.0.1:${origin.port}`;
  for (const line of lines(authority).map((l) => l.replace("GET /", `GET http://${authority}/`))) {
    const before = proxy.logs.length;
    const s = net.connect(proxy.port, "127.0.0.1");
    await new Promise((r) => s.once("connect", r));
    const answer = await refused(s, line, authority);
    expect(answer).toMatch(/^HTTP\/1\.1 40[05] /); // ftp:// is no plain-HTTP request at all: 405
    await waitUntil(() => proxy.logs.length > before, "a log line");
    for (const l of proxy.logs.slice(before)) expect(l.includes(TOKEN), l).toBe(false);
    expect(answer.includes(TOKEN)).toBe(false);
  }
});

test("a CONNECT target with a query (host:port?x=…, or a URL with userinfo and a query): 400, the query in no log line", async () => {
  const authority = `localhost:${origin.port}`;
  for (const target of [
    `${authority}?x=${TOKEN}`,
    `http://u:${TOKEN}@${authority}/?x=${TOKEN}`,
    `${authority}#${TOKEN}`,
  ]) {
    const before = proxy.logs.length;
    const s = net.connect(proxy.port, "127.0.0.1");
    await new Promise((r) => s.once("connect", r));
    const answer = await refused(s, `CONNECT ${target} HTTP/1.1`, authority);
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    await waitUntil(() => proxy.logs.length > before, "a log line");
    const logged = proxy.logs.slice(before);
    expect(logged.some((l) => l.includes("BAD_AUTHORITY"))).toBe(true);
    for (const l of logged) expect(l.includes(TOKEN), l).toBe(false);
    expect(answer.includes(TOKEN)).toBe(false);
  }
});
