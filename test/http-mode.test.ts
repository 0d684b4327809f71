/**
 * The full HTTP mode through the running proxy: real clients (curl over HTTP/2 and HTTP/1.1)
 * → proxy (MITM, built-in profiles) → origins that are not ours (Bun's node:http2 secure
 * server with HTTP/1.1 fallback, and an HTTP/1.1-only node:https server). The origin records
 * what it received: protocol, header order, header values.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as http2 from "node:http2";
import * as https from "node:https";
import type { AddressInfo } from "node:net";
import * as tls from "node:tls";
import { ProfileRegistry } from "../src/profiles/registry-store.ts";
import { NativeEngine } from "../src/upstream/native/native-engine.ts";
import { curlThroughProxy, type ProxyHandle, startProxy } from "./helpers/proxy-env.ts";
import { makeTestPki, type TestPki } from "./helpers/tls-env.ts";
import { waitUntil } from "./helpers/wait.ts";

/** What both origin kinds' response objects offer that the handler uses. */
interface OriginResponse {
  setHeader(name: string, value: string): void;
  end(body: string): void;
}

interface Seen {
  version: string;
  method: string;
  path: string;
  raw: string[];
}

let pki: TestPki;
let proxy: ProxyHandle;
let h2Port = 0;
let h1Port = 0;
const seenH2: Seen[] = [];
const seenH1: Seen[] = [];
const closers: (() => void)[] = [];

beforeAll(async () => {
  pki = await makeTestPki();
  const leaf = await pki.leaf("localhost");
  const handler =
    (seen: Seen[]) =>
    (req: http2.Http2ServerRequest | import("node:http").IncomingMessage, res: OriginResponse) => {
      const chunks: Buffer[] = [];
      req.on("data", (d: Buffer) => chunks.push(d));
      req.on("end", () => {
        seen.push({
          version: req.httpVersion,
          method: req.method ?? "",
          path: req.url ?? "",
          raw: req.rawHeaders,
        });
        const body = Buffer.concat(chunks);
        res.setHeader("content-type", "text/plain");
        res.setHeader("x-origin", "yes");
        res.end(`${req.httpVersion} ${req.method} ${req.url} ${body.length}`);
      });
    };
  const h2 = http2.createSecureServer(
    { key: leaf.keyPem, cert: leaf.chainPem, allowHTTP1: true, ALPNProtocols: ["h2", "http/1.1"] },
    handler(seenH2),
  );
  await new Promise<void>((r) => h2.listen(0, "127.0.0.1", r));
  h2Port = (h2.address() as AddressInfo).port;
  closers.push(() => h2.close());
  const h1 = https.createServer({ key: leaf.keyPem, cert: leaf.chainPem }, handler(seenH1));
  await new Promise<void>((r) => h1.listen(0, "127.0.0.1", r));
  h1Port = (h1.address() as AddressInfo).port;
  closers.push(() => h1.close());
  const engine = new NativeEngine();
  proxy = await startProxy({
    pki,
    engine,
    profiles: new ProfileRegistry(),
    defaultProfile: "chrome-143-macos-arm64",
    deps: {
      http: { mode: "full", keepClient: new Set(), maxConcurrentStreams: 100, maxRequestHeadBytes: 65_536 },
    },
  });
});
afterAll(() => pki?.remove());

afterAll(async () => {
  await proxy?.stop();
  for (const c of closers) c();
});

function curl(args: string[]): Promise<{ code: number; out: string; err: string }> {
  return curlThroughProxy(proxy.port, pki.caCertPath, [...args]);
}

const names = (raw: string[]) => raw.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());
const value = (raw: string[], name: string) => {
  for (let i = 0; i + 1 < raw.length; i += 2) if (raw[i]?.toLowerCase() === name) return raw[i + 1];
  return undefined;
};

describe("HTTP mode through the proxy", () => {
  for (const flag of ["--http2", "--http1.1"]) {
    test(`curl ${flag}: the origin sees HTTP/2 with Chrome's header order and values, not curl's`, async () => {
      const before = seenH2.length;
      const r = await curl([flag, `https://localhost:${h2Port}/page?x=1`]);
      expect(r.err).toBe("");
      expect(r.out).toBe("2.0 GET /page?x=1 0");
      const seen = seenH2[before] as Seen;
      expect(seen.version).toBe("2.0");
      expect(value(seen.raw, "user-agent")).toContain("Chrome/143");
      expect(value(seen.raw, "sec-ch-ua-mobile")).toBe("?0");
      expect(names(seen.raw).slice(0, 4)).toEqual([":method", ":authority", ":scheme", ":path"]);
      expect(value(seen.raw, ":authority")).toBe(`localhost:${h2Port}`);
    });
  }

  test("an HTTP/1.1-only origin gets HTTP/1.1 with Host first, Chrome's case and no priority header", async () => {
    const before = seenH1.length;
    const r = await curl(["--http2", `https://localhost:${h1Port}/h1`]);
    expect(r.err).toBe("");
    expect(r.out).toBe("1.1 GET /h1 0");
    const seen = seenH1[before] as Seen;
    expect(seen.raw[0]).toBe("Host");
    expect(seen.raw[2]).toBe("Connection");
    expect(names(seen.raw)).not.toContain("priority");
    expect(value(seen.raw, "user-agent")).toContain("Chrome/143");
  });

  test("a POST body reaches the origin whole, both client protocols", async () => {
    const body = "x".repeat(100_000);
    for (const flag of ["--http2", "--http1.1"]) {
      const r = await curl([flag, "--data-binary", body, `https://localhost:${h2Port}/up`]);
      expect(r.out).toBe(`2.0 POST /up ${body.length}`);
    }
  });

  test("the tunnel log line carries the HTTP facts", async () => {
    const isMine = (r: Record<string, unknown>) =>
      r.msg === "tunnel closed" && r.http === "h2" && r.host === `localhost:${h2Port}` && r.requests === 2;
    const records = () => proxy.logs.map((l) => JSON.parse(l) as Record<string, unknown>).filter(isMine);
    await curl(["--http2", `https://localhost:${h2Port}/a`, `https://localhost:${h2Port}/b`]);
    await waitUntil(() => records().length > 0, "the tunnel's record").catch((e) => {
      console.log(
        proxy.logs
          .filter((l) => l.includes("tunnel closed"))
          .slice(-3)
          .join("\n"),
      );
      throw e;
    });
    const last = records().at(-1) as Record<string, unknown>;
    expect(last.upstreamHttp).toBe("h2");
    expect(last.requests).toBe(2);
    expect(last.statuses).toBe("200:2");
    expect(last.errorCode).toBeNull();
  });

  test("an origin that keeps its side open after the tunnel ends is cut off after the linger", async () => {
    const leaf = await pki.leaf("localhost");
    let closed = 0;
    let ended = 0;
    // HTTP/1.1 only, half-open allowed, never ends its side: only the proxy can close these sockets.
    const sticky = tls.createServer(
      { key: leaf.keyPem, cert: leaf.chainPem, ALPNProtocols: ["http/1.1"], allowHalfOpen: true },
      (s) => {
        s.on("data", () => s.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"));
        s.on("end", () => {
          ended += 1;
          // Still writable: once the proxy has really closed its socket, this write is refused
          // (reset) and the socket closes; while the proxy holds it open, nothing happens.
          const poke = setInterval(() => {
            if (!s.destroyed) s.write("x");
          }, 500);
          s.on("close", () => clearInterval(poke));
        });
        s.on("close", () => {
          closed += 1;
        });
        s.on("error", () => {});
      },
    );
    await new Promise<void>((r) => sticky.listen(0, "127.0.0.1", r));
    closers.push(() => sticky.close());
    const port = (sticky.address() as AddressInfo).port;
    const r = await curl(["--http1.1", `https://localhost:${port}/x`]);
    expect(r.out).toBe("ok");
    await waitUntil(() => ended > 0, "the proxy ends its side once the client is gone");
    await waitUntil(() => closed > 0, "the proxy closes the upstream socket after the linger");
  });
});
