/**
 * `X-PolyTLS-Upstream-Profile` on a request inside an HTTP-mode tunnel: the request goes out as
 * that profile's browser, on that profile's own upstream connections (its ClientHello, HTTP/2
 * preface, HPACK policy and header templates), as a second browser would open its own; requests
 * without the header, or naming the tunnel's profile, stay on the tunnel's. The header never
 * reaches the origin (every `x-polytls-*` field is the proxy's: headers/policy.ts).
 *
 * - An unknown name, or repeats that disagree, are answered 400 before anything is sent, and the
 *   client connection goes on (an HTTP/1.1 request with a body: its answer closes the connection,
 *   the body unread). So is an unknown `X-PolyTLS-Request-Kind` (checked first, so that it never
 *   makes a profile's dispatcher).
 * - At most MAX_OTHER_PROFILES other profiles per tunnel (each may hold one HTTP/2 connection or
 *   up to OTHER_PROFILE_H1_CONNECTIONS HTTP/1.1 ones: a tunnel's upstream descriptors stay
 *   bounded, 6 + 8 × 2); a request naming one more is answered 400. Their connections live as
 *   long as the tunnel, under its idle timeout, and close with it.
 */
import { ProxyError } from "../../errors/proxy-error.ts";
import type { ProfileHttp } from "../../profiles/http-types.ts";
import type { Endpoint } from "../../proxy/endpoint.ts";
import type { SecureChannel } from "../../proxy/secure-channel.ts";
import { PROFILE_HEADER } from "../headers/names.ts";
import { checkRequestKindHeader } from "../headers/request-kind.ts";
import type { HeaderField } from "../hpack/types.ts";
import { TunnelDispatcher, type TunnelDispatcherDeps } from "./dispatcher.ts";
import { type BodySink, type Dispatcher, discardSink, type RequestHead, type Responder } from "./message.ts";
import type { OpenedUpstream, OpenOptions } from "./upstream-open.ts";

/** Other profiles one tunnel may use besides its own. */
export const MAX_OTHER_PROFILES = 8;
/** HTTP/1.1 connections each other profile may hold (the tunnel's own profile: a browser's 6). */
export const OTHER_PROFILE_H1_CONNECTIONS = 2;

/** Another profile's HTTP layer and connections to the tunnel's origin. */
export interface ProfileUpstreams {
  /** Canonical name (an alias resolved). */
  readonly name: string;
  readonly http: ProfileHttp;
  /** See TunnelDispatcherDeps.websocketOverH2. */
  readonly websocketOverH2?: boolean;
  open(opts?: OpenOptions): Promise<OpenedUpstream>;
}

/** What the router needs from its tunnel (the tunnel passes itself). */
export interface ProfileRouterDeps extends TunnelDispatcherDeps {
  /** The tunnel's own profile (canonical name). */
  readonly profileName: string;
  /** Resolves a name or alias; throws ProxyError("UNKNOWN_PROFILE"). */
  profile(nameOrAlias: string): ProfileUpstreams;
  endpoint(channel: SecureChannel): Endpoint;
}

/**
 * The profile a request names: undefined when none (or an empty value), the value otherwise;
 * repeats must agree (a ProxyError otherwise).
 */
export function requestedProfile(fields: readonly HeaderField[]): string | undefined {
  let found: string | undefined;
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i] as HeaderField;
    if (f[0] !== PROFILE_HEADER) continue;
    const v = f[1].trim();
    if (found !== undefined && v !== found) {
      throw new ProxyError("HTTP_BAD_REQUEST", `conflicting repeats of ${PROFILE_HEADER}`);
    }
    found = v;
  }
  return found === "" ? undefined : found;
}

/** The deps of one other profile's dispatcher: the tunnel's, with that profile's layer and connections. */
class OtherProfileDeps implements TunnelDispatcherDeps {
  readonly #tunnel: ProfileRouterDeps;
  readonly #profile: ProfileUpstreams;

  constructor(tunnel: ProfileRouterDeps, profile: ProfileUpstreams) {
    this.#tunnel = tunnel;
    this.#profile = profile;
  }

  get http(): ProfileHttp {
    return this.#profile.http;
  }

  get authority(): string {
    return this.#tunnel.authority;
  }

  get keepClient(): ReadonlySet<string> | "all" {
    return this.#tunnel.keepClient;
  }

  get maxH1Connections(): number {
    return OTHER_PROFILE_H1_CONNECTIONS;
  }

  get responseTimeoutMs(): number | undefined {
    return this.#tunnel.responseTimeoutMs;
  }

  get websocketOverH2(): boolean | undefined {
    return this.#profile.websocketOverH2;
  }

  open(opts?: OpenOptions): Promise<OpenedUpstream> {
    return this.#profile.open(opts);
  }

  endpoint(channel: SecureChannel): Endpoint {
    return this.#tunnel.endpoint(channel);
  }

  onUpstream(protocol: "h2" | "http/1.1"): void {
    this.#tunnel.onUpstream?.(protocol);
  }
}

export class ProfileRouter implements Dispatcher {
  readonly #deps: ProfileRouterDeps;
  readonly #main: TunnelDispatcher;
  /** Other profiles' dispatchers by canonical name, made on first use. */
  #others: Map<string, TunnelDispatcher> | null = null;
  #closed = false;

  constructor(deps: ProfileRouterDeps, main: TunnelDispatcher) {
    this.#deps = deps;
    this.#main = main;
  }

  /** Canonical names of the other profiles used, in first-use order (null: none). */
  get otherProfiles(): string[] | null {
    return this.#others === null ? null : [...this.#others.keys()];
  }

  request(head: RequestHead, responder: Responder): BodySink {
    let target: TunnelDispatcher;
    try {
      checkRequestKindHeader(head.fields); // before a profile's dispatcher is made for it
      target = this.#route(head.fields);
    } catch (err) {
      responder.fail(ProxyError.wrap(err, "HTTP_BAD_REQUEST"));
      return discardSink(); // the body is read and dropped: the connection goes on
    }
    return target.request(head, responder);
  }

  #route(fields: readonly HeaderField[]): TunnelDispatcher {
    const asked = requestedProfile(fields);
    if (asked === undefined || asked === this.#deps.profileName) return this.#main;
    const existing = this.#others?.get(asked);
    if (existing !== undefined) return existing;
    const profile = this.#deps.profile(asked); // an alias, or unknown (throws)
    if (profile.name === this.#deps.profileName) return this.#main;
    this.#others ??= new Map();
    const known = this.#others.get(profile.name);
    if (known !== undefined) return known;
    if (this.#others.size >= MAX_OTHER_PROFILES) {
      throw new ProxyError(
        "HTTP_BAD_REQUEST",
        `more than ${MAX_OTHER_PROFILES} other profiles in one tunnel: open another tunnel for "${profile.name}"`,
      );
    }
    if (this.#closed) return this.#main; // answers SHUTDOWN
    // Until its first connection answers, the origin is taken to speak what it spoke last.
    const d = new TunnelDispatcher(
      new OtherProfileDeps(this.#deps, profile),
      null,
      undefined,
      this.#main.protocol,
    );
    this.#others.set(profile.name, d);
    return d;
  }

  close(): void {
    this.#closed = true;
    this.#main.close();
    for (const d of this.#others?.values() ?? []) d.close();
  }
}
