/**
 * A real Node (nghttp2) HTTP/2 client through the proxy (tests only): one CONNECT tunnel, TLS over
 * it checked against the proxy's CA, ALPN h2, and every request of the batch sent at once on that
 * one session, each with an optional `X-PolyTLS-Upstream-Profile` (none when `profile` is null or
 * absent) and an optional upload of `uploadBytes` bytes of 0x61 (then a POST).
 *
 * Usage: node h2-batch-client.mjs   (stdin: {"proxyPort", "caPath", "host", "port",
 * "requests": [{"path", "profile"?, "uploadBytes"?}]}). Prints one JSON line: [{"path",
 * "status", "body"}] in request order (status 0 and the error as body when a request failed, or
 * "timed out" for those without an answer when the batch's time ran out).
 */
import { readFileSync } from "node:fs";
import * as http from "node:http";
import * as http2 from "node:http2";
import * as tls from "node:tls";

const TIMEOUT_MS = 20_000;

let input = "";
for await (const chunk of process.stdin) input += chunk;
const job = JSON.parse(input);
const ca = readFileSync(job.caPath, "utf8");

const socket = await new Promise((resolve, reject) => {
  const req = http.request({
    host: "127.0.0.1",
    port: job.proxyPort,
    method: "CONNECT",
    path: `${job.host}:${job.port}`,
  });
  req.on("connect", (res, s) =>
    res.statusCode === 200 ? resolve(s) : reject(new Error(`CONNECT ${res.statusCode}`)),
  );
  req.on("error", reject);
  req.end();
});
const session = http2.connect(`https://${job.host}:${job.port}`, {
  createConnection: () => tls.connect({ socket, servername: job.host, ca, ALPNProtocols: ["h2"] }),
});
session.on("error", () => {});

function one(r) {
  return new Promise((resolve) => {
    const headers = { ":method": r.uploadBytes ? "POST" : "GET", ":path": r.path };
    if (r.profile !== null && r.profile !== undefined) headers["x-polytls-upstream-profile"] = r.profile;
    const stream = session.request(headers, { endStream: !r.uploadBytes });
    let status = 0;
    const chunks = [];
    stream.on("response", (h) => {
      status = Number(h[":status"]);
    });
    stream.on("data", (d) => chunks.push(d));
    stream.on("end", () => resolve({ path: r.path, status, body: Buffer.concat(chunks).toString() }));
    stream.on("error", (e) => resolve({ path: r.path, status: 0, body: String(e) }));
    if (r.uploadBytes) stream.end(Buffer.alloc(r.uploadBytes, 0x61));
  });
}

/** Each request's result once it has one (the others time out). */
const done = job.requests.map((r) => ({ path: r.path, status: 0, body: "timed out" }));
const timer = setTimeout(() => {
  process.stdout.write(`${JSON.stringify(done)}\n`);
  process.exit(1);
}, TIMEOUT_MS);
const results = await Promise.all(
  job.requests.map(async (r, i) => {
    done[i] = await one(r);
    return done[i];
  }),
);
clearTimeout(timer);
process.stdout.write(`${JSON.stringify(results)}\n`);
session.close();
socket.destroy();
