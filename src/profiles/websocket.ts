/**
 * The `[websocket]` profile table: how the ClientHello of a WebSocket's own upstream connection
 * departs from the profile's normal one (browsers, and the proxy, open that connection only when
 * no HTTP/2 connection allows extended CONNECT, RFC 8441; see http/bridge/websocket-h2.ts). One field of the profile
 * schema (`schema.ts`); cross-key rules in `validate.ts`; the engine variant in `websocket-spec.ts`.
 */
import {
  boolField,
  childPath,
  describe,
  enumField,
  type Field,
  type FieldContext,
  isTable,
  tomlString,
} from "../config/fields.ts";
import type { CertCompression } from "../upstream/engine.ts";
import { nameList, protocolList } from "./fields.ts";
import { CERT_COMPRESSION } from "./registry.ts";

export const WEBSOCKET_WHEN = ["always", "h2-origin"] as const;
/**
 * When a WebSocket's own connection uses the table's hello: `always` (Chromium), or `h2-origin`:
 * only when the tunnel's origin chose h2 (Firefox; towards an HTTP/1.1-only origin it opens the
 * WebSocket with its normal hello, `local-debian-http/firefox-h1/cap-conn3.json`).
 */
export type WebSocketWhen = (typeof WEBSOCKET_WHEN)[number];

export interface WebSocketSettings {
  /**
   * Whether a WebSocket goes over an HTTP/2 connection whose SETTINGS enable extended CONNECT
   * (RFC 8441), as Chromium and Firefox do (local-debian-http/*-h2/cap-conn1.json); false: always
   * on a connection of its own.
   */
  overH2: boolean;
  when: WebSocketWhen;
  /** ALPN offered (ignored when the profile offers none). */
  alpn: string[];
  /** Whether the profile's ALPS is kept. */
  alps: boolean;
  /** session_ticket; null = the profile's. */
  sessionTickets: boolean | null;
  /** compress_certificate algorithms; null = the profile's, [] = none. */
  certCompression: CertCompression[] | null;
}

/** Chromium 156's WebSocket connection: ALPN `http/1.1` only, no ALPS, the rest unchanged. */
export const DEFAULT_WEBSOCKET: WebSocketSettings = {
  overH2: true,
  when: "always",
  alpn: ["http/1.1"],
  alps: false,
  sessionTickets: null,
  certCompression: null,
};

type Key = keyof WebSocketSettings;

/** The WebSocket handshake is HTTP/1.1, so its connection must offer it. */
function withHttp11(inner: Field<string[]>): Field<string[]> {
  return {
    ...inner,
    parse(raw, ctx) {
      const list = inner.parse(raw, ctx);
      if (list === undefined || list.includes("http/1.1")) return list;
      ctx.issues.add(ctx.path, 'must include "http/1.1" (the WebSocket handshake is HTTP/1.1)');
      return undefined;
    },
  };
}

const KEYS: { readonly [K in Key]: { toml: string; field: Field<WebSocketSettings[K]> } } = {
  overH2: {
    toml: "over_h2",
    field: boolField(
      "Send a WebSocket over an HTTP/2 connection whose SETTINGS enable extended CONNECT (RFC 8441), as Chromium and Firefox do; false: always on a connection of its own",
      true,
    ),
  },
  when: {
    toml: "when",
    field: enumField(
      'When the WebSocket connection uses this hello: "always", or "h2-origin" (only when the origin chose h2; otherwise the normal hello)',
      "always",
      WEBSOCKET_WHEN,
    ),
  },
  alpn: {
    toml: "alpn",
    field: withHttp11(protocolList("ALPN offered; must include http/1.1", ["http/1.1"], true)),
  },
  alps: { toml: "alps", field: boolField("Keep the profile's ALPS", false) },
  sessionTickets: {
    toml: "session_tickets",
    field: boolField("session_ticket extension (absent: the profile's)", false) as Field<boolean | null>,
  },
  certCompression: {
    toml: "cert_compression",
    field: nameList(CERT_COMPRESSION, "compress_certificate algorithms (absent: the profile's)", [], {
      nonEmpty: false,
      unique: true,
    }) as Field<string[]> as Field<CertCompression[] | null>,
  },
};

const ORDER = Object.keys(KEYS) as Key[];

function inlineList(values: readonly string[]): string {
  return `[${values.map(tomlString).join(", ")}]`;
}

function toToml(v: WebSocketSettings): string {
  const parts = [`when = ${tomlString(v.when)}`, `alpn = ${inlineList(v.alpn)}`, `alps = ${v.alps}`];
  if (!v.overH2) parts.unshift("over_h2 = false");
  if (v.sessionTickets !== null) parts.push(`session_tickets = ${v.sessionTickets}`);
  if (v.certCompression !== null) parts.push(`cert_compression = ${inlineList(v.certCompression)}`);
  return `{ ${parts.join(", ")} }`;
}

function parse(raw: unknown, ctx: FieldContext): WebSocketSettings | undefined {
  if (!isTable(raw)) {
    ctx.issues.add(ctx.path, `expected a table, got ${describe(raw)}`);
    return undefined;
  }
  const byToml = new Map(ORDER.map((k) => [KEYS[k].toml, k]));
  const out: Record<string, unknown> = { ...DEFAULT_WEBSOCKET };
  let ok = true;
  for (const [key, value] of Object.entries(raw)) {
    const path = childPath(ctx.path, key);
    const prop = byToml.get(key);
    if (prop === undefined) {
      ctx.issues.add(path, `unknown key (use ${ORDER.map((k) => KEYS[k].toml).join(", ")})`);
      ok = false;
      continue;
    }
    const parsed = (KEYS[prop].field as Field<unknown>).parse(value, { ...ctx, path });
    if (parsed === undefined) ok = false;
    else out[prop] = parsed;
  }
  return ok ? (out as unknown as WebSocketSettings) : undefined;
}

/** The `websocket` profile key: a table whose absent keys take Chromium's WebSocket behaviour. */
export const websocketField: Field<WebSocketSettings> = {
  kind: "field",
  type: `{ ${ORDER.map((k) => `${KEYS[k].toml} = ${KEYS[k].field.type}`).join(", ")} }`,
  doc:
    "The ClientHello of a WebSocket's own connection, as departures from the profile's: " +
    ORDER.map((k) => `${KEYS[k].toml}: ${KEYS[k].field.doc}`).join("; ") +
    ". The table replaces an inherited one as a whole; explicit extension_order entries of dropped extensions are left out",
  default: DEFAULT_WEBSOCKET,
  parse,
  toToml,
};
