// A TLS 1.3 origin on real OpenSSL: run by Node.js (`node openssl-origin.mjs '<json>'`), because
// under Bun `node:tls` is BoringSSL. Tests only. Argument: {"keyPem", "certPem", "maxVersion"?}
// (maxVersion: e.g. "TLSv1.2" for an origin that stops at TLS 1.2). It listens on
// 127.0.0.1:0, issues session tickets (OpenSSL's default: two per full handshake), answers every
// HTTP/1.1 request with "hello <path>", and reports on stdout, one JSON object a line:
//   {"event":"listening","port":N}
//   {"event":"conn","resumed":bool,"version":"TLSv1.3"}    each completed handshake
//   {"event":"error","message":"..."}                      each failed handshake (e.g. an abort)
//   {"event":"rotated"}                                    after the "rotate" command
// stdin commands, one a line: "rotate" = new ticket keys, so every ticket issued so far is refused.
import { randomBytes } from "node:crypto";
import { createInterface } from "node:readline";
import * as tls from "node:tls";

const { keyPem, certPem, maxVersion } = JSON.parse(process.argv[2] ?? "{}");
const report = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);

const server = tls.createServer(
  {
    key: keyPem,
    cert: certPem,
    ALPNProtocols: ["http/1.1"],
    ticketKeys: randomBytes(48),
    ...(maxVersion ? { maxVersion } : {}),
  },
  (s) => {
    report({ event: "conn", resumed: s.isSessionReused(), version: s.getProtocol() });
    let buf = "";
    s.on("data", (d) => {
      buf += d.toString("latin1");
      const end = buf.indexOf("\r\n\r\n");
      if (end < 0) return;
      const path = buf.split(" ")[1] ?? "/";
      buf = buf.slice(end + 4);
      const body = `hello ${path}`;
      s.write(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
    });
    s.on("error", () => {});
  },
);
server.on("tlsClientError", (err) => report({ event: "error", message: err.message }));
server.listen(0, "127.0.0.1", () => report({ event: "listening", port: server.address().port }));

createInterface({ input: process.stdin }).on("line", (line) => {
  if (line.trim() === "rotate") {
    server.setTicketKeys(randomBytes(48));
    report({ event: "rotated" });
  }
});
process.stdin.on("end", () => process.exit(0));
