/**
 * The Prometheus text exposition format, version 0.0.4, written from plain data. Pure: no clock,
 * no I/O. Each family is one `# HELP` line, one `# TYPE` line and its samples, all together;
 * label values and help text are escaped as the format requires; numbers are Go-style floats
 * (`+Inf`, `-Inf`, `NaN`). A histogram's series are `_bucket{le=…}` (cumulative, `+Inf` last),
 * `_sum` and `_count`.
 *
 * Our own writer rather than prom-client: that library brings three packages we would not use
 * (the OpenTelemetry API for exemplars, tdigest and bintrees for summaries) and a process-global
 * registry, for a format this small; test/metrics-exposition.test.ts checks it with a strict parser.
 */
import { ProxyError } from "../errors/proxy-error.ts";

/** Content-Type of the format this module writes. */
export const EXPOSITION_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export type Labels = Readonly<Record<string, string>>;

export interface Sample {
  labels: Labels;
  value: number;
}

export interface HistogramSample {
  labels: Labels;
  /** Upper bounds, strictly increasing, without +Inf. */
  bounds: readonly number[];
  /** Cumulative counts, one per bound (observations <= bound). */
  cumulative: readonly number[];
  count: number;
  sum: number;
}

export type MetricFamily =
  | { name: string; help: string; type: "counter" | "gauge"; samples: readonly Sample[] }
  | { name: string; help: string; type: "histogram"; samples: readonly HistogramSample[] };

export function isMetricName(name: string): boolean {
  return METRIC_NAME.test(name);
}

/** A label name the format accepts; names starting with `__` are reserved for Prometheus. */
export function isLabelName(name: string): boolean {
  return LABEL_NAME.test(name) && !name.startsWith("__");
}

/** `\` → `\\`, `"` → `\"`, line feed → `\n`. */
export function escapeLabelValue(value: string): string {
  return value.replace(/[\\"\n]/g, (c) => (c === "\\" ? "\\\\" : c === '"' ? '\\"' : "\\n"));
}

/** `\` → `\\`, line feed → `\n` (quotes stay as they are in HELP text). */
export function escapeHelp(text: string): string {
  return text.replace(/[\\\n]/g, (c) => (c === "\\" ? "\\\\" : "\\n"));
}

/** A sample value or bucket bound as the format writes floats. */
export function formatNumber(n: number): string {
  if (Number.isNaN(n)) return "NaN";
  if (n === Number.POSITIVE_INFINITY) return "+Inf";
  if (n === Number.NEGATIVE_INFINITY) return "-Inf";
  return String(n);
}

function labelText(labels: Labels, extra?: [string, string]): string {
  const pairs = Object.entries(labels);
  if (extra) pairs.push(extra);
  if (pairs.length === 0) return "";
  return `{${pairs.map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(",")}}`;
}

function checkNames(family: MetricFamily): void {
  if (!isMetricName(family.name)) {
    throw new ProxyError("INTERNAL", `metric name "${family.name}" is not valid`);
  }
  for (const s of family.samples) {
    for (const k of Object.keys(s.labels)) {
      if (!isLabelName(k) || (family.type === "histogram" && k === "le")) {
        throw new ProxyError("INTERNAL", `label name "${k}" of ${family.name} is not valid`);
      }
    }
  }
}

function histogramLines(name: string, s: HistogramSample): string[] {
  if (s.bounds.length !== s.cumulative.length) {
    throw new ProxyError(
      "INTERNAL",
      `histogram ${name}: ${s.bounds.length} bounds, ${s.cumulative.length} counts`,
    );
  }
  const lines = s.bounds.map(
    (b, i) =>
      `${name}_bucket${labelText(s.labels, ["le", formatNumber(b)])} ${formatNumber(s.cumulative[i] ?? 0)}`,
  );
  lines.push(`${name}_bucket${labelText(s.labels, ["le", "+Inf"])} ${formatNumber(s.count)}`);
  lines.push(`${name}_sum${labelText(s.labels)} ${formatNumber(s.sum)}`);
  lines.push(`${name}_count${labelText(s.labels)} ${formatNumber(s.count)}`);
  return lines;
}

/** The whole exposition: every family in the given order, ending with a line feed. */
export function formatExposition(families: readonly MetricFamily[]): string {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const f of families) {
    checkNames(f);
    if (seen.has(f.name)) throw new ProxyError("INTERNAL", `metric ${f.name} written twice`);
    seen.add(f.name);
    out.push(`# HELP ${f.name} ${escapeHelp(f.help)}`, `# TYPE ${f.name} ${f.type}`);
    if (f.type === "histogram") {
      for (const s of f.samples) out.push(...histogramLines(f.name, s));
    } else {
      for (const s of f.samples) out.push(`${f.name}${labelText(s.labels)} ${formatNumber(s.value)}`);
    }
  }
  return out.length === 0 ? "" : `${out.join("\n")}\n`;
}
