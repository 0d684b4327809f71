/**
 * What an idle tunnel keeps: the dialled socket carries no listener of the dial's (a node:net one,
 * past the abandoned-connect bound, one shared listener) and SecureChannel sockets carry shared
 * listeners (no per-connection closures holding the dial's or the channel's scope), a channel's socket
 * close still reaches its endpoint's handlers, and a tunnel's session slot reads and writes its
 * one key of the session cache.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { AddressInfo } from "node:net";
import * as net from "node:net";
import { abandonedConnects } from "../src/proxy/connect-tcp.ts";
import { dial } from "../src/proxy/dial.ts";
import { channelEndpoint } from "../src/proxy/endpoint.ts";
import { NativeSocket } from "../src/proxy/native-socket.ts";
import { NativeEngine } from "../src/upstream/native/native-engine.ts";
import { channelPair } from "./helpers/channel-pair.ts";
import { makeTestPki, type TestPki } from "./helpers/tls-env.ts";

let pki: TestPki;
let engine: NativeEngine;
let plain: net.Server;
let plainPort: number;

beforeAll(async () => {
  pki = await makeTestPki();
  engine = new NativeEngine();
  plain = net.createServer((s) => s.on("error", () => {}));
  await new Promise<void>((r) => plain.listen(0, "127.0.0.1", r));
  plainPort = (plain.address() as AddressInfo).port;
});
afterAll(() => pki?.remove());

afterAll(() => {
  plain.close();
});

const DIAL = { timeoutMs: 5000, guard: { denyPrivate: false, denyCidrs: [] }, self: null };

/** A client and a server SecureChannel over loopback TCP, handshaken, not started. */
const pair = () => channelPair(pki, engine, { client: "upstream", server: "client" });

describe("idle tunnel state", () => {
  test("a dialled socket is native and carries no listener of the dial's", async () => {
    const target = { kind: "ipv4" as const, host: "127.0.0.1", port: plainPort };
    const a = await dial(target, DIAL);
    try {
      expect(a).toBeInstanceOf(NativeSocket);
      for (const event of ["data", "end", "error", "close", "drain"])
        expect(a.listeners(event)).toHaveLength(0);
    } finally {
      a.destroy();
    }
  });

  test("a node:net dial (past the abandoned-connect bound) has one shared error listener, not a closure", async () => {
    const target = { kind: "ipv4" as const, host: "127.0.0.1", port: plainPort };
    const limit = abandonedConnects.limit;
    abandonedConnects.limit = 0;
    try {
      const a = await dial(target, DIAL);
      const b = await dial(target, DIAL);
      try {
        expect(a).toBeInstanceOf(net.Socket);
        expect(a.listeners("error")).toHaveLength(1);
        expect(a.listeners("error")[0]).toBe(b.listeners("error")[0]);
      } finally {
        a.destroy();
        b.destroy();
      }
    } finally {
      abandonedConnects.limit = limit;
    }
  });

  test("two channels share their socket listeners and each gets its own bytes", async () => {
    const p1 = await pair();
    const p2 = await pair();
    try {
      for (const event of ["data", "end", "error", "close", "drain"]) {
        // The channel's listener is the last one (the harness adds its own `error` no-op first).
        const mine = p1.server.socket.listeners(event).at(-1);
        expect(mine).toBeDefined();
        expect(mine).toBe(p2.server.socket.listeners(event).at(-1));
      }
      const got: string[] = [];
      const decoder = new TextDecoder();
      for (const [name, p] of [
        ["one", p1],
        ["two", p2],
      ] as const) {
        p.server.start({
          data: (d) => got.push(`${name}:${decoder.decode(d)}`),
          end: () => {},
          error: () => {},
          drain: () => {},
        });
        p.client.start({ data: () => {}, end: () => {}, error: () => {}, drain: () => {} });
      }
      p1.client.write(new TextEncoder().encode("a"));
      p2.client.write(new TextEncoder().encode("b"));
      for (let i = 0; i < 500 && got.length < 2; i++) await Bun.sleep(10);
      expect(got.sort()).toEqual(["one:a", "two:b"]);
    } finally {
      p1.close();
      p2.close();
    }
  });

  test("a channel endpoint hears its socket close after the peer's close_notify", async () => {
    const p = await pair();
    try {
      const events: string[] = [];
      const closed = Promise.withResolvers<void>();
      channelEndpoint(p.server).start({
        data: () => {},
        end: (truncation) => events.push(truncation ? "truncated" : "end"),
        error: (e) => events.push(`error ${e.code}`),
        drain: () => {},
        close: () => {
          events.push("close");
          closed.resolve();
        },
      });
      p.client.start({ data: () => {}, end: () => {}, error: () => {}, drain: () => {} });
      p.client.end();
      p.server.end();
      await closed.promise;
      expect(events).toEqual(["end", "close"]);
    } finally {
      p.close();
    }
  });
});
