import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import * as net from "node:net";
import { isProxyError } from "../src/errors/proxy-error.ts";
import type { ProfileSpec, VerifyPolicy } from "../src/upstream/engine.ts";
import { locateNativeLibrary } from "../src/upstream/native/locate.ts";
import { NativeEngine } from "../src/upstream/native/native-engine.ts";
import { engineGet } from "./helpers/engine-client.ts";
import { startEngineServer } from "./helpers/engine-origin.ts";
import { TEST_SPEC } from "./helpers/spec.ts";
import { makeTestPki, type Origin, startTlsOrigin, type TestPki } from "./helpers/tls-env.ts";

const SPEC = TEST_SPEC;

let pki: TestPki;
let engine: NativeEngine;
let h1: Origin;
let h2: Origin;
const verifyWithCa = (): VerifyPolicy => ({ verify: true, verifyHostname: true, caFile: pki.caCertPath });

beforeAll(async () => {
  pki = await makeTestPki();
  engine = new NativeEngine();
  const leaf = await pki.leaf("localhost");
  h1 = await startTlsOrigin(leaf, { alpn: ["http/1.1"] });
  h2 = await startTlsOrigin(leaf, { alpn: ["h2", "http/1.1"] });
});
afterAll(() => pki?.remove());

afterAll(async () => {
  await h1.close();
  await h2.close();
});

describe("native engine", () => {
  test("reports its BoringSSL build", () => {
    expect(engine.boringsslVersion).toMatch(/^btls-sys \d+\.\d+\.\d+ \(BoringSSL API \d+\)$/);
  });

  test("full handshake offering h2 negotiates h2, TLS 1.3, and carries a request", async () => {
    using c = engine.createConnector(SPEC);
    const r = await engineGet(c, h2.port, { host: "localhost", verify: verifyWithCa() }, "/h2");
    expect(r.info.alpn).toBe("h2");
    expect(r.info.version).toBe("TLSv1.3");
    expect(r.info.cipher).toBe("TLS_AES_128_GCM_SHA256");
    expect(r.info.resumed).toBe(false);
    expect(r.response).toContain("hello /h2");
    expect(h2.accepted.at(-1)?.servername).toBe("localhost");
  });

  test("offering only http/1.1 negotiates http/1.1", async () => {
    using c = engine.createConnector(SPEC);
    const r = await engineGet(c, h1.port, { host: "localhost", alpn: ["http/1.1"], verify: verifyWithCa() });
    expect(r.info.alpn).toBe("http/1.1");
    expect(h1.accepted.at(-1)?.alpn).toBe("http/1.1");
    expect(r.response.startsWith("HTTP/1.1 200 OK")).toBe(true);
  });

  test("TLS 1.2 only profile negotiates a TLS 1.2 cipher", async () => {
    using c = engine.createConnector({ ...SPEC, name: "tls12", maxVersion: 0x0303 });
    const r = await engineGet(c, h1.port, { host: "localhost", verify: verifyWithCa() });
    expect(r.info.version).toBe("TLSv1.2");
    expect(r.info.cipher).toBe("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256");
  });

  test("an exported session resumes on a second connection", async () => {
    using c = engine.createConnector(SPEC);
    const first = await engineGet(c, h1.port, { host: "localhost", verify: verifyWithCa() });
    expect(first.sessions.length).toBeGreaterThan(0);
    const session = first.sessions.at(-1)!;
    const second = await engineGet(c, h1.port, { host: "localhost", verify: verifyWithCa(), session });
    expect(second.info.resumed).toBe(true);
    expect(h1.accepted.at(-1)?.resumed).toBe(true);
  });

  test("an untrusted certificate fails verification; CA file and verify-off succeed", async () => {
    using c = engine.createConnector(SPEC);
    const err = await engineGet(c, h1.port, {
      host: "localhost",
      verify: { verify: true, verifyHostname: true, caFile: null },
    }).catch((e: unknown) => e);
    expect(isProxyError(err, "TLS_VERIFY")).toBe(true);
    expect(String((err as Error).message)).toContain("certificate verify failed");
    const ok = await engineGet(c, h1.port, { host: "localhost", verify: verifyWithCa() });
    expect(ok.response).toContain("200 OK");
    const off = await engineGet(c, h1.port, {
      host: "localhost",
      verify: { verify: false, verifyHostname: false, caFile: null },
    });
    expect(off.response).toContain("200 OK");
  });

  test("an unreadable upstream CA file is a configuration error, not a TLS one", () => {
    using c = engine.createConnector(SPEC);
    let err: unknown;
    try {
      c.connect({
        host: "localhost",
        verify: { verify: true, verifyHostname: true, caFile: "/nonexistent/ca.pem" },
      });
    } catch (e) {
      err = e;
    }
    expect(isProxyError(err, "CONFIG_INVALID")).toBe(true);
    expect((err as Error).message).toContain("/nonexistent/ca.pem");
  });

  test("a wrong host name fails unless hostname checking is off", async () => {
    using c = engine.createConnector(SPEC);
    const err = await engineGet(c, h1.port, { host: "other.test", verify: verifyWithCa() }).catch(
      (e: unknown) => e,
    );
    expect(isProxyError(err, "TLS_VERIFY")).toBe(true);
    const ok = await engineGet(c, h1.port, {
      host: "other.test",
      verify: { verify: true, verifyHostname: false, caFile: pki.caCertPath },
    });
    expect(ok.response).toContain("200 OK");
  });

  test("a spec BoringSSL refuses fails at context creation naming the knob", () => {
    const bad = (patch: Partial<ProfileSpec>) => {
      try {
        engine.createConnector({ ...SPEC, ...patch });
        return "created";
      } catch (e) {
        expect(isProxyError(e, "TLS_CONFIG")).toBe(true);
        return (e as Error).message;
      }
    };
    expect(bad({ groups: [29, 0x9999], keyShares: [29] })).toContain("groups: 0x9999");
    expect(bad({ ciphers: [0x1301, 0xfefe] })).toContain("ciphers: 0xfefe");
    expect(bad({ sigalgs: [0x0403, 0x7777] })).toContain("signature_algorithms: 0x7777");
    expect(bad({ keyShares: [25] })).toContain("key_shares");
    expect(bad({ recordSizeLimit: 10 })).toContain("record_size_limit");
  });

  test("garbage ciphertext is an error, never a crash", async () => {
    using c = engine.createConnector(SPEC);
    const conn = c.connect({ host: "localhost", verify: verifyWithCa() });
    expect(conn.handshake()).toBe("want");
    expect(conn.takeOutput()?.length).toBeGreaterThan(100); // the ClientHello
    conn.feed(new Uint8Array(64).fill(0x41));
    expect(() => conn.handshake()).toThrow();
    conn.close();
    for (let i = 0; i < 50; i++) {
      const k = c.connect({ host: "localhost", verify: verifyWithCa() });
      k.handshake();
      const junk = crypto.getRandomValues(new Uint8Array(3 + ((i * 37) % 300)));
      if (i % 2 === 0) junk.set([0x16, 0x03, 0x03], 0); // plausible record header, random body
      try {
        k.feed(junk);
        k.handshake();
      } catch (e) {
        expect(isProxyError(e)).toBe(true);
      }
      k.close();
    }
  });

  test("a failed handshake names the TLS alert received or sent, with one prefix", () => {
    using c = engine.createConnector(SPEC);
    const reason = (bytes: number[]): string => {
      using k = c.connect({ host: "localhost", verify: verifyWithCa() });
      k.handshake();
      k.takeOutput();
      k.feed(Uint8Array.from(bytes));
      try {
        k.handshake();
      } catch (e) {
        expect(isProxyError(e, "TLS_HANDSHAKE")).toBe(true);
        return (e as Error).message;
      }
      return "no failure";
    };
    // A fatal handshake_failure alert record from the server.
    expect(reason([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 40])).toBe(
      "handshake: received alert handshake_failure",
    );
    // A ServerHello cut short: we send decode_error, with BoringSSL's reason.
    expect(reason([0x16, 0x03, 0x03, 0x00, 0x04, 0x02, 0x00, 0x00, 0x00])).toBe(
      "handshake: sent alert decode_error (SSL routines: DECODE_ERROR)",
    );
    // Not TLS at all.
    expect(reason([0x41, 0x41, 0x41, 0x41, 0x41, 0x41])).toStartWith(
      "handshake: sent alert protocol_version",
    );
  });

  test("the handshake succeeds when bytes arrive split into random small chunks", async () => {
    using c = engine.createConnector(SPEC);
    // A relay that re-chunks every server→client byte into 1..7 byte pieces.
    const relay = net.createServer((client) => {
      const up = net.connect({ host: "127.0.0.1", port: h1.port });
      client.on("data", (d) => up.write(d));
      up.on("data", (d: Buffer) => {
        for (let i = 0; i < d.length; ) {
          const n = 1 + Math.floor(Math.random() * 7);
          client.write(d.subarray(i, i + n));
          i += n;
        }
      });
      client.on("close", () => up.destroy());
      up.on("close", () => client.destroy());
      client.on("error", () => {});
      up.on("error", () => {});
    });
    await new Promise<void>((r) => relay.listen(0, "127.0.0.1", r));
    const port = (relay.address() as AddressInfo).port;
    const r = await engineGet(c, port, { host: "localhost", verify: verifyWithCa() }, "/split");
    expect(r.response).toContain("hello /split");
    relay.close();
  });

  test("server mode: accepts a client, selects ALPN by our order, reports SNI", async () => {
    const leaf = await pki.leaf("mitm.test");
    const server = await startEngineServer(
      engine,
      leaf,
      ["h2", "http/1.1"],
      (info) => `${info.sni}|${info.alpn}`,
    );
    using c = engine.createConnector(SPEC);
    const r = await engineGet(c, server.port, { host: "mitm.test", verify: verifyWithCa() });
    expect(r.info.alpn).toBe("h2");
    expect(r.response).toContain("mitm.test|h2");
    server.close();
  });

  for (const alg of ["zlib", "brotli", "zstd"] as const) {
    test(`certificate compression: ${alg}-compressed certificates are decompressed`, async () => {
      const leaf = await pki.leaf("localhost");
      const plain = await startEngineServer(engine, leaf, ["http/1.1"], () => "ok");
      const packed = await startEngineServer(
        new NativeEngine({ serverCertCompression: alg }),
        leaf,
        ["http/1.1"],
        () => "ok",
      );
      using c = engine.createConnector({ ...SPEC, certCompression: [alg] });
      for (const server of [plain, packed]) {
        const r = await engineGet(c, server.port, { host: "localhost", verify: verifyWithCa() });
        expect(r.response).toContain("ok");
        server.close();
      }
      // The server's handshake flight is smaller only if it really sent a CompressedCertificate,
      // which the client then had to decompress (and verify) for the handshake to succeed.
      expect(packed.flightBytes[0]).toBeLessThan(plain.flightBytes[0]!);
    });
  }
});

describe("symbol isolation", () => {
  test("libpolyboring exports only pb_* symbols (Bun's own BoringSSL must not be shadowed)", () => {
    const lib = locateNativeLibrary();
    const args = process.platform === "darwin" ? ["-gU", lib] : ["-D", "--defined-only", lib];
    const out = Bun.spawnSync(["nm", ...args]);
    expect(out.exitCode).toBe(0);
    const names = out.stdout
      .toString()
      .split("\n")
      .map((l) => l.trim().split(/\s+/).at(-1) ?? "")
      .filter((n) => n !== "")
      .map((n) => n.replace(/^_/, ""));
    expect(names.length).toBeGreaterThan(10);
    expect(names.filter((n) => !n.startsWith("pb_"))).toEqual([]);
    // ffi/polyboring.h declares exactly what the library exports.
    const header = readFileSync(new URL("../ffi/polyboring.h", import.meta.url), "utf8");
    const declared = [...header.matchAll(/\b(pb_[a-z_]+)\(/g)].map((m) => m[1]);
    expect(new Set(declared)).toEqual(new Set(names));
  });
});
