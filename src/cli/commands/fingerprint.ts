import { defineCommand } from "citty";
import { readTextFile } from "../../config/read-text.ts";
import { compareFingerprints, formatDiff } from "../../fingerprint/compare.ts";
import { compareH2, h2FromPeet, type PeetH2 } from "../../fingerprint/h2-compare.ts";
import { formatH2, formatH2Comparison } from "../../fingerprint/h2-format.ts";
import { summarizeH2 } from "../../fingerprint/h2-summary.ts";
import { probeProfileWire } from "../../fingerprint/probe.ts";
import { profileCompareOptions } from "../../fingerprint/profile-compare.ts";
import { summarize } from "../../fingerprint/summary.ts";
import { ProfileRegistry } from "../../profiles/registry-store.ts";
import { NativeEngine } from "../../upstream/native/native-engine.ts";
import { configArgs, configFromFlags } from "../options.ts";
import { fingerprintFromFile } from "./profiles.ts";

/** The capture's `http2` section, or why there is nothing to compare the HTTP/2 part with. */
function captureH2(text: string): PeetH2 | string {
  const trimmed = text.trim();
  if (!trimmed.startsWith("{")) return "a hex ClientHello has no HTTP/2 part";
  return h2FromPeet(JSON.parse(trimmed)) ?? "the capture has no http2 section";
}

export const fingerprintCommand = defineCommand({
  meta: {
    name: "fingerprint",
    description:
      "Connect to an in-process recorder and print what a profile sends (JA3, JA4, peetprint; HTTP/2 Akamai and header order)",
  },
  args: {
    profile: {
      type: "string",
      alias: "p",
      description: "Profile name or alias (default: the default profile)",
      valueHint: "NAME",
    },
    compare: {
      type: "string",
      description:
        "Capture to compare with (tls.peet.ws JSON, curl-impersonate YAML, phantom record_N_hex= lines or a hex ClientHello); the exit status is 0 either way",
      valueHint: "FILE",
    },
    json: { type: "boolean", description: "Machine-readable output" },
    verbose: { type: "boolean", description: "Show the HTTP/2 request's header values too" },
    ...configArgs,
  },
  async run({ args }) {
    // -p names the profile to fingerprint, not the proxy's default (an unknown one is
    // UNKNOWN_PROFILE, as in `profiles show`).
    const config = configFromFlags({ ...args, profile: undefined });
    const reg = ProfileRegistry.fromConfig(config);
    const name = reg.resolveName(args.profile ?? config.proxy.upstream.defaultProfile);
    const spec = reg.spec(name);
    const probe = await probeProfileWire(new NativeEngine(), spec, reg.get(name).http);
    const text = args.compare ? readTextFile(args.compare, "capture file") : null;
    const expected = text !== null && args.compare ? fingerprintFromFile(text, args.compare) : null;
    const rows = probe.hellos.map((h, i) => ({
      connection:
        i === 0
          ? "first connection (fresh)"
          : `second connection to the same host (${h.fingerprint.extensions.includes(41) ? "resumption offered" : "no resumption: the profile does not offer it"})`,
      ...summarize(h.fingerprint),
      ...(expected
        ? {
            comparison: compareFingerprints(
              h.fingerprint,
              expected,
              profileCompareOptions(spec, h.fingerprint, h.raw.length, expected),
            ),
          }
        : {}),
    }));
    const h2 = probe.h2?.ok ? { status: probe.h2.status, ...summarizeH2(probe.h2.bytes) } : null;
    const h2Capture = text === null ? null : captureH2(text);
    const h2Comparison =
      h2 && h2Capture !== null && typeof h2Capture !== "string" ? compareH2(h2, h2Capture) : null;
    const skipped = probe.h2 && !probe.h2.ok ? probe.h2.reason : "not probed";
    if (args.json) {
      const http2 = h2
        ? {
            ...h2,
            ...(h2Comparison ? { comparison: h2Comparison } : {}),
            ...(typeof h2Capture === "string" ? { notCompared: h2Capture } : {}),
          }
        : { skipped };
      console.log(JSON.stringify({ profile: name, connections: rows, http2 }, null, 2));
      return;
    }
    console.log(`profile ${name}`);
    for (const r of rows) {
      console.log(`\n${r.connection}`);
      console.log(`  JA3        ${r.ja3Hash}  ${r.ja3}`);
      console.log(`  JA4        ${r.ja4}`);
      console.log(`  JA4_r      ${r.ja4r}`);
      console.log(`  peetprint  ${r.peetprintHash}  ${r.peetprint}`);
      if (r.comparison) {
        console.log(
          r.comparison.equal
            ? "  matches the capture in every component"
            : formatDiff(r.comparison).replace(/^/gm, "  "),
        );
      }
    }
    if (!h2) {
      console.log(`\nHTTP/2: no request sent (${skipped})`);
      return;
    }
    console.log(
      `\nHTTP/2 on the first connection: one navigation request as the proxy sends it (response ${h2.status})`,
    );
    for (const line of formatH2(h2, { values: args.verbose === true })) console.log(line);
    if (h2Comparison) for (const line of formatH2Comparison(h2Comparison)) console.log(line);
    else if (typeof h2Capture === "string") console.log(`  not compared: ${h2Capture}`);
  },
});
