/**
 * The README's trust recipes for Java and Go, run for real: the proxy (`polytls run`) and an origin
 * on loopback, the CA the proxy created on its first start, and the client tools with exactly the
 * README's commands (`keytool` + `-Djavax.net.ssl.trustStore…`, `SSL_CERT_FILE`). Each recipe also
 * runs once without its trust step, which must fail certificate verification.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, readFileSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { BUILTIN_ALIASES, DEFAULT_PROFILE } from "../src/profiles/builtin.ts";
import { killAll, makeSandbox, runToEnd } from "./helpers/exe-process.ts";
import { goBuildCache, pathFor, requireTool, startRecipeProxy } from "./helpers/recipe-proxy.ts";

const README = readFileSync(resolve(import.meta.dir, "../README.md"), "utf8");
const HELPERS = resolve(import.meta.dir, "helpers");
/** Compiling and running one client: `java Client.java` takes ~3 s here, `go run` ~1 s with a warm cache. */
const CLIENT_TIMEOUT_MS = 90_000; // ms; with a cold Go build cache, net/http is compiled first (~25 s on 2 cores)
const TEST_TIMEOUT_MS = 180_000; // ms; two client runs plus the proxy's start and stop

// The commands as the README prints them (the test checks that it does).
const KEYTOOL =
  "keytool -importcert -noprompt -alias polytls -file ca/certificate.pem -keystore polytls-truststore.p12 -storetype PKCS12 -storepass changeit";
const JAVA_TRUST =
  "-Djavax.net.ssl.trustStore=polytls-truststore.p12 -Djavax.net.ssl.trustStorePassword=changeit";
const GO_TRUST = "SSL_CERT_FILE=ca/certificate.pem";

let root: string;
let env: Record<string, string>;

beforeAll(() => {
  ({ root, env } = makeSandbox("polytls-recipes-"));
});

afterAll(async () => {
  await killAll();
  rmSync(root, { recursive: true, force: true });
});

/** README lines are wrapped with `\`; compare them joined. */
const readmeText = README.replace(/\\\n\s*/g, "");

/** Fails naming the line (not printing the whole README) when the README lacks it. */
function expectReadmeHas(line: string): void {
  expect(readmeText.includes(line) ? line : `(not in README.md) ${line}`).toBe(line);
}

describe("Java: HttpClient with a keytool truststore", () => {
  test(
    "the README's keytool and JVM flags make `java Client.java` trust the proxy; without them, PKIX fails",
    async () => {
      expectReadmeHas(KEYTOOL);
      expectReadmeHas(`java ${JAVA_TRUST} Client.java`);
      const java = requireTool("java");
      const keytool = requireTool("keytool");
      const childEnv = { HOME: env.HOME ?? root, PATH: pathFor([java, keytool]) };
      const p = await startRecipeProxy(root, env);
      try {
        copyFileSync(join(HELPERS, "recipe-Client.java"), join(p.cwd, "Client.java"));
        const made = await runToEnd([keytool, ...KEYTOOL.split(" ").slice(1)], { cwd: p.cwd, env: childEnv });
        expect(made.stderr + made.stdoutText).not.toContain("rror");
        expect(made.code).toBe(0);

        const args = ["Client.java", `${p.originUrl}/java-recipe`, String(p.proxyPort)];
        const timeoutMs = CLIENT_TIMEOUT_MS;
        const untrusted = await runToEnd([java, ...args], { cwd: p.cwd, env: childEnv, timeoutMs });
        expect(untrusted.code).not.toBe(0);
        expect(untrusted.stderr).toContain("PKIX path building failed");

        const cmd = [java, ...JAVA_TRUST.split(" "), ...args];
        const r = await runToEnd(cmd, { cwd: p.cwd, env: childEnv, timeoutMs });
        expect(r.stderr).toBe("");
        expect(r.stdoutText).toBe("200 2.0 /java-recipe\n");
        expect(p.origin.seen).toEqual([{ alpn: "2.0", path: "/java-recipe" }]);
        const failed = await p.tunnelClosed((rec) => rec.errorCode !== null);
        expect(failed.upstreamAlpn).toBeNull(); // refused by the client before any upstream TLS
        const closed = await p.tunnelClosed((rec) => rec.errorCode === null);
        expect(closed).toMatchObject({ mode: "mitm", profile: DEFAULT_PROFILE, upstreamAlpn: "h2" });
      } finally {
        await p.stop();
      }
    },
    TEST_TIMEOUT_MS,
  );
});

describe("Go: net/http with SSL_CERT_FILE", () => {
  test(
    "the README's SSL_CERT_FILE makes `go run client.go` trust the proxy; without it, x509 fails",
    async () => {
      expectReadmeHas(`${GO_TRUST} go run client.go`);
      expectReadmeHas('ProxyConnectHeader: http.Header{"X-PolyTLS-Upstream-Profile": {"firefox"}}');
      const go = requireTool("go");
      const childEnv = {
        HOME: env.HOME ?? root,
        PATH: pathFor([go]),
        GOCACHE: goBuildCache(go),
        GOFLAGS: "-mod=mod",
        GOPROXY: "off", // standard library only: nothing may be downloaded
        GOTOOLCHAIN: "local",
      };
      const p = await startRecipeProxy(root, env);
      try {
        copyFileSync(join(HELPERS, "recipe-client.go"), join(p.cwd, "client.go"));
        const args = ["run", "client.go", `${p.originUrl}/go-recipe`, `http://127.0.0.1:${p.proxyPort}`];
        const timeoutMs = CLIENT_TIMEOUT_MS;
        const untrusted = await runToEnd([go, ...args], { cwd: p.cwd, env: childEnv, timeoutMs });
        expect(untrusted.code).not.toBe(0);
        expect(untrusted.stderr).toContain("x509: certificate signed by unknown authority");

        const [name, value] = GO_TRUST.split("=") as [string, string];
        const trusted = { ...childEnv, [name]: value };
        // With the README's ProxyConnectHeader hint: the profile header on the CONNECT request.
        const r = await runToEnd([go, ...args, "firefox"], { cwd: p.cwd, env: trusted, timeoutMs });
        expect(r.stderr).toBe("");
        expect(r.stdoutText).toBe("200 2.0 /go-recipe\n");
        expect(p.origin.seen).toEqual([{ alpn: "2.0", path: "/go-recipe" }]);
        const failed = await p.tunnelClosed((rec) => rec.errorCode !== null);
        expect(failed.upstreamAlpn).toBeNull(); // refused by the client before any upstream TLS
        const closed = await p.tunnelClosed((rec) => rec.errorCode === null);
        expect(closed).toMatchObject({ mode: "mitm", profile: BUILTIN_ALIASES.firefox, upstreamAlpn: "h2" });
      } finally {
        await p.stop();
      }
    },
    TEST_TIMEOUT_MS,
  );
});
