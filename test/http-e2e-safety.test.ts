/**
 * What must never reach an origin through the running proxy in the full HTTP mode: every
 * malformed / smuggling request form of test/helpers/h1-cases.ts from an HTTP/1.1 client (its
 * status, and no request at a Node 20 origin), CR / LF / NUL in an HTTP/2 client's field bound
 * for an HTTP/1.1 origin, and requests naming another host (421).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type * as tls from "node:tls";
import { type E2eEnv, h2Client, h2Request, startE2e } from "./helpers/e2e-env.ts";
import { REQUEST_CASES } from "./helpers/h1-cases.ts";
import { tlsThroughProxy } from "./helpers/proxy-env.ts";

let env: E2eEnv;
let ca: string;
beforeAll(async () => {
  env = await startE2e();
  ca = await Bun.file(env.pki.caCertPath).text();
});
afterAll(async () => {
  await env?.close();
});

/** Sends raw bytes in one write on a fresh tunnel; resolves with everything read until close. */
async function exchange(authority: string, bytes: string): Promise<string> {
  const t: tls.TLSSocket = await tlsThroughProxy(env.proxy.port, authority, { ca, servername: "localhost" });
  return await new Promise((resolve) => {
    let buf = "";
    t.on("data", (d: Buffer) => {
      buf += d.toString("latin1");
    });
    t.on("error", () => {});
    t.on("close", () => resolve(buf));
    t.write(Buffer.from(bytes, "latin1"));
  });
}

const status = (response: string) => Number(response.split(" ")[1]);

describe("HTTP/1.1 client: refused forms never reach the origin", () => {
  const refused = REQUEST_CASES.filter((c) => c.expect !== "ok");

  test(`${refused.length} malformed and smuggling forms get their status, and the origin sees no request`, async () => {
    for (const o of [env.origins.nodeH1, env.origins.nodeH2]) {
      await o.clear();
      const wrong: string[] = [];
      for (const c of refused) {
        const bytes = c.raw.replaceAll("example.com", "localhost");
        const res = await exchange(o.authority, bytes);
        const want = c.status ?? 400;
        if (status(res) !== want) wrong.push(`${c.name}: ${JSON.stringify(res.slice(0, 60))}, want ${want}`);
        else if (!/\r\nconnection: close\r\n/i.test(res)) wrong.push(`${c.name}: no Connection: close`);
      }
      expect(wrong).toEqual([]);
      const stats = await o.stats();
      expect(stats.reqs).toEqual([]);
      expect(stats.conns.length).toBeGreaterThan(0); // the tunnels did connect upstream
    }
  });

  test("a head too large is 431 naming HEADERS_TOO_LARGE, as an HTTP/2 client's header list is", async () => {
    const o = env.origins.nodeH1;
    const res = await exchange(
      o.authority,
      `GET / HTTP/1.1\r\nHost: ${o.authority}\r\nX-Big: ${"a".repeat(70_000)}\r\n\r\n`,
    );
    expect(status(res)).toBe(431);
    expect(res).toContain("\r\n\r\n431 Request Header Fields Too Large: HEADERS_TOO_LARGE: ");
  });

  test("a request naming another host (Host, absolute-form) is 421 and sent nowhere", async () => {
    const o = env.origins.nodeH1;
    await o.clear();
    for (const head of [
      "GET / HTTP/1.1\r\nHost: evil.example\r\n\r\n",
      `GET / HTTP/1.1\r\nHost: localhost:${o.port + 1}\r\n\r\n`,
      "GET https://evil.example/ HTTP/1.1\r\nHost: localhost\r\n\r\n",
    ]) {
      expect(status(await exchange(o.authority, head))).toBe(421);
    }
    expect((await o.stats()).reqs).toEqual([]);
  });

  test("an http:// URL inside the TLS tunnel is 400 and sent nowhere; https:// goes as origin-form", async () => {
    const o = env.origins.nodeH1;
    await o.clear();
    const plain = await exchange(
      o.authority,
      `GET http://localhost:${o.port}/abs HTTP/1.1\r\nHost: localhost\r\n\r\n`,
    );
    expect(status(plain)).toBe(400);
    expect(plain).toContain("an http:// URL inside a TLS tunnel");
    expect((await o.stats()).reqs).toEqual([]);
    const secure = await exchange(
      o.authority,
      `GET https://localhost:${o.port}/abs HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`,
    );
    expect(status(secure)).toBe(404); // the origin's answer for /abs
    expect((await o.stats()).reqs.map((r) => r.path)).toEqual(["/abs"]);
  });
});

describe("HTTP/2 client", () => {
  test(":authority naming another host is 421 and sent nowhere", async () => {
    const o = env.origins.nodeH2;
    await o.clear();
    const s = await h2Client(env, o);
    const r = await h2Request(s, { ":path": "/bytes?n=1", ":authority": "evil.example" });
    expect(Number(r.headers[":status"])).toBe(421);
    const ok = await h2Request(s, { ":path": "/bytes?n=1" });
    expect(Number(ok.headers[":status"])).toBe(200);
    expect((await o.stats()).reqs.map((q) => q.path)).toEqual(["/bytes?n=1"]);
    s.close();
  });

  test(":scheme http inside the TLS tunnel is 400 and sent nowhere", async () => {
    const o = env.origins.nodeH2;
    await o.clear();
    const s = await h2Client(env, o);
    const r = await h2Request(s, { ":path": "/bytes?n=1", ":scheme": "http" });
    expect(Number(r.headers[":status"])).toBe(400);
    expect(r.body.toString()).toContain(":scheme http inside a TLS tunnel");
    expect((await o.stats()).reqs).toEqual([]);
    s.close();
  });

  test("CR, LF or NUL in a field value bound for an HTTP/1.1 origin is refused; nothing is sent", async () => {
    const o = env.origins.nodeH1;
    await o.clear();
    const { connect } = await import("./helpers/e2e-h2-raw.ts");
    for (const bad of ["a\r\nX-Injected: 1", "a\nb", "a\rb", "a\0b"]) {
      const c = await connect(env.proxy.port, o.authority, ca);
      const r = await c.request([
        [":method", "GET"],
        [":scheme", "https"],
        [":path", "/headers"],
        [":authority", o.authority],
        ["x-bad", bad],
      ]);
      expect(r.status === 0 ? r.reset : r.status >= 400).toBeTruthy();
      c.close();
    }
    expect((await o.stats()).reqs).toEqual([]);
  });
});

describe("X-PolyTLS-Request-Kind naming no kind", () => {
  const VALID = "valid values: navigate, fetch, xhr, image, script, style, favicon, websocket";

  test("HTTP/1.1 client: 400 naming the header and the valid values; the origin gets nothing", async () => {
    for (const o of [env.origins.nodeH1, env.origins.nodeH2]) {
      await o.clear();
      for (const value of ["bogus", "navigate, fetch"]) {
        const res = await exchange(
          o.authority,
          `GET /headers HTTP/1.1\r\nHost: localhost\r\nX-PolyTLS-Request-Kind: ${value}\r\nConnection: close\r\n\r\n`,
        );
        expect(status(res), res).toBe(400);
        expect(res).toContain(
          `X-PolyTLS-Request-Kind: unknown request kind ${JSON.stringify(value)}; ${VALID}`,
        );
      }
      // A known kind, any case, goes through.
      const ok = await exchange(
        o.authority,
        "GET /headers HTTP/1.1\r\nHost: localhost\r\nX-PolyTLS-Request-Kind: Image\r\nConnection: close\r\n\r\n",
      );
      expect(status(ok)).toBe(200);
      expect((await o.stats()).reqs.map((q) => q.path)).toEqual(["/headers"]);
    }
  });

  test("HTTP/2 client: 400 on that stream only; the origin gets nothing", async () => {
    for (const o of [env.origins.nodeH2, env.origins.nodeH1]) {
      await o.clear();
      const s = await h2Client(env, o);
      const r = await h2Request(s, { ":path": "/bytes?n=1", "x-polytls-request-kind": "bogus" });
      expect(Number(r.headers[":status"])).toBe(400);
      expect(r.body.toString()).toContain(`X-PolyTLS-Request-Kind: unknown request kind "bogus"; ${VALID}`);
      expect((await o.stats()).reqs).toEqual([]);
      const ok = await h2Request(s, { ":path": "/bytes?n=1", "x-polytls-request-kind": "fetch" });
      expect(Number(ok.headers[":status"])).toBe(200);
      expect((await o.stats()).reqs.map((q) => q.path)).toEqual(["/bytes?n=1"]);
      s.close();
    }
  });
});
