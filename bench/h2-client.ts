/**
 * The bench's HTTP/2 client: Bun's node:http2 client session over a TLS connection the bench opened
 * itself (direct, or through the proxy's CONNECT tunnel, ALPN h2), and a checked GET /small stream.
 */
import * as http2 from "node:http2";
import type * as tls from "node:tls";
import { SMALL_BODY, SMALL_PATH } from "./body.ts";

/** An HTTP/2 client session on `t`; `:authority` is `authority` (the proxy checks it against CONNECT). */
export function h2Session(t: tls.TLSSocket, authority: string): http2.ClientHttp2Session {
  if (t.alpnProtocol !== "h2") throw new Error(`ALPN ${t.alpnProtocol || "none"}, expected h2`);
  const session = http2.connect(`https://${authority}`, { createConnection: () => t });
  session.on("error", () => {}); // surfaces on the streams as well; counted there
  return session;
}

/**
 * GET /small on `session` (with the `extra` fields): status 200 and exactly SMALL_BODY; resolves
 * when the stream ended.
 */
export function h2GetSmall(
  session: http2.ClientHttp2Session,
  extra: Readonly<Record<string, string>> = {},
): Promise<void> {
  return new Promise((resolve, reject) => {
    let status = 0;
    let got = 0;
    let wrong = false;
    let settled = false;
    const finish = (err: Error | null) => {
      if (settled) return;
      settled = true;
      if (err) reject(err);
      else resolve();
    };
    let req: http2.ClientHttp2Stream;
    try {
      req = session.request({ ":path": SMALL_PATH, ...extra }, { endStream: true });
    } catch (err) {
      return finish(err instanceof Error ? err : new Error(String(err)));
    }
    req.on("response", (h) => {
      status = Number(h[":status"]);
    });
    req.on("data", (d: Buffer) => {
      if (got + d.length > SMALL_BODY.length || !SMALL_BODY.subarray(got, got + d.length).equals(d)) {
        wrong = true;
      }
      got += d.length;
    });
    req.on("end", () => {
      if (status !== 200) return finish(new Error(`h2 status ${status}`));
      if (wrong || got !== SMALL_BODY.length) return finish(new Error(`h2 wrong body (${got} bytes)`));
      finish(null);
    });
    req.on("error", (e: Error) => finish(e));
    req.on("close", () => finish(new Error(`h2 stream closed after ${got} body bytes`)));
  });
}

/** Opens a session on `t` and makes one checked request; resolves with the session (kept open). */
export async function h2FirstRequest(t: tls.TLSSocket, authority: string): Promise<http2.ClientHttp2Session> {
  const session = h2Session(t, authority);
  await h2GetSmall(session);
  return session;
}
