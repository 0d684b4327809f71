/**
 * The built-in profiles: TOML files in /profiles, embedded as text (Bun text imports, which
 * `bun build --compile` bundles into the binary), plus their short aliases. A built-in file may
 * `extends` another built-in (by name): most versions of a browser share one TLS hello and differ
 * only in their HTTP identity headers.
 */
import brave153AndroidArm64Toml from "../../profiles/brave-153-android-arm64.toml" with { type: "text" };
import brave154WindowsX64Toml from "../../profiles/brave-154-windows-x64.toml" with { type: "text" };
import chrome131AndroidArm64Toml from "../../profiles/chrome-131-android-arm64.toml" with { type: "text" };
import chrome131MacosArm64Toml from "../../profiles/chrome-131-macos-arm64.toml" with { type: "text" };
import chrome133MacosArm64Toml from "../../profiles/chrome-133-macos-arm64.toml" with { type: "text" };
import chrome136MacosArm64Toml from "../../profiles/chrome-136-macos-arm64.toml" with { type: "text" };
import chrome138WindowsX64Toml from "../../profiles/chrome-138-windows-x64.toml" with { type: "text" };
import chrome142LinuxX64Toml from "../../profiles/chrome-142-linux-x64.toml" with { type: "text" };
import chrome142MacosArm64Toml from "../../profiles/chrome-142-macos-arm64.toml" with { type: "text" };
import chrome142WindowsX64Toml from "../../profiles/chrome-142-windows-x64.toml" with { type: "text" };
import chrome143MacosArm64Toml from "../../profiles/chrome-143-macos-arm64.toml" with { type: "text" };
import chrome149MacosArm64Toml from "../../profiles/chrome-149-macos-arm64.toml" with { type: "text" };
import chrome152MacosArm64Toml from "../../profiles/chrome-152-macos-arm64.toml" with { type: "text" };
import chrome153AndroidArm64Toml from "../../profiles/chrome-153-android-arm64.toml" with { type: "text" };
import chrome153WindowsX64Toml from "../../profiles/chrome-153-windows-x64.toml" with { type: "text" };
import chrome154AndroidArm64Toml from "../../profiles/chrome-154-android-arm64.toml" with { type: "text" };
import chromium156LinuxX64Toml from "../../profiles/chromium-156-linux-x64.toml" with { type: "text" };
import edge153WindowsX64Toml from "../../profiles/edge-153-windows-x64.toml" with { type: "text" };
import edge154WindowsX64Toml from "../../profiles/edge-154-windows-x64.toml" with { type: "text" };
import firefox133MacosArm64Toml from "../../profiles/firefox-133-macos-arm64.toml" with { type: "text" };
import firefox135MacosArm64Toml from "../../profiles/firefox-135-macos-arm64.toml" with { type: "text" };
import firefox144MacosArm64Toml from "../../profiles/firefox-144-macos-arm64.toml" with { type: "text" };
import firefox145MacosArm64Toml from "../../profiles/firefox-145-macos-arm64.toml" with { type: "text" };
import firefox154MacosArm64Toml from "../../profiles/firefox-154-macos-arm64.toml" with { type: "text" };
import firefox154WindowsX64Toml from "../../profiles/firefox-154-windows-x64.toml" with { type: "text" };
import firefox156AndroidArm64Toml from "../../profiles/firefox-156-android-arm64.toml" with { type: "text" };
import firefox156WindowsX64Toml from "../../profiles/firefox-156-windows-x64.toml" with { type: "text" };
import firefoxEsr153LinuxX64Toml from "../../profiles/firefox-esr-153-linux-x64.toml" with { type: "text" };
import opera135WindowsX64Toml from "../../profiles/opera-135-windows-x64.toml" with { type: "text" };
import opera136WindowsX64Toml from "../../profiles/opera-136-windows-x64.toml" with { type: "text" };
import safari180IosArm64Toml from "../../profiles/safari-18.0-ios-arm64.toml" with { type: "text" };
import safari180MacosArm64Toml from "../../profiles/safari-18.0-macos-arm64.toml" with { type: "text" };
import safari184IosArm64Toml from "../../profiles/safari-18.4-ios-arm64.toml" with { type: "text" };
import safari184MacosArm64Toml from "../../profiles/safari-18.4-macos-arm64.toml" with { type: "text" };
import safari185MacosArm64Toml from "../../profiles/safari-18.5-macos-arm64.toml" with { type: "text" };
import safari262MacosArm64Toml from "../../profiles/safari-26.2-macos-arm64.toml" with { type: "text" };
import tor145MacosArm64Toml from "../../profiles/tor-14.5-macos-arm64.toml" with { type: "text" };

export interface BuiltinProfile {
  readonly name: string;
  /** The profile file's text: top-level keys are the profile keys. */
  readonly toml: string;
}

export const BUILTIN_PROFILES: readonly BuiltinProfile[] = [
  { name: "brave-153-android-arm64", toml: brave153AndroidArm64Toml as string },
  { name: "brave-154-windows-x64", toml: brave154WindowsX64Toml as string },
  { name: "chrome-131-android-arm64", toml: chrome131AndroidArm64Toml as string },
  { name: "chrome-131-macos-arm64", toml: chrome131MacosArm64Toml as string },
  { name: "chrome-133-macos-arm64", toml: chrome133MacosArm64Toml as string },
  { name: "chrome-136-macos-arm64", toml: chrome136MacosArm64Toml as string },
  { name: "chrome-138-windows-x64", toml: chrome138WindowsX64Toml as string },
  { name: "chrome-142-linux-x64", toml: chrome142LinuxX64Toml as string },
  { name: "chrome-142-macos-arm64", toml: chrome142MacosArm64Toml as string },
  { name: "chrome-142-windows-x64", toml: chrome142WindowsX64Toml as string },
  { name: "chrome-143-macos-arm64", toml: chrome143MacosArm64Toml as string },
  { name: "chrome-149-macos-arm64", toml: chrome149MacosArm64Toml as string },
  { name: "chrome-152-macos-arm64", toml: chrome152MacosArm64Toml as string },
  { name: "chrome-153-android-arm64", toml: chrome153AndroidArm64Toml as string },
  { name: "chrome-153-windows-x64", toml: chrome153WindowsX64Toml as string },
  { name: "chrome-154-android-arm64", toml: chrome154AndroidArm64Toml as string },
  { name: "chromium-156-linux-x64", toml: chromium156LinuxX64Toml as string },
  { name: "edge-153-windows-x64", toml: edge153WindowsX64Toml as string },
  { name: "edge-154-windows-x64", toml: edge154WindowsX64Toml as string },
  { name: "firefox-133-macos-arm64", toml: firefox133MacosArm64Toml as string },
  { name: "firefox-135-macos-arm64", toml: firefox135MacosArm64Toml as string },
  { name: "firefox-144-macos-arm64", toml: firefox144MacosArm64Toml as string },
  { name: "firefox-145-macos-arm64", toml: firefox145MacosArm64Toml as string },
  { name: "firefox-154-macos-arm64", toml: firefox154MacosArm64Toml as string },
  { name: "firefox-154-windows-x64", toml: firefox154WindowsX64Toml as string },
  { name: "firefox-156-android-arm64", toml: firefox156AndroidArm64Toml as string },
  { name: "firefox-156-windows-x64", toml: firefox156WindowsX64Toml as string },
  { name: "firefox-esr-153-linux-x64", toml: firefoxEsr153LinuxX64Toml as string },
  { name: "opera-135-windows-x64", toml: opera135WindowsX64Toml as string },
  { name: "opera-136-windows-x64", toml: opera136WindowsX64Toml as string },
  { name: "safari-18.0-ios-arm64", toml: safari180IosArm64Toml as string },
  { name: "safari-18.0-macos-arm64", toml: safari180MacosArm64Toml as string },
  { name: "safari-18.4-ios-arm64", toml: safari184IosArm64Toml as string },
  { name: "safari-18.4-macos-arm64", toml: safari184MacosArm64Toml as string },
  { name: "safari-18.5-macos-arm64", toml: safari185MacosArm64Toml as string },
  { name: "safari-26.2-macos-arm64", toml: safari262MacosArm64Toml as string },
  { name: "tor-14.5-macos-arm64", toml: tor145MacosArm64Toml as string },
];

/** The profile used when neither the request nor the config names one. */
export const DEFAULT_PROFILE = "chrome-143-macos-arm64";

/**
 * Short names, each the newest profile of its family that the engine reproduces (README, "Built-in
 * profiles"); `default` follows `proxy.upstream.default_profile` (see ProfileRegistry).
 */
export const BUILTIN_ALIASES: Readonly<Record<string, string>> = {
  chrome: "chrome-153-windows-x64",
  "chrome-macos": "chrome-152-macos-arm64",
  "chrome-windows": "chrome-153-windows-x64",
  "chrome-linux": "chrome-142-linux-x64",
  "chrome-android": "chrome-154-android-arm64",
  chromium: "chromium-156-linux-x64",
  firefox: "firefox-156-windows-x64",
  "firefox-windows": "firefox-156-windows-x64",
  "firefox-macos": "firefox-154-macos-arm64",
  "firefox-android": "firefox-156-android-arm64",
  "firefox-esr": "firefox-esr-153-linux-x64",
  safari: "safari-26.2-macos-arm64",
  "safari-ios": "safari-18.4-ios-arm64",
  edge: "edge-154-windows-x64",
  brave: "brave-154-windows-x64",
  opera: "opera-136-windows-x64",
  tor: "tor-14.5-macos-arm64",
  default: DEFAULT_PROFILE,
};
