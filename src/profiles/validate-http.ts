/**
 * Cross-key rules of a profile's merged HTTP tables (after `extends`), each reported with its key
 * path: stream ids, the `navigate` kind every other kind falls back to, header templates that can
 * be sent (an order per kind, values only for listed names, no connection-specific fields).
 */
import { childPath, type Issues, indexPath } from "../config/fields.ts";
import { REQUEST_KINDS, type RequestKind } from "./http-types.ts";
import { COMMON_KIND, type HttpTable, type KindKeys } from "./schema-http.ts";

/** Names a template may not send: the proxy writes Host; the rest are hop-by-hop (RFC 9110 §7.6.1). */
const NEVER_TEMPLATED = new Set([
  "host",
  "connection",
  "keep-alive",
  "proxy-connection",
  "proxy-authorization",
  "transfer-encoding",
  "upgrade",
  "http2-settings",
  "te",
]);
/** h2 order may list `te` (Firefox's `te: trailers`); h1 order may list `connection` and `upgrade`. */
const H2_ORDER_ALLOWED = new Set(["te"]);
const H1_ORDER_ALLOWED = new Set(["connection", "upgrade"]);
const TRAILERS = "trailers"; // RFC 9113 §8.2.2: the only TE value on h2

function checkStreams(table: HttpTable, path: string, issues: Issues): void {
  const h2 = childPath(path, "http2");
  const first = table.http2.firstStreamId ?? 1;
  if (first % 2 === 0)
    issues.add(childPath(h2, "first_stream_id"), `${first} is even (client streams are odd)`);
  (table.http2.priorityFrames ?? []).forEach((p, i) => {
    const at = indexPath(childPath(h2, "priority_frames"), i);
    if (p.streamId % 2 === 0) issues.add(at, `stream ${p.streamId} is even (client streams are odd)`);
    else if (p.streamId >= first)
      issues.add(at, `stream ${p.streamId} is not below first_stream_id ${first}`);
    if (p.dependency === p.streamId) issues.add(at, "a stream cannot depend on itself (RFC 9113 §5.3.1)");
  });
  const kinds = Object.keys(table.priority);
  if (kinds.length > 0 && table.priority.navigate === undefined)
    issues.add(
      childPath(childPath(h2, "priority"), "navigate"),
      "missing (required when any kind is set: every kind falls back to it)",
    );
}

function checkOrder(list: readonly string[], allowed: ReadonlySet<string>, at: string, issues: Issues): void {
  list.forEach((name, i) => {
    if (NEVER_TEMPLATED.has(name) && !allowed.has(name))
      issues.add(indexPath(at, i), `"${name}" is connection-specific or written by the proxy`);
  });
}

function checkValues(
  values: Readonly<Record<string, string | null>>,
  sent: ReadonlySet<string> | null,
  at: string,
  issues: Issues,
): void {
  for (const [name, value] of Object.entries(values)) {
    if (value === null) continue;
    const where = childPath(at, name);
    if (name === "te") {
      if (value !== TRAILERS) issues.add(where, `te must be "${TRAILERS}" (RFC 9113 §8.2.2)`);
    } else if (NEVER_TEMPLATED.has(name))
      issues.add(where, `"${name}" is connection-specific or written by the proxy`);
    else if (sent !== null && !sent.has(name)) issues.add(where, "not in order or h1_order, so never sent");
  }
}

function checkKind(kind: RequestKind, t: Partial<KindKeys>, path: string, issues: Issues): void {
  const at = childPath(childPath(path, "headers"), kind);
  if (t.order === undefined) {
    issues.add(childPath(at, "order"), "missing (every kind a profile defines needs its order)");
    return;
  }
  checkOrder(t.order, H2_ORDER_ALLOWED, childPath(at, "order"), issues);
  if (t.h1Order) checkOrder(t.h1Order, H1_ORDER_ALLOWED, childPath(at, "h1_order"), issues);
  const sent = new Set([...t.order, ...(t.h1Order ?? [])]);
  checkValues(t.values ?? {}, sent, childPath(at, "values"), issues);
}

/** Records every cross-key problem of the merged HTTP tables under `path`. */
export function validateHttp(table: HttpTable, path: string, issues: Issues): void {
  checkStreams(table, path, issues);
  const headers = table.headers;
  const defined = REQUEST_KINDS.filter((k) => headers[k] !== undefined);
  const common = headers[COMMON_KIND];
  if (common?.values)
    checkValues(
      common.values,
      null,
      childPath(childPath(childPath(path, "headers"), COMMON_KIND), "values"),
      issues,
    );
  if ((defined.length > 0 || common !== undefined) && headers.navigate === undefined)
    issues.add(
      childPath(childPath(path, "headers"), "navigate"),
      "missing (required when any headers table is set: every kind falls back to it)",
    );
  for (const kind of defined) checkKind(kind, headers[kind]!, path, issues);
}
