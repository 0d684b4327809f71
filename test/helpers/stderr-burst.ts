/**
 * Child for test/connect-tcp.test.ts: writes 2000 log-sized lines and then "last" to stderr, and
 * ends with `exitAfterStderr(0)` (argument "flush") or a bare `process.exit(0)` ("exit").
 */
import { exitAfterStderr } from "../../src/cli/exit-after-stderr.ts";

const pad = "x".repeat(120);
for (let i = 0; i < 2000; i++) process.stderr.write(`${i} ${pad}\n`);
process.stderr.write("last\n");
if (process.argv[2] === "flush") await exitAfterStderr(0);
else process.exit(0);
