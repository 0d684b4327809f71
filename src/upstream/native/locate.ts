/**
 * Finds libpolyboring on disk. Order: $POLYTLS_NATIVE_LIB; the copy embedded in the compiled
 * executable (registered at start-up by the build entry point, extracted to a cache folder because
 * the dynamic loader cannot read the executable's embedded file system); the development build in
 * ffi/target/release.
 *
 * The extracted copy is code this process will run, so nothing another local user could have
 * written is ever handed to dlopen:
 * - the folder (`$XDG_CACHE_HOME/polytls` or `~/.cache/polytls`, else `$TMPDIR/polytls-<uid>`, a
 *   name anyone can create first) must be a real folder, not a symbolic link, owned by this user and
 *   not writable by group or others; each folder above it must be owned by this user or root and
 *   not writable by group or others unless sticky (/tmp), so nobody can rename it away. A refused
 *   folder is left as it is and the next one is tried; when none is usable, a fresh private folder
 *   (mkdtemp under $TMPDIR) holds the copy until it is loaded, then is removed.
 * - the file `<sha256 prefix>-libpolyboring.so` is reused only when it is a regular file (not a
 *   link), owned by this user, not writable by group or others, and of the embedded library's size
 *   and full SHA-256 (read 64 KiB at a time: a buffer the library's size would stay in the heap
 *   and cost every later measure of the proxy's memory). Anything else is replaced, never loaded:
 *   the bytes go to a temp file created exclusively (O_EXCL, mode 0700) in that folder, renamed over
 *   it. Start-up cost when the copy is reused: hashing the ~4 MiB file, a few ms.
 */
import { createHash, randomBytes } from "node:crypto";
import {
  closeSync,
  constants,
  existsSync,
  fstatSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readSync,
  realpathSync,
  renameSync,
  rmSync,
  type Stats,
  statSync,
  writeSync,
} from "node:fs";
import { homedir, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { ProxyError } from "../../errors/proxy-error.ts";

const LIB_FILE = process.platform === "darwin" ? "libpolyboring.dylib" : "libpolyboring.so";
/** Group or other write permission: whoever has it can replace what the folder or file holds. */
const FOREIGN_WRITE_BITS = 0o022;
const ROOT_UID = 0;
/** The sticky bit: in such a folder (/tmp) only an entry's owner may rename or delete it. */
const STICKY_BIT = 0o1000;
/** Hex digits of the SHA-256 in the extracted file's name (a copy's full digest is compared). */
const NAME_DIGEST_CHARS = 16;

let embedded: { path: string; read: () => Uint8Array } | undefined;
/** A fresh private folder holding the copy only until it is loaded (see releaseExtractedCopy). */
let transientDir: string | undefined;

/** Called by the executable's entry point with the embedded copy of the library. */
export function registerEmbeddedLibrary(path: string, read: () => Uint8Array): void {
  embedded = { path, read };
}

function cacheDir(): string {
  const base = process.env.XDG_CACHE_HOME || (homedir() ? join(homedir(), ".cache") : tmpdir());
  return join(base, "polytls");
}

/** The folders tried in order: the user's cache folder, then a per-user folder in $TMPDIR. */
export function extractionDirs(): string[] {
  return [cacheDir(), join(tmpdir(), `polytls-${process.geteuid?.() ?? "user"}`)];
}

const octal = (mode: number) => `0${(mode & 0o7777).toString(8).padStart(3, "0")}`;

function errnoCode(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : err instanceof Error ? err.message : String(err);
}

/** Why `st` (a folder or the file) could be changed by another user, or null. */
function foreignWritable(st: Stats, me: number, rootToo: boolean): string | null {
  if (st.uid !== me && !(rootToo && st.uid === ROOT_UID)) return `owned by uid ${st.uid}, not ${me}`;
  if ((st.mode & FOREIGN_WRITE_BITS) !== 0 && !(rootToo && (st.mode & STICKY_BIT) !== 0)) {
    return `writable by group or others (mode ${octal(st.mode)})`;
  }
  return null;
}

/**
 * Why the folder `dir` could hold files another user planted or swaps, or null when only this
 * user (and root) can change what it holds.
 */
function unsafeFolder(dir: string, me: number | undefined): string | null {
  const st = lstatSync(dir);
  if (st.isSymbolicLink()) return "is a symbolic link";
  if (!st.isDirectory()) return "is not a folder";
  if (me === undefined) return null; // no POSIX owners (Windows)
  const own = foreignWritable(st, me, false);
  if (own !== null) return own;
  // Above it, a folder another user can write to lets them rename this one away and put theirs in
  // its place; a sticky one (/tmp) lets only the owner rename.
  for (let p = realpathSync(dirname(dir)); ; p = dirname(p)) {
    const why = foreignWritable(statSync(p), me, true);
    if (why !== null) return `its parent ${p} is ${why}`;
    if (dirname(p) === p) return null;
  }
}

/** What a copy must be: the embedded library's size and full SHA-256 (hex). */
interface Want {
  size: number;
  digest: string;
}

/** Bytes read at a time to hash a copy: no buffer the size of the library (it stays in the heap). */
const HASH_READ_BYTES = 64 * 1024;

/**
 * Why the file at `path` is not a copy to load: null when it is a regular file owned by this user,
 * not writable by others, with the embedded library's size and SHA-256.
 */
function unusableCopy(path: string, want: Want, me: number | undefined): string | null {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    return errnoCode(err) === "ENOENT" ? "missing" : `cannot be opened (${errnoCode(err)})`;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) return "is not a regular file";
    const why = me === undefined ? null : foreignWritable(st, me, false);
    if (why !== null) return why;
    if (st.size !== want.size) return `has ${st.size} bytes, not ${want.size}`;
    const hash = createHash("sha256");
    const chunk = Buffer.allocUnsafe(HASH_READ_BYTES);
    let off = 0;
    while (off < want.size) {
      const n = readSync(fd, chunk, 0, Math.min(chunk.length, want.size - off), off);
      if (n === 0) break;
      hash.update(chunk.subarray(0, n));
      off += n;
    }
    if (off !== want.size || hash.digest("hex") !== want.digest) return "differs from the embedded library";
    return null;
  } finally {
    closeSync(fd);
  }
}

/** Writes `bytes` to a new temp file in `dir` (O_EXCL, 0700) and renames it to `target`. */
function writeCopy(dir: string, target: string, bytes: Uint8Array): void {
  const tmp = join(dir, `.${randomBytes(8).toString("hex")}.${process.pid}.tmp`);
  const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
  const fd = openSync(tmp, flags, 0o700);
  try {
    try {
      for (let off = 0; off < bytes.length; ) off += writeSync(fd, bytes, off, bytes.length - off);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, target);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

/** The verified copy in `dir`: the existing one when it is good, else a new one written there. */
function copyIn(dir: string, bytes: Uint8Array, want: Want, name: string, me: number | undefined): string {
  const target = join(dir, name);
  if (unusableCopy(target, want, me) === null) return target;
  writeCopy(dir, target, bytes);
  const why = unusableCopy(target, want, me);
  if (why !== null) throw new Error(`${target} ${why} right after it was written`);
  return target;
}

/**
 * Extracts `bytes` (the embedded library) to the first usable folder of `dirs`, else to a fresh
 * private folder under `tmpBase`; returns the path of a copy safe to dlopen. Throws
 * NATIVE_UNAVAILABLE naming each folder tried and why it was refused.
 */
export function extractLibrary(bytes: Uint8Array, dirs = extractionDirs(), tmpBase = tmpdir()): string {
  const me = process.geteuid?.();
  const digest = createHash("sha256").update(bytes).digest("hex");
  const want = { size: bytes.length, digest };
  const name = `${digest.slice(0, NAME_DIGEST_CHARS)}-${LIB_FILE}`;
  const refused: string[] = [];
  for (const dir of dirs) {
    try {
      if (!existsSync(dir)) mkdirSync(dir, { recursive: true, mode: 0o700 });
      const why = unsafeFolder(dir, me);
      if (why === null) return copyIn(dir, bytes, want, name, me);
      refused.push(`${dir}: ${why}`);
    } catch (err) {
      refused.push(`${dir}: ${errnoCode(err)}`); // read-only home, full disk...
    }
  }
  let fresh: string | undefined;
  try {
    fresh = mkdtempSync(join(tmpBase, "polytls-lib-"));
    const why = unsafeFolder(fresh, me);
    if (why !== null) throw new Error(why);
    const path = copyIn(fresh, bytes, want, name, me);
    releaseExtractedCopy();
    transientDir = fresh;
    return path;
  } catch (err) {
    if (fresh !== undefined) rmSync(fresh, { recursive: true, force: true });
    refused.push(`${fresh ?? join(tmpBase, "polytls-lib-XXXXXX")}: ${errnoCode(err)}`);
  }
  throw new ProxyError(
    "NATIVE_UNAVAILABLE",
    `cannot extract the embedded ${LIB_FILE} to a folder only this user can write: ${refused.join("; ")}; set XDG_CACHE_HOME to such a folder, or POLYTLS_NATIVE_LIB to the library`,
  );
}

/**
 * Called once the library is loaded (or failed to load): removes the fresh private folder used when
 * no cache folder was usable. The loaded mapping stays valid after its file is unlinked.
 */
export function releaseExtractedCopy(): void {
  if (transientDir === undefined) return;
  rmSync(transientDir, { recursive: true, force: true });
  transientDir = undefined;
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
      ? extractLibrary(embedded.read())
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
