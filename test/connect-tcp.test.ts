/**
 * connectTcp (src/proxy/connect-tcp.ts): dials are Bun native sockets, whose connect cannot be
 * cancelled. Pinned here over real loopback sockets: the caller is answered at its deadline or
 * abort, the connect it gave up on is counted until the kernel settles it and reset if it
 * connects after all, dials past the bound use node:net (cancellable), and `polytls run` still
 * exits on SIGTERM with such a connect pending, once its log is out (exitAfterStderr).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import * as net from "node:net";
import { join } from "node:path";
import { ProxyError } from "../src/errors/proxy-error.ts";
import { abandonedConnects, connectTcp, type PeerNaming } from "../src/proxy/connect-tcp.ts";
import { NativeSocket } from "../src/proxy/native-socket.ts";
import { killAll, makeSandbox, startRunFromSource } from "./helpers/exe-process.ts";
import { blackholePort } from "./helpers/origins.ts";
import { connectRequest, rawConnect } from "./helpers/proxy-env.ts";
import { removeTempTree } from "./helpers/temp-tree.ts";

const PEER: PeerNaming = {
  name: "upstream 127.0.0.1",
  unreachable: "UPSTREAM_UNREACHABLE",
  get timeout() {
    return new ProxyError("UPSTREAM_TIMEOUT", "connect to upstream 127.0.0.1 timed out");
  },
};
/** Bound on the kernel settling a connect whose peer went away or made room: SYN retries at 1 s, 3 s. */
const SETTLE_MS = 8_000; // ms

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

async function rejection(p: Promise<unknown>): Promise<ProxyError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(ProxyError);
    return err as ProxyError;
  }
  throw new Error("expected a rejection");
}

/**
 * Like blackholePort (a full accept queue: connects hang in SYN-SENT), but `makeRoom()` accepts
 * the filler, so the next SYN retry of a hanging connect completes; `outcome` then says how that
 * connection ended at this side ("reset" or "fin").
 */
async function roomyHole(): Promise<{
  port: number;
  makeRoom(): void;
  outcome: Promise<string>;
  close(): void;
}> {
  const script = [
    "import socket, sys",
    "s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(0)",
    "filler = socket.create_connection(s.getsockname())",
    "print(s.getsockname()[1], flush=True)",
    "sys.stdin.readline()",
    "s.accept()",
    "c, _ = s.accept()",
    "try:",
    "    got = c.recv(1)",
    "    print('fin' if got == b'' else 'data', flush=True)",
    "except ConnectionResetError:",
    "    print('reset', flush=True)",
    "sys.stdin.read()",
  ].join("\n");
  const child = spawn("python3", ["-c", script], { stdio: ["pipe", "pipe", "inherit"] });
  const lines: string[] = [];
  let partial = "";
  let wake: (() => void) | null = null;
  child.stdout.on("data", (d: Buffer) => {
    const parts = (partial + d.toString()).split("\n");
    partial = parts.pop() as string; // the rest after the last newline: not a whole line yet
    lines.push(...parts);
    wake?.();
  });
  const line = async (i: number): Promise<string> => {
    while (lines.length <= i) await new Promise<void>((r) => (wake = r));
    return lines[i] as string;
  };
  const port = Number(await line(0));
  return {
    port,
    makeRoom: () => child.stdin.write("go\n"),
    outcome: line(1),
    close: () => child.kill(),
  };
}

/** Bound on other files' abandoned connects settling before this file starts counting, ms. */
const EARLIER_SETTLE_MS = 15_000; // ms

beforeAll(async () => {
  // Other files' black-hole tests may leave a connect pending for a few seconds after their hole
  // closed: this file counts from zero.
  await until(
    () => abandonedConnects.pending === 0,
    EARLIER_SETTLE_MS,
    "earlier abandoned connects to settle",
  );
}, EARLIER_SETTLE_MS + 5_000);

describe("connectTcp", () => {
  test("a dial is a native socket, paused: bytes the peer sends first wait for resume", async () => {
    const srv = net.createServer((c) => c.end("hello"));
    await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
    try {
      const s = await connectTcp("127.0.0.1", (srv.address() as AddressInfo).port, 2000, undefined, PEER);
      expect(s).toBeInstanceOf(NativeSocket);
      await sleep(100);
      const chunks: string[] = [];
      s.on("data", (d: Buffer) => chunks.push(d.toString()));
      await sleep(50);
      expect(chunks).toEqual([]); // still paused: nothing read until the dialler resumes
      const ended = new Promise<void>((r) => s.once("end", () => r()));
      s.resume();
      await ended;
      expect(chunks.join("")).toBe("hello");
      s.destroy();
    } finally {
      srv.close();
    }
  });

  test("IPv6 literals dial too", async () => {
    const srv = net.createServer((c) => c.end("six"));
    await new Promise<void>((r) => srv.listen(0, "::1", r));
    try {
      const s = await connectTcp("::1", (srv.address() as AddressInfo).port, 2000, undefined, PEER);
      expect(s).toBeInstanceOf(NativeSocket);
      expect(s.remoteAddress).toBe("::1");
      const got = new Promise<string>((r) => s.once("data", (d: Buffer) => r(d.toString())));
      s.resume();
      expect(await got).toBe("six");
      s.destroy();
    } finally {
      srv.close();
    }
  });

  test("arguments the runtime refuses at once are the peer's unreachable code, and nothing is counted", async () => {
    const err = await rejection(connectTcp("127.0.0.1", 70_000, 100, undefined, PEER));
    expect(err.code).toBe("UPSTREAM_UNREACHABLE");
    await sleep(200); // past the deadline: a timer left armed would count it as abandoned
    expect(abandonedConnects.pending).toBe(0);
  });

  test("a refused connect is the peer's unreachable code, with the errno", async () => {
    const srv = net.createServer();
    await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
    const port = (srv.address() as AddressInfo).port;
    await new Promise<void>((r) => srv.close(() => r()));
    const err = await rejection(connectTcp("127.0.0.1", port, 2000, undefined, PEER));
    expect(err.code).toBe("UPSTREAM_UNREACHABLE");
    expect(err.message).toContain("ECONNREFUSED");
    expect(abandonedConnects.pending).toBe(0);
  });

  test("at the deadline the caller gets the timeout; the connect is counted, and reset once it connects", async () => {
    const hole = await roomyHole();
    try {
      const t0 = performance.now();
      const err = await rejection(connectTcp("127.0.0.1", hole.port, 200, undefined, PEER));
      const took = performance.now() - t0;
      expect(err.code).toBe("UPSTREAM_TIMEOUT");
      expect(took).toBeGreaterThanOrEqual(190);
      expect(took).toBeLessThan(1500);
      expect(abandonedConnects.pending).toBe(1);
      hole.makeRoom(); // the kernel's next SYN retry now completes the connect
      expect(await hole.outcome).toBe("reset");
      await until(() => abandonedConnects.pending === 0, SETTLE_MS, "the abandoned connect to settle");
    } finally {
      hole.close();
    }
  });

  test("an abort answers at once with SHUTDOWN; the connect settles when the peer goes away", async () => {
    const hole = await blackholePort();
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 50);
    const err = await rejection(connectTcp("127.0.0.1", hole.port, 10_000, ac.signal, PEER));
    expect(err.code).toBe("SHUTDOWN");
    expect(abandonedConnects.pending).toBe(1);
    hole.close(); // the listener is gone: the next SYN retry is refused
    await until(() => abandonedConnects.pending === 0, SETTLE_MS, "the abandoned connect to settle");
  });

  test("past the bound, dials use node:net: they still work, time out at the deadline and hold nothing", async () => {
    const srv = net.createServer((c) => c.end("hi"));
    await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
    const hole = await blackholePort();
    const limit = abandonedConnects.limit;
    abandonedConnects.limit = 0;
    try {
      const s = await connectTcp("127.0.0.1", (srv.address() as AddressInfo).port, 2000, undefined, PEER);
      expect(s).toBeInstanceOf(net.Socket);
      const got = new Promise<string>((r) => s.once("data", (d: Buffer) => r(d.toString())));
      s.resume();
      expect(await got).toBe("hi");
      s.destroy();
      const t0 = performance.now();
      const err = await rejection(connectTcp("127.0.0.1", hole.port, 200, undefined, PEER));
      expect(err.code).toBe("UPSTREAM_TIMEOUT");
      expect(performance.now() - t0).toBeLessThan(1500);
      expect(abandonedConnects.pending).toBe(0); // destroyed at once: nothing left pending
    } finally {
      abandonedConnects.limit = limit;
      hole.close();
      srv.close();
    }
  });
});

describe("exitAfterStderr", () => {
  /** How long the reader of the child's stderr waits before it reads, ms. */
  const READER_LATE_MS = 1_500; // ms; the child writes its 250 KB burst within ~0.2 s of starting

  /**
   * Runs test/helpers/stderr-burst.ts with its stderr on a pipe whose reader (`sh`: sleep, then
   * cat) starts READER_LATE_MS late. Returns the lines read and the exit code of the pipeline.
   */
  async function burst(mode: "flush" | "late" | "exit"): Promise<{ lines: string[]; code: number }> {
    const child = join(import.meta.dir, "helpers/stderr-burst.ts");
    const script = `"$0" "$1" "$2" 2>&1 >/dev/null | (sleep ${READER_LATE_MS / 1000}; cat)`;
    const sh = Bun.spawn(["sh", "-c", script, process.execPath, child, mode], {
      stdout: "pipe",
      stderr: "inherit",
    });
    const text = await new Response(sh.stdout).text();
    const code = await sh.exited;
    return { lines: text.split("\n").filter((l) => l !== ""), code };
  }

  test("the whole log reaches a reader that starts late, before the process ends", async () => {
    const { lines, code } = await burst("flush");
    expect(code).toBe(0);
    expect(lines).toHaveLength(2001);
    expect(lines.at(-1)).toBe("last");
  });

  test("a line logged after the wait began neither cuts it short nor throws", async () => {
    const { lines, code } = await burst("late");
    expect(code).toBe(0);
    expect(lines.slice(0, 2001)).toHaveLength(2001);
    expect(lines[2000]).toBe("last");
  });

  test("canary: on this runtime a bare process.exit() drops what the full pipe did not take", async () => {
    const { lines } = await burst("exit");
    // Should Bun ever keep it, exitAfterStderr is no longer needed: this says so instead of passing.
    if (lines.length === 2001) throw new Error("process.exit() kept the whole log: exitAfterStderr may go");
    expect(lines.at(-1)).not.toBe("last");
  });
});

describe("polytls run with a connect given up on", () => {
  let root: string;
  let env: Record<string, string>;
  beforeAll(() => {
    ({ root, env } = makeSandbox("polytls-connect-"));
  });
  afterAll(async () => {
    await killAll();
    if (root !== undefined) removeTempTree(root);
  });

  test("the client gets 504; SIGTERM still exits 0 at once, with the stopped line", async () => {
    const hole = await blackholePort();
    try {
      writeFileSync(join(root, "p.toml"), "[proxy.upstream]\nconnect_timeout_ms = 200\n");
      const { proxy, port } = await startRunFromSource(root, env);
      const r = await rawConnect(port, connectRequest(`127.0.0.1:${hole.port}`));
      expect(r.status).toBe(504);
      r.socket.destroy();
      // The hole still holds the connect in SYN-SENT: only an explicit exit ends the process now.
      proxy.signal("SIGTERM");
      expect(await proxy.waitForExit(5_000)).toBe(0);
      expect(proxy.logs().map((l) => l.msg)).toContain("stopped");
    } finally {
      hole.close();
    }
  });
});

describe("a connect that fails for want of a descriptor", () => {
  test("says so (IO), not that the peer refused (Bun reports EMFILE as ECONNREFUSED)", async () => {
    const connectTs = new URL("../src/proxy/connect-tcp.ts", import.meta.url).pathname;
    // A hard limit the child cannot raise; it fills its descriptors, then dials a listening port.
    const child = `
import { openSync } from "node:fs";
import * as net from "node:net";
import { connectTcp } from ${JSON.stringify(connectTs)};
const server = net.createServer(() => {});
await new Promise((r) => server.listen(0, "127.0.0.1", r));
const port = server.address().port;
const peer = { name: "origin.test", unreachable: "UPSTREAM_UNREACHABLE", timeout: new Error("t") };
const held = [];
try { for (;;) held.push(openSync("/dev/null", "r")); } catch {}
const full = await connectTcp("127.0.0.1", port, 2000, undefined, peer).then(() => "connected", (e) => e.code + " " + e.message);
console.log(JSON.stringify({ held: held.length, full }));
process.exit(0);
`;
    const r = Bun.spawnSync(
      ["sh", "-c", `ulimit -n 64 && ulimit -Hn 64 && exec "${process.execPath}" -e "$0"`, child],
      {
        stdout: "pipe",
        stderr: "pipe",
      },
    );
    const out = JSON.parse(r.stdout.toString().trim()) as { held: number; full: string };
    expect(out.held).toBeGreaterThan(0);
    expect(out.full).toBe(
      "IO cannot connect to origin.test: the proxy is out of file descriptors (open-file limit reached)",
    );
  });
});
