import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { defineCommand } from "citty";
import { ProxyError } from "../../errors/proxy-error.ts";
import { parseClientHello } from "../../fingerprint/clienthello.ts";
import { fingerprintFromPeetJson } from "../../fingerprint/peet.ts";
import type { ClientHelloFingerprint } from "../../fingerprint/types.ts";
import { profileFromFingerprint } from "../../profiles/import.ts";
import { ProfileRegistry } from "../../profiles/registry-store.ts";
import { profileToToml } from "../../profiles/schema.ts";
import { configArgs, configFromFlags } from "../options.ts";

/** A capture is tls.peet.ws JSON, or a raw ClientHello as hex (record or handshake message). */
export function fingerprintFromFile(text: string, file: string): ClientHelloFingerprint {
  const trimmed = text.trim();
  if (trimmed.startsWith("{")) return fingerprintFromPeetJson(trimmed);
  const hex = trimmed.replace(/^0x/i, "").replace(/[\s:]/g, "");
  if (hex.length === 0 || hex.length % 2 !== 0 || !/^[0-9a-fA-F]+$/.test(hex)) {
    throw new ProxyError("CONFIG_INVALID", `${file}: neither tls.peet.ws JSON nor a hex ClientHello`);
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

export const profilesCommand = defineCommand({
  meta: { name: "profiles", description: "List, show and import upstream TLS profiles" },
  subCommands: {
    list: defineCommand({
      meta: { name: "list", description: "List profiles and aliases" },
      args: { ...configArgs },
      run({ args }) {
        const config = configFromFlags(args);
        const reg = ProfileRegistry.fromConfig(config);
        for (const name of reg.names()) {
          const p = reg.get(name);
          const aliases = [...reg.aliases()].filter(([, t]) => t === name).map(([a]) => a);
          const tag = aliases.length > 0 ? ` (alias: ${aliases.join(", ")})` : "";
          console.log(`${name}${tag}${p.description ? ` — ${p.description}` : ""}`);
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
        description: "Turn a capture (tls.peet.ws JSON or hex ClientHello) into a profile TOML on stdout",
      },
      args: {
        file: { type: "positional", description: "Capture file", required: true },
        name: { type: "string", description: "Profile name (default: the file name)", valueHint: "NAME" },
      },
      run({ args }) {
        const text = readFileSync(args.file, "utf8");
        const fp = fingerprintFromFile(text, args.file);
        const name = args.name ?? basename(args.file).replace(/\.[^.]*$/, "");
        const { toml, unsupported } = profileFromFingerprint(fp, name, { http2: peetHttp2(text) });
        process.stdout.write(toml);
        for (const u of unsupported) process.stderr.write(`not reproducible: ${u}\n`);
      },
    }),
  },
});
