/**
 * How many client connections may be open at once, in total (CAPACITY, 503) and per client IP
 * (CLIENT_LIMIT, 429). A connection counts from accept until it closes, so clients still sending
 * their CONNECT head (slowloris) count as much as open tunnels. Pure: no I/O, no clocks. The table
 * of IPs holds only IPs with an open connection, so it never exceeds the global limit.
 */
import type { ErrorCode } from "../errors/proxy-error.ts";

/** The key a client is counted under: its IP, with IPv4-mapped IPv6 (`::ffff:a.b.c.d`) as IPv4. */
export function clientKey(remoteAddress: string | undefined): string {
  if (remoteAddress === undefined) return "?";
  return remoteAddress.startsWith("::ffff:") && remoteAddress.includes(".")
    ? remoteAddress.slice(7)
    : remoteAddress;
}

export class ConnectionLimiter {
  readonly #max: number;
  readonly #perClient: number;
  readonly #byClient = new Map<string, number>();
  #open = 0;

  constructor(maxTunnels: number, maxTunnelsPerClient: number) {
    this.#max = maxTunnels;
    this.#perClient = maxTunnelsPerClient;
  }

  get open(): number {
    return this.#open;
  }

  get max(): number {
    return this.#max;
  }

  /** Number of distinct client IPs with an open connection. */
  get clients(): number {
    return this.#byClient.size;
  }

  /** Takes a slot for `client`, or says which limit refuses it (nothing is taken then). */
  acquire(client: string): null | Extract<ErrorCode, "CAPACITY" | "CLIENT_LIMIT"> {
    const mine = this.#byClient.get(client) ?? 0;
    if (mine >= this.#perClient) return "CLIENT_LIMIT";
    if (this.#open >= this.#max) return "CAPACITY";
    this.#byClient.set(client, mine + 1);
    this.#open++;
    return null;
  }

  /** Gives back a slot taken by `acquire` (once per successful acquire). */
  release(client: string): void {
    const mine = this.#byClient.get(client);
    if (mine === undefined) return;
    if (mine <= 1) this.#byClient.delete(client);
    else this.#byClient.set(client, mine - 1);
    this.#open--;
  }
}
