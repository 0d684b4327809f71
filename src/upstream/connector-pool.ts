/**
 * One connector (BoringSSL context) per profile, built on first use and kept (seed step 2), plus,
 * on a profile's first WebSocket, the connector of its WebSocket hello (`[websocket]`): a context
 * of its own, since session tickets and certificate compression are per-context settings.
 * Unknown profiles surface as UNKNOWN_PROFILE from the profile source; a spec the engine
 * refuses as TLS_CONFIG.
 */
import { randomInt } from "node:crypto";
import type { ProfileHttp } from "../profiles/http-types.ts";
import { DEFAULT_WEBSOCKET, type WebSocketSettings, type WebSocketWhen } from "../profiles/websocket.ts";
import { pinTrustAnchorOrder, toWebSocketSpec } from "../profiles/websocket-spec.ts";
import type { ProfileSpec, TlsConnector, UpstreamTlsEngine } from "./engine.ts";

export interface ProfileSource {
  /** Canonical name for a name or alias; throws ProxyError("UNKNOWN_PROFILE"). */
  resolveName(nameOrAlias: string): string;
  /** The engine spec of a canonical profile name. */
  spec(name: string): ProfileSpec;
  /** The HTTP layer of a canonical profile name (absent: the source has none, e.g. test doubles). */
  http?(name: string): ProfileHttp;
  /** The resolved profile, for its `[websocket]` table (absent: Chromium's WebSocket hello). */
  get?(name: string): { readonly websocket: WebSocketSettings };
}

/** The connector of a profile's WebSocket hello and when a WebSocket uses it. */
export interface WebSocketConnector {
  spec: ProfileSpec;
  connector: TlsConnector;
  when: WebSocketWhen;
}

export class ConnectorPool implements Disposable {
  readonly #engine: UpstreamTlsEngine;
  readonly #profiles: ProfileSource;
  readonly #connectors = new Map<string, TlsConnector>();
  readonly #websockets = new Map<string, WebSocketConnector>();
  /** The spec each context is built from (a shuffled trust_anchors order drawn once, shared). */
  readonly #engineSpecs = new Map<string, ProfileSpec>();

  constructor(engine: UpstreamTlsEngine, profiles: ProfileSource) {
    this.#engine = engine;
    this.#profiles = profiles;
  }

  /** The profile's HTTP layer, or null when the source has none. */
  http(name: string): ProfileHttp | null {
    return this.#profiles.http?.(name) ?? null;
  }

  /** Whether `nameOrAlias` names a profile. */
  has(nameOrAlias: string): boolean {
    try {
      this.#profiles.resolveName(nameOrAlias);
      return true;
    } catch {
      return false;
    }
  }

  /** Resolves `nameOrAlias` and returns its connector plus the spec it was built from. */
  get(nameOrAlias: string): { name: string; spec: ProfileSpec; connector: TlsConnector } {
    const name = this.#profiles.resolveName(nameOrAlias);
    const spec = this.#profiles.spec(name);
    let connector = this.#connectors.get(name);
    if (!connector) {
      connector = this.#engine.createConnector(this.#engineSpec(name));
      this.#connectors.set(name, connector);
    }
    return { name, spec, connector };
  }

  /** Whether the profile sends a WebSocket over an HTTP/2 connection that allows it (`[websocket] over_h2`). */
  websocketOverH2(nameOrAlias: string): boolean {
    const name = this.#profiles.resolveName(nameOrAlias);
    return (this.#profiles.get?.(name).websocket ?? DEFAULT_WEBSOCKET).overH2;
  }

  /** The connector of the profile's WebSocket hello, built on first use. */
  websocket(nameOrAlias: string): WebSocketConnector {
    const name = this.#profiles.resolveName(nameOrAlias);
    let ws = this.#websockets.get(name);
    if (!ws) {
      const settings = this.#profiles.get?.(name).websocket ?? DEFAULT_WEBSOCKET;
      const spec = toWebSocketSpec(this.#engineSpec(name), settings);
      ws = { spec, connector: this.#engine.createConnector(spec), when: settings.when };
      this.#websockets.set(name, ws);
    }
    return ws;
  }

  #engineSpec(name: string): ProfileSpec {
    let spec = this.#engineSpecs.get(name);
    if (!spec) {
      spec = pinTrustAnchorOrder(this.#profiles.spec(name), (n) => randomInt(n));
      this.#engineSpecs.set(name, spec);
    }
    return spec;
  }

  close(): void {
    for (const c of this.#connectors.values()) c.close();
    for (const w of this.#websockets.values()) w.connector.close();
    this.#connectors.clear();
    this.#websockets.clear();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
