import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { isProxyError, ProxyError } from "../src/errors/proxy-error.ts";
import { clientHelloComplete, parseClientHello } from "../src/fingerprint/clienthello.ts";
import { compareFingerprints, formatDiff, summarize } from "../src/fingerprint/compare.ts";
import { ja3Hash, ja3SortedString, ja3String } from "../src/fingerprint/ja3.ts";
import { ja4, ja4r } from "../src/fingerprint/ja4.ts";
import { fingerprintFromPeet, fingerprintFromPeetJson } from "../src/fingerprint/peet.ts";
import { peetprint, peetprintHash } from "../src/fingerprint/peetprint.ts";
import { profileCompareOptions } from "../src/fingerprint/profile-compare.ts";
import { type ClientHelloFingerprint, GREASE } from "../src/fingerprint/types.ts";
import { encodeClientHello, wrapInRecords } from "./helpers/clienthello-encoder.ts";
import { prng } from "./helpers/prng.ts";

const FIXTURES = join(import.meta.dir, "fixtures", "fingerprints");
const NAMES = ["chrome-143-macos-arm64", "firefox-145-macos-arm64", "safari-26.2-macos-arm64"] as const;

interface PeetTls {
  ja3: string;
  ja3_hash: string;
  ja4: string;
  ja4_r: string;
  peetprint: string;
  peetprint_hash: string;
}

function fixtureText(name: string): string {
  return readFileSync(join(FIXTURES, `${name}.json`), "utf8");
}

function fixture(name: string): { fp: ClientHelloFingerprint; tls: PeetTls; json: unknown } {
  const text = fixtureText(name);
  const json: unknown = JSON.parse(text);
  return { fp: fingerprintFromPeetJson(text), tls: (json as { tls: PeetTls }).tls, json };
}

function expectCode(fn: () => unknown, code: "BAD_REQUEST" | "CONFIG_INVALID"): ProxyError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ProxyError);
    expect((err as ProxyError).code).toBe(code);
    return err as ProxyError;
  }
  throw new Error(`expected ProxyError ${code}, nothing was thrown`);
}

describe("fingerprints of the reference captures", () => {
  for (const name of NAMES) {
    test(`${name}: ja3, ja4, peetprint reproduce the capture`, () => {
      const { fp, tls } = fixture(name);
      expect(ja3String(fp)).toBe(tls.ja3);
      expect(ja3Hash(fp)).toBe(tls.ja3_hash);
      expect(ja4(fp)).toBe(tls.ja4);
      expect(ja4r(fp)).toBe(tls.ja4_r);
      expect(peetprint(fp)).toBe(tls.peetprint);
      expect(peetprintHash(fp)).toBe(tls.peetprint_hash);
      expect(summarize(fp)).toEqual({
        ja3: tls.ja3,
        ja3Hash: tls.ja3_hash,
        ja4: tls.ja4,
        ja4r: tls.ja4_r,
        peetprint: tls.peetprint,
        peetprintHash: tls.peetprint_hash,
      });
    });
  }

  test("chrome: GREASE placement, key share order, ALPS", () => {
    const { fp } = fixture("chrome-143-macos-arm64");
    expect(fp.extensions[0]).toBe(GREASE);
    // second GREASE extension goes before pre_shared_key, which must stay last (RFC 8446 §4.2.11)
    expect(fp.extensions.slice(-2)).toEqual([GREASE, 41]);
    expect(fp.keyShares.map((k) => k.group)).toEqual([GREASE, 4588, 29]);
    expect(fp.keyShares.map((k) => k.length)).toEqual([1, 1216, 32]);
    expect(fp.alps).toEqual({ codepoint: 17613, protocols: ["h2"] });
    expect(fp.ciphers[0]).toBe(GREASE);
    expect(fp.versions).toEqual([GREASE, 0x0304, 0x0303]);
    expect(fp.pskModes).toEqual([1]);
    expect(fp.sni).toBe("tls.peet.ws");
  });

  test("firefox: record_size_limit, delegated credentials, no psk modes, key shares from groups order", () => {
    const { fp } = fixture("firefox-145-macos-arm64");
    expect(fp.recordSizeLimit).toBe(0x4001);
    expect(fp.delegatedCredentials).toEqual([0x0403, 0x0503, 0x0603, 0x0203]);
    expect(fp.pskModes).toEqual([]);
    expect(fp.keyShares.map((k) => k.group)).toEqual([4588, 29, 23]);
    expect(fp.certCompression).toEqual([1, 2, 3]);
    expect(fp.extensions.includes(GREASE)).toBe(false);
  });

  test("safari: duplicate sigalg kept, 3DES suites, GREASE first and last", () => {
    const { fp } = fixture("safari-26.2-macos-arm64");
    expect(fp.sigalgs.filter((s) => s === 0x0805)).toHaveLength(2);
    expect(fp.ciphers).toContain(0xc008);
    expect(fp.ciphers).toContain(0x000a);
    expect(fp.extensions[0]).toBe(GREASE);
    expect(fp.extensions.at(-1)).toBe(GREASE);
    expect(fp.ech).toBe(false);
  });

  test("inputs that are not captures throw CONFIG_INVALID", () => {
    expectCode(() => fingerprintFromPeet({}), "CONFIG_INVALID");
    expectCode(() => fingerprintFromPeet(null), "CONFIG_INVALID");
    expectCode(
      () => fingerprintFromPeet({ tls: { ja3: "771", peetprint: "", extensions: [] } }),
      "CONFIG_INVALID",
    );
    expectCode(() => fingerprintFromPeetJson("{not json"), "CONFIG_INVALID");
    const { json } = fixture("firefox-145-macos-arm64");
    const broken = structuredClone(json) as { tls: { ja3: string } };
    broken.tls.ja3 = broken.tls.ja3.replace("4865-", "");
    const err = expectCode(() => fingerprintFromPeet(broken), "CONFIG_INVALID");
    expect(err.message).toContain("ciphers");
  });
});

describe("ClientHello parser", () => {
  for (const name of NAMES) {
    test(`${name}: parse(encode(fp)) round-trips every component`, () => {
      const { fp, tls } = fixture(name);
      const message = encodeClientHello(fp);
      expect(parseClientHello(message)).toEqual(fp);
      const parsed = parseClientHello(wrapInRecords(message));
      expect(parsed).toEqual(fp);
      expect(compareFingerprints(parsed, fp).equal).toBe(true);
      expect(ja4(parsed)).toBe(tls.ja4);
    });
  }

  test("a ClientHello split over several records parses and its length is found", () => {
    const { fp } = fixture("chrome-143-macos-arm64");
    const message = encodeClientHello(fp);
    for (const cuts of [[2], [100], [message.length - 1], [1, 2, 3, 700, 1500]]) {
      const records = wrapInRecords(message, cuts);
      expect(parseClientHello(records)).toEqual(fp);
      expect(clientHelloComplete(records)).toBe(records.length);
    }
  });

  test("clientHelloComplete: every strict prefix is incomplete, trailing bytes are not counted", () => {
    const { fp } = fixture("safari-26.2-macos-arm64");
    const message = encodeClientHello(fp);
    for (const input of [wrapInRecords(message), wrapInRecords(message, [3, 400]), message]) {
      for (let n = 0; n < input.length; n++) {
        expect(clientHelloComplete(input.subarray(0, n))).toBe("incomplete");
      }
      expect(clientHelloComplete(input)).toBe(input.length);
      const withMore = new Uint8Array([...input, 0x17, 0x03, 0x03, 0x00, 0x01, 0x00]);
      expect(clientHelloComplete(withMore)).toBe(input.length);
      expect(parseClientHello(withMore)).toEqual(fp);
    }
  });

  test("truncated input throws BAD_REQUEST", () => {
    const { fp } = fixture("firefox-145-macos-arm64");
    const records = wrapInRecords(encodeClientHello(fp), [50]);
    for (const n of [0, 1, 4, 5, 9, 54, 60, records.length - 1]) {
      expectCode(() => parseClientHello(records.subarray(0, n)), "BAD_REQUEST");
    }
  });

  test("malformed input throws BAD_REQUEST with a reason", () => {
    const { fp } = fixture("firefox-145-macos-arm64");
    const message = encodeClientHello(fp);
    const cases: [string, Uint8Array][] = [
      ["not a handshake", new Uint8Array([0x17, 0x03, 0x03, 0x00, 0x01, 0x00])],
      ["http", new TextEncoder().encode("GET / HTTP/1.1\r\n\r\n")],
      ["wrong handshake type", wrapInRecords(new Uint8Array([2, ...message.subarray(1)]))],
      ["record major", new Uint8Array([0x16, 0x02, 0x01, 0x00, 0x01, 0x01])],
      ["empty record", new Uint8Array([0x16, 0x03, 0x01, 0x00, 0x00])],
      ["huge record", new Uint8Array([0x16, 0x03, 0x01, 0x40, 0x01])],
      ["huge handshake", new Uint8Array([0x16, 0x03, 0x01, 0x00, 0x04, 0x01, 0x7f, 0xff, 0xff])],
    ];
    // Corruptions inside the body, at known offsets: 4 header + 2 version + 32 random + 33 session id.
    const ciphersAt = 4 + 2 + 32 + 33;
    const oddCiphers = message.slice();
    oddCiphers[ciphersAt + 1] = oddCiphers[ciphersAt + 1]! + 1;
    cases.push(["odd cipher list", oddCiphers]);
    const bigSession = message.slice();
    bigSession[4 + 2 + 32] = 33;
    cases.push(["session id > 32", bigSession]);
    const dup = { ...fp, extensions: [...fp.extensions, 23] };
    cases.push(["duplicate extension", encodeClientHello(dup)]);
    const extraBody = new Uint8Array([...message, 0]);
    extraBody[3] = extraBody[3]! + 1;
    cases.push(["trailing byte in body", extraBody]);
    for (const [label, input] of cases) {
      const err = expectCode(() => parseClientHello(input), "BAD_REQUEST");
      expect(err.message.length, label).toBeGreaterThan(10);
    }
  });

  test("an extension whose payload is longer than its content is rejected", () => {
    const base = fixture("firefox-145-macos-arm64").fp;
    const fp: ClientHelloFingerprint = { ...base, extensions: [28] };
    const message = encodeClientHello(fp);
    // record_size_limit is the only extension: its length field sits at the end minus 4 bytes.
    const tampered = new Uint8Array([
      ...message.subarray(0, message.length - 4),
      0x00,
      0x03,
      0x40,
      0x01,
      0x00,
    ]);
    tampered[3] = tampered[3]! + 1; // handshake length
    const extLenAt = tampered.length - 2 - 2 - 3 - 2; // u16 extensions block length
    tampered[extLenAt + 1] = tampered[extLenAt + 1]! + 1;
    const err = expectCode(() => parseClientHello(tampered), "BAD_REQUEST");
    expect(err.message).toContain("extension 28");
  });

  test("fuzz: 2000 mutations of a valid hello never throw anything but ProxyError BAD_REQUEST", () => {
    const { fp } = fixture("chrome-143-macos-arm64");
    // Short key shares so most mutations land on structure rather than on filler key bytes.
    const small = { ...fp, keyShares: fp.keyShares.map((k) => ({ ...k, length: Math.min(k.length, 4) })) };
    const valid = wrapInRecords(encodeClientHello(small), [150]);
    const rand = prng(0x5eed);
    const pick = (n: number): number => Math.floor(rand() * n);
    let parsed = 0;
    let rejected = 0;
    for (let i = 0; i < 2000; i++) {
      let m = valid.slice();
      const kind = i % 4;
      if (kind === 0) {
        for (let k = 0, n = 1 + pick(4); k < n; k++) m[pick(m.length)] = pick(256);
      } else if (kind === 1) {
        m = m.subarray(0, pick(m.length));
      } else if (kind === 2) {
        const at = pick(m.length);
        m = new Uint8Array([...m.subarray(0, at), ...m.subarray(at + 1 + pick(8))]);
      } else {
        const at = pick(m.length);
        m = new Uint8Array([...m.subarray(0, at), pick(256), pick(256), ...m.subarray(at)]);
      }
      for (const run of [() => parseClientHello(m), () => clientHelloComplete(m)]) {
        try {
          run();
          parsed++;
        } catch (err) {
          if (!isProxyError(err, "BAD_REQUEST")) throw err;
          rejected++;
        }
      }
    }
    expect(parsed).toBeGreaterThan(0);
    expect(rejected).toBeGreaterThan(0);
  });
});

describe("JA3 / JA4 details", () => {
  const base = (): ClientHelloFingerprint => structuredClone(fixture("firefox-145-macos-arm64").fp);

  test("ja3SortedString is stable under extension permutation, ja3String is not", () => {
    const { fp } = fixture("chrome-143-macos-arm64");
    const permuted = { ...fp, extensions: [...fp.extensions].reverse() };
    expect(ja3SortedString(permuted)).toBe(ja3SortedString(fp));
    expect(ja3String(permuted)).not.toBe(ja3String(fp));
    expect(ja3SortedString(fp).split(",")[2]).toBe(
      "0-5-10-11-13-16-18-23-27-35-41-43-45-51-17613-65037-65281",
    );
  });

  test("JA4 edge cases: no sigalgs, no ciphers, no ALPN, non-alphanumeric ALPN, no versions, QUIC", () => {
    const fp = base();
    const noSig = { ...fp, sigalgs: [] };
    expect(ja4r(noSig).endsWith("001c,0022,002b,0033,fe0d,ff01")).toBe(true);
    expect(ja4r(noSig)).not.toContain("ff01_");
    expect(ja4({ ...fp, ciphers: [] }).split("_")[1]).toBe("000000000000");
    expect(ja4({ ...fp, ciphers: [] }).slice(0, 10)).toBe("t13d0015h2");
    expect(ja4({ ...fp, extensions: [], sigalgs: [], versions: [] })).toMatch(
      /^t12i1700h2_[0-9a-f]{12}_000000000000$/,
    );
    expect(ja4({ ...fp, alpn: [] }).slice(8, 10)).toBe("00");
    expect(ja4({ ...fp, alpn: ["\u00ab\u00cd"] }).slice(8, 10)).toBe("ad");
    expect(ja4({ ...fp, versions: [] }).slice(1, 3)).toBe("12");
    expect(ja4(fp, { quic: true })[0]).toBe("q");
  });
});

describe("compareFingerprints", () => {
  test("reports a readable diff when one cipher is swapped", () => {
    const { fp } = fixture("safari-26.2-macos-arm64");
    const actual = structuredClone(fp);
    actual.ciphers[1] = 0x009f;
    const result = compareFingerprints(actual, fp);
    expect(result.equal).toBe(false);
    expect(result.diffs).toHaveLength(1);
    expect(result.diffs[0]).toStartWith("ciphers: expected [GREASE,4866,4867");
    expect(result.diffs[0]).toContain("missing 4866 (0x1302)");
    expect(result.diffs[0]).toContain("extra 159 (0x009f)");
    expect(formatDiff(result)).toBe(`1 component differs:\n  - ${result.diffs[0]}`);
    expect(formatDiff(compareFingerprints(fp, fp))).toBe("fingerprints match");
  });

  test("order-only differences name the first differing index", () => {
    const { fp } = fixture("firefox-145-macos-arm64");
    const actual = structuredClone(fp);
    [actual.sigalgs[0], actual.sigalgs[1]] = [actual.sigalgs[1]!, actual.sigalgs[0]!];
    const result = compareFingerprints(actual, fp);
    expect(result.diffs).toEqual([expect.stringContaining("order differs first at index 0")]);
    expect(result.diffs[0]).toStartWith("sigalgs:");
  });

  test("extension order, ignored extensions and the components they carry", () => {
    const { fp } = fixture("chrome-143-macos-arm64");
    const permuted = { ...structuredClone(fp), extensions: [...fp.extensions].reverse() };
    expect(compareFingerprints(permuted, fp).diffs).toEqual([expect.stringMatching(/^extension order: /)]);
    expect(compareFingerprints(permuted, fp, { ignoreExtensionOrder: true }).equal).toBe(true);

    const noEch = {
      ...structuredClone(fp),
      ech: false,
      extensions: fp.extensions.filter((e) => e !== 65037),
    };
    const strict = compareFingerprints(noEch, fp);
    expect(strict.diffs).toEqual([
      expect.stringContaining("extension set: "),
      "ech: expected present got absent",
    ]);
    expect(strict.diffs[0]).toContain("missing 65037 (0xfe0d)");
    expect(compareFingerprints(noEch, fp, { ignoreExtensions: [65037] }).equal).toBe(true);
  });

  test("scalar and optional components", () => {
    const { fp } = fixture("firefox-145-macos-arm64");
    const actual = {
      ...structuredClone(fp),
      recordSizeLimit: null,
      delegatedCredentials: null,
      alpn: ["http/1.1"],
    };
    actual.alps = { codepoint: 17613, protocols: ["h2"] };
    expect(compareFingerprints(actual, fp).diffs).toEqual([
      "alpn: expected [h2,http/1.1] got [http/1.1]",
      "alps: expected none got 17613 [h2]",
      "record size limit: expected 16385 got none",
      "delegated credentials: expected [1027,1283,1539,515] got none",
    ]);
  });
});

describe("profileCompareOptions (polytls fingerprint --compare)", () => {
  // Chrome 143 sends session_ticket (35); the options decide when a hello without it still matches.
  // Its capture is a resumed hello: as a fresh one, without pre_shared_key (41).
  const peet = fixture("chrome-143-macos-arm64").fp;
  const fp = { ...peet, extensions: peet.extensions.filter((e) => e !== 41) };
  type Spec = Parameters<typeof profileCompareOptions>[0];
  const base: Spec = { permuteExtensions: false, sessionTicketsWhenResuming: true, trustAnchors: null };
  const resumed = { ...structuredClone(fp), extensions: [...fp.extensions.filter((e) => e !== 35), 41] };
  const opts = (spec: Partial<Spec>, hello = resumed) =>
    profileCompareOptions({ ...base, ...spec }, hello, 600, fp);

  test("session_ticket is left out of a resuming hello's comparison only when the profile leaves it out", () => {
    expect(compareFingerprints(resumed, fp, opts({ sessionTicketsWhenResuming: false })).diffs).toEqual([]);
    const kept = compareFingerprints(resumed, fp, opts({}));
    expect(kept.diffs).toEqual([expect.stringContaining("missing 35 (0x0023)")]);
    // A fresh hello is compared with 35 whatever the setting.
    const fresh = { ...structuredClone(fp), extensions: fp.extensions.filter((e) => e !== 35) };
    expect(opts({ sessionTicketsWhenResuming: false }, fresh).ignoreExtensions).toEqual([41]);
  });

  test("trust anchors as a set only for a profile that shuffles them per process; the extension order for one that permutes", () => {
    const ids = (...n: number[]) => n.map((v) => Uint8Array.of(v));
    const capture = { ...structuredClone(fp), trustAnchors: ids(1, 2, 3) };
    const other = { ...structuredClone(fp), trustAnchors: ids(3, 1, 2) };
    const anchors = (order: "as-listed" | "shuffled-per-process") => ({ ids: [[1], [2], [3]], order });
    const shuffled = profileCompareOptions(
      { ...base, trustAnchors: anchors("shuffled-per-process") },
      other,
      600,
      capture,
    );
    expect(compareFingerprints(other, capture, shuffled).equal).toBe(true);
    const listed = profileCompareOptions(
      { ...base, trustAnchors: anchors("as-listed") },
      other,
      600,
      capture,
    );
    expect(compareFingerprints(other, capture, listed).diffs).toEqual([
      expect.stringMatching(/^trust anchors: /),
    ]);
    const wrong = { ...structuredClone(fp), trustAnchors: ids(3, 1, 4) };
    expect(compareFingerprints(wrong, capture, shuffled).diffs).toEqual([
      expect.stringMatching(/^trust anchors: /),
    ]);
    expect(opts({ permuteExtensions: true }).ignoreExtensionOrder).toBe(true);
    expect(opts({}).ignoreExtensionOrder).toBe(false);
  });
});
