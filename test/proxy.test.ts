import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as http2 from "node:http2";
import type { AddressInfo } from "node:net";
import * as net from "node:net";
import * as tls from "node:tls";
import { accessPolicy } from "../src/proxy/access.ts";
import { NativeEngine } from "../src/upstream/native/native-engine.ts";
import { blackholePort, type H2Origin, startH2Origin } from "./helpers/origins.ts";
import {
  connectRequest,
  httpGet,
  type ProxyHandle,
  rawConnect,
  startProxy,
  tlsThroughProxy,
} from "./helpers/proxy-env.ts";
import { fixedProfiles, TEST_SPEC } from "./helpers/spec.ts";
import { makeTestPki, type Origin, startTlsOrigin, type TestPki } from "./helpers/tls-env.ts";

let pki: TestPki;
let engine: NativeEngine;
let h1: Origin; // HTTP/1.1-only TLS origin
let h2: H2Origin; // h2-capable origin
let proxy: ProxyHandle;
const profiles = fixedProfiles([
  TEST_SPEC,
  { ...TEST_SPEC, name: "test-h1only", alpn: ["http/1.1"], alps: null },
]);

beforeAll(async () => {
  pki = await makeTestPki();
  engine = new NativeEngine();
  const leaf = await pki.leaf("localhost");
  h1 = await startTlsOrigin(leaf, { alpn: ["http/1.1"] });
  h2 = await startH2Origin(leaf);
  proxy = await startProxy({ pki, engine, profiles, defaultProfile: "test-chrome" });
});
afterAll(() => pki?.remove());

afterAll(async () => {
  await proxy.stop();
  await h1.close();
  await h2.close();
});

const tunnelLogs = () => proxy.logs.map((l) => JSON.parse(l)).filter((r) => r.msg === "tunnel closed");

describe("errors before 200", () => {
  const status = async (req: string) => {
    const r = await rawConnect(proxy.port, req);
    r.socket.destroy();
    return r;
  };

  test("an origin-form request to the proxy itself → 405 with Allow and Connection: close", async () => {
    const r = await status("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n");
    expect(r.status).toBe(405);
    expect(r.head).toContain("Connection: close");
    expect(r.head).toContain("Allow: CONNECT");
  });

  test("malformed request → 400; bad authority → 400", async () => {
    expect((await status("CONNECT\r\n\r\n")).status).toBe(400);
    expect((await status(connectRequest("localhost"))).status).toBe(400);
    expect((await status(connectRequest("local host:443"))).status).toBe(400);
  });

  test("too large → 431 (bytes and header count)", async () => {
    const big = `CONNECT localhost:1 HTTP/1.1\r\nX-Big: ${"a".repeat(17 * 1024)}\r\n\r\n`;
    expect((await status(big)).status).toBe(431);
    const many = `CONNECT localhost:1 HTTP/1.1\r\n${Array.from({ length: 65 }, (_, i) => `X-${i}: v\r\n`).join("")}\r\n`;
    expect((await status(many)).status).toBe(431);
  });

  test("unknown profile → 400 naming the profile", async () => {
    const r = await rawConnect(
      proxy.port,
      connectRequest(`localhost:${h1.port}`, { "X-PolyTLS-Upstream-Profile": "netscape-4" }),
    );
    expect(r.status).toBe(400);
    expect(r.rest.toString()).toContain("netscape-4");
    r.socket.destroy();
  });

  test("proxy authentication (407) and the port allow-list (403) are enforced before dialling", async () => {
    const p = await startProxy({
      pki,
      engine,
      profiles,
      defaultProfile: "test-chrome",
      access: accessPolicy(["alice:pw"], [h1.port]),
    });
    try {
      const auth = { "Proxy-Authorization": `Basic ${Buffer.from("alice:pw").toString("base64")}` };
      const none = await rawConnect(p.port, connectRequest(`localhost:${h1.port}`));
      expect(none.status).toBe(407);
      expect(none.head).toContain("Proxy-Authenticate: Basic");
      none.socket.destroy();
      const bad = await rawConnect(
        p.port,
        connectRequest(`localhost:${h1.port}`, { "Proxy-Authorization": "Basic YWxpY2U6bm8=" }),
      );
      expect(bad.status).toBe(407);
      bad.socket.destroy();
      const port = await rawConnect(p.port, connectRequest("localhost:1", auth));
      expect(port.status).toBe(403);
      port.socket.destroy();
      const t = await tlsThroughProxy(p.port, `localhost:${h1.port}`, {
        ca: pki.ca.certPem,
        servername: "localhost",
        headers: auth,
      });
      expect(await httpGet(t, "localhost", "/authed")).toContain("hello /authed");
      t.destroy();
    } finally {
      await p.stop();
    }
  });

  test("upstream refused → 502", async () => {
    const srv = net.createServer();
    await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
    const port = (srv.address() as AddressInfo).port;
    await new Promise<void>((r) => srv.close(() => r()));
    expect((await status(connectRequest(`127.0.0.1:${port}`))).status).toBe(502);
  });

  test("an IPv6 target refused → 502 naming it in brackets", async () => {
    const srv = net.createServer();
    await new Promise<void>((r) => srv.listen(0, "::1", r));
    const port = (srv.address() as AddressInfo).port;
    await new Promise<void>((r) => srv.close(() => r()));
    const r = await status(connectRequest(`[::1]:${port}`));
    expect(r.status).toBe(502);
    expect(r.rest.toString()).toContain(`cannot connect to [::1]:${port}: ECONNREFUSED`);
  });

  test("upstream connect timeout → 504", async () => {
    const hole = await blackholePort();
    const p = await startProxy({
      pki,
      engine,
      profiles,
      defaultProfile: "test-chrome",
      connectTimeoutMs: 300,
    });
    try {
      const r = await rawConnect(p.port, connectRequest(`127.0.0.1:${hole.port}`));
      expect(r.status).toBe(504);
      r.socket.destroy();
    } finally {
      hole.close();
      await p.stop();
    }
  });

  test("a client that stalls inside its headers is answered 408 and dropped", async () => {
    const p = await startProxy({
      pki,
      engine,
      profiles,
      defaultProfile: "test-chrome",
      headerTimeoutMs: 200,
    });
    try {
      const r = await rawConnect(p.port, "CONNECT localhost:443 HTTP/1.1\r\nHost: loc");
      expect(r.status).toBe(408);
      await new Promise<void>((res) => r.socket.once("close", () => res()).resume());
    } finally {
      await p.stop();
    }
  });
});

describe("passthrough", () => {
  test("relays raw bytes both ways (TLS end to end with the origin's own certificate)", async () => {
    const p = await startProxy({ pki, engine, profiles, defaultProfile: "test-chrome", mode: "passthrough" });
    try {
      const t = await tlsThroughProxy(p.port, `127.0.0.1:${h1.port}`, {
        ca: pki.ca.certPem,
        servername: "localhost",
      });
      const res = await httpGet(t, "localhost", "/pass");
      expect(res).toContain("hello /pass");
      t.destroy();
    } finally {
      await p.stop();
    }
  });
});

describe("MITM", () => {
  test("h1 client: the minted leaf verifies against the proxy CA and the request reaches the origin", async () => {
    const t = await tlsThroughProxy(proxy.port, `localhost:${h1.port}`, {
      ca: pki.ca.certPem,
      servername: "localhost",
    });
    expect(t.authorized).toBe(true);
    const cert = t.getPeerCertificate(true);
    expect(cert.subjectaltname).toContain("DNS:localhost");
    expect(t.alpnProtocol).toBe("http/1.1");
    const res = await httpGet(t, "localhost", "/mitm");
    expect(res).toContain("hello /mitm");
    t.end();
  });

  test("h2 client: h2 end to end with the profile's ALPN list upstream", async () => {
    const t = await tlsThroughProxy(proxy.port, `localhost:${h2.port}`, {
      ca: pki.ca.certPem,
      servername: "localhost",
      alpn: ["h2", "http/1.1"],
    });
    expect(t.alpnProtocol).toBe("h2");
    const session = http2.connect(`https://localhost:${h2.port}`, { createConnection: () => t });
    const body = await new Promise<string>((resolve, reject) => {
      const rq = session.request({ ":path": "/over-h2" });
      let b = "";
      rq.on("data", (d) => {
        b += d;
      });
      rq.on("end", () => resolve(b));
      rq.on("error", reject);
      rq.end();
    });
    expect(body).toBe("2.0 /over-h2");
    session.close();
  });

  test("h1 client to the h2-capable origin: upstream is offered only http/1.1", async () => {
    const t = await tlsThroughProxy(proxy.port, `localhost:${h2.port}`, {
      ca: pki.ca.certPem,
      servername: "localhost",
    });
    const res = await httpGet(t, "localhost", "/h1-to-h2");
    expect(res).toContain("1.1 /h1-to-h2");
    t.destroy();
  });

  test("h2 client over an h1-only upstream: the tunnel is aborted, never relayed", async () => {
    const t = await tlsThroughProxy(proxy.port, `localhost:${h1.port}`, {
      ca: pki.ca.certPem,
      servername: "localhost",
      alpn: ["h2", "http/1.1"],
    });
    expect(t.alpnProtocol).toBe("h2");
    const closed = await new Promise<boolean>((resolve) => {
      t.on("error", () => {});
      t.once("close", () => resolve(true));
      t.write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
    });
    expect(closed).toBe(true);
    await Bun.sleep(20);
    expect(tunnelLogs().some((r) => r.errorCode === "ALPN_MISMATCH")).toBe(true);
  });

  test("bytes sent together with the CONNECT (the ClientHello) are not lost", async () => {
    // Capture a real ClientHello from a TLS client, then send it in the same write as CONNECT.
    const sock = net.connect({ host: "127.0.0.1", port: proxy.port });
    await new Promise<void>((r) => sock.once("connect", () => r()));
    let hello: Buffer | null = null;
    const fake = new (await import("node:stream")).Duplex({
      read() {},
      write(chunk: Buffer, _enc, cb) {
        if (!hello) {
          hello = chunk;
          sock.write(Buffer.concat([Buffer.from(connectRequest(`localhost:${h1.port}`)), chunk]));
        } else sock.write(chunk);
        cb();
      },
    });
    let headDone = false;
    let pending = Buffer.alloc(0);
    sock.on("data", (d: Buffer) => {
      if (headDone) return fake.push(d);
      pending = Buffer.concat([pending, d]);
      const end = pending.indexOf("\r\n\r\n");
      if (end < 0) return;
      expect(pending.subarray(0, end).toString()).toContain("200");
      headDone = true;
      if (pending.length > end + 4) fake.push(pending.subarray(end + 4));
    });
    const t = tls.connect({
      socket: fake as unknown as net.Socket,
      servername: "localhost",
      ca: pki.ca.certPem,
    });
    await new Promise<void>((r, j) => {
      t.once("secureConnect", r);
      t.once("error", j);
    });
    expect(hello).not.toBeNull();
    expect(await httpGet(t, "localhost", "/early")).toContain("hello /early");
    t.destroy();
    sock.destroy();
  });

  test("SNI that differs from the CONNECT host closes the tunnel", async () => {
    const err = await tlsThroughProxy(proxy.port, `localhost:${h1.port}`, {
      ca: pki.ca.certPem,
      servername: "evil.test",
      acceptAnyName: true,
    })
      .then(async (t) => {
        // TLS 1.3: the server-side check runs after our Finished; the tunnel closes right after.
        return await new Promise<string>((resolve) => {
          t.on("error", () => {});
          t.once("close", () => resolve("closed"));
          t.write("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n");
        });
      })
      .catch((e: Error) => `error: ${e.message}`);
    expect(err === "closed" || err.startsWith("error")).toBe(true);
    await Bun.sleep(20);
    expect(tunnelLogs().some((r) => r.errorCode === "SNI_MISMATCH")).toBe(true);
  });

  test("the second connection to the same upstream resumes the TLS session", async () => {
    const p = await startProxy({ pki, engine, profiles, defaultProfile: "test-chrome" });
    try {
      for (const path of ["/one", "/two"]) {
        const t = await tlsThroughProxy(p.port, `localhost:${h1.port}`, {
          ca: pki.ca.certPem,
          servername: "localhost",
        });
        expect(await httpGet(t, "localhost", path)).toContain(`hello ${path}`);
        t.end();
        await new Promise((r) => t.once("close", r));
      }
      await Bun.sleep(20);
      const recs = p.logs.map((l) => JSON.parse(l)).filter((r) => r.msg === "tunnel closed");
      expect(recs.map((r) => r.resumed)).toEqual([false, true]);
      expect(h1.accepted.at(-1)?.resumed).toBe(true);
    } finally {
      await p.stop();
    }
  });

  test("upstream verification: fails without the CA, works with the CA file or skip-verify", async () => {
    const noCa = await startProxy({ pki, engine, profiles, defaultProfile: "test-chrome", caFile: null });
    const skip = await startProxy({
      pki,
      engine,
      profiles,
      defaultProfile: "test-chrome",
      caFile: null,
      verify: false,
    });
    try {
      const t = await tlsThroughProxy(noCa.port, `localhost:${h1.port}`, {
        ca: pki.ca.certPem,
        servername: "localhost",
      });
      const res = await httpGet(t, "localhost", "/x").catch(() => "");
      expect(res).toBe("");
      await Bun.sleep(20);
      const rec = noCa.logs.map((l) => JSON.parse(l)).find((r) => r.msg === "tunnel closed");
      expect(rec?.errorCode).toBe("TLS_VERIFY");
      const t2 = await tlsThroughProxy(skip.port, `localhost:${h1.port}`, {
        ca: pki.ca.certPem,
        servername: "localhost",
      });
      expect(await httpGet(t2, "localhost", "/skip")).toContain("hello /skip");
      t2.destroy();
    } finally {
      await noCa.stop();
      await skip.stop();
    }
  });
});

describe("IP literal targets and half-close", () => {
  test("IPv4 and bracketed IPv6 CONNECT targets: IP SAN leaf, no SNI needed", async () => {
    const leaf = await pki.leaf("127.0.0.1");
    const leaf6 = await pki.leaf("::1");
    const o4 = await startTlsOrigin(leaf);
    const o6server = tls.createServer({ key: leaf6.keyPem, cert: leaf6.chainPem }, (s) => {
      s.once("data", () => s.end("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nv6"));
      s.on("error", () => {});
    });
    await new Promise<void>((r) => o6server.listen(0, "::1", r));
    const p6 = (o6server.address() as AddressInfo).port;
    try {
      for (const [target, host, body] of [
        [`127.0.0.1:${o4.port}`, "127.0.0.1", "hello /ip"],
        [`[::1]:${p6}`, "::1", "v6"],
      ] as const) {
        const { socket, status } = await rawConnect(proxy.port, connectRequest(target));
        expect(status).toBe(200);
        const t = tls.connect({ socket, host, ca: pki.ca.certPem });
        await new Promise<void>((r, j) => {
          t.once("secureConnect", r);
          t.once("error", j);
        });
        expect(t.authorized).toBe(true);
        expect(t.getPeerCertificate().subjectaltname).toContain("IP Address:");
        expect(await httpGet(t, host, "/ip")).toContain(body);
        t.destroy();
      }
    } finally {
      await o4.close();
      o6server.close();
    }
  });

  test("half-close passes through: the client ends its side and still gets the answer", async () => {
    const leaf = await pki.leaf("localhost");
    // Answers only after the client has finished sending (EOF), like a request-then-shutdown client expects.
    const origin = await startTlsOrigin(leaf, {
      handler(s) {
        let got = "";
        s.on("data", (d: Buffer) => {
          got += d.toString();
        });
        s.on("end", () => s.end(`HTTP/1.1 200 OK\r\nContent-Length: ${got.length}\r\n\r\n${got}`));
        s.on("error", () => {});
      },
    });
    try {
      for (const mode of ["mitm", "passthrough"] as const) {
        const p =
          mode === "mitm"
            ? proxy
            : await startProxy({ pki, engine, profiles, defaultProfile: "test-chrome", mode: "passthrough" });
        const t = await tlsThroughProxy(p.port, `localhost:${origin.port}`, {
          ca: pki.ca.certPem,
          servername: "localhost",
        });
        const response = new Promise<string>((resolve) => {
          let text = "";
          t.on("data", (d: Buffer) => {
            text += d.toString();
          });
          t.on("end", () => resolve(text));
        });
        t.end("ping-then-eof");
        expect(await response).toContain("\r\n\r\nping-then-eof");
        if (p !== proxy) await p.stop();
      }
    } finally {
      await origin.close();
    }
  });
});

describe("peers that leave early", () => {
  const waitForRecord = async (pred: (r: Record<string, unknown>) => boolean, ms: number) => {
    const until = Date.now() + ms;
    while (Date.now() < until) {
      const hit = tunnelLogs().find(pred);
      if (hit) return hit;
      await Bun.sleep(20);
    }
    return null;
  };

  test("a client that disconnects right after CONNECT ends its tunnel at once", async () => {
    const sock = net.connect({ host: "127.0.0.1", port: proxy.port });
    await new Promise<void>((r) => sock.once("connect", () => r()));
    const localPort = sock.localPort;
    sock.end(connectRequest(`localhost:${h1.port}`));
    sock.destroy();
    const rec = await waitForRecord((r) => String(r.client).endsWith(`:${localPort}`), 3000);
    expect(rec).not.toBeNull();
    expect(rec?.errorCode).not.toBeNull();
  });

  test("an upstream that closes before the TLS handshake fails the tunnel at once (reset)", async () => {
    const rude = net.createServer((s) => s.destroy());
    await new Promise<void>((r) => rude.listen(0, "127.0.0.1", r));
    const port = (rude.address() as AddressInfo).port;
    try {
      const t = await tlsThroughProxy(proxy.port, `localhost:${port}`, {
        ca: pki.ca.certPem,
        servername: "localhost",
      });
      const closed = await new Promise<boolean>((resolve) => {
        t.on("error", () => {});
        t.once("close", () => resolve(true));
        t.write("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n");
      });
      expect(closed).toBe(true);
      const rec = await waitForRecord((r) => r.host === `localhost:${port}`, 3000);
      expect(["TLS_HANDSHAKE", "IO"]).toContain(String(rec?.errorCode));
    } finally {
      rude.close();
    }
  });
});
