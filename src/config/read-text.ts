/** A text file the user named (the config, a capture), or ProxyError("IO") naming it and why. */
import { readFileSync } from "node:fs";
import { ProxyError } from "../errors/proxy-error.ts";

export function readTextFile(file: string, what: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ProxyError("IO", `cannot read ${what} ${file}: ${code ?? String(err)}`, { cause: err });
  }
}
