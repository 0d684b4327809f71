/**
 * The one place that loads @peculiar/x509. Other modules must import it from here (value imports) and may
 * use `import type` from "@peculiar/x509" directly.
 *
 * Why a dynamic import: x509 needs a Reflect metadata polyfill before tsyringe loads, and Bun evaluates the
 * CommonJS modules of a static import graph before any ES module body, so a static import would run
 * tsyringe's check before `installReflectMetadata()`.
 *
 * Crypto: Bun's own WebCrypto (`globalThis.crypto`), no JS crypto polyfill.
 */
import type * as X509 from "@peculiar/x509";
import { installReflectMetadata } from "./reflect-metadata.ts";

installReflectMetadata();

export const x509: typeof X509 = await import("@peculiar/x509");

x509.cryptoProvider.set(globalThis.crypto);
