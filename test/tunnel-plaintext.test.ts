/**
 * Plaintext inside a MITM tunnel (src/proxy/tunnel-plaintext.ts): `curl -p` to an `http://` URL,
 * `curl --socks5-hostname` to one, a WebSocket handshake for `ws://` through CONNECT, against
 * node:http under Node 20 (test/helpers/forward-origin.mjs: not ours). In the full HTTP mode the
 * origin gets the profile's HTTP/1.1 request on the connection dialled before `200`; in the
 * `tls-relay` mode, and for anything that is not HTTP/1, the bytes are relayed as they are.
 * Before this, every such tunnel failed its TLS handshake (`HTTP_REQUEST`) and the client got
 * nothing back.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import * as net from "node:net";
import { ProxyError } from "../src/errors/proxy-error.ts";
import { readTunnelOpening } from "../src/proxy/tunnel-plaintext.ts";
import { classifyTunnelStart, MAX_REQUEST_LINE_OCTETS } from "../src/proxy/tunnel-start.ts";
import {
  CHROME,
  type ForwardEnv,
  type ForwardProxy,
  headerValue,
  names,
  records,
  startForwardEnv,
} from "./helpers/forward-env.ts";
import { run } from "./helpers/hop-env.ts";
import { connectRequest, rawConnect } from "./helpers/proxy-env.ts";
import { tunnelRecord as recordOfPort } from "./helpers/wire-env.ts";

/** Bounded polling with an async condition (never a timing assertion). */
async function waitFor(cond: () => boolean | Promise<boolean>, ms: number): Promise<void> {
  for (let waited = 0; !(await cond()); waited += 10) {
    if (waited >= ms) throw new Error(`condition not met within ${ms} ms`);
    await Bun.sleep(10);
  }
}

const enc = new TextEncoder();

describe("classifyTunnelStart (pure, split input)", () => {
  const feed = (text: string) => {
    const kinds: string[] = [];
    for (let i = 1; i <= text.length; i++) kinds.push(classifyTunnelStart(enc.encode(text.slice(0, i))));
    return kinds;
  };

  test("an HTTP/1 request line is known once the whole line is in, byte by byte", () => {
    const line = "GET /x HTTP/1.1\r\n";
    expect(feed(line)).toEqual([...Array(line.length - 1).fill("incomplete"), "http1"]);
    expect(classifyTunnelStart(enc.encode("M-SEARCH * HTTP/1.1\r\nHOST: x\r\n"))).toBe("http1");
    expect(classifyTunnelStart(enc.encode("BASELINE-CONTROL /x HTTP/1.0\r\n"))).toBe("http1");
    expect(classifyTunnelStart(enc.encode("GET / HTTP/1.1\n"))).toBe("http1"); // bare LF: the codec refuses it
  });

  test("empty lines before the request line, of any number and form, go to the codec (which accepts one)", () => {
    expect(classifyTunnelStart(enc.encode("\r"))).toBe("incomplete");
    expect(classifyTunnelStart(enc.encode("\r\n\r\n"))).toBe("incomplete");
    expect(classifyTunnelStart(enc.encode("\r\nGET / HTTP/1.1\r\n"))).toBe("http1");
    // More, a bare LF or a lone CR: HTTP/1 all the same, for the codec to refuse. As "other" they
    // went to the byte relay, past the CONNECT-host check and the header filter.
    expect(classifyTunnelStart(enc.encode("\r\n\r\nGET / HTTP/1.1\r\n"))).toBe("http1");
    expect(classifyTunnelStart(enc.encode("\nGET / HTTP/1.1\r\n"))).toBe("http1");
    expect(classifyTunnelStart(enc.encode("\rGET / HTTP/1.1\r\n"))).toBe("http1");
    expect(classifyTunnelStart(enc.encode("\r\n".repeat(5)))).toBe("http1"); // past 8 bytes of them
    expect(classifyTunnelStart(enc.encode("\r\nEHLO client.example\r\n"))).toBe("other");
  });

  test("a line too long to wait for is left to the HTTP/1.1 codec (it answers 414)", () => {
    const long = enc.encode(`GET /${"a".repeat(MAX_REQUEST_LINE_OCTETS)}`);
    expect(classifyTunnelStart(long.subarray(0, MAX_REQUEST_LINE_OCTETS - 1))).toBe("incomplete");
    expect(classifyTunnelStart(long)).toBe("http1");
  });

  test("a malformed line ending in an HTTP version is HTTP/1 too, for the codec to refuse", () => {
    // A lenient origin (Python's http.server) serves each of these; relayed as bytes, they passed
    // the CONNECT-host check and the header filter.
    for (const line of [
      " GET /x HTTP/1.1",
      "\tGET /x HTTP/1.1",
      "GET\t/x\tHTTP/1.1",
      "GET /x HTTP/1.1 ",
      "GET /x HTTP/1.2",
      "GET /x HTTP/1.1\v",
      "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA /x HTTP/1.1",
    ])
      expect([line, classifyTunnelStart(enc.encode(`${line}\r\n`))]).toEqual([line, "http1"]);
    expect(classifyTunnelStart(enc.encode(" GET /"))).toBe("incomplete"); // its end decides
  });

  test("anything else is other: text protocols, HTTP/0.9, HTTP/2 with prior knowledge, binary", () => {
    expect(classifyTunnelStart(new Uint8Array(0))).toBe("incomplete");
    expect(classifyTunnelStart(enc.encode("SSH-2.0-OpenSSH_9.2\r\n"))).toBe("other");
    expect(classifyTunnelStart(enc.encode("EHLO client.example\r\n"))).toBe("other");
    expect(classifyTunnelStart(enc.encode("NICK someone\r\n"))).toBe("other");
    expect(classifyTunnelStart(enc.encode("get key\r\n"))).toBe("other");
    expect(classifyTunnelStart(enc.encode("GET /\r\n"))).toBe("other");
    expect(classifyTunnelStart(enc.encode("GET / HTTP/1.1 and more\r\n"))).toBe("other");
    expect(classifyTunnelStart(enc.encode("A".repeat(21)))).toBe("incomplete"); // text: its line end decides
    expect(classifyTunnelStart(enc.encode(`${"A".repeat(40)}\u0001`))).toBe("other"); // binary: at once
    expect(classifyTunnelStart(enc.encode("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"))).toBe("other");
    expect(classifyTunnelStart(Uint8Array.from([0x80, 0x2e, 0x01]))).toBe("other");
    expect(classifyTunnelStart(Uint8Array.from([0x00]))).toBe("other");
    expect(classifyTunnelStart(Uint8Array.from([0x16, 0x03, 0x01]))).toBe("other"); // TLS: never asked
  });
});

let env: ForwardEnv;
let full: ForwardProxy;
let relayOnly: ForwardProxy;

beforeAll(async () => {
  env = await startForwardEnv();
  full = await env.polytls((c) => {
    c.proxy.socks.listen = "127.0.0.1:0";
  });
  relayOnly = await env.polytls((c) => {
    c.proxy.mitm.http = "tls-relay";
  });
});
afterAll(async () => {
  await env.close();
});

async function curl(args: string[]) {
  const ran = await run("curl", ["-sS", "--max-time", "20", "-w", "\n%{http_code}", ...args]);
  const cut = ran.stdout.lastIndexOf("\n");
  return { status: Number(ran.stdout.slice(cut + 1)), body: ran.stdout.slice(0, cut), ran };
}

async function originRecord(path: string) {
  const all = (await env.node.records()).filter((r) => r.path === path);
  expect(all).toHaveLength(1);
  return all[0] as (typeof all)[number];
}

/** The proxy's `tunnel closed` record for the tunnel to the node origin whose log holds `n` such records. */
async function tunnelRecord(p: ForwardProxy, n: number) {
  await waitFor(() => records(p.logs).length >= n, 5_000);
  return records(p.logs)[n - 1] as Record<string, unknown>;
}

/** The proxy's `tunnel closed` record of the tunnel whose client socket is `s` (by its port). */
const recordOf = (p: ForwardProxy, s: net.Socket) => recordOfPort(p.logs, s.localPort ?? 0);

/** CONNECT on a raw socket; resolves with the socket once `200` is read (nothing past it yet). */
async function connectTunnel(port: number, target: string): Promise<net.Socket> {
  const r = await rawConnect(port, connectRequest(target));
  if (r.status !== 200 || r.rest.length > 0) throw new Error(`CONNECT answered ${r.head.split("\r\n")[0]}`);
  r.socket.resume(); // rawConnect paused it
  return r.socket;
}

/** Collects what the socket receives until `done(text)` or the connection ends. */
function collect(s: net.Socket, done: (text: string) => boolean): Promise<{ text: string; reset: boolean }> {
  return new Promise((resolve) => {
    let text = "";
    let reset = false;
    s.on("data", (d: Buffer) => {
      text += d.toString("latin1");
      if (done(text)) {
        s.destroy();
        resolve({ text, reset });
      }
    });
    s.on("error", () => {
      reset = true;
    });
    s.on("close", () => resolve({ text, reset }));
  });
}

describe("full HTTP mode: plaintext HTTP/1 in a tunnel is re-originated as the profile's browser", () => {
  test("curl -p (CONNECT, then plain HTTP): two requests, Chrome's HTTP/1.1 request, one upstream connection", async () => {
    const base = `http://127.0.0.1:${env.node.port}`;
    const before = records(full.logs).length;
    const r = await run("curl", [
      "-sS",
      "--max-time",
      "20",
      "-p",
      "-x",
      `http://127.0.0.1:${full.port}`,
      "-H",
      "User-Agent: curl-own/1.0",
      "-H",
      "X-PolyTLS-Request-Kind: navigate",
      "-H",
      "X-Custom: kept",
      "-w",
      "%{http_code}\n",
      "-o",
      "/dev/null",
      `${base}/plain-a`,
      "-o",
      "/dev/null",
      `${base}/plain-b`,
    ]);
    expect(r.stdout.trim().split("\n")).toEqual(["200", "200"]);
    const a = await originRecord("/plain-a");
    const b = await originRecord("/plain-b");
    // The connection dialled before 200 (the origin's first) carries both: keep-alive upstream.
    expect(a.conn).toBe(1);
    expect(b.conn).toBe(a.conn);
    const got = names(a.rawHeaders);
    expect(got[0]).toBe("Host");
    expect(headerValue(a.rawHeaders, "host")).toBe(`127.0.0.1:${env.node.port}`);
    expect(headerValue(a.rawHeaders, "user-agent")).toMatch(/^Mozilla\/5\.0 .*Chrome\/143/);
    expect(headerValue(a.rawHeaders, "sec-ch-ua")).toContain("143"); // 127.0.0.1 is potentially trustworthy
    expect(headerValue(a.rawHeaders, "accept-encoding")).toBe("gzip, deflate"); // no br / zstd without TLS
    expect(headerValue(a.rawHeaders, "x-custom")).toBe("kept");
    expect(got.some((n) => n.toLowerCase().startsWith("x-polytls"))).toBe(false);
    expect(got.filter((n) => n === "Host")).toHaveLength(1);
    const rec = await tunnelRecord(full, before + 1);
    expect(rec).toMatchObject({
      mode: "mitm",
      profile: CHROME,
      clientTls: false,
      http: "h1",
      upstreamHttp: "http/1.1",
      requests: 2,
      statuses: "200:2",
      errorCode: null,
    });
  });

  test("X-PolyTLS-Upstream-Profile on a request in the tunnel: that profile's request; an unknown one 400", async () => {
    const base = `http://127.0.0.1:${env.node.port}`;
    const before = records(full.logs).length;
    const common = ["-p", "-x", `http://127.0.0.1:${full.port}`, "-w", "%{http_code}\n"];
    const r = await run("curl", [
      "-sS",
      "--max-time",
      "20",
      ...common,
      "-o",
      "/dev/null",
      `${base}/plain-profile-tunnel`,
      "--next",
      ...common,
      "-H",
      "X-PolyTLS-Upstream-Profile: firefox-145-macos-arm64",
      "-o",
      "/dev/null",
      `${base}/plain-profile-firefox`,
      "--next",
      ...common,
      "-H",
      "X-PolyTLS-Upstream-Profile: no-such-profile",
      `${base}/plain-profile-unknown`,
    ]);
    const lines = r.stdout.trim().split("\n");
    expect(lines[0]).toBe("200");
    expect(lines[1]).toBe("200");
    expect(lines.at(-1)).toBe("400");
    expect(r.stdout).toContain('unknown profile "no-such-profile"');
    const chrome = await originRecord("/plain-profile-tunnel");
    const firefox = await originRecord("/plain-profile-firefox");
    expect(headerValue(chrome.rawHeaders, "user-agent")).toMatch(/Chrome\/143/);
    expect(headerValue(firefox.rawHeaders, "user-agent")).toMatch(/Firefox\/145/);
    expect(names(firefox.rawHeaders).some((n) => n.toLowerCase().startsWith("x-polytls"))).toBe(false);
    expect((await env.node.records()).filter((x) => x.path === "/plain-profile-unknown")).toHaveLength(0);
    const rec = await tunnelRecord(full, before + 1);
    expect(rec).toMatchObject({ profile: CHROME, clientTls: false, requests: 3, statuses: "200:2,400:1" });
  });

  test("a request naming another host than the CONNECT target gets 421 and never reaches the origin", async () => {
    const before = (await env.node.records()).length;
    const r = await curl([
      "-p",
      "-x",
      `http://127.0.0.1:${full.port}`,
      "-H",
      "Host: elsewhere.example",
      `http://127.0.0.1:${env.node.port}/misdirected`,
    ]);
    expect(r.status).toBe(421);
    expect((await env.node.records()).length).toBe(before);
  });

  test("the first request sent together with the CONNECT (read past its head) is served", async () => {
    const target = `127.0.0.1:${env.node.port}`;
    const s = net.connect(full.port, "127.0.0.1");
    s.on("error", () => {});
    const got = collect(s, (t) => t.includes('"path":"/with-connect"'));
    s.write(
      `CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\n` +
        `GET /with-connect HTTP/1.1\r\nHost: ${target}\r\nConnection: close\r\n\r\n`,
    );
    const { text } = await got;
    expect(text.startsWith("HTTP/1.1 200 Connection Established\r\n\r\nHTTP/1.1 200 ")).toBe(true);
    expect(headerValue((await originRecord("/with-connect")).rawHeaders, "user-agent")).toMatch(
      /Chrome\/143/,
    );
  });

  test("a malformed request line a lenient origin would serve (Python http.server): 400, never relayed", async () => {
    const target = `127.0.0.1:${env.node.port}`;
    for (const line of [" GET /lenient HTTP/1.1 ", "GET\t/lenient\tHTTP/1.1", "GET /lenient HTTP/1.2"]) {
      const s = await connectTunnel(full.port, target);
      const got = collect(s, (t) => t.includes("\r\n\r\n"));
      s.write(
        `${line}\r\nHost: elsewhere.example\r\nProxy-Authorization: Basic YTpi\r\nConnection: close\r\n\r\n`,
      );
      const answer = (await got).text;
      // The proxy's answer, naming its code (a strict origin would refuse these too, on its own).
      expect([line, /^HTTP\/1\.1 (400|505) [\s\S]*HTTP_BAD_REQUEST/.test(answer)]).toEqual([line, true]);
    }
    expect((await env.node.records()).some((r) => r.path === "/lenient")).toBe(false);
  });

  for (const [what, prefix] of [
    ["two empty lines", "\r\n\r\n"],
    ["a bare LF", "\n"],
    ["nine empty lines", "\r\n".repeat(9)],
  ] as const) {
    test(`${what} before a request naming another host: refused, never relayed to the origin`, async () => {
      const target = `127.0.0.1:${env.node.port}`;
      const s = await connectTunnel(full.port, target);
      const got = collect(s, (t) => t.includes("\r\n\r\n"));
      s.write(
        `${prefix}GET /steered HTTP/1.1\r\nHost: elsewhere.example\r\n` +
          "X-PolyTLS-Upstream-Profile: firefox\r\nProxy-Authorization: Basic YTpi\r\nConnection: close\r\n\r\n",
      );
      expect((await got).text).toMatch(/^HTTP\/1\.1 400 /);
      expect((await env.node.records()).some((r) => r.path === "/steered")).toBe(false);
    });
  }

  test("an https:// URL sent in plaintext is refused (400), never sent without TLS", async () => {
    const s = await connectTunnel(full.port, `127.0.0.1:${env.node.port}`);
    const got = collect(s, (t) => t.includes("\r\n\r\n"));
    s.write(
      `GET https://127.0.0.1:${env.node.port}/not-plain HTTP/1.1\r\nHost: 127.0.0.1:${env.node.port}\r\n\r\n`,
    );
    expect((await got).text).toMatch(/^HTTP\/1\.1 400 /);
    expect((await env.node.records()).some((r) => r.path === "/not-plain")).toBe(false);
  });

  test("curl --socks5-hostname to an http:// URL: the same browser request", async () => {
    const socks = full.proxy.server.socksAddress()?.port ?? 0;
    const r = await curl([
      "--socks5-hostname",
      `127.0.0.1:${socks}`,
      "-H",
      "X-PolyTLS-Request-Kind: navigate",
      `http://localhost:${env.node.port}/via-socks`,
    ]);
    expect(r.status).toBe(200);
    const rec = await originRecord("/via-socks");
    expect(names(rec.rawHeaders)[0]).toBe("Host");
    expect(headerValue(rec.rawHeaders, "host")).toBe(`localhost:${env.node.port}`);
    expect(headerValue(rec.rawHeaders, "user-agent")).toMatch(/Chrome\/143/);
  });

  test("ws:// through CONNECT: the profile's WebSocket handshake, 101, then frames both ways", async () => {
    const s = await connectTunnel(full.port, `127.0.0.1:${env.node.port}`);
    const key = randomBytes(16).toString("base64");
    let text = "";
    s.on("data", (d: Buffer) => {
      text += d.toString("latin1");
    });
    s.on("error", () => {});
    s.write(
      `GET /ws-plain HTTP/1.1\r\nHost: 127.0.0.1:${env.node.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\nUser-Agent: ws-client/1\r\n\r\n`,
    );
    await waitFor(() => text.includes("\r\n\r\n"), 5_000);
    expect(text.startsWith("HTTP/1.1 101")).toBe(true);
    // One masked text frame, echoed by the origin through the relay.
    const payload = Buffer.from("hello ws");
    const mask = randomBytes(4);
    const masked = Buffer.from(payload.map((b, i) => b ^ (mask[i & 3] as number)));
    s.write(Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), mask, masked]));
    await waitFor(() => text.slice(text.indexOf("\r\n\r\n") + 4).includes("hello ws"), 5_000);
    s.destroy();
    const rec = await originRecord("/ws-plain");
    expect(headerValue(rec.rawHeaders, "upgrade")?.toLowerCase()).toBe("websocket");
    expect(headerValue(rec.rawHeaders, "sec-websocket-key")).toBe(key);
    expect(headerValue(rec.rawHeaders, "user-agent")).toMatch(/Chrome\/143/);
  });

  test("a WebSocket cut by the idle timeout still counts its 101 in the record", async () => {
    const p = await env.polytls((c) => {
      c.proxy.limits.idleTimeoutMs = 300;
    });
    const s = await connectTunnel(p.port, `127.0.0.1:${env.node.port}`);
    let text = "";
    s.on("data", (d: Buffer) => {
      text += d.toString("latin1");
    });
    s.on("error", () => {});
    const logged = recordOf(p, s);
    s.write(
      `GET /ws-idle HTTP/1.1\r\nHost: 127.0.0.1:${env.node.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${randomBytes(16).toString("base64")}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
    await waitFor(() => text.startsWith("HTTP/1.1 101"), 5_000);
    // Nothing more either way: the idle timeout ends the relay.
    expect(await logged).toMatchObject({ clientTls: false, requests: 1, statuses: "101:1" });
  });

  test("a refused WebSocket handshake: the 403 reaches the client, the origin connection is closed", async () => {
    const s = await connectTunnel(full.port, `127.0.0.1:${env.node.port}`);
    let text = "";
    s.on("data", (d: Buffer) => {
      text += d.toString("latin1");
    });
    s.on("error", () => {});
    const handshake =
      `GET /ws-refuse HTTP/1.1\r\nHost: 127.0.0.1:${env.node.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${randomBytes(16).toString("base64")}\r\nSec-WebSocket-Version: 13\r\n\r\n`;
    for (let i = 1; i <= 3; i++) {
      s.write(handshake);
      await waitFor(() => text.split("HTTP/1.1 403").length - 1 === i, 2_000);
    }
    // Each refused handshake's connection is closed by the proxy while the tunnel stays open.
    const closed = async () =>
      (await env.node.records()).filter((r) => r.path === "/ws-refuse closed").length;
    await waitFor(async () => (await closed()) === 3, 3_000);
    expect(s.destroyed).toBe(false);
    s.destroy();
  });

  test("the connection dialled before 200, closed by the origin while the client waited: a GET goes on a new one", async () => {
    // An origin that closes a connection idle for 100 ms (as a header timeout does).
    let conns = 0;
    const origin = net.createServer((c) => {
      conns += 1;
      let head = "";
      const idle = setTimeout(() => c.destroy(), 100);
      c.on("error", () => {});
      c.on("data", (d: Buffer) => {
        clearTimeout(idle);
        head += d.toString("latin1");
        if (head.includes("\r\n\r\n"))
          c.end("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
      });
    });
    await new Promise<void>((r) => origin.listen(0, "127.0.0.1", r));
    try {
      const port = (origin.address() as net.AddressInfo).port;
      const s = await connectTunnel(full.port, `127.0.0.1:${port}`);
      await waitFor(() => conns === 1, 5_000);
      await Bun.sleep(300); // the origin has closed the spare by now
      const got = collect(s, (t) => t.includes("\r\n\r\nok"));
      s.write(`GET /late HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
      const { text } = await got;
      expect(text.startsWith("HTTP/1.1 200 ")).toBe(true);
      expect(conns).toBe(2);
    } finally {
      origin.close();
    }
  });

  test("a client that resets right after 200 is logged as the reset it is (IO), not as a TLS failure", async () => {
    const s = await connectTunnel(full.port, `127.0.0.1:${env.node.port}`);
    const rec = recordOf(full, s);
    s.resetAndDestroy();
    expect((await rec).errorCode).toBe("IO");
  });

  test("not HTTP/1 (a protocol of its own): the bytes are relayed as they are", async () => {
    const echo = net.createServer((c) => c.pipe(c));
    await new Promise<void>((r) => echo.listen(0, "127.0.0.1", r));
    try {
      const port = (echo.address() as net.AddressInfo).port;
      const s = await connectTunnel(full.port, `127.0.0.1:${port}`);
      const logged = recordOf(full, s);
      // A text protocol whose first line starts as a request line would (a token and a space).
      const got = collect(s, (t) => t.includes("QUIT"));
      s.write("EHLO client.example\r\nhello\r\n");
      await Bun.sleep(20);
      s.write("QUIT\r\n");
      expect((await got).text).toBe("EHLO client.example\r\nhello\r\nQUIT\r\n");
      expect(await logged).toMatchObject({
        mode: "mitm",
        clientTls: false,
        http: "relay",
        bytesUp: 34,
        bytesDown: 34,
      });
    } finally {
      echo.close();
    }
  });
});

describe("bounds of a plaintext client", () => {
  test("the first line and the first request head share one client handshake bound", async () => {
    const p = await env.polytls((c) => {
      c.proxy.limits.clientHandshakeTimeoutMs = 2_000;
    });
    const s = await connectTunnel(p.port, `127.0.0.1:${env.node.port}`);
    const got = collect(s, (t) => t.includes("\r\n\r\n"));
    const logged = recordOf(p, s);
    s.write("G");
    await Bun.sleep(1_000);
    s.write("ET /slow-head HTTP/1.1\r\n"); // the line is complete 1 s into the 2 s bound
    await Bun.sleep(1_600); // the head's end comes 0.6 s after the bound
    if (!s.destroyed) s.write(`Host: 127.0.0.1:${env.node.port}\r\n\r\n`);
    const { text } = await got;
    // The answer names the configured bound, not what was left of it.
    expect(text).toMatch(
      /^HTTP\/1\.1 408 [^\n]*\r\n[\s\S]*within 2000 ms of the 200 \(proxy\.limits\.client_handshake_timeout_ms\)/,
    );
    expect((await env.node.records()).some((r) => r.path === "/slow-head")).toBe(false);
    expect(await logged).toMatchObject({ clientTls: false, errorCode: "HEADER_TIMEOUT" });
  });

  test("a plaintext client that stalls inside its first line is logged as plaintext, its bytes counted", async () => {
    const p = await env.polytls((c) => {
      c.proxy.limits.clientHandshakeTimeoutMs = 300;
    });
    const s = await connectTunnel(p.port, `127.0.0.1:${env.node.port}`);
    s.on("error", () => {});
    const logged = recordOf(p, s);
    s.write("GE");
    expect(await logged).toMatchObject({ clientTls: false, errorCode: "HEADER_TIMEOUT", bytesUp: 2 });
    s.destroy();
  });

  test("an empty line before the first request: still the browser's request", async () => {
    const s = await connectTunnel(full.port, `127.0.0.1:${env.node.port}`);
    const got = collect(s, (t) => t.includes('"path":"/after-crlf"'));
    s.write(`\r\nGET /after-crlf HTTP/1.1\r\nHost: 127.0.0.1:${env.node.port}\r\nConnection: close\r\n\r\n`);
    expect((await got).text).toMatch(/^HTTP\/1\.1 200 /);
    expect(headerValue((await originRecord("/after-crlf")).rawHeaders, "user-agent")).toMatch(/Chrome\/143/);
  });

  test("a client gone before its first line is read is answered at once (IO), not at the bound", async () => {
    const server = net.createServer(() => {});
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    try {
      const c = net.connect((server.address() as net.AddressInfo).port, "127.0.0.1");
      await new Promise<void>((r) => c.once("connect", () => r()));
      const closed = new Promise<void>((r) => c.once("close", () => r()));
      c.destroy(); // as a client reset during the dial or the leaf's minting leaves it
      await closed; // its close event is past when the first line's reader starts
      const err = await readTunnelOpening(c, enc.encode("GET /a HT"), 30_000, undefined).catch((e) => e);
      expect(err).toBeInstanceOf(ProxyError);
      expect((err as ProxyError).code).toBe("IO");
    } finally {
      server.close();
    }
  });
});

describe("tls-relay mode: plaintext is relayed as the client sent it", () => {
  test("curl -p: the origin sees curl's own request", async () => {
    const before = records(relayOnly.logs).length;
    const r = await curl([
      "-p",
      "-x",
      `http://127.0.0.1:${relayOnly.port}`,
      "-H",
      "User-Agent: curl-own/1.0",
      `http://127.0.0.1:${env.node.port}/relayed-plain`,
    ]);
    expect(r.status).toBe(200);
    const rec = await originRecord("/relayed-plain");
    expect(headerValue(rec.rawHeaders, "user-agent")).toBe("curl-own/1.0");
    const logged = await tunnelRecord(relayOnly, before + 1);
    expect(logged).toMatchObject({ mode: "mitm", clientTls: false, errorCode: null });
    expect(logged.http).toBeUndefined();
  });
});
