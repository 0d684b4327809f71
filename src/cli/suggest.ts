/**
 * "Did you mean …?" for a mistyped option or command: the closest known name by edit distance
 * (optimal string alignment: insert, delete, substitute, swap two neighbours; case-insensitive),
 * else the one known name that starts with what was typed. Pure.
 */

const MIN_PREFIX_CHARS = 3; // chars; shorter prefixes ("--l") are too ambiguous to guess from

/** Optimal string alignment distance (Damerau-Levenshtein without repeated edits of a substring). */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[] = new Array<number>(rows * cols).fill(0);
  const at = (i: number, j: number) => d[i * cols + j] ?? 0;
  for (let i = 0; i < rows; i++) d[i * cols] = i;
  for (let j = 0; j < cols; j++) d[j] = j;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        best = Math.min(best, at(i - 2, j - 2) + 1);
      }
      d[i * cols + j] = best;
    }
  }
  return at(a.length, b.length);
}

/** Most edits still worth suggesting for a name of this length: 1 up to 4 chars, then 1 per 3. */
function tolerance(length: number): number {
  return Math.max(1, Math.floor(length / 3));
}

/** The known name closest to `typed`, or undefined when none is close enough. */
export function closest(typed: string, known: readonly string[]): string | undefined {
  const t = typed.toLowerCase();
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const name of known) {
    const dist = editDistance(t, name.toLowerCase());
    if (dist < bestDistance) {
      best = name;
      bestDistance = dist;
    }
  }
  if (best !== undefined && bestDistance <= tolerance(t.length)) return best;
  if (t.length < MIN_PREFIX_CHARS) return undefined;
  const prefixed = known.filter((name) => name.toLowerCase().startsWith(t));
  return prefixed.length === 1 ? prefixed[0] : undefined;
}
