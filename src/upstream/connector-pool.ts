/**
 * One connector (BoringSSL context) per profile, built on first use and kept (seed step 2).
 * Unknown profiles surface as UNKNOWN_PROFILE from the profile source; a spec the engine
 * refuses as TLS_CONFIG.
 */
import type { ProfileHttp } from "../profiles/http-types.ts";
import type { ProfileSpec, TlsConnector, UpstreamTlsEngine } from "./engine.ts";

export interface ProfileSource {
  /** Canonical name for a name or alias; throws ProxyError("UNKNOWN_PROFILE"). */
  resolveName(nameOrAlias: string): string;
  /** The engine spec of a canonical profile name. */
  spec(name: string): ProfileSpec;
  /** The HTTP layer of a canonical profile name (absent: the source has none, e.g. test doubles). */
  http?(name: string): ProfileHttp;
}

export class ConnectorPool implements Disposable {
  readonly #engine: UpstreamTlsEngine;
  readonly #profiles: ProfileSource;
  readonly #connectors = new Map<string, TlsConnector>();

  constructor(engine: UpstreamTlsEngine, profiles: ProfileSource) {
    this.#engine = engine;
    this.#profiles = profiles;
  }

  /** Resolves `nameOrAlias` and returns its connector plus the spec it was built from. */
  /** The profile's HTTP layer, or null when the source has none. */
  http(name: string): ProfileHttp | null {
    return this.#profiles.http?.(name) ?? null;
  }

  get(nameOrAlias: string): { name: string; spec: ProfileSpec; connector: TlsConnector } {
    const name = this.#profiles.resolveName(nameOrAlias);
    const spec = this.#profiles.spec(name);
    let connector = this.#connectors.get(name);
    if (!connector) {
      connector = this.#engine.createConnector(spec);
      this.#connectors.set(name, connector);
    }
    return { name, spec, connector };
  }

  close(): void {
    for (const c of this.#connectors.values()) c.close();
    this.#connectors.clear();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
