/** What `polytls --version` prints: our version, the BoringSSL build, the Bun runtime. */
import pkg from "../../package.json" with { type: "json" };
import { loadNative } from "../upstream/native/ffi.ts";

export const POLYTLS_VERSION: string = pkg.version;

export function versionText(): string {
  let boring: string;
  try {
    boring = loadNative().version();
  } catch (err) {
    boring = `unavailable (${err instanceof Error ? err.message : String(err)})`;
  }
  const bun = process.versions.bun ?? "none";
  return `polytls ${POLYTLS_VERSION}\nBoringSSL: ${boring}\nBun: ${bun}`;
}
