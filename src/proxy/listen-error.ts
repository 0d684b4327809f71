/** A listener that could not bind, one way for every listener: `IO`, naming which one and where. */
import { ProxyError } from "../errors/proxy-error.ts";
import { formatHostPort } from "./authority.ts";

export function listenError(what: string, host: string, port: number, err: unknown): ProxyError {
  const code = (err as { code?: unknown } | null)?.code;
  const why = typeof code === "string" ? code : err instanceof Error ? err.message : String(err);
  return new ProxyError("IO", `${what} ${formatHostPort(host, port)}: ${why}`, { cause: err });
}
