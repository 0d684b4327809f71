/**
 * The fidelity matrix's recording origin (tests only). A TCP front on 127.0.0.1:0 keeps each
 * connection's raw ClientHello (parsed with src/fingerprint/clienthello.ts) and relays the
 * connection to an inner TLS server with a leaf from the test CA; that server answers over h2
 * when ALPN chose it (fidelity-h2-answer.ts) and over HTTP/1.1 otherwise (fidelity-h1-answer.ts),
 * and records every request together with its connection's hello, ALPN and, on h2, the summary of
 * the client's connection preface (Akamai string: src/fingerprint/h2-summary.ts).
 */
import * as net from "node:net";
import * as tls from "node:tls";
import { clientHelloComplete, parseClientHello } from "../../src/fingerprint/clienthello.ts";
import { type H2Summary, summarizeH2 } from "../../src/fingerprint/h2-summary.ts";
import type { ClientHelloFingerprint } from "../../src/fingerprint/types.ts";
import { type H1Request, h1Answerer } from "./fidelity-h1-answer.ts";
import { type H2Request, h2Answerer } from "./fidelity-h2-answer.ts";

/** Plaintext bytes kept per h2 connection for its summary (our bound; a preface is < 1 KiB). */
const MAX_KEPT_BYTES = 256 * 1024;

export interface OriginConnection {
  hello: ClientHelloFingerprint | null;
  /** Length of the raw ClientHello record(s), bytes (the padding rule depends on it). */
  helloBytes: number;
  alpn: string | null;
  /** h2 only: the client's preface and first request, summarized at its first request. */
  h2: H2Summary | null;
  /** Why the summary could not be made, if it could not. */
  h2Error: string | null;
}

export type OriginRequest =
  | { protocol: "h2"; path: string; conn: OriginConnection; req: H2Request }
  | { protocol: "h1"; path: string; conn: OriginConnection; req: H1Request };

export interface FidelityOrigin {
  port: number;
  requests: OriginRequest[];
  /** Requests whose path starts with `prefix`. */
  byPath(prefix: string): OriginRequest[];
  close(): Promise<void>;
}

/** What each request gets back: the client checks it to know the exchange was whole. */
export const answerFor = (path: string): string => `fidelity ok ${path}`;

interface FrontHello {
  hello: ClientHelloFingerprint | null;
  bytes: number;
}

function join(parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}

export async function startFidelityOrigin(opts: {
  keyPem: string;
  certPem: string;
  /** ["h2", "http/1.1"], or ["http/1.1"] for an HTTP/1.1-only origin. */
  alpn: string[];
}): Promise<FidelityOrigin> {
  const requests: OriginRequest[] = [];
  const sockets = new Set<net.Socket>();
  /** Inner connection's remote port -> its front connection's hello. */
  const hellos = new Map<number, FrontHello>();

  const inner = tls.createServer({ key: opts.keyPem, cert: opts.certPem, ALPNProtocols: opts.alpn }, (s) => {
    sockets.add(s);
    s.on("error", () => {});
    s.on("close", () => sockets.delete(s));
    const alpn = typeof s.alpnProtocol === "string" ? s.alpnProtocol : null;
    const front = hellos.get(s.remotePort ?? -1);
    const conn: OriginConnection = { hello: null, helloBytes: 0, alpn, h2: null, h2Error: null };
    const helloNow = () => {
      const h = front ?? hellos.get(s.remotePort ?? -1);
      if (conn.hello !== null || h === undefined) return;
      conn.hello = h.hello;
      conn.helloBytes = h.bytes;
    };
    let feed: (c: Uint8Array) => void;
    if (alpn === "h2") {
      const kept: Uint8Array[] = [];
      let size = 0;
      feed = h2Answerer(
        (b) => s.write(b),
        (req) => {
          helloNow();
          if (conn.h2 === null && conn.h2Error === null) {
            try {
              conn.h2 = summarizeH2(join(kept));
            } catch (err) {
              conn.h2Error = String(err);
            }
          }
          const path = req.fields.find(([n]) => n === ":path")?.[1] ?? "";
          requests.push({ protocol: "h2", path, conn, req });
        },
        (req) => answerFor(req.fields.find(([n]) => n === ":path")?.[1] ?? ""),
      );
      const answer = feed;
      feed = (c) => {
        if (size < MAX_KEPT_BYTES) {
          kept.push(new Uint8Array(c));
          size += c.length;
        }
        answer(c);
      };
    } else {
      feed = h1Answerer(
        (b) => s.write(b),
        (req) => {
          helloNow();
          requests.push({ protocol: "h1", path: req.requestLine.split(" ")[1] ?? "", conn, req });
        },
        (req) => answerFor(req.requestLine.split(" ")[1] ?? ""),
      );
    }
    s.on("data", (d: Buffer) => feed(new Uint8Array(d)));
    s.on("end", () => s.end());
  });
  await new Promise<void>((r) => inner.listen(0, "127.0.0.1", r));
  const innerPort = (inner.address() as net.AddressInfo).port;

  const front = net.createServer((client) => {
    sockets.add(client);
    const holder: FrontHello = { hello: null, bytes: 0 };
    const pipe = net.connect({ host: "127.0.0.1", port: innerPort });
    sockets.add(pipe);
    pipe.on("connect", () => hellos.set(pipe.localPort ?? -1, holder));
    let buf: Uint8Array | null = new Uint8Array(0);
    client.on("data", (d: Buffer) => {
      if (buf !== null) {
        buf = join([buf, d]);
        try {
          const end = clientHelloComplete(buf);
          if (end !== "incomplete") {
            holder.hello = parseClientHello(buf.slice(0, end));
            holder.bytes = end;
            buf = null;
          }
        } catch {
          buf = null; // not a ClientHello: relay only
        }
      }
      pipe.write(d);
    });
    pipe.on("data", (d) => client.write(d));
    client.on("end", () => pipe.end());
    pipe.on("end", () => client.end());
    const done = () => {
      client.destroy();
      pipe.destroy();
      sockets.delete(client);
      sockets.delete(pipe);
    };
    for (const s of [client, pipe]) {
      s.on("close", done);
      s.on("error", done);
    }
  });
  await new Promise<void>((r) => front.listen(0, "127.0.0.1", r));

  return {
    port: (front.address() as net.AddressInfo).port,
    requests,
    byPath: (prefix) => requests.filter((r) => r.path.startsWith(prefix)),
    async close() {
      for (const s of sockets) s.destroy();
      await Promise.all([
        new Promise<void>((r) => front.close(() => r())),
        new Promise<void>((r) => inner.close(() => r())),
      ]);
    },
  };
}
