import { describe, expect, test } from "bun:test";
import {
  checkAddress,
  classify,
  compileGuard,
  inCidr,
  isSelf,
  parseCidr,
  parseIp,
} from "../src/proxy/target-guard.ts";

const ip = (t: string) => {
  const a = parseIp(t);
  if (!a) throw new Error(`not an address: ${t}`);
  return a;
};
const cls = (t: string) => classify(ip(t));
const text = (t: string) => {
  const a = ip(t);
  return `${a.family}:${[...a.bytes].join(".")}`;
};

describe("address parsing", () => {
  test("IPv4, IPv6 and bracketed forms; junk is null", () => {
    expect(text("127.0.0.1")).toBe("4:127.0.0.1");
    expect(text("[::1]")).toBe(`6:${[...new Array(15).fill(0), 1].join(".")}`);
    for (const bad of [
      "",
      "1.2.3",
      "256.0.0.1",
      "01.2.3.4",
      "::1::",
      "fe80::1%eth0",
      "localhost",
      "1:2:3:4:5:6:7:8:9",
    ]) {
      expect(parseIp(bad)).toBeNull();
    }
  });

  test("IPv6 forms that embed an IPv4 address are that IPv4 address", () => {
    for (const t of [
      "::ffff:127.0.0.1",
      "::ffff:7f00:1",
      "0:0:0:0:0:ffff:7f00:1",
      "::127.0.0.1",
      "64:ff9b::127.0.0.1",
    ]) {
      expect(text(t)).toBe("4:127.0.0.1");
    }
    expect(ip("::").family).toBe(6); // not ::0.0.0.0
    expect(ip("::1").family).toBe(6);
  });
});

describe("classification", () => {
  test("special-purpose ranges", () => {
    const cases: [string, string | null][] = [
      ["0.0.0.0", "unspecified"],
      ["::", "unspecified"],
      ["127.0.0.1", "loopback"],
      ["127.255.0.9", "loopback"],
      ["::1", "loopback"],
      ["::ffff:127.0.0.1", "loopback"],
      ["10.1.2.3", "private"],
      ["172.16.0.1", "private"],
      ["172.31.255.255", "private"],
      ["192.168.1.1", "private"],
      ["100.64.0.1", "cgnat"],
      ["169.254.169.254", "link-local"],
      ["fe80::1", "link-local"],
      ["224.0.0.1", "multicast"],
      ["ff02::1", "multicast"],
      ["255.255.255.255", "reserved"],
      ["fd00::2", "unique-local"],
      ["fc00::1", "unique-local"],
    ];
    for (const [t, c] of cases) expect([t, cls(t)]).toEqual([t, c]);
  });

  test("public-looking addresses are ordinary", () => {
    for (const t of [
      "93.184.216.34",
      "172.32.0.1",
      "100.128.0.1",
      "8.8.8.8",
      "2001:4860:4860::8888",
      "::ffff:8.8.8.8",
    ]) {
      expect([t, cls(t)]).toEqual([t, null]);
    }
  });
});

describe("CIDR", () => {
  test("prefix match, families kept apart, mapped ranges become IPv4", () => {
    const c = parseCidr("10.0.0.0/8");
    expect(c).not.toBeNull();
    if (!c) return;
    expect(inCidr(ip("10.255.1.1"), c)).toBe(true);
    expect(inCidr(ip("11.0.0.1"), c)).toBe(false);
    expect(inCidr(ip("::ffff:10.0.0.1"), c)).toBe(true);
    const v6 = parseCidr("2001:db8::/32");
    if (!v6) throw new Error("parse");
    expect(inCidr(ip("2001:db8:1::5"), v6)).toBe(true);
    expect(inCidr(ip("2001:db9::5"), v6)).toBe(false);
    const mapped = parseCidr("::ffff:192.168.0.0/112");
    if (!mapped) throw new Error("parse");
    expect(inCidr(ip("192.168.3.4"), mapped)).toBe(true);
    expect(inCidr(ip("192.169.0.1"), mapped)).toBe(false);
    const odd = parseCidr("203.0.113.128/25");
    if (!odd) throw new Error("parse");
    expect(inCidr(ip("203.0.113.200"), odd)).toBe(true);
    expect(inCidr(ip("203.0.113.100"), odd)).toBe(false);
    expect(parseCidr("10.0.0.0/33")).toBeNull();
    expect(parseCidr("10.0.0.0")).toBeNull();
  });
});

describe("loop detection", () => {
  const self = { host: "127.0.0.1", port: 8080 };
  test("every form of a loopback listen address on its port is the proxy itself", () => {
    for (const t of ["127.0.0.1", "127.0.0.2", "0.0.0.0", "::", "::1", "::ffff:127.0.0.1", "::127.0.0.1"]) {
      expect([t, isSelf(ip(t), 8080, self, [])]).toEqual([t, true]);
    }
    expect(isSelf(ip("127.0.0.1"), 8081, self, [])).toBe(false);
    expect(isSelf(ip("10.0.0.5"), 8080, self, [])).toBe(false);
  });

  test("listening on all addresses: every interface address counts", () => {
    const all = { host: "0.0.0.0", port: 8080 };
    const local = ["127.0.0.1", "10.0.0.5", "fd00::2"];
    for (const t of ["10.0.0.5", "fd00::2", "127.0.0.9", "::1", "::"]) {
      expect([t, isSelf(ip(t), 8080, all, local)]).toEqual([t, true]);
    }
    expect(isSelf(ip("10.0.0.6"), 8080, all, local)).toBe(false);
  });

  test("a specific address: only itself and the unspecified address", () => {
    const one = { host: "10.0.0.5", port: 8080 };
    expect(isSelf(ip("10.0.0.5"), 8080, one, [])).toBe(true);
    expect(isSelf(ip("0.0.0.0"), 8080, one, [])).toBe(true);
    expect(isSelf(ip("127.0.0.1"), 8080, one, [])).toBe(false);
  });
});

describe("verdicts", () => {
  const self = { host: "127.0.0.1", port: 8080 };
  const code = (address: string, port: number, rules = compileGuard({ denyPrivate: false, denyCidrs: [] })) =>
    checkAddress("example.test", address, port, { rules, self, local: [] })?.code ?? null;

  test("loop protection is always on; other targets pass by default", () => {
    expect(code("127.0.0.1", 8080)).toBe("LOOP_DETECTED");
    expect(code("127.0.0.1", 9000)).toBeNull();
    expect(code("10.0.0.1", 443)).toBeNull();
  });

  test("deny_private refuses special-purpose addresses, not public ones", () => {
    const rules = compileGuard({ denyPrivate: true, denyCidrs: [] });
    for (const t of [
      "127.0.0.1",
      "10.0.0.1",
      "::ffff:192.168.0.1",
      "169.254.169.254",
      "fd00::1",
      "0.0.0.0",
    ]) {
      expect([t, code(t, 443, rules)]).toEqual([t, "TARGET_DENIED"]);
    }
    for (const t of ["93.184.216.34", "2606:2800:220:1::1"])
      expect([t, code(t, 443, rules)]).toEqual([t, null]);
    expect(code("127.0.0.1", 8080, rules)).toBe("LOOP_DETECTED"); // the loop is named as such
  });

  test("deny_private and deny_cidrs judge 6to4 and IPv4-translated addresses by the IPv4 they carry", () => {
    const rules = compileGuard({ denyPrivate: true, denyCidrs: [] });
    for (const t of [
      "2002:7f00:1::",
      "2002:a00:1::1",
      "2002:c0a8:1::",
      "::ffff:0:127.0.0.1",
      "::ffff:0:a00:1",
    ])
      expect([t, code(t, 443, rules)]).toEqual([t, "TARGET_DENIED"]);
    for (const t of ["2002:5db8:d822::1", "::ffff:0:93.184.216.34"])
      expect([t, code(t, 443, rules)]).toEqual([t, null]);
    const cidrs = compileGuard({ denyPrivate: false, denyCidrs: ["203.0.113.0/24"] });
    expect(code("2002:cb00:7109::", 443, cidrs)).toBe("TARGET_DENIED");
    // Not the loopback host itself: the loop check does not take them for it (a 6to4 address routes
    // over IPv6), only the deny rules refuse them.
    expect(code("2002:7f00:1::", 8080)).toBeNull();
  });

  test("deny_cidrs refuses its ranges only; the message names the range, not the address", () => {
    const rules = compileGuard({ denyPrivate: false, denyCidrs: ["203.0.113.0/24", "2001:db8::/32"] });
    expect(code("203.0.113.9", 443, rules)).toBe("TARGET_DENIED");
    expect(code("2001:db8::1", 443, rules)).toBe("TARGET_DENIED");
    expect(code("198.51.100.1", 443, rules)).toBeNull();
    const e = checkAddress("db.internal", "203.0.113.9", 443, { rules, self, local: [] });
    expect(e?.message).toContain("203.0.113.0/24");
    expect(e?.message).not.toContain("203.0.113.9");
  });
});
