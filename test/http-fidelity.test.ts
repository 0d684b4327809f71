/**
 * Issue 9's fidelity matrix, through the running proxy in the full HTTP mode (the default), as
 * `polytls run` wires it: every built-in profile × every installed client that is not ours
 * (curl --http2 / --http1.1, Python urllib and requests, Node 20, Go net/http, Java HttpClient),
 * one plain GET each to a recording h2 origin and one to an HTTP/1.1-only origin. The origin must
 * see the browser whatever the client: the capture's ClientHello in every component (full ALPN
 * list with ALPS), the capture's Akamai string, the profile's pseudo-header order, navigation
 * header order and values and HEADERS priority; on HTTP/1.1 Host first, the profile's case and
 * order, no h2-only header. Prints the matrix once and writes it to /tmp/polytls-matrix.txt.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { BUILTIN_PROFILES } from "../src/profiles/builtin.ts";
import { CATALOGUE, loadCatalogueCapture } from "./helpers/catalogue.ts";
import { cellDiffs } from "./helpers/fidelity-check.ts";
import { installedClients, type JobResult, type MatrixClient } from "./helpers/fidelity-clients.ts";
import { type FidelityEnv, proxyFor, startFidelityEnv } from "./helpers/fidelity-env.ts";
import { formatMatrix, type MatrixRow } from "./helpers/fidelity-matrix.ts";
import type { FidelityOrigin } from "./helpers/fidelity-origin.ts";

const MATRIX_FILE = "/tmp/polytls-matrix.txt";
/** Client processes run at once (2 shared cores). */
const PARALLEL_CLIENTS = 2;
/** Setup bound, ms: a cold Go build alone can take ~30 s. */
const SETUP_TIMEOUT_MS = 300_000;

const CLIENTS: MatrixClient[] = installedClients();
const PROFILES = BUILTIN_PROFILES.map((p) => p.name);
const ORIGINS = ["h2", "h1"] as const;
type OriginKind = (typeof ORIGINS)[number];

let env: FidelityEnv;
const results = new Map<string, JobResult>();
const clientErrors = new Map<string, string>();

const slug = (s: string) => s.replace(/[^a-z0-9]+/gi, "-").replace(/^-|-$/g, "");
const pathOf = (client: string, profile: string, origin: OriginKind) =>
  `/fidelity/${slug(client)}/${profile}/${origin}`;
const jobId = (client: string, profile: string, origin: OriginKind) => `${slug(client)}:${profile}:${origin}`;
const originOf = (o: OriginKind): FidelityOrigin => (o === "h2" ? env.h2Origin : env.h1Origin);

async function runClient(c: MatrixClient): Promise<void> {
  const jobs = PROFILES.flatMap((profile) =>
    ORIGINS.map((o) => ({
      id: jobId(c.name, profile, o),
      proxyPort: proxyFor(env, profile).port,
      url: `https://localhost:${originOf(o).port}${pathOf(c.name, profile, o)}`,
    })),
  );
  try {
    const got = await c.run(jobs, { caPath: env.proxyCaPath, tmp: env.tmp });
    for (const [id, r] of got) results.set(id, r);
  } catch (err) {
    clientErrors.set(c.name, String(err));
  }
}

beforeAll(async () => {
  env = await startFidelityEnv();
  const queue = [...CLIENTS];
  const worker = async () => {
    for (let c = queue.shift(); c !== undefined; c = queue.shift()) await runClient(c);
  };
  await Promise.all(Array.from({ length: PARALLEL_CLIENTS }, worker));
}, SETUP_TIMEOUT_MS);

afterAll(async () => {
  await env?.close();
});

function diffsFor(client: MatrixClient, profile: string, origin: OriginKind): string[] {
  const o = originOf(origin);
  const path = pathOf(client.name, profile, origin);
  const failure = clientErrors.get(client.name);
  const diffs = cellDiffs({
    profile: env.registry.get(profile),
    capture: loadCatalogueCapture(profile),
    origin,
    authority: `localhost:${o.port}`,
    path,
    result: results.get(jobId(client.name, profile, origin)),
    seen: o.byPath(path),
  });
  return failure === undefined ? diffs : [`client failed: ${failure}`, ...diffs];
}

describe("fidelity matrix: client × built-in profile through the running proxy (full HTTP mode)", () => {
  test("every built-in profile is in the matrix and has a capture to compare with", () => {
    expect(env.registry.names()).toEqual([...PROFILES].sort());
    expect(PROFILES.filter((p) => CATALOGUE[p] === undefined)).toEqual([]);
  });

  for (const client of CLIENTS) {
    for (const profile of PROFILES) {
      test(`${client.name} × ${profile}: the h2 origin sees the browser's hello, Akamai, pseudo order, navigation headers`, () => {
        expect(diffsFor(client, profile, "h2")).toEqual([]);
      });
      test(`${client.name} × ${profile}: the HTTP/1.1-only origin sees the browser's hello, Host first, h1 case and order`, () => {
        expect(diffsFor(client, profile, "h1")).toEqual([]);
      });
    }
  }

  test("the cell check tells browsers apart: a Chrome cell judged against Firefox's profile fails in every part", () => {
    const [chrome, firefox] = ["chrome-143-macos-arm64", "firefox-145-macos-arm64"];
    const client = CLIENTS[0] as MatrixClient;
    for (const origin of ORIGINS) {
      const o = originOf(origin);
      const path = pathOf(client.name, chrome, origin);
      const diffs = cellDiffs({
        profile: env.registry.get(firefox),
        capture: loadCatalogueCapture(firefox),
        origin,
        authority: `localhost:${o.port}`,
        path,
        result: results.get(jobId(client.name, chrome, origin)),
        seen: o.byPath(path),
      });
      const parts = [
        "hello ciphers",
        "hello extension",
        ...(origin === "h2"
          ? ["akamai", "pseudo-header order", "navigate headers (h2)", "HEADERS priority"]
          : ["navigate head (h1)"]),
      ];
      for (const part of parts) expect([part, diffs.some((d) => d.startsWith(part))]).toEqual([part, true]);
    }
  });

  test("the matrix is printed once and written to /tmp/polytls-matrix.txt", () => {
    const rows: MatrixRow[] = CLIENTS.flatMap((c) =>
      PROFILES.map((profile) => ({
        client: c.name,
        profile,
        h2: env.h2Origin.byPath(pathOf(c.name, profile, "h2"))[0],
        h1: env.h1Origin.byPath(pathOf(c.name, profile, "h1"))[0],
        h2Ok: diffsFor(c, profile, "h2").length === 0,
        h1Ok: diffsFor(c, profile, "h1").length === 0,
      })),
    );
    const text = formatMatrix(
      rows,
      `PolyTLS fidelity matrix (proxy.mitm.http = "full"; ${CLIENTS.length} clients × ${PROFILES.length} profiles)`,
    );
    console.log(text);
    writeFileSync(MATRIX_FILE, `${text}\n`);
    // What passed or failed is each cell's own test above; here: every cell has its row.
    expect(rows).toHaveLength(CLIENTS.length * PROFILES.length);
    for (const c of CLIENTS)
      expect(text.split("\n").filter((l) => l.startsWith(c.name))).toHaveLength(PROFILES.length);
  });
});
