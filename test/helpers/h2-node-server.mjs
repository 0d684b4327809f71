// A plain-text HTTP/2 (h2c) server on Node's http2 (nghttp2): the independent peer for
// test/h2-session.test.ts. Run with `node`; prints {"port":N} once listening on 127.0.0.1.
// Its SETTINGS: MAX_CONCURRENT_STREAMS 10 and INITIAL_WINDOW_SIZE 16384, so a client must queue
// streams and wait for window. Routes (by :path):
//   /hello                plain 200 "hello world" with content-length
//   /headers              200, body = JSON of the request's raw header list (wire order)
//   /echo                 200, body = JSON {length, sha256} of the request body
//   /item/N               200, body "item N", answered on the next turn of the event loop
//   /bytes?n=N            200, N bytes (i mod 251), content-length N, written as fast as flow control allows
//   /trailers             200, body "with trailers", then trailers x-checksum and x-count
//   /early-hints          103 (link) then 200 "after hints"
//   /rst?code=N           RST_STREAM with code N, no response
//   /hold                 no response until a /goaway request releases it
//   /goaway?last=N        200 "bye", then GOAWAY(NO_ERROR, last N); then held streams <= N answer "released"
//   /table-size?n=N       SETTINGS_HEADER_TABLE_SIZE N, then as /headers
import { createHash } from "node:crypto";
import http2 from "node:http2";

const held = [];
const server = http2.createServer({ settings: { maxConcurrentStreams: 10, initialWindowSize: 16384 } });

function reply(stream, status, body, extra = {}) {
  stream.respond({
    ":status": status,
    "content-type": "text/plain",
    "content-length": Buffer.byteLength(body),
    ...extra,
  });
  stream.end(body);
}

server.on("sessionError", () => {});
server.on("stream", (stream, headers, _flags, rawHeaders) => {
  stream.on("error", () => {});
  const url = new URL(headers[":path"] ?? "/", "http://x");
  const text = (status, body) => reply(stream, status, body);
  const pairs = [];
  for (let i = 0; i < rawHeaders.length; i += 2) pairs.push([rawHeaders[i], rawHeaders[i + 1]]);
  switch (url.pathname) {
    case "/hello":
      return text(200, "hello world");
    case "/headers":
      return text(200, JSON.stringify(pairs));
    case "/echo": {
      const hash = createHash("sha256");
      let length = 0;
      stream.on("data", (chunk) => {
        hash.update(chunk);
        length += chunk.length;
      });
      stream.on("end", () => text(200, JSON.stringify({ length, sha256: hash.digest("hex") })));
      return;
    }
    case "/bytes": {
      const n = Number(url.searchParams.get("n") ?? "0");
      const body = Buffer.alloc(n);
      for (let i = 0; i < n; i++) body[i] = i % 251;
      stream.respond({ ":status": 200, "content-length": n });
      stream.end(body);
      return;
    }
    case "/trailers":
      stream.respond({ ":status": 200 }, { waitForTrailers: true });
      stream.on("wantTrailers", () => stream.sendTrailers({ "x-checksum": "abc123", "x-count": "2" }));
      stream.end("with trailers");
      return;
    case "/early-hints":
      stream.additionalHeaders({ ":status": 103, link: "</style.css>; rel=preload; as=style" });
      return text(200, "after hints");
    case "/rst":
      stream.close(Number(url.searchParams.get("code") ?? "8"));
      return;
    case "/hold":
      held.push(stream);
      return;
    case "/goaway": {
      const last = Number(url.searchParams.get("last") ?? "0");
      text(200, "bye");
      stream.session.goaway(http2.constants.NGHTTP2_NO_ERROR, last);
      for (const h of held.splice(0)) if (h.id <= last && !h.destroyed) reply(h, 200, "released");
      return;
    }
    case "/table-size":
      stream.session.settings({ headerTableSize: Number(url.searchParams.get("n") ?? "0") });
      return text(200, JSON.stringify(pairs));
    default:
      if (url.pathname.startsWith("/item/")) {
        setImmediate(() => text(200, `item ${url.pathname.slice(6)}`));
        return;
      }
      return text(404, "not found");
  }
});

server.listen(0, "127.0.0.1", () => {
  process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`);
});
process.stdin.on("end", () => process.exit(0));
process.stdin.resume();
