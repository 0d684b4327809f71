/**
 * Finds libpolyboring on disk. Order: $POLYTLS_NATIVE_LIB; the copy embedded in the compiled
 * executable (registered at start-up by the build entry point, extracted to a cache folder because
 * the dynamic loader cannot read the executable's embedded file system); the development build in
 * ffi/target/release.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { ProxyError } from "../../errors/proxy-error.ts";

const LIB_FILE = process.platform === "darwin" ? "libpolyboring.dylib" : "libpolyboring.so";

let embedded: { path: string; read: () => Uint8Array } | undefined;

/** Called by the executable's entry point with the embedded copy of the library. */
export function registerEmbeddedLibrary(path: string, read: () => Uint8Array): void {
  embedded = { path, read };
}

function cacheDir(): string {
  const base = process.env.XDG_CACHE_HOME || (homedir() ? join(homedir(), ".cache") : tmpdir());
  return join(base, "polytls");
}

/** Writes the embedded bytes to a content-addressed file once; later starts reuse it. */
function extract(bytes: Uint8Array): string {
  const digest = createHash("sha256").update(bytes).digest("hex").slice(0, 16);
  for (const dir of [cacheDir(), join(tmpdir(), `polytls-${process.getuid?.() ?? "user"}`)]) {
    const target = join(dir, `${digest}-${LIB_FILE}`);
    try {
      if (existsSync(target) && readFileSync(target).length === bytes.length) return target;
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      const tmp = `${target}.${process.pid}.tmp`;
      writeFileSync(tmp, bytes, { mode: 0o700 });
      renameSync(tmp, target);
      return target;
    } catch {
      // Try the next folder (read-only home, full disk...).
    }
  }
  throw new ProxyError("NATIVE_UNAVAILABLE", `cannot extract the embedded ${LIB_FILE} to a cache folder`);
}

export function locateNativeLibrary(): string {
  const fromEnv = process.env.POLYTLS_NATIVE_LIB;
  if (fromEnv) {
    if (!existsSync(fromEnv)) {
      throw new ProxyError("NATIVE_UNAVAILABLE", `POLYTLS_NATIVE_LIB=${fromEnv} does not exist`);
    }
    return fromEnv;
  }
  if (embedded) {
    return embedded.path.startsWith("/$bunfs/") || embedded.path.includes("~BUN")
      ? extract(embedded.read())
      : embedded.path;
  }
  const here = dirname(fileURLToPath(import.meta.url));
  const dev = resolve(here, "../../../ffi/target/release", LIB_FILE);
  if (existsSync(dev)) return dev;
  throw new ProxyError(
    "NATIVE_UNAVAILABLE",
    `${LIB_FILE} not found (looked in ${dev}); build it with \`make native\` or set POLYTLS_NATIVE_LIB`,
  );
}
