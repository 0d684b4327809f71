/**
 * The HTTP sections of the profile schema: built-ins against their captures, validation with key
 * paths, unknown keys, `extends` merging, `profiles show` round trip, import from tls.peet.ws JSON,
 * and the native spec staying TLS-only.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import path from "node:path";
import { parse as parseToml } from "smol-toml";
import { ProxyError } from "../src/errors/proxy-error.ts";
import { fingerprintFromPeetJson } from "../src/fingerprint/peet.ts";
import { CHROME_HPACK_POLICY, FIREFOX_HPACK_POLICY } from "../src/http/hpack/policies.ts";
import { REQUEST_KINDS } from "../src/profiles/http-types.ts";
import { profileFromFingerprint } from "../src/profiles/import.ts";
import { ProfileRegistry } from "../src/profiles/registry-store.ts";
import { profileSchemaDoc, profileToToml } from "../src/profiles/schema.ts";
import { peetHttp2 } from "./helpers/http-captures.ts";

const builtins = new ProfileRegistry();
const NAMES = ["chrome-143-macos-arm64", "firefox-145-macos-arm64", "safari-26.2-macos-arm64"] as const;

const tablesOf = (toml: string): Record<string, unknown> =>
  (parseToml(toml) as { profiles: Record<string, unknown> }).profiles;

/** Problems of a registry built from user profiles, one line each (empty when it builds). */
function problems(user: Record<string, unknown>): string[] {
  try {
    new ProfileRegistry(user);
    return [];
  } catch (err) {
    if (!(err instanceof ProxyError)) throw err;
    return err.message.split("\n").slice(1);
  }
}

/** `akamai_fingerprint` of the profile's plan, as tls.peet.ws prints it. */
function akamai(name: string): string {
  const h2 = builtins.get(name).http.http2;
  const s = h2.plan.settings.map(([id, v]) => `${id}:${v}`).join(";");
  const p = h2.plan.priorityFrames.length === 0 ? "0" : "?";
  return `${s}|${h2.plan.connectionWindowIncrement}|${p}|${h2.pseudoHeaderOrder.map((x) => x[1]).join(",")}`;
}

describe("built-in profiles reproduce their HTTP/2 captures", () => {
  for (const name of NAMES) {
    test(`${name}: SETTINGS, WINDOW_UPDATE, PRIORITY frames and pseudo order = akamai_fingerprint`, () => {
      expect(akamai(name)).toBe(peetHttp2(name).akamai_fingerprint);
    });
    test(`${name}: first stream id and navigation HEADERS priority = the sent HEADERS frame`, () => {
      const frame = peetHttp2(name).sent_frames.find((f) => f.frame_type === "HEADERS") as {
        stream_id: number;
        priority?: { weight: number; exclusive: number; depends_on: number };
      };
      const http = builtins.get(name).http.http2;
      expect(http.plan.firstStreamId).toBe(frame.stream_id);
      const nav = http.priority.navigate;
      if (frame.priority === undefined) expect(nav).toBeNull();
      else {
        expect(nav?.weight).toBe(frame.priority.weight);
        expect(nav?.exclusive).toBe(frame.priority.exclusive === 1);
        // Chrome's parent is the last open stream of equal or higher priority: 0 on a first request.
        expect([0, "last-open-higher"]).toContain(nav?.dependency ?? -1);
      }
    });
  }

  test("HPACK sections mirror the encoder's policies", () => {
    expect(builtins.get("chrome").http.http2.hpack).toEqual(CHROME_HPACK_POLICY);
    expect(builtins.get("firefox").http.http2.hpack).toEqual(FIREFOX_HPACK_POLICY);
  });

  test("HEADERS weights per kind are the local captures' (Chromium 156, Firefox ESR 153)", () => {
    const weights = (n: string) =>
      REQUEST_KINDS.map((k) => builtins.get(n).http.http2.priority[k]?.weight ?? null);
    // navigate fetch xhr image script style favicon websocket
    expect(weights("chrome")).toEqual([256, 220, 220, 183, 220, 256, 220, 147]);
    expect(weights("firefox")).toEqual([42, 22, 22, 12, 22, 22, 22, 22]);
    expect(weights("safari")).toEqual(REQUEST_KINDS.map(() => null));
    expect(builtins.get("firefox").http.http2.streamWindowIncrement).toBe(12451840);
  });

  test("the engine spec stays TLS-only", () => {
    for (const name of NAMES) {
      const keys = Object.keys(builtins.spec(name));
      for (const k of ["http", "http2", "http1", "headers", "httpTable"]) expect(keys).not.toContain(k);
    }
  });

  test("every kind resolves to a template (fallbacks applied)", () => {
    for (const name of NAMES) {
      const headers = builtins.get(name).http.headers!;
      for (const k of REQUEST_KINDS) expect(headers[k].order.length).toBeGreaterThan(0);
    }
    expect(builtins.get("chrome").http.headers!.xhr).toEqual(builtins.get("chrome").http.headers!.fetch);
    expect(builtins.get("safari").http.headers!.favicon).toEqual(builtins.get("safari").http.headers!.image);
  });
});

describe("validation names key paths", () => {
  const P = 'profiles."x"';
  test("unknown keys at every level", () => {
    expect(
      problems({
        x: {
          extends: "chrome",
          http2: { bogus: 1, hpack: { huffman: "shorter", nope: true }, priority: { font: false } },
          http1: { case: {} },
          headers: { nav: {}, navigate: { extra: [] } },
        },
      }),
    ).toEqual([
      `${P}.http2.bogus: unknown key`,
      `${P}.http2.hpack.nope: unknown key`,
      `${P}.http2.priority.font: unknown key`,
      `${P}.http1.case: unknown key`,
      `${P}.headers.nav: unknown key`,
      `${P}.headers.navigate.extra: unknown key`,
    ]);
  });

  test("per-key problems", () => {
    const lines = problems({
      x: {
        extends: "chrome",
        http2: {
          settings: [[1, 2], [70000, 1], [2, 2], [1, 3], [5, 100], "x"],
          pseudo_header_order: [":method", ":path", ":bogus"],
          connection_window_increment: -1,
          priority: { image: { exclusive: 1, dependency: "x", weight: 0 } },
          hpack: { huffman: "sometimes", never_index: [{ name: "Cookie" }] },
        },
        http1: { header_case: { host: "Hots" }, omit: ["Priority"] },
        headers: { navigate: { values: { "user-agent": 1, accept: "a\r\nb" } } },
      },
    });
    expect(lines).toEqual([
      `${P}.http2.settings[1][0]: 70000 is out of range 0..65535`,
      `${P}.http2.settings[2]: setting 2 must be 0 or 1 (RFC 9113 §6.5.2, RFC 8441 §3, RFC 9218 §2.1)`,
      `${P}.http2.settings[3]: duplicate setting id 1`,
      `${P}.http2.settings[4]: MAX_FRAME_SIZE outside 16384..16777215 (RFC 9113 §6.5.2)`,
      `${P}.http2.settings[5]: expected [id, value], got string "x"`,
      `${P}.http2.pseudo_header_order[2]: unknown pseudo-header ":bogus"`,
      `${P}.http2.connection_window_increment: -1 is out of range 0..2147418112`,
      `${P}.http2.hpack.huffman: expected one of "shorter", "always", "never", got string "sometimes"`,
      `${P}.http2.hpack.never_index[0].name: expected a lowercase header name, got string "Cookie"`,
      `${P}.http2.priority.image.exclusive: expected a boolean, got integer 1`,
      `${P}.http2.priority.image.dependency: expected an integer, got string "x"`,
      `${P}.http2.priority.image.weight: 0 is out of range 1..256`,
      `${P}.http1.header_case.host: "Hots" is not "host" in another case`,
      `${P}.http1.omit[0]: "Priority" is not a lowercase header name`,
      `${P}.headers.navigate.values.user-agent: expected a string or false, got integer 1`,
      `${P}.headers.navigate.values.accept: CR, LF or NUL in a header value`,
    ]);
  });

  test("cross-key rules", () => {
    const lines = problems({
      x: {
        http2: {
          first_stream_id: 4,
          priority_frames: [{ stream: 5, exclusive: false, dependency: 5, weight: 1 }],
          priority: { image: false },
        },
        headers: {
          common: { values: { connection: "close" } },
          image: { order: ["accept", "host", "*"], h1_order: ["te"], values: { referer: "x", te: "gzip" } },
          style: { values: {} },
        },
      },
    });
    expect(lines).toContain(`${P}.http2.first_stream_id: 4 is even (client streams are odd)`);
    expect(lines).toContain(`${P}.http2.priority_frames[0]: stream 5 is not below first_stream_id 4`);
    expect(lines).toContain(
      `${P}.http2.priority_frames[0]: a stream cannot depend on itself (RFC 9113 §5.3.1)`,
    );
    expect(lines).toContain(
      `${P}.http2.priority.navigate: missing (required when any kind is set: every kind falls back to it)`,
    );
    expect(lines).toContain(
      `${P}.headers.common.values.connection: "connection" is connection-specific or written by the proxy`,
    );
    expect(lines).toContain(
      `${P}.headers.navigate: missing (required when any headers table is set: every kind falls back to it)`,
    );
    expect(lines).toContain(
      `${P}.headers.image.order[1]: "host" is connection-specific or written by the proxy`,
    );
    expect(lines).toContain(
      `${P}.headers.image.h1_order[0]: "te" is connection-specific or written by the proxy`,
    );
    expect(lines).toContain(`${P}.headers.image.values.referer: not in order or h1_order, so never sent`);
    expect(lines).toContain(`${P}.headers.image.values.te: te must be "trailers" (RFC 9113 §8.2.2)`);
    expect(lines).toContain(
      `${P}.headers.style.order: missing (every kind a profile defines needs its order)`,
    );
  });

  test("a duplicate name or a second `*` in an order list", () => {
    expect(
      problems({ x: { extends: "chrome", headers: { image: { order: ["accept", "*", "accept", "*"] } } } }),
    ).toEqual([
      `${P}.headers.image.order[2]: duplicate "accept"`,
      `${P}.headers.image.order[3]: duplicate "*"`,
    ]);
  });
});

describe("extends merges the HTTP sections", () => {
  const reg = new ProfileRegistry({
    base: {
      extends: "firefox-145-macos-arm64",
      http2: {
        settings: [[1, 4096]],
        grease_setting: true,
        priority: { image: { exclusive: true, dependency: 0, weight: 100 } },
      },
      http1: { header_case: { "x-a": "X-A" } },
      headers: {
        common: { values: { "user-agent": "UA/1", "sec-gpc": false } },
        image: { values: { accept: "image/*" } },
      },
    },
    child: { extends: "base", http1: { omit: [] }, headers: { fetch: { order: ["user-agent", "*"] } } },
  });
  const ff = builtins.get("firefox").http;
  const base = reg.get("base").http;
  const child = reg.get("child").http;

  test("[http2] keys replace, the rest is inherited; priority merges by kind", () => {
    expect(base.http2.plan.settings).toEqual([[1, 4096]]);
    expect(base.http2.greaseSetting).toBe(true);
    expect(base.http2.plan.firstStreamId).toBe(3);
    expect(base.http2.hpack).toEqual(ff.http2.hpack);
    expect(base.http2.priority.image?.weight).toBe(100);
    expect(base.http2.priority.navigate).toEqual(ff.http2.priority.navigate);
  });

  test("header_case merges by name; other [http1] keys replace", () => {
    expect(base.http1.headerCase["x-a"]).toBe("X-A");
    expect(base.http1.headerCase.host).toBe("Host");
    expect(child.http1.omit).toEqual([]);
    expect(child.http1.headerCase["x-a"]).toBe("X-A");
  });

  test("common values reach every kind; false drops an inherited value; kind values merge by name", () => {
    for (const k of REQUEST_KINDS) {
      expect(base.headers![k].values["user-agent"]).toBe("UA/1");
      expect(base.headers![k].values["sec-gpc"]).toBeUndefined();
    }
    expect(base.headers!.image.values.accept).toBe("image/*");
    expect(base.headers!.image.values["sec-fetch-dest"]).toBe("image");
    expect(base.headers!.image.order).toEqual(ff.headers!.image.order);
  });

  test("a grandchild's kind keeps the inherited values its order lists", () => {
    expect(child.headers!.fetch.order).toEqual(["user-agent", "*"]);
    expect(child.headers!.fetch.h1Order).toEqual(ff.headers!.fetch.h1Order);
    expect(child.headers!.fetch.values["user-agent"]).toBe("UA/1");
    expect(reg.get("child").chain).toEqual(["child", "base", "firefox-145-macos-arm64"]);
  });

  test("a profile with no HTTP sections gets neutral defaults and no header templates", () => {
    const tls = builtins.get("chrome");
    const own = Object.fromEntries(
      ["ciphers", "groups", "key_shares", "signature_algorithms"].map((k) => [
        k,
        (tablesOf(profileToToml(tls))[tls.name] as Record<string, unknown>)[k],
      ]),
    );
    const plain = new ProfileRegistry({ plain: own }).get("plain").http;
    expect(plain.headers).toBeNull();
    expect(plain.http2.plan).toEqual({
      settings: [],
      connectionWindowIncrement: 0,
      priorityFrames: [],
      firstStreamId: 1,
    });
    expect(plain.http2.pseudoHeaderOrder).toEqual([":method", ":scheme", ":authority", ":path"]);
  });
});

describe("profiles show and import", () => {
  for (const name of NAMES) {
    test(`${name}: \`profiles show\` TOML resolves back to the same HTTP layer`, () => {
      const text = profileToToml(builtins.get(name));
      const table = (parseToml(text) as { profiles: Record<string, unknown> }).profiles[name];
      expect(new ProfileRegistry({ copy: table }).get("copy").http).toEqual(builtins.get(name).http);
    });

    test(`${name}: import from the peet JSON gives the built-in's HTTP/2 connection plan`, () => {
      const file = path.join(import.meta.dir, "fixtures", "fingerprints", `${name}.json`);
      const text = readFileSync(file, "utf8");
      const { toml, unsupported } = profileFromFingerprint(fingerprintFromPeetJson(text), "imp", {
        http2: JSON.parse(text).http2,
      });
      expect(unsupported.filter((u) => u.startsWith("http2"))).toEqual([]);
      const imported = new ProfileRegistry({ imp: tablesOf(toml).imp }).get("imp").http;
      const built = builtins.get(name).http.http2;
      expect(imported.http2.plan).toEqual(built.plan);
      expect(imported.http2.pseudoHeaderOrder).toEqual(built.pseudoHeaderOrder);
      expect(imported.http2.priority.navigate?.weight).toEqual(built.priority.navigate?.weight);
      expect(imported.headers).toBeNull();
    });
  }

  test("import: a GREASE setting and legacy PRIORITY frames", () => {
    const fp = fingerprintFromPeetJson(
      readFileSync(
        path.join(import.meta.dir, "fixtures", "fingerprints", "firefox-145-macos-arm64.json"),
        "utf8",
      ),
    );
    const http2 = {
      akamai_fingerprint: "1:65536;4:131072;5:16384;GREASE|12517377|3:0:0:201,5:0:0:101,13:1:0:241|m,p,a,s",
      sent_frames: [
        { frame_type: "HEADERS", stream_id: 15, priority: { weight: 42, exclusive: 0, depends_on: 13 } },
      ],
    };
    const { toml } = profileFromFingerprint(fp, "legacy", { http2 });
    const h = new ProfileRegistry({ legacy: tablesOf(toml).legacy }).get("legacy").http.http2;
    expect(h.greaseSetting).toBe(true);
    expect(h.plan.settings).toEqual([
      [1, 65536],
      [4, 131072],
      [5, 16384],
    ]);
    expect(h.plan.priorityFrames).toEqual([
      { streamId: 3, exclusive: false, dependency: 0, weight: 201 },
      { streamId: 5, exclusive: false, dependency: 0, weight: 101 },
      { streamId: 13, exclusive: true, dependency: 0, weight: 241 },
    ]);
    expect(h.plan.firstStreamId).toBe(15);
    expect(h.priority.navigate).toEqual({ exclusive: false, dependency: 13, weight: 42 });
  });

  test("the schema doc and config/example.toml list every HTTP key", () => {
    const example = readFileSync(path.join(import.meta.dir, "..", "config", "example.toml"), "utf8");
    const keys = profileSchemaDoc()
      .split("\n")
      .filter((l) => /^(http2|http1|headers)\./.test(l))
      .map((l) => l.slice(0, l.indexOf(":")).split(".").pop()!);
    expect(keys.length).toBeGreaterThan(15);
    for (const key of keys) expect(example).toMatch(new RegExp(`^#.*\\b${key.replace(/[<>]/g, "")}\\b`, "m"));
  });
});
