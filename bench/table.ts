/** The result table: one row per metric, printed as aligned pipe-separated columns. */

export interface Row {
  metric: string;
  direct: string;
  proxy: string;
  delta: string;
  target: string;
  /** "yes" / "no" when the row has a target and both numbers; "-" otherwise. */
  met: "yes" | "no" | "-";
}

const COLUMNS = ["metric", "direct", "proxy", "delta", "target", "met"] as const;
type Cells = Record<(typeof COLUMNS)[number], string>;

const HEADER: Cells = {
  metric: "metric",
  direct: "direct",
  proxy: "via proxy",
  delta: "ratio/delta",
  target: "target",
  met: "met",
};

/** Fixed-point number, or "n/a" when it is not finite (a phase that produced no result). */
export function num(x: number, digits: number): string {
  return Number.isFinite(x) ? x.toFixed(digits) : "n/a";
}

/** A difference with its sign ("+1.04 ms", "-0.20 ms"), or "n/a". */
export function signed(x: number, digits: number, unit: string): string {
  return Number.isFinite(x) ? `${x >= 0 ? "+" : ""}${x.toFixed(digits)} ${unit}` : "n/a";
}

/** A ratio ("0.45×"), or "n/a". */
export function times(x: number): string {
  return Number.isFinite(x) ? `${x.toFixed(2)}×` : "n/a";
}

/** "yes" / "no" for a finite value against its bound, "no" when there is no value to compare. */
export function met(ok: boolean, value: number): Row["met"] {
  return Number.isFinite(value) && ok ? "yes" : "no";
}

/** The table; `labels` renames the two value columns (default "direct" and "via proxy"). */
export function formatTable(rows: Row[], labels?: { direct: string; proxy: string }): string {
  const header: Cells = labels ? { ...HEADER, ...labels } : HEADER;
  const all: Cells[] = [header, ...rows];
  const widths = COLUMNS.map((c) => Math.max(...all.map((r) => r[c].length)));
  const line = (r: Cells) =>
    `| ${COLUMNS.map((c, i) => (i === 0 ? r[c].padEnd(widths[i]!) : r[c].padStart(widths[i]!))).join(" | ")} |`;
  const rule = `|${widths.map((w, i) => (i === 0 ? "-".repeat(w + 2) : `${"-".repeat(w + 1)}:`)).join("|")}|`;
  return [line(header), rule, ...rows.map(line)].join("\n");
}
