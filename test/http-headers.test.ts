/**
 * The browser header policy (src/http/headers): request-kind classification, and the upstream
 * field list of each built-in profile for each request kind and protocol, against real browser
 * captures (ORDER and h1 case from local-debian-http; identity VALUES from the profile's own
 * tls.peet.ws capture); pass-through placement, keep lists, stripping.
 */
import { describe, expect, test } from "bun:test";
import { ProxyError } from "../src/errors/proxy-error.ts";
import { h2FieldList } from "../src/http/headers/h2-fields.ts";
import { buildUpstreamHeaders, type UpstreamHeaderOptions } from "../src/http/headers/policy.ts";
import {
  checkRequestKindHeader,
  classifyRequest,
  parseRequestKind,
} from "../src/http/headers/request-kind.ts";
import type { ProfileHttp, RequestKind } from "../src/profiles/http-types.ts";
import { ProfileRegistry } from "../src/profiles/registry-store.ts";
import { type Field, loadHeaderCapture, names, peetFields, sortFields } from "./helpers/http-captures.ts";

const registry = new ProfileRegistry();
const http = (name: string): ProfileHttp => registry.get(name).http;
const AUTHORITY = "localhost:8443"; // the captures' origin
const CURL: Field[] = [
  ["user-agent", "curl/8"],
  ["accept", "*/*"],
];
const build = (
  p: string,
  kind: RequestKind,
  fields: Field[],
  opts: Partial<UpstreamHeaderOptions> = {},
  method = "GET",
) => buildUpstreamHeaders(http(p), kind, fields, { protocol: "h2", authority: AUTHORITY, ...opts }, method);

describe("request kind classification", () => {
  const cases: [
    string,
    { method?: string; path?: string; fields?: Field[]; protocol?: string },
    RequestKind,
  ][] = [
    ["curl GET /", { fields: CURL }, "navigate"],
    ["no headers at all", {}, "navigate"],
    ["Accept text/html", { path: "/page", fields: [["accept", "text/html,*/*"]] }, "navigate"],
    [
      "control header wins over everything",
      { method: "POST", fields: [["x-polytls-request-kind", " Image "]] },
      "image",
    ],
    [
      "unknown control value is ignored here (checkRequestKindHeader refuses it first)",
      { fields: [["x-polytls-request-kind", "bogus"]] },
      "navigate",
    ],
    ["h1 Upgrade: websocket", { path: "/ws", fields: [["upgrade", "websocket"]] }, "websocket"],
    ["h2 extended CONNECT", { method: "CONNECT", path: "/ws", protocol: "websocket" }, "websocket"],
    ["Sec-Fetch-Dest document", { path: "/x.png", fields: [["sec-fetch-dest", "document"]] }, "navigate"],
    ["Sec-Fetch-Dest image", { fields: [["sec-fetch-dest", "image"]] }, "image"],
    [
      "Sec-Fetch-Dest image on /favicon.ico",
      { path: "/favicon.ico", fields: [["sec-fetch-dest", "image"]] },
      "favicon",
    ],
    ["Sec-Fetch-Dest empty", { path: "/index.html", fields: [["sec-fetch-dest", "empty"]] }, "fetch"],
    ["Sec-Fetch-Dest worker", { fields: [["sec-fetch-dest", "worker"]] }, "script"],
    ["Sec-Fetch-Dest font (no template)", { fields: [["sec-fetch-dest", "font"]] }, "fetch"],
    ["POST", { method: "POST", path: "/api", fields: CURL }, "fetch"],
    ["POST of a .css path is still fetch", { method: "post", path: "/a.css" }, "fetch"],
    ["X-Requested-With", { path: "/api", fields: [["x-requested-with", "XMLHttpRequest"]] }, "xhr"],
    ["/favicon.ico", { path: "/favicon.ico?v=2" }, "favicon"],
    [".css", { path: "/s/site.CSS?x=1#y" }, "style"],
    [".mjs", { path: "/m.mjs" }, "script"],
    [".webp", { path: "/i/a.webp" }, "image"],
    [".json", { path: "/data.json" }, "fetch"],
    ["extension beats Accept", { path: "/a.js", fields: [["accept", "text/html"]] }, "script"],
    ["Accept image/*", { path: "/img", fields: [["accept", "image/avif,image/*"]] }, "image"],
    ["Accept text/css", { path: "/css", fields: [["accept", "text/css;q=1"]] }, "style"],
    ["Accept application/json", { path: "/api", fields: [["accept", "application/json"]] }, "fetch"],
    ["HEAD is like GET", { method: "HEAD", path: "/a.png" }, "image"],
  ];
  for (const [label, req, kind] of cases) {
    test(`${label} -> ${kind}`, () => {
      expect(
        classifyRequest({
          method: req.method ?? "GET",
          path: req.path ?? "/",
          fields: req.fields ?? [],
          ...(req.protocol ? { protocol: req.protocol } : {}),
        }),
      ).toBe(kind);
    });
  }
  test("names of Object.prototype are plain unknown values (no prototype lookups)", () => {
    const kind = (path: string, fields: Field[]) => classifyRequest({ method: "GET", path, fields });
    expect(kind("/", [["sec-fetch-dest", "constructor"]])).toBe("fetch");
    expect(kind("/", [["sec-fetch-dest", "__proto__"]])).toBe("fetch");
    expect(kind("/a.constructor", [])).toBe("navigate");
    expect(kind("/a.__proto__", [["accept", "image/png"]])).toBe("image");
  });
  test("parseRequestKind accepts only known kinds", () => {
    expect(parseRequestKind("XHR")).toBe("xhr");
    expect(parseRequestKind("font")).toBeUndefined();
  });
  test("checkRequestKindHeader refuses an unknown value (HTTP_BAD_REQUEST, header and valid values named)", () => {
    expect(() => checkRequestKindHeader([["x-polytls-request-kind", " Image "]])).not.toThrow();
    expect(() => checkRequestKindHeader([["x-polytls-request-kind", " "]])).not.toThrow(); // names nothing
    expect(() => checkRequestKindHeader([["accept", "bogus"]])).not.toThrow();
    for (const fields of [
      [["x-polytls-request-kind", "font"]],
      [
        ["x-polytls-request-kind", "image"],
        ["x-polytls-request-kind", "font"],
      ],
    ] as Field[][]) {
      let err: unknown;
      try {
        checkRequestKindHeader(fields);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ProxyError);
      expect((err as ProxyError).code).toBe("HTTP_BAD_REQUEST");
      expect((err as ProxyError).message).toBe(
        'X-PolyTLS-Request-Kind: unknown request kind "font"; valid values: navigate, fetch, xhr, image, script, style, favicon, websocket',
      );
    }
    const long = "x".repeat(500);
    expect(() => checkRequestKindHeader([["x-polytls-request-kind", long]])).toThrow(`"${"x".repeat(64)}…"`);
  });
});

/** Fixture kind -> request kind; the captured request's own (non-identity) fields. */
const FIXTURE_KIND: Record<string, RequestKind> = {
  navigate: "navigate",
  "navigate-referred": "navigate",
  style: "style",
  script: "script",
  image: "image",
  favicon: "favicon",
  fetch: "fetch",
  "fetch-post": "fetch",
  xhr: "xhr",
  websocket: "websocket",
};
const PASSED = new Set([
  "referer",
  "cookie",
  "content-type",
  "content-length",
  "origin",
  "sec-websocket-version",
  "sec-websocket-extensions",
  "sec-websocket-key",
]);
/** Values that identify the browser build: compared with the profile's own peet capture. */
const BROWSER_VALUES = new Set([
  "user-agent",
  "sec-ch-ua",
  "sec-ch-ua-mobile",
  "sec-ch-ua-platform",
  "accept-language",
  "accept-encoding",
]);

/** A client request carrying the captured request's own fields, reversed, plus curl's identity. */
function clientFor(captured: readonly Field[], extra: Field[] = []): Field[] {
  const own = captured
    .filter(([n]) => PASSED.has(n.toLowerCase()))
    .map(([n, v]): Field => [n.toLowerCase(), v]);
  return [...CURL, ...own.reverse(), ...extra];
}

/** What an HTTP/1.1 client's WebSocket handshake adds to its fields: the upgrade it asks for. */
function upgradeFields(kind: RequestKind): Field[] {
  return kind === "websocket"
    ? [
        ["connection", "Upgrade"],
        ["upgrade", "websocket"],
      ]
    : [];
}

const BROWSERS = [
  {
    profile: "chrome-143-macos-arm64",
    capture: loadHeaderCapture("chromium-156"),
    extraNames: [] as string[],
  },
  {
    profile: "firefox-145-macos-arm64",
    capture: loadHeaderCapture("firefox-esr-153"),
    extraNames: ["sec-gpc"],
  },
];

describe("built-in profiles send each request kind like the browser (h2)", () => {
  for (const { profile, capture, extraNames } of BROWSERS) {
    const peet = peetFields(profile);
    const peetValue = new Map(peet.regular);

    test(`${profile}: a curl navigation is the browser's navigation (order [L2], values [P])`, () => {
      const kind = classifyRequest({ method: "GET", path: "/", fields: CURL });
      const regular = build(profile, kind, CURL);
      const captured = capture.h2.navigate!.filter(([n]) => !n.startsWith(":"));
      // Order: exactly the capture's (Firefox 145 adds its sec-gpc, absent from the ESR capture).
      expect(names(regular).filter((n) => !extraNames.includes(n))).toEqual(names(captured));
      // Values: exactly the peet capture's navigation (Chrome's was a reload: cache-control).
      expect(sortFields(regular)).toEqual(sortFields(peet.regular.filter(([n]) => n !== "cache-control")));
      // Pseudo-headers in the profile's order = the capture's and the peet capture's Akamai order.
      const full = h2FieldList(
        http(profile).http2,
        { ":method": "GET", ":authority": AUTHORITY, ":scheme": "https", ":path": "/" },
        regular,
      );
      expect(names(full).slice(0, 4)).toEqual(names(capture.h2.navigate!).slice(0, 4));
      expect(full.slice(4)).toEqual(regular);
    });

    for (const [fixtureKind, captured] of Object.entries(capture.h2)) {
      test(`${profile}: ${fixtureKind} has the captured order and kind values`, () => {
        const kind = FIXTURE_KIND[fixtureKind]!;
        const regular = build(profile, kind, clientFor(captured));
        const want = captured.filter(([n]) => !n.startsWith(":"));
        // A script-initiated navigation has no user activation: the proxy cannot know, and sends ?1.
        const skip = fixtureKind === "navigate-referred" ? [...extraNames, "sec-fetch-user"] : extraNames;
        expect(names(regular).filter((n) => !skip.includes(n))).toEqual(names(want));
        const wantValue = new Map(want);
        for (const [n, v] of regular) {
          if (skip.includes(n)) continue;
          const expected = BROWSER_VALUES.has(n)
            ? peetValue.get(n)
            : wantValue.get(n)?.replace("image/jxl,", "");
          expect(`${n}: ${v}`).toBe(`${n}: ${expected}`);
        }
        if (kind === "websocket") {
          const pseudo = h2FieldList(
            http(profile).http2,
            {
              ":method": "CONNECT",
              ":authority": AUTHORITY,
              ":scheme": "https",
              ":path": "/ws",
              ":protocol": "websocket",
            },
            [],
          );
          expect(names(pseudo)).toEqual(names(captured.filter(([n]) => n.startsWith(":"))));
        }
      });
    }
  }

  test("safari-26.2-macos-arm64: navigation order from the peers [R], values = its peet capture", () => {
    const regular = build("safari-26.2-macos-arm64", "navigate", CURL);
    expect(names(regular)).toEqual([
      "sec-fetch-dest",
      "user-agent",
      "accept",
      "sec-fetch-site",
      "sec-fetch-mode",
      "accept-language",
      "priority",
      "accept-encoding",
    ]);
    expect(sortFields(regular)).toEqual(sortFields(peetFields("safari-26.2-macos-arm64").regular));
    const full = h2FieldList(
      http("safari-26.2-macos-arm64").http2,
      { ":method": "GET", ":authority": "a", ":scheme": "https", ":path": "/" },
      regular,
    );
    expect(names(full).slice(0, 4)).toEqual([":method", ":scheme", ":authority", ":path"]);
  });
});

describe("built-in profiles over HTTP/1.1: order and case of the captured heads", () => {
  for (const { profile, capture, extraNames } of BROWSERS) {
    const peetValue = new Map(peetFields(profile).regular);
    const extra = new Set(extraNames.map((n) => n.toLowerCase()));
    for (const [fixtureKind, head] of Object.entries(capture.h1)) {
      test(`${profile}: ${fixtureKind}`, () => {
        const kind = FIXTURE_KIND[fixtureKind]!;
        const ws = upgradeFields(kind);
        const out = build(profile, kind, clientFor(head.fields, ws), { protocol: "h1" });
        const skip = (n: string) =>
          extra.has(n.toLowerCase()) || (fixtureKind === "navigate-referred" && n === "Sec-Fetch-User");
        expect(names(out).filter((n) => !skip(n))).toEqual(names(head.fields));
        const wantValue = new Map(head.fields.map(([n, v]) => [n.toLowerCase(), v]));
        for (const [n, v] of out) {
          const lower = n.toLowerCase();
          if (skip(n)) continue;
          const expected = BROWSER_VALUES.has(lower)
            ? peetValue.get(lower)
            : wantValue.get(lower)?.replace("image/jxl,", "");
          expect(`${n}: ${v}`).toBe(`${n}: ${expected}`);
        }
      });
    }
  }

  test("chrome: no Priority on h1, Host then Connection: keep-alive first", () => {
    const out = build("chrome", "navigate", CURL, { protocol: "h1" });
    expect(out.slice(0, 2)).toEqual([
      ["Host", AUTHORITY],
      ["Connection", "keep-alive"],
    ]);
    expect(names(out).map((n) => n.toLowerCase())).not.toContain("priority");
  });

  test("h1: a client field named like an Object.prototype member keeps its own name", () => {
    const out = build("chrome", "fetch", [...CURL, ["constructor", "1"], ["tostring", "2"]], {
      protocol: "h1",
      clientCase: new Map([["constructor", "Constructor"]]),
    });
    expect(out).toContainEqual(["Constructor", "1"]);
    expect(out).toContainEqual(["tostring", "2"]);
  });

  test("firefox: Priority on h1, no TE; connection override", () => {
    const out = build("firefox", "navigate", CURL, { protocol: "h1", connection: "close" });
    expect(out).toContainEqual(["Priority", "u=0, i"]);
    expect(out).toContainEqual(["Connection", "close"]);
    expect(names(out).map((n) => n.toLowerCase())).not.toContain("te");
    expect(build("firefox", "navigate", CURL)).toContainEqual(["te", "trailers"]);
  });

  test("an h1 WebSocket handshake without a client Upgrade still gets Upgrade: websocket", () => {
    const out = build("chrome", "websocket", [["sec-websocket-key", "k"]], { protocol: "h1" });
    expect(out).toContainEqual(["Connection", "Upgrade"]);
    expect(out).toContainEqual(["Upgrade", "websocket"]);
  });
});

/**
 * The Linux built-ins whose own browsers made these captures: every field of every request kind
 * is the capture's, order, h1 case and value, except the headless Chromium capture's user agent
 * (`HeadlessChrome/` there, `Chrome/` in the profile: README, "Identity headers of Chromium builds").
 * Firefox ESR's accept-language was Firefox 145's (`q=0.5`) until this compared every value.
 */
for (const [profile, captureName] of [
  ["chromium-156-linux-x64", "chromium-156"],
  ["firefox-esr-153-linux-x64", "firefox-esr-153"],
] as const) {
  describe(`${profile} sends each captured request of its own browser (h2 and h1)`, () => {
    const capture = loadHeaderCapture(captureName);
    const unheadless = (n: string, v: string) =>
      n.toLowerCase() === "user-agent" ? v.replace(" HeadlessChrome/", " Chrome/") : v;

    if (profile === "chromium-156-linux-x64")
      test("the capture is headless; the profile's user agent is the same without the Headless prefix", () => {
        const captured = new Map(capture.h2.navigate!).get("user-agent")!;
        expect(captured).toContain(" HeadlessChrome/156.0.0.0 ");
        expect(http(profile).headers!.navigate.values["user-agent"]).toBe(unheadless("user-agent", captured));
      });

    for (const [fixtureKind, captured] of Object.entries(capture.h2)) {
      test(`h2 ${fixtureKind}`, () => {
        const kind = FIXTURE_KIND[fixtureKind]!;
        const regular = build(profile, kind, clientFor(captured));
        // A script-initiated navigation has no user activation: the proxy cannot know, and sends ?1.
        const skip = (n: string) => fixtureKind === "navigate-referred" && n === "sec-fetch-user";
        const want = captured
          .filter(([n]) => !n.startsWith(":"))
          .map(([n, v]): Field => [n, unheadless(n, v)]);
        expect(regular.filter(([n]) => !skip(n))).toEqual(want);
      });
    }

    // The captures' POST and WebSocket carry Origin (the page's, the target's own origin here): a
    // client that sends none gets the same request, Origin added where the browser puts it.
    for (const fixtureKind of ["fetch-post", "websocket"]) {
      test(`h2 ${fixtureKind}, the client sending no Origin: the capture all the same`, () => {
        const captured = capture.h2[fixtureKind]!;
        const method = fixtureKind === "fetch-post" ? "POST" : "GET";
        const client = clientFor(captured).filter(([n]) => n !== "origin");
        const regular = build(profile, FIXTURE_KIND[fixtureKind]!, client, {}, method);
        const want = captured
          .filter(([n]) => !n.startsWith(":"))
          .map(([n, v]): Field => [n, unheadless(n, v)]);
        expect(regular).toEqual(want);
      });
    }

    for (const [fixtureKind, head] of Object.entries(capture.h1)) {
      test(`h1 ${fixtureKind}`, () => {
        const kind = FIXTURE_KIND[fixtureKind]!;
        const ws = upgradeFields(kind);
        const out = build(profile, kind, clientFor(head.fields, ws), { protocol: "h1" });
        const skip = (n: string) => fixtureKind === "navigate-referred" && n === "Sec-Fetch-User";
        const want = head.fields.map(([n, v]): Field => [n, unheadless(n, v)]);
        // The client's Sec-WebSocket-Key is its own (passed through): compare names there.
        const key = (f: Field[]) => f.map(([n, v]): Field => [n, n === "Sec-WebSocket-Key" ? "*" : v]);
        expect(key(out.filter(([n]) => !skip(n)))).toEqual(key(want));
      });
    }
  });
}

describe("Origin where a browser always sends one (implied-origin.ts)", () => {
  const origin = (out: Field[]) => out.filter(([n]) => n === "origin").map(([, v]) => v);
  const site = (out: Field[]) => new Map(out).get("sec-fetch-site");

  test("a WebSocket handshake and any method but GET / HEAD: the target's origin, default port left out", () => {
    expect(origin(build("chrome", "websocket", [["sec-websocket-key", "k"]]))).toEqual([
      `https://${AUTHORITY}`,
    ]);
    expect(origin(build("chrome", "fetch", CURL, {}, "POST"))).toEqual([`https://${AUTHORITY}`]);
    expect(origin(build("firefox", "fetch", CURL, {}, "DELETE"))).toEqual([`https://${AUTHORITY}`]);
    expect(origin(build("chrome", "navigate", CURL, {}, "POST"))).toEqual([`https://${AUTHORITY}`]);
    expect(origin(build("chrome", "fetch", CURL, { authority: "a.test:443" }, "PUT"))).toEqual([
      "https://a.test",
    ]);
    const plain = build("chrome", "fetch", CURL, { authority: "a.test", scheme: "http" }, "POST");
    expect(origin(plain)).toEqual(["http://a.test"]);
    expect(site(plain)).toBe("same-origin"); // an http:// page posting to itself
    const referred: Field[] = [...CURL, ["referer", "http://a.test/page"]];
    expect(site(build("chrome", "fetch", referred, { authority: "a.test", scheme: "http" }))).toBe(
      "same-origin",
    );
  });

  test("none on GET / HEAD navigations and subresources, nor on a same-origin CORS GET", () => {
    for (const kind of ["navigate", "image", "script", "style", "favicon", "fetch", "xhr"] as const) {
      expect(origin(build("chrome", kind, CURL))).toEqual([]);
      expect(origin(build("chrome", kind, CURL, {}, "HEAD"))).toEqual([]);
    }
    const sameOrigin: Field[] = [...CURL, ["referer", `https://${AUTHORITY}/page`]];
    expect(origin(build("chrome", "fetch", sameOrigin))).toEqual([]);
  });

  test("with the client's Referer: its origin, and Sec-Fetch-Site follows it", () => {
    const cross: Field[] = [...CURL, ["referer", "https://other.test:8443/from?q=1"]];
    const get = build("chrome", "fetch", cross);
    expect(origin(get)).toEqual(["https://other.test:8443"]); // a cross-origin CORS GET
    expect(site(get)).toBe("cross-site");
    expect(origin(build("chrome", "image", cross))).toEqual([]); // no-cors: none
    const post = build("chrome", "fetch", cross, {}, "POST");
    expect(origin(post)).toEqual(["https://other.test:8443"]);
    expect(site(post)).toBe("cross-site");
  });

  test("the client's own Origin is sent as it is, once", () => {
    const own: Field[] = [...CURL, ["origin", "https://app.test"]];
    expect(origin(build("chrome", "fetch", own, {}, "POST"))).toEqual(["https://app.test"]);
    expect(origin(build("chrome", "websocket", own))).toEqual(["https://app.test"]);
  });

  test("a POST navigation's Origin goes with the other client fields (no template slot)", () => {
    const out = build("chrome", "navigate", [...CURL, ["x-a", "1"]], {}, "POST");
    const at = out.findIndex(([n]) => n === "x-a");
    expect(out[at + 1]).toEqual(["origin", `https://${AUTHORITY}`]);
    expect(site(out)).toBe("same-origin");
  });
});

describe("pass-through fields go where the browser puts them", () => {
  const cookies: Field[] = [
    ["cookie", "a=1"],
    ["x-custom", "v"],
    ["authorization", "Bearer t"],
    ["cookie", "b=2"],
  ];

  test("chrome fetch: custom and authorization next to content-type; cookie crumbs joined", () => {
    const out = build("chrome", "fetch", [...CURL, ["content-type", "application/json"], ...cookies]);
    expect(names(out)).toEqual([
      "sec-ch-ua-platform",
      "user-agent",
      "sec-ch-ua",
      "content-type",
      "x-custom",
      "authorization",
      "sec-ch-ua-mobile",
      "accept",
      "sec-fetch-site",
      "sec-fetch-mode",
      "sec-fetch-dest",
      "accept-encoding",
      "accept-language",
      "cookie",
      "priority",
    ]);
    expect(out).toContainEqual(["cookie", "a=1; b=2"]);
    // An empty crumb (an HTTP/2 client's `cookie: ` field) leaves no empty place in the join.
    const gap = build("chrome", "fetch", [...CURL, ["cookie", "a=1"], ["cookie", ""], ["cookie", "b=2"]]);
    expect(gap.filter(([n]) => n === "cookie")).toEqual([["cookie", "a=1; b=2"]]);
    const only = build("chrome", "fetch", [...CURL, ["cookie", ""]]);
    expect(only.filter(([n]) => n === "cookie")).toEqual([]);
  });

  test("chrome navigate: unlisted client fields before priority, cookie after accept-language", () => {
    const out = build("chrome", "navigate", [...CURL, ...cookies]);
    expect(names(out).slice(-5)).toEqual([
      "accept-language",
      "cookie",
      "x-custom",
      "authorization",
      "priority",
    ]);
  });

  test("firefox fetch: custom fields after content-type, cookie after origin (h2 and h1)", () => {
    const fields: Field[] = [
      ...CURL,
      ["origin", "https://localhost:8443"],
      ["content-type", "text/plain"],
      ["content-length", "3"],
      ...cookies,
    ];
    const h2 = names(build("firefox-145-macos-arm64", "fetch", fields));
    expect(h2.slice(5, 11)).toEqual([
      "content-type",
      "x-custom",
      "authorization",
      "content-length",
      "origin",
      "cookie",
    ]);
    const h1 = names(
      build("firefox-145-macos-arm64", "fetch", fields, {
        protocol: "h1",
        clientCase: new Map([["x-custom", "X-Custom"]]),
      }),
    );
    expect(h1.slice(6, 13)).toEqual([
      "content-type",
      "X-Custom",
      "authorization",
      "Content-Length",
      "Origin",
      "Connection",
      "Cookie",
    ]);
  });

  test("h1 joins cookie crumbs with '; '", () => {
    expect(
      build(
        "firefox",
        "image",
        [
          ["cookie", "a=1"],
          ["cookie", "b=2"],
        ],
        { protocol: "h1" },
      ),
    ).toContainEqual(["Cookie", "a=1; b=2"]);
  });

  test("Sec-Fetch-Site follows the client's Origin / Referer", () => {
    const site = (p: string, kind: RequestKind, f: Field[]) =>
      new Map(build(p, kind, f)).get("sec-fetch-site");
    expect(site("chrome", "navigate", CURL)).toBe("none");
    expect(site("chrome", "navigate", [["referer", "https://localhost:8443/a"]])).toBe("same-origin");
    expect(site("chrome", "fetch", [["origin", "https://www.example.com"]])).toBe("cross-site");
    expect(
      site("firefox", "fetch", [
        ["origin", "https://api.example.com"],
        ["referer", "https://x.org/"],
      ]),
    ).toBe("cross-site");
    const f = buildUpstreamHeaders(http("firefox"), "fetch", [["origin", "https://www.example.com"]], {
      protocol: "h2",
      authority: "api.example.com",
    });
    expect(new Map(f).get("sec-fetch-site")).toBe("same-site");
  });
});

describe("keeping the client's own values", () => {
  test("config list keeps user-agent at the browser's position", () => {
    const out = build("chrome", "navigate", CURL, { keepClient: new Set(["User-Agent"]) });
    expect(out[4]).toEqual(["user-agent", "curl/8"]);
    expect(new Map(out).get("accept")).toStartWith("text/html");
  });

  test("X-PolyTLS-Keep-Headers per request, unioned with the config list, then stripped", () => {
    const out = build(
      "firefox",
      "navigate",
      [...CURL, ["x-polytls-keep-headers", "accept, Sec-Fetch-Site"], ["sec-fetch-site", "cross-site"]],
      { keepClient: new Set(["user-agent"]) },
    );
    const m = new Map(out);
    expect([m.get("user-agent"), m.get("accept"), m.get("sec-fetch-site")]).toEqual([
      "curl/8",
      "*/*",
      "cross-site",
    ]);
    expect(names(out).some((n) => n.startsWith("x-polytls"))).toBe(false);
  });

  test("`*` keeps every client identity value; the profile fills the rest", () => {
    const out = build("chrome", "navigate", [...CURL, ["x-polytls-keep-headers", "*"]]);
    expect(new Map(out).get("user-agent")).toBe("curl/8");
    expect(new Map(out).get("sec-ch-ua-mobile")).toBe("?0");
  });

  test("a kept identity header the kind does not list goes to the `*` slot", () => {
    const out = build("safari", "navigate", [
      ["sec-ch-ua", '"X";v="1"'],
      ["x-polytls-keep-headers", "sec-ch-ua"],
    ]);
    expect(names(out).at(-1)).toBe("sec-ch-ua");
    expect(names(build("safari", "navigate", [["sec-ch-ua", "x"]]))).not.toContain("sec-ch-ua");
  });
});

describe("stripping", () => {
  const dirty: Field[] = [
    ...CURL,
    ["connection", "keep-alive, x-secret"],
    ["x-secret", "1"],
    ["keep-alive", "timeout=5"],
    ["proxy-connection", "keep-alive"],
    ["proxy-authorization", "Basic dTpw"],
    ["transfer-encoding", "chunked"],
    ["upgrade", "h2c"],
    ["te", "trailers, deflate"],
    ["http2-settings", "AAMAAABkAAQAAP__"],
    ["host", "evil.example"],
    ["expect", "100-continue"],
    [":authority", "localhost:8443"],
    ["x-polytls-upstream-profile", "firefox"],
    ["x-polytls-request-kind", "image"],
    ["x-polytls-anything", "1"],
    ["priority", "u=7"],
    ["sec-ch-ua", "client"],
    ["x-kept", "yes"],
  ];
  const GONE = [
    "connection",
    "x-secret",
    "keep-alive",
    "proxy-connection",
    "proxy-authorization",
    "transfer-encoding",
    "upgrade",
    "http2-settings",
    "host",
    "expect",
    ":authority",
  ];

  for (const protocol of ["h2", "h1"] as const) {
    for (const profile of ["chrome", "firefox", "safari"]) {
      test(`${profile} ${protocol}: hop-by-hop, connection-named and x-polytls-* fields never go upstream`, () => {
        const out = build(profile, "navigate", dirty, { protocol });
        const lower = names(out).map((n) => n.toLowerCase());
        for (const name of GONE) {
          if (protocol === "h1" && (name === "connection" || name === "host")) continue;
          expect(lower).not.toContain(name);
        }
        expect(lower.filter((n) => n.startsWith("x-polytls"))).toEqual([]);
        expect(lower).toContain("x-kept");
        const values = new Map(out.map(([n, v]) => [n.toLowerCase(), v]));
        expect(values.get("priority") ?? null).not.toBe("u=7");
        expect(values.get("sec-ch-ua") ?? null).not.toBe("client");
        expect(values.get("te") ?? "trailers").toBe("trailers");
        if (protocol === "h1") {
          expect(out[0]).toEqual(["Host", AUTHORITY]);
          expect(lower.filter((n) => n === "host" || n === "connection")).toEqual(["host", "connection"]);
        }
      });
    }
  }

  test("a profile without header templates passes client fields through, stripped", () => {
    const bare = new ProfileRegistry({ bare: { extends: "chrome" } }).get("bare").http;
    const noTemplates = { ...bare, headers: null };
    const out = buildUpstreamHeaders(noTemplates, "navigate", dirty, { protocol: "h2", authority: "a" });
    // The client's TE lists trailers: h2 gets `te: trailers`, with the other client fields.
    expect(out).toEqual([
      ["user-agent", "curl/8"],
      ["accept", "*/*"],
      ["priority", "u=7"],
      ["sec-ch-ua", "client"],
      ["x-kept", "yes"],
      ["te", "trailers"],
    ]);
  });
});

describe("a client's TE: trailers (gRPC) reaches an h2 origin", () => {
  const GRPC: Field[] = [
    ["content-type", "application/grpc"],
    ["user-agent", "grpc-python/1.85"],
    ["te", "trailers"],
    ["grpc-timeout", "1S"],
  ];
  const te = (out: [string, string][]) => out.filter(([n]) => n.toLowerCase() === "te");

  test("chrome and safari send no te of their own: the client's goes with its other fields (h2 only)", () => {
    for (const profile of ["chrome", "safari"]) {
      const out = build(profile, "fetch", GRPC);
      expect(te(out)).toEqual([["te", "trailers"]]);
      const at = names(out);
      expect(at.indexOf("te")).toBeGreaterThan(at.indexOf("content-type"));
      expect(te(build(profile, "fetch", GRPC, { protocol: "h1" }))).toEqual([]);
      expect(te(build(profile, "fetch", [["te", "deflate"]]))).toEqual([]);
    }
  });

  test("firefox keeps its own te: trailers at its place, once", () => {
    const withClient = build("firefox", "fetch", GRPC);
    const without = build(
      "firefox",
      "fetch",
      GRPC.filter(([n]) => n !== "te"),
    );
    expect(te(withClient)).toEqual([["te", "trailers"]]);
    expect(names(withClient)).toEqual(names(without));
  });
});

describe("a range request keeps the client's Accept-Encoding (identity when it sent none)", () => {
  test("at the browser's place for accept-encoding, h2 and h1; other identity headers stay the profile's", () => {
    for (const protocol of ["h2", "h1"] as const) {
      const value = (out: [string, string][], name: string) =>
        out.find(([n]) => n.toLowerCase() === name)?.[1];
      const plain = build("chrome", "fetch", [["range", "bytes=0-99"]], { protocol });
      expect(value(plain, "accept-encoding")).toBe("identity");
      const asked = build(
        "chrome",
        "fetch",
        [
          ["range", "bytes=0-99"],
          ["accept-encoding", "gzip"],
        ],
        { protocol },
      );
      expect(value(asked, "accept-encoding")).toBe("gzip");
      expect(names(asked).map((n) => n.toLowerCase())).toEqual(
        names(build("chrome", "fetch", [["range", "bytes=0-99"]], { protocol })).map((n) => n.toLowerCase()),
      );
      const noRange = build("chrome", "fetch", [["accept-encoding", "gzip"]], { protocol });
      expect(value(noRange, "accept-encoding")).toContain("br"); // the profile's own, as always
      expect(value(asked, "user-agent")).toBe(value(noRange, "user-agent"));
    }
  });
});
