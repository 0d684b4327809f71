/**
 * The pure parts of plain HTTP proxying: the CONNECT parser handing an absolute-form http://
 * request over (however the bytes are split), its refusals, the request route (default port 80,
 * Host as a browser writes it, the proxy's own fields taken out), and the plain-http header
 * adjustments (TLS-only codings and fields).
 */
import { describe, expect, test } from "bun:test";
import { ProxyError } from "../src/errors/proxy-error.ts";
import { Refusal } from "../src/http/bridge/client-h1-request.ts";
import { parseRequestHead } from "../src/http/h1/request-head.ts";
import { ProfileRegistry } from "../src/profiles/registry-store.ts";
import { ConnectParser, parseConnect } from "../src/proxy/connect-parser.ts";
import { forwardHeaders, trustworthyHost, withoutTlsCodings } from "../src/proxy/forward-http-headers.ts";
import { forwardTarget, routeForward } from "../src/proxy/forward-http-route.ts";

const bytes = (s: string) => new TextEncoder().encode(s);
const codeOf = (f: () => unknown) => {
  try {
    f();
    return "none";
  } catch (e) {
    return e instanceof ProxyError ? e.code : "other";
  }
};

describe("ConnectParser: absolute-form http://", () => {
  const req = "GET http://example.test:8080/a?b=1 HTTP/1.1\r\nHost: example.test:8080\r\nX-A: 1\r\n\r\nrest";

  test("ends at the request line with every byte read so far, for any split", () => {
    const whole = parseConnect(bytes(req));
    expect(whole.kind).toBe("forward");
    if (whole.kind === "forward") expect(new TextDecoder().decode(whole.start.bytes)).toBe(req);
    for (let cut = 1; cut < req.length; cut++) {
      const p = new ConnectParser();
      const first = p.push(bytes(req.slice(0, cut)));
      const r = first.kind === "incomplete" ? p.push(bytes(req.slice(cut))) : first;
      expect(r.kind).toBe("forward");
      // Decided once the request line is complete: the chunks pushed until then, nothing lost.
      const read = first.kind === "incomplete" ? req : req.slice(0, cut);
      expect(cut >= req.indexOf("\r\n") + 2 || first.kind === "incomplete").toBe(true);
      if (r.kind === "forward") expect(new TextDecoder().decode(r.start.bytes)).toBe(read);
    }
  });

  test("any method; the scheme is case-insensitive", () => {
    expect(parseConnect(bytes("DELETE HTTP://a.test/ HTTP/1.0\r\n")).kind).toBe("forward");
  });

  test("refusals: https:// and userinfo are 400 (not quoted), origin-form is 405", () => {
    expect(codeOf(() => parseConnect(bytes("GET https://a.test/ HTTP/1.1\r\n")))).toBe("BAD_REQUEST");
    let message = "";
    try {
      parseConnect(bytes("GET http://bob:hunter2@a.test/ HTTP/1.1\r\n"));
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toContain("userinfo");
    expect(message).not.toContain("hunter2");
    expect(codeOf(() => parseConnect(bytes("GET / HTTP/1.1\r\n")))).toBe("BAD_METHOD");
    expect(codeOf(() => parseConnect(bytes("GET ftp://a.test/ HTTP/1.1\r\n")))).toBe("BAD_METHOD");
  });
});

describe("routeForward", () => {
  const head = (s: string) => {
    const r = parseRequestHead(bytes(s));
    if (r.kind !== "head") throw new Error("incomplete");
    return r.head;
  };

  test("port 80 by default; Host written without it; the proxy's fields taken out", () => {
    const r = routeForward(
      head(
        "POST http://Example.TEST/p?q HTTP/1.1\r\nHost: other\r\nProxy-Authorization: Basic eDp5\r\n" +
          "X-PolyTLS-Upstream-Profile: firefox\r\nProxy-Connection: keep-alive\r\nContent-Type: a/b\r\nContent-Length: 2\r\n\r\n",
      ),
    );
    if (r instanceof Refusal) throw r.error;
    expect(r.route.target).toEqual({ host: "example.test", port: 80, kind: "dns" });
    expect(r.route.host).toBe("example.test");
    expect(r.route.profile).toBe("firefox");
    expect(r.route.proxyAuthorization).toBe("Basic eDp5");
    expect(r.request.path).toBe("/p?q");
    expect(r.request.bodyLength).toBe(2);
    expect(r.request.fields.map(([n]) => n)).toEqual(["content-type", "content-length"]);
    expect(r.route.clientCase.get("content-type")).toBe("Content-Type");
  });

  test("explicit ports and IPv6", () => {
    expect(forwardTarget("a.test:8080").host).toBe("a.test:8080");
    expect(forwardTarget("a.test:80").host).toBe("a.test");
    expect(forwardTarget("[::1]")).toEqual({
      target: { host: "::1", port: 80, kind: "ipv6" },
      host: "[::1]",
    });
  });

  test("refusals: origin-form, https://, CONNECT, conflicting credentials", () => {
    const status = (s: string) => {
      const r = routeForward(head(s));
      return r instanceof Refusal ? r.status : 0;
    };
    expect(status("GET /x HTTP/1.1\r\nHost: a\r\n\r\n")).toBe(400);
    expect(status("GET https://a.test/ HTTP/1.1\r\nHost: a\r\n\r\n")).toBe(400);
    expect(status("CONNECT a.test:443 HTTP/1.1\r\nHost: a\r\n\r\n")).toBe(405);
    expect(
      status(
        "GET http://a.test/ HTTP/1.1\r\nHost: a\r\nProxy-Authorization: x\r\nProxy-Authorization: y\r\n\r\n",
      ),
    ).toBe(400);
  });
});

describe("plain-http browser headers", () => {
  const registry = new ProfileRegistry();
  const chrome = registry.get("chrome-143-macos-arm64").http;
  const input = (host: string, fields: [string, string][] = []) => {
    const { target, host: h } = forwardTarget(host);
    return {
      http: chrome,
      kind: "navigate" as const,
      method: "GET",
      fields,
      host: h,
      target,
      keepClient: new Set<string>(),
      clientCase: new Map(),
    };
  };

  test("TLS-only codings are dropped, parameters kept", () => {
    expect(withoutTlsCodings("gzip, deflate, br, zstd")).toBe("gzip, deflate");
    expect(withoutTlsCodings("br;q=1, gzip;q=0.5")).toBe("gzip;q=0.5");
  });

  test("trustworthy hosts: loopback and localhost only", () => {
    expect(trustworthyHost(forwardTarget("127.0.0.2").target)).toBe(true);
    expect(trustworthyHost(forwardTarget("[::1]").target)).toBe(true);
    expect(trustworthyHost(forwardTarget("app.localhost").target)).toBe(true);
    expect(trustworthyHost(forwardTarget("example.com").target)).toBe(false);
    expect(trustworthyHost(forwardTarget("10.0.0.1").target)).toBe(false);
  });

  test("a public http:// host gets no Sec-Fetch-* / sec-ch-*; a loopback one keeps them", () => {
    const pub = forwardHeaders(input("example.com")).map(([n]) => n);
    expect(pub).toEqual([
      "Host",
      "Connection",
      "Upgrade-Insecure-Requests",
      "User-Agent",
      "Accept",
      "Accept-Encoding",
      "Accept-Language",
    ]);
    const local = forwardHeaders(input("127.0.0.1:8080")).map(([n]) => n);
    expect(local).toContain("Sec-Fetch-Mode");
    expect(local).toContain("sec-ch-ua");
  });

  test("a kept client field is sent as the client wrote it", () => {
    const out = forwardHeaders(
      input("example.com", [
        ["accept-encoding", "br"],
        ["x-polytls-keep-headers", "accept-encoding, sec-fetch-mode"],
        ["sec-fetch-mode", "cors"],
      ]),
    );
    expect(out).toContainEqual(["Accept-Encoding", "br"]);
    expect(out).toContainEqual(["Sec-Fetch-Mode", "cors"]);
  });

  test("keeping * (config or header) keeps what the client sent; what it did not send follows the http:// rules", () => {
    const client: [string, string][] = [
      ["user-agent", "curl/8"],
      ["accept", "*/*"],
    ];
    const viaConfig = forwardHeaders({ ...input("example.com", client), keepClient: "all" });
    const viaHeader = forwardHeaders(input("example.com", [...client, ["x-polytls-keep-headers", "*"]]));
    for (const out of [viaConfig, viaHeader]) {
      expect(out).toContainEqual(["User-Agent", "curl/8"]);
      expect(out).toContainEqual(["Accept", "*/*"]);
      // Not sent by the client: the profile's, without the TLS-only codings, and no Sec-* at all.
      expect(out).toContainEqual(["Accept-Encoding", "gzip, deflate"]);
      expect(out.filter(([n]) => /^sec-/i.test(n))).toEqual([]);
    }
    const named = forwardHeaders({ ...input("example.com"), keepClient: new Set(["accept-encoding"]) });
    expect(named).toContainEqual(["Accept-Encoding", "gzip, deflate"]);
  });

  test("without a profile the client's fields pass in order and case, Host first", () => {
    const out = forwardHeaders({
      ...input("a.test", [
        ["user-agent", "curl/8"],
        ["x-polytls-next-hop", "direct"],
        ["accept", "*/*"],
      ]),
      http: null,
      clientCase: new Map([["user-agent", "User-Agent"]]),
    });
    expect(out).toEqual([
      ["Host", "a.test"],
      ["User-Agent", "curl/8"],
      ["accept", "*/*"],
      ["Connection", "keep-alive"],
    ]);
  });
});
