/**
 * A strict parser of the Prometheus text format 0.0.4 for tests, written from the format's rules
 * rather than from our writer: it throws on anything a Prometheus server would refuse or that the
 * format forbids (bad names, bad escapes, duplicate labels or series, a TYPE after samples, a
 * family split in two, a histogram without its +Inf bucket, _sum or _count, non-cumulative
 * buckets, +Inf != _count, a missing final line feed).
 */

export interface ParsedSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface ParsedFamily {
  name: string;
  type: string;
  help: string | null;
  samples: ParsedSample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*/;
const TYPES = new Set(["counter", "gauge", "histogram", "summary", "untyped"]);
const FLOAT = /^[+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)$/;

function parseValue(text: string, line: number): number {
  if (text === "+Inf" || text === "Inf") return Number.POSITIVE_INFINITY;
  if (text === "-Inf") return Number.NEGATIVE_INFINITY;
  if (text === "NaN") return Number.NaN;
  if (!FLOAT.test(text)) throw new Error(`line ${line}: bad value ${JSON.stringify(text)}`);
  return Number(text);
}

function unescapeHelp(text: string, line: number): string {
  return text.replace(/\\(.?)/g, (_, c: string) => {
    if (c === "\\") return "\\";
    if (c === "n") return "\n";
    throw new Error(`line ${line}: bad escape in HELP`);
  });
}

/** `{a="x",b="y"}` at the start of `rest`; returns the labels and what follows. */
function parseLabels(rest: string, line: number): { labels: Record<string, string>; rest: string } {
  const labels: Record<string, string> = {};
  let i = 1;
  for (;;) {
    if (rest[i] === "}") return { labels, rest: rest.slice(i + 1) };
    const m = LABEL.exec(rest.slice(i));
    if (!m) throw new Error(`line ${line}: bad label name at ${JSON.stringify(rest.slice(i))}`);
    const key = m[0];
    if (key in labels) throw new Error(`line ${line}: label ${key} twice`);
    i += key.length;
    if (rest.slice(i, i + 2) !== '="') throw new Error(`line ${line}: expected =" after ${key}`);
    i += 2;
    let value = "";
    for (;;) {
      const c = rest[i];
      if (c === undefined) throw new Error(`line ${line}: unterminated label value`);
      if (c === '"') break;
      if (c === "\n") throw new Error(`line ${line}: raw line feed in label value`);
      if (c === "\\") {
        const e = rest[i + 1];
        if (e === "\\") value += "\\";
        else if (e === '"') value += '"';
        else if (e === "n") value += "\n";
        else throw new Error(`line ${line}: bad escape \\${e ?? ""} in label value`);
        i += 2;
        continue;
      }
      value += c;
      i++;
    }
    labels[key] = value;
    i++;
    if (rest[i] === ",") i++;
    else if (rest[i] !== "}") throw new Error(`line ${line}: expected , or } after label ${key}`);
  }
}

/** The family a sample belongs to: histogram series names end in _bucket, _sum or _count. */
function familyOf(name: string, types: Map<string, string>): string {
  for (const suffix of ["_bucket", "_sum", "_count"]) {
    const base = name.slice(0, -suffix.length);
    if (name.endsWith(suffix) && (types.get(base) === "histogram" || types.get(base) === "summary"))
      return base;
  }
  return name;
}

function checkHistogram(f: ParsedFamily): void {
  const groups = new Map<string, ParsedSample[]>();
  for (const s of f.samples) {
    const { le: _le, ...rest } = s.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    groups.set(key, [...(groups.get(key) ?? []), s]);
  }
  for (const [key, samples] of groups) {
    const buckets = samples.filter((s) => s.name === `${f.name}_bucket`);
    const sum = samples.filter((s) => s.name === `${f.name}_sum`);
    const count = samples.filter((s) => s.name === `${f.name}_count`);
    if (sum.length !== 1 || count.length !== 1)
      throw new Error(`${f.name}${key}: needs one _sum and one _count`);
    if (buckets.some((b) => b.labels.le === undefined)) throw new Error(`${f.name}: a bucket without le`);
    const les = buckets.map((b) => parseValue(b.labels.le ?? "", 0));
    for (let i = 1; i < les.length; i++) {
      if (!((les[i] ?? 0) > (les[i - 1] ?? 0))) throw new Error(`${f.name}: le not increasing`);
      if ((buckets[i]?.value ?? 0) < (buckets[i - 1]?.value ?? 0))
        throw new Error(`${f.name}: buckets not cumulative`);
    }
    if (les.at(-1) !== Number.POSITIVE_INFINITY) throw new Error(`${f.name}: no +Inf bucket last`);
    if (buckets.at(-1)?.value !== count[0]?.value) throw new Error(`${f.name}: +Inf bucket != _count`);
  }
}

export function parsePrometheusText(text: string): Map<string, ParsedFamily> {
  if (text.length > 0 && !text.endsWith("\n")) throw new Error("exposition does not end with a line feed");
  const families = new Map<string, ParsedFamily>();
  const types = new Map<string, string>();
  const series = new Set<string>();
  let current: string | null = null;
  const finished = new Set<string>();
  const lines = text.split("\n").slice(0, -1);
  const enter = (name: string, line: number): ParsedFamily => {
    if (current !== name) {
      if (finished.has(name)) throw new Error(`line ${line}: family ${name} appears in two groups`);
      if (current !== null) finished.add(current);
      current = name;
    }
    let f = families.get(name);
    if (!f) {
      f = { name, type: types.get(name) ?? "untyped", help: null, samples: [] };
      families.set(name, f);
    }
    return f;
  };
  lines.forEach((raw, idx) => {
    const line = idx + 1;
    if (raw.trim() === "") return;
    const meta = /^#\s+(HELP|TYPE)\s+(\S+)(?:\s(.*))?$/.exec(raw);
    if (meta) {
      const [, kind, name = "", arg = ""] = meta;
      if (!NAME.test(name) || NAME.exec(name)?.[0] !== name)
        throw new Error(`line ${line}: bad metric name ${name}`);
      const f = enter(name, line);
      if (kind === "HELP") {
        if (f.help !== null) throw new Error(`line ${line}: second HELP for ${name}`);
        f.help = unescapeHelp(arg, line);
      } else {
        if (types.has(name)) throw new Error(`line ${line}: second TYPE for ${name}`);
        if (f.samples.length > 0) throw new Error(`line ${line}: TYPE for ${name} after its samples`);
        if (!TYPES.has(arg)) throw new Error(`line ${line}: unknown type ${arg}`);
        types.set(name, arg);
        f.type = arg;
      }
      return;
    }
    if (raw.startsWith("#")) return;
    const m = NAME.exec(raw);
    if (!m) throw new Error(`line ${line}: bad sample ${JSON.stringify(raw)}`);
    const name = m[0];
    let rest = raw.slice(name.length);
    let labels: Record<string, string> = {};
    if (rest.startsWith("{")) ({ labels, rest } = parseLabels(rest, line));
    const parts = rest.trim().split(/\s+/);
    if (!rest.startsWith(" ") || parts.length < 1 || parts.length > 2)
      throw new Error(`line ${line}: bad sample tail`);
    const value = parseValue(parts[0] ?? "", line);
    const key = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
    if (series.has(key)) throw new Error(`line ${line}: duplicate series ${key}`);
    series.add(key);
    enter(familyOf(name, types), line).samples.push({ name, labels, value });
  });
  for (const f of families.values()) if (f.type === "histogram") checkHistogram(f);
  return families;
}

/** The value of the one sample of `family` named `name` whose labels include `labels` (0 when absent). */
export function sampleValue(
  families: Map<string, ParsedFamily>,
  family: string,
  labels: Record<string, string> = {},
  name = family,
): number {
  const hits = (families.get(family)?.samples ?? []).filter(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
  if (hits.length > 1) throw new Error(`${name} ${JSON.stringify(labels)}: ${hits.length} series match`);
  return hits[0]?.value ?? 0;
}
