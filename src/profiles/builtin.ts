/**
 * The built-in profiles: TOML files in /profiles, embedded as text (Bun text imports, which
 * `bun build --compile` bundles into the binary), plus their short aliases.
 */
import chromeToml from "../../profiles/chrome-143-macos-arm64.toml" with { type: "text" };
import firefoxToml from "../../profiles/firefox-145-macos-arm64.toml" with { type: "text" };
import safariToml from "../../profiles/safari-26.2-macos-arm64.toml" with { type: "text" };

export interface BuiltinProfile {
  readonly name: string;
  /** The profile file's text: top-level keys are the profile keys. */
  readonly toml: string;
}

export const BUILTIN_PROFILES: readonly BuiltinProfile[] = [
  { name: "chrome-143-macos-arm64", toml: chromeToml as string },
  { name: "firefox-145-macos-arm64", toml: firefoxToml as string },
  { name: "safari-26.2-macos-arm64", toml: safariToml as string },
];

/** The profile used when neither the request nor the config names one. */
export const DEFAULT_PROFILE = "chrome-143-macos-arm64";

/** Short names; `default` follows `proxy.upstream.default_profile` (see ProfileRegistry). */
export const BUILTIN_ALIASES: Readonly<Record<string, string>> = {
  chrome: "chrome-143-macos-arm64",
  firefox: "firefox-145-macos-arm64",
  safari: "safari-26.2-macos-arm64",
  default: DEFAULT_PROFILE,
};
