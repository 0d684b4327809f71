/**
 * Fidelity matrix client for a real Node (v20: OpenSSL, llhttp), run as a child process (tests
 * only): for each job, a CONNECT tunnel made with http.request({ method: "CONNECT" }), TLS over it
 * checked against the proxy's CA, and one https.request GET on that socket.
 *
 * Usage: node fidelity-client.mjs <proxy CA PEM>   (jobs on stdin, "<id> <proxy port> <url>" a
 * line). Prints "RESULT <id> <status> <base64 body or error>" a job.
 */
import { readFileSync } from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import * as tls from "node:tls";

const ca = readFileSync(process.argv[2] ?? "", "utf8");
/** Bound of one job, ms: a stuck exchange fails its cell instead of hanging the run. */
const JOB_TIMEOUT_MS = 20_000;

function tunnel(proxyPort, host, port) {
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: "127.0.0.1",
      port: proxyPort,
      method: "CONNECT",
      path: `${host}:${port}`,
    });
    req.on("connect", (res, socket) => {
      if (res.statusCode !== 200) reject(new Error(`CONNECT answered ${res.statusCode}`));
      else resolve(socket);
    });
    req.on("error", reject);
    req.end();
  });
}

async function get(proxyPort, url) {
  const u = new URL(url);
  const socket = await tunnel(proxyPort, u.hostname, u.port);
  const secure = tls.connect({ socket, servername: u.hostname, ca, ALPNProtocols: ["http/1.1"] });
  return await new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: u.hostname,
        port: u.port,
        path: u.pathname + u.search,
        method: "GET",
        createConnection: () => secure,
      },
      (res) => {
        const chunks = [];
        res.on("data", (d) => chunks.push(d));
        res.on("end", () => {
          secure.destroy();
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) });
        });
      },
    );
    req.on("error", reject);
    req.end();
  });
}

let input = "";
for await (const chunk of process.stdin) input += chunk;
for (const line of input.split("\n").filter((l) => l.trim() !== "")) {
  const [id, port, url] = line.split(" ");
  let out;
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${JOB_TIMEOUT_MS} ms`)), JOB_TIMEOUT_MS);
  });
  try {
    out = await Promise.race([get(Number(port), url), timeout]);
  } catch (err) {
    out = { status: 0, body: Buffer.from(String(err)) };
  } finally {
    clearTimeout(timer);
  }
  process.stdout.write(`RESULT ${id} ${out.status} ${out.body.toString("base64")}\n`);
}
// Sockets of a timed-out job may linger: the batch is done.
process.exit(0);
