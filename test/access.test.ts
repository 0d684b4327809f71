import { describe, expect, test } from "bun:test";
import { isProxyError, ProxyError } from "../src/errors/proxy-error.ts";
import { errorParts, errorResponse } from "../src/errors/wire.ts";
import { accessPolicy, checkAccess, OPEN_ACCESS } from "../src/proxy/access.ts";
import { parseAuthority } from "../src/proxy/authority.ts";

const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString("base64")}`;
const outcome = (f: () => void): string => {
  try {
    f();
    return "ok";
  } catch (e) {
    return isProxyError(e) ? e.code : "OTHER";
  }
};

describe("access policy", () => {
  const target = parseAuthority("example.com:443");
  const policy = accessPolicy(["alice:s3cr:et", "bob:pw"], [443, 8443]);

  test("open access lets everything through", () => {
    expect(outcome(() => checkAccess(OPEN_ACCESS, null, parseAuthority("example.com:25")))).toBe("ok");
  });

  test("Basic credentials: right ones pass (password may contain ':'), others are 407", () => {
    expect(outcome(() => checkAccess(policy, basic("alice", "s3cr:et"), target))).toBe("ok");
    expect(outcome(() => checkAccess(policy, basic("bob", "pw"), target))).toBe("ok");
    expect(outcome(() => checkAccess(policy, `basic   ${basic("bob", "pw").slice(6)}`, target))).toBe("ok");
    for (const header of [
      null,
      basic("alice", "wrong"),
      basic("mallory", "pw"),
      "Bearer abc",
      "Basic !!!",
      "Basic ",
    ]) {
      expect(outcome(() => checkAccess(policy, header, target))).toBe("PROXY_AUTH_REQUIRED");
    }
  });

  test("ports outside the allowed list are 403, checked after authentication", () => {
    expect(outcome(() => checkAccess(policy, basic("bob", "pw"), parseAuthority("example.com:8443")))).toBe(
      "ok",
    );
    expect(outcome(() => checkAccess(policy, basic("bob", "pw"), parseAuthority("example.com:22")))).toBe(
      "FORBIDDEN",
    );
    expect(outcome(() => checkAccess(policy, null, parseAuthority("example.com:22")))).toBe(
      "PROXY_AUTH_REQUIRED",
    );
  });

  test("a 407 response carries a Basic challenge", () => {
    let err: unknown;
    try {
      checkAccess(policy, null, target);
    } catch (e) {
      err = e;
    }
    const text = errorResponse(err);
    expect(text.startsWith("HTTP/1.1 407 Proxy Authentication Required\r\n")).toBe(true);
    expect(text).toContain('Proxy-Authenticate: Basic realm="polytls"');
  });
});

describe("Retry-After", () => {
  const value = (err: unknown) => errorParts(err).fields.find(([n]) => n === "Retry-After")?.[1];
  test("the error's own wait in whole seconds, at least 1; 1 when it has none", () => {
    expect(value(new ProxyError("AUTH_RATE_LIMITED", "x", { retryAfterS: 57 }))).toBe("57");
    expect(value(new ProxyError("AUTH_RATE_LIMITED", "x", { retryAfterS: 2.2 }))).toBe("3");
    expect(value(new ProxyError("AUTH_RATE_LIMITED", "x", { retryAfterS: 0 }))).toBe("1");
    expect(value(new ProxyError("AUTH_RATE_LIMITED", "x", { retryAfterS: -5 }))).toBe("1");
    expect(value(new ProxyError("CAPACITY", "x"))).toBe("1");
    expect(value(new ProxyError("UPSTREAM_UNREACHABLE", "x"))).toBeUndefined();
  });
});
