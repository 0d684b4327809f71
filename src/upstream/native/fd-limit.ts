/**
 * The open-file limit: every tunnel holds two sockets, so the usual soft limit of 1024 caps the
 * proxy at a few hundred tunnels. Raised once at start-up, through libpolyboring (setrlimit).
 */
import { loadNative } from "./ffi.ts";

/**
 * Raises the soft RLIMIT_NOFILE to the hard limit. Returns the soft limit now in force, or null
 * when it could not be raised, is unlimited, or the native library is unavailable. Never throws.
 */
export function raiseFdLimit(): number | null {
  try {
    const n = loadNative().raiseNofileLimit();
    return n >= 0 && Number.isSafeInteger(n) ? n : null;
  } catch {
    return null;
  }
}
