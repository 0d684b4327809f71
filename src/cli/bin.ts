/**
 * Entry point of the compiled executable (`bun build --compile`). Embeds the native library (the
 * built-in profiles are embedded by their own text imports) and registers it before the CLI runs.
 */
import { readFileSync } from "node:fs";
import libPath from "../../ffi/target/release/libpolyboring.embed" with { type: "file" };
import { registerEmbeddedLibrary } from "../upstream/native/locate.ts";
import { cli } from "./main.ts";

registerEmbeddedLibrary(libPath, () => new Uint8Array(readFileSync(libPath)));
await cli(process.argv.slice(2));
