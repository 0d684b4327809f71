/**
 * The origin of the end-to-end HTTP-mode tests: `node:http2` secure server with HTTP/1.1 fallback
 * (`h2` kind) or `node:https` (`h1` kind). Run under Node 20 (`node e2e-origin.mjs --serve
 * <h2|h1> <key.pem> <cert.pem> <fixture dir>`: prints `{"port":N,"stats":M}`, serves until stdin
 * ends) it is nghttp2 / llhttp / OpenSSL; imported under Bun it is Bun's implementation.
 * A plain HTTP stats server on 127.0.0.1 reports what arrived (GET /, POST /clear), so a test
 * can count upstream connections and requests without adding requests of its own.
 *
 * Routes: /bytes?n=N[&cl=1] (N pattern bytes, streamed with backpressure), /echo (JSON
 * {n, sha, method, trailers} of the request body), /grpc (body then grpc-status trailers), /status/N,
 * /hints (103 then 200), /enc/<coding> (fixture body.<coding> with that Content-Encoding),
 * /headers (raw request headers as JSON), /rst (head, 1000 bytes, then a stream reset / socket
 * destroy), /drop-next (h1: the next request on this socket is dropped unanswered),
 * /goaway-first?n=N (h2: waits until N-1 /g/ streams are held, answers, GOAWAY last = its id,
 * destroys the session), /g/* (held on an armed session, else answered), Upgrade: websocket
 * (101 and an RFC 6455 echo of every frame), /early (413 at once, the request body never read),
 * /trailers-cl (h2: Content-Length 3, `Trailer: x-sum`, "abc", then the x-sum trailer),
 * /stall?n=N (a 1 MB content-length, N bytes of it, then silence), /refuse-once/* (h2: the first request for the path is refused, RST_STREAM(REFUSED_STREAM) before
 * anything is read; later ones are answered as /echo), /no-head (the request read, never answered;
 * stats count them and their closes), /after-upload (the body's byte count once it has all come).
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import * as http from "node:http";
import * as http2 from "node:http2";
import * as https from "node:https";
import * as net from "node:net";
import { wsEcho } from "./ws-echo.mjs";

const WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"; // RFC 6455 §1.3
const CHUNK = 65_536;

/** The pattern byte at offset i (period 256, so every 64 KiB block is the same). */
export function patternBlock() {
  const out = Buffer.alloc(CHUNK);
  for (let i = 0; i < CHUNK; i++) out[i] = (i * 31 + 7) & 0xff;
  return out;
}
const BLOCK = patternBlock();

function streamBytes(res, n, done, onSent) {
  let left = n;
  const pump = () => {
    while (left > 0) {
      const take = Math.min(left, CHUNK);
      left -= take;
      onSent(take);
      if (!res.write(take === CHUNK ? BLOCK : BLOCK.subarray(0, take))) {
        res.once("drain", pump);
        return;
      }
    }
    done();
  };
  pump();
}

/** Answers JSON {n, sha, method, trailers} of the request body once it ended. */
function echo(req, res) {
  const hash = createHash("sha256");
  let n = 0;
  req.on("data", (c) => {
    hash.update(c);
    n += c.length;
  });
  req.on("end", () => {
    const body = JSON.stringify({
      n,
      sha: hash.digest("hex"),
      method: req.method,
      trailers: req.trailers ?? {},
    });
    res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
    res.end(body);
  });
}

function wsAccept(key) {
  return createHash("sha1")
    .update(key + WS_GUID)
    .digest("base64");
}

/** ALPN offer and extension ids (hex) of a ClientHello record (RFC 8446 §4.1.2); null if unparsable. */
export function parseHello(rec) {
  try {
    let p = 5 + 4 + 2 + 32; // record header, handshake header, legacy_version, random
    p += 1 + rec[p]; // session id
    p += 2 + rec.readUInt16BE(p); // cipher suites
    p += 1 + rec[p]; // compression methods
    const end = p + 2 + rec.readUInt16BE(p);
    p += 2;
    const extensions = [];
    let alpn = [];
    while (p + 4 <= end) {
      const type = rec.readUInt16BE(p);
      const len = rec.readUInt16BE(p + 2);
      extensions.push(type.toString(16).padStart(4, "0"));
      if (type === 16) {
        alpn = [];
        for (let q = p + 6; q < p + 4 + len; q += 1 + rec[q])
          alpn.push(rec.subarray(q + 1, q + 1 + rec[q]).toString());
      }
      p += 4 + len;
    }
    return { alpn, extensions };
  } catch {
    return null;
  }
}

export function startE2eOrigin({ kind, key, cert, dir }) {
  const stats = { conns: [], reqs: [], sent: {} };
  const goaway = new WeakMap(); // session -> { held: [], trigger }
  let nextConn = 0;
  const refusedOnce = new Set(); // paths /refuse-once/* already refused once

  const route = (req, res) => {
    const url = new URL(req.url ?? "/", "https://origin");
    const path = url.pathname;
    const h2stream = req.stream; // only on HTTP/2
    const sock = req.socket;
    if (sock.e2eDropNext && !h2stream) {
      stats.reqs.push({
        conn: sock.e2eConn,
        version: req.httpVersion,
        method: req.method,
        path: req.url,
        dropped: true,
      });
      sock.destroy();
      return;
    }
    stats.reqs.push({
      conn: sock.e2eConn ?? h2stream?.session?.socket?.e2eConn ?? -1,
      version: req.httpVersion,
      method: req.method,
      path: req.url,
      raw: req.rawHeaders,
    });
    if (path === "/bytes") {
      const n = Number(url.searchParams.get("n") ?? "0");
      const headers = { "content-type": "application/octet-stream" };
      if (url.searchParams.get("cl") === "1") headers["content-length"] = String(n);
      res.writeHead(200, headers);
      if (req.method === "HEAD") return res.end();
      stats.sent[req.url] = 0;
      streamBytes(
        res,
        n,
        () => res.end(),
        (k) => {
          stats.sent[req.url] += k;
        },
      );
      return;
    }
    if (path.startsWith("/no-head")) {
      // Reads the whole request, then never answers (the proxy's response-head deadline).
      stats.noHead = (stats.noHead ?? 0) + 1;
      req.resume();
      req.on("close", () => {
        stats.noHeadClosed = (stats.noHeadClosed ?? 0) + 1;
      });
      return;
    }
    if (path.startsWith("/after-upload")) {
      // Answers once the whole body is in, however long it took.
      let n = 0;
      req.on("data", (d) => {
        n += d.length;
      });
      req.on("end", () => {
        res.writeHead(200, { "content-type": "text/plain", "content-length": String(String(n).length) });
        res.end(String(n));
      });
      return;
    }
    if (path === "/early") {
      // Answers before reading the request body (as an origin refusing an upload does).
      res.writeHead(413, { "content-type": "text/plain", "content-length": "5" });
      res.end("early");
      return;
    }
    if (path.startsWith("/refuse-once/") && h2stream && !refusedOnce.has(path)) {
      // The first request for this path: RST_STREAM(REFUSED_STREAM) before reading anything.
      refusedOnce.add(path);
      h2stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
      return;
    }
    if (path === "/echo" || path.startsWith("/refuse-once/")) {
      echo(req, res);
      return;
    }
    if (path === "/grpc") {
      req.resume();
      req.on("end", () => {
        const trailerHeader = h2stream ? {} : { trailer: "grpc-status, grpc-message" };
        res.writeHead(200, { "content-type": "application/grpc", ...trailerHeader });
        res.addTrailers({ "grpc-status": "0", "grpc-message": "ok" });
        res.end("grpc-body");
      });
      return;
    }
    if (path === "/early-read") {
      // Answers at once, then still reads the whole body: sent[path] is how much of it arrived.
      res.writeHead(202, { "content-type": "text/plain", "content-length": "2" });
      res.end("ok");
      let n = 0;
      req.on("data", (c) => {
        n += c.length;
      });
      req.on("end", () => {
        stats.sent[req.url] = n;
      });
      return;
    }
    if (path === "/trailers-cl" && h2stream) {
      // A Content-Length, a Trailer field announcing x-sum, and the trailer after the body (h2).
      req.resume();
      res.writeHead(200, { "content-length": "3", trailer: "x-sum" });
      res.addTrailers({ "x-sum": "42" });
      res.end("abc");
      return;
    }
    if (path === "/stall") {
      // A head announcing 1 MB, ?n= bytes of it, then nothing until the request is gone.
      req.resume();
      res.writeHead(200, { "content-type": "application/octet-stream", "content-length": String(1 << 20) });
      res.write(BLOCK.subarray(0, Number(url.searchParams.get("n") ?? "1000")));
      return;
    }
    if (path === "/delay") {
      // Answers after ?ms= milliseconds (a long poll), unless the request is gone by then.
      req.resume();
      const timer = setTimeout(
        () => {
          res.writeHead(200, { "content-type": "text/plain", "content-length": "4" });
          res.end("late");
        },
        Number(url.searchParams.get("ms") ?? "1000"),
      );
      res.on("close", () => clearTimeout(timer));
      return;
    }
    if (path === "/rst-complete") {
      // The whole content-length, then RST_STREAM(NO_ERROR) instead of END_STREAM (as Node's
      // compat API does when it ends a stream whose request it no longer reads).
      req.resume();
      if (!h2stream) {
        res.writeHead(200, { "content-length": "5" });
        res.end("whole");
        return;
      }
      h2stream.respond({ ":status": 200, "content-length": "5" });
      h2stream.write("whole", () => h2stream.close(http2.constants.NGHTTP2_NO_ERROR));
      return;
    }
    if (path === "/trailers-only") {
      // A gRPC error as servers send it (Trailers-Only): one HEADERS frame with END_STREAM.
      req.resume();
      const status = { "content-type": "application/grpc", "grpc-status": "7", "grpc-message": "denied" };
      if (h2stream) h2stream.respond({ ":status": 200, ...status }, { endStream: true });
      else {
        res.writeHead(200, { ...status, "content-length": "0" });
        res.end();
      }
      return;
    }
    if (path.startsWith("/status/")) {
      req.resume();
      res.writeHead(Number(path.slice(8)), { etag: '"v1"', "x-status": "yes" });
      res.end();
      return;
    }
    if (path === "/hints") {
      req.resume();
      const link = "</style.css>; rel=preload; as=style";
      if (h2stream) h2stream.additionalHeaders({ ":status": 103, link });
      else res.writeEarlyHints({ link });
      res.writeHead(200, { "content-type": "text/plain", "content-length": "6" });
      res.end("hinted");
      return;
    }
    if (path === "/range") {
      // A Range request on a resource it can send gzip-coded (when asked, or always with
      // ?force=1): 206 with the asked bytes of that coding; the Accept-Encoding it saw in a field.
      req.resume();
      const ae = String(req.headers["accept-encoding"] ?? "");
      const coded = url.searchParams.get("force") === "1" || /\bgzip\b/.test(ae);
      const whole = readFileSync(coded ? `${dir}/body.gzip` : `${dir}/body.txt`);
      const m = /^bytes=(\d+)-(\d+)$/.exec(String(req.headers.range ?? ""));
      const [from, to] = m ? [Number(m[1]), Math.min(Number(m[2]), whole.length - 1)] : [0, whole.length - 1];
      const part = whole.subarray(from, to + 1);
      res.writeHead(m ? 206 : 200, {
        "content-type": "text/plain",
        ...(coded ? { "content-encoding": "gzip" } : {}),
        ...(m ? { "content-range": `bytes ${from}-${to}/${whole.length}` } : {}),
        "content-length": String(part.length),
        "x-seen-accept-encoding": ae,
      });
      res.end(part);
      return;
    }
    if (path.startsWith("/enc/")) {
      req.resume();
      const coding = path.slice(5);
      const whole = readFileSync(`${dir}/body.${coding}`);
      // ?cut=1: the coded body cut in half, its Content-Length matching the cut (the HTTP framing
      // whole, the coding not).
      const body = url.searchParams.get("cut") === "1" ? whole.subarray(0, whole.length >> 1) : whole;
      res.writeHead(200, {
        "content-type": "text/plain",
        "content-encoding": coding,
        "content-length": String(body.length),
        etag: '"enc"',
      });
      res.end(body);
      return;
    }
    if (path === "/headers") {
      req.resume();
      req.on("end", () => {
        const body = JSON.stringify(req.rawHeaders);
        res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
        res.end(body);
      });
      return;
    }
    if (path === "/rst") {
      req.resume();
      res.writeHead(200, { "content-type": "application/octet-stream" });
      res.write(BLOCK.subarray(0, 1000), () =>
        setTimeout(() => {
          if (h2stream) h2stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
          else sock.destroy();
        }, 20),
      );
      return;
    }
    if (path === "/drop-next") {
      req.resume();
      sock.e2eDropNext = true;
      res.writeHead(200, { "content-length": "5" });
      res.end("armed");
      return;
    }
    if (path === "/goaway-first") {
      const session = h2stream.session;
      const state = { held: [], want: Number(url.searchParams.get("n") ?? "2") - 1, trigger: h2stream };
      goaway.set(session, state);
      req.resume();
      return;
    }
    if (path.startsWith("/g/")) {
      const state = h2stream ? goaway.get(h2stream.session) : undefined;
      req.resume();
      if (state) {
        state.held.push(h2stream);
        if (state.held.length >= state.want) {
          const t = state.trigger;
          const session = t.session;
          t.respond({ ":status": 200, "content-length": "3" });
          t.end("bye", () => {
            session.goaway(0, t.id);
            setTimeout(() => session.destroy(), 50);
          });
        }
        return;
      }
      req.on("end", () => {
        res.writeHead(200, { "content-type": "text/plain", "content-length": String(req.method.length + 3) });
        res.end(`ok ${req.method}`);
      });
      return;
    }
    req.resume();
    res.writeHead(404, { "content-length": "0" });
    res.end();
  };

  const tlsOpts = { key, cert, ALPNProtocols: kind === "h2" ? ["h2", "http/1.1"] : ["http/1.1"] };
  const server =
    kind === "h2"
      ? http2.createSecureServer({ ...tlsOpts, allowHTTP1: true }, route)
      : https.createServer(tlsOpts, route);
  server.on("secureConnection", (s) => {
    s.e2eConn = nextConn++;
    const hello = s.e2eHello ?? s._parent?.e2eHello ?? null;
    stats.conns.push({ id: s.e2eConn, alpn: s.alpnProtocol || null, hello });
    s.on("error", () => {});
  });
  if (kind === "h2") server.on("sessionError", () => {});
  server.on("upgrade", (req, socket, head) => {
    stats.reqs.push({
      conn: socket.e2eConn ?? -1,
      version: req.httpVersion,
      method: req.method,
      path: req.url,
      raw: req.rawHeaders,
    });
    socket.write(
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        `Sec-WebSocket-Accept: ${wsAccept(req.headers["sec-websocket-key"] ?? "")}\r\n\r\n`,
    );
    socket.on("error", () => {});
    wsEcho(socket, head);
  });
  const statsServer = http.createServer((req, res) => {
    if (req.method === "POST") {
      stats.conns.length = 0;
      stats.reqs.length = 0;
      stats.sent = {};
      stats.noHead = 0;
      stats.noHeadClosed = 0;
    }
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify(stats));
  });
  // Reads the ClientHello first (ALPN offer and extension ids), then hands the socket to TLS.
  const front = net.createServer((raw) => {
    raw.on("error", () => {});
    let buf = Buffer.alloc(0);
    const onData = (d) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length < 5 || buf.length < 5 + buf.readUInt16BE(3)) return;
      raw.off("data", onData);
      raw.pause();
      raw.e2eHello = parseHello(buf);
      raw.unshift(buf);
      server.emit("connection", raw);
    };
    raw.on("data", onData);
  });
  const listen = (s) => new Promise((r) => s.listen(0, "127.0.0.1", () => r(s.address().port)));
  // Bun's servers are listened on directly (its TLS servers do not take emitted sockets).
  const outer = process.versions.bun ? server : front;
  return Promise.all([listen(outer), listen(statsServer)]).then(([port, statsPort]) => ({
    port,
    statsPort,
    close: () => {
      server.closeAllConnections?.();
      server.close();
      front.close();
      statsServer.close();
    },
  }));
}

if (process.argv[2] === "--serve") {
  const [, , , kind, keyPath, certPath, dir] = process.argv;
  const origin = await startE2eOrigin({
    kind,
    key: readFileSync(keyPath),
    cert: readFileSync(certPath),
    dir,
  });
  process.stdout.write(`${JSON.stringify({ port: origin.port, stats: origin.statsPort })}\n`);
  process.stdin.resume();
  process.stdin.on("end", () => process.exit(0));
}
