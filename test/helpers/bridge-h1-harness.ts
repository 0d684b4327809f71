/**
 * Fixtures for the HTTP/1.1 bridge tests: a plaintext listener served by serveClientH1, a
 * scripted dispatcher recording what reaches it, a forwarding dispatcher that re-originates
 * through UpstreamH1 (a tiny pool over loopback TCP), a Responder that records a response, the
 * Node.js origin child, and small process / socket helpers.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import * as net from "node:net";
import { join } from "node:path";
import type { ProxyError } from "../../src/errors/proxy-error.ts";
import { serveClientH1 } from "../../src/http/bridge/client-h1.ts";
import { DeferredSink } from "../../src/http/bridge/deferred-sink.ts";
import type { BodySink, Dispatcher, RequestHead, Responder } from "../../src/http/bridge/message.ts";
import { UpstreamH1 } from "../../src/http/bridge/upstream-h1.ts";
import { DEFAULT_REQUEST_LIMITS } from "../../src/http/h1/request-head.ts";
import type { HeaderField } from "../../src/http/hpack/types.ts";
import { parseAuthority } from "../../src/proxy/authority.ts";
import { socketEndpoint } from "../../src/proxy/endpoint.ts";

export const sha256 = (b: Uint8Array): string => createHash("sha256").update(b).digest("hex");

/** What a scripted dispatcher saw of one request. */
export interface Seen {
  head: RequestHead;
  body: Buffer[];
  trailers: HeaderField[] | null;
  ended: boolean;
  aborted: ProxyError | null;
}

export type Script = (seen: Seen, r: Responder, sink: BodySink) => void;

/**
 * A dispatcher that records each request. `onHead` runs at dispatch (may answer at once, or
 * replace the sink's behaviour); `onEnd` runs when the body ended.
 */
export function scriptedDispatcher(script: {
  onHead?: (seen: Seen, r: Responder) => BodySink | undefined;
  onEnd?: (seen: Seen, r: Responder) => void;
}): Dispatcher & { seen: Seen[] } {
  const seen: Seen[] = [];
  return {
    seen,
    request(head, responder) {
      const s: Seen = { head, body: [], trailers: null, ended: false, aborted: null };
      seen.push(s);
      const custom = script.onHead?.(s, responder);
      if (custom) return custom;
      return {
        write(c) {
          s.body.push(Buffer.from(c));
          return true;
        },
        end(t) {
          s.ended = true;
          s.trailers = t;
          script.onEnd?.(s, responder);
        },
        abort(e) {
          s.aborted = e;
        },
        onDrain: null,
      };
    },
    close() {},
  };
}

export interface Bridge {
  port: number;
  connections: number;
  statuses: number[];
  closes: (ProxyError | null)[];
  close(): void;
}

/**
 * A loopback listener whose connections are served by serveClientH1 for the CONNECT `target`
 * (a function of the listening port when the client names the listener itself).
 */
export async function startBridge(
  dispatcher: Dispatcher,
  target: string | ((port: number) => string) = "example.com:443",
): Promise<Bridge> {
  const bridge: Bridge = { port: 0, connections: 0, statuses: [], closes: [], close: () => {} };
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    bridge.connections++;
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    serveClientH1(socketEndpoint(socket), {
      target: parseAuthority(typeof target === "string" ? target : target(bridge.port)),
      dispatcher,
      limits: DEFAULT_REQUEST_LIMITS,
      onExchange: (s) => bridge.statuses.push(s),
      onClose: (e) => bridge.closes.push(e),
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  bridge.port = (server.address() as net.AddressInfo).port;
  bridge.close = () => {
    for (const s of sockets) s.destroy();
    server.close();
  };
  return bridge;
}

/** Re-originates every request through UpstreamH1 connections to `originPort` (Host first). */
export function forwardingDispatcher(originPort: number): Dispatcher & { opened: number } {
  const idle: UpstreamH1[] = [];
  const all = new Set<UpstreamH1>();
  const d = {
    opened: 0,
    request(head: RequestHead, responder: Responder): BodySink {
      const deferred = new DeferredSink();
      const send = (conn: UpstreamH1) =>
        conn.request(
          {
            method: head.method,
            target: head.path,
            fields: [["Host", head.authority], ...head.fields.filter(([n]) => n !== "content-length")],
            hasBody: head.bodyLength !== null,
            bodyLength: head.bodyLength,
          },
          responder,
          deferred,
        );
      let conn = idle.pop();
      while (conn && (!conn.usable || conn.busy)) conn = idle.pop();
      if (conn) {
        send(conn);
        return deferred;
      }
      const socket = net.connect({ host: "127.0.0.1", port: originPort });
      socket.on("error", () => {});
      socket.once("connect", () => {
        d.opened++;
        const c = new UpstreamH1(socketEndpoint(socket));
        all.add(c);
        c.onIdle = () => idle.push(c);
        c.onGone = () => all.delete(c);
        send(c);
      });
      return deferred;
    },
    close() {
      for (const c of all) c.close();
    },
  };
  return d;
}

export interface Recorded {
  interim: [number, HeaderField[]][];
  status: number;
  fields: HeaderField[];
  body: Buffer;
  trailers: HeaderField[] | null;
  error: ProxyError | null;
  /** How it ended: cleanly, aborted after the head, or failed before it. */
  outcome: "end" | "abort" | "fail";
}

/** A Responder that records one response; `done` settles when it ended, aborted or failed. */
export function recorder(): { responder: Responder; done: Promise<Recorded> } {
  const rec: Recorded = {
    interim: [],
    status: 0,
    fields: [],
    body: Buffer.alloc(0),
    trailers: null,
    error: null,
    outcome: "end",
  };
  const chunks: Buffer[] = [];
  let settle: (r: Recorded) => void = () => {};
  const done = new Promise<Recorded>((r) => {
    settle = r;
  });
  const finish = (outcome: Recorded["outcome"]) => {
    rec.outcome = outcome;
    rec.body = Buffer.concat(chunks);
    settle(rec);
  };
  const responder: Responder = {
    interim: (s, f) => rec.interim.push([s, f]),
    head(status, fields) {
      rec.status = status;
      rec.fields = fields;
      return {
        write(c) {
          chunks.push(Buffer.from(c));
          return true;
        },
        end(t) {
          rec.trailers = t;
          finish("end");
        },
        abort(e) {
          rec.error = e;
          finish("abort");
        },
        onDrain: null,
      };
    },
    fail(e) {
      rec.error = e;
      finish("fail");
    },
  };
  return { responder, done };
}

/** `node bridge-h1-origin.mjs` as a child process: a node:http origin that is not Bun's. */
export async function startNodeOrigin(): Promise<{ port: number; stop(): Promise<void> }> {
  const child: ChildProcess = spawn(
    "node",
    [join(import.meta.dir, "bridge-h1-origin.mjs"), "--serve-bridge-h1-origin"],
    {
      stdio: ["pipe", "pipe", "inherit"],
    },
  );
  const port = await new Promise<number>((resolve, reject) => {
    let out = "";
    child.once("error", reject);
    child.once("exit", (code) => reject(new Error(`origin exited with ${code}`)));
    child.stdout?.on("data", (chunk: Buffer) => {
      out += chunk.toString("utf8");
      const line = out.split("\n")[0];
      if (out.includes("\n") && line) resolve((JSON.parse(line) as { port: number }).port);
    });
  });
  return {
    port,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.stdin?.end();
      }),
  };
}

/** Runs a command to completion: exit code, stdout bytes, stderr text. */
export async function run(cmd: string[]): Promise<{ code: number; out: Buffer; err: string }> {
  const p = Bun.spawn({ cmd, stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([
    new Response(p.stdout).arrayBuffer(),
    new Response(p.stderr).text(),
    p.exited,
  ]);
  return { code, out: Buffer.from(out), err };
}

/** Writes `bytes` on a fresh connection and returns everything read until the peer closes. */
export async function rawExchange(
  port: number,
  bytes: string | Uint8Array,
  halfClose = false,
): Promise<Buffer> {
  const s = net.connect({ host: "127.0.0.1", port, allowHalfOpen: true });
  const chunks: Buffer[] = [];
  return await new Promise<Buffer>((resolve) => {
    s.on("data", (d: Buffer) => chunks.push(d));
    s.on("error", () => {});
    s.on("close", () => resolve(Buffer.concat(chunks)));
    s.on("end", () => s.end());
    s.once("connect", () => {
      s.write(typeof bytes === "string" ? Buffer.from(bytes, "latin1") : bytes);
      if (halfClose) s.end();
    });
  });
}

/** Resolves once `s` has delivered at least `n` bytes in all, or closed; returns what came. */
export function readAtLeast(s: net.Socket, acc: Buffer[], pred: (all: Buffer) => boolean): Promise<Buffer> {
  return new Promise((resolve) => {
    const check = () => {
      const all = Buffer.concat(acc);
      if (pred(all)) {
        s.off("data", onData);
        resolve(all);
      }
    };
    const onData = (d: Buffer) => {
      acc.push(d);
      check();
    };
    s.on("data", onData);
    s.once("close", () => resolve(Buffer.concat(acc)));
    check();
  });
}
