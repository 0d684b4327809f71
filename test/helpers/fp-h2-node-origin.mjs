// A TLS HTTP/2 origin on Node's http2 (nghttp2): the independent peer for
// test/fingerprint-h2.test.ts. Run with `node fp-h2-node-origin.mjs KEY_FILE CERT_FILE`; prints
// {"port":N} once listening on 127.0.0.1, then one JSON line per request stream it accepted:
// {"alpn", "flags", "headers": [[name, value], ...]} with the request's fields in wire order
// (rawHeaders), and answers each with 200 "ok". Exits when its stdin ends.
import { readFileSync } from "node:fs";
import http2 from "node:http2";

const [keyFile, certFile] = process.argv.slice(2);
const server = http2.createSecureServer({ key: readFileSync(keyFile), cert: readFileSync(certFile) });

server.on("sessionError", () => {});
server.on("stream", (stream, _headers, flags, rawHeaders) => {
  stream.on("error", () => {});
  const headers = [];
  for (let i = 0; i < rawHeaders.length; i += 2) headers.push([rawHeaders[i], rawHeaders[i + 1]]);
  const alpn = stream.session.alpnProtocol ?? null;
  process.stdout.write(`${JSON.stringify({ alpn, flags, headers })}\n`);
  stream.respond({ ":status": 200, "content-type": "text/plain" });
  stream.end("ok");
});

server.listen(0, "127.0.0.1", () => {
  process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`);
});
process.stdin.on("end", () => process.exit(0));
process.stdin.resume();
