/**
 * An HTTP/2 origin under Node (nghttp2, OpenSSL) for WebSockets over RFC 8441: `node
 * ws-h2-origin.mjs <key.pem> <cert.pem> <0|1>` (1: SETTINGS_ENABLE_CONNECT_PROTOCOL sent) prints
 * `{"port":N,"stats":M}` and serves until stdin ends. ALPN h2 and http/1.1 (an HTTP/1.1 Upgrade
 * is echoed too; on /bye the origin sends a close frame and ends the connection cleanly). Extended CONNECT :protocol websocket: /ws answers 200 and echoes every frame
 * (RFC 6455), /deny answers 403, /cut answers 200, writes half a
 * frame and resets the stream, /half ends its direction at once and counts the client's bytes
 * until the client's END_STREAM (stats.half), /end-then-rst sends END_STREAM, then RST_STREAM
 * (CANCEL), /end-no-read ends without reading (Node then sends RST_STREAM(NO_ERROR)).
 * Other requests: 200 "ok". The stats server (GET) reports the TLS connections and, per request,
 * its connection and raw header list in wire order.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import * as http from "node:http";
import * as http2 from "node:http2";
import { wsEcho } from "./ws-echo.mjs";

const [keyPath, certPath, ext] = process.argv.slice(2);
const stats = { conns: 0, reqs: [] };
let nextConn = 0;
const server = http2.createSecureServer({
  key: readFileSync(keyPath),
  cert: readFileSync(certPath),
  allowHTTP1: true,
  settings: { enableConnectProtocol: ext === "1" },
});
server.on("secureConnection", (s) => {
  s.wsConn = nextConn++;
  stats.conns++;
  s.on("error", () => {});
});
server.on("sessionError", () => {});
server.on("stream", (stream, headers, _flags, raw) => {
  stream.on("error", () => {});
  stats.reqs.push({ conn: stream.session.socket.wsConn ?? -1, version: "2.0", raw });
  const path = headers[":path"];
  if (headers[":method"] === "CONNECT" && headers[":protocol"] === "websocket") {
    if (path === "/deny") {
      stream.respond({ ":status": 403, "content-type": "text/plain", "content-length": "6" });
      stream.end("denied");
      return;
    }
    if (path === "/half") {
      // Its own direction ends at once; what the client still sends is counted until its END_STREAM.
      let n = 0;
      stream.on("data", (d) => {
        n += d.length;
      });
      stream.on("end", () => {
        stats.half = n;
      });
      stream.respond({ ":status": 200 });
      stream.end("bye");
      return;
    }
    if (path === "/end-no-read") {
      // Not read: after its END_STREAM, Node sends RST_STREAM(NO_ERROR), "stop sending" (RFC 9113 §8.1).
      stream.respond({ ":status": 200 });
      stream.end("bye");
      return;
    }
    if (path === "/end-then-rst") {
      // END_STREAM, then a reset while the client's direction is still open.
      stream.on("data", () => {}); // read: Node does not close the stream itself (NO_ERROR)
      stream.respond({ ":status": 200 });
      stream.end("bye", () => setTimeout(() => stream.close(http2.constants.NGHTTP2_CANCEL), 200));
      return;
    }
    if (path === "/cut") {
      stream.respond({ ":status": 200 });
      stream.write(Buffer.from([0x82, 100, 1, 2, 3]), () => stream.destroy(new Error("cut")));
      return;
    }
    const protocol = headers["sec-websocket-protocol"]?.split(",")[0]?.trim();
    stream.respond({ ":status": 200, ...(protocol ? { "sec-websocket-protocol": protocol } : {}) });
    wsEcho(stream, Buffer.alloc(0));
    return;
  }
  stream.respond({ ":status": 200, "content-length": "2" });
  stream.end("ok");
});
server.on("upgrade", (req, socket, head) => {
  stats.reqs.push({ conn: socket.wsConn ?? -1, version: req.httpVersion, raw: req.rawHeaders });
  const accept = createHash("sha1")
    .update(`${req.headers["sec-websocket-key"]}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`)
    .digest("base64");
  socket.write(
    `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`,
  );
  socket.on("error", () => {});
  if (req.url === "/bye") {
    // The origin closes first, cleanly: a close frame (1000), then close_notify and FIN.
    socket.end(Buffer.from([0x88, 0x02, 0x03, 0xe8]));
    return;
  }
  wsEcho(socket, head);
});
const statsServer = http.createServer((req, res) => {
  if (req.method === "POST") {
    stats.conns = 0;
    stats.reqs.length = 0;
    delete stats.half;
  }
  res.writeHead(200, { "content-type": "application/json" });
  res.end(JSON.stringify(stats));
});
server.listen(0, "127.0.0.1", () => {
  statsServer.listen(0, "127.0.0.1", () => {
    process.stdout.write(
      `${JSON.stringify({ port: server.address().port, stats: statsServer.address().port })}\n`,
    );
  });
});
process.stdin.resume();
process.stdin.on("end", () => process.exit(0));
