/**
 * The client side of an HTTP-mode tunnel when the client speaks HTTP/2: a node:http2 server fed
 * with the decrypted tunnel (`emit("connection")`), each stream turned into a RequestHead for the
 * dispatcher. Raw header order is kept (rawHeaders). Extended CONNECT (RFC 8441) is not offered.
 */
import * as http2 from "node:http2";
import { ProxyError } from "../../errors/proxy-error.ts";
import { statusFor } from "../../errors/wire.ts";
import type { Authority } from "../../proxy/authority.ts";
import type { Endpoint } from "../../proxy/endpoint.ts";
import type { HeaderField } from "../hpack/types.ts";
import { EndpointDuplex } from "./endpoint-duplex.ts";
import { checkAuthority, withoutHopByHop } from "./fields.ts";
import type { BodySink, Dispatcher, Responder } from "./message.ts";

export interface ClientH2Options {
  target: Authority;
  dispatcher: Dispatcher;
  maxConcurrentStreams: number;
  maxHeaderListSize: number;
  /** Called once per finished exchange with its final status (0 = reset / failed after head). */
  onExchange(status: number): void;
  /** Called once when the client connection is gone. */
  onClose(err: ProxyError | null): void;
}

/**
 * Resets a stream. Bun's `stream.close(code)` sends an empty END_STREAM DATA frame before the
 * RST_STREAM, which a client reads as a clean end: a truncation would pass for a complete
 * response. `destroy(err)` sends only RST_STREAM(INTERNAL_ERROR).
 */
function resetStream(stream: http2.ServerHttp2Stream, why: string): void {
  if (!stream.destroyed) stream.destroy(new Error(why));
}

function pairs(raw: readonly string[]): HeaderField[] {
  const out: HeaderField[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2)
    out.push([(raw[i] as string).toLowerCase(), raw[i + 1] as string]);
  return out;
}

/** Response fields as a node:http2 headers object, order kept, repeated names as arrays. */
function headersObject(status: number, fields: readonly HeaderField[]): http2.OutgoingHttpHeaders {
  const obj: http2.OutgoingHttpHeaders = { ":status": status };
  for (const [n, v] of withoutHopByHop(fields)) {
    if (n.startsWith(":")) continue;
    const prev = obj[n];
    if (prev === undefined) obj[n] = v;
    else obj[n] = Array.isArray(prev) ? [...prev, v] : [String(prev), v];
  }
  return obj;
}

function trailersObject(fields: readonly HeaderField[]): http2.OutgoingHttpHeaders {
  const obj: http2.OutgoingHttpHeaders = {};
  for (const [n, v] of withoutHopByHop(fields)) {
    if (n.startsWith(":")) continue;
    const prev = obj[n];
    obj[n] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [String(prev), v];
  }
  return obj;
}

/** A short local answer (error, 405, 421) on a stream whose head was not sent yet. */
function answer(stream: http2.ServerHttp2Stream, code: number, err: ProxyError, opts: ClientH2Options): void {
  if (stream.destroyed || stream.headersSent) return;
  stream.respond({ ":status": code, "content-type": "text/plain; charset=utf-8" });
  stream.end(`${code} ${err.code}: ${err.message}\n`);
  opts.onExchange(code);
}

function responderFor(stream: http2.ServerHttp2Stream, opts: ClientH2Options): Responder {
  let status = 0;
  return {
    interim(s, fields) {
      if (!stream.destroyed && !stream.headersSent) stream.additionalHeaders(headersObject(s, fields));
    },
    head(s, fields, bodyless) {
      status = s;
      let trailers: HeaderField[] | null = null;
      const sink: BodySink = {
        write(chunk) {
          if (stream.destroyed) return true;
          return stream.write(chunk);
        },
        end(t) {
          trailers = t;
          if (!stream.destroyed) stream.end();
        },
        abort() {
          status = 0;
          resetStream(stream, "upstream failed");
        },
        onDrain: null,
      };
      stream.on("drain", () => sink.onDrain?.());
      stream.on("wantTrailers", () => {
        const t = trailers;
        // No trailers: an empty set ends the stream with an empty END_STREAM DATA frame. close()
        // would send RST_STREAM(NO_ERROR) with no END_STREAM, which Go and Java clients read as a
        // failed response (test/recipes.test.ts).
        stream.sendTrailers(t && t.length > 0 ? trailersObject(t) : {});
      });
      stream.on("close", () => opts.onExchange(status));
      if (stream.destroyed) return sink;
      stream.respond(headersObject(s, fields), { endStream: bodyless, waitForTrailers: !bodyless });
      return sink;
    },
    fail(err) {
      if (stream.destroyed) return;
      if (stream.headersSent) {
        resetStream(stream, err.code);
        return;
      }
      answer(stream, statusFor(err), err, opts);
    },
  };
}

function onStream(
  stream: http2.ServerHttp2Stream,
  flags: number,
  raw: string[],
  opts: ClientH2Options,
): void {
  stream.on("error", () => {}); // a reset is reported through close/aborted
  // One pass: pseudo-headers (the last of a name wins) apart from the regular fields.
  const fields = pairs(raw);
  const regular: HeaderField[] = [];
  let method = "";
  let authority: string | undefined;
  let path: string | undefined;
  let protocol = false;
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i] as HeaderField;
    const n = f[0];
    if (n.charCodeAt(0) !== 58 /* ":" */) regular.push(f);
    else if (n === ":method") method = f[1];
    else if (n === ":authority") authority = f[1];
    else if (n === ":path") path = f[1];
    else if (n === ":protocol") protocol = true;
  }
  const responder = responderFor(stream, opts);
  if (method === "CONNECT" || protocol) {
    answer(stream, 405, new ProxyError("HTTP_BAD_REQUEST", "CONNECT inside a tunnel is not supported"), opts);
    return;
  }
  try {
    checkAuthority(authority ?? null, opts.target);
  } catch (err) {
    answer(stream, 421, ProxyError.wrap(err, "HTTP_BAD_REQUEST"), opts);
    return;
  }
  const endStream = (flags & 0x1) !== 0;
  const cl = regular.find(([n]) => n === "content-length")?.[1];
  const declared = cl === undefined ? -1 : Number(cl);
  const sink = opts.dispatcher.request(
    {
      method,
      authority: authority ?? "",
      path: path ?? "/",
      fields: regular,
      clientProtocol: "h2",
      bodyLength: endStream ? null : declared,
    },
    responder,
  );
  if (endStream) {
    sink.end(null);
    return;
  }
  let received = 0;
  let trailers: HeaderField[] | null = null;
  stream.on("trailers", (_h, _f, rawTrailers: string[]) => {
    trailers = pairs(rawTrailers ?? []);
  });
  stream.on("data", (chunk: Buffer) => {
    received += chunk.length;
    if (declared >= 0 && received > declared) {
      sink.abort(new ProxyError("HTTP_BAD_REQUEST", "DATA exceeds content-length"));
      resetStream(stream, "DATA exceeds content-length");
      return;
    }
    if (!sink.write(chunk)) stream.pause();
  });
  sink.onDrain = () => stream.resume();
  stream.on("end", () => {
    if (declared >= 0 && received !== declared) {
      sink.abort(new ProxyError("HTTP_BAD_REQUEST", "DATA does not match content-length"));
      resetStream(stream, "DATA does not match content-length");
      return;
    }
    sink.end(trailers);
  });
  stream.on("aborted", () => sink.abort(new ProxyError("IO", "client reset the stream")));
}

/** One tunnel's client side, as the shared server's handlers find it (by session). */
interface H2Tunnel {
  readonly opts: ClientH2Options;
  readonly duplex: EndpointDuplex;
  closed: boolean;
}

/**
 * The node:http2 servers (never listening) that tunnels are handed to, one per settings pair and
 * shared by every tunnel: a server per tunnel cost about 1 KiB per idle tunnel. A server forgets
 * a session when it closes.
 */
const servers = new Map<string, http2.Http2Server>();
/** The tunnel whose duplex a server is taking: its "session" event fires inside `emit("connection")`. */
let connecting: H2Tunnel | null = null;
const tunnelOf = new WeakMap<object, H2Tunnel>();

function closeTunnel(t: H2Tunnel, err: ProxyError | null): void {
  if (t.closed) return;
  t.closed = true;
  t.opts.onClose(err);
}

function serverFor(opts: ClientH2Options): http2.Http2Server {
  const key = `${opts.maxConcurrentStreams} ${opts.maxHeaderListSize}`;
  const known = servers.get(key);
  if (known !== undefined) return known;
  const server = http2.createServer({
    settings: {
      enablePush: false,
      enableConnectProtocol: false,
      maxConcurrentStreams: opts.maxConcurrentStreams,
      maxHeaderListSize: opts.maxHeaderListSize,
    },
  });
  server.on("stream", (stream, _headers, flags, raw) => {
    const t = tunnelOf.get(stream.session as object);
    if (t === undefined) resetStream(stream as http2.ServerHttp2Stream, "no tunnel for this session");
    else onStream(stream as http2.ServerHttp2Stream, flags, raw as string[], t.opts);
  });
  server.on("session", (session) => {
    const t = connecting;
    if (t === null) {
      session.destroy(); // not handed over by serveClientH2: never happens
      return;
    }
    tunnelOf.set(session, t);
    session.on("close", () => {
      closeTunnel(t, t.duplex.failure);
      t.duplex.destroy();
    });
    session.on("error", (e) => closeTunnel(t, ProxyError.wrap(e, "HTTP_PROTOCOL")));
    // The client finished sending (FIN or close_notify): let open streams finish, then close.
    t.duplex.on("end", () => {
      if (!session.closed) session.close();
    });
  });
  servers.set(key, server);
  return server;
}

/** Serves the decrypted client side of a tunnel as HTTP/2 until the client goes away. */
export function serveClientH2(ep: Endpoint, opts: ClientH2Options): { close(): void } {
  const server = serverFor(opts);
  const duplex = new EndpointDuplex(ep);
  const t: H2Tunnel = { opts, duplex, closed: false };
  duplex.on("close", () => closeTunnel(t, duplex.failure));
  connecting = t;
  try {
    server.emit("connection", duplex);
  } finally {
    connecting = null;
  }
  return {
    close() {
      duplex.destroy();
    },
  };
}
