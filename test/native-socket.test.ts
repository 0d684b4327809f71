/**
 * NativeSocket (src/proxy/native-socket.ts) against `node:net` peers: the proxy's sockets are
 * Bun's native ones, and everything above them was written for node:net's events. Each test pins
 * one rule the callers rely on, over real loopback connections.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import * as net from "node:net";
import { NativeSocket } from "../src/proxy/native-socket.ts";
import { SocketEvents } from "../src/proxy/socket-events.ts";

/** Accepted NativeSockets, in order, from one native listener for the whole file. */
const accepted: NativeSocket[] = [];
const waiters: ((s: NativeSocket) => void)[] = [];
const listener = Bun.listen<NativeSocket | undefined>({
  hostname: "127.0.0.1",
  port: 0,
  allowHalfOpen: true,
  socket: NativeSocket.listenHandlers((s) => {
    s.on("error", () => {});
    const w = waiters.shift();
    if (w) w(s);
    else accepted.push(s);
  }),
});
afterAll(() => listener.stop(true));

function nextAccepted(): Promise<NativeSocket> {
  const s = accepted.shift();
  return s ? Promise.resolve(s) : new Promise((r) => waiters.push(r));
}

/** A node:net client connected to the listener, and the NativeSocket for it. */
async function pair(): Promise<{ peer: net.Socket; ours: NativeSocket }> {
  const peer = net.connect({ host: "127.0.0.1", port: listener.port, allowHalfOpen: true });
  peer.on("error", () => {});
  const ours = await nextAccepted();
  await new Promise<void>((r) => (peer.readyState === "open" ? r() : peer.once("connect", () => r())));
  return { peer, ours };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Every event of `s` in order, data as text. */
function record(s: NativeSocket): string[] {
  const ev: string[] = [];
  s.on("data", (d: Buffer) => ev.push(`data:${d.toString()}`));
  s.on("end", () => ev.push("end"));
  s.on("error", (e: Error) => ev.push(`error:${(e as NodeJS.ErrnoException).code ?? e.message}`));
  s.on("close", () => ev.push("close"));
  return ev;
}

async function until(cond: () => boolean, ms = 3000): Promise<void> {
  const end = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > end) throw new Error("timed out waiting");
    await sleep(5);
  }
}

describe("NativeSocket against node:net peers", () => {
  test("reads arrive as data; the peer's FIN is end after the last byte; our end then closes once", async () => {
    const { peer, ours } = await pair();
    const ev = record(ours);
    peer.write("one");
    await until(() => ev.length === 1);
    peer.end("two");
    await until(() => ev.includes("end"));
    expect(ev).toEqual(["data:one", "data:two", "end"]);
    expect(ours.remoteAddress).toBe("127.0.0.1");
    expect(ours.remotePort).toBe(peer.localPort);
    // Half-open: we can still send after the peer's FIN.
    const got: Buffer[] = [];
    peer.on("data", (d: Buffer) => got.push(d));
    const peerClosed = new Promise((r) => peer.once("close", r));
    ours.write("late");
    ours.end();
    await peerClosed;
    await until(() => ev.includes("close"));
    expect(Buffer.concat(got).toString()).toBe("late");
    expect(ev).toEqual(["data:one", "data:two", "end", "close"]);
  });

  test("bytes read while paused are held and delivered in order on resume, before end", async () => {
    const { peer, ours } = await pair();
    const ev = record(ours);
    ours.pause();
    peer.write("a");
    await sleep(30);
    peer.end("b");
    await sleep(50);
    expect(ev).toEqual([]);
    ours.resume();
    await until(() => ev.includes("end"));
    // One read may carry both writes: the bytes, in order, then end.
    expect(ev.at(-1)).toBe("end");
    expect(
      ev
        .slice(0, -1)
        .map((e) => e.slice("data:".length))
        .join(""),
    ).toBe("ab");
    ours.destroy();
  });

  test("bytes that arrive before any data listener wait for one", async () => {
    const { peer, ours } = await pair();
    peer.write("early");
    await sleep(50);
    const got: string[] = [];
    ours.on("data", (d: Buffer) => got.push(d.toString()));
    await until(() => got.length > 0);
    expect(got.join("")).toBe("early");
    peer.destroy();
    ours.destroy();
  });

  test("unshift puts bytes in front of what is still to be read", async () => {
    const { peer, ours } = await pair();
    ours.pause();
    peer.write("world");
    await sleep(30);
    ours.unshift(new TextEncoder().encode("hello "));
    const got: string[] = [];
    ours.on("data", (d: Buffer) => got.push(d.toString()));
    ours.resume();
    await until(() => got.join("").length === 11);
    expect(got.join("")).toBe("hello world");
    peer.destroy();
    ours.destroy();
  });

  test("writes the kernel does not take are queued in order; drain follows; end waits for the queue", async () => {
    const { peer, ours } = await pair();
    peer.pause(); // the peer reads nothing: the kernel buffers fill
    const chunk = Buffer.alloc(1 << 20);
    const sent = createHash("sha256");
    let full = false;
    let n = 0;
    for (; n < 64 && !full; n++) {
      chunk.fill(n);
      const copy = Buffer.from(chunk); // queued by reference: each write its own bytes
      sent.update(copy);
      full = !ours.write(copy);
    }
    expect(full).toBe(true);
    expect(ours.writableLength).toBeGreaterThan(0);
    let drained = false;
    ours.once("drain", () => {
      drained = true;
    });
    ours.end(); // FIN only after everything queued
    expect(ours.writableEnded).toBe(true);
    expect(ours.write(Buffer.from("after end"))).toBe(false);
    const recv = createHash("sha256");
    let total = 0;
    peer.on("data", (d: Buffer) => {
      recv.update(d);
      total += d.length;
    });
    const ended = new Promise((r) => peer.once("end", r));
    peer.resume();
    await ended;
    expect(total).toBe(n * (1 << 20));
    expect(recv.digest("hex")).toBe(sent.digest("hex"));
    expect(drained).toBe(true);
    expect(ours.writableLength).toBe(0);
    peer.end();
    await until(() => ours.destroyed);
  });

  test("after our end, the peer's last bytes and FIN still arrive: data, end, close", async () => {
    const { peer, ours } = await pair();
    const ev = record(ours);
    const peerEnded = new Promise((r) => peer.once("end", r));
    ours.end();
    await peerEnded;
    peer.end("bye");
    await until(() => ev.includes("close"));
    expect(ev).toEqual(["data:bye", "end", "close"]);
  });

  test("destroy: close comes once, a turn later, never inside the call; the peer sees a FIN", async () => {
    const { peer, ours } = await pair();
    const ev = record(ours);
    const peerEnded = new Promise((r) => peer.once("end", r));
    ours.destroy();
    expect(ours.destroyed).toBe(true);
    expect(ev).toEqual([]); // not synchronously
    ours.destroy();
    await peerEnded;
    await sleep(20);
    expect(ev).toEqual(["close"]);
    expect(ours.write(Buffer.from("x"))).toBe(false);
    peer.destroy();
  });

  test("resetAndDestroy sends a reset", async () => {
    const { peer, ours } = await pair();
    const peerError = new Promise<NodeJS.ErrnoException>((r) => peer.once("error", r));
    ours.resetAndDestroy();
    expect((await peerError).code).toBe("ECONNRESET");
  });

  test("a peer's reset is error then close, and no end", async () => {
    const { peer, ours } = await pair();
    const ev = record(ours);
    peer.resetAndDestroy();
    await until(() => ev.includes("close"));
    expect(ev).toEqual(["error:ECONNRESET", "close"]);
  });

  test("a clean close while paused with bytes held: the bytes, end and close follow resume", async () => {
    const { peer, ours } = await pair();
    const ev = record(ours);
    ours.pause();
    ours.end(); // our FIN first, so the peer's FIN closes the native socket
    await new Promise((r) => peer.once("end", r));
    peer.end("held");
    await sleep(80);
    expect(ev).toEqual([]);
    ours.resume();
    await until(() => ev.includes("close"));
    expect(ev).toEqual(["data:held", "end", "close"]);
  });

  test("destroy while bytes are held drops them and still closes once", async () => {
    const { peer, ours } = await pair();
    const ev = record(ours);
    ours.pause();
    peer.write("dropped");
    await sleep(30);
    ours.destroy();
    await sleep(30);
    expect(ev).toEqual(["close"]);
    peer.destroy();
  });

  test("resume() with nobody listening drops what comes (as node:net) and still sees the FIN", async () => {
    const { peer, ours } = await pair();
    let ended = false;
    ours.on("end", () => {
      ended = true;
    });
    ours.resume(); // e.g. a refused client: its answer is written, the rest is discarded
    peer.end("ignored body");
    await until(() => ended);
    const got: string[] = [];
    ours.on("data", (d: Buffer) => got.push(d.toString()));
    await sleep(20);
    expect(got).toEqual([]);
    ours.end();
    await until(() => ours.destroyed);
  });

  test("a listener's exception is thrown uncaught, not taken for the socket's error; reading goes on", async () => {
    // In a process of its own: bun:test fails a test that sees an uncaught exception.
    const proc = Bun.spawn([process.execPath, `${import.meta.dir}/helpers/native-socket-throw.ts`], {
      stdout: "pipe",
      stderr: "pipe",
    });
    const out = await new Response(proc.stdout).text();
    expect(await proc.exited).toBe(0);
    const r = JSON.parse(out) as { events: string[]; uncaught: string[] };
    expect(r.uncaught).toEqual(["bug in a data listener"]);
    expect(r.events).toEqual(["data:one", "data:two", "end", "close"]);
  });
});

describe("SocketEvents (the emitter under NativeSocket) keeps EventEmitter's rules", () => {
  test("order, `this`, once, off of the latest match, changes during an emit, other event names", () => {
    const em = new SocketEvents();
    const calls: string[] = [];
    const a = function (this: unknown, x: number) {
      calls.push(`a${x}:${this === em}`);
    };
    const b = (x: number) => calls.push(`b${x}`);
    em.on("data", a);
    em.once("data", b);
    em.on("data", a);
    expect(em.listeners("data")).toEqual([a, b, a]);
    expect(em.emit("data", 1)).toBe(true);
    expect(calls).toEqual(["a1:true", "b1", "a1:true"]);
    expect(em.listenerCount("data")).toBe(2); // the once listener is gone
    em.off("data", a); // the most recent `a`
    calls.length = 0;
    em.emit("data", 2);
    expect(calls).toEqual(["a2:true"]);
    // A listener that removes another during an emit does not change that emit.
    const c = () => {
      calls.push("c");
      em.off("end", d);
    };
    const d = () => calls.push("d");
    em.on("end", c);
    em.on("end", d);
    calls.length = 0;
    em.emit("end");
    em.emit("end");
    expect(calls).toEqual(["c", "d", "c"]);
    // `off` finds a once listener by its original function.
    em.once("close", d);
    em.off("close", d);
    expect(em.emit("close")).toBe(false);
    // Any other name works.
    em.on("timeout", d);
    expect(em.listenerCount("timeout")).toBe(1);
    em.removeAllListeners();
    expect(em.emit("timeout")).toBe(false);
    expect(em.emit("data", 3)).toBe(false);
  });
});
