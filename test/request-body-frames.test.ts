/**
 * A request body ends on its last DATA frame, as Chromium and Firefox send one: their fetch POST
 * of 7 bytes is `DATA[7, END_STREAM]` (test/fixtures/http/post-h2-frames.json, from
 * local-debian-http/{chromium,firefox}-h2/cap-conn1.json), where the proxy used to send
 * `DATA[7]` then an empty `DATA[0, END_STREAM]`, a framing no browser sends. Through the running
 * proxy, a recording origin compares the frames of each request's stream with the capture, for
 * HTTP/1.1 clients (Content-Length and chunked, one write) and curl over HTTP/2. A body whose end
 * comes later is not held back for it: its bytes leave at once, and the end follows on its own.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type * as tls from "node:tls";
import { encodeFrame } from "../src/http/h2/frame-writer.ts";
import { ProfileRegistry } from "../src/profiles/registry-store.ts";
import { NativeEngine } from "../src/upstream/native/native-engine.ts";
import { curlThroughProxy, type ProxyHandle, startProxy, tlsThroughProxy } from "./helpers/proxy-env.ts";
import { type RecordedFrame, recordFrame, startRawH2Origin } from "./helpers/raw-h2-origin.ts";
import { makeTestPki, type Origin, type TestPki } from "./helpers/tls-env.ts";
import { waitUntil } from "./helpers/wait.ts";

interface CapturedFrame {
  type: string;
  flags: number;
  priority?: { exclusive: number; depends_on: number; weight: number };
  increment?: number;
  data_len?: number;
}
const CAPTURED = JSON.parse(
  readFileSync(join(import.meta.dir, "fixtures", "http", "post-h2-frames.json"), "utf8"),
) as Record<"chromium" | "firefox", CapturedFrame[]>;
const PROFILES = { chromium: "chromium-156-linux-x64", firefox: "firefox-esr-153-linux-x64" } as const;
const BODY = '{"a":1}'; // the captures' 7 bytes

type Seen = RecordedFrame;

let pki: TestPki;
let proxy: ProxyHandle;
let ca: string;
const origins: Origin[] = [];

beforeAll(async () => {
  pki = await makeTestPki();
  ca = await Bun.file(pki.caCertPath).text();
  proxy = await startProxy({
    pki,
    engine: new NativeEngine(),
    profiles: new ProfileRegistry(),
    defaultProfile: PROFILES.chromium,
    caFile: pki.caCertPath,
    deps: {
      http: { mode: "full", keepClient: new Set(), maxConcurrentStreams: 100, maxRequestHeadBytes: 65_536 },
    },
  });
});

afterAll(async () => {
  await proxy?.stop();
  for (const o of origins) await o.close();
  pki?.remove();
});

/**
 * A raw HTTP/2 origin that records the frames of every request stream and answers `200` (no body)
 * once the request has ended.
 */
async function recordingOrigin(): Promise<{ port: number; frames: Seen[]; conns: Set<tls.TLSSocket> }> {
  const frames: Seen[] = [];
  const conns = new Set<tls.TLSSocket>();
  const origin = await startRawH2Origin(await pki.leaf("localhost"), [], (s, f) => {
    conns.add(s);
    const seen = recordFrame(f);
    if (seen !== null) frames.push(seen);
    const ended =
      seen !== null && seen.type !== "WINDOW_UPDATE" && (seen.flags & 0x1) !== 0 ? seen.streamId : 0;
    if (ended !== 0)
      s.write(
        encodeFrame({
          type: "HEADERS",
          streamId: ended,
          endStream: true,
          endHeaders: true,
          block: Buffer.from([0x88]),
        }),
      );
  });
  origins.push(origin);
  return { port: origin.port, frames, conns };
}

/** The frames of the stream of the last request that reached the origin. */
function lastStream(frames: Seen[]): Seen[] {
  const id = frames.filter((f) => f.type === "HEADERS").at(-1)?.streamId;
  return frames.filter((f) => f.streamId === id);
}

/** The capture's frames in the terms the origin records (priority as PriorityFields). */
function expected(browser: keyof typeof CAPTURED): Omit<Seen, "streamId">[] {
  return CAPTURED[browser].map((f) => ({
    type: f.type,
    flags: f.flags,
    ...(f.priority
      ? {
          priority: {
            exclusive: f.priority.exclusive === 1,
            dependency: f.priority.depends_on,
            weight: f.priority.weight,
          },
        }
      : {}),
    ...(f.increment !== undefined ? { increment: f.increment } : {}),
    ...(f.data_len !== undefined ? { data_len: f.data_len } : {}),
  }));
}

const withoutIds = (frames: Seen[]) => frames.map(({ streamId: _, ...rest }) => rest);

/** An HTTP/1.1 client in a tunnel to `port` with `profile`; resolves once its TLS is up. */
function h1Client(port: number, profile: string): Promise<tls.TLSSocket> {
  return tlsThroughProxy(proxy.port, `localhost:${port}`, {
    ca,
    servername: "localhost",
    headers: { "X-PolyTLS-Upstream-Profile": profile },
  });
}

/** Resolves with the first response head the client reads. */
function responseHead(t: tls.TLSSocket): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = "";
    const onData = (d: Buffer) => {
      text += d.toString("latin1");
      if (!text.includes("\r\n\r\n")) return;
      t.off("data", onData);
      resolve(text.slice(0, text.indexOf("\r\n\r\n")));
    };
    t.on("data", onData);
    t.once("error", reject);
  });
}

const postHead = (port: number, framing: string) =>
  `POST /api/post HTTP/1.1\r\nHost: localhost:${port}\r\nContent-Type: application/json\r\n` +
  `Accept: */*\r\n${framing}\r\n`;

/**
 * `warm`: a GET goes first on the tunnel, so the POST finds the origin's SETTINGS read (its body
 * goes as written); otherwise the POST is the connection's first request, whose body waits for
 * them.
 */
async function h1Post(browser: keyof typeof PROFILES, warm: boolean, request: (port: number) => string) {
  const o = await recordingOrigin();
  const t = await h1Client(o.port, PROFILES[browser]);
  if (warm) {
    const first = responseHead(t);
    t.write(`GET / HTTP/1.1\r\nHost: localhost:${o.port}\r\n\r\n`);
    expect(await first).toMatch(/^HTTP\/1\.1 200 /);
  }
  const head = responseHead(t);
  t.write(request(o.port));
  expect(await head).toMatch(/^HTTP\/1\.1 200 /);
  t.destroy();
  return o;
}

describe("a request body's last DATA frame carries END_STREAM, as the browsers send it", () => {
  for (const browser of ["chromium", "firefox"] as const) {
    for (const warm of [false, true]) {
      const when = warm ? "after a first request" : "as the connection's first request";
      test(`${browser}: HTTP/1.1 client, Content-Length, head and body in one write, ${when}`, async () => {
        const o = await h1Post(
          browser,
          warm,
          (port) => postHead(port, `Content-Length: ${BODY.length}\r\n`) + BODY,
        );
        expect(withoutIds(lastStream(o.frames))).toEqual(expected(browser));
      });

      test(`${browser}: HTTP/1.1 client, chunked, the last chunk and the terminator in one write, ${when}`, async () => {
        const o = await h1Post(
          browser,
          warm,
          (port) => `${postHead(port, "Transfer-Encoding: chunked\r\n")}7\r\n${BODY}\r\n0\r\n\r\n`,
        );
        expect(withoutIds(lastStream(o.frames))).toEqual(expected(browser));
      });
    }

    test(`${browser}: curl --http2 (nghttp2), a GET then a POST on one connection`, async () => {
      const o = await recordingOrigin();
      const r = await curlThroughProxy(proxy.port, pki.caCertPath, [
        "--http2",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code} ",
        "--proxy-header",
        `X-PolyTLS-Upstream-Profile: ${PROFILES[browser]}`,
        `https://localhost:${o.port}/`,
        "--next", // options reset: the proxy and its CA again
        "-sS",
        "--cacert",
        pki.caCertPath,
        "-x",
        `http://127.0.0.1:${proxy.port}`,
        "--http2",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        "--proxy-header",
        `X-PolyTLS-Upstream-Profile: ${PROFILES[browser]}`,
        "-H",
        "content-type: application/json",
        "--data-binary",
        BODY,
        `https://localhost:${o.port}/api/post`,
      ]);
      expect(r.err).toBe("");
      expect(r.out).toBe("200 200");
      expect(o.frames.filter((f) => f.type === "HEADERS")).toHaveLength(2);
      expect(o.conns.size).toBe(1); // the POST went after the origin's SETTINGS were read
      expect(withoutIds(lastStream(o.frames))).toEqual(expected(browser));
    });
  }
});

describe("a body whose end comes later is not held back for it", () => {
  test("Content-Length: the first half leaves before the second is sent", async () => {
    const o = await recordingOrigin();
    const t = await h1Client(o.port, PROFILES.chromium);
    const head = responseHead(t);
    t.write(postHead(o.port, `Content-Length: ${2 * BODY.length}\r\n`) + BODY);
    const data = () => lastStream(o.frames).filter((f) => f.type === "DATA");
    await waitUntil(() => data().length === 1, "the first half upstream");
    expect(data()).toMatchObject([{ flags: 0, data_len: BODY.length }]);
    t.write(BODY);
    expect(await head).toMatch(/^HTTP\/1\.1 200 /);
    t.destroy();
    expect(data()).toMatchObject([
      { flags: 0, data_len: BODY.length },
      { flags: 1, data_len: BODY.length },
    ]);
  });

  test("chunked, the terminator sent later: the end goes as an empty END_STREAM DATA frame", async () => {
    const o = await recordingOrigin();
    const t = await h1Client(o.port, PROFILES.chromium);
    const head = responseHead(t);
    t.write(`${postHead(o.port, "Transfer-Encoding: chunked\r\n")}7\r\n${BODY}\r\n`);
    const data = () => lastStream(o.frames).filter((f) => f.type === "DATA");
    await waitUntil(() => data().length === 1, "the chunk upstream");
    t.write("0\r\n\r\n");
    expect(await head).toMatch(/^HTTP\/1\.1 200 /);
    t.destroy();
    expect(data()).toMatchObject([
      { flags: 0, data_len: BODY.length },
      { flags: 1, data_len: 0 },
    ]);
  });
});
