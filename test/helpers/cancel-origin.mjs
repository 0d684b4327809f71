// An origin for test/http-e2e-h2-cancel.test.ts under Node 20 (a peer that is not ours), printing
// one JSON line per event so the test can see what reached it and how it ended: HTTP/2
// (node:http2, optional MAX_CONCURRENT_STREAMS) or HTTP/1.1 only (node:https).
// Usage: node cancel-origin.mjs <h2|h1> <keyPath> <certPath> [maxConcurrentStreams]
// First line: {"port":N}; then {"ev":"req"|"close"|"conn-close"|"session", ...}.
// Routes: /bytes?n=N streams N bytes with backpressure; /slow answers after 500 ms; HTTP/2 only:
// /goaway answers, then sends GOAWAY 20 ms later; /goaway-slow sends GOAWAY at once and answers
// 300 ms later (a stream in flight at the GOAWAY); else "ok". (After its GOAWAY, Node's session
// stops reading: it never closes the connection itself, nor sees the client close it.)
import { readFileSync } from "node:fs";
import * as http2 from "node:http2";
import * as https from "node:https";

const [kind, keyPath, certPath, mcs] = process.argv.slice(2);
const tls = { key: readFileSync(keyPath), cert: readFileSync(certPath) };
const ZEROS = Buffer.alloc(64 * 1024);
const emit = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);

let conns = 0;
const sentOn = new Map(); // h1 connection id → response bytes written on it

function serve(req, res, conn) {
  const url = new URL(req.url, "https://x");
  emit({ ev: "req", path: url.pathname, conn });
  if (url.pathname === "/goaway") {
    const session = req.stream.session; // gone from the stream once it closed
    res.writeHead(200, { "content-length": "2" });
    res.end("ok");
    setTimeout(() => session.goaway(0), 20);
    return;
  }
  if (url.pathname === "/goaway-slow") {
    req.stream.session.goaway(0, req.stream.id);
    res.writeHead(200, { "content-length": "4" });
    setTimeout(() => res.end("slow"), 300);
    return;
  }
  if (url.pathname === "/slow") {
    setTimeout(() => res.end("slow"), 500);
    return;
  }
  if (url.pathname !== "/bytes") {
    res.end("ok");
    return;
  }
  let left = Number(url.searchParams.get("n"));
  res.writeHead(200, { "content-type": "application/octet-stream", "content-length": String(left) });
  const pump = () => {
    while (left > 0 && !res.destroyed) {
      const chunk = left >= ZEROS.length ? ZEROS : ZEROS.subarray(0, left);
      left -= chunk.length;
      sentOn.set(conn, (sentOn.get(conn) ?? 0) + chunk.length);
      if (!res.write(chunk)) return res.once("drain", pump);
    }
    if (left === 0) res.end();
  };
  pump();
}

let server;
if (kind === "h2") {
  const settings = mcs ? { maxConcurrentStreams: Number(mcs) } : {};
  server = http2.createSecureServer({ ...tls, settings }, (req, res) => {
    const path = req.url;
    req.stream.once("close", () => emit({ ev: "close", path, rst: req.stream.rstCode }));
    serve(req, res, 0);
  });
  server.on("sessionError", () => {});
  let sessions = 0;
  server.on("session", () => {
    sessions += 1;
    emit({ ev: "session", id: sessions });
  });
} else {
  server = https.createServer({ ...tls, ALPNProtocols: ["http/1.1"] }, (req, res) =>
    serve(req, res, req.socket.cancelOriginId),
  );
  server.on("secureConnection", (s) => {
    conns += 1;
    const id = conns;
    s.cancelOriginId = id;
    s.once("close", () => emit({ ev: "conn-close", conn: id, sent: sentOn.get(id) ?? 0 }));
  });
}
server.on("tlsClientError", () => {});
server.listen(0, "127.0.0.1", () => emit({ port: server.address().port }));
