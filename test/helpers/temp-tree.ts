/**
 * Removing a test's temp tree. Never throws: teardown hooks registered after the one calling it
 * still run (in Bun a throwing `afterAll` skips the later ones), and what could not be removed is
 * named on stderr, where scripts/run-tests.sh's leftover check also reports it.
 */
import { chmodSync, lstatSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";

/** Deletes `dir` and everything in it, first making read-only folders in it writable (as owner). */
export function removeTempTree(dir: string): void {
  try {
    writableFolders(dir);
    rmSync(dir, { recursive: true, force: true });
  } catch (err) {
    console.error(`could not remove the test temp dir ${dir}: ${(err as Error).message}`);
  }
}

/** Gives the owner rwx on `dir` and every folder under it (a test may leave a 0500 folder behind). */
function writableFolders(dir: string): void {
  let stat: ReturnType<typeof lstatSync>;
  try {
    stat = lstatSync(dir);
  } catch {
    return; // already gone
  }
  if (!stat.isDirectory()) return;
  chmodSync(dir, stat.mode | 0o700);
  for (const name of readdirSync(dir)) writableFolders(join(dir, name));
}
