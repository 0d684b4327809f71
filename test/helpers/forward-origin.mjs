/**
 * A plain-HTTP origin on node:http for the plain-HTTP proxying tests. Run under Node
 * (`node forward-origin.mjs --serve`: prints `{"port":N}` and serves until stdin ends) it is an
 * implementation that is not ours; imported under Bun it is Bun's node:http server.
 *
 * Every request is recorded (connection number, method, path, raw header lines, body length) and
 * every response says which connection carried it (`x-conn`). Routes: /__log (the records, read
 * directly, not through the proxy; not recorded), /gzip (a gzip-coded text), /die (Content-Length
 * promised, then the connection dies mid-body), /die-chunked (dies inside a chunked body),
 * /status/N (an empty response with that status), /hints (103 then 200), anything else: the
 * request as JSON. A WebSocket handshake is recorded too, answered 101 and echoed (ws-echo.mjs);
 * one to /ws-refuse is answered 403 and its connection left open (its close is recorded).
 */
import { createHash } from "node:crypto";
import * as http from "node:http";
import * as zlib from "node:zlib";
import { wsEcho } from "./ws-echo.mjs";

export const GZIP_TEXT = "plain http, gzip coded. ".repeat(200);

export function startForwardOrigin() {
  const records = [];
  let conns = 0;
  const server = http.createServer((req, res) => {
    const conn = req.socket.__conn;
    const url = new URL(req.url ?? "/", "http://origin");
    if (url.pathname === "/__log") {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(records));
      return;
    }
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      const record = {
        conn,
        method: req.method,
        path: req.url,
        rawHeaders: req.rawHeaders,
        bodyLength: body.length,
      };
      records.push(record);
      answer(url, res, conn, record, body);
    });
  });
  server.on("connection", (socket) => {
    conns += 1;
    socket.__conn = conns;
  });
  // A WebSocket handshake (a plaintext tunnel's ws://): recorded like a request, then echoed.
  server.on("upgrade", (req, socket, head) => {
    records.push({
      conn: socket.__conn,
      method: req.method,
      path: req.url,
      rawHeaders: req.rawHeaders,
      bodyLength: 0,
    });
    if (req.url === "/ws-refuse") {
      // Refused, the connection left open: what happens to it is the proxy's choice (recorded).
      socket.write("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n");
      socket.on("error", () => {});
      socket.on("end", () => socket.end()); // the peer's FIN: close our side too
      socket.resume();
      socket.on("close", () => {
        records.push({
          conn: socket.__conn,
          method: "-",
          path: "/ws-refuse closed",
          rawHeaders: [],
          bodyLength: 0,
        });
      });
      return;
    }
    const key = req.headers["sec-websocket-key"] ?? "";
    const accept = createHash("sha1").update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest("base64");
    socket.write(
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        `Sec-WebSocket-Accept: ${accept}\r\n\r\n`,
    );
    socket.on("error", () => {});
    wsEcho(socket, head);
  });
  server.keepAliveTimeout = 30_000; // ms; longer than any test, so reuse is the proxy's choice
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      resolve({
        port: server.address().port,
        records: () => records,
        clear: () => {
          records.length = 0;
        },
        close: () => {
          server.closeAllConnections?.();
          server.close();
        },
      });
    });
  });
}

function answer(url, res, conn, record, body) {
  const path = url.pathname;
  const base = { "x-conn": String(conn) };
  if (path === "/gzip") {
    const coded = zlib.gzipSync(Buffer.from(GZIP_TEXT));
    res.writeHead(200, {
      ...base,
      "content-type": "text/plain",
      "content-encoding": "gzip",
      "content-length": String(coded.length),
    });
    res.end(coded);
    return;
  }
  if (path === "/die" || path === "/die-chunked") {
    const headers = { ...base, "content-type": "application/octet-stream" };
    if (path === "/die") headers["content-length"] = "100000";
    res.writeHead(200, headers);
    res.write(Buffer.alloc(1000, 0x61));
    setTimeout(() => res.socket?.destroy(), 50);
    return;
  }
  if (path.startsWith("/status/")) {
    res.writeHead(Number(path.slice(8)), base);
    res.end();
    return;
  }
  if (path === "/hints") {
    res.writeEarlyHints({ link: "</a.css>; rel=preload; as=style" });
    res.writeHead(200, { ...base, "content-type": "text/plain" });
    res.end("hinted");
    return;
  }
  const json = Buffer.from(JSON.stringify({ ...record, bodyText: body.toString("latin1").slice(0, 200) }));
  res.writeHead(200, { ...base, "content-type": "application/json", "content-length": String(json.length) });
  res.end(json);
}

if (process.argv.includes("--serve")) {
  const origin = await startForwardOrigin();
  process.stdout.write(`${JSON.stringify({ port: origin.port })}\n`);
  process.stdin.resume();
  process.stdin.on("end", () => {
    origin.close();
    process.exit(0);
  });
}
