/**
 * Bodies through the running proxy in the full HTTP mode, checksummed (sha256), both ways, for
 * every client protocol (curl --http1.1 / --http2) × origin protocol (Node 20 and Bun origins,
 * h2 with HTTP/1.1 fallback and h1 only): 0 B, 1 B, 64 KiB, and 100 MiB once per combination;
 * chunked uploads and `Expect: 100-continue`.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  curl,
  curlSha,
  type E2eEnv,
  type E2eOrigin,
  patternFile,
  patternSha,
  startE2e,
} from "./helpers/e2e-env.ts";

let env: E2eEnv;
beforeAll(async () => {
  env = await startE2e();
});
afterAll(async () => {
  await env?.close();
});

const CLIENTS = ["--http1.1", "--http2"] as const;
const SMALL = [0, 1, 65_536];
const BIG = 100 * 1024 * 1024;

function origins(): E2eOrigin[] {
  return [env.origins.nodeH2, env.origins.nodeH1, env.origins.bunH2, env.origins.bunH1];
}

async function download(flag: string, o: E2eOrigin, n: number, cl: boolean): Promise<void> {
  const r = await curlSha(env, [flag, "--fail", `https://${o.authority}/bytes?n=${n}${cl ? "&cl=1" : ""}`]);
  expect(r.err).toBe("");
  expect(r.code).toBe(0);
  expect(r.sha).toBe(patternSha(n));
}

async function upload(flag: string, o: E2eOrigin, n: number, extra: string[] = []): Promise<void> {
  const file = await patternFile(env.dir, n);
  const r = await curl(env, [
    flag,
    "--fail",
    ...extra,
    "--data-binary",
    `@${file}`,
    `https://${o.authority}/echo`,
  ]);
  expect(r.err).toBe("");
  const got = JSON.parse(r.out) as { n: number; sha: string };
  expect({ n: got.n, sha: got.sha }).toEqual({ n, sha: patternSha(n) });
}

describe("bodies, client × origin, checksummed", () => {
  for (const flag of CLIENTS) {
    test(`curl ${flag}: 0 B, 1 B, 64 KiB down and up, every origin`, async () => {
      for (const o of origins()) {
        for (const n of SMALL) {
          await download(flag, o, n, true);
          await download(flag, o, n, false);
          await upload(flag, o, n);
        }
      }
    });
  }

  for (const flag of CLIENTS) {
    for (const which of ["nodeH2", "nodeH1"] as const) {
      test(`curl ${flag} → ${which}: 100 MiB down and up`, async () => {
        const o = env.origins[which];
        await download(flag, o, BIG, which === "nodeH1");
        await upload(flag, o, BIG);
      }, 60_000);
    }
  }

  test("chunked uploads (curl -H 'Transfer-Encoding: chunked') reach both origin kinds whole", async () => {
    for (const o of [env.origins.nodeH2, env.origins.nodeH1]) {
      for (const n of [0, 1, 65_536, 3_000_000]) {
        await upload("--http1.1", o, n, ["-H", "Transfer-Encoding: chunked"]);
      }
    }
  });

  test("Expect: 100-continue (curl over HTTP/1.1) gets its 100 and the upload arrives whole", async () => {
    const file = await patternFile(env.dir, 2_000_000);
    for (const o of [env.origins.nodeH2, env.origins.nodeH1]) {
      const r = await curl(env, [
        "--http1.1",
        "-v",
        "-H",
        "Expect: 100-continue",
        "--data-binary",
        `@${file}`,
        `https://${o.authority}/echo`,
      ]);
      expect(r.err).toContain("HTTP/1.1 100 Continue");
      const got = JSON.parse(r.out) as { n: number; sha: string };
      expect({ n: got.n, sha: got.sha }).toEqual({ n: 2_000_000, sha: patternSha(2_000_000) });
      const seen = (await o.stats()).reqs.at(-1);
      expect((seen?.raw ?? []).map((x) => x.toLowerCase())).not.toContain("expect");
    }
  });
});
