/** The reference browser captures (tls.peet.ws `/api/all` answers) as fingerprints (tests only). */
import { readFileSync } from "node:fs";
import path from "node:path";
import { fingerprintFromPeet } from "../../src/fingerprint/peet.ts";
import type { ClientHelloFingerprint } from "../../src/fingerprint/types.ts";

export const CAPTURE_DIR = path.join(import.meta.dir, "..", "fixtures", "fingerprints");

export const BUILTIN_NAMES = [
  "chrome-143-macos-arm64",
  "firefox-145-macos-arm64",
  "safari-26.2-macos-arm64",
] as const;
export type BuiltinName = (typeof BUILTIN_NAMES)[number];

export interface Capture {
  name: BuiltinName;
  file: string;
  /** The parsed JSON answer. */
  json: { tls: { ja3: string; ja4: string; peetprint: string } & Record<string, unknown> };
  fp: ClientHelloFingerprint;
}

export function loadCapture(name: BuiltinName): Capture {
  const file = path.join(CAPTURE_DIR, `${name}.json`);
  const json = JSON.parse(readFileSync(file, "utf8")) as Capture["json"];
  return { name, file, json, fp: fingerprintFromPeet(json) };
}
