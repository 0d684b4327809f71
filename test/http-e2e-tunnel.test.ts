/**
 * What an HTTP-mode tunnel does with traffic that is not a plain request: bytes that are not
 * HTTP (client first, or a server-speaks-first protocol) fall back to the TLS byte relay;
 * WebSockets from an HTTP/1.1 client (Bun's WebSocket through the proxy) reach a Node 20 origin on
 * their own connection offering ALPN http/1.1 only, with the browser's handshake header order;
 * RFC 8441 extended CONNECT from an HTTP/2 client is refused cleanly.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type * as tls from "node:tls";
import { H2ClientSession } from "../src/http/h2/client-session.ts";
import type { H2Event } from "../src/http/h2/session-types.ts";
import { CHROME_HPACK_POLICY, HpackDecoder, HpackEncoder } from "../src/http/hpack/index.ts";
import { ProfileRegistry } from "../src/profiles/registry-store.ts";
import { type E2eEnv, type E2eOrigin, h2Client, h2Request, startE2e } from "./helpers/e2e-env.ts";
import { tlsThroughProxy } from "./helpers/proxy-env.ts";
import { type Origin, startTlsOrigin } from "./helpers/tls-env.ts";
import { waitUntil } from "./helpers/wait.ts";

let env: E2eEnv;
let ca: string;
const raw: Origin[] = [];
beforeAll(async () => {
  env = await startE2e();
  ca = await Bun.file(env.pki.caCertPath).text();
});
afterAll(async () => {
  for (const o of raw) await o.close();
  await env?.close();
});

async function rawOrigin(alpn: string[], handler: (s: tls.TLSSocket) => void): Promise<Origin> {
  const o = await startTlsOrigin(await env.pki.leaf("localhost"), { alpn, handler });
  raw.push(o);
  return o;
}

function collect(t: tls.TLSSocket): { text: () => string } {
  let buf = "";
  t.on("data", (d: Buffer) => {
    buf += d.toString("latin1");
  });
  t.on("error", () => {});
  return { text: () => buf };
}

describe("not HTTP: the TLS byte relay", () => {
  test("a client whose first bytes are not HTTP is relayed to the origin and back", async () => {
    const o = await rawOrigin(["http/1.1"], (s) => {
      s.on("error", () => {});
      s.on("data", (d: Buffer) => s.write(Buffer.concat([Buffer.from("echo:"), d])));
    });
    const t = await tlsThroughProxy(env.proxy.port, `localhost:${o.port}`, { ca, servername: "localhost" });
    const got = collect(t);
    t.write(Buffer.from([0x16, 0x00, 0xff, 0x41, 0x42, 0x0a]));
    await waitUntil(() => got.text().length >= 11, "the echo");
    expect(Buffer.from(got.text(), "latin1")).toEqual(
      Buffer.from([...Buffer.from("echo:"), 0x16, 0x00, 0xff, 0x41, 0x42, 0x0a]),
    );
    t.destroy();
  });

  for (const alpn of [[], ["http/1.1"]]) {
    test(`a server that speaks first (ALPN ${alpn.join() || "none"}) reaches a silent client at once`, async () => {
      const o = await rawOrigin(alpn, (s) => {
        s.on("error", () => {});
        s.write("220 mail.localhost ESMTP ready\r\n");
        s.on("data", (d: Buffer) => {
          if (d.toString().startsWith("EHLO")) s.write("250 hello\r\n");
        });
      });
      const t = await tlsThroughProxy(env.proxy.port, `localhost:${o.port}`, { ca, servername: "localhost" });
      const got = collect(t);
      // The client says nothing until the banner arrives (an SMTP client waits for it).
      await waitUntil(() => got.text().includes("220 mail.localhost"), "the banner without a client byte");
      t.write("EHLO client\r\n");
      await waitUntil(() => got.text().includes("250 hello"), "the reply");
      t.destroy();
    });
  }
});

describe("empty lines before a request line are HTTP, not a protocol of their own", () => {
  for (const n of [2, 9, 40]) {
    test(`${n} CRLFs, then a request naming another host with control headers: 400, nothing reaches the origin`, async () => {
      const o = env.origins.nodeH1;
      await o.clear();
      const t = await tlsThroughProxy(env.proxy.port, o.authority, { ca, servername: "localhost" });
      const got = collect(t);
      const closed = new Promise((resolve) => t.once("close", resolve));
      t.write(
        `${"\r\n".repeat(n)}GET /steered HTTP/1.1\r\nHost: elsewhere.example\r\n` +
          "X-PolyTLS-Upstream-Profile: firefox\r\nProxy-Authorization: Basic YTpi\r\n\r\n",
      );
      await closed;
      // Past 8 of them the tunnel took the bytes for another protocol and relayed them as they were.
      expect(got.text()).toMatch(/^HTTP\/1\.1 400 /);
      expect((await o.stats()).reqs).toEqual([]);
    });
  }
});

describe("a malformed request line is HTTP, not a protocol of its own", () => {
  for (const line of [" GET /steered HTTP/1.1 ", "\tGET /steered HTTP/1.1\v"]) {
    test(`${JSON.stringify(line)}: refused, nothing reaches the origin`, async () => {
      const o = env.origins.nodeH1;
      await o.clear();
      const t = await tlsThroughProxy(env.proxy.port, o.authority, { ca, servername: "localhost" });
      const got = collect(t);
      const closed = new Promise((resolve) => t.once("close", resolve));
      t.write(`${line}\r\nHost: elsewhere.example\r\nX-PolyTLS-Upstream-Profile: firefox\r\n\r\n`);
      await closed;
      // Both went to the byte relay, where a lenient origin (Python's http.server) serves them;
      // this one refuses them itself, so the answer must be the proxy's, naming its code.
      expect(got.text()).toMatch(/^HTTP\/1\.1 400 /);
      expect(got.text()).toContain("HTTP_BAD_REQUEST");
      expect((await o.stats()).reqs).toEqual([]);
    });
  }
});

describe("WebSocket from an HTTP/1.1 client", () => {
  async function echo(o: E2eOrigin): Promise<unknown[]> {
    const ws = new WebSocket(`wss://${o.authority}/ws`, {
      proxy: `http://127.0.0.1:${env.proxy.port}`,
      tls: { ca },
    } as unknown as string[]);
    ws.binaryType = "arraybuffer";
    const got: unknown[] = [];
    await new Promise<void>((resolve, reject) => {
      ws.onopen = () => {
        ws.send("hello");
        ws.send(new Uint8Array([0, 1, 2, 255]));
        ws.send("x".repeat(5000));
      };
      ws.onmessage = (m) => {
        got.push(typeof m.data === "string" ? m.data : [...new Uint8Array(m.data as ArrayBuffer)]);
        if (got.length === 3) ws.close(1000, "done");
      };
      ws.onclose = () => resolve();
      ws.onerror = () => reject(new Error("websocket error"));
    });
    return got;
  }

  for (const which of ["nodeH1", "nodeH2"] as const) {
    test(`${which}: text and binary frames echo; the handshake is Chrome's, on its own http/1.1-only connection`, async () => {
      const o = env.origins[which];
      await o.clear();
      expect(await echo(o)).toEqual(["hello", [0, 1, 2, 255], "x".repeat(5000)]);
      const stats = await o.stats();
      const hs = stats.reqs.find((r) => r.path === "/ws");
      if (!hs?.raw) throw new Error("the origin saw no handshake");
      const conn = stats.conns.find((c) => c.id === hs.conn);
      expect(conn?.hello?.alpn).toEqual(["http/1.1"]);
      expect(conn?.hello?.extensions).not.toContain("44cd"); // no ALPS (17613) without h2
      expect(conn?.alpn).toBe("http/1.1");
      const names = hs.raw.filter((_, i) => i % 2 === 0);
      const http = new ProfileRegistry().http("chrome-143-macos-arm64");
      const order = (http.headers?.websocket?.h1Order ?? []).filter((n) => n !== "*");
      const lower = names.map((n) => n.toLowerCase());
      expect(names[0]).toBe("Host");
      const seen = order.filter((n) => lower.includes(n));
      expect(seen).toEqual(lower.filter((n) => order.includes(n)));
      expect(names).toContain("Sec-WebSocket-Key");
      expect(hs.raw[lower.indexOf("user-agent") * 2 + 1]).toContain("Chrome/143");
      expect(hs.raw[lower.indexOf("upgrade") * 2 + 1]).toBe("websocket");
    });
  }
});

describe("RFC 8441 from an HTTP/2 client", () => {
  test("the proxy does not offer extended CONNECT (node:http2 client sees no SETTINGS_ENABLE_CONNECT_PROTOCOL)", async () => {
    const s = await h2Client(env, env.origins.nodeH2);
    const r = await h2Request(s, { ":path": "/bytes?n=3" });
    expect(Number(r.headers[":status"])).toBe(200);
    expect(s.remoteSettings.enableConnectProtocol).toBe(false);
    s.close();
  });

  test("a client that tries anyway gets a clean stream error; nothing reaches the origin; the connection lives on", async () => {
    const o = env.origins.nodeH2;
    await o.clear();
    const t = await tlsThroughProxy(env.proxy.port, o.authority, {
      ca,
      servername: "localhost",
      alpn: ["h2"],
    });
    const session = new H2ClientSession({
      plan: { settings: [], connectionWindowIncrement: 0, priorityFrames: [], firstStreamId: 1 },
      encoder: new HpackEncoder(CHROME_HPACK_POLICY),
      decoder: new HpackDecoder(),
    });
    const events: H2Event[] = [];
    t.on("data", (d: Buffer) => {
      events.push(...session.receive(d));
      const out = session.takeOutput();
      if (out.length > 0) t.write(out);
    });
    t.on("error", () => {});
    t.write(session.preface());
    const open = (fields: [string, string][]) => {
      const r = session.openStream({ fields, endStream: false });
      t.write(session.takeOutput());
      if (!r.ok) throw new Error(r.reason);
      return r.streamId;
    };
    const ws = open([
      [":method", "CONNECT"],
      [":protocol", "websocket"],
      [":scheme", "https"],
      [":path", "/ws"],
      [":authority", o.authority],
      ["sec-websocket-version", "13"],
    ]);
    const ended = (id: number) =>
      events.some(
        (e) =>
          ("streamId" in e && e.streamId === id && (e.type === "reset" || e.type === "end")) ||
          e.type === "goaway",
      );
    await waitUntil(() => ended(ws), "the extended CONNECT answered");
    const head = events.find((e) => e.type === "headers" && e.streamId === ws);
    const reset = events.find((e) => e.type === "reset" && e.streamId === ws);
    expect(head?.type === "headers" ? head.status >= 400 : reset !== undefined).toBe(true);
    expect(events.some((e) => e.type === "goaway")).toBe(false);
    const get = session.openStream({
      fields: [
        [":method", "GET"],
        [":scheme", "https"],
        [":path", "/bytes?n=5"],
        [":authority", o.authority],
      ],
      endStream: true,
    });
    t.write(session.takeOutput());
    if (!get.ok) throw new Error(get.reason);
    await waitUntil(() => ended(get.streamId), "the GET after it");
    expect(events.find((e) => e.type === "headers" && e.streamId === get.streamId)).toMatchObject({
      status: 200,
    });
    expect((await o.stats()).reqs.map((r) => r.path)).toEqual(["/bytes?n=5"]);
    t.destroy();
  });
});

describe("a client that negotiated h2 (ALPN) must open with the connection preface", () => {
  test("an HTTP/1.1 request instead gets GOAWAY(PROTOCOL_ERROR) and the end (RFC 9113 §3.4); nothing reaches the origin", async () => {
    const o = env.origins.nodeH2;
    await o.clear();
    const t = await tlsThroughProxy(env.proxy.port, o.authority, {
      ca,
      servername: "localhost",
      alpn: ["h2"],
    });
    expect(t.alpnProtocol).toBe("h2");
    const chunks: Buffer[] = [];
    t.on("data", (d: Buffer) => chunks.push(d));
    t.on("error", () => {});
    const closed = new Promise((resolve) => t.once("close", resolve));
    t.write(`GET /bytes?n=5 HTTP/1.1\r\nHost: ${o.authority}\r\n\r\n`);
    await closed;
    const bytes = Buffer.concat(chunks);
    const frames: { type: number; payload: Buffer }[] = [];
    for (let at = 0; at + 9 <= bytes.length; ) {
      const length = bytes.readUIntBE(at, 3);
      frames.push({ type: bytes[at + 3] as number, payload: bytes.subarray(at + 9, at + 9 + length) });
      at += 9 + length;
    }
    expect(bytes.subarray(0, 4).toString()).not.toBe("HTTP"); // not answered as HTTP/1.1
    const goaway = frames.find((f) => f.type === 0x7);
    expect(goaway?.payload.readUInt32BE(4)).toBe(0x1); // PROTOCOL_ERROR
    expect(frames.at(-1)?.type).toBe(0x7);
    expect((await o.stats()).reqs).toEqual([]);
  });
});

describe("a client that sends no SNI for a single-label host (Java's JSSE for `localhost`)", () => {
  test("gets the leaf for the CONNECT host and is served", async () => {
    const o = env.origins.nodeH1;
    const t = await tlsThroughProxy(env.proxy.port, o.authority, { ca, servername: "", acceptAnyName: true });
    expect(t.getPeerCertificate().subjectaltname).toContain("DNS:localhost");
    expect(t.authorized).toBe(true); // chained to the proxy's CA
    const got = collect(t);
    t.write(`GET /bytes?n=3 HTTP/1.1\r\nHost: ${o.authority}\r\n\r\n`);
    await waitUntil(() => got.text().endsWith("\r\n0\r\n\r\n"), "the answer");
    expect(got.text()).toMatch(/^HTTP\/1\.1 200 /);
    t.destroy();
  });

  test("Java's HttpsURLConnection to https://localhost:PORT/ through the proxy", async () => {
    const o = env.origins.nodeH1;
    // Spawned, not spawnSync: the proxy runs in this process.
    const p = Bun.spawn(
      [
        "java",
        `${import.meta.dir}/helpers/proxy-java-client.java`,
        "http",
        String(env.proxy.port),
        `https://${o.authority}/bytes?n=3`,
        env.pki.caCertPath,
      ],
      { stdout: "pipe", stderr: "pipe" },
    );
    const [out, err] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text()]);
    await p.exited;
    expect(err).toBe("");
    expect(out).toMatch(/^200 /);
  }, 60_000);
});
