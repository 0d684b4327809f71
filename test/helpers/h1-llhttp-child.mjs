// Run by real Node (not Bun) from test/h1-llhttp.test.ts: an independent HTTP/1.1 parser (llhttp,
// strict mode) to cross-check the PolyTLS h1 codec against.
//   node h1-llhttp-child.mjs server     → prints "PORT <n>", answers 200 to any request it accepts
//   node h1-llhttp-child.mjs responses  → reads [{raw (base64), method}] on stdin, prints verdicts
import http from "node:http";
import net from "node:net";

const mode = process.argv[2];

if (mode === "server") {
  const ok = (socket) => socket.end("HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
  const server = http.createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      res.setHeader("Connection", "close");
      res.end();
    });
  });
  server.on("upgrade", (_req, socket) => ok(socket));
  server.on("connect", (_req, socket) => ok(socket));
  server.listen(0, "127.0.0.1", () => {
    process.stdout.write(`PORT ${server.address().port}\n`);
  });
  process.stdin.resume();
  process.stdin.on("end", () => process.exit(0));
} else if (mode === "responses") {
  let input = "";
  process.stdin.setEncoding("utf8");
  process.stdin.on("data", (d) => {
    input += d;
  });
  process.stdin.on("end", async () => {
    const cases = JSON.parse(input);
    const verdicts = await Promise.all(cases.map((c) => fetchRaw(Buffer.from(c.raw, "base64"), c.method)));
    process.stdout.write(JSON.stringify(verdicts));
  });
} else {
  process.stderr.write(`unknown mode ${mode}\n`);
  process.exit(2);
}

/** Serves `raw` once, then closes; requests it with node:http; "ok:<status>:<body bytes>" or "error:<code>". */
function fetchRaw(raw, method) {
  return new Promise((resolve) => {
    const server = net.createServer((socket) => {
      socket.on("error", () => {});
      socket.once("data", () => socket.end(raw));
    });
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      let settled = false;
      const done = (v) => {
        if (settled) return;
        settled = true;
        server.close();
        resolve(v);
      };
      const req = http.request({ host: "127.0.0.1", port, method, path: "/", agent: false }, (res) => {
        let n = 0;
        res.on("data", (d) => {
          n += d.length;
        });
        res.on("end", () => done(`ok:${res.statusCode}:${n}`));
        res.on("error", (e) => done(`error:${e.code ?? e.message}`));
        res.on("close", () => done(res.complete ? `ok:${res.statusCode}:${n}` : "error:truncated"));
      });
      req.on("error", (e) => done(`error:${e.code ?? e.message}`));
      req.end();
    });
  });
}
