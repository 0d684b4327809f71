/**
 * A client that does not trust the proxy's CA: OpenSSL clients (curl here) send their certificate
 * alert in plaintext even under TLS 1.3, which the engine reads as `bad_record_mac`. The tunnel's
 * record says instead that the client refused the proxy's certificate, and names the alert.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { plaintextAlert, refusedCertificate } from "../src/proxy/client-alert.ts";
import { cleanEnv, run } from "./helpers/fidelity-clients.ts";
import {
  curlThroughProxy,
  type ProxyHandle,
  startHttpModeProxy,
  tlsThroughProxy,
} from "./helpers/proxy-env.ts";
import { makeTestPki, type Origin, startTlsOrigin, type TestPki } from "./helpers/tls-env.ts";
import { waitUntil } from "./helpers/wait.ts";

describe("plaintextAlert / refusedCertificate", () => {
  test("an alert record's description, else -1; certificate alerts only get the CA hint", () => {
    expect(plaintextAlert(Uint8Array.of(0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 48))).toBe(48);
    expect(plaintextAlert(Uint8Array.of(0x15, 0x03, 0x01, 0x00, 0x02, 0x02, 42, 0x16))).toBe(42);
    expect(plaintextAlert(Uint8Array.of(0x17, 0x03, 0x03, 0x00, 0x02, 0x02, 48))).toBe(-1); // encrypted
    expect(plaintextAlert(Uint8Array.of(0x15, 0x03, 0x03, 0x00, 0x13, 0x02, 48))).toBe(-1); // not 2 bytes
    expect(plaintextAlert(Uint8Array.of(0x15, 0x03, 0x03, 0x00, 0x02, 0x02))).toBe(-1); // cut short
    expect(refusedCertificate(48)).toContain("alert unknown_ca");
    expect(refusedCertificate(48)).toContain("PolyTLS CA");
    expect(refusedCertificate(40)).toBeNull(); // handshake_failure: not about our certificate
  });
});

describe("through the running proxy", () => {
  let pki: TestPki;
  let other: TestPki;
  let proxy: ProxyHandle;
  let origin: Origin;
  beforeAll(async () => {
    [pki, other] = await Promise.all([makeTestPki(), makeTestPki()]);
    origin = await startTlsOrigin(await pki.leaf("localhost"));
    proxy = await startHttpModeProxy(pki);
  });
  afterAll(async () => {
    await proxy?.stop();
    await origin?.close();
    pki?.remove();
    other?.remove();
  });

  /** The last `tunnel closed` record for `host`, once logged. */
  async function closedRecord(host: string): Promise<Record<string, unknown>> {
    const closed = () =>
      proxy.logs
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .filter((rec) => rec.msg === "tunnel closed" && rec.host === host);
    await waitUntil(() => closed().length > 0, "the tunnel's record");
    return closed().at(-1) as Record<string, unknown>;
  }

  test("a client that just closes after the proxy's certificate (Bun's TLS does) gets the same hint", async () => {
    const host = `localhost:${origin.port}`;
    const failed = await tlsThroughProxy(proxy.port, host, {
      ca: readFileSync(other.caCertPath, "utf8"),
      servername: "localhost",
    }).then(
      () => null,
      (err: Error) => err,
    );
    expect(failed).not.toBeNull();
    const rec = await closedRecord(host);
    expect(rec.errorCode).toBe("TLS_HANDSHAKE");
    expect(String(rec.reason)).toStartWith(
      "client TLS handshake: the client closed the connection after the proxy's certificate, without an alert",
    );
    expect(String(rec.reason)).toContain("PolyTLS CA");
  });

  // Go's crypto/tls encrypts its alert (TLS 1.3): the engine reads it, and the record names it.
  test.if(Bun.which("go") !== null)(
    "a Go client (its alert encrypted) is named the same way",
    async () => {
      const bin = join(pki.dir, "tls-refuse");
      const env = cleanEnv({ GOFLAGS: "-mod=mod", GOPROXY: "off", GOTOOLCHAIN: "local" });
      const b = await run("go", ["build", "-o", bin, join(import.meta.dir, "helpers", "tls-refuse.go")], {
        env,
      });
      expect(b.err).toBe("");
      const host = `localhost:${origin.port}`;
      const r = await run(bin, [String(proxy.port), host, other.caCertPath]);
      expect(r.out).toStartWith("refused: ");
      const rec = await closedRecord(host);
      expect(rec.errorCode).toBe("TLS_HANDSHAKE");
      expect(String(rec.reason)).toMatch(
        /^client TLS handshake: the client refused the proxy's certificate \(alert [a-z_]+\)/,
      );
    },
    60_000,
  );

  test("curl trusting another CA: the record says the client refused the proxy's certificate", async () => {
    const host = `localhost:${origin.port}`;
    const r = await curlThroughProxy(proxy.port, other.caCertPath, [`https://${host}/`]);
    expect(r.code).toBe(60); // CURLE_PEER_FAILED_VERIFICATION
    const closed = () =>
      proxy.logs
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .filter((rec) => rec.msg === "tunnel closed" && rec.host === host);
    await waitUntil(() => closed().length > 0, "the tunnel's record");
    const rec = closed().at(-1) as Record<string, unknown>;
    expect(rec.errorCode).toBe("TLS_HANDSHAKE");
    expect(String(rec.reason)).toStartWith(
      "client TLS handshake: the client refused the proxy's certificate (alert unknown_ca)",
    );
  });
});
