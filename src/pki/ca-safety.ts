/**
 * Refuses CA files that another local user could read or replace, before they are read or created.
 * The CA key signs certificates every client of the proxy trusts: whoever can read it can
 * impersonate any site to those clients, and whoever can swap it (or plant a whole CA before the
 * first start) gets the same power silently. Every refusal is CA_INVALID naming the path and the
 * command that fixes it; nothing is ever "fixed" behind the user's back.
 *
 * - The key must be a regular file, not a symbolic link (a link lets whoever controls its target,
 *   or the folder holding the link, swap the key), owned by this user or root, with no permission
 *   for group or others (0600 or stricter).
 * - Each folder holding a CA file (symlinks followed: where the files really are) must be owned by
 *   this user or root and not writable by group or others.
 * - The certificate may be a symlink and readable by all: it is public, and it must match the key.
 *
 * POSIX modes and owners only; on Windows the checks are skipped (ACLs are out of scope).
 */
import type { Stats } from "node:fs";
import { lstat, stat } from "node:fs/promises";
import { ProxyError } from "../errors/proxy-error.ts";

const KEY_FORBIDDEN_BITS = 0o077; // any permission for group or others on the private key
const FOLDER_FORBIDDEN_BITS = 0o022; // write permission for group or others on a CA folder
const ROOT_UID = 0; // root may own CA files (system installs); it can read them anyway

const checked = process.platform !== "win32";

function invalid(message: string, cause?: unknown): ProxyError {
  return new ProxyError("CA_INVALID", message, cause === undefined ? undefined : { cause });
}

const octal = (mode: number) => `0${(mode & 0o7777).toString(8).padStart(3, "0")}`;

function errnoCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

/** The owner must be this process's user or root (like OpenSSH's StrictModes). */
function checkOwner(st: Stats, path: string, what: string): void {
  const me = process.geteuid?.();
  if (me === undefined || st.uid === me || st.uid === ROOT_UID) return;
  throw invalid(
    `${what} ${path} is owned by uid ${st.uid}, not by this user (uid ${me}) or root, so that user can replace it; if you trust it, run "chown ${me} ${path}"`,
  );
}

/** The private key: a regular file owned by us, mode 0600 or stricter. Missing is not checked here. */
export async function checkCaKeyFile(path: string): Promise<void> {
  if (!checked) return;
  let st: Stats;
  try {
    st = await lstat(path);
  } catch (err) {
    if (errnoCode(err) === "ENOENT") return;
    throw invalid(`CA key ${path} is not accessible (${errnoCode(err) ?? "error"})`, err);
  }
  if (st.isSymbolicLink()) {
    throw invalid(
      `CA key ${path} is a symbolic link; the key must be a regular file (whoever controls the link's target can swap it): move the real key file to ${path}`,
    );
  }
  if (!st.isFile()) throw invalid(`CA key ${path} is not a regular file`);
  checkOwner(st, path, "CA key");
  if ((st.mode & KEY_FORBIDDEN_BITS) !== 0) {
    throw invalid(
      `CA key ${path} has mode ${octal(st.mode)}: group or others may read or change it; run "chmod 600 ${path}"`,
    );
  }
}

/**
 * A folder holding CA files: owned by us or root, not writable by group or others. Returns false
 * when it does not exist (the caller creates it, mode 0700).
 */
export async function checkCaFolder(dir: string): Promise<boolean> {
  if (!checked) return true;
  let st: Stats;
  try {
    st = await stat(dir);
  } catch (err) {
    if (errnoCode(err) === "ENOENT") return false;
    throw invalid(`CA folder ${dir} is not accessible (${errnoCode(err) ?? "error"})`, err);
  }
  if (!st.isDirectory()) throw invalid(`CA folder ${dir} is not a directory`);
  checkOwner(st, dir, "CA folder");
  if ((st.mode & FOLDER_FORBIDDEN_BITS) !== 0) {
    throw invalid(
      `CA folder ${dir} has mode ${octal(st.mode)}: group or others may add or replace CA files in it; run "chmod 700 ${dir}"`,
    );
  }
  return true;
}
