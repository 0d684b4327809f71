import { describe, expect, test } from "bun:test";
import { isProxyError } from "../src/errors/proxy-error.ts";
import { checkSni } from "../src/mitm/acceptor.ts";
import { checkUpstreamAlpn, planUpstreamAlpn } from "../src/mitm/alpn-policy.ts";
import { parseAuthority } from "../src/proxy/authority.ts";

const code = (f: () => void): string | null => {
  try {
    f();
    return null;
  } catch (e) {
    return isProxyError(e) ? e.code : "OTHER";
  }
};

describe("SNI check", () => {
  const dns = parseAuthority("Example.COM:443");
  test("equal names pass, case-insensitively and ignoring a trailing dot", () => {
    expect(code(() => checkSni("example.com", dns))).toBeNull();
    expect(code(() => checkSni("EXAMPLE.com.", dns))).toBeNull();
    expect(code(() => checkSni("example.com", parseAuthority("example.com.:443")))).toBeNull();
  });
  test("another name, or no SNI for a DNS host, is SNI_MISMATCH", () => {
    expect(code(() => checkSni("evil.example", dns))).toBe("SNI_MISMATCH");
    expect(code(() => checkSni("example.com.evil", dns))).toBe("SNI_MISMATCH");
    expect(code(() => checkSni(null, dns))).toBe("SNI_MISMATCH");
  });
  test("single-label names may come without SNI (Java sends none for them); a name given must match", () => {
    for (const host of ["localhost", "jenkins", "LOCALHOST.", "intranet-01"]) {
      expect(code(() => checkSni(null, parseAuthority(`${host}:8443`)))).toBeNull();
      expect(code(() => checkSni("", parseAuthority(`${host}:8443`)))).toBeNull();
    }
    expect(code(() => checkSni("evil", parseAuthority("localhost:443")))).toBe("SNI_MISMATCH");
    expect(code(() => checkSni(null, parseAuthority("a.b:443")))).toBe("SNI_MISMATCH");
  });
  test("IP literals may come without SNI; a name for an IP target must match it", () => {
    expect(code(() => checkSni(null, parseAuthority("127.0.0.1:443")))).toBeNull();
    expect(code(() => checkSni(null, parseAuthority("[::1]:443")))).toBeNull();
    expect(code(() => checkSni("localhost", parseAuthority("127.0.0.1:443")))).toBe("SNI_MISMATCH");
  });
});

describe("ALPN plan", () => {
  test("h2 client: the profile's own list (ALPS allowed), upstream must answer h2", () => {
    const plan = planUpstreamAlpn("h2");
    expect(plan).toEqual({ offer: null, alps: true, expect: "h2" });
    expect(code(() => checkUpstreamAlpn(plan, "h2"))).toBeNull();
    expect(code(() => checkUpstreamAlpn(plan, "http/1.1"))).toBe("ALPN_MISMATCH");
    expect(code(() => checkUpstreamAlpn(plan, null))).toBe("ALPN_MISMATCH");
  });
  test("http/1.1 or no ALPN: only http/1.1 upstream; an answer without ALPN is HTTP/1.1", () => {
    for (const client of ["http/1.1", null]) {
      const plan = planUpstreamAlpn(client);
      expect(plan).toEqual({ offer: ["http/1.1"], alps: false, expect: "http/1.1" });
      expect(code(() => checkUpstreamAlpn(plan, "http/1.1"))).toBeNull();
      expect(code(() => checkUpstreamAlpn(plan, null))).toBeNull();
      expect(code(() => checkUpstreamAlpn(plan, "h2"))).toBe("ALPN_MISMATCH");
    }
  });
});
