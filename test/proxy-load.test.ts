import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type * as tls from "node:tls";
import { NativeEngine } from "../src/upstream/native/native-engine.ts";
import { httpGet, type ProxyHandle, startProxy, tlsThroughProxy } from "./helpers/proxy-env.ts";
import { fixedProfiles, TEST_SPEC } from "./helpers/spec.ts";
import { makeTestPki, type Origin, startTlsOrigin, type TestPki } from "./helpers/tls-env.ts";

/** Body the streaming origin sends: far more than every socket buffer on the path together. */
const BODY_BYTES = 256 * 1024 * 1024;
/** What the origin may get out while the client reads nothing: kernel socket buffers of the two
 * loopback hops (tcp_rmem/wmem autotuning, up to tens of MiB) plus the proxy's own high-water marks. */
const PAUSED_BOUND_BYTES = 48 * 1024 * 1024;
const CHUNK = Buffer.alloc(64 * 1024, 0x61);

let pki: TestPki;
let proxy: ProxyHandle;
let streaming: Origin;
let small: Origin;
let written = 0;

beforeAll(async () => {
  pki = await makeTestPki();
  const engine = new NativeEngine();
  const leaf = await pki.leaf("localhost");
  small = await startTlsOrigin(leaf);
  // Streams BODY_BYTES as fast as backpressure lets it, counting what it hands to its socket.
  streaming = await startTlsOrigin(leaf, {
    handler(s: tls.TLSSocket) {
      s.once("data", () => {
        s.write(`HTTP/1.1 200 OK\r\nContent-Length: ${BODY_BYTES}\r\n\r\n`);
        const pump = () => {
          while (written < BODY_BYTES) {
            written += CHUNK.length;
            if (!s.write(CHUNK)) return void s.once("drain", pump);
          }
        };
        pump();
      });
      s.on("error", () => {});
    },
  });
  proxy = await startProxy({
    pki,
    engine,
    profiles: fixedProfiles([TEST_SPEC]),
    defaultProfile: "test-chrome",
  });
});
afterAll(() => pki?.remove());

afterAll(async () => {
  await proxy.stop();
  await streaming.close();
  await small.close();
});

describe("relay under load", () => {
  test("a slow reader backpressures the origin through the proxy; nothing is lost", async () => {
    const t = await tlsThroughProxy(proxy.port, `localhost:${streaming.port}`, {
      ca: pki.ca.certPem,
      servername: "localhost",
    });
    t.pause();
    t.write("GET /big HTTP/1.1\r\nHost: localhost\r\n\r\n");
    await Bun.sleep(1500); // the client reads nothing meanwhile
    const whilePaused = written;
    expect(whilePaused).toBeLessThan(PAUSED_BOUND_BYTES);
    let received = 0;
    let headerDone = false;
    await new Promise<void>((resolve, reject) => {
      t.on("data", (d: Buffer) => {
        if (!headerDone) {
          const end = d.indexOf("\r\n\r\n");
          if (end < 0) return;
          headerDone = true;
          received += d.length - end - 4;
        } else received += d.length;
        if (received >= BODY_BYTES) resolve();
      });
      t.once("error", reject);
      t.resume();
    });
    expect(received).toBe(BODY_BYTES);
    expect(written).toBe(BODY_BYTES);
    t.destroy();
  }, 120_000);

  test("200 concurrent MITM tunnels all complete", async () => {
    const N = 200;
    const results = await Promise.all(
      Array.from({ length: N }, async (_, i) => {
        const t = await tlsThroughProxy(proxy.port, `localhost:${small.port}`, {
          ca: pki.ca.certPem,
          servername: "localhost",
        });
        const res = await httpGet(t, "localhost", `/c${i}`);
        t.end();
        return res.includes(`hello /c${i}`);
      }),
    );
    expect(results.filter(Boolean).length).toBe(N);
  }, 60_000);
});
