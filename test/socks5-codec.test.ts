/**
 * The pure parts of SOCKS5, next hops and profile user names: the inbound and outbound state
 * machines (fuzzed with split input: the outcome never depends on how bytes arrive), the reply
 * codes, the next-hop URL and the user name form.
 */
import { describe, expect, test } from "bun:test";
import { ProxyError } from "../src/errors/proxy-error.ts";
import { socksReplyFor } from "../src/errors/socks-wire.ts";
import { parseAuthority } from "../src/proxy/authority.ts";
import { parseNextHop } from "../src/proxy/next-hop-url.ts";
import { splitUsername } from "../src/proxy/proxy-user.ts";
import { Socks5Outbound } from "../src/proxy/socks5-client.ts";
import { encodeAddressed, encodeUserPass } from "../src/proxy/socks5-codec.ts";
import { Socks5Inbound } from "../src/proxy/socks5-server.ts";
import { prng, randBytes, randInt } from "./helpers/prng.ts";

const hex = (parts: Uint8Array[]) => parts.map((p) => Buffer.from(p).toString("hex")).join("|");

/**
 * Feeds `input` in the given pieces (credentials accepted iff `ok`) until the machine is done; a
 * comparable outcome. Bytes not fed once it is done stay in the socket for the tunnel, so they
 * count as leftover too.
 */
function inbound(input: Uint8Array, cuts: number[], authRequired: boolean, ok = true): string {
  const m = new Socks5Inbound(authRequired);
  const sent: Uint8Array[] = [];
  let last: ReturnType<Socks5Inbound["push"]>["step"] = { kind: "incomplete" };
  const act = (out: ReturnType<Socks5Inbound["push"]>): void => {
    sent.push(...out.send);
    last = out.step;
    if (last.kind === "credentials") act(m.credentials(ok && last.password === "pw"));
  };
  let from = 0;
  for (const cut of [...cuts, input.length]) {
    if (cut < from) continue;
    if (last.kind !== "incomplete") break;
    act(m.push(input.subarray(from, cut)));
    from = cut;
  }
  const s = last as ReturnType<Socks5Inbound["push"]>["step"];
  const unfed = Buffer.from(input.subarray(from)).toString("hex");
  const end =
    s.kind === "request"
      ? `request ${s.target.kind} ${s.target.host}:${s.target.port} user=${s.username} left=${Buffer.from(s.leftover).toString("hex")}${unfed}`
      : s.kind === "failed"
        ? `failed ${s.error.code}`
        : s.kind;
  return `${hex(sent)} => ${end}`;
}

const GREET_USERPASS = [5, 1, 2];
const request = (cmd: number, target: string) => [...encodeAddressed(cmd, parseAuthority(target))];
const handshake = (cmd = 1, target = "example.com:443", extra: number[] = []) =>
  Uint8Array.from([
    ...GREET_USERPASS,
    ...encodeUserPass("alice-profile-firefox", "pw"),
    ...request(cmd, target),
    ...extra,
  ]);

describe("Socks5Inbound", () => {
  test("username/password then CONNECT with a domain; bytes after the request are leftover", () => {
    const input = handshake(1, "example.com:443", [0x16, 0x03, 0x01]);
    expect(inbound(input, [], true)).toBe(
      "0502|0100 => request dns example.com:443 user=alice-profile-firefox left=160301",
    );
  });

  test("IPv4 and IPv6 addresses; no authentication when the proxy has no users", () => {
    const v4 = Uint8Array.from([5, 1, 0, 5, 1, 0, 1, 10, 0, 0, 7, 0x01, 0xbb]);
    expect(inbound(v4, [], false)).toBe("0500 => request ipv4 10.0.0.7:443 user=null left=");
    const v6 = Uint8Array.from([5, 1, 0, 5, 1, 0, 4, ...new Array(15).fill(0), 1, 0x20, 0xfb]);
    expect(inbound(v6, [], false)).toBe("0500 => request ipv6 ::1:8443 user=null left=");
    // With users, a client offering only "no authentication" gets 0xFF.
    expect(inbound(v4, [], true)).toBe("05ff => failed PROXY_AUTH_REQUIRED");
    // Without users, a client offering only GSSAPI (0x01) gets 0xFF too, but it is no auth refusal.
    const gssapiOnly = Uint8Array.from([5, 1, 1]);
    expect(inbound(gssapiOnly, [], false)).toBe("05ff => failed SOCKS_BAD_REQUEST");
    expect(inbound(gssapiOnly, [], true)).toBe("05ff => failed PROXY_AUTH_REQUIRED");
  });

  test("BIND and UDP ASSOCIATE → reply 0x07; unknown address type → 0x08; wrong password → status 1", () => {
    expect(inbound(handshake(2), [], true)).toBe(
      "0502|0100|05070001000000000000 => failed SOCKS_COMMAND_UNSUPPORTED",
    );
    expect(inbound(handshake(3), [], true)).toBe(
      "0502|0100|05070001000000000000 => failed SOCKS_COMMAND_UNSUPPORTED",
    );
    const atyp9 = Uint8Array.from([5, 1, 0, 5, 1, 0, 9, 1, 2, 3]);
    expect(inbound(atyp9, [], false)).toBe("0500|05080001000000000000 => failed SOCKS_ADDRESS_UNSUPPORTED");
    expect(inbound(handshake(), [], true, false)).toBe("0502|0101 => failed PROXY_AUTH_REQUIRED");
  });

  test("malformed input: a bad version gets no reply; a bad domain a reply code", () => {
    expect(inbound(Uint8Array.from([4, 1, 0, 80]), [], false)).toBe(" => failed SOCKS_BAD_REQUEST");
    expect(inbound(Uint8Array.from([5, 0]), [], false)).toBe(" => failed SOCKS_BAD_REQUEST");
    const badName = Uint8Array.from([5, 1, 0, 5, 1, 0, 3, 3, 0x61, 0x20, 0x62, 0, 80]);
    expect(inbound(badName, [], false)).toBe("0500|05040001000000000000 => failed BAD_AUTHORITY");
    const rsv = Uint8Array.from([5, 1, 0, 5, 1, 7, 1, 1, 2, 3, 4, 0, 80]);
    expect(inbound(rsv, [], false)).toBe("0500|05010001000000000000 => failed SOCKS_BAD_REQUEST");
  });

  test("fuzz: the outcome never depends on how the bytes are split (seeded)", () => {
    const rand = prng(0x50c5);
    const seeds = [
      handshake(),
      handshake(1, "[2001:db8::1]:443", [1, 2, 3]),
      handshake(1, "192.0.2.1:80"),
      handshake(3),
      Uint8Array.from([5, 2, 0, 2, 5, 1, 0, 1, 127, 0, 0, 1, 0, 80]),
    ];
    for (let i = 0; i < 3000; i++) {
      const base = seeds[randInt(rand, seeds.length)] ?? seeds[0]!;
      const input = Uint8Array.from(base);
      const kind = randInt(rand, 4);
      if (kind === 1)
        for (let k = randInt(rand, 3) + 1; k > 0; k--)
          input[randInt(rand, input.length)] = randInt(rand, 256);
      const bytes =
        kind === 2
          ? randBytes(rand, randInt(rand, 40))
          : kind === 3
            ? input.subarray(0, randInt(rand, input.length))
            : input;
      const whole = inbound(bytes, [], rand() < 0.5);
      const authRequired = whole.includes("0502") || rand() < 0.5;
      const ref = inbound(bytes, [], authRequired);
      const cuts = Array.from({ length: randInt(rand, 6) }, () => randInt(rand, bytes.length + 1)).sort(
        (a, b) => a - b,
      );
      expect(inbound(bytes, cuts, authRequired)).toBe(ref);
      const single = Array.from({ length: bytes.length }, (_, k) => k);
      expect(inbound(bytes, single, authRequired)).toBe(ref);
    }
  });
});

describe("Socks5Outbound (the next-hop client)", () => {
  const target = parseAuthority("example.com:443");
  /** Pushes the hop's answer in pieces; what was sent and how it ended. */
  function outbound(answer: number[], cut: number, creds = true): string {
    const m = new Socks5Outbound({
      target,
      credentials: creds ? { username: "u", password: "p" } : null,
      hopName: "socks5h://127.0.0.1:1080",
    });
    const sent = [m.start()];
    const bytes = Uint8Array.from(answer);
    try {
      for (const [i, piece] of [bytes.subarray(0, cut), bytes.subarray(cut)].entries()) {
        const step = m.push(piece);
        sent.push(...step.send);
        // What was not pushed yet stays in the socket: it follows the leftover.
        const unfed = i === 0 ? Buffer.from(bytes.subarray(cut)).toString("hex") : "";
        if (step.open)
          return `${hex(sent)} open left=${Buffer.from(step.open.leftover).toString("hex")}${unfed}`;
      }
      return `${hex(sent)} incomplete`;
    } catch (err) {
      return `${hex(sent)} ${err instanceof ProxyError ? `${err.code}: ${err.message}` : String(err)}`;
    }
  }
  const ok = [5, 2, 1, 0, 5, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xaa];

  test("greeting, credentials, CONNECT by name; the same result however the answer is split", () => {
    const want = `050102|0101750170|050100030b${Buffer.from("example.com").toString("hex")}01bb open left=aa`;
    for (let cut = 0; cut <= ok.length; cut++) expect(outbound(ok, cut)).toBe(want);
  });

  test("refusals are NEXT_HOP_* errors naming the hop", () => {
    expect(outbound([5, 0xff], 2)).toContain(
      "NEXT_HOP_AUTH: next hop socks5h://127.0.0.1:1080 accepts no method",
    );
    expect(outbound([5, 2, 1, 1], 4)).toContain(
      "NEXT_HOP_AUTH: next hop socks5h://127.0.0.1:1080 rejected our credentials",
    );
    expect(outbound([5, 0, 5, 4, 0, 1, 0, 0, 0, 0, 0, 0], 3, false)).toContain("NEXT_HOP_REFUSED");
    expect(outbound([5, 0, 5, 4, 0, 1, 0, 0, 0, 0, 0, 0], 3, false)).toContain(
      "host unreachable (SOCKS5 reply 4)",
    );
    expect(outbound([0x48, 0x54], 1)).toContain(
      "NEXT_HOP_REFUSED: next hop socks5h://127.0.0.1:1080 did not speak SOCKS5",
    );
  });
});

describe("reply codes, next-hop URLs, profile user names", () => {
  test("one table maps error codes to SOCKS5 replies", () => {
    expect(socksReplyFor("TARGET_DENIED")).toBe(2);
    expect(socksReplyFor("UPSTREAM_UNREACHABLE")).toBe(4);
    expect(socksReplyFor("UPSTREAM_TIMEOUT")).toBe(6);
    expect(socksReplyFor("SOCKS_COMMAND_UNSUPPORTED")).toBe(7);
    expect(socksReplyFor("SOCKS_ADDRESS_UNSUPPORTED")).toBe(8);
    expect(socksReplyFor(null)).toBe(1);
  });

  test("next-hop URLs: schemes, percent-decoded credentials, refusals that never quote the input", () => {
    const hop = parseNextHop("socks5h://us%40er:p%3Aw%40d@[::1]:1080/");
    if (typeof hop === "string") throw new Error(hop);
    expect(hop.name).toBe("socks5h://[::1]:1080");
    expect(hop.credentials).toEqual({ username: "us@er", password: "p:w@d" });
    expect(JSON.stringify({ hop })).toBe('{"hop":"socks5h://[::1]:1080"}');
    expect(Bun.inspect(hop)).not.toContain("p:w@d");
    const plain = parseNextHop("HTTP://proxy.example:3128");
    expect(typeof plain === "string" ? plain : [plain.scheme, plain.name, plain.credentials]).toEqual([
      "http",
      "http://proxy.example:3128",
      null,
    ]);
    for (const bad of [
      "https://u:SECRET@h:1",
      "http://u:SECRET@h",
      "http://u:SECRET@h:1/path",
      "socks5://u:SECRET%zz@h:1",
      "u:SECRET@h:1",
    ]) {
      const r = parseNextHop(bad);
      expect(typeof r).toBe("string");
      expect(String(r)).not.toContain("SECRET");
    }
  });

  test("user names: <user>-profile-<profile>, split at the first separator", () => {
    expect(splitUsername("alice-profile-firefox-145-macos-arm64", true)).toEqual({
      user: "alice",
      profile: "firefox-145-macos-arm64",
    });
    expect(splitUsername("alice", true)).toEqual({ user: "alice", profile: null });
    expect(splitUsername("firefox", false)).toEqual({ user: "", profile: "firefox" });
    expect(splitUsername("x-profile-chrome", false)).toEqual({ user: "x", profile: "chrome" });
    expect(splitUsername("", false)).toEqual({ user: "", profile: null });
  });
});
