/**
 * Run by both Bun and Deno (test/recipes-deno-core.test.ts): builds every built-in profile's
 * engine spec and parses a PEM block with the core modules, and prints the result as JSON, so the
 * two runtimes' outputs can be compared byte for byte.
 */
import { decodePem, encodePem } from "../../src/pki/pem.ts";
import { ProfileRegistry } from "../../src/profiles/registry-store.ts";

const registry = new ProfileRegistry();
const specs = Object.fromEntries(registry.names().map((name) => [name, registry.spec(name)]));
const pem = decodePem(
  encodePem("CERTIFICATE", new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x07])),
  "CERTIFICATE",
);
console.log(JSON.stringify({ specs, pem: pem.ok ? [...pem.der] : pem.reason }));
