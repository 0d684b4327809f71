/**
 * `X-PolyTLS-Upstream-Profile` on requests inside one HTTP-mode tunnel (src/http/bridge/
 * profile-router.ts), through the running proxy (default profile chrome-143) to the recording
 * origins, with real clients: curl (one process, one proxy connection, `--next` per request) over
 * HTTP/2 and HTTP/1.1 to the h2 and the HTTP/1.1-only origin, and Node's nghttp2 client sending
 * every request at once on one session. Each request that names a profile must reach the origin
 * on an upstream connection of its own profile, with that profile's ClientHello, HTTP/2 preface
 * and header template in every component (the fidelity matrix's checks), a second request of the
 * same profile on the same connection; an unknown name is answered 400 with nothing sent; the
 * header never reaches the origin; the tunnel's log line names the other profiles.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { MAX_OTHER_PROFILES, OTHER_PROFILE_H1_CONNECTIONS } from "../src/http/bridge/profile-router.ts";
import { BUILTIN_PROFILES } from "../src/profiles/builtin.ts";
import { loadCatalogueCapture } from "./helpers/catalogue.ts";
import { cellDiffs } from "./helpers/fidelity-check.ts";
import { cleanEnv, run } from "./helpers/fidelity-clients.ts";
import { type FidelityEnv, proxyFor, startFidelityEnv } from "./helpers/fidelity-env.ts";
import { answerFor, type FidelityOrigin, type OriginRequest } from "./helpers/fidelity-origin.ts";
import { waitUntil } from "./helpers/wait.ts";

const TUNNEL = "chrome-143-macos-arm64";

let env: FidelityEnv;
let h2Origin: FidelityOrigin;
let h1Origin: FidelityOrigin;
let port: number;
let caPath: string;
let tmp: string;
let logs: string[];

beforeAll(async () => {
  env = await startFidelityEnv([TUNNEL]); // one proxy, the tunnels' default profile
  ({ h2Origin, h1Origin, proxyCaPath: caPath, tmp } = env);
  ({ port, logs } = proxyFor(env, TUNNEL));
});

afterAll(async () => {
  await env?.close();
});

/** The profile a request names (null: none), the canonical one it must go out as, and its path. */
interface Step {
  ask: string | null;
  as: string | null;
  path: string;
}

function steps(tag: string): Step[] {
  return [
    { ask: null, as: TUNNEL, path: `/switch/${tag}/none` },
    { ask: "firefox-145-macos-arm64", as: "firefox-145-macos-arm64", path: `/switch/${tag}/firefox-1` },
    { ask: "no-such-profile", as: null, path: `/switch/${tag}/unknown` },
    { ask: "safari-26.2-macos-arm64", as: "safari-26.2-macos-arm64", path: `/switch/${tag}/safari` },
    { ask: "firefox-145-macos-arm64", as: "firefox-145-macos-arm64", path: `/switch/${tag}/firefox-2` },
    { ask: TUNNEL, as: TUNNEL, path: `/switch/${tag}/tunnel-named` },
  ];
}

/** Node's HTTP/2 client (h2-batch-client.mjs): every request at once on one session through the proxy. */
async function batch(
  originPort: number,
  requests: { path: string; profile?: string | null; uploadBytes?: number }[],
): Promise<{ path: string; status: number; body: string }[]> {
  const child = spawn("node", [join(import.meta.dir, "helpers", "h2-batch-client.mjs")], { env: cleanEnv() });
  child.stdin.end(JSON.stringify({ proxyPort: port, caPath, host: "localhost", port: originPort, requests }));
  let out = "";
  child.stdout.on("data", (d) => {
    out += d;
  });
  await new Promise((resolve) => child.on("close", resolve));
  return JSON.parse(out) as { path: string; status: number; body: string }[];
}

/** One curl process, one proxy connection: each step a transfer after `--next`, its body in a file. */
async function curlSteps(
  flag: string,
  originPort: number,
  list: Step[],
): Promise<{ status: number; body: string }[]> {
  const args: string[] = [];
  list.forEach((s, i) => {
    if (i > 0) args.push("--next");
    args.push(flag, "-sS", "--max-time", "20", "--cacert", caPath, "-x", `http://127.0.0.1:${port}`);
    if (s.ask !== null) args.push("-H", `X-PolyTLS-Upstream-Profile: ${s.ask}`);
    args.push("-o", join(tmp, `out-${i}`), "-w", "%{http_code} %{num_connects}\\n");
    args.push(`https://localhost:${originPort}${s.path}`);
  });
  const r = await run("curl", args);
  expect(r.code).toBe(0);
  const lines = r.out.trim().split("\n");
  expect(lines.length).toBe(list.length);
  // One connection to the proxy for the whole run: only the first transfer connected.
  expect(lines.map((l) => l.split(" ")[1])).toEqual(list.map((_, i) => (i === 0 ? "1" : "0")));
  return lines.map((l, i) => ({
    status: Number(l.split(" ")[0]),
    body: readFileSync(join(tmp, `out-${i}`), "utf8"),
  }));
}

function controlFields(r: OriginRequest): string[] {
  const fields = r.protocol === "h2" ? r.req.fields : r.req.headers;
  return fields.map(([n]) => n.toLowerCase()).filter((n) => n.startsWith("x-polytls-"));
}

/** Every difference between what the origin saw for the steps and what each profile sends. */
function diffs(
  list: Step[],
  results: { status: number; body: string }[],
  origin: FidelityOrigin,
  kind: "h2" | "h1",
): string[] {
  const out: string[] = [];
  const connOf = new Map<string, unknown>();
  list.forEach((s, i) => {
    const seen = origin.byPath(s.path);
    const result = results[i];
    if (s.as === null) {
      if (result?.status !== 400 || !result.body.includes(`unknown profile "${s.ask}"`))
        out.push(`${s.path}: expected 400 naming the profile, got ${result?.status} ${result?.body}`);
      if (seen.length !== 0) out.push(`${s.path}: the origin saw ${seen.length} requests`);
      return;
    }
    const cell = cellDiffs({
      profile: env.registry.get(s.as),
      capture: loadCatalogueCapture(s.as),
      origin: kind,
      authority: `localhost:${origin.port}`,
      path: s.path,
      result,
      seen,
    });
    out.push(...cell.map((d) => `${s.path} (${s.as}): ${d}`));
    const r = seen[0];
    if (r === undefined) return;
    out.push(...controlFields(r).map((n) => `${s.path}: ${n} reached the origin`));
    const before = connOf.get(s.as);
    if (before === undefined) {
      for (const [other, conn] of connOf)
        if (conn === r.conn) out.push(`${s.path}: ${s.as} shares a connection with ${other}`);
      connOf.set(s.as, r.conn);
    } else if (before !== r.conn) out.push(`${s.path}: a second connection for ${s.as}`);
  });
  return out;
}

/** The first `tunnel closed` line not taken yet that names these other profiles, once logged. */
async function tunnelLine(otherProfiles: string): Promise<Record<string, unknown>> {
  let line: Record<string, unknown> | undefined;
  await waitUntil(() => {
    line = logs
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((l) => l.msg === "tunnel closed" && l.otherProfiles === otherProfiles && !l.checked);
    return line !== undefined;
  }, `a tunnel closed line with otherProfiles ${otherProfiles}`);
  (line as Record<string, unknown>).checked = true; // each test takes its own tunnel's line
  return line as Record<string, unknown>;
}

describe("X-PolyTLS-Upstream-Profile on requests inside a tunnel", () => {
  for (const [flag, originKind] of [
    ["--http2", "h2"],
    ["--http1.1", "h2"],
    ["--http2", "h1"],
    ["--http1.1", "h1"],
  ] as const) {
    test(`curl ${flag}, ${originKind === "h2" ? "h2" : "HTTP/1.1-only"} origin: each request as its profile`, async () => {
      const origin = originKind === "h2" ? h2Origin : h1Origin;
      const list = steps(`${flag.slice(2)}-${originKind}`);
      const results = await curlSteps(flag, origin.port, list);
      expect(diffs(list, results, origin, originKind)).toEqual([]);
      const line = await tunnelLine("firefox-145-macos-arm64,safari-26.2-macos-arm64");
      expect(line.profile).toBe(TUNNEL);
      expect(line.statuses).toBe("200:5,400:1");
      expect(line.errorCode).toBeNull();
    });
  }

  test("Node's HTTP/2 client, every request at once on one session, uploads included", async () => {
    const tag = "node";
    const requests = [
      { path: `/switch/${tag}/a-none`, profile: null },
      { path: `/switch/${tag}/b-firefox`, profile: "firefox-145-macos-arm64" },
      { path: `/switch/${tag}/c-safari`, profile: "safari-26.2-macos-arm64" },
      { path: `/switch/${tag}/d-firefox-upload`, profile: "firefox-145-macos-arm64", uploadBytes: 100_000 },
      { path: `/switch/${tag}/e-unknown`, profile: "nope", uploadBytes: 50_000 },
      { path: `/switch/${tag}/f-safari`, profile: "safari", uploadBytes: 1 }, // the alias of c's
      { path: `/switch/${tag}/g-empty`, profile: "" },
    ];
    const results = await batch(h2Origin.port, requests);
    const statuses = Object.fromEntries(results.map((r) => [r.path.split("/").pop(), r.status]));
    expect(statuses).toEqual({
      "a-none": 200,
      "b-firefox": 200,
      "c-safari": 200,
      "d-firefox-upload": 200,
      "e-unknown": 400,
      "f-safari": 200,
      "g-empty": 200,
    });
    for (const r of results) if (r.status === 200) expect(r.body).toBe(answerFor(r.path));
    const seen = (suffix: string) => h2Origin.byPath(`/switch/${tag}/${suffix}`)[0];
    expect(h2Origin.byPath(`/switch/${tag}/e-unknown`)).toEqual([]);
    const conn = (suffix: string) => seen(suffix)?.conn;
    // The tunnel's profile (no header, an empty one) on one connection, each other profile on its own.
    expect(conn("a-none")).toBeDefined();
    expect(conn("g-empty")).toBe(conn("a-none") as NonNullable<ReturnType<typeof conn>>);
    expect(conn("d-firefox-upload")).toBe(conn("b-firefox") as NonNullable<ReturnType<typeof conn>>);
    expect(conn("f-safari")).toBe(conn("c-safari") as NonNullable<ReturnType<typeof conn>>);
    expect(new Set([conn("a-none"), conn("b-firefox"), conn("c-safari")]).size).toBe(3);
    // The first request of each profile, in every component (hello, preface, template).
    for (const [suffix, profile] of [
      ["a-none", TUNNEL],
      ["b-firefox", "firefox-145-macos-arm64"],
      ["c-safari", "safari-26.2-macos-arm64"],
    ] as const) {
      const path = `/switch/${tag}/${suffix}`;
      const cell = cellDiffs({
        profile: env.registry.get(profile),
        capture: loadCatalogueCapture(profile),
        origin: "h2",
        authority: `localhost:${h2Origin.port}`,
        path,
        result: results.find((r) => r.path === path),
        seen: h2Origin.byPath(path),
      });
      expect(cell).toEqual([]);
    }
    expect(seen("d-firefox-upload")?.req.bodyBytes).toBe(100_000);
    expect(seen("f-safari")?.req.bodyBytes).toBe(1);
    for (const s of ["a-none", "b-firefox", "c-safari", "d-firefox-upload", "f-safari", "g-empty"])
      expect(controlFields(seen(s) as OriginRequest)).toEqual([]);
  });

  test(`HTTP/1.1-only origin: another profile holds at most ${OTHER_PROFILE_H1_CONNECTIONS} connections, the tunnel's own up to 6`, async () => {
    const tag = "h1cap";
    const requests = Array.from({ length: 16 }, (_, i) => ({
      path: `/switch/${tag}/r${String(i).padStart(2, "0")}`, // no path a prefix of another (byPath)
      profile: i % 2 === 0 ? null : "firefox-145-macos-arm64",
      uploadBytes: 300_000, // each holds its connection a while
    }));
    const results = await batch(h1Origin.port, requests);
    expect(results.map((r) => r.status)).toEqual(requests.map(() => 200));
    const conns = (odd: number) =>
      new Set(
        requests
          .filter((_, i) => i % 2 === odd)
          .map((r) => h1Origin.byPath(r.path)[0]?.conn)
          .filter((c) => c !== undefined),
      ).size;
    expect(conns(1)).toBeGreaterThan(0);
    expect(conns(1)).toBeLessThanOrEqual(OTHER_PROFILE_H1_CONNECTIONS);
    expect(conns(0)).toBeGreaterThan(OTHER_PROFILE_H1_CONNECTIONS);
    expect(conns(0)).toBeLessThanOrEqual(6);
  });

  test(`a tunnel takes at most ${MAX_OTHER_PROFILES} other profiles; the next is answered 400`, async () => {
    const others = BUILTIN_PROFILES.map((p) => p.name)
      .filter((n) => n !== TUNNEL)
      .slice(0, MAX_OTHER_PROFILES + 1);
    const list: Step[] = others.map((name, i) => ({ ask: name, as: name, path: `/switch/limit/${i}` }));
    const results = await curlSteps("--http2", h2Origin.port, list);
    expect(results.slice(0, MAX_OTHER_PROFILES).map((r) => r.status)).toEqual(others.slice(1).map(() => 200));
    const last = results[MAX_OTHER_PROFILES];
    expect(last?.status).toBe(400);
    expect(last?.body).toContain(`more than ${MAX_OTHER_PROFILES} other profiles in one tunnel`);
    expect(h2Origin.byPath(`/switch/limit/${MAX_OTHER_PROFILES}`)).toEqual([]);
    const line = await tunnelLine(others.slice(0, MAX_OTHER_PROFILES).join(","));
    expect(line.statuses).toBe(`200:${MAX_OTHER_PROFILES},400:1`);
  });
});
