/**
 * HTTP/2 clients through the running proxy, served by our server-role session: a real Node 20
 * (nghttp2) client for concurrency, flow control both ways, trailers, resets and 1xx; raw frames
 * for what a library never sends (more streams than MAX_CONCURRENT_STREAMS, protocol errors).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawn } from "node:child_process";
import { H2ErrorCode } from "../src/http/h2/errors.ts";
import { CLIENT_MAGIC, type Frame } from "../src/http/h2/frame-types.ts";
import { concatBytes, encodeFrame } from "../src/http/h2/frame-writer.ts";
import { HpackDecoder } from "../src/http/hpack/index.ts";
import { type E2eEnv, type E2eOrigin, patternSha, startE2e } from "./helpers/e2e-env.ts";
import { getFields, rawFrames } from "./helpers/e2e-raw.ts";
import { waitUntil } from "./helpers/wait.ts";

const CLIENT = `${import.meta.dir}/helpers/h2-server-node-client.mjs`;
const MiB = 1024 * 1024;

let env: E2eEnv;
let ca: string;
beforeAll(async () => {
  env = await startE2e();
  ca = await Bun.file(env.pki.caCertPath).text();
});
afterAll(async () => {
  await env?.close();
});

function nodeClient(o: E2eOrigin, scenario: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const child = spawn("node", [CLIENT, String(env.proxy.port), o.authority, env.pki.caCertPath, scenario], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
    });
    child.once("error", reject);
    child.once("exit", (code) =>
      code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`client exited ${code}`)),
    );
  });
}

describe("a Node (nghttp2) client through the proxy", () => {
  for (const name of ["nodeH2", "nodeH1"] as const) {
    test(`100 concurrent streams on one connection (${name} origin)`, async () => {
      const r = (await nodeClient(env.origins[name], "many")) as [string | number, number][];
      expect(r).toEqual(Array.from({ length: 100 }, (_, i) => [200, 1000 + i]));
    });
  }

  test("100 MiB down and 100 MiB up at once, checksummed, with 16 KiB client windows", async () => {
    const r = (await nodeClient(env.origins.nodeH2, "bulk")) as { down: unknown[]; up: unknown[] };
    const sha = patternSha(100 * MiB);
    expect(r.down).toEqual([200, 100 * MiB, sha]);
    expect(r.up).toEqual([200, 100 * MiB, sha]);
  }, 120_000);

  for (const name of ["nodeH2", "nodeH1"] as const) {
    test(`uploads past the connection window: every body's credit comes back (${name} origin)`, async () => {
      // Before the fix, credit for bodies held while the upstream stream was opening was never
      // returned: about 1 MiB into a connection every upload stalled.
      const r = (await nodeClient(env.origins[name], "uploads")) as (number | string)[][];
      expect(r).toEqual(Array.from({ length: 5 }, () => Array.from({ length: 10 }, () => 40_000)));
    }, 60_000);
  }

  for (const name of ["nodeH1", "nodeH2"] as const) {
    test(`30 uploads at once, more than the upstream takes at a time, all complete (${name} origin)`, async () => {
      const r = (await nodeClient(env.origins[name], "concurrentUploads")) as (number | string)[];
      expect(r).toEqual(Array.from({ length: 30 }, () => MiB));
    }, 60_000);
  }

  test("an h2 origin answering before reading the body: the held bytes' credit comes back", async () => {
    const r = (await nodeClient(env.origins.nodeH2, "early")) as { early: unknown[]; after: unknown };
    expect(r).toEqual({ early: [413, 413, 413, 413], after: 3 * MiB });
  }, 60_000);

  test("trailers both ways: a gRPC-style response's, and a request's reaching the origin", async () => {
    const r = (await nodeClient(env.origins.nodeH2, "trailers")) as { grpc: unknown[]; echo: unknown[] };
    expect(r.grpc).toEqual([200, "0", "ok"]);
    expect(r.echo).toEqual([200, 5, { "x-sum": "abc" }]);
  });

  test("a client reset mid-response stops that stream only; the connection goes on", async () => {
    const r = (await nodeClient(env.origins.nodeH2, "rst")) as { cut: unknown[]; after: unknown[] };
    expect(r.cut).toEqual([200, true, H2ErrorCode.CANCEL]);
    expect(r.after).toEqual([200, 10]);
  });

  test("a 103 Early Hints reaches the client before the final response", async () => {
    const r = await nodeClient(env.origins.nodeH2, "hints");
    expect(r).toEqual({ status: 200, interim: [[103, "</style.css>; rel=preload; as=style"]], n: 6 });
  });
});

const raw = (o: E2eOrigin) => rawFrames(env.proxy.port, o.authority, ca);
const get = (o: E2eOrigin, path: string) => getFields(o.authority, path);

describe("raw frames through the proxy", () => {
  test("streams past MAX_CONCURRENT_STREAMS (100) are refused with REFUSED_STREAM; the others are answered", async () => {
    const o = env.origins.nodeH2;
    const c = await raw(o);
    const parts = [CLIENT_MAGIC, encodeFrame({ type: "SETTINGS", ack: false, settings: [] })];
    // Sent before the proxy's SETTINGS could be read: the client does not know the limit yet.
    for (let id = 1; id <= 2 * 105 - 1; id += 2) {
      const block = c.encoder.encode(get(o, `/bytes?n=${id}`));
      parts.push(encodeFrame({ type: "HEADERS", streamId: id, endStream: true, endHeaders: true, block }));
    }
    c.t.write(concatBytes(parts));
    const ended = () => c.frames.filter((f) => (f.type === "DATA" && f.endStream) || f.type === "RST_STREAM");
    await waitUntil(() => ended().length >= 105, "every stream answered or refused");
    const refused = c.frames.filter((f) => f.type === "RST_STREAM");
    expect(refused.map((f) => (f.type === "RST_STREAM" ? f.code : -1))).toEqual(
      Array(refused.length).fill(H2ErrorCode.REFUSED_STREAM),
    );
    expect(refused.length).toBeGreaterThanOrEqual(5);
    expect(c.frames.some((f) => f.type === "GOAWAY")).toBe(false);
    c.t.destroy();
  });

  for (const name of ["nodeH2", "nodeH1"] as const) {
    test(`a response that is only a head stays one HEADERS frame with END_STREAM (gRPC Trailers-Only, ${name} origin)`, async () => {
      // Before, it went out as HEADERS then an empty END_STREAM DATA frame: gRPC clients read the
      // status only from a block that ends the stream, and reported UNKNOWN.
      const o = env.origins[name];
      const c = await raw(o);
      const block = c.encoder.encode(get(o, "/trailers-only"));
      c.t.write(
        concatBytes([
          CLIENT_MAGIC,
          encodeFrame({ type: "SETTINGS", ack: false, settings: [] }),
          encodeFrame({ type: "HEADERS", streamId: 1, endStream: true, endHeaders: true, block }),
        ]),
      );
      const onStream = () => c.frames.filter((f) => "streamId" in f && f.streamId === 1);
      await waitUntil(() => onStream().some((f) => "endStream" in f && f.endStream), "the stream ended");
      // Another request on the connection: anything late on stream 1 would come before its answer.
      c.t.write(
        encodeFrame({
          type: "HEADERS",
          streamId: 3,
          endStream: true,
          endHeaders: true,
          block: c.encoder.encode(get(o, "/bytes?n=1")),
        }),
      );
      await waitUntil(
        () => c.frames.some((f) => f.type === "DATA" && f.streamId === 3 && f.endStream),
        "stream 3",
      );
      const frames = onStream();
      expect(frames.map((f) => f.type)).toEqual(["HEADERS"]);
      const head = frames[0] as Extract<Frame, { type: "HEADERS" }>;
      expect(head.endStream).toBe(true);
      const fields = new HpackDecoder().decode(head.block);
      expect(fields).toContainEqual(["grpc-status", "7"]);
      expect(fields).toContainEqual(["grpc-message", "denied"]);
      c.t.destroy();
    });
  }

  test("a protocol error (HEADERS on an even stream) ends the connection with GOAWAY(PROTOCOL_ERROR)", async () => {
    const o = env.origins.nodeH2;
    const c = await raw(o);
    const ok = c.encoder.encode(get(o, "/bytes?n=3"));
    const bad = c.encoder.encode(get(o, "/bytes?n=4"));
    c.t.write(
      concatBytes([
        CLIENT_MAGIC,
        encodeFrame({ type: "SETTINGS", ack: false, settings: [] }),
        encodeFrame({ type: "HEADERS", streamId: 1, endStream: true, endHeaders: true, block: ok }),
      ]),
    );
    await waitUntil(() => c.frames.some((f) => f.type === "DATA" && f.endStream), "the first answer");
    c.t.write(encodeFrame({ type: "HEADERS", streamId: 2, endStream: true, endHeaders: true, block: bad }));
    await waitUntil(() => c.closed(), "the connection closed");
    const goaway = c.frames.find((f) => f.type === "GOAWAY");
    expect(goaway).toMatchObject({ type: "GOAWAY", code: H2ErrorCode.PROTOCOL_ERROR, lastStreamId: 1 });
  });
});
