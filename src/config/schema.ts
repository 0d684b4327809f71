/**
 * The config file schema: the one source of truth for every `[proxy.*]` and `[log]` key, its type,
 * default and validation. `[profiles."name"]` tables are checked by the profile schema. TOML keys
 * are snake_case; the typed `Config` uses the camelCase of the same names.
 */
import { isIP } from "node:net";
import { isIdentityHeader } from "../http/headers/names.ts";
import { DEFAULT_PROFILE } from "../profiles/builtin.ts";
import { parseNextHop } from "../proxy/next-hop-url.ts";
import { PROFILE_SEPARATOR } from "../proxy/proxy-user.ts";
import {
  boolField,
  enumField,
  type Field,
  intField,
  pathField,
  portListField,
  stringField,
  stringListField,
} from "./fields.ts";

/** `host:port` or `[v6]:port`; returns a reason when invalid. */
export function splitHostPort(address: string): { host: string; port: number } | string {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]\s]+)):(\d{1,5})$/.exec(address);
  if (m === null) return `expected "host:port" or "[ipv6]:port", got "${address}"`;
  const port = Number(m[3]);
  if (port > 65535) return `port ${port} is out of range 0..65535`;
  return { host: m[1] ?? m[2] ?? "", port };
}

const MAX_TIMEOUT_MS = 3_600_000; // ms; one hour, beyond any sane handshake or connect wait
const DAY_MS = 86_400_000; // ms

/** `address/prefix` with an IPv4 (prefix 0..32) or IPv6 (0..128) address; returns a reason when invalid. */
export function cidrProblem(v: string): string | undefined {
  const m = /^([^/\s]+)\/(\d{1,3})$/.exec(v);
  const family = m?.[1] ? isIP(m[1]) : 0;
  if (!m || family === 0) return `expected "address/prefix" (e.g. "10.0.0.0/8" or "fc00::/7"), got "${v}"`;
  const max = family === 4 ? 32 : 128;
  return Number(m[2]) > max ? `prefix /${m[2]} is longer than ${max} bits` : undefined;
}

export const CONFIG_SCHEMA = {
  proxy: {
    listen: {
      address: stringField(
        'Address the proxy listens on, "host:port" (port 0 = any free port)',
        "127.0.0.1:8080",
        (v) => {
          const r = splitHostPort(v);
          return typeof r === "string" ? r : undefined;
        },
      ),
    },
    admin: {
      listen: stringField(
        'Admin listener for /metrics (Prometheus), /healthz and /readyz, "host:port"; empty = off',
        "",
        (v) => {
          if (v === "") return undefined;
          const r = splitHostPort(v);
          return typeof r === "string" ? r : undefined;
        },
      ),
      allow_remote: boolField(
        "Allow proxy.admin.listen on a non-loopback address (e.g. for Kubernetes probes); metrics then reach whoever can connect",
        false,
      ),
    },
    socks: {
      listen: stringField(
        'SOCKS5 listen address, "host:port" (RFC 1928 CONNECT, RFC 1929 username/password); empty = off. Same pipeline, access rules and limits as the HTTP listener',
        "",
        (v) => {
          if (v === "") return undefined;
          const r = splitHostPort(v);
          return typeof r === "string" ? r : undefined;
        },
      ),
    },
    mitm: {
      enabled: boolField(
        "Intercept CONNECT tunnels (mint a leaf, re-originate TLS with a profile); false = blind relay",
        true,
      ),
      http: enumField(
        "full: terminate HTTP and re-originate every request as the profile's browser (HTTP/2 or HTTP/1.1, headers); tls-relay: relay the decrypted bytes, only the TLS hello is the browser's",
        "full",
        ["full", "tls-relay"] as const,
      ),
    },
    http: {
      keep_client_headers: stringListField(
        'Browser-identity headers (e.g. user-agent; "*" for all) whose client values are sent instead of the profile\'s; per request: X-PolyTLS-Keep-Headers',
        (v) => {
          if (!/^[!#$%&'*+\-.^_`|~0-9a-z]+$/.test(v)) return `expected a lowercase header name, got "${v}"`;
          if (v === "*" || (isIdentityHeader(v) && v !== "te")) return undefined;
          if (v === "te")
            return `"te" is hop-by-hop: a client's TE: trailers reaches an HTTP/2 origin whatever the profile, nothing else of it is kept`;
          return `"${v}" is not a browser-identity header (the profile owns user-agent, accept*, sec-ch-*, sec-fetch-*, upgrade-insecure-requests, priority, dnt, sec-gpc); other headers always pass through`;
        },
      ),
      max_concurrent_streams: intField(
        "Most concurrent HTTP/2 streams a client may open in one tunnel (its SETTINGS_MAX_CONCURRENT_STREAMS)",
        100,
        1,
        1_000,
      ),
      max_request_head_bytes: intField(
        "Largest request head (HTTP/1.1) or header list (HTTP/2) a client may send in a tunnel, bytes",
        65_536,
        1_024,
        1_048_576,
      ),
    },
    upstream: {
      default_profile: stringField(
        "Profile (name or alias) used when the CONNECT has no X-PolyTLS-Upstream-Profile header",
        DEFAULT_PROFILE,
        (v) => (v === "" ? "expected a profile name" : undefined),
      ),
      ca_file: pathField(
        "PEM file of extra CAs trusted for upstream servers, added to the system store",
        null,
      ),
      insecure_skip_verify: boolField("Accept any upstream certificate (lab only)", false),
      verify_hostname: boolField("Check that the upstream certificate matches the host", true),
      connect_timeout_ms: intField("Upstream TCP connect timeout, milliseconds", 30_000, 1, MAX_TIMEOUT_MS),
      handshake_timeout_ms: intField(
        "Upstream TLS handshake timeout (after the TCP connect), milliseconds",
        30_000,
        1,
        MAX_TIMEOUT_MS,
      ),
      response_timeout_ms: intField(
        "HTTP mode: a request sent whole upstream must get its response head within this long, else 504 (UPSTREAM_TIMEOUT); 0 = no limit, milliseconds",
        300_000,
        0,
        DAY_MS,
      ),
      next_hop: stringField(
        'Upstream proxy every tunnel goes through: "http://", "socks5://" or "socks5h://" [user[:password]@]host:port (percent-encoded); empty = direct. TLS still ends in PolyTLS',
        "",
        // The value may hold a password: a reason never quotes it.
        (v) => {
          if (v === "") return undefined;
          const r = parseNextHop(v);
          return typeof r === "string" ? r : undefined;
        },
      ),
      allow_next_hop_header: boolField(
        'Let clients choose the next hop per request with X-PolyTLS-Next-Hop (a URL, or "direct"); the hop\'s address is then checked like a target',
        true,
      ),
    },
    certificate: {
      ca_key_path: pathField("MITM root CA private key (PEM)", "ca/private.key"),
      ca_cert_path: pathField(
        "MITM root CA certificate (PEM); install it in the clients' trust store",
        "ca/certificate.pem",
      ),
      cache_ttl: intField(
        "How long a minted leaf certificate is reused, seconds (0 = never cached)",
        3600,
        0,
        86_400 * 30,
      ),
    },
    auth: {
      users: stringListField(
        'Proxy users as "name:password"; when not empty, every CONNECT needs Proxy-Authorization: Basic (else 407)',
        (v) =>
          !/^[^:]+:.+$/.test(v)
            ? 'expected "name:password" (a name without ":", a non-empty password)'
            : v.slice(0, v.indexOf(":")).includes(PROFILE_SEPARATOR)
              ? `a user name must not contain "${PROFILE_SEPARATOR}" (it introduces the profile in a proxy user name)`
              : undefined,
        // A second entry for a name would silently replace the first one's password.
        { key: (v) => v.slice(0, v.indexOf(":")), what: "user name" },
      ),
      max_failures: intField(
        "Failed proxy logins one client IP may make per failure window; beyond it, 429 until the window has passed",
        10,
        1,
        1_000_000,
      ),
      failure_window_ms: intField(
        "The window over which failed proxy logins are counted, milliseconds",
        60_000,
        1,
        DAY_MS,
      ),
    },
    access: {
      allowed_ports: portListField("Target ports a CONNECT may reach; empty = any port (others get 403)"),
      deny_private: boolField(
        "Refuse targets that resolve to loopback, private, link-local, CGNAT, multicast or unspecified addresses (403); checked after DNS resolution",
        false,
      ),
      deny_cidrs: stringListField(
        'Extra target address ranges refused after DNS resolution (403), e.g. ["10.0.0.0/8", "fd00::/8"]',
        cidrProblem,
      ),
    },
    limits: {
      header_timeout_ms: intField(
        "Time a client has to send the whole CONNECT request, milliseconds",
        10_000,
        1,
        MAX_TIMEOUT_MS,
      ),
      max_header_bytes: intField("Largest CONNECT request head accepted, bytes", 16_384, 256, 1_048_576),
      max_headers: intField("Most header lines accepted in a CONNECT request", 64, 1, 1024),
      max_tunnels: intField("Most tunnels open at once; beyond it a CONNECT gets 503", 8_192, 1, 1_000_000),
      max_tunnels_per_client: intField(
        "Most tunnels open at once from one client IP address; beyond it a CONNECT gets 429",
        1_024,
        1,
        1_000_000,
      ),
      idle_timeout_ms: intField(
        "A tunnel in which no byte moved either way for this long is closed (after 200), milliseconds",
        300_000,
        1,
        DAY_MS,
      ),
      client_handshake_timeout_ms: intField(
        "Client-facing TLS handshake timeout in MITM mode (after 200), milliseconds",
        30_000,
        1,
        MAX_TIMEOUT_MS,
      ),
      drain_timeout_ms: intField(
        "On SIGINT/SIGTERM, open tunnels get this long to finish before they are reset and logged, milliseconds",
        5_000,
        0,
        MAX_TIMEOUT_MS,
      ),
    },
  },
  log: {
    level: enumField("Lowest level written", "info", ["debug", "info", "warn", "error"] as const),
    format: enumField("text: one human-readable line per event; json: one JSON object per line", "text", [
      "text",
      "json",
    ] as const),
  },
} as const;

export interface SchemaSection {
  readonly [key: string]: Field<unknown> | SchemaSection;
}

type Camel<S extends string> = S extends `${infer H}_${infer T}` ? `${H}${Capitalize<Camel<T>>}` : S;

/** The typed value of a schema section: camelCase keys, each field's value type. */
export type SectionValue<S> = {
  -readonly [K in keyof S & string as Camel<K>]: S[K] extends Field<infer T> ? T : SectionValue<S[K]>;
};

export type ProxyConfig = SectionValue<typeof CONFIG_SCHEMA.proxy>;
export type ListenConfig = ProxyConfig["listen"];
export type SocksConfig = ProxyConfig["socks"];
export type AdminConfig = ProxyConfig["admin"];
export type MitmConfig = ProxyConfig["mitm"];
export type HttpConfig = ProxyConfig["http"];
export type UpstreamConfig = ProxyConfig["upstream"];
export type CertificateConfig = ProxyConfig["certificate"];
export type LimitsConfig = ProxyConfig["limits"];
export type AuthConfig = ProxyConfig["auth"];
export type AccessConfig = ProxyConfig["access"];
export type LogConfig = SectionValue<typeof CONFIG_SCHEMA.log>;

/** The whole configuration, as components receive it. Paths are absolute. */
export interface Config {
  proxy: ProxyConfig;
  log: LogConfig;
  /** User profile tables by name, as written (validated; resolved by ProfileRegistry). */
  profiles: Record<string, Record<string, unknown>>;
  /** The config file read, or null when running on defaults. */
  file: string | null;
}

export type DeepPartial<T> = T extends readonly unknown[]
  ? T
  : T extends object
    ? { [K in keyof T]?: DeepPartial<T[K]> }
    : T;

/** Values from command-line flags; they win over the file. */
export type ConfigOverrides = DeepPartial<Pick<Config, "proxy" | "log">>;

export function isField(node: Field<unknown> | SchemaSection): node is Field<unknown> {
  return (node as Field<unknown>).kind === "field";
}

export function camelCase(key: string): string {
  return key.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
}

/** Reference of every config key: `path: type (default). doc`, one per line. */
export function configSchemaDoc(section: SchemaSection = CONFIG_SCHEMA, prefix = ""): string[] {
  const lines: string[] = [];
  for (const [key, node] of Object.entries(section)) {
    const path = prefix === "" ? key : `${prefix}.${key}`;
    if (isField(node))
      lines.push(`${path}: ${node.type} (${node.toToml(node.default) ?? "none"}). ${node.doc}`);
    else lines.push(...configSchemaDoc(node, path));
  }
  return lines;
}
