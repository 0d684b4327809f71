/**
 * File I/O for the CA key and certificate: existence probes, reads, exclusive creates, atomic
 * replaces. New folders are 0700 and new files 0600 (key) / 0644 (certificate) whatever the umask;
 * an existing folder is used only if it passes checkCaFolder (ca-safety.ts).
 */
import { randomBytes } from "node:crypto";
import { chmod, mkdir, open, readFile, rename, rm, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { ProxyError } from "../errors/proxy-error.ts";
import { checkCaFolder } from "./ca-safety.ts";

export const KEY_FILE_MODE = 0o600; // owner read/write only: the CA key signs certificates every client trusts
const CERT_FILE_MODE = 0o644; // the CA certificate is public
const FOLDER_MODE = 0o700; // a new CA folder: only its owner may list, add or replace files

export interface CaFile {
  path: string;
  data: string;
  secret: boolean; // true for the private key (mode 0600)
}

function errnoCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

/** true when `path` exists, false when it does not; any other failure is CA_INVALID naming the path. */
export async function caFileExists(path: string, what: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (err) {
    if (errnoCode(err) === "ENOENT") return false;
    throw new ProxyError("CA_INVALID", `${what} ${path} is not accessible (${errnoCode(err) ?? "error"})`, {
      cause: err,
    });
  }
}

/** Reads a CA file as text; failures are CA_INVALID naming the path. */
export async function readCaFile(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (err) {
    throw new ProxyError("CA_INVALID", `${what} ${path} is unreadable (${errnoCode(err) ?? "error"})`, {
      cause: err,
    });
  }
}

/**
 * Makes sure the folders of `files` can hold a CA: an existing one must pass checkCaFolder; a
 * missing one is created with mode 0700 (chmod after mkdir, which applies the umask).
 */
async function prepareFolders(files: readonly CaFile[]): Promise<void> {
  for (const dir of new Set(files.map((f) => dirname(f.path)))) {
    if (await checkCaFolder(dir)) continue;
    try {
      await mkdir(dir, { recursive: true, mode: FOLDER_MODE });
      await chmod(dir, FOLDER_MODE);
    } catch (err) {
      throw new ProxyError("IO", `cannot create CA folder ${dir} (${errnoCode(err) ?? "error"})`, {
        cause: err,
      });
    }
    await checkCaFolder(dir); // what now exists there (in case another process raced us)
  }
}

/** Creates `path` (fails if it exists) with exactly `mode`, writes `data` and flushes it to disk. */
async function writeNewFile(path: string, data: string, mode: number): Promise<void> {
  const handle = await open(path, "wx", mode);
  try {
    await handle.chmod(mode); // open() applies the umask; set the intended mode exactly
    await handle.writeFile(data, "utf8");
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function modeOf(file: CaFile): number {
  return file.secret ? KEY_FILE_MODE : CERT_FILE_MODE;
}

/**
 * Creates every file, failing if any already exists (never overwrites). On failure the files this call
 * created are removed again, so no half-written CA is left behind.
 */
export async function createCaFilesExclusive(files: readonly CaFile[]): Promise<void> {
  await prepareFolders(files);
  const created: string[] = [];
  try {
    for (const file of files) {
      await writeNewFile(file.path, file.data, modeOf(file));
      created.push(file.path);
    }
  } catch (err) {
    await Promise.all(created.map((p) => rm(p, { force: true })));
    const path = files[created.length]?.path ?? "";
    if (errnoCode(err) === "EEXIST") {
      throw new ProxyError("CA_EXISTS", `${path} already exists`, { cause: err });
    }
    throw new ProxyError("IO", `cannot write ${path} (${errnoCode(err) ?? "error"})`, { cause: err });
  }
}

/** Replaces every file atomically (write a temp file beside it, then rename over). */
export async function replaceCaFiles(files: readonly CaFile[]): Promise<void> {
  await prepareFolders(files);
  for (const file of files) {
    const dir = dirname(file.path);
    const temp = join(dir, `.${basename(file.path)}.${randomBytes(6).toString("hex")}.tmp`);
    try {
      await writeNewFile(temp, file.data, modeOf(file));
      await rename(temp, file.path);
    } catch (err) {
      await rm(temp, { force: true });
      throw new ProxyError("IO", `cannot write ${file.path} (${errnoCode(err) ?? "error"})`, { cause: err });
    }
  }
}
