/**
 * The probe's TLS origin, which also records: it terminates TLS with the probe's leaf and keeps
 * every plaintext byte each client sends after the handshake. On an `h2` connection it answers
 * as a minimal HTTP/2 server (empty SETTINGS, SETTINGS ACK, `:status 200` with END_STREAM on
 * every request stream), so a client completes one exchange; other connections get "ok" (a first
 * write also flushes the server's session tickets, which some TLS stacks send lazily).
 */
import type * as net from "node:net";
import * as tls from "node:tls";
import { FrameReader } from "../http/h2/frame-reader.ts";
import { CLIENT_MAGIC, type Frame } from "../http/h2/frame-types.ts";
import { encodeFrame } from "../http/h2/frame-writer.ts";

/** Plaintext bytes kept per connection at most (our bound; one navigation is a few hundred). */
const MAX_RECORDED_BYTES = 1024 * 1024;
/** HPACK indexed field 8 of the static table, `:status: 200` (RFC 7541 Appendix A). */
const STATUS_200_BLOCK = new Uint8Array([0x88]);

export interface RecordedConnection {
  /** ALPN the origin selected, or null. */
  alpn: string | null;
  /** What the client sent after the handshake, until it closed (at most MAX_RECORDED_BYTES). */
  bytes: Uint8Array;
}

export interface RecordingOrigin {
  port: number;
  /** Resolves with the n-th connection (0-based, in accept order) once it has closed. */
  connection(n: number): Promise<RecordedConnection>;
  close(): Promise<void>;
}

export interface RecordingOriginOptions {
  keyPem: string;
  certPem: string;
  /** ALPN protocols the origin selects from. */
  alpn: string[];
}

/**
 * A server's view of a client's HTTP/2 byte stream (preface first): hands `onFrame` each frame as
 * it completes. From the first frame it cannot read (or that `onFrame` throws on) it ignores the
 * rest.
 */
export function clientFrameFeed(onFrame: (frame: Frame) => void): (chunk: Uint8Array) => void {
  const reader = new FrameReader();
  let magic = 0;
  let broken = false;
  return (chunk) => {
    if (broken) return;
    let rest = chunk;
    if (magic < CLIENT_MAGIC.length) {
      const n = Math.min(CLIENT_MAGIC.length - magic, rest.length);
      magic += n;
      rest = rest.subarray(n);
    }
    reader.push(rest);
    try {
      for (let f = reader.next(); f !== null; f = reader.next()) onFrame(f);
    } catch {
      broken = true;
    }
  };
}

/** Answers a client's frames as a minimal server would; stops at the first frame it cannot read. */
function h2Responder(write: (b: Uint8Array) => void): (chunk: Uint8Array) => void {
  write(encodeFrame({ type: "SETTINGS", ack: false, settings: [] }));
  // Keeps recording after a frame it cannot read, but stops answering.
  return clientFrameFeed((f) => {
    if (f.type === "SETTINGS" && !f.ack) write(encodeFrame({ type: "SETTINGS", ack: true, settings: [] }));
    if ((f.type === "HEADERS" || f.type === "CONTINUATION") && f.endHeaders) {
      write(
        encodeFrame({
          type: "HEADERS",
          streamId: f.streamId,
          endStream: true,
          endHeaders: true,
          block: STATUS_200_BLOCK,
        }),
      );
    }
  });
}

export async function startRecordingOrigin(opts: RecordingOriginOptions): Promise<RecordingOrigin> {
  const done: (RecordedConnection | undefined)[] = [];
  const waiters: { n: number; resolve(c: RecordedConnection): void }[] = [];
  const sockets = new Set<tls.TLSSocket>();
  let accepted = 0;
  const finish = (n: number, c: RecordedConnection) => {
    done[n] = c;
    for (const w of waiters.filter((w) => w.n === n)) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve(c);
    }
  };
  const server = tls.createServer({ key: opts.keyPem, cert: opts.certPem, ALPNProtocols: opts.alpn }, (s) => {
    const n = accepted++;
    sockets.add(s);
    const alpn = typeof s.alpnProtocol === "string" ? s.alpnProtocol : null;
    const chunks: Uint8Array[] = [];
    let size = 0;
    const answer = alpn === "h2" ? h2Responder((b) => s.write(b)) : null;
    if (answer === null) s.write("ok");
    s.on("data", (d: Buffer) => {
      if (size < MAX_RECORDED_BYTES) {
        const keep = d.subarray(0, MAX_RECORDED_BYTES - size);
        chunks.push(new Uint8Array(keep));
        size += keep.length;
      }
      answer?.(d);
    });
    s.on("error", () => {});
    s.on("end", () => s.end());
    s.on("close", () => {
      sockets.delete(s);
      const bytes = new Uint8Array(size);
      let at = 0;
      for (const c of chunks) {
        bytes.set(c, at);
        at += c.length;
      }
      finish(n, { alpn, bytes });
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    port: (server.address() as net.AddressInfo).port,
    connection(n) {
      const c = done[n];
      if (c) return Promise.resolve(c);
      return new Promise((resolve) => waiters.push({ n, resolve }));
    },
    close() {
      for (const s of sockets) s.destroy();
      return new Promise((r) => server.close(() => r()));
    },
  };
}
