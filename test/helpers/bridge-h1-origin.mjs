/**
 * An HTTP/1.1 origin on node:http, for the upstream HTTP/1.1 adapter tests. Run under Node
 * (`node bridge-h1-origin.mjs --serve-bridge-h1-origin`: prints `{"port":N}` and serves until stdin ends) it is an
 * implementation that is not ours; imported under Bun it is Bun's node:http server.
 *
 * Routes: /echo (body back; same Content-Length if the request had one, else chunked; an
 * `x-sum` trailer when asked with `x-want-trailers`), /bytes/N (N pattern bytes, `?cl=1` for a
 * Content-Length), /hints (103 then 200), /continue (100 then 200), /raw-headers (the request's
 * raw header lines as JSON), /peer (the client port, to see connection reuse), /die (dies
 * mid-body after a Content-Length promise), /die-chunked (dies mid chunked body), /close
 * (`Connection: close`). An `Upgrade: websocket` request is answered 101 and its frames echoed.
 */
import { createHash } from "node:crypto";
import * as http from "node:http";
import { wsEcho } from "./ws-echo.mjs";

const WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"; // RFC 6455 §1.3

export function patternBytes(n) {
  const out = Buffer.alloc(n);
  for (let i = 0; i < n; i++) out[i] = (i * 31 + 7) & 0xff;
  return out;
}

function sha256(buf) {
  return createHash("sha256").update(buf).digest("hex");
}

function route(req, res) {
  const url = new URL(req.url ?? "/", "http://origin");
  const path = url.pathname;
  if (path === "/echo") {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      const headers = { "x-method": req.method, "x-req-sum": sha256(body) };
      if (req.headers["content-length"] !== undefined) headers["content-length"] = String(body.length);
      const trailers = Object.keys(req.trailers ?? {}).length > 0 ? req.trailers : null;
      if (trailers) headers["x-req-trailers"] = JSON.stringify(trailers);
      if (req.headers["x-want-trailers"]) headers.trailer = "x-sum";
      res.writeHead(200, headers);
      if (req.headers["x-want-trailers"]) res.addTrailers({ "x-sum": sha256(body) });
      res.end(body);
    });
    return;
  }
  if (path.startsWith("/bytes/")) {
    const body = patternBytes(Number(path.slice(7)));
    const headers = { "content-type": "application/octet-stream" };
    if (url.searchParams.get("cl") === "1") headers["content-length"] = String(body.length);
    res.writeHead(200, headers);
    res.end(body);
    return;
  }
  if (path === "/hints") {
    res.writeEarlyHints({ link: "</style.css>; rel=preload; as=style" });
    res.writeHead(200, { "content-type": "text/plain" });
    res.end("hinted");
    return;
  }
  if (path === "/continue") {
    res.writeContinue();
    res.writeHead(200, { "content-length": "4" });
    res.end("done");
    return;
  }
  if (path === "/raw-headers") {
    req.resume();
    req.on("end", () => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(req.rawHeaders));
    });
    return;
  }
  if (path === "/peer") {
    res.writeHead(200, { "content-type": "text/plain" });
    res.end(String(req.socket.remotePort));
    return;
  }
  if (path === "/die" || path === "/die-chunked") {
    const headers = path === "/die" ? { "content-length": "100000" } : {};
    res.writeHead(200, headers);
    res.write(patternBytes(30000), () => setTimeout(() => req.socket.destroy(), 20));
    return;
  }
  if (path === "/close") {
    res.writeHead(200, { connection: "close", "content-length": "6" });
    res.end("closed");
    return;
  }
  res.writeHead(404, { "content-length": "0" });
  res.end();
}

export function startOrigin() {
  const server = http.createServer(route);
  server.on("upgrade", (req, socket, head) => {
    const key = req.headers["sec-websocket-key"] ?? "";
    const accept = createHash("sha1")
      .update(key + WS_GUID)
      .digest("base64");
    socket.write(
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        `Sec-WebSocket-Accept: ${accept}\r\n\r\n`,
    );
    wsEcho(socket, head);
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      resolve({
        port: server.address().port,
        close: () => {
          server.closeAllConnections?.();
          server.close();
        },
      });
    });
  });
}

if (process.argv.includes("--serve-bridge-h1-origin")) {
  const origin = await startOrigin();
  process.stdout.write(`${JSON.stringify({ port: origin.port })}\n`);
  process.stdin.resume();
  process.stdin.on("end", () => {
    origin.close();
    process.exit(0);
  });
}
