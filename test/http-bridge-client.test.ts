/**
 * The client side of the HTTP bridge over real loopback sockets: a real HTTP/2 client (Bun's
 * node:http2, and curl where installed) talks to serveClientH2, whose dispatcher is a test double
 * that records what it was given and answers from a script.
 */
import { afterEach, describe, expect, test } from "bun:test";
import * as http2 from "node:http2";
import * as net from "node:net";
import * as zlib from "node:zlib";
import { serveClientH2 } from "../src/http/bridge/client-h2.ts";
import { decodingResponder } from "../src/http/bridge/decoding-sink.ts";
import { fieldValue } from "../src/http/bridge/fields.ts";
import type { BodySink, Dispatcher, RequestHead, Responder } from "../src/http/bridge/message.ts";
import { parseAuthority } from "../src/proxy/authority.ts";
import { socketEndpoint } from "../src/proxy/endpoint.ts";

type Handler = (head: RequestHead, body: Buffer, r: Responder) => void;

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

/** A plaintext listener whose connections are served by serveClientH2 with `handler`. */
async function startBridge(
  handler: Handler,
  target = "example.test:443",
): Promise<{ port: number; heads: RequestHead[] }> {
  const heads: RequestHead[] = [];
  const dispatcher: Dispatcher = {
    request(head, responder) {
      heads.push(head);
      const chunks: Buffer[] = [];
      const sink: BodySink = {
        write(c) {
          chunks.push(Buffer.from(c));
          return true;
        },
        end() {
          handler(
            head,
            Buffer.concat(chunks),
            decodingResponder(responder, fieldValue(head.fields, "accept-encoding")),
          );
        },
        abort() {},
        onDrain: null,
      };
      return sink;
    },
    close() {},
  };
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    serveClientH2(socketEndpoint(socket), {
      target: parseAuthority(target),
      dispatcher,
      maxConcurrentStreams: 100,
      maxHeaderListSize: 65536,
      onExchange() {},
      onClose() {},
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  cleanups.push(() => server.close());
  return { port: (server.address() as net.AddressInfo).port, heads };
}

function h2Request(
  port: number,
  headers: http2.OutgoingHttpHeaders,
  body?: Buffer,
): Promise<{ headers: http2.IncomingHttpHeaders; body: Buffer; trailers: http2.IncomingHttpHeaders | null }> {
  return new Promise((resolve, reject) => {
    const client = http2.connect(`http://127.0.0.1:${port}`);
    client.on("error", reject);
    // h2c here, but the client side wants what a client inside TLS names.
    const req = client.request({ ":scheme": "https", ...headers }, { endStream: body === undefined });
    const chunks: Buffer[] = [];
    let head: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders | null = null;
    req.on("response", (h) => {
      head = h;
    });
    req.on("trailers", (t) => {
      trailers = t;
    });
    req.on("data", (d: Buffer) => chunks.push(d));
    req.on("end", () => {
      client.close();
      resolve({ headers: head, body: Buffer.concat(chunks), trailers });
    });
    req.on("error", reject);
    if (body !== undefined) req.end(body);
  });
}

describe("client side over HTTP/2", () => {
  test("a GET reaches the dispatcher with the client's header order; the response, body and trailers come back", async () => {
    const { port, heads } = await startBridge((_h, _b, r) => {
      const sink = r.head(
        200,
        [
          ["content-type", "text/plain"],
          ["x-b", "2"],
          ["x-a", "1"],
        ],
        false,
      );
      sink.write(new TextEncoder().encode("hello "));
      sink.write(new TextEncoder().encode("world"));
      sink.end([["x-checksum", "abc"]]);
    });
    const res = await h2Request(port, {
      ":authority": "example.test",
      ":path": "/p?q=1",
      "x-zeta": "z",
      "user-agent": "curl/8",
      "x-alpha": "a",
    });
    expect(Number(res.headers[":status"])).toBe(200);
    expect(res.body.toString()).toBe("hello world");
    expect(res.trailers?.["x-checksum"]).toBe("abc");
    const head = heads[0];
    expect(head?.method).toBe("GET");
    expect(head?.path).toBe("/p?q=1");
    expect(head?.bodyLength).toBeNull();
    expect(head?.fields.map(([n]) => n)).toEqual(["x-zeta", "user-agent", "x-alpha"]);
  });

  test("a request naming another host than the CONNECT target is refused with 421, never dispatched", async () => {
    const { port, heads } = await startBridge((_h, _b, r) => r.head(200, [], false).end(null));
    const res = await h2Request(port, { ":authority": "other.test", ":path": "/" });
    expect(Number(res.headers[":status"])).toBe(421);
    // The body reads as over HTTP/1.1: "<status> <reason>: <detail>", not the internal error code.
    expect(res.body.toString()).toStartWith("421 Misdirected Request: ");
    const wrongPort = await h2Request(port, { ":authority": "example.test:8443", ":path": "/" });
    expect(Number(wrongPort.headers[":status"])).toBe(421);
    expect(heads).toHaveLength(0);
  });

  test("a POST body arrives whole and is echoed", async () => {
    const { port, heads } = await startBridge((_h, body, r) => {
      const sink = r.head(200, [["content-length", String(body.length)]], false);
      sink.write(body);
      sink.end(null);
    });
    const payload = Buffer.alloc(300_000, 7);
    const res = await h2Request(
      port,
      { ":authority": "example.test", ":method": "POST", ":path": "/up" },
      payload,
    );
    expect(res.body.equals(payload)).toBe(true);
    expect(heads[0]?.bodyLength).toBe(-1);
  });

  test("a gzip body the client did not accept is decoded for it; one it accepts passes through", async () => {
    const text = "x".repeat(50_000);
    const gz = zlib.gzipSync(text);
    const { port } = await startBridge((_h, _b, r) => {
      const sink = r.head(
        200,
        [
          ["content-encoding", "gzip"],
          ["content-length", String(gz.length)],
          ["etag", '"v1"'],
        ],
        false,
      );
      sink.write(gz);
      sink.end(null);
    });
    const plain = await h2Request(port, { ":authority": "example.test", ":path": "/" });
    expect(plain.body.toString()).toBe(text);
    expect(plain.headers["content-encoding"]).toBeUndefined();
    expect(plain.headers.etag).toBe('W/"v1"');
    const raw = await h2Request(port, {
      ":authority": "example.test",
      ":path": "/",
      "accept-encoding": "gzip",
    });
    expect(raw.headers["content-encoding"]).toBe("gzip");
    expect(raw.body.equals(gz)).toBe(true);
  });

  test("a decompression bomb is cut off with a stream reset, not delivered whole", async () => {
    // 64 MiB of zeros compress to a few hundred bytes with brotli: far past the ratio cap.
    const bomb = zlib.brotliCompressSync(Buffer.alloc(64 * 1024 * 1024));
    const { port } = await startBridge((_h, _b, r) => {
      const sink = r.head(200, [["content-encoding", "br"]], false);
      sink.write(bomb);
      sink.end(null);
    });
    const err = await h2Request(port, { ":authority": "example.test", ":path": "/" }).then(
      (r) => r.body.length,
      (e: Error) => e,
    );
    expect(err).toBeInstanceOf(Error);
  });
});
