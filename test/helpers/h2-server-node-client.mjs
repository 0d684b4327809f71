// A Node (nghttp2) HTTP/2 client through the proxy, for the server-role e2e tests
// (test/http-e2e-h2-client.test.ts): CONNECT, TLS with the test CA, then one scenario; prints one
// JSON line with what it saw. Usage: node h2-server-node-client.mjs <proxyPort> <authority> <caPath> <scenario> [hold]
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import * as http2 from "node:http2";
import * as net from "node:net";
import * as tls from "node:tls";

const [proxyPort, authority, caPath, scenario, holdArg] = process.argv.slice(2);
const ca = readFileSync(caPath, "utf8");
const MiB = 1024 * 1024;

/** The origin's body pattern (test/helpers/e2e-origin.mjs `patternBlock`). */
const CHUNK = 64 * 1024;
const BLOCK = Buffer.alloc(CHUNK);
for (let i = 0; i < CHUNK; i++) BLOCK[i] = (i * 31 + 7) & 0xff;

function tunnel() {
  return new Promise((resolve, reject) => {
    const s = net.connect(Number(proxyPort), "127.0.0.1", () => {
      s.write(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n\r\n`);
    });
    let head = "";
    const onData = (d) => {
      head += d.toString("latin1");
      if (!head.includes("\r\n\r\n")) return;
      s.off("data", onData);
      if (!head.startsWith("HTTP/1.1 200")) return reject(new Error(head));
      const t = tls.connect({ socket: s, servername: "localhost", ca, ALPNProtocols: ["h2"] }, () =>
        resolve(t),
      );
      t.once("error", reject);
    };
    s.on("data", onData);
    s.once("error", reject);
  });
}

async function session(settings = {}) {
  const t = await tunnel();
  const s = http2.connect(`https://${authority}`, { createConnection: () => t, settings });
  s.on("error", () => {});
  return s;
}

/** One request: status, 1xx heads, body sha256 and length, trailers, reset code. */
function request(s, headers, body, opts = {}) {
  return new Promise((resolve) => {
    const req = s.request(
      { ":authority": authority, ...headers },
      { endStream: body === undefined, waitForTrailers: !!opts.trailers },
    );
    const hash = createHash("sha256");
    const out = { status: 0, interim: [], n: 0, sha: "", trailers: {}, rst: 0, error: null };
    req.on("headers", (h) => out.interim.push(h));
    req.on("response", (h) => {
      out.status = h[":status"];
      out.headers = h;
    });
    req.on("trailers", (t) => {
      out.trailers = t;
    });
    const small = [];
    req.on("data", (c) => {
      hash.update(c);
      if (out.n < 4096) small.push(c);
      out.n += c.length;
      if (opts.onData) opts.onData(req, out.n);
    });
    req.on("error", (e) => {
      out.error = e.code ?? String(e);
    });
    if (opts.onStart) opts.onStart(req);
    req.on("close", () => {
      out.sha = hash.digest("hex");
      out.text = out.n <= 4096 ? Buffer.concat(small).toString() : "";
      out.rst = req.rstCode ?? 0;
      resolve(out);
    });
    if (opts.trailers) req.on("wantTrailers", () => req.sendTrailers(opts.trailers));
    if (typeof body === "number") {
      let left = body;
      const pump = () => {
        while (left > 0) {
          const take = Math.min(left, CHUNK);
          left -= take;
          if (!req.write(take === CHUNK ? BLOCK : BLOCK.subarray(0, take))) return req.once("drain", pump);
        }
        req.end();
      };
      pump();
    } else if (body !== undefined) req.end(body);
  });
}

/**
 * With `hold`: prints `result` at once and keeps the connection open until stdin ends, so the test
 * sees what the origin got while the tunnel lives (closing it would end every upstream exchange).
 */
async function hold(result) {
  if (holdArg !== "hold") return;
  process.stdout.write(`${JSON.stringify(result)}\n`);
  await new Promise((resolve) => {
    process.stdin.once("end", resolve);
    process.stdin.resume();
  });
  process.exit(0);
}

const scenarios = {
  async many() {
    const s = await session();
    const all = await Promise.all(
      Array.from({ length: 100 }, (_, i) => request(s, { ":path": `/bytes?n=${1000 + i}` })),
    );
    s.close();
    return all.map((r) => [r.status, r.n]);
  },
  async bulk() {
    // Small windows for the proxy's DATA (16 KiB per stream): the proxy must honour them.
    const s = await session({ initialWindowSize: 16384 });
    const [down, up] = await Promise.all([
      request(s, { ":path": `/bytes?n=${100 * MiB}` }),
      request(s, { ":method": "POST", ":path": "/echo" }, 100 * MiB),
    ]);
    s.close();
    const echo = JSON.parse(up.text || "{}");
    return { down: [down.status, down.n, down.sha], up: [up.status, echo.n, echo.sha] };
  },
  async trailers() {
    const s = await session();
    const grpc = await request(
      s,
      { ":method": "POST", ":path": "/grpc", "content-type": "application/grpc" },
      "x",
    );
    const echo = await request(s, { ":method": "POST", ":path": "/echo" }, "hello", {
      trailers: { "x-sum": "abc" },
    });
    s.close();
    const got = JSON.parse(echo.text || "{}");
    return {
      grpc: [grpc.status, grpc.trailers["grpc-status"], grpc.trailers["grpc-message"]],
      echo: [echo.status, got.n, got.trailers],
    };
  },
  async rst() {
    const s = await session();
    const cut = await request(s, { ":path": `/bytes?n=${100 * MiB}` }, undefined, {
      onData: (req, n) => {
        if (n >= 100_000 && !req.closed) req.close(http2.constants.NGHTTP2_CANCEL);
      },
    });
    const after = await request(s, { ":path": "/bytes?n=10" });
    const result = { cut: [cut.status, cut.n < 100 * MiB, cut.rst], after: [after.status, after.n] };
    await hold(result);
    s.close();
    return result;
  },
  async queued() {
    // The origin takes one stream at a time (MAX_CONCURRENT_STREAMS 1): /queued waits in the
    // proxy behind /slow, and the client gives it up before the origin could take it.
    const s = await session();
    const slow = request(s, { ":path": "/slow" });
    await new Promise((r) => setTimeout(r, 100));
    const queued = request(s, { ":path": "/queued" }, undefined, {
      onStart: (req) => setTimeout(() => req.close(http2.constants.NGHTTP2_CANCEL), 200),
    });
    const [a, b] = await Promise.all([slow, queued]);
    const after = await request(s, { ":path": "/bytes?n=10" });
    const result = { slow: [a.status, a.text], queued: b.rst, after: [after.status, after.n] };
    await hold(result);
    s.close();
    return result;
  },
  async uploads() {
    // Batches of 10 concurrent 40 KB POSTs on one connection, 2 MB in all: twice the proxy's 1 MiB
    // connection window, so every byte's credit must come back (a stall times out a request).
    const s = await session();
    const seen = [];
    for (let batch = 0; batch < 5; batch++) {
      const all = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          Promise.race([
            request(s, { ":method": "POST", ":path": `/echo?b=${batch}&i=${i}` }, 40_000),
            new Promise((r) => setTimeout(() => r({ status: "stalled" }), 10_000)),
          ]),
        ),
      );
      seen.push(all.map((r) => (r.status === 200 ? JSON.parse(r.text || "{}").n : r.status)));
    }
    s.destroy();
    return seen;
  },
  async concurrentUploads() {
    // 30 uploads of 1 MiB at once on one connection: to an HTTP/1.1 origin 6 go upstream and the
    // rest wait for a connection, holding what the client sent them meanwhile. Before, those held
    // bytes used up the connection window and the 6 could never finish: nothing moved.
    const s = await session();
    const all = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        Promise.race([
          request(s, { ":method": "POST", ":path": `/echo?u=${i}` }, MiB),
          new Promise((r) => setTimeout(() => r({ status: "stalled" }), 20_000)),
        ]),
      ),
    );
    s.destroy();
    return all.map((r) => (r.status === 200 ? JSON.parse(r.text || "{}").n : r.status));
  },
  async early() {
    // The origin answers 413 before reading each 4 MiB upload: the request bytes the proxy still
    // holds for it are dropped, and their window credit must come back, or the next upload stalls.
    const s = await session();
    const timed = (p) =>
      Promise.race([p, new Promise((r) => setTimeout(() => r({ status: "stalled" }), 8_000))]);
    const early = [];
    for (let i = 0; i < 4; i++)
      early.push((await timed(request(s, { ":method": "POST", ":path": `/early?i=${i}` }, 4 * MiB))).status);
    const after = await timed(request(s, { ":method": "POST", ":path": "/echo" }, 3 * MiB));
    s.destroy();
    return { early, after: after.status === 200 ? JSON.parse(after.text || "{}").n : after.status };
  },
  async hints() {
    const s = await session();
    const r = await request(s, { ":path": "/hints" });
    s.close();
    return { status: r.status, interim: r.interim.map((h) => [h[":status"], h.link]), n: r.n };
  },
};

const result = await scenarios[scenario]();
process.stdout.write(`${JSON.stringify(result)}\n`);
process.exit(0);
