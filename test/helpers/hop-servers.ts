/**
 * Minimal next hops for tests, written from the RFCs independently of src/: an HTTP CONNECT proxy
 * (RFC 9110 §9.3.6, Basic proxy auth) and a SOCKS5 server (RFC 1928 CONNECT, RFC 1929
 * username/password), both checking credentials and recording what they were asked to reach;
 * plus a python3 CONNECT proxy (an implementation that is not TypeScript at all).
 */
import { spawn } from "node:child_process";
import * as net from "node:net";

export interface Hop {
  port: number;
  /** Targets the hop connected to, as `host:port` (IPv6 bracketed); `atyp` for SOCKS5. */
  targets: { target: string; atyp?: number }[];
  /** Handshakes refused for bad or missing credentials. */
  refused: number;
  close(): Promise<void>;
}

/** Pipes two sockets both ways until either ends. */
function splice(a: net.Socket, b: net.Socket): void {
  a.pipe(b);
  b.pipe(a);
  const done = () => {
    a.destroy();
    b.destroy();
  };
  a.on("error", done);
  b.on("error", done);
  a.on("close", done);
  b.on("close", done);
}

async function listen(server: net.Server, host: string): Promise<number> {
  await new Promise<void>((r) => server.listen(0, host, r));
  return (server.address() as net.AddressInfo).port;
}

function closer(server: net.Server, sockets: Set<net.Socket>): () => Promise<void> {
  return () => {
    for (const s of sockets) s.destroy();
    return new Promise((r) => server.close(() => r()));
  };
}

/** HTTP CONNECT proxy; with `user`/`pass`, anything but those Basic credentials gets 407. */
export async function startConnectHop(
  opts: { user?: string; pass?: string; host?: string } = {},
): Promise<Hop> {
  const sockets = new Set<net.Socket>();
  const hop: Hop = { port: 0, targets: [], refused: 0, close: async () => {} };
  const expected =
    opts.user === undefined
      ? null
      : `Basic ${Buffer.from(`${opts.user}:${opts.pass ?? ""}`).toString("base64")}`;
  const server = net.createServer((c) => {
    sockets.add(c);
    c.on("close", () => sockets.delete(c));
    c.on("error", () => {});
    let head = "";
    const onData = (d: Buffer) => {
      head += d.toString("latin1");
      const end = head.indexOf("\r\n\r\n");
      if (end < 0) return;
      c.off("data", onData);
      const lines = head.slice(0, end).split("\r\n");
      const rest = Buffer.from(head.slice(end + 4), "latin1");
      const [method, target = ""] = (lines[0] ?? "").split(" ");
      const auth = lines.find((l) => l.toLowerCase().startsWith("proxy-authorization:"));
      const given = auth?.slice(auth.indexOf(":") + 1).trim() ?? null;
      if (method !== "CONNECT") return void c.end("HTTP/1.1 405 Method Not Allowed\r\n\r\n");
      if (expected !== null && given !== expected) {
        hop.refused++;
        return void c.end(
          'HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="hop"\r\nContent-Length: 0\r\n\r\n',
        );
      }
      const colon = target.lastIndexOf(":");
      const host = target.slice(0, colon).replace(/^\[|\]$/g, "");
      hop.targets.push({ target });
      const up = net.connect({ host, port: Number(target.slice(colon + 1)) });
      up.once("connect", () => {
        c.write("HTTP/1.1 200 Connection established\r\n\r\n");
        if (rest.length > 0) up.write(rest);
        splice(c, up);
      });
      up.once("error", () => c.end("HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n"));
    };
    c.on("data", onData);
  });
  hop.port = await listen(server, opts.host ?? "127.0.0.1");
  hop.close = closer(server, sockets);
  return hop;
}

/** SOCKS5 server (CONNECT only); with `user`/`pass`, only username/password with those values. */
export async function startSocksHop(
  opts: { user?: string; pass?: string; host?: string } = {},
): Promise<Hop> {
  const sockets = new Set<net.Socket>();
  const hop: Hop = { port: 0, targets: [], refused: 0, close: async () => {} };
  const server = net.createServer((c) => {
    sockets.add(c);
    c.on("close", () => sockets.delete(c));
    c.on("error", () => {});
    let buf = Buffer.alloc(0);
    let stage: "greeting" | "auth" | "request" = "greeting";
    const onData = (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (stage === "greeting") {
        if (buf.length < 2 || buf.length < 2 + (buf[1] ?? 0)) return;
        const methods = [...buf.subarray(2, 2 + (buf[1] ?? 0))];
        buf = buf.subarray(2 + (buf[1] ?? 0));
        const want = opts.user === undefined ? 0x00 : 0x02;
        if (!methods.includes(want)) {
          hop.refused++;
          return void c.end(Buffer.from([5, 0xff]));
        }
        c.write(Buffer.from([5, want]));
        stage = want === 0x02 ? "auth" : "request";
      }
      if (stage === "auth") {
        const ulen = buf[1] ?? 0;
        if (buf.length < 2 + ulen + 1 || buf.length < 3 + ulen + (buf[2 + ulen] ?? 0)) return;
        const user = buf.subarray(2, 2 + ulen).toString();
        const plen = buf[2 + ulen] ?? 0;
        const pass = buf.subarray(3 + ulen, 3 + ulen + plen).toString();
        buf = buf.subarray(3 + ulen + plen);
        if (user !== opts.user || pass !== opts.pass) {
          hop.refused++;
          return void c.end(Buffer.from([1, 1]));
        }
        c.write(Buffer.from([1, 0]));
        stage = "request";
      }
      if (stage === "request") {
        if (buf.length < 5) return;
        const atyp = buf[3] ?? 0;
        const alen = atyp === 1 ? 4 : atyp === 4 ? 16 : 1 + (buf[4] ?? 0);
        if (buf.length < 4 + alen + 2) return;
        const a = buf.subarray(4, 4 + alen);
        const host =
          atyp === 1
            ? [...a].join(".")
            : atyp === 4
              ? (a.toString("hex").match(/.{4}/g) ?? []).join(":")
              : a.subarray(1).toString("latin1");
        const port = buf.readUInt16BE(4 + alen);
        const rest = buf.subarray(4 + alen + 2);
        c.off("data", onData);
        hop.targets.push({ target: atyp === 4 ? `[${host}]:${port}` : `${host}:${port}`, atyp });
        const up = net.connect({ host, port });
        up.once("connect", () => {
          c.write(Buffer.from([5, 0, 0, 1, 0, 0, 0, 0, 0, 0]));
          if (rest.length > 0) up.write(rest);
          splice(c, up);
        });
        up.once("error", () => c.end(Buffer.from([5, 5, 0, 1, 0, 0, 0, 0, 0, 0])));
      }
    };
    c.on("data", onData);
  });
  hop.port = await listen(server, opts.host ?? "127.0.0.1");
  hop.close = closer(server, sockets);
  return hop;
}

const PY_CONNECT_HOP = `
import base64, socket, sys, threading
user, pw = sys.argv[1], sys.argv[2]
want = "Basic " + base64.b64encode(f"{user}:{pw}".encode()).decode()
srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen(64)
print(srv.getsockname()[1], flush=True)
def pump(a, b):
    try:
        while True:
            d = a.recv(65536)
            if not d: break
            b.sendall(d)
    except OSError: pass
    for s in (a, b):
        try: s.shutdown(socket.SHUT_RDWR)
        except OSError: pass
def serve(c):
    head = b""
    while b"\\r\\n\\r\\n" not in head:
        d = c.recv(4096)
        if not d: return c.close()
        head += d
    lines = head.split(b"\\r\\n\\r\\n")[0].decode("latin1").split("\\r\\n")
    target = lines[0].split(" ")[1]
    auth = [l.split(":", 1)[1].strip() for l in lines[1:] if l.lower().startswith("proxy-authorization:")]
    if auth != [want]:
        print("refused", flush=True)
        c.sendall(b"HTTP/1.1 407 Proxy Authentication Required\\r\\nContent-Length: 0\\r\\n\\r\\n"); return c.close()
    host, port = target.rsplit(":", 1)
    print("target " + target, flush=True)
    try: up = socket.create_connection((host.strip("[]"), int(port)))
    except OSError:
        c.sendall(b"HTTP/1.1 502 Bad Gateway\\r\\nContent-Length: 0\\r\\n\\r\\n"); return c.close()
    c.sendall(b"HTTP/1.1 200 Connection established\\r\\n\\r\\n")
    threading.Thread(target=pump, args=(c, up), daemon=True).start()
    pump(up, c)
while True:
    conn, _ = srv.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
`;

/** The same CONNECT hop in python3 (its stdout lines feed `targets` and `refused`). */
export async function startPythonConnectHop(user: string, pass: string): Promise<Hop> {
  const child = spawn("python3", ["-c", PY_CONNECT_HOP, user, pass], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const hop: Hop = {
    port: 0,
    targets: [],
    refused: 0,
    close: async () => {
      child.kill();
    },
  };
  let pending = "";
  hop.port = await new Promise<number>((resolve, reject) => {
    child.once("error", reject);
    child.stdout.on("data", (d: Buffer) => {
      pending += d.toString();
      let nl = pending.indexOf("\n");
      while (nl >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        if (/^\d+$/.test(line)) resolve(Number(line));
        else if (line === "refused") hop.refused++;
        else if (line.startsWith("target ")) hop.targets.push({ target: line.slice(7) });
        nl = pending.indexOf("\n");
      }
    });
  });
  return hop;
}
