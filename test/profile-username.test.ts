/**
 * Profile by proxy user name (issue 11 item 1): `firefox@proxy` with proxy auth off,
 * `alice-profile-firefox:password@proxy` with it on, through real clients (curl, python3 urllib,
 * Java HttpClient with an Authenticator); the origin sees the chosen profile's ClientHello.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { RunningProxy } from "../src/cli/serve.ts";
import {
  curl,
  DEFAULT,
  FIREFOX,
  FIREFOX_JA4,
  type HopEnv,
  helloJa4,
  run,
  startHopEnv,
  tunnelRecords,
} from "./helpers/hop-env.ts";
import { connectRequest, rawConnect, readToClose } from "./helpers/proxy-env.ts";
import { waitUntil } from "./helpers/wait.ts";

let env: HopEnv;
let open: RunningProxy;
let openLogs: string[];
let authed: RunningProxy;
let authedLogs: string[];
const PASSWORD = "s3cret-pw";

beforeAll(async () => {
  env = await startHopEnv();
  ({ proxy: open, logs: openLogs } = await env.polytls());
  ({ proxy: authed, logs: authedLogs } = await env.polytls((c) => {
    c.proxy.auth.users = [`alice:${PASSWORD}`];
  }));
});

afterAll(async () => {
  await env?.close();
});

const proxyUrl = (p: RunningProxy, userinfo: string) => `http://${userinfo}@127.0.0.1:${p.address.port}`;

async function curlVia(p: RunningProxy, userinfo: string | null, port: number, extra: string[] = []) {
  const proxy = userinfo === null ? `http://127.0.0.1:${p.address.port}` : proxyUrl(p, userinfo);
  return curl(["-x", proxy, "--cacert", env.caPath, ...extra, `https://localhost:${port}/p`]);
}

/** python3 urllib, credentials in the proxy URL (urllib sends them only with a non-empty password). */
const URLLIB = `
import ssl, sys, urllib.request
proxy, url, ca = sys.argv[1:4]
ctx = ssl.create_default_context(cafile=ca)
opener = urllib.request.build_opener(urllib.request.ProxyHandler({"https": proxy}), urllib.request.HTTPSHandler(context=ctx))
try:
    with opener.open(url, timeout=20) as r:
        print(r.status, r.read().decode())
except urllib.error.URLError as e:
    print("error", e)
`;

async function urllib(proxy: string, port: number): Promise<string> {
  const r = await run("python3", ["-c", URLLIB, proxy, `https://localhost:${port}/u`, env.caPath]);
  return r.stdout.trim() || r.stderr;
}

describe("proxy auth off: the user name is the profile", () => {
  test("curl -x http://<profile>@proxy: the origin sees that profile's hello (JA4 of its capture)", async () => {
    const rec = await env.recorder();
    const r = await curlVia(open, FIREFOX, rec.port);
    expect(r.status).toBe(200);
    expect(r.body).toBe("2.0 /p");
    expect(await helloJa4(rec)).toBe(FIREFOX_JA4);
    // Without a user name: the default profile, another hello.
    const d = await curlVia(open, null, rec.port);
    expect(d.status).toBe(200);
    expect(await helloJa4(rec, 1)).not.toBe(FIREFOX_JA4);
  });

  test("python3 urllib with credentials in the proxy URL (any password is ignored)", async () => {
    const rec = await env.recorder();
    expect(await urllib(proxyUrl(open, `${FIREFOX}:ignored`), rec.port)).toBe("200 2.0 /u");
    expect(await helloJa4(rec)).toBe(FIREFOX_JA4);
  });

  test("an alias works, and the X-PolyTLS-Upstream-Profile header wins over the user name", async () => {
    const rec = await env.recorder();
    const a = await curlVia(open, "firefox", rec.port);
    expect(a.status).toBe(200);
    const h = await curlVia(open, FIREFOX, rec.port, [
      "--proxy-header",
      `X-PolyTLS-Upstream-Profile: ${DEFAULT}`,
    ]);
    expect(h.status).toBe(200);
    expect(await helloJa4(rec, 1)).not.toBe(FIREFOX_JA4);
    const mine = () => tunnelRecords(openLogs).filter((r) => String(r.host) === `localhost:${rec.port}`);
    await waitUntil(() => mine().length === 2, "both tunnels logged");
    const records = mine();
    expect(records.map((r) => String(r.profile).split("-")[0])).toEqual(["firefox", "chrome"]);
    expect(records[1]?.profile).toBe(DEFAULT);
  });

  test("an unknown profile in the user name is 400 naming it", async () => {
    const auth = `Basic ${Buffer.from("no-such-browser:").toString("base64")}`;
    const { socket, status, head, rest } = await rawConnect(
      open.address.port,
      connectRequest(`localhost:${env.origin.port}`, { "Proxy-Authorization": auth }),
    );
    const body = await readToClose(socket, rest);
    expect(status).toBe(400);
    expect(head).toContain("400");
    expect(body).toContain("no-such-browser");
  });
});

describe("malformed Basic credentials, where the user name would choose the profile", () => {
  const basic = (text: string) => `Basic ${Buffer.from(text).toString("base64")}`;
  /** A CONNECT to the origin with these headers: the status and, when refused, the body. */
  async function connectWith(p: RunningProxy, headers: Record<string, string>) {
    const { socket, status, rest } = await rawConnect(
      p.address.port,
      connectRequest(`localhost:${env.origin.port}`, headers),
    );
    if (status === 200) {
      socket.destroy();
      return { status, body: "" };
    }
    return { status, body: await readToClose(socket, rest) };
  }

  test("proxy auth off: no ':' after decoding, or no base64, is 400 saying so (not the default profile)", async () => {
    const noColon = await connectWith(open, { "Proxy-Authorization": basic(FIREFOX) });
    expect(noColon).toEqual({
      status: 400,
      body: "400 Bad Request: malformed Basic proxy credentials: no ':' after base64 decoding (expected the base64 of name:password; the name selects the profile)\n",
    });
    for (const value of ["Basic !!not-base64!!", "Basic", `basic ${basic(FIREFOX).slice(6)}x`]) {
      const r = await connectWith(open, { "Proxy-Authorization": value });
      expect([r.status, r.body.split(": ").slice(1, 3).join(": ")], value).toEqual([
        400,
        expect.stringMatching(
          /^malformed Basic proxy credentials: (not base64|no ':' after base64 decoding)/,
        ),
      ]);
    }
    // Logged as a refusal, its reason whole (not taken for a credential by the log guard).
    await waitUntil(
      () =>
        openLogs.some((l) => l.includes("malformed Basic proxy credentials: no ':' after base64 decoding")),
      "the refusal logged",
    );
    // Not used for the profile, so not looked at: the header chooses, or another scheme.
    expect(
      (
        await connectWith(open, {
          "Proxy-Authorization": basic(FIREFOX),
          "X-PolyTLS-Upstream-Profile": FIREFOX,
        })
      ).status,
    ).toBe(200);
    expect((await connectWith(open, { "Proxy-Authorization": "Bearer abc.def" })).status).toBe(200);
    expect((await connectWith(open, { "Proxy-Authorization": basic(`${FIREFOX}:x`) })).status).toBe(200);
  });

  test("proxy auth on: refused as wrong credentials (407); passthrough (no profile): ignored", async () => {
    expect((await connectWith(authed, { "Proxy-Authorization": basic("alice") })).status).toBe(407);
    const { proxy: blind } = await env.polytls((c) => {
      c.proxy.mitm.enabled = false;
    });
    expect((await connectWith(blind, { "Proxy-Authorization": basic(FIREFOX) })).status).toBe(200);
  });
});

describe("proxy auth on: <user>-profile-<profile>:<password>", () => {
  test("curl: the account is checked and the profile applied; plain user name = default profile", async () => {
    const rec = await env.recorder();
    const r = await curlVia(authed, `alice-profile-${FIREFOX}:${PASSWORD}`, rec.port);
    expect(r.status).toBe(200);
    expect(await helloJa4(rec)).toBe(FIREFOX_JA4);
    const plain = await curlVia(authed, `alice:${PASSWORD}`, rec.port);
    expect(plain.status).toBe(200);
    expect(await helloJa4(rec, 1)).not.toBe(FIREFOX_JA4);
    // The profile suffix does not let a wrong password through, nor a profile name as the user.
    const wrong = await curlVia(authed, `alice-profile-${FIREFOX}:nope`, rec.port);
    expect(wrong.connect).toBe(407);
    const bare = await curlVia(authed, `${FIREFOX}:${PASSWORD}`, rec.port);
    expect(bare.connect).toBe(407);
    expect(rec.hellos).toHaveLength(2);
    for (const line of authedLogs) expect(line).not.toContain(PASSWORD);
  });

  test("python3 urllib with user and profile in the proxy URL", async () => {
    const rec = await env.recorder();
    expect(await urllib(proxyUrl(authed, `alice-profile-${FIREFOX}:${PASSWORD}`), rec.port)).toBe(
      "200 2.0 /u",
    );
    expect(await helloJa4(rec)).toBe(FIREFOX_JA4);
  });

  test("Java HttpClient with an Authenticator (answers the proxy's 407)", async () => {
    const rec = await env.recorder();
    const r = await run("java", [
      "-Djdk.http.auth.tunneling.disabledSchemes=",
      `${import.meta.dir}/helpers/hop-java-client.java`,
      String(authed.address.port),
      `alice-profile-${FIREFOX}`,
      PASSWORD,
      `https://localhost:${rec.port}/j`,
      env.caPath,
    ]);
    expect(r.stderr).toBe("");
    expect(r.stdout.trim()).toBe("200 2.0 /j");
    expect(await helloJa4(rec)).toBe(FIREFOX_JA4);
  }, 60_000);
});
