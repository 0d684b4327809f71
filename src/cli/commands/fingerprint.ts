import { readFileSync } from "node:fs";
import { defineCommand } from "citty";
import { compareFingerprints, formatDiff } from "../../fingerprint/compare.ts";
import { probeProfile } from "../../fingerprint/probe.ts";
import { summarize } from "../../fingerprint/summary.ts";
import { ProfileRegistry } from "../../profiles/registry-store.ts";
import { NativeEngine } from "../../upstream/native/native-engine.ts";
import { configArgs, configFromFlags } from "../options.ts";
import { fingerprintFromFile } from "./profiles.ts";

export const fingerprintCommand = defineCommand({
  meta: {
    name: "fingerprint",
    description: "Handshake with an in-process recorder and print what a profile sends (JA3, JA4, peetprint)",
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
      description: "Capture to compare with (tls.peet.ws JSON or hex ClientHello)",
      valueHint: "FILE",
    },
    json: { type: "boolean", description: "Machine-readable output" },
    ...configArgs,
  },
  async run({ args }) {
    const config = configFromFlags(args);
    const reg = ProfileRegistry.fromConfig(config);
    const name = reg.resolveName(args.profile ?? config.proxy.upstream.defaultProfile);
    const hellos = await probeProfile(new NativeEngine(), reg.spec(name));
    const expected = args.compare
      ? fingerprintFromFile(readFileSync(args.compare, "utf8"), args.compare)
      : null;
    const rows = hellos.map((h, i) => ({
      connection:
        i === 0
          ? "first connection (fresh)"
          : `second connection to the same host (${h.fingerprint.extensions.includes(41) ? "resumption offered" : "no resumption: the profile does not offer it"})`,
      ...summarize(h.fingerprint),
      ...(expected
        ? {
            comparison: compareFingerprints(h.fingerprint, expected, {
              ignoreExtensionOrder: h.fingerprint.extensions.length > 0 && reg.spec(name).permuteExtensions,
              ignoreExtensions: [41],
            }),
          }
        : {}),
    }));
    if (args.json) {
      console.log(JSON.stringify({ profile: name, connections: rows }, null, 2));
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
  },
});
