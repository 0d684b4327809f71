/**
 * What Chromium 150+ sends, through the engine (our BoringSSL patch, ffi/patches/): ML-DSA
 * signature algorithms, a GREASE value first in signature_algorithms, trust_anchors (0xca34) with
 * the browser's IDs in either order rule; the Chromium 156 capture imported and reproduced; and a
 * server that picks ML-DSA (a scripted Go server) failing the handshake cleanly.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { parse as parseToml } from "smol-toml";
import { isProxyError } from "../src/errors/proxy-error.ts";
import { parseClientHello } from "../src/fingerprint/clienthello.ts";
import { compareFingerprints } from "../src/fingerprint/compare.ts";
import { ja4 } from "../src/fingerprint/ja4.ts";
import { peetprint } from "../src/fingerprint/peetprint.ts";
import { probeProfile } from "../src/fingerprint/probe.ts";
import type { RecordedHello } from "../src/fingerprint/recorder.ts";
import { ProfileRegistry } from "../src/profiles/registry-store.ts";
import type { ProfileSpec } from "../src/upstream/engine.ts";
import { NativeEngine } from "../src/upstream/native/native-engine.ts";
import { removeTempTree } from "./helpers/temp-tree.ts";
import type { TestPki } from "./helpers/tls-env.ts";
import { runCli } from "./helpers/wire-cli.ts";

const FIXTURES = path.join(import.meta.dir, "fixtures");
const HELLO_HEX = path.join(FIXTURES, "hellos", "chromium-156-linux-x64-sni.hello.hex");
const PROFILE_TOML = path.join(FIXTURES, "profiles", "chromium-156-linux-x64.toml");
const NAME = "chromium-156-linux-x64";
const CAPTURE_JA4 = "t13d1517h2_8daaf6152771_cb7bf5808d99"; // the capture's JA4 (its README)
const CAPTURE_RESUMED_JA4 = "t13d1518h2_8daaf6152771_e2d80978ab2e"; // chromium-sni-conn3 (same README)
const SIGALGS = 13; // signature_algorithms
const TRUST_ANCHORS = 0xca34;
const MLDSA = [0x0904, 0x0905, 0x0906]; // mldsa44, mldsa65, mldsa87
const isGrease = (v: number) => (v & 0x0f0f) === 0x0a0a && v >> 8 === (v & 0xff);

const captureRaw = new Uint8Array(Buffer.from(readFileSync(HELLO_HEX, "utf8").trim(), "hex"));
const capture = parseClientHello(captureRaw);
const engine = new NativeEngine();

/** Extension payloads of a ClientHello carried in TLS records, by type, plus the cipher list. */
function rawHello(records: Uint8Array): { ciphers: number[]; ext: Map<number, Uint8Array> } {
  const parts: Uint8Array[] = [];
  for (let p = 0; p < records.length; ) {
    const len = (records[p + 3]! << 8) | records[p + 4]!;
    parts.push(records.subarray(p + 5, p + 5 + len));
    p += 5 + len;
  }
  const hs = Buffer.concat(parts);
  let p = 4 + 2 + 32;
  p += 1 + hs[p]!;
  const cipherLen = hs.readUInt16BE(p);
  const ciphers = [...Array(cipherLen / 2).keys()].map((i) => hs.readUInt16BE(p + 2 + 2 * i));
  p += 2 + cipherLen;
  p += 1 + hs[p]!;
  const end = p + 2 + hs.readUInt16BE(p);
  const ext = new Map<number, Uint8Array>();
  for (p += 2; p < end; ) {
    const n = hs.readUInt16BE(p + 2);
    ext.set(hs.readUInt16BE(p), new Uint8Array(hs.subarray(p + 4, p + 4 + n)));
    p += 4 + n;
  }
  return { ciphers, ext };
}

function u16s(bytes: Uint8Array, skip: number): number[] {
  const b = Buffer.from(bytes);
  return [...Array((b.length - skip) / 2).keys()].map((i) => b.readUInt16BE(skip + 2 * i));
}

/** The fixture profile (or a variant of its table) as an engine spec. */
function fixtureSpec(change: Record<string, unknown> = {}): ProfileSpec {
  const tables = (parseToml(readFileSync(PROFILE_TOML, "utf8")) as { profiles: Record<string, object> })
    .profiles;
  return new ProfileRegistry({ [NAME]: { ...tables[NAME], ...change } }).spec(NAME);
}

describe("Chromium 156 capture: import and reproduction", () => {
  let importedSpec: ProfileSpec;
  let importStderr = "";
  let importStdout = "";

  beforeAll(async () => {
    const imp = await runCli(["profiles", "import", HELLO_HEX, "--name", NAME]);
    expect(imp.code).toBe(0);
    importStderr = imp.stderr;
    importStdout = imp.stdout;
    const tables = (parseToml(imp.stdout) as { profiles: Record<string, unknown> }).profiles;
    importedSpec = new ProfileRegistry({ [NAME]: tables[NAME] }).spec(NAME);
  });

  test("`profiles import` reports every component reproducible, with the new keys", () => {
    // Nothing is unreproducible; the name is the built-in's on purpose (said, not silent).
    expect(importStderr).toBe(
      `warning: profile name "${NAME}" is the name of a built-in profile: in a config, this table replaces that built-in; choose another with --name NAME\n`,
    );
    expect(importStdout).toContain("# Every component of the ClientHello is reproduced.");
    expect(importStdout).toContain("signature_algorithms_grease = true");
    expect(importStdout).toMatch(
      /"mldsa44",\s+# 0x0904\n {2}"mldsa65",\s+# 0x0905\n {2}"mldsa87",\s+# 0x0906/,
    );
    expect(importStdout).toContain('trust_anchors_order = "as-listed"');
    expect(importedSpec.sigalgsGrease).toBe(true);
    expect(importedSpec.trustAnchors?.ids).toHaveLength(28);
    expect(importedSpec.trustAnchors?.ids[0]).toEqual([0x82, 0xdf, 0x13, 0x02, 0x01]);
  });

  test("the imported profile sends the capture again: every component, extension order included", async () => {
    const [hello] = await probeProfile(engine, importedSpec, 1);
    const fp = hello!.fingerprint;
    expect(compareFingerprints(fp, capture).diffs).toEqual([]);
    expect(ja4(fp)).toBe(CAPTURE_JA4);
    expect(fp.sigalgs[0]).toBe(0x0a0a); // GREASE, normalised
    expect(fp.sigalgs.slice(1, 4)).toEqual(MLDSA);
  });

  test("trust_anchors equals the capture's extension byte for byte", async () => {
    const [hello] = await probeProfile(engine, importedSpec, 1);
    const sent = rawHello(hello!.raw).ext.get(TRUST_ANCHORS);
    const captured = rawHello(captureRaw).ext.get(TRUST_ANCHORS);
    expect(captured?.length).toBe(186); // u16 list length + 28 u8-prefixed IDs
    expect(Buffer.from(sent!).toString("hex")).toBe(Buffer.from(captured!).toString("hex"));
  });

  test("the built-in chromium-156-linux-x64 is this fixture's hello: the same engine spec", () => {
    // The fixture stays the `profiles import` output of the capture; the built-in reaches the same
    // spec through `extends` (profiles/chromium-156-linux-x64.toml).
    expect(new ProfileRegistry().spec(NAME)).toEqual(fixtureSpec());
  });

  test("the fixture profile (shuffled extensions, as Chromium) matches JA4 and peetprint on every connection", async () => {
    const hellos = await probeProfile(engine, fixtureSpec(), 3);
    const orders = new Set<string>();
    for (const h of hellos) {
      const fp = h.fingerprint;
      // Later connections resume (pre_shared_key, 41): JA4 then equals Chromium's own resumed
      // connection, chromium-sni-conn3 of the same capture run.
      const resumed = fp.extensions.includes(41);
      expect(ja4(fp)).toBe(resumed ? CAPTURE_RESUMED_JA4 : CAPTURE_JA4);
      if (!resumed) expect(peetprint(fp)).toBe(peetprint(capture)); // extensions sorted, GREASE normalised
      expect(
        compareFingerprints(fp, capture, { ignoreExtensionOrder: true, ignoreExtensions: [41] }).diffs,
      ).toEqual([]);
      orders.add(fp.extensions.join(","));
    }
    expect(orders.size).toBeGreaterThan(1); // permuted per connection
  });
});

describe("signature_algorithms GREASE and ML-DSA", () => {
  let hellos: RecordedHello[];
  beforeAll(async () => {
    hellos = await probeProfile(engine, fixtureSpec({ psk_dhe_ke: false }), 8);
  });

  test("a per-connection GREASE value comes first, then the configured list with ML-DSA", () => {
    const firsts: number[] = [];
    for (const h of hellos) {
      const list = u16s(rawHello(h.raw).ext.get(SIGALGS)!, 2);
      expect(isGrease(list[0]!)).toBe(true);
      expect(list.slice(1)).toEqual(capture.sigalgs.slice(1));
      expect(list.filter(isGrease)).toHaveLength(1);
      firsts.push(list[0]!);
    }
    // Random per connection: 8 connections with one value each would be a fixed value.
    expect(new Set(firsts).size).toBeGreaterThan(1);
  });

  test("its GREASE slot is its own: not always the cipher suite's or the group's value", () => {
    const sameAsCipher = hellos.filter((h) => {
      const { ciphers, ext } = rawHello(h.raw);
      return u16s(ext.get(SIGALGS)!, 2)[0] === ciphers.find(isGrease);
    });
    expect(sameAsCipher.length).toBeLessThan(hellos.length);
  });

  test("off by default: no GREASE in signature_algorithms", async () => {
    const [h] = await probeProfile(engine, fixtureSpec({ signature_algorithms_grease: false }), 1);
    const list = u16s(rawHello(h!.raw).ext.get(SIGALGS)!, 2);
    expect(list).toEqual(capture.sigalgs.slice(1));
  });

  test("the engine refuses a literal GREASE code point in the list, naming the knob", () => {
    const spec = { ...fixtureSpec(), sigalgs: [0x0a0a, 0x0403] };
    expect(() => engine.createConnector(spec)).toThrow(/signature_algorithms: 0x0a0a/);
  });
});

describe("trust_anchors order rules", () => {
  const idsOf = (h: RecordedHello): string[] => {
    const body = Buffer.from(rawHello(h.raw).ext.get(TRUST_ANCHORS)!);
    const ids: string[] = [];
    for (let p = 2; p < body.length; p += 1 + body[p]!)
      ids.push(body.subarray(p + 1, p + 1 + body[p]!).toString("hex"));
    return ids;
  };
  const listed = () => (fixtureSpec().trustAnchors?.ids ?? []).map((id) => Buffer.from(id).toString("hex"));

  test('"shuffled-per-process": one permutation per connector, kept for its connections', async () => {
    const spec = fixtureSpec({ trust_anchors_order: "shuffled-per-process" });
    const a = (await probeProfile(engine, spec, 2)).map(idsOf);
    const b = (await probeProfile(engine, spec, 1)).map(idsOf);
    expect(a[0]).toEqual(a[1]!); // same connector, same order
    expect([...a[0]!].sort()).toEqual([...listed()].sort());
    // 28 IDs: two independent shuffles agree with probability 1/28!, and match the sorted list
    // with the same probability.
    expect(a[0]).not.toEqual(b[0]!);
    expect(a[0]).not.toEqual(listed());
  });

  test("an empty list still sends the extension; false sends none", async () => {
    const [empty] = await probeProfile(engine, fixtureSpec({ trust_anchors: [] }), 1);
    expect(Buffer.from(rawHello(empty!.raw).ext.get(TRUST_ANCHORS)!).toString("hex")).toBe("0000");
    const [none] = await probeProfile(engine, fixtureSpec({ trust_anchors: false }), 1);
    expect(rawHello(none!.raw).ext.has(TRUST_ANCHORS)).toBe(false);
  });

  test("profile validation names the key; the engine refuses a malformed ID", () => {
    expect(() => fixtureSpec({ trust_anchors: ["11129.9.1", "1.02"] })).toThrow(
      /trust_anchors\[1\]: "1\.02" is not a dotted-decimal relative OID/,
    );
    expect(() => fixtureSpec({ trust_anchors: ["11129.9.1", "11129.9.1"] })).toThrow(
      /trust_anchors\[1\]: duplicate trust anchor ID/,
    );
    expect(() => fixtureSpec({ trust_anchors_order: "sorted" })).toThrow(/trust_anchors_order/);
    const bad = { ...fixtureSpec(), trustAnchors: { ids: [[]], order: "as-listed" as const } };
    expect(() => engine.createConnector(bad)).toThrow(/trust_anchors: ID 0 must be 1\.\.255 bytes/);
  });
});

describe("a server that chooses ML-DSA fails the handshake cleanly", () => {
  let dir: string | undefined;
  let pki: TestPki | undefined;
  let server: string;
  let leafDer: string;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "polytls-mldsa-"));
    server = path.join(dir, "mldsa-server");
    const env = { ...process.env, GOFLAGS: "-mod=mod", GOPROXY: "off", GOTOOLCHAIN: "local" };
    const build = Bun.spawn(
      ["go", "build", "-o", server, path.join(import.meta.dir, "helpers", "mldsa-server.go")],
      {
        env,
        stdout: "pipe",
        stderr: "pipe",
      },
    );
    if ((await build.exited) !== 0) throw new Error(`go build: ${await new Response(build.stderr).text()}`);
    const { makeTestPki } = await import("./helpers/tls-env.ts");
    pki = await makeTestPki();
    const leaf = await pki.leaf("localhost");
    leafDer = path.join(dir, "leaf.der");
    writeFileSync(leafDer, leaf.certDer);
    caFile = pki.caCertPath;
  });
  afterAll(() => {
    if (dir !== undefined) removeTempTree(dir);
    pki?.remove();
  });
  let caFile = "";

  async function handshakeWith(mode: "verify" | "leaf"): Promise<{ error: unknown; closed: string }> {
    const child = Bun.spawn([server, mode, leafDer], { stdout: "pipe", stderr: "pipe" });
    const reader = child.stdout.getReader();
    let out = "";
    while (!/port \d+\n/.test(out)) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`server exited: ${await new Response(child.stderr).text()}`);
      out += new TextDecoder().decode(value);
    }
    const port = Number(/port (\d+)/.exec(out)![1]);
    const { SecureChannel } = await import("../src/proxy/secure-channel.ts");
    const net = await import("node:net");
    const socket = net.connect({ host: "127.0.0.1", port });
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("error", reject);
    });
    const connector = engine.createConnector(fixtureSpec());
    let error: unknown = null;
    try {
      const verify = { verify: true, verifyHostname: true, caFile };
      await new SecureChannel(socket, connector.connect({ host: "localhost", verify })).handshake();
    } catch (e) {
      error = e;
    } finally {
      socket.destroy();
      connector.close();
    }
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      out += new TextDecoder().decode(value);
    }
    await child.exited;
    return { error, closed: /closed (\d+)/.exec(out)?.[1] ?? "" };
  }

  test("ML-DSA CertificateVerify over an ECDSA certificate: TLS_HANDSHAKE, wrong signature type", async () => {
    const { error, closed } = await handshakeWith("verify");
    expect(isProxyError(error) && error.code).toBe("TLS_HANDSHAKE");
    expect(String((error as Error).message)).toMatch(
      /sent alert illegal_parameter \(SSL routines: WRONG_SIGNATURE_TYPE\)/,
    );
    expect(Number(closed)).toBeGreaterThan(0); // the client sent its alert before closing
  });

  test("an ML-DSA certificate: TLS_HANDSHAKE, the key cannot be parsed", async () => {
    const { error } = await handshakeWith("leaf");
    expect(isProxyError(error) && error.code).toBe("TLS_HANDSHAKE");
    expect(String((error as Error).message)).toMatch(/sent alert decode_error \(.*UNSUPPORTED_ALGORITHM/);
  });
});
