/**
 * Child for test/connect-tcp.test.ts: writes 2000 log-sized lines and then "last" to stderr, and
 * ends with `exitAfterStderr(0)` ("flush"), the same followed by a line logged a turn later
 * ("late"; a 3 s bound), or a bare `process.exit(0)` ("exit").
 */
import { exitAfterStderr } from "../../src/cli/exit-after-stderr.ts";

const pad = "x".repeat(120);
for (let i = 0; i < 2000; i++) process.stderr.write(`${i} ${pad}\n`);
process.stderr.write("last\n");
const mode = process.argv[2];
if (mode === "flush") await exitAfterStderr(0);
else if (mode === "late") {
  setTimeout(() => process.stderr.write("late\n"), 0);
  await exitAfterStderr(0, 3_000);
} else process.exit(0);
