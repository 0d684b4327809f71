/**
 * The errors of one client connection's exchanges, for its log line (`exchangeErrors`,
 * `exchangeReason`): counts by code and the last reason. An exchange counts when the proxy
 * answered it with an error of its own (a local 4xx / 5xx before any response head) or reset it
 * after its head while the connection went on.
 */
import type { ProxyError } from "../../errors/proxy-error.ts";

export interface ExchangeErrors {
  codes: Record<string, number>;
  lastReason: string;
}

/** Adds `err` to `acc`, made on the first error (most connections have none). */
export function noteExchangeError(acc: ExchangeErrors | null, err: ProxyError): ExchangeErrors {
  const out = acc ?? { codes: {}, lastReason: "" };
  out.codes[err.code] = (out.codes[err.code] ?? 0) + 1;
  out.lastReason = err.message;
  return out;
}
