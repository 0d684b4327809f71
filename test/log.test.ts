import { describe, expect, test } from "bun:test";
import { ProxyError } from "../src/errors/proxy-error.ts";
import { createLogger, isLogLevel, type LogFormat, type LogLevel } from "../src/log/logger.ts";
import { isSensitiveName, REDACTED } from "../src/log/redact.ts";
import { logTunnel, type TunnelRecord } from "../src/log/tunnel-record.ts";

const T0 = Date.UTC(2026, 10, 25, 11, 0, 0, 0); // 2026-11-25T11:00:00.000Z

function capture(format: LogFormat, level: LogLevel = "debug") {
  const lines: string[] = [];
  const logger = createLogger({ level, format, sink: (l) => lines.push(l), clock: () => T0 });
  return { logger, lines };
}

const RECORD: TunnelRecord = {
  client: "127.0.0.1:51234",
  host: "example.com:443",
  mode: "mitm",
  profile: "chrome",
  clientAlpn: "h2",
  upstreamAlpn: "h2",
  upstreamVersion: "TLSv1.3",
  upstreamCipher: "TLS_AES_128_GCM_SHA256",
  resumed: false,
  bytesUp: 517,
  bytesDown: 48213,
  durationMs: 1234.4,
  errorCode: null,
};

describe("text format", () => {
  test("timestamp, upper-case level, message and key=value fields", () => {
    const { logger, lines } = capture("text");
    logger.info("tunnel closed", {
      host: "example.com:443",
      profile: "chrome",
      bytes: 12,
      ok: true,
      none: null,
    });
    expect(lines).toEqual([
      "2026-11-25T11:00:00.000Z INFO tunnel closed host=example.com:443 profile=chrome bytes=12 ok=true none=-",
    ]);
  });

  test("values with spaces, quotes or '=' are quoted; undefined fields are omitted; lists are joined", () => {
    const { logger, lines } = capture("text");
    logger.warn("x", { reason: 'a "b" c', eq: "k=v", empty: "", skip: undefined, alpn: ["h2", "http/1.1"] });
    expect(lines[0]).toBe(
      '2026-11-25T11:00:00.000Z WARN x reason="a \\"b\\" c" eq="k=v" empty="" alpn=h2,http/1.1',
    );
  });

  test("newlines cannot forge a second log line", () => {
    const { logger, lines } = capture("text");
    logger.error("bad\nFAKE 2026 INFO injected", { host: "a\r\nb" });
    expect(lines.length).toBe(1);
    expect(lines[0]).not.toContain("\n");
    expect(lines[0]).not.toContain("\r");
    expect(lines[0]).toBe('2026-11-25T11:00:00.000Z ERROR bad\\nFAKE 2026 INFO injected host="a\\r\\nb"');
  });

  test("DEL and C1 controls (NEL, CSI) are escaped in the message, keys and values", () => {
    const { logger, lines } = capture("text");
    logger.warn("a\u007fb\u0085c", { host: "x\u009b2Jy", "k\u0080": "\u009f", plain: "é\u00a0ok" });
    expect(lines).toEqual([
      '2026-11-25T11:00:00.000Z WARN a\\u007fb\\u0085c host="x\\u009b2Jy" "k\\u0080"="\\u009f" plain="é\u00a0ok"',
    ]);
    expect(lines[0]).not.toMatch(/[\u007f-\u009f]/);
  });
});

describe("json format", () => {
  test("one JSON object per line with ts, level, msg and fields", () => {
    const { logger, lines } = capture("json");
    logger.info("listening", { addr: "127.0.0.1:8080", port: 8080, tls: false, x: null });
    logger.debug("two");
    expect(lines.length).toBe(2);
    expect(JSON.parse(lines[0]!)).toEqual({
      ts: "2026-11-25T11:00:00.000Z",
      level: "info",
      msg: "listening",
      addr: "127.0.0.1:8080",
      port: 8080,
      tls: false,
      x: null,
    });
    expect(JSON.parse(lines[1]!)).toEqual({ ts: "2026-11-25T11:00:00.000Z", level: "debug", msg: "two" });
  });

  test("fields cannot overwrite ts, level or msg", () => {
    const { logger, lines } = capture("json");
    logger.info("real", { msg: "fake", level: "error", ts: "never" });
    expect(JSON.parse(lines[0]!)).toEqual({
      ts: "2026-11-25T11:00:00.000Z",
      level: "info",
      msg: "real",
      field_msg: "fake",
      field_level: "error",
      field_ts: "never",
    });
  });

  test("errors are logged as code and message; bigints and non-finite numbers as strings", () => {
    const { logger, lines } = capture("json");
    logger.warn("failed", {
      err: new ProxyError("UPSTREAM_TIMEOUT", "connect to a.test:443 timed out"),
      plain: new TypeError("boom"),
      big: 2n ** 70n,
      nan: Number.NaN,
    });
    expect(JSON.parse(lines[0]!)).toMatchObject({
      err: "UPSTREAM_TIMEOUT: connect to a.test:443 timed out",
      plain: "TypeError: boom",
      big: "1180591620717411303424",
      nan: "NaN",
    });
  });
});

describe("levels and children", () => {
  test("lines below the level are dropped", () => {
    const { logger, lines } = capture("text", "warn");
    logger.debug("d");
    logger.info("i");
    logger.warn("w");
    logger.error("e");
    expect(lines.map((l) => l.split(" ")[1])).toEqual(["WARN", "ERROR"]);
    expect(logger.enabled("info")).toBe(false);
    expect(logger.enabled("error")).toBe(true);
    expect(isLogLevel("warn")).toBe(true);
    expect(isLogLevel("trace")).toBe(false);
  });

  test("child adds fields; call fields win; parent is unchanged", () => {
    const { logger, lines } = capture("json");
    const child = logger.child({ conn: 7, host: "a.test:443" });
    const grandchild = child.child({ stage: "tls" });
    grandchild.info("x", { host: "b.test:443" });
    logger.info("y");
    expect(JSON.parse(lines[0]!)).toMatchObject({ conn: 7, host: "b.test:443", stage: "tls", msg: "x" });
    expect(Object.keys(JSON.parse(lines[1]!))).toEqual(["ts", "level", "msg"]);
    expect(child.level).toBe("debug");
  });

  test("default sink writes one newline-terminated line to stderr", () => {
    const written: string[] = [];
    const original = process.stderr.write;
    process.stderr.write = ((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    }) as typeof process.stderr.write;
    try {
      createLogger({ level: "info", format: "json", clock: () => T0 }).info("to stderr", { n: 1 });
    } finally {
      process.stderr.write = original;
    }
    expect(written).toEqual(['{"ts":"2026-11-25T11:00:00.000Z","level":"info","msg":"to stderr","n":1}\n']);
  });
});

describe("redaction guard", () => {
  test("secret-looking field names are redacted in both formats, including child fields", () => {
    for (const format of ["text", "json"] as const) {
      const { logger, lines } = capture(format);
      logger.child({ apiKey: "sk-123" }).info("x", {
        privateKey: "-----BEGIN PRIVATE KEY-----",
        client_secret: "s3cr3t",
        password: "hunter2",
        proxyAuthorization: "Basic dXNlcjpwYXNz",
        payload: "GET / HTTP/1.1",
        "request.body": "{...}",
        token: "t",
        monkey: "not a key",
        host: "a.test:443",
      });
      const line = lines[0]!;
      for (const secret of [
        "sk-123",
        "BEGIN PRIVATE",
        "s3cr3t",
        "hunter2",
        "dXNlcjpwYXNz",
        "GET / HTTP",
        "{...}",
      ]) {
        expect(line).not.toContain(secret);
      }
      if (format === "json") {
        const obj = JSON.parse(line);
        expect(obj.privateKey).toBe(REDACTED);
        expect(obj.apiKey).toBe(REDACTED);
        expect(obj["request.body"]).toBe(REDACTED);
        expect(obj.monkey).toBe("not a key");
        expect(obj.host).toBe("a.test:443");
      } else {
        expect(line).toContain(`password=${REDACTED}`);
        expect(line).toContain('monkey="not a key"');
      }
    }
  });

  test("name matching works on words, not substrings", () => {
    for (const name of [
      "key",
      "privateKey",
      "api_key",
      "KEY_PEM",
      "caKeyFile",
      "reqBody",
      "x-secret",
      "Cookie",
    ]) {
      expect(isSensitiveName(name)).toBe(true);
    }
    for (const name of ["monkey", "keyboardish", "host", "bytesUp", "authority", "passthrough", "somebody"]) {
      expect(isSensitiveName(name)).toBe(false);
    }
  });

  test("byte buffers and objects are never dumped; long strings are clipped", () => {
    const { logger, lines } = capture("json");
    const fields = {
      data: Uint8Array.from([1, 2, 3]),
      buf: Buffer.from("secret bytes"),
      obj: { a: 1 },
      mixed: [1, 2],
      long: "x".repeat(5000),
    } as unknown as Record<string, string>;
    logger.info("x", fields);
    const obj = JSON.parse(lines[0]!);
    expect(obj.data).toBe("[3 bytes]");
    expect(obj.buf).toBe("[12 bytes]");
    expect(obj.obj).toBe("[object]");
    expect(obj.mixed).toBe("[object]");
    expect(obj.long.length).toBeLessThan(1100);
    expect(obj.long.startsWith("x".repeat(1024))).toBe(true);
  });
});

describe("tunnel record", () => {
  test("text line for a clean tunnel", () => {
    const { logger, lines } = capture("text");
    logTunnel(logger, RECORD);
    expect(lines).toEqual([
      "2026-11-25T11:00:00.000Z INFO tunnel closed host=example.com:443 client=127.0.0.1:51234 mode=mitm " +
        "profile=chrome clientAlpn=h2 upstreamAlpn=h2 upstreamVersion=TLSv1.3 upstreamCipher=TLS_AES_128_GCM_SHA256 " +
        "resumed=false bytesUp=517 bytesDown=48213 durationMs=1234 errorCode=-",
    ]);
  });

  test("failed tunnel logs at warn with its error code; unknown TLS fields are null", () => {
    const { logger, lines } = capture("json");
    logTunnel(logger, {
      ...RECORD,
      mode: "passthrough",
      profile: null,
      clientAlpn: null,
      upstreamAlpn: null,
      upstreamVersion: null,
      upstreamCipher: null,
      resumed: null,
      bytesDown: 0,
      errorCode: "UPSTREAM_TIMEOUT",
    });
    expect(JSON.parse(lines[0]!)).toEqual({
      ts: "2026-11-25T11:00:00.000Z",
      level: "warn",
      msg: "tunnel closed",
      host: "example.com:443",
      client: "127.0.0.1:51234",
      mode: "passthrough",
      profile: null,
      clientAlpn: null,
      upstreamAlpn: null,
      upstreamVersion: null,
      upstreamCipher: null,
      resumed: null,
      bytesUp: 517,
      bytesDown: 0,
      durationMs: 1234,
      errorCode: "UPSTREAM_TIMEOUT",
    });
  });

  test("a logger at warn drops clean tunnels but keeps failed ones", () => {
    const { logger, lines } = capture("text", "warn");
    logTunnel(logger, RECORD);
    logTunnel(logger, { ...RECORD, errorCode: "SNI_MISMATCH" });
    expect(lines.length).toBe(1);
    expect(lines[0]).toContain("errorCode=SNI_MISMATCH");
  });
});
