/**
 * SOCKS5 inbound (issue 11 item 3): curl `--socks5-hostname` / `--socks5`, a python3 raw-socket
 * client (IPv6 address, username/password carrying the profile), refusals with the right reply
 * codes, auth failures with RFC 1929 status 1 behind the brake, passthrough, access rules, and
 * garbage closing the connection. All through the same tunnel pipeline as CONNECT.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as net from "node:net";
import * as tls from "node:tls";
import type { RunningProxy } from "../src/cli/serve.ts";
import {
  curl,
  DEFAULT,
  FIREFOX,
  FIREFOX_JA4,
  type HopEnv,
  helloJa4,
  run,
  startHopEnv,
  tunnelRecords,
} from "./helpers/hop-env.ts";
import { prng, randBytes, randInt } from "./helpers/prng.ts";
import { waitUntil } from "./helpers/wait.ts";

let env: HopEnv;
let proxy: RunningProxy;
let logs: string[];
let authed: RunningProxy;
let v6Origin: tls.Server;
let v6Port: number;

const socksPort = (p: RunningProxy) => p.server.socksAddress()?.port ?? 0;

beforeAll(async () => {
  env = await startHopEnv();
  ({ proxy, logs } = await env.polytls((c) => {
    c.proxy.socks.listen = "127.0.0.1:0";
  }));
  ({ proxy: authed } = await env.polytls((c) => {
    c.proxy.socks.listen = "127.0.0.1:0";
    c.proxy.auth.users = ["alice:pw"];
    c.proxy.auth.maxFailures = 2;
  }));
  const leaf = await env.pki.leaf("::1");
  v6Origin = tls.createServer({ key: leaf.keyPem, cert: leaf.chainPem }, (s) => {
    s.on("error", () => {});
    s.once("data", () => s.end("HTTP/1.1 200 OK\r\nContent-Length: 6\r\nConnection: close\r\n\r\nv6 ok\n"));
  });
  await new Promise<void>((r) => v6Origin.listen(0, "::1", r));
  v6Port = (v6Origin.address() as net.AddressInfo).port;
});

afterAll(async () => {
  v6Origin?.close();
  await env?.close();
});

/** Sends `bytes` to the SOCKS port and collects everything until the proxy closes. */
async function exchange(port: number, bytes: Uint8Array): Promise<Buffer> {
  const s = net.connect({ host: "127.0.0.1", port });
  s.on("error", () => {});
  let got = Buffer.alloc(0);
  let closed = false;
  s.on("data", (d: Buffer) => {
    got = Buffer.concat([got, d]);
  });
  s.once("close", () => {
    closed = true;
  });
  s.write(bytes);
  await waitUntil(() => closed, "the proxy closed the connection");
  return got;
}

describe("through MITM, with the test CA", () => {
  test("curl --socks5-hostname: a domain target; the user name chooses the profile", async () => {
    const rec = await env.recorder();
    const plain = await curl([
      "--socks5-hostname",
      `127.0.0.1:${socksPort(proxy)}`,
      "--cacert",
      env.caPath,
      `https://localhost:${rec.port}/s`,
    ]);
    expect(plain.ran.stderr).toBe("");
    expect(plain.status).toBe(200);
    expect(plain.body).toBe("2.0 /s");
    const chosen = await curl([
      "-x",
      `socks5h://${FIREFOX}:x@127.0.0.1:${socksPort(proxy)}`,
      "--cacert",
      env.caPath,
      `https://localhost:${rec.port}/f`,
    ]);
    expect(chosen.status).toBe(200);
    expect(await helloJa4(rec, 1)).toBe(FIREFOX_JA4);
    expect(await helloJa4(rec, 0)).not.toBe(FIREFOX_JA4);
    const mine = () => tunnelRecords(logs).filter((r) => r.host === `localhost:${rec.port}`);
    await waitUntil(() => mine().length === 2, "both tunnels logged");
    expect(mine().map((r) => r.profile)).toEqual([DEFAULT, FIREFOX]);
    expect(mine().map((r) => r.errorCode)).toEqual([null, null]);
  });

  test("Java's own SOCKS client (no Authenticator: it sends the OS user name) gets the default profile", async () => {
    // Java offers username/password and, with no Authenticator, sends user.name: a name that is no
    // profile asks for none. It resolves the name itself: an IP target.
    const rec = await env.recorder(env.ipOrigin.port);
    const r = await run("java", [
      "-Duser.name=no-such-profile",
      `${import.meta.dir}/helpers/proxy-java-client.java`,
      "socks",
      String(socksPort(proxy)),
      `https://127.0.0.1:${rec.port}/java`,
      env.caPath,
    ]);
    expect(r.stderr).toBe("");
    expect(r.stdout.trim()).toBe("200 2.0 /java");
    const mine = () => tunnelRecords(logs).filter((x) => x.host === `127.0.0.1:${rec.port}`);
    await waitUntil(() => mine().length === 1, "the tunnel logged");
    expect(mine()[0]).toMatchObject({ profile: DEFAULT, errorCode: null });
    // The explicit form still names a profile: a wrong one there is refused.
    const wrong = await curl([
      "-x",
      `socks5h://me-profile-no-such-profile:x@127.0.0.1:${socksPort(proxy)}`,
      "--cacert",
      env.caPath,
      `https://localhost:${rec.port}/w`,
    ]);
    expect(wrong.status).not.toBe(200);
    await waitUntil(() => tunnelRecords(logs).some((x) => x.errorCode === "UNKNOWN_PROFILE"), "the refusal");
  }, 60_000);

  test("curl --socks5: an IPv4 address resolved by curl", async () => {
    const rec = await env.recorder(env.ipOrigin.port);
    const r = await curl([
      "--socks5",
      `127.0.0.1:${socksPort(proxy)}`,
      "--cacert",
      env.caPath,
      `https://127.0.0.1:${rec.port}/v4`,
    ]);
    expect(r.ran.stderr).toBe("");
    expect(r.status).toBe(200);
    expect(r.body).toBe("2.0 /v4");
  });

  test("python3 raw sockets: username/password with the profile, an IPv6 address", async () => {
    const script = `
import socket, ssl, struct, sys
port, target_port, ca, user = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4].encode()
s = socket.create_connection(("127.0.0.1", port))
s.sendall(b"\\x05\\x01\\x02")
assert s.recv(2) == b"\\x05\\x02"
s.sendall(bytes([1, len(user)]) + user + b"\\x01x")
assert s.recv(2) == b"\\x01\\x00"
s.sendall(b"\\x05\\x01\\x00\\x04" + socket.inet_pton(socket.AF_INET6, "::1") + struct.pack(">H", target_port))
reply = s.recv(10)
assert reply[:2] == b"\\x05\\x00", reply
t = ssl.create_default_context(cafile=ca).wrap_socket(s, server_hostname="::1")
t.sendall(b"GET / HTTP/1.1\\r\\nHost: [::1]:%d\\r\\n\\r\\n" % target_port)
data = b""
while b"v6 ok" not in data:
    chunk = t.recv(4096)
    if not chunk: break
    data += chunk
print(data.split(b"\\r\\n")[0].decode(), data.endswith(b"v6 ok\\n"))
`;
    const r = await run("python3", [
      "-c",
      script,
      String(socksPort(proxy)),
      String(v6Port),
      env.caPath,
      FIREFOX,
    ]);
    expect(r.stderr).toBe("");
    expect(r.stdout.trim()).toBe("HTTP/1.1 200 OK True");
    await waitUntil(() => tunnelRecords(logs).some((x) => x.host === `[::1]:${v6Port}`), "tunnel logged");
    expect(tunnelRecords(logs).find((x) => x.host === `[::1]:${v6Port}`)?.profile).toBe(FIREFOX);
  });

  test("the SNI check applies: a domain target with another SNI is refused", async () => {
    const s = net.connect({ host: "127.0.0.1", port: socksPort(proxy) });
    s.on("error", () => {});
    await new Promise((r) => s.once("connect", r));
    const name = Buffer.from("localhost");
    s.write(
      Buffer.from([5, 1, 0, 5, 1, 0, 3, name.length, ...name, env.origin.port >> 8, env.origin.port & 0xff]),
    );
    const head = await new Promise<Buffer>((resolve) => {
      let b = Buffer.alloc(0);
      const on = (d: Buffer) => {
        b = Buffer.concat([b, d]);
        if (b.length >= 12) {
          s.off("data", on);
          resolve(b);
        }
      };
      s.on("data", on);
    });
    expect([...head.subarray(0, 4)]).toEqual([5, 0, 5, 0]);
    const t = tls.connect({ socket: s, servername: "other.test", ca: [], rejectUnauthorized: false });
    t.on("error", () => {});
    await waitUntil(
      () => tunnelRecords(logs).some((r) => r.errorCode === "SNI_MISMATCH"),
      "the tunnel failed the SNI check",
    );
    t.destroy();
  });
});

describe("refusals", () => {
  test("BIND and UDP ASSOCIATE get reply 0x07, then the connection closes", async () => {
    for (const cmd of [2, 3]) {
      const got = await exchange(
        socksPort(proxy),
        Uint8Array.from([5, 1, 0, 5, cmd, 0, 1, 127, 0, 0, 1, 0, 80]),
      );
      expect([...got]).toEqual([5, 0, 5, 7, 0, 1, 0, 0, 0, 0, 0, 0]);
    }
  });

  test("auth: RFC 1929 status 1 for wrong credentials, 0xFF without them, then the brake", async () => {
    const port = socksPort(authed);
    const creds = (u: string, p: string) => [1, u.length, ...Buffer.from(u), p.length, ...Buffer.from(p)];
    const connect = [5, 1, 0, 1, 127, 0, 0, 1, 0, 80];
    expect([...(await exchange(port, Uint8Array.from([5, 1, 0])))]).toEqual([5, 0xff]);
    for (let i = 0; i < 2; i++) {
      const got = await exchange(port, Uint8Array.from([5, 1, 2, ...creds("alice", "nope"), ...connect]));
      expect([...got]).toEqual([5, 2, 1, 1]);
    }
    // Braked: even the right password is refused now.
    const braked = await exchange(port, Uint8Array.from([5, 1, 2, ...creds("alice", "pw"), ...connect]));
    expect([...braked]).toEqual([5, 2, 1, 1]);
  });

  test("access rules: a port outside proxy.access.allowed_ports gets reply 0x02", async () => {
    const { proxy: p } = await env.polytls((c) => {
      c.proxy.socks.listen = "127.0.0.1:0";
      c.proxy.access.allowedPorts = [443];
    });
    const port = env.origin.port;
    const got = await exchange(
      socksPort(p),
      Uint8Array.from([5, 1, 0, 5, 1, 0, 1, 127, 0, 0, 1, port >> 8, port & 0xff]),
    );
    expect([...got]).toEqual([5, 0, 5, 2, 0, 1, 0, 0, 0, 0, 0, 0]);
  });

  test("a malformed greeting is closed without a reply; seeded garbage always ends in a close", async () => {
    expect([...(await exchange(socksPort(proxy), Uint8Array.from([4, 1, 0, 80, 127, 0, 0, 1, 0])))]).toEqual(
      [],
    );
    const rand = prng(0x50c55);
    for (let i = 0; i < 25; i++) {
      const junk = randBytes(rand, 1 + randInt(rand, 60));
      junk[0] = randInt(rand, 4) === 0 ? 5 : junk[0]!;
      const s = net.connect({ host: "127.0.0.1", port: socksPort(proxy) });
      s.on("error", () => {});
      let closed = false;
      s.once("close", () => {
        closed = true;
      });
      s.resume();
      s.end(junk); // the client finishes sending: the proxy must not wait for more
      await waitUntil(() => closed, `garbage #${i} closed`);
    }
  });
});

describe("passthrough", () => {
  test("curl --socks5-hostname in passthrough mode sees the origin's own certificate", async () => {
    const { proxy: p, logs: l } = await env.polytls((c) => {
      c.proxy.socks.listen = "127.0.0.1:0";
      c.proxy.mitm.enabled = false;
    });
    const r = await curl([
      "--socks5-hostname",
      `127.0.0.1:${socksPort(p)}`,
      "--cacert",
      env.pki.caCertPath,
      `https://localhost:${env.origin.port}/pt`,
    ]);
    expect(r.status).toBe(200);
    await waitUntil(() => tunnelRecords(l).length === 1, "tunnel logged");
    expect(tunnelRecords(l)[0]?.mode).toBe("passthrough");
  });
});
