/**
 * Extraction of the embedded native library (src/upstream/native/locate.ts extractLibrary) with real
 * folders and files in a temp folder: only a byte-exact copy, owned by this user and not writable by
 * others, in a folder only this user can change, is ever returned for dlopen. A stand-in byte string
 * plays the library: extraction never loads it. Tests run as root (like ca-safety.test.ts), which
 * may write anywhere: "another user's" folders and files are chowned to nobody, and the checks
 * must refuse them by owner and mode, not by a failing write.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash, randomBytes } from "node:crypto";
import {
  chmodSync,
  chownSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { isProxyError } from "../src/errors/proxy-error.ts";
import { extractLibrary, releaseExtractedCopy } from "../src/upstream/native/locate.ts";

const LIB_FILE = process.platform === "darwin" ? "libpolyboring.dylib" : "libpolyboring.so";
const NOBODY_UID = 65534;
const me = process.geteuid?.() ?? -1;

/** The stand-in library and the name its copy gets (first 16 hex digits of its SHA-256). */
const bytes = new Uint8Array(randomBytes(256 * 1024));
const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
const NAME = `${sha256(bytes).slice(0, 16)}-${LIB_FILE}`;

let root: string;
let count = 0;

beforeAll(() => {
  root = realpathSync(mkdtempSync(join(tmpdir(), "polytls-extract-")));
});
afterAll(() => {
  releaseExtractedCopy();
  if (root !== undefined) rmSync(root, { recursive: true, force: true });
});

/** A new folder under the test root with exactly this mode (no umask). */
function folder(mode = 0o700): string {
  const dir = join(root, `d${++count}`);
  mkdirSync(dir);
  chmodSync(dir, mode);
  return dir;
}

/** A same-length file with other content, as a local attacker would plant it. */
function plant(dir: string, mode = 0o755): Buffer {
  const evil = randomBytes(bytes.length);
  writeFileSync(join(dir, NAME), evil);
  chmodSync(join(dir, NAME), mode);
  return evil;
}

/** The copy must be the library byte for byte, a regular file of ours that only we can write. */
function expectGoodCopy(path: string): void {
  const st = lstatSync(path);
  expect(st.isFile()).toBe(true);
  expect(st.uid).toBe(me);
  expect(st.mode & 0o022).toBe(0);
  expect(sha256(readFileSync(path))).toBe(sha256(bytes));
}

describe("extractLibrary: the file", () => {
  test("a missing copy is written (mode 0700 or stricter) with no temp file left beside it", () => {
    const dir = folder();
    const path = extractLibrary(bytes, [dir], folder());
    expect(path).toBe(join(dir, NAME));
    expectGoodCopy(path);
    expect(statSync(path).mode & 0o077).toBe(0);
    expect(readdirSync(dir)).toEqual([NAME]);
  });

  test("a same-length file with other content is replaced, never returned as it is", () => {
    const dir = folder();
    const evil = plant(dir, 0o700);
    const before = statSync(join(dir, NAME)).ino;
    const path = extractLibrary(bytes, [dir], folder());
    expect(path).toBe(join(dir, NAME));
    expectGoodCopy(path);
    expect(readFileSync(path).equals(evil)).toBe(false);
    expect(statSync(path).ino).not.toBe(before); // a new file renamed into place
    expect(readdirSync(dir)).toEqual([NAME]);
  });

  test("a correct existing copy is reused without rewriting (same inode, mtime unchanged)", () => {
    const dir = folder();
    const first = extractLibrary(bytes, [dir], folder());
    const past = new Date("2020-01-02T03:04:05Z");
    utimesSync(first, past, past);
    const before = statSync(first);
    expect(extractLibrary(bytes, [dir], folder())).toBe(first);
    const after = statSync(first);
    expect(after.ino).toBe(before.ino);
    expect(after.mtimeMs).toBe(before.mtimeMs);
    expect(after.mtimeMs).toBe(past.getTime());
  });

  test("a correct copy that group or others may write is replaced by one only this user may write", () => {
    for (const mode of [0o770, 0o702]) {
      const dir = folder();
      const first = extractLibrary(bytes, [dir], folder());
      chmodSync(first, mode);
      const before = statSync(first).ino;
      expect(extractLibrary(bytes, [dir], folder())).toBe(first);
      expectGoodCopy(first);
      expect(statSync(first).ino).not.toBe(before);
    }
  });

  test("a symbolic link in the copy's place is replaced, not followed; its target is left alone", () => {
    const dir = folder();
    const elsewhere = join(folder(), "lib.so");
    writeFileSync(elsewhere, bytes);
    symlinkSync(elsewhere, join(dir, NAME));
    const path = extractLibrary(bytes, [dir], folder());
    expect(path).toBe(join(dir, NAME));
    expectGoodCopy(path);
    expect(readFileSync(elsewhere).equals(Buffer.from(bytes))).toBe(true);
  });

  test("a correct copy owned by another user is replaced by one of ours", () => {
    const dir = folder();
    const first = extractLibrary(bytes, [dir], folder());
    chownSync(first, NOBODY_UID, -1);
    expect(extractLibrary(bytes, [dir], folder())).toBe(first);
    expectGoodCopy(first);
  });
});

describe("extractLibrary: the folder", () => {
  test("a folder group or others may write is not used; what was planted in it is left as it was", () => {
    for (const mode of [0o777, 0o770, 0o707, 0o1777]) {
      const shared = folder(mode);
      const evil = plant(shared);
      const good = folder();
      const path = extractLibrary(bytes, [shared, good], folder());
      expect(path).toBe(join(good, NAME));
      expectGoodCopy(path);
      expect(readFileSync(join(shared, NAME)).equals(evil)).toBe(true);
    }
  });

  test("a folder owned by another user is not used, even with mode 0700", () => {
    const theirs = folder(0o700);
    const evil = plant(theirs);
    chownSync(theirs, NOBODY_UID, -1);
    const good = folder();
    expect(extractLibrary(bytes, [theirs, good], folder())).toBe(join(good, NAME));
    expect(readFileSync(join(theirs, NAME)).equals(evil)).toBe(true);
  });

  test("the attack: nobody's 0777 $TMPDIR/polytls-<uid> with a same-length file is refused", () => {
    const tmp = folder(0o1777);
    const shared = join(tmp, `polytls-${me}`);
    mkdirSync(shared);
    chmodSync(shared, 0o777);
    const evil = plant(shared);
    chownSync(shared, NOBODY_UID, -1);
    chownSync(join(shared, NAME), NOBODY_UID, -1);
    // The cache folder cannot be made (read-only home): here, its parent is a regular file.
    const notAFolder = join(folder(), "file");
    writeFileSync(notAFolder, "");
    const path = extractLibrary(bytes, [join(notAFolder, "polytls"), shared], tmp);
    expect(dirname(path)).not.toBe(shared);
    expectGoodCopy(path);
    expect(readFileSync(join(shared, NAME)).equals(evil)).toBe(true);
    releaseExtractedCopy();
  });

  test("a folder reached through a symbolic link is not used", () => {
    const real = folder();
    const link = join(folder(), "link");
    symlinkSync(real, link);
    const good = folder();
    expect(extractLibrary(bytes, [link, good], folder())).toBe(join(good, NAME));
    expect(readdirSync(real)).toEqual([]);
  });

  test("a folder inside one others may write (not sticky) is not used; inside a sticky one it is", () => {
    const open = folder(0o777);
    const inOpen = join(open, "polytls");
    const good = folder();
    expect(extractLibrary(bytes, [inOpen, good], folder())).toBe(join(good, NAME));
    expect(existsSync(join(inOpen, NAME))).toBe(false);

    const sticky = folder(0o1777);
    const inSticky = join(sticky, "polytls");
    expect(extractLibrary(bytes, [inSticky, good], folder())).toBe(join(inSticky, NAME));
    expect(statSync(inSticky).mode & 0o777).toBe(0o700);
  });

  test("no usable folder: a fresh private one in the temp folder holds the copy until it is released", () => {
    const base = folder(0o1777);
    const path = extractLibrary(bytes, [folder(0o777)], base);
    const fresh = dirname(path);
    expect(dirname(fresh)).toBe(base);
    expect(fresh).toStartWith(join(base, "polytls-lib-"));
    expect(statSync(fresh).uid).toBe(me);
    expect(statSync(fresh).mode & 0o777).toBe(0o700);
    expectGoodCopy(path);
    releaseExtractedCopy();
    expect(existsSync(fresh)).toBe(false);
  });

  test("no usable folder and an unsafe temp folder: NATIVE_UNAVAILABLE naming each path and why", () => {
    const shared = folder(0o777);
    const open = folder(0o777);
    let err: unknown;
    try {
      extractLibrary(bytes, [shared], open);
    } catch (e) {
      err = e;
    }
    expect(isProxyError(err, "NATIVE_UNAVAILABLE")).toBe(true);
    const message = (err as Error).message;
    expect(message).toContain(`${shared}: writable by group or others (mode 0777)`);
    expect(message).toContain(`its parent ${open} is writable by group or others (mode 0777)`);
    expect(readdirSync(open)).toEqual([]); // the refused private folder was removed
  });
});
