import { basename } from "node:path";
import { defineCommand } from "citty";
import { readTextFile } from "../../config/read-text.ts";
import { ProxyError } from "../../errors/proxy-error.ts";
import { parseClientHello } from "../../fingerprint/clienthello.ts";
import { isCurlSignature, parseCurlSignature } from "../../fingerprint/curl-signature.ts";
import { fingerprintFromPeetJson } from "../../fingerprint/peet.ts";
import type { ClientHelloFingerprint } from "../../fingerprint/types.ts";
import { builtinOverride } from "../../profiles/builtin-override.ts";
import { profileFromFingerprint } from "../../profiles/import.ts";
import { ProfileRegistry } from "../../profiles/registry-store.ts";
import { profileToToml } from "../../profiles/schema.ts";
import { configArgs, configFromFlags } from "../options.ts";

/**
 * A capture is tls.peet.ws JSON, a curl-impersonate signature (YAML), phantom's key=value text
 * (`record_N_hex=` lines), or a raw ClientHello as hex (record or handshake message).
 */
export function fingerprintFromFile(text: string, file: string): ClientHelloFingerprint {
  try {
    return fingerprintFromText(text);
  } catch (err) {
    // Whatever the format, the message names the file it came from.
    const e = ProxyError.wrap(err, "CONFIG_INVALID");
    throw new ProxyError(e.code, `capture file ${file}: ${e.message}`, { cause: e });
  }
}

function fingerprintFromText(text: string): ClientHelloFingerprint {
  const trimmed = text.trim();
  if (trimmed.startsWith("{")) return fingerprintFromPeetJson(trimmed);
  if (isCurlSignature(trimmed)) return parseCurlSignature(trimmed).fingerprint;
  const records = [...trimmed.matchAll(/^record_\d+_hex=([0-9a-fA-F]+)$/gm)].map((m) => m[1] ?? "");
  const hex = records.length > 0 ? records.join("") : trimmed.replace(/^0x/i, "").replace(/[\s:]/g, "");
  if (hex.length === 0 || hex.length % 2 !== 0 || !/^[0-9a-fA-F]+$/.test(hex)) {
    throw new ProxyError(
      "CONFIG_INVALID",
      "neither tls.peet.ws JSON, a curl-impersonate signature, phantom record_N_hex= lines nor a hex ClientHello",
    );
  }
  return parseClientHello(Uint8Array.from(Buffer.from(hex, "hex")));
}

/** The `http2` section of a tls.peet.ws answer (already parsed once as valid JSON), if any. */
function peetHttp2(text: string): unknown {
  const trimmed = text.trim();
  if (!trimmed.startsWith("{")) return undefined;
  const json: unknown = JSON.parse(trimmed);
  return typeof json === "object" && json !== null ? (json as { http2?: unknown }).http2 : undefined;
}

/**
 * Why an imported profile's name needs a look, or null: a built-in's name or alias, which the table
 * would replace or take over in a config (an unusable name is refused by the import itself).
 */
function importNameWarning(name: string): string | null {
  const shown = JSON.stringify(name);
  const o = builtinOverride(name);
  if (o === null) return null;
  const what =
    o.kind === "profile"
      ? "the name of a built-in profile: in a config, this table replaces that built-in"
      : `a built-in alias (of ${o.aliasOf}): in a config, this table takes the alias over`;
  return `profile name ${shown} is ${what}; choose another with --name NAME`;
}

export const profilesCommand = defineCommand({
  meta: { name: "profiles", description: "List, show and import upstream TLS profiles" },
  subCommands: {
    list: defineCommand({
      meta: {
        name: "list",
        description: "List profiles and aliases: family, version, OS, architecture, capture date and source",
      },
      args: {
        json: { type: "boolean", description: "Machine-readable output (one JSON array)" },
        ...configArgs,
      },
      run({ args }) {
        const config = configFromFlags(args);
        const reg = ProfileRegistry.fromConfig(config);
        const rows = reg.names().map((name) => {
          const p = reg.get(name);
          const aliases = [...reg.aliases()].filter(([, t]) => t === name).map(([a]) => a);
          return {
            name,
            origin: p.origin,
            aliases,
            description: p.description,
            extends: p.chain[1] ?? null,
            metadata: p.metadata,
          };
        });
        if (args.json) {
          console.log(JSON.stringify(rows, null, 2));
          return;
        }
        for (const r of rows) {
          const tag = r.aliases.length > 0 ? ` (alias: ${r.aliases.join(", ")})` : "";
          const m = r.metadata;
          const meta = m
            ? ` [${m.family} ${m.version}, ${m.os} ${m.arch}, captured ${m.captured}, source ${m.source}]`
            : "";
          console.log(`${r.name}${tag}${r.description ? ` — ${r.description}` : ""}${meta}`);
        }
      },
    }),
    show: defineCommand({
      meta: { name: "show", description: "Print a profile, fully resolved (TLS and HTTP sections), as TOML" },
      args: {
        name: { type: "positional", description: "Profile name or alias", required: true },
        ...configArgs,
      },
      run({ args }) {
        const reg = ProfileRegistry.fromConfig(configFromFlags(args));
        const p = reg.get(args.name);
        process.stdout.write(profileToToml(p, [`resolved profile "${p.name}"`]));
      },
    }),
    import: defineCommand({
      meta: {
        name: "import",
        description:
          "Turn a capture (tls.peet.ws JSON, curl-impersonate YAML, phantom record_N_hex= lines or a hex ClientHello) into a profile TOML on stdout",
      },
      args: {
        file: { type: "positional", description: "Capture file", required: true },
        name: { type: "string", description: "Profile name (default: the file name)", valueHint: "NAME" },
      },
      run({ args }) {
        const text = readTextFile(args.file, "capture file");
        const fp = fingerprintFromFile(text, args.file);
        const name = args.name ?? basename(args.file).replace(/\.[^.]*$/, "");
        const { toml, unsupported } = profileFromFingerprint(fp, name, { http2: peetHttp2(text) });
        process.stdout.write(toml);
        for (const u of unsupported) process.stderr.write(`not reproducible: ${u}\n`);
        // A name taken from the file may be a built-in's: in a config, the table would then replace
        // that profile (or take its alias over) without a word. Said here, with the way out.
        const warning = importNameWarning(name);
        if (warning !== null) process.stderr.write(`warning: ${warning}\n`);
      },
    }),
  },
});
