/**
 * Issue 9's fidelity matrix, request kinds: curl through the running proxy (full HTTP mode, one
 * proxy per built-in profile) to the recording origins. Each kind's request (by `Sec-Fetch-Dest`,
 * by `X-PolyTLS-Request-Kind`, or a JSON POST: fetch) must reach the origin with the profile's
 * `[headers.<kind>]` order and values and, on h2, the `[http2.priority]` fields of that kind in
 * its HEADERS frame; `X-PolyTLS-*` never reaches the origin; `X-PolyTLS-Keep-Headers: user-agent`
 * keeps curl's User-Agent; a custom header goes to the template's `*` slot.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { BUILTIN_PROFILES } from "../src/profiles/builtin.ts";
import { REQUEST_KINDS, type RequestKind } from "../src/profiles/http-types.ts";
import { loadCatalogueCapture } from "./helpers/catalogue.ts";
import { cellDiffs } from "./helpers/fidelity-check.ts";
import { cleanEnv, curlClient } from "./helpers/fidelity-clients.ts";
import { type FidelityEnv, proxyFor, startFidelityEnv } from "./helpers/fidelity-env.ts";
import type { ClientSide } from "./helpers/fidelity-expect.ts";
import type { OriginRequest } from "./helpers/fidelity-origin.ts";

const PROFILES = BUILTIN_PROFILES.map((p) => p.name);
/** Kinds a plain request can be (a WebSocket needs an Upgrade / extended CONNECT). */
const PLAIN_KINDS = REQUEST_KINDS.filter((k) => k !== "websocket");
const JSON_BODY = '{"fidelity":true}';
/** curl's own User-Agent, `curl/<version>` (curl(1) `--user-agent`). */
const CURL_UA = `curl/${/^curl (\S+)/.exec(spawnSync("curl", ["--version"], { env: cleanEnv() }).stdout.toString())?.[1]}`;

let env: FidelityEnv;

beforeAll(async () => {
  env = await startFidelityEnv();
});

afterAll(async () => {
  await env?.close();
});

interface KindCase {
  name: string;
  kind: RequestKind;
  origin: "h2" | "h1";
  flag: "--http2" | "--http1.1";
  curlArgs: string[];
  method?: string;
  client?: ClientSide;
}

function cases(): KindCase[] {
  const list: KindCase[] = [
    {
      name: "Sec-Fetch-Dest: image",
      kind: "image",
      origin: "h2",
      flag: "--http2",
      curlArgs: ["-H", "Sec-Fetch-Dest: image"],
    },
    ...PLAIN_KINDS.map(
      (kind): KindCase => ({
        name: `X-PolyTLS-Request-Kind: ${kind}`,
        kind,
        origin: "h2",
        flag: "--http2",
        curlArgs: ["-H", `X-PolyTLS-Request-Kind: ${kind}`, "-H", "X-PolyTLS-Fidelity-Marker: 1"],
      }),
    ),
    {
      name: "X-PolyTLS-Request-Kind: image, HTTP/1.1-only origin",
      kind: "image",
      origin: "h1",
      flag: "--http1.1",
      curlArgs: ["-H", "X-PolyTLS-Request-Kind: image"],
    },
  ];
  for (const [origin, flag] of [
    ["h2", "--http2"],
    ["h1", "--http1.1"],
  ] as const) {
    list.push({
      name: `POST application/json (fetch), ${origin === "h2" ? "h2" : "HTTP/1.1-only"} origin`,
      kind: "fetch",
      origin,
      flag,
      method: "POST",
      curlArgs: ["-H", "Content-Type: application/json", "--data-binary", JSON_BODY],
      client: {
        pass: [
          ["content-type", "application/json"],
          ["content-length", String(JSON_BODY.length)],
        ],
        clientCase: { "content-type": "Content-Type" },
      },
    });
  }
  list.push(
    {
      name: "X-PolyTLS-Keep-Headers: user-agent keeps curl's User-Agent",
      kind: "navigate",
      origin: "h2",
      flag: "--http2",
      curlArgs: ["-H", "X-PolyTLS-Keep-Headers: user-agent"],
      client: { kept: [["user-agent", CURL_UA]] },
    },
    {
      name: "a custom header goes to the template's * slot",
      kind: "navigate",
      origin: "h2",
      flag: "--http2",
      curlArgs: ["-H", "X-Fidelity-Custom: yes"],
      client: { pass: [["x-fidelity-custom", "yes"]] },
    },
  );
  return list;
}

/**
 * The client fields a case passes, plus the Origin a browser sends on a POST, which the proxy
 * adds for a client that sent none (the target's own origin: src/http/headers/implied-origin.ts).
 */
function withOrigin(c: { method?: string; client?: ClientSide }, origin: string): ClientSide {
  const client = c.client ?? {};
  if (c.method !== "POST") return client;
  return { ...client, pass: [...(client.pass ?? []), ["origin", origin]] };
}

const slug = (s: string) =>
  s
    .replace(/[^a-z0-9]+/gi, "-")
    .replace(/^-|-$/g, "")
    .toLowerCase();

function fieldNames(r: OriginRequest): string[] {
  return (r.protocol === "h2" ? r.req.fields : r.req.headers).map(([n]) => n.toLowerCase());
}

describe("request kinds through the running proxy: each kind's template and priority", () => {
  for (const profile of PROFILES) {
    for (const c of cases()) {
      test(`${profile}: ${c.name}`, async () => {
        const origin = c.origin === "h2" ? env.h2Origin : env.h1Origin;
        const path = `/kinds/${profile}/${slug(c.name)}`;
        const id = "job";
        const got = await curlClient(c.flag).run(
          [
            {
              id,
              proxyPort: proxyFor(env, profile).port,
              url: `https://localhost:${origin.port}${path}`,
              curlArgs: c.curlArgs,
            },
          ],
          { caPath: env.proxyCaPath, tmp: env.tmp },
        );
        const seen = origin.byPath(path);
        const diffs = cellDiffs({
          profile: env.registry.get(profile),
          capture: loadCatalogueCapture(profile),
          origin: c.origin,
          authority: `localhost:${origin.port}`,
          path,
          kind: c.kind,
          ...(c.method ? { method: c.method } : {}),
          ...(c.client ? { client: withOrigin(c, `https://localhost:${origin.port}`) } : {}),
          result: got.get(id),
          seen,
        });
        for (const r of seen) {
          const control = fieldNames(r).filter((n) => n.startsWith("x-polytls-"));
          if (control.length > 0) diffs.push(`control headers reached the origin: ${control.join(", ")}`);
          if (c.method === "POST" && r.req.bodyBytes !== JSON_BODY.length)
            diffs.push(`origin got a ${r.req.bodyBytes}-byte body`);
        }
        expect(diffs).toEqual([]);
      });
    }
  }
});
