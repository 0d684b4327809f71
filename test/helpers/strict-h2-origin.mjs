/**
 * A strict HTTP/2 origin on Node's node:http2 (nghttp2; tests only, not ours): TLS on 127.0.0.1:0
 * with the given leaf, ALPN h2, SETTINGS_MAX_CONCURRENT_STREAMS 2 and a 1000-byte stream window
 * (nghttp2 refuses streams over the limit it announced, with REFUSED_STREAM, even before its
 * SETTINGS are acknowledged). Prints the port, then serves until stdin closes. Any path answers
 * the request body's length and SHA-256 as "n=<len> sha=<hex>", after a 20 ms pause (so streams
 * overlap); after a path under /goaway, the next stream on the connection brings GOAWAY(NO_ERROR)
 * naming that stream, and the /goaway one is answered 100 ms on. Usage: node strict-h2-origin.mjs <cert.pem> <key.pem>
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import * as http2 from "node:http2";

const server = http2.createSecureServer({
  cert: readFileSync(process.argv[2] ?? ""),
  key: readFileSync(process.argv[3] ?? ""),
  ALPNProtocols: ["h2"],
  settings: { maxConcurrentStreams: 2, initialWindowSize: 1000 },
});
server.on("stream", (stream, headers) => {
  const session = stream.session;
  if (session.goawayArmed) {
    // The stream after a /goaway one: GOAWAY naming it, the last stream taken (both slots are
    // busy, so the client has sent no other), before this stream's answer frees a slot.
    session.goawayArmed = false;
    session.goaway(http2.constants.NGHTTP2_NO_ERROR, stream.id);
  }
  if (String(headers[":path"]).startsWith("/goaway")) {
    session.goawayArmed = true;
    setTimeout(() => {
      stream.respond({ ":status": 200 });
      stream.end(`n=0 sha=${createHash("sha256").digest("hex")}`);
    }, 100);
    stream.resume();
    stream.on("error", () => {});
    return;
  }
  const h = createHash("sha256");
  let n = 0;
  stream.on("data", (d) => {
    n += d.length;
    h.update(d);
  });
  stream.on("end", () => {
    setTimeout(() => {
      stream.respond({ ":status": 200 });
      stream.end(`n=${n} sha=${h.digest("hex")}`);
    }, 20);
  });
  stream.on("error", () => {});
});
server.listen(0, "127.0.0.1", () => console.log(server.address().port));
process.stdin.on("end", () => process.exit(0));
process.stdin.resume();
