/**
 * The exposition writer (pure) and the instruments, checked by a strict parser written separately
 * (test/helpers/prom-text.ts), plus the parser's own refusals so that a lax parser cannot pass.
 */
import { describe, expect, test } from "bun:test";
import {
  EXPOSITION_CONTENT_TYPE,
  escapeHelp,
  escapeLabelValue,
  formatExposition,
  formatNumber,
} from "../src/metrics/exposition.ts";
import { CallbackGauge, Counter, Histogram, MAX_SERIES } from "../src/metrics/instruments.ts";
import { ProxyMetrics, statusClass } from "../src/metrics/proxy-metrics.ts";
import { parsePrometheusText, sampleValue } from "./helpers/prom-text.ts";

describe("exposition writer", () => {
  test("HELP, TYPE and samples, exactly as version 0.0.4 writes them", () => {
    const text = formatExposition([
      { name: "a_total", help: "Things", type: "counter", samples: [{ labels: { k: "v" }, value: 3 }] },
      { name: "g", help: "Gauge", type: "gauge", samples: [{ labels: {}, value: 1.5 }] },
      {
        name: "h_seconds",
        help: "Hist",
        type: "histogram",
        samples: [{ labels: { m: "x" }, bounds: [0.1, 1], cumulative: [1, 2], count: 3, sum: 4.25 }],
      },
    ]);
    expect(text).toBe(
      [
        "# HELP a_total Things",
        "# TYPE a_total counter",
        'a_total{k="v"} 3',
        "# HELP g Gauge",
        "# TYPE g gauge",
        "g 1.5",
        "# HELP h_seconds Hist",
        "# TYPE h_seconds histogram",
        'h_seconds_bucket{m="x",le="0.1"} 1',
        'h_seconds_bucket{m="x",le="1"} 2',
        'h_seconds_bucket{m="x",le="+Inf"} 3',
        'h_seconds_sum{m="x"} 4.25',
        'h_seconds_count{m="x"} 3',
        "",
      ].join("\n"),
    );
    expect(EXPOSITION_CONTENT_TYPE).toBe("text/plain; version=0.0.4; charset=utf-8");
  });

  test("label values and help text are escaped, and parse back to the original", () => {
    const nasty = 'a\\b"c\nd';
    expect(escapeLabelValue(nasty)).toBe('a\\\\b\\"c\\nd');
    expect(escapeHelp('x\\y\nz "q"')).toBe('x\\\\y\\nz "q"');
    const text = formatExposition([
      {
        name: "e_total",
        help: 'help \\ with\nnewline "and quotes"',
        type: "counter",
        samples: [{ labels: { v: nasty }, value: 1 }],
      },
    ]);
    const fam = parsePrometheusText(text).get("e_total");
    expect(fam?.help).toBe('help \\ with\nnewline "and quotes"');
    expect(fam?.samples[0]?.labels.v).toBe(nasty);
  });

  test("numbers: integers, floats, infinities, NaN", () => {
    expect(
      [1, 0.005, 2.5e-7, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, Number.NaN].map(formatNumber),
    ).toEqual(["1", "0.005", "2.5e-7", "+Inf", "-Inf", "NaN"]);
  });

  test("invalid names and a family written twice are refused", () => {
    expect(() => formatExposition([{ name: "1bad", help: "", type: "gauge", samples: [] }])).toThrow();
    expect(() =>
      formatExposition([
        { name: "ok", help: "", type: "gauge", samples: [{ labels: { "bad-label": "x" }, value: 1 }] },
      ]),
    ).toThrow();
    expect(() =>
      formatExposition([
        {
          name: "h",
          help: "",
          type: "histogram",
          samples: [{ labels: { le: "1" }, bounds: [], cumulative: [], count: 0, sum: 0 }],
        },
      ]),
    ).toThrow();
    const twice = { name: "x", help: "", type: "gauge" as const, samples: [] };
    expect(() => formatExposition([twice, twice])).toThrow();
  });
});

describe("instruments", () => {
  test("counter: _total, labelled series sorted, cannot go down; unlabelled shows 0 at once", () => {
    expect(() => new Counter("no_suffix", "x")).toThrow();
    const c = new Counter("c_total", "C", ["k"]);
    c.inc({ k: "b" });
    c.inc({ k: "a" }, 2);
    c.inc({ k: "b" });
    expect(() => c.inc({ k: "a" }, -1)).toThrow();
    const fams = parsePrometheusText(formatExposition([c.collect(), new Counter("z_total", "Z").collect()]));
    expect(fams.get("c_total")?.samples.map((s) => [s.labels.k, s.value])).toEqual([
      ["a", 2],
      ["b", 2],
    ]);
    expect(sampleValue(fams, "z_total")).toBe(0);
  });

  test("label combinations past the cap fold into one overflow series", () => {
    const c = new Counter("many_total", "M", ["k"]);
    for (let i = 0; i < MAX_SERIES + 50; i++) c.inc({ k: `v${i}` });
    const fam = parsePrometheusText(formatExposition([c.collect()])).get("many_total");
    expect(fam?.samples.length).toBe(MAX_SERIES + 1);
    expect(sampleValue(new Map([["many_total", fam!]]), "many_total", { k: "overflow" })).toBe(50);
  });

  test("histogram: observations land in the first bucket >= value; buckets cumulative, +Inf = count", () => {
    expect(() => new Histogram("bad", "x", [1, 1])).toThrow();
    expect(() => new Histogram("bad", "x", [])).toThrow();
    const h = new Histogram("lat_seconds", "L", [0.1, 1, 10]);
    for (const v of [0.05, 0.1, 0.5, 3, 100, Number.NaN]) h.observe(v);
    const fams = parsePrometheusText(formatExposition([h.collect()]));
    const le = (b: string) => sampleValue(fams, "lat_seconds", { le: b }, "lat_seconds_bucket");
    expect([le("0.1"), le("1"), le("10"), le("+Inf")]).toEqual([2, 3, 4, 5]);
    expect(sampleValue(fams, "lat_seconds", {}, "lat_seconds_count")).toBe(5);
    expect(sampleValue(fams, "lat_seconds", {}, "lat_seconds_sum")).toBeCloseTo(103.65, 9);
  });

  test("a callback gauge reads its value at scrape time", () => {
    let n = 1;
    const g = new CallbackGauge("now_open", "Open", () => n);
    n = 7;
    expect(sampleValue(parsePrometheusText(formatExposition([g.collect()])), "now_open")).toBe(7);
  });
});

describe("ProxyMetrics from tunnel records", () => {
  test("status classes", () => {
    expect(["200", "204", "301", "404", "503", "0", "999", "x"].map(statusClass)).toEqual([
      "2xx",
      "2xx",
      "3xx",
      "4xx",
      "5xx",
      "reset",
      "other",
      "other",
    ]);
  });

  test("a record moves every counter it carries; hosts and clients never become labels", () => {
    const m = new ProxyMetrics({ activeTunnels: () => 2, openConnections: () => 3, draining: () => false });
    m.tunnelClosed({
      client: "10.9.8.7:5555",
      host: "secret-host.example:443",
      mode: "mitm",
      profile: "chrome",
      clientAlpn: "h2",
      upstreamAlpn: "h2",
      upstreamVersion: "TLSv1.3",
      upstreamCipher: "TLS_AES_128_GCM_SHA256",
      resumed: true,
      bytesUp: 100,
      bytesDown: 2000,
      durationMs: 50,
      connectMs: 2,
      clientHandshakeMs: 3,
      upstreamHandshakeMs: 40,
      http: "h2",
      upstreamHttp: ["h2"],
      requests: 3,
      statuses: { "200": 2, "0": 1 },
      errorCode: null,
    });
    m.rejected("CAPACITY");
    m.authBrakeEngaged();
    m.leafLookup(false);
    m.leafLookup(true);
    const text = m.render();
    expect(text).not.toContain("secret-host");
    expect(text).not.toContain("10.9.8.7");
    const f = parsePrometheusText(text);
    expect(
      sampleValue(f, "polytls_tunnels_total", {
        mode: "mitm",
        profile: "chrome",
        outcome: "ok",
        code: "none",
      }),
    ).toBe(1);
    expect(sampleValue(f, "polytls_tunnel_bytes_total", { direction: "up" })).toBe(100);
    expect(sampleValue(f, "polytls_tunnel_bytes_total", { direction: "down" })).toBe(2000);
    expect(sampleValue(f, "polytls_upstream_alpn_total", { alpn: "h2" })).toBe(1);
    expect(sampleValue(f, "polytls_upstream_session_resumptions_total")).toBe(1);
    expect(sampleValue(f, "polytls_http_requests_total", { status_class: "2xx" })).toBe(2);
    expect(sampleValue(f, "polytls_http_requests_total", { status_class: "reset" })).toBe(1);
    expect(sampleValue(f, "polytls_http_tunnels_total", { protocol: "h2" })).toBe(1);
    expect(sampleValue(f, "polytls_rejected_total", { code: "CAPACITY" })).toBe(1);
    expect(sampleValue(f, "polytls_auth_brake_engagements_total")).toBe(1);
    expect(sampleValue(f, "polytls_leaf_cache_lookups_total", { result: "hit" })).toBe(1);
    expect(sampleValue(f, "polytls_tunnels_active")).toBe(2);
    expect(sampleValue(f, "polytls_connections_open")).toBe(3);
    const up = "polytls_upstream_handshake_duration_seconds";
    expect(sampleValue(f, up, { le: "0.025" }, `${up}_bucket`)).toBe(0);
    expect(sampleValue(f, up, { le: "0.05" }, `${up}_bucket`)).toBe(1);
    expect(sampleValue(f, up, {}, `${up}_sum`)).toBeCloseTo(0.04, 9);
    for (const fam of f.values()) {
      expect(fam.help).not.toBeNull();
      if (fam.type === "counter") expect(fam.name).toEndWith("_total");
    }
  });
});

describe("the test parser refuses what the format forbids", () => {
  const bad: [string, string][] = [
    ["no final line feed", "# TYPE a gauge\na 1"],
    ["bad escape", '# TYPE a gauge\na{k="\\t"} 1\n'],
    ["duplicate label", '# TYPE a gauge\na{k="1",k="2"} 1\n'],
    ["duplicate series", "# TYPE a gauge\na 1\na 2\n"],
    ["TYPE after samples", "a 1\n# TYPE a gauge\n"],
    ["split family", '# TYPE a gauge\na 1\n# TYPE b gauge\nb 1\na{x="1"} 2\n'],
    ["bad value", "# TYPE a gauge\na one\n"],
    ["histogram without +Inf", '# TYPE h histogram\nh_bucket{le="1"} 1\nh_sum 1\nh_count 1\n'],
    ["+Inf != count", '# TYPE h histogram\nh_bucket{le="+Inf"} 2\nh_sum 1\nh_count 1\n'],
    ["non-cumulative", '# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n'],
    ["unknown type", "# TYPE a thing\n"],
  ];
  for (const [what, text] of bad) {
    test(what, () => {
      expect(() => parsePrometheusText(text)).toThrow();
    });
  }
});
