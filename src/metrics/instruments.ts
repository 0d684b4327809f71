/**
 * In-memory metric instruments that turn into exposition families on scrape: a labelled counter,
 * a labelled histogram with fixed buckets, and a gauge read from a callback at scrape time. Label
 * names are fixed per instrument; the number of label-value combinations is capped, and values past
 * the cap are folded into one `overflow` series, so a bug can never grow a scrape without bound.
 */
import { ProxyError } from "../errors/proxy-error.ts";
import {
  type HistogramSample,
  isLabelName,
  isMetricName,
  type Labels,
  type MetricFamily,
} from "./exposition.ts";

/** Series per instrument before label values fold into `overflow` (far above any real set). */
export const MAX_SERIES = 1_000;
const OVERFLOW = "overflow";

export interface Instrument {
  collect(): MetricFamily;
}

function checkDefinition(name: string, labelNames: readonly string[]): void {
  if (!isMetricName(name)) throw new ProxyError("INTERNAL", `metric name "${name}" is not valid`);
  for (const l of labelNames) {
    if (!isLabelName(l) || l === "le") throw new ProxyError("INTERNAL", `label name "${l}" is not valid`);
  }
}

/** One map of series per instrument, keyed by the label values in label-name order. */
class SeriesMap<T> {
  readonly #labelNames: readonly string[];
  readonly #series = new Map<string, { labels: Labels; state: T }>();
  readonly #make: () => T;

  constructor(labelNames: readonly string[], make: () => T) {
    this.#labelNames = labelNames;
    this.#make = make;
  }

  get(labels: Labels): T {
    const values = this.#labelNames.map((n) => labels[n] ?? "");
    let key = JSON.stringify(values);
    let entry = this.#series.get(key);
    if (entry) return entry.state;
    let own = values;
    if (this.#series.size >= MAX_SERIES) {
      own = this.#labelNames.map(() => OVERFLOW);
      key = JSON.stringify(own);
      entry = this.#series.get(key);
      if (entry) return entry.state;
    }
    const fixed: Record<string, string> = {};
    this.#labelNames.forEach((n, i) => {
      fixed[n] = own[i] ?? "";
    });
    entry = { labels: fixed, state: this.#make() };
    this.#series.set(key, entry);
    return entry.state;
  }

  /** Series sorted by their label values, for a stable output. */
  entries(): { labels: Labels; state: T }[] {
    return [...this.#series.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, e]) => e);
  }
}

export class Counter implements Instrument {
  readonly name: string;
  readonly #help: string;
  readonly #series: SeriesMap<{ value: number }>;

  /** `name` ends with `_total`, as counters do in this format. */
  constructor(name: string, help: string, labelNames: readonly string[] = []) {
    checkDefinition(name, labelNames);
    if (!name.endsWith("_total")) throw new ProxyError("INTERNAL", `counter ${name} must end with _total`);
    this.name = name;
    this.#help = help;
    this.#series = new SeriesMap(labelNames, () => ({ value: 0 }));
    if (labelNames.length === 0) this.#series.get({}); // an unlabelled counter shows 0 from the start
  }

  inc(labels: Labels = {}, by = 1): void {
    if (!(by >= 0)) throw new ProxyError("INTERNAL", `counter ${this.name} cannot go down (${by})`);
    this.#series.get(labels).value += by;
  }

  collect(): MetricFamily {
    const samples = this.#series.entries().map((e) => ({ labels: e.labels, value: e.state.value }));
    return { name: this.name, help: this.#help, type: "counter", samples };
  }
}

export class Histogram implements Instrument {
  readonly name: string;
  readonly #help: string;
  readonly #bounds: readonly number[];
  readonly #series: SeriesMap<{ buckets: number[]; count: number; sum: number }>;

  /** `bounds`: upper bounds, strictly increasing and finite; `+Inf` is implied. */
  constructor(name: string, help: string, bounds: readonly number[], labelNames: readonly string[] = []) {
    checkDefinition(name, labelNames);
    if (
      bounds.length === 0 ||
      bounds.some((b, i) => !Number.isFinite(b) || (i > 0 && b <= (bounds[i - 1] ?? b)))
    ) {
      throw new ProxyError("INTERNAL", `histogram ${name}: bounds must be finite and strictly increasing`);
    }
    this.name = name;
    this.#help = help;
    this.#bounds = [...bounds];
    this.#series = new SeriesMap(labelNames, () => ({ buckets: bounds.map(() => 0), count: 0, sum: 0 }));
    if (labelNames.length === 0) this.#series.get({});
  }

  observe(value: number, labels: Labels = {}): void {
    if (!Number.isFinite(value)) return;
    const s = this.#series.get(labels);
    const i = this.#bounds.findIndex((b) => value <= b);
    if (i >= 0) s.buckets[i] = (s.buckets[i] ?? 0) + 1;
    s.count++;
    s.sum += value;
  }

  collect(): MetricFamily {
    const samples: HistogramSample[] = this.#series.entries().map(({ labels, state }) => {
      let running = 0;
      const cumulative = state.buckets.map((n) => {
        running += n;
        return running;
      });
      return { labels, bounds: this.#bounds, cumulative, count: state.count, sum: state.sum };
    });
    return { name: this.name, help: this.#help, type: "histogram", samples };
  }
}

/** A gauge whose value is read when scraped (open tunnels, cache sizes). */
export class CallbackGauge implements Instrument {
  readonly #name: string;
  readonly #help: string;
  readonly #read: () => number;

  constructor(name: string, help: string, read: () => number) {
    checkDefinition(name, []);
    this.#name = name;
    this.#help = help;
    this.#read = read;
  }

  collect(): MetricFamily {
    return {
      name: this.#name,
      help: this.#help,
      type: "gauge",
      samples: [{ labels: {}, value: this.#read() }],
    };
  }
}
