/**
 * Upstream failures through the running proxy in the full HTTP mode, against Node 20 origins
 * (and one raw origin that pushes): a reset or dying upstream never looks like a clean end to
 * the client; GOAWAY retries the idempotent requests it left unprocessed and fails the others
 * with 502; a reused HTTP/1.1 connection closed before answering is retried for a GET; server
 * push is refused; a client that stops reading holds a bounded amount of the download.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type * as tls from "node:tls";
import { encodeFrame } from "../src/http/h2/frame-writer.ts";
import { curl, type E2eEnv, type E2eOrigin, h2Client, h2Request, startE2e } from "./helpers/e2e-env.ts";
import { connect } from "./helpers/e2e-h2-raw.ts";
import { rawFrames, rawText, sendFirstGet } from "./helpers/e2e-raw.ts";
import { tlsThroughProxy, tunnelRecords } from "./helpers/proxy-env.ts";
import { startRawH2Origin } from "./helpers/raw-h2-origin.ts";
import { type Origin, startTlsOrigin } from "./helpers/tls-env.ts";
import { waitUntil } from "./helpers/wait.ts";

let env: E2eEnv;
let ca: string;
const closers: Origin[] = [];
beforeAll(async () => {
  env = await startE2e();
  ca = await Bun.file(env.pki.caCertPath).text();
});
afterAll(async () => {
  for (const o of closers) await o.close();
  await env?.close();
});

/** The last `tunnel closed` record of a tunnel to `o` with these statuses, once logged. */
async function tunnelRecord(o: E2eOrigin, statuses: string): Promise<Record<string, unknown>> {
  const mine = () =>
    env.proxy.logs
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((rec) => rec.msg === "tunnel closed" && rec.host === o.authority && rec.statuses === statuses);
  await waitUntil(() => mine().length > 0, `a record with statuses ${statuses}`, 5_000);
  return mine().at(-1) as Record<string, unknown>;
}

const h1Tunnel = (o: E2eOrigin) => rawText(env.proxy.port, o.authority, ca);

describe("upstream reset or death mid-response", () => {
  for (const which of ["nodeH2", "nodeH1"] as const) {
    test(`${which}: an h2 client sees a stream reset, never a clean end; the record says why`, async () => {
      const s = await h2Client(env, env.origins[which]);
      const r = await h2Request(s, { ":path": "/rst" });
      expect(Number(r.headers[":status"])).toBe(200);
      expect(r.body.length).toBeLessThan(2000);
      expect(r.rstCode).not.toBe(0);
      const ok = await h2Request(s, { ":path": "/status/200" });
      expect(Number(ok.headers[":status"])).toBe(200); // only that stream was reset
      s.close();
      // The tunnel ends normally; its record counts the reset stream with the proxy's reason.
      const rec = await tunnelRecord(env.origins[which], "0:1,200:1");
      expect(rec.errorCode).toBeNull();
      expect(rec.exchangeErrors).toMatch(/^[A-Z_]+:1$/);
      expect(typeof rec.exchangeReason).toBe("string");
      expect(String(rec.exchangeReason).length).toBeGreaterThan(0);
    });

    test(`${which}: an h1 client sees a truncated response (no last chunk, connection cut)`, async () => {
      const c = await h1Tunnel(env.origins[which]);
      await c.send("GET /rst HTTP/1.1\r\nHost: localhost\r\n\r\n", () => false);
      expect(c.text().startsWith("HTTP/1.1 200 OK\r\n")).toBe(true);
      expect(c.text()).toContain("\r\ntransfer-encoding: chunked\r\n");
      expect(c.text().endsWith("0\r\n\r\n")).toBe(false);
    });
  }
});

describe("an origin ending a complete response with RST_STREAM(NO_ERROR)", () => {
  /** 200 with content-length, the whole body, then RST_STREAM(NO_ERROR) and no END_STREAM. */
  const resetting = (body: Buffer) =>
    rawH2Origin((s, streamId) => {
      // :status 200, then content-length (static name 28) as a literal without indexing.
      const length = Buffer.from(String(body.length));
      const block = Buffer.concat([Buffer.from([0x88, 0x0f, 0x0d, length.length]), length]);
      s.write(encodeFrame({ type: "HEADERS", streamId, endStream: false, endHeaders: true, block }));
      for (let at = 0; at < body.length; at += 16_384)
        s.write(
          encodeFrame({ type: "DATA", streamId, endStream: false, data: body.subarray(at, at + 16_384) }),
        );
      s.write(encodeFrame({ type: "RST_STREAM", streamId, code: 0 }));
    });

  test("a client still reading gets the whole response as complete, h2 and h1", async () => {
    // Before, the proxy threw away what it still held for the client and reset its stream (h2)
    // or cut the connection (h1).
    const body = Buffer.alloc(300_000, 7);
    const { origin } = await resetting(body);
    const target = `localhost:${origin.port}`;
    for (const proto of ["--http2", "--http1.1"]) {
      const r = await curl(env, [
        proto,
        "--limit-rate",
        "2M",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code} %{size_download}",
        `https://${target}/`,
      ]);
      expect([r.code, r.out]).toEqual([0, `200 ${body.length}`]);
    }
  });
});

describe("requests the client gave up on before their answer are counted (statuses 0)", () => {
  test("h2: a stream the client resets before the head", async () => {
    const o = env.origins.nodeH1;
    const c = await connect(env.proxy.port, o.authority, ca);
    const id = c.start([
      [":method", "GET"],
      [":scheme", "https"],
      [":authority", o.authority],
      [":path", "/delay?ms=5000"],
    ]);
    const asked = async () => (await o.stats()).reqs.some((r) => r.path === "/delay?ms=5000");
    for (let i = 0; i < 200 && !(await asked()); i++) await Bun.sleep(10);
    c.reset(id);
    const r = await c.request([
      [":method", "GET"],
      [":scheme", "https"],
      [":authority", o.authority],
      [":path", "/status/204"],
    ]);
    expect(r.status).toBe(204);
    c.close();
    const rec = await tunnelRecord(o, "0:1,204:1");
    expect(rec.requests).toBe(2);
  });

  for (const which of ["nodeH1", "nodeH2"] as const) {
    test(`h1, ${which}: a request waiting for its answer when the client closes (FIN): cancelled at once`, async () => {
      // Before, the proxy waited for the answer (a long poll: minutes) or the idle timeout.
      const o = env.origins[which];
      const c = await h1Tunnel(o);
      c.t.write(`GET /delay?ms=20000 HTTP/1.1\r\nHost: ${o.authority}\r\n\r\n`);
      const asked = async () => (await o.stats()).reqs.some((r) => r.path === "/delay?ms=20000");
      for (let i = 0; i < 200 && !(await asked()); i++) await Bun.sleep(10);
      c.t.end();
      await waitUntil(() => c.closed(), "the proxy's close", 5_000);
      const rec = await tunnelRecord(o, "0:1");
      expect(rec).toMatchObject({ requests: 1, errorCode: null });
    }, 15_000);
  }

  for (const which of ["nodeH1", "nodeH2"] as const) {
    test(`h2, ${which}: a stream waiting for its answer when the client closes (FIN): cancelled at once`, async () => {
      // Before, the tunnel stayed until the answer came (a long poll: minutes) or the idle timeout.
      const o = env.origins[which];
      await o.clear();
      const c = await rawFrames(env.proxy.port, o.authority, ca);
      sendFirstGet(c, o.authority, "/delay?ms=20000");
      const asked = async () => (await o.stats()).reqs.some((r) => r.path === "/delay?ms=20000");
      for (let i = 0; i < 200 && !(await asked()); i++) await Bun.sleep(10);
      c.t.end();
      await waitUntil(() => c.closed(), "the proxy's close", 5_000);
      expect(c.frames.find((f) => f.type === "RST_STREAM" && f.streamId === 1)).toMatchObject({ code: 8 }); // CANCEL
      const rec = await tunnelRecord(o, "0:1");
      expect(rec).toMatchObject({ requests: 1, errorCode: null });
    }, 15_000);
  }

  test("h1: a request in flight when the client resets the connection", async () => {
    const o = env.origins.nodeH1;
    const c = await h1Tunnel(o);
    c.t.write(`GET /delay?ms=5000 HTTP/1.1\r\nHost: ${o.authority}\r\n\r\n`);
    await Bun.sleep(100);
    c.t.resetAndDestroy();
    const rec = await tunnelRecord(o, "0:1");
    expect(rec.requests).toBe(1);
  });
});

describe("retries", () => {
  test("GOAWAY mid-way: the GET above its last stream id is retried on a new connection, the POST with a body is refused to the client (REFUSED_STREAM)", async () => {
    const o = env.origins.nodeH2;
    await o.clear();
    const s = await h2Client(env, o);
    const trigger = h2Request(s, { ":path": "/goaway-first?n=3" });
    const seen = async (path: string) => (await o.stats()).reqs.some((r) => r.path === path);
    for (let i = 0; i < 500 && !(await seen("/goaway-first?n=3")); i++) await Bun.sleep(10);
    const get = h2Request(s, { ":path": "/g/a" });
    const post = h2Request(s, { ":method": "POST", ":path": "/g/b" }, new Uint8Array([1, 2, 3]));
    const [t, g, p] = await Promise.all([trigger, get, post]);
    expect([Number(t.headers[":status"]), t.body.toString()]).toEqual([200, "bye"]);
    expect([Number(g.headers[":status"]), g.body.toString()]).toEqual([200, "ok GET"]);
    // Not processed, but its body is gone: the client may send it again (RFC 9113 §8.7).
    expect(p.headers[":status"]).toBeUndefined();
    expect(p.rstCode).toBe(7); // REFUSED_STREAM
    const stats = await o.stats();
    const gets = stats.reqs.filter((r) => r.path === "/g/a");
    expect(gets).toHaveLength(2);
    expect(gets[0]?.conn).not.toBe(gets[1]?.conn);
    expect(stats.reqs.filter((r) => r.path === "/g/b")).toHaveLength(1);
    s.close();
  });

  test("a refused stream: a POST without body is sent again; with one, an h2 client gets REFUSED_STREAM, an h1 client 502", async () => {
    const o = env.origins.nodeH2;
    await o.clear();
    const s = await h2Client(env, o);
    const bare = await h2Request(s, { ":method": "POST", ":path": "/refuse-once/bare" });
    expect([Number(bare.headers[":status"]), JSON.parse(bare.body.toString()).method]).toEqual([200, "POST"]);
    const withBody = await h2Request(
      s,
      { ":method": "POST", ":path": "/refuse-once/body" },
      new Uint8Array(5),
    );
    expect(withBody.headers[":status"]).toBeUndefined();
    expect(withBody.rstCode).toBe(7); // REFUSED_STREAM: nothing processed, the client may send it again
    s.close();
    const c = await h1Tunnel(o);
    const all = await c.send(
      "POST /refuse-once/h1 HTTP/1.1\r\nHost: localhost\r\nContent-Length: 2\r\n\r\nhi",
      (a) => a.includes("\r\n\r\n") && a.endsWith("\n"),
    );
    expect(all).toStartWith("HTTP/1.1 502 Bad Gateway");
    c.t.destroy();
    const stats = await o.stats();
    const count = (p: string) => stats.reqs.filter((r) => r.path === p).length;
    expect([count("/refuse-once/bare"), count("/refuse-once/body"), count("/refuse-once/h1")]).toEqual([
      2, 1, 1,
    ]);
    // curl sends a refused upload again on its own, and this time the origin takes it.
    const r = await curl(env, [
      "--http2",
      "--data-binary",
      "hello",
      `https://${o.authority}/refuse-once/curl`,
    ]);
    expect(JSON.parse(r.out)).toMatchObject({ n: 5, method: "POST" });
  });

  test("a reused HTTP/1.1 connection closed before any response: a GET is retried, a POST gets 502", async () => {
    const o = env.origins.nodeH1;
    for (const [method, want] of [
      ["GET", "HTTP/1.1 200 OK"],
      ["POST", "HTTP/1.1 502 Bad Gateway"],
    ] as const) {
      await o.clear();
      const c = await h1Tunnel(o);
      await c.send("GET /drop-next HTTP/1.1\r\nHost: localhost\r\n\r\n", (all) => all.endsWith("armed"));
      const body = method === "POST" ? "Content-Length: 2\r\n\r\nhi" : "\r\n";
      const all = await c.send(
        `${method} /bytes?n=4&cl=1 HTTP/1.1\r\nHost: localhost\r\n${body}`,
        (a) => a.split("HTTP/1.1 ").length === 3 && (a.endsWith("\n") || a.endsWith("\x07&Ed")),
      );
      expect(all.slice(all.indexOf("armed") + 5)).toStartWith(want);
      const stats = await o.stats();
      expect(stats.reqs.filter((r) => r.dropped)).toHaveLength(1);
      expect(stats.reqs.filter((r) => r.path.startsWith("/bytes") && !r.dropped)).toHaveLength(
        method === "GET" ? 1 : 0,
      );
      c.t.destroy();
    }
  });
});

describe("the first upstream connection, dialled before 200", () => {
  test("closed by an HTTP/1.1 origin without an answer: a GET goes on a new connection, as on a reused one", async () => {
    // The first connection is dropped when its request arrives (as an origin that had already
    // timed it out would), later ones answer.
    let conns = 0;
    const leaf = await env.pki.leaf("localhost");
    const origin = await startTlsOrigin(leaf, {
      handler: (s) => {
        conns += 1;
        const n = conns;
        s.on("error", () => {});
        let head = "";
        s.on("data", (d: Buffer) => {
          head += d.toString("latin1");
          if (!head.includes("\r\n\r\n")) return;
          if (n === 1) s.destroy();
          else s.end("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
        });
      },
    });
    closers.push(origin);
    const t = await tlsThroughProxy(env.proxy.port, `localhost:${origin.port}`, {
      ca,
      servername: "localhost",
    });
    let text = "";
    t.on("data", (d: Buffer) => {
      text += d.toString("latin1");
    });
    t.on("error", () => {});
    t.write(`GET /first HTTP/1.1\r\nHost: localhost:${origin.port}\r\n\r\n`);
    await waitUntil(() => text.endsWith("ok") || text.includes(" 502 "), "the answer");
    expect(text.startsWith("HTTP/1.1 200 ")).toBe(true);
    expect(conns).toBe(2);
    t.destroy();
  });
});

/**
 * A raw HTTP/2 origin (frames written by hand, for what a library will not send): SETTINGS, then
 * `answer(socket, streamId)` for each request HEADERS; every frame from the proxy is recorded.
 */
async function rawH2Origin(
  answer: (s: tls.TLSSocket, streamId: number) => void,
  settings: [number, number][] = [],
): Promise<{ origin: Origin; frames: { type: string; code?: number }[] }> {
  const frames: { type: string; code?: number }[] = [];
  const origin = await startRawH2Origin(await env.pki.leaf("localhost"), settings, (s, f) => {
    frames.push({
      type: f.type,
      ...(f.type === "GOAWAY" || f.type === "RST_STREAM" ? { code: f.code } : {}),
    });
    if (f.type === "HEADERS") answer(s, f.streamId);
  });
  closers.push(origin);
  return { origin, frames };
}

/** Pushes (push was disabled) before answering. */
function pushingOrigin() {
  return rawH2Origin((s, streamId) => {
    // :method GET, :scheme https, :path /, then :authority as a literal (RFC 7541 §6.2.2).
    const block = Buffer.concat([Buffer.from([0x82, 0x87, 0x84, 0x01, 9]), Buffer.from("localhost")]);
    s.write(encodeFrame({ type: "PUSH_PROMISE", streamId, endHeaders: true, promisedStreamId: 2, block }));
    s.write(
      encodeFrame({
        type: "HEADERS",
        streamId,
        endStream: true,
        endHeaders: true,
        block: Buffer.from([0x88]),
      }),
    );
  });
}

describe("an HTTP/1.1 origin's framing fields, as HTTP/2 clients need them", () => {
  test("a repeated or listed Content-Length goes once; a 204's is dropped", async () => {
    // An HTTP/2 client (curl's nghttp2) refuses two content-length fields, `2, 2`, or a 204 with
    // one, all of which HTTP/1.1 origins send and HTTP/1.1 clients take.
    const heads: Record<string, string> = {
      "/twice": "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok",
      "/list": "HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\n\r\nok",
      "/nocontent": "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n",
    };
    const leaf = await env.pki.leaf("localhost");
    const origin = await startTlsOrigin(leaf, {
      handler: (s) => {
        s.on("error", () => {});
        let buf = "";
        s.on("data", (d: Buffer) => {
          buf += d.toString("latin1");
          for (let end = buf.indexOf("\r\n\r\n"); end >= 0; end = buf.indexOf("\r\n\r\n")) {
            const path = buf.slice(0, end).split(" ")[1] ?? "";
            buf = buf.slice(end + 4);
            s.write(heads[path] ?? "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
          }
        });
      },
    });
    closers.push(origin);
    for (const [path, expected] of [
      ["/twice", "ok200 "],
      ["/list", "ok200 "],
      ["/nocontent", "204 "],
    ] as const) {
      const r = await curl(env, [
        "--http2",
        "-w",
        "%{http_code} ",
        `https://localhost:${origin.port}${path}`,
      ]);
      expect([path, r.code, r.out]).toEqual([path, 0, expected]);
    }
  });
});

describe("a malformed response from an HTTP/2 origin", () => {
  test("is a 502 that says what was wrong with it, not that the origin reset the stream", async () => {
    const { origin, frames } = await rawH2Origin((s, streamId) => {
      // :status 200, then a literal field with an uppercase name (RFC 9113 §8.2.1: malformed).
      const block = Buffer.concat([
        Buffer.from([0x88, 0x00, 3]),
        Buffer.from("X-A"),
        Buffer.from([1]),
        Buffer.from("1"),
      ]);
      s.write(encodeFrame({ type: "HEADERS", streamId, endStream: true, endHeaders: true, block }));
    });
    const r = await curl(env, ["--http2", "-i", `https://localhost:${origin.port}/`]);
    expect(r.out).toMatch(/^HTTP\/2 502/);
    expect(r.out).toContain(
      "upstream response refused: PROTOCOL_ERROR: malformed response: invalid field name",
    );
    await waitUntil(() => frames.some((f) => f.type === "RST_STREAM"), "the proxy's RST_STREAM");
    expect(frames.find((f) => f.type === "RST_STREAM")?.code).toBe(1); // PROTOCOL_ERROR
  });
});

describe("server push", () => {
  test("a PUSH_PROMISE (push was disabled) ends the upstream connection with PROTOCOL_ERROR; the client gets an error, not the push", async () => {
    const { origin, frames } = await pushingOrigin();
    const r = await curl(env, ["--http2", "-i", `https://localhost:${origin.port}/`]);
    expect(r.out).toMatch(/^HTTP\/2 502/);
    await waitUntil(() => frames.some((f) => f.type === "GOAWAY"), "the proxy's GOAWAY");
    expect(frames.find((f) => f.type === "GOAWAY")?.code).toBe(1); // PROTOCOL_ERROR
  });
});

describe("a client that stops reading", () => {
  const BIG = 100 * 1024 * 1024;
  const BOUND = 64 * 1024 * 1024;

  async function settle(o: E2eOrigin, path: string): Promise<number> {
    let last = -1;
    let same = 0;
    for (let i = 0; i < 2000 && same < 30; i++) {
      const now = (await o.stats()).sent[path] ?? 0;
      same = now === last && now > 0 ? same + 1 : 0;
      last = now;
      await Bun.sleep(10);
    }
    return last;
  }

  test("h2 client: the origin gets no further than the windows ahead of the client; then the rest flows", async () => {
    const o = env.origins.nodeH2;
    await o.clear();
    Bun.gc(true);
    const rss = process.memoryUsage().rss;
    const c = await connect(env.proxy.port, o.authority, ca, { keepBody: false });
    const path = `/bytes?n=${BIG}`;
    c.start([
      [":method", "GET"],
      [":scheme", "https"],
      [":path", path],
      [":authority", o.authority],
    ]);
    await waitUntil(() => c.received() > 0, "the first bytes");
    c.pause();
    const sent = await settle(o, path);
    expect(sent - c.received()).toBeLessThan(BOUND);
    Bun.gc(true);
    expect(process.memoryUsage().rss - rss).toBeLessThan(BOUND);
    c.resume();
    await waitUntil(() => c.received() === BIG, "the whole body", 60_000);
    c.close();
  }, 60_000);

  test("h1 client: the same bound through an h1-only origin", async () => {
    const o = env.origins.nodeH1;
    await o.clear();
    const t = await tlsThroughProxy(env.proxy.port, o.authority, { ca, servername: "localhost" });
    let got = 0;
    t.on("data", (d: Buffer) => {
      got += d.length;
    });
    t.on("error", () => {});
    const path = `/bytes?n=${BIG}&cl=1`;
    t.write(`GET ${path} HTTP/1.1\r\nHost: localhost\r\n\r\n`);
    await waitUntil(() => got > 0, "the first bytes");
    t.pause();
    const sent = await settle(o, path);
    expect(sent - got).toBeLessThan(BOUND);
    t.resume();
    await waitUntil(() => got >= BIG, "the whole body", 60_000);
    t.destroy();
  }, 60_000);
});

describe("a client that leaves is let go at once, not at the idle timeout", () => {
  for (const which of ["nodeH2", "nodeH1"] as const) {
    test(`h1 client, ${which}: an upload refused with 413 before it was read, then the client closes`, async () => {
      // curl does this: it reads the early 413, stops sending and closes. The proxy used to keep
      // waiting on a request sink the origin no longer read, the socket in CLOSE-WAIT, until the
      // idle timeout (60 s here).
      const o = env.origins[which];
      const c = await h1Tunnel(o);
      c.t.write(
        `POST /early HTTP/1.1\r\nHost: ${o.authority}\r\nContent-Length: ${64 * 1024 * 1024}\r\n\r\n`,
      );
      const chunk = new Uint8Array(256 * 1024);
      for (let i = 0; i < 8; i++) c.t.write(chunk);
      await waitUntil(() => c.text().endsWith("early"), "the 413");
      expect(c.text().startsWith("HTTP/1.1 413 ")).toBe(true);
      c.t.end();
      await waitUntil(() => c.closed(), "the proxy's close", 5_000);
      const rec = await tunnelRecord(o, "413:1");
      expect(rec.errorCode).toBeNull();
    }, 15_000);
  }

  test("h1 client still sending after an early answer: the origin that reads on gets the whole body", async () => {
    const o = env.origins.nodeH1;
    await o.clear();
    const c = await h1Tunnel(o);
    const SIZE = 4 * 1024 * 1024;
    c.t.write(`POST /early-read HTTP/1.1\r\nHost: ${o.authority}\r\nContent-Length: ${SIZE}\r\n\r\n`);
    c.t.write(new Uint8Array(64 * 1024));
    await waitUntil(() => c.text().endsWith("ok"), "the early 202");
    c.t.write(new Uint8Array(SIZE - 64 * 1024)); // the client goes on sending its body
    const got = async () => (await o.stats()).sent["/early-read"];
    for (let i = 0; i < 500 && (await got()) === undefined; i++) await Bun.sleep(10);
    expect(await got()).toBe(SIZE);
    expect(c.closed()).toBe(false);
    c.t.destroy();
  }, 15_000);

  for (const size of [100_000, 8 * 1024 * 1024]) {
    test(`h2 client: a download (${size} B) waiting for the client's window, then the client closes`, async () => {
      // No WINDOW_UPDATE can come after the client's FIN: the response is cut and its upstream
      // stream cancelled, instead of both waiting for the idle timeout.
      const o = env.origins.nodeH2;
      await o.clear();
      const c = await rawFrames(env.proxy.port, o.authority, ca);
      const data = () => c.frames.reduce((n, f) => n + (f.type === "DATA" ? f.data.length : 0), 0);
      // 100 000 B: all of it is with the proxy (its end waits behind the window); 8 MiB: the origin
      // is still sending.
      sendFirstGet(c, o.authority, `/bytes?n=${size}`);
      await waitUntil(() => data() === 65_535, "the first window's worth");
      c.t.end();
      await waitUntil(() => c.closed(), "the proxy's close", 5_000);
      const rec = await tunnelRecord(o, "0:1");
      expect(rec.exchangeErrors).toBe("IO:1");
      expect(String(rec.exchangeReason)).toContain("flow-control window");
    }, 15_000);
  }
});

describe("an HTTP/1.1 client that pipelines without reading", () => {
  for (const which of ["nodeH2", "nodeH1"] as const) {
    test(`is served only as fast as it reads (${which} origin)`, async () => {
      // Before: the reader was resumed after the first bytes whatever the pipeline said, and a
      // finished response let it read on even with the client's socket full, so such a client
      // had the proxy answer (and buffer) every request it sent, gigabytes of them.
      const o = env.origins[which];
      await o.clear();
      const N = 3000;
      const SIZE = 20_000;
      const t = await tlsThroughProxy(env.proxy.port, o.authority, { ca, servername: "localhost" });
      t.on("error", () => {});
      t.pause(); // reads nothing until told
      const one = `GET /bytes?n=${SIZE}&cl=1 HTTP/1.1\r\nHost: ${o.authority}\r\n\r\n`;
      t.write(one.repeat(N)); // one write: most of it arrives with the first bytes the proxy reads
      const seen = async () => (await o.stats()).reqs.length;
      let last = -1;
      for (let i = 0; i < 40; i++) {
        await Bun.sleep(100);
        const now = await seen();
        if (now === last && now > 0) break; // settled: the proxy stopped taking requests
        last = now;
      }
      // Kernel buffers on both sides hold a few MiB of answers; the rest waits for the client.
      expect(await seen()).toBeLessThan(N / 2);
      // Reading, the client gets every answer, in order and whole.
      let buf = Buffer.alloc(0);
      let answered = 0;
      t.on("data", (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        for (;;) {
          const end = buf.indexOf("\r\n\r\n");
          if (end < 0) break;
          const head = buf.subarray(0, end).toString("latin1");
          const length = Number(/\r\ncontent-length: (\d+)/i.exec(head)?.[1] ?? "-1");
          if (!head.startsWith("HTTP/1.1 200 ") || length !== SIZE) throw new Error(`bad answer: ${head}`);
          if (buf.length < end + 4 + length) break;
          buf = buf.subarray(end + 4 + length);
          answered++;
        }
      });
      t.resume();
      await waitUntil(() => answered === N, "every answer", 30_000);
      expect(await seen()).toBe(N);
      t.destroy();
    }, 60_000);
  }

  test("stops reading its requests: what it sends waits in its own socket, not in the proxy", async () => {
    const o = env.origins.nodeH1;
    const t = await tlsThroughProxy(env.proxy.port, o.authority, { ca, servername: "localhost" });
    t.on("error", () => {});
    t.pause();
    const MB = 1024 * 1024;
    const one = `GET /status/204 HTTP/1.1\r\nHost: ${o.authority}\r\n\r\n`;
    const flood = one.repeat(Math.ceil((32 * MB) / one.length));
    t.write(flood);
    let last = -1;
    for (let i = 0; i < 50 && t.writableLength !== last; i++) {
      last = t.writableLength;
      await Bun.sleep(100);
    }
    // The kernel buffers between the two hold a few MiB; the proxy itself took no more than its
    // pipeline. Before, it read on (and kept) everything: 32 MiB here, gigabytes in the report.
    expect(t.writableLength).toBeGreaterThan(16 * MB);
    t.destroy();
  }, 30_000);
});

describe("an origin that cuts an upgraded connection (WebSocket) without TLS close_notify", () => {
  test("the client's connection is reset, never closed cleanly; the record says UPSTREAM_TRUNCATED", async () => {
    const leaf = await env.pki.leaf("localhost");
    const origin = await startTlsOrigin(leaf, {
      alpn: ["http/1.1"],
      handler: (s) => {
        s.on("error", () => {});
        s.once("data", () => {
          s.write(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
              "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n",
          );
          // Half of a 100-byte binary frame, then TCP FIN without close_notify.
          s.write(Buffer.concat([Buffer.from([0x82, 100]), Buffer.alloc(50, 0x41)]), () => s.destroy());
        });
      },
    });
    closers.push(origin);
    const authority = `localhost:${origin.port}`;
    const t = await tlsThroughProxy(env.proxy.port, authority, { ca, servername: "localhost" });
    let text = "";
    let how = "";
    t.on("data", (d: Buffer) => {
      text += d.toString("latin1");
    });
    t.on("end", () => {
      how ||= "end"; // close_notify (or a FIN Node lets pass as one)
    });
    t.on("error", (e: NodeJS.ErrnoException) => {
      how ||= e.code ?? "error";
    });
    const closed = new Promise((resolve) => t.once("close", resolve));
    t.write(
      `GET /ws HTTP/1.1\r\nHost: ${authority}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    );
    await closed;
    expect(text.startsWith("HTTP/1.1 101 ")).toBe(true);
    expect(text.endsWith("A".repeat(50))).toBe(true); // what the origin sent came through
    expect(how).toBe("ECONNRESET");
    const mine = () => tunnelRecords(env.proxy.logs).filter((rec) => rec.host === authority);
    await waitUntil(() => mine().length > 0, "the tunnel record");
    expect(mine()[0]).toMatchObject({ level: "warn", errorCode: "UPSTREAM_TRUNCATED", statuses: "101:1" });
  });
});

describe("an HTTP/1.1 client that leaves once it holds the whole Content-Length body", () => {
  test("counts the response (200), even though the origin's END_STREAM had not come yet", async () => {
    const { origin } = await rawH2Origin((s, streamId) => {
      // :status 200, content-length: 2 (literal, static name 28); the body, without END_STREAM.
      const block = Buffer.concat([Buffer.from([0x88, 0x5c, 1]), Buffer.from("2")]);
      s.write(encodeFrame({ type: "HEADERS", streamId, endStream: false, endHeaders: true, block }));
      s.write(encodeFrame({ type: "DATA", streamId, endStream: false, data: Buffer.from("ok") }));
    });
    const authority = `localhost:${origin.port}`;
    const r = await curl(env, ["--http1.1", "-w", " %{http_code}", `https://${authority}/`]);
    expect([r.code, r.out]).toEqual([0, "ok 200"]);
    const mine = () => tunnelRecords(env.proxy.logs).filter((rec) => rec.host === authority);
    await waitUntil(() => mine().length > 0, "the tunnel record");
    expect(mine()[0]).toMatchObject({ statuses: "200:1", errorCode: null });
  });
});

describe("an extended CONNECT (WebSocket over HTTP/2) the origin refuses", () => {
  test("a 403 with END_STREAM reaches the client; the stream side the proxy kept open is reset (CANCEL)", async () => {
    // SETTINGS_ENABLE_CONNECT_PROTOCOL = 1; every request answered 403 with END_STREAM, never a reset.
    const { origin, frames } = await rawH2Origin(
      (s, streamId) => {
        s.write(
          encodeFrame({
            type: "HEADERS",
            streamId,
            endStream: true,
            endHeaders: true,
            block: Buffer.from([0x08, 0x03, 0x34, 0x30, 0x33]),
          }),
        );
      },
      [[8, 1]],
    );
    const authority = `localhost:${origin.port}`;
    const c = await rawText(env.proxy.port, authority, ca);
    const text = await c.send(
      `GET /ws HTTP/1.1\r\nHost: ${authority}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
        "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
      (all) => all.includes("\r\n\r\n"),
    );
    expect(text).toMatch(/^HTTP\/1\.1 403 /);
    await waitUntil(() => frames.some((f) => f.type === "RST_STREAM"), "the proxy's RST_STREAM");
    expect(frames.filter((f) => f.type === "HEADERS")).toHaveLength(1); // the extended CONNECT
    expect(frames.find((f) => f.type === "RST_STREAM")?.code).toBe(8); // CANCEL
    c.t.destroy();
  });
});

describe("a refused HTTP/1.1 request whose client goes on sending", () => {
  test("the proxy reads and drops up to 1 MiB after its 400, then closes the connection (no endless drain)", async () => {
    const o = env.origins.nodeH1;
    const t = await tlsThroughProxy(env.proxy.port, o.authority, {
      ca: await Bun.file(env.pki.caCertPath).text(),
      servername: "localhost",
    });
    let text = "";
    t.on("data", (d: Buffer) => {
      text += d.toString("latin1");
    });
    t.on("error", () => {});
    // A chunk-size line that never ends: refused (400) once it passes 4096 bytes.
    t.write(`POST /x HTTP/1.1\r\nHost: ${o.authority}\r\nTransfer-Encoding: chunked\r\n\r\n1;`);
    const junk = Buffer.alloc(1024 * 1024, 0x61);
    for (let i = 0; i < 16; i++) t.write(junk); // 16 MiB more, whatever the proxy does
    await waitUntil(() => text.startsWith("HTTP/1.1 400 "), "the 400");
    // The proxy ends the connection itself, the client still sending (it read all 16 MiB before,
    // and an endless sender for as long as it sent).
    const rec = () =>
      tunnelRecords(env.proxy.logs).find((r) => r.host === o.authority && r.statuses === "400:1");
    await waitUntil(() => rec() !== undefined, "the tunnel's record");
    t.destroy();
    expect(rec()?.bytesUp as number).toBeLessThan(4 * 1024 * 1024);
  });
});
