/**
 * Bench clients: a TLS connection to the origin, either direct or through the proxy (CONNECT by hand,
 * then TLS to the minted leaf), and a minimal HTTP/1.1 GET that checks status, length and body.
 */
import * as net from "node:net";
import * as tls from "node:tls";
import {
  BULK_PATH,
  bulkChunkLooksRight,
  SMALL_BODY_BYTES,
  SMALL_PATH,
  smallChunkLooksRight,
} from "./body.ts";

const HOST = "127.0.0.1"; // loopback only: origin and proxy listen here
const SERVERNAME = "localhost"; // the origin leaf and the minted MITM leaf are both for this name
const MAX_HEAD_BYTES = 8 * 1024; // bytes; origin and proxy response heads are under 200 bytes

/**
 * How to reach the origin: `open` returns a verified TLS connection ready for HTTP/1.1 and reports every
 * socket it creates to `track`, so a caller that gives up (timeout) can destroy them.
 */
export interface Endpoint {
  /** "direct", or the proxy's name ("tls-relay", "full"); errors are counted under it. */
  readonly side: string;
  /** `localhost:PORT` of the origin: the CONNECT target and the HTTP/2 :authority. */
  readonly authority: string;
  open(track: (s: net.Socket) => void): Promise<tls.TLSSocket>;
}

function once<T>(emitter: net.Socket, ok: string, value: () => T): Promise<T> {
  return new Promise((resolve, reject) => {
    const onOk = () => {
      emitter.off("error", onErr);
      emitter.off("close", onClose);
      resolve(value());
    };
    const onErr = (err: Error) => {
      emitter.off(ok, onOk);
      emitter.off("close", onClose);
      reject(err);
    };
    const onClose = () => onErr(new Error(`closed before ${ok}`));
    emitter.once(ok, onOk);
    emitter.once("error", onErr);
    emitter.once("close", onClose);
  });
}

/** ALPN the bench's HTTP/1.1 clients offer; the HTTP/2 client offers H2_ALPN. */
export const H1_ALPN = ["http/1.1"];
export const H2_ALPN = ["h2"];

export function directEndpoint(originPort: number, originCaPem: string, alpn: string[] = H1_ALPN): Endpoint {
  return {
    side: "direct",
    authority: `${SERVERNAME}:${originPort}`,
    open: async (track) => {
      const t = tls.connect({
        host: HOST,
        port: originPort,
        servername: SERVERNAME,
        ca: originCaPem,
        ALPNProtocols: alpn,
      });
      track(t);
      t.setNoDelay(true);
      return once(t, "secureConnect", () => t);
    },
  };
}

/** Reads the proxy's answer to CONNECT; resolves with its status once the head is complete. */
function readConnectReply(raw: net.Socket): Promise<number> {
  return new Promise((resolve, reject) => {
    let buf: Buffer = Buffer.alloc(0);
    const finish = (err: Error | null, status = 0) => {
      raw.off("data", onData);
      raw.off("error", onFail);
      raw.off("close", onClose);
      if (err) reject(err);
      else resolve(status);
    };
    const onData = (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      const end = buf.indexOf("\r\n\r\n");
      if (end < 0) {
        if (buf.length > MAX_HEAD_BYTES) finish(new Error("CONNECT reply head too large"));
        return;
      }
      raw.pause();
      if (end + 4 !== buf.length) return finish(new Error("proxy sent bytes after the CONNECT reply head"));
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(buf.toString("latin1"))?.[1] ?? 0);
      finish(null, status);
    };
    const onFail = (err: Error) => finish(err);
    const onClose = () => finish(new Error("proxy closed before answering CONNECT"));
    raw.on("data", onData);
    raw.once("error", onFail);
    raw.once("close", onClose);
  });
}

export function proxyEndpoint(
  proxyPort: number,
  originPort: number,
  proxyCaPem: string,
  alpn: string[] = H1_ALPN,
  side = "proxy",
): Endpoint {
  const authority = `${SERVERNAME}:${originPort}`;
  const request = `CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n\r\n`;
  return {
    side,
    authority,
    open: async (track) => {
      const raw = net.connect({ host: HOST, port: proxyPort });
      track(raw);
      raw.setNoDelay(true);
      try {
        await once(raw, "connect", () => undefined);
        raw.write(request);
        const status = await readConnectReply(raw);
        if (status !== 200) throw new Error(`CONNECT answered ${status}`);
      } catch (err) {
        raw.destroy();
        throw err;
      }
      const t = tls.connect({
        socket: raw,
        servername: SERVERNAME,
        ca: proxyCaPem,
        ALPNProtocols: alpn,
      });
      track(t);
      try {
        return await once(t, "secureConnect", () => t);
      } catch (err) {
        raw.destroy();
        throw err;
      }
    },
  };
}

/** Checks one received body chunk that starts at `offset`. */
type ChunkCheck = (chunk: Uint8Array, offset: number) => boolean;

/**
 * Sends `GET path` on an open connection and consumes the response: status 200, Content-Length equal to
 * `expectBytes`, every chunk passing `check`. Resolves when the last body byte arrived.
 */
export function get(
  t: tls.TLSSocket,
  path: string,
  expectBytes: number,
  check: ChunkCheck,
  extraHead = "",
): Promise<void> {
  return new Promise((resolve, reject) => {
    let head: Buffer = Buffer.alloc(0);
    let inBody = false;
    let got = 0;
    const finish = (err: Error | null) => {
      t.off("data", onData);
      t.off("error", onFail);
      t.off("close", onClose);
      if (err) reject(err);
      else resolve();
    };
    const body = (chunk: Buffer) => {
      if (got + chunk.length > expectBytes) return finish(new Error("response longer than Content-Length"));
      if (!check(chunk, got)) return finish(new Error(`wrong body bytes at offset ${got}`));
      got += chunk.length;
      if (got === expectBytes) finish(null);
    };
    const onData = (d: Buffer) => {
      if (inBody) return body(d);
      head = head.length === 0 ? d : Buffer.concat([head, d]);
      const end = head.indexOf("\r\n\r\n");
      if (end < 0) {
        if (head.length > MAX_HEAD_BYTES) finish(new Error("response head too large"));
        return;
      }
      const text = head.subarray(0, end).toString("latin1");
      const status = /^HTTP\/1\.1 (\d{3})/.exec(text)?.[1];
      const length = Number(/\r\ncontent-length: *(\d+)/i.exec(text)?.[1] ?? -1);
      if (status !== "200") return finish(new Error(`status ${status ?? "unparsable"}`));
      if (length !== expectBytes)
        return finish(new Error(`Content-Length ${length}, expected ${expectBytes}`));
      inBody = true;
      if (expectBytes === 0) return finish(null);
      const rest = head.subarray(end + 4);
      head = Buffer.alloc(0);
      if (rest.length > 0) body(rest);
    };
    const onFail = (err: Error) => finish(err);
    const onClose = () => finish(new Error(`connection closed after ${got} of ${expectBytes} body bytes`));
    t.on("data", onData);
    t.once("error", onFail);
    t.once("close", onClose);
    t.write(`GET ${path} HTTP/1.1\r\nHost: ${SERVERNAME}\r\n${extraHead}\r\n`);
  });
}

/** GET /small; `extraHead`: more header lines, each ending in CRLF. */
export function getSmall(t: tls.TLSSocket, extraHead = ""): Promise<void> {
  return get(t, SMALL_PATH, SMALL_BODY_BYTES, smallChunkLooksRight, extraHead);
}

export function getBulk(t: tls.TLSSocket, bytes: number): Promise<void> {
  return get(t, `${BULK_PATH}?bytes=${bytes}`, bytes, bulkChunkLooksRight);
}

/** Closes cleanly (close_notify + FIN) without waiting; a peer that never answers is cut off later. */
export function closeSoon(t: tls.TLSSocket, graceMs: number): void {
  t.end();
  setTimeout(() => t.destroy(), graceMs).unref();
}

/** Rejects with a timeout error if `work` does not settle in time; `onTimeout` cleans up. */
export async function withTimeout<T>(
  work: Promise<T>,
  ms: number,
  what: string,
  onTimeout: () => void,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onTimeout();
      reject(new Error(`${what} timed out after ${ms} ms`));
    }, ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
