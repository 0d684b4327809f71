/**
 * Credentials never reach a log line or an error text: the CONNECT authority parser does not echo
 * userinfo, and the log guard scrubs credential-shaped text out of every message and string value
 * (URL userinfo, `user:pass@host`, `Basic`/`Bearer` credentials, `authorization:` / `cookie:`
 * values) as a safety net. Planted secrets, both log formats.
 */
import { describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { ProxyError } from "../src/errors/proxy-error.ts";
import { errorResponse } from "../src/errors/wire.ts";
import { createLogger, type LogFormat } from "../src/log/logger.ts";
import { scrubSecrets } from "../src/log/redact.ts";
import { parseAuthority } from "../src/proxy/authority.ts";
import { parseConnect } from "../src/proxy/connect-parser.ts";

const SECRET = `Pl4nted-${randomBytes(8).toString("hex")}`;
const b64 = (s: string) => Buffer.from(s).toString("base64");
/** Every form the planted secret could leak in. */
const FORBIDDEN = [SECRET, b64(SECRET), b64(`alice:${SECRET}`), encodeURIComponent(SECRET)];

function expectClean(text: string): void {
  for (const f of FORBIDDEN) expect(text).not.toContain(f);
}

function thrown(fn: () => unknown): ProxyError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ProxyError) return err;
    throw err;
  }
  throw new Error("expected a ProxyError");
}

describe("CONNECT target with userinfo", () => {
  const targets = [
    `alice:${SECRET}@example.com:443`,
    `alice:${SECRET}@[::1]:443`,
    `${SECRET}@example.com:443`,
    `alice:${SECRET}@`, // no host at all
    `alice:p@ss:${SECRET}@example.com:443`, // '@' inside the password
    `http://alice:${SECRET}@example.com/`,
    `alice:${SECRET}@${"a".repeat(400)}.com:443`, // too long: refused before the userinfo check
    `alice:${SECRET}\u00e9@example.com:443`, // non-ASCII: refused before the userinfo check
  ];

  test("parseAuthority refuses it without echoing the userinfo", () => {
    for (const t of targets) {
      const err = thrown(() => parseAuthority(t));
      expect(err.code).toBe("BAD_AUTHORITY");
      expectClean(err.message);
      expectClean(errorResponse(err)); // the 400 body the client gets
    }
    const plain = thrown(() => parseAuthority(`alice:${SECRET}@example.com:443`));
    expect(plain.message).toContain("userinfo (user:***@) is not allowed in a CONNECT target");
    // The guard leaves an already-masked userinfo as it is, so the log line reads the same.
    expect(scrubSecrets(plain.message)).toBe(plain.message);
    expect(plain.message).toContain("example.com:443"); // the rest of the target is still shown
  });

  test("parseConnect refuses it without echoing the userinfo", () => {
    for (const t of targets.filter((x) => /^[\x21-\x7e]+$/.test(x))) {
      const err = thrown(() => parseConnect(new TextEncoder().encode(`CONNECT ${t} HTTP/1.1\r\n\r\n`)));
      expect(["BAD_AUTHORITY", "BAD_REQUEST"]).toContain(err.code);
      expectClean(err.message);
    }
  });

  test("other bad targets are still shown as sent", () => {
    expect(thrown(() => parseAuthority("local host:443")).message).toContain('"local host:443"');
    expect(thrown(() => parseAuthority("example.com")).message).toContain('"example.com"');
  });
});

describe("log guard scrubs credential-shaped text", () => {
  const cases: [string, string][] = [
    [`https://alice:${SECRET}@example.com/x`, "https://[redacted]@example.com/x"],
    [`socks5://${SECRET}@proxy.test:1080`, "socks5://[redacted]@proxy.test:1080"],
    [`CONNECT target "alice:${SECRET}@example.com:443"`, 'CONNECT target "[redacted]@example.com:443"'],
    [`alice:p@ss:${SECRET}@example.com:443`, "[redacted]@example.com:443"],
    [`Basic ${b64(`alice:${SECRET}`)}`, "Basic [redacted]"],
    [`header was basic ${b64(`alice:${SECRET}`)} then`, "header was basic [redacted] then"],
    [`Bearer ${SECRET}`, "Bearer [redacted]"],
    [`Proxy-Authorization: Digest username="alice", response="${SECRET}"`, "Proxy-Authorization: [redacted]"],
    [`authorization=${SECRET}`, "authorization=[redacted]"],
    [`{"cookie": "sid=${SECRET}; x=1"}`, '{"cookie": [redacted]'],
    [`Cookie: sid=${SECRET}`, "Cookie: [redacted]"],
    [`--password=${SECRET}`, "--password=[redacted]"],
  ];

  test("scrubSecrets replaces only the credential", () => {
    for (const [input, output] of cases) expect(scrubSecrets(input)).toBe(output);
  });

  test("metadata is left alone", () => {
    for (const keep of [
      "example.com:443",
      "[2001:db8::1]:443",
      "127.0.0.1:51234",
      "CA certificate ca/certificate.pem: not a CA certificate (basicConstraints CA:TRUE missing)",
      'Proxy-Authenticate: Basic realm="polytls"',
      "proxy credentials rejected",
      "conflicting Proxy-Authorization headers",
      "user@example.com",
      "771,4865-4866-4867,0-23-65281,29-23-24,0",
      "TLS_AES_128_GCM_SHA256",
      "cannot load /etc/passwd: invalid ELF header",
    ]) {
      expect(scrubSecrets(keep)).toBe(keep);
    }
  });

  test("messages, string values, lists and errors are scrubbed in both formats", () => {
    for (const format of ["text", "json"] as LogFormat[]) {
      const lines: string[] = [];
      const logger = createLogger({ level: "debug", format, sink: (l) => lines.push(l) });
      logger
        .child({ upstream: `http://alice:${SECRET}@proxy.test:3128` })
        .warn(`request to alice:${SECRET}@example.com:443 rejected`, {
          reason: `CONNECT target "alice:${SECRET}@example.com:443"`,
          header: `Proxy-Authorization: Basic ${b64(`alice:${SECRET}`)}`,
          note: `Bearer ${SECRET}`,
          hosts: ["a.test:443", `https://alice:${SECRET}@b.test/`],
          cause: new ProxyError("IO", `cannot reach https://alice:${SECRET}@c.test/`),
          host: "example.com:443",
        });
      expect(lines.length).toBe(1);
      const line = lines[0] ?? "";
      expectClean(line);
      expect(line).toContain("example.com:443");
      expect(line).toContain("proxy.test:3128");
      expect(line).toContain("b.test");
      if (format === "json") {
        const obj = JSON.parse(line);
        expect(obj.msg).toBe("request to [redacted]@example.com:443 rejected");
        expect(obj.hosts).toEqual(["a.test:443", "https://[redacted]@b.test/"]);
        expect(obj.cause).toBe("IO: cannot reach https://[redacted]@c.test/");
      }
    }
  });
});
