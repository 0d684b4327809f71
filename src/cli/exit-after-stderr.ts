/**
 * Ends the process once what was written to stderr (the log) has reached it, within a bound.
 * Bun keeps what a full pipe did not take in a native buffer that `process.exit()` throws away
 * (measured: half of a 1000-line burst lost to a reader one second late, the last line among
 * them); a normal exit, and ending the stream, wait for it.
 */

/** How long the log may take to drain before the process ends anyway, ms. */
const STDERR_DRAIN_BOUND_MS = 5_000;

/** A write after `end()`: what was written before still drains (`end`'s callback never comes). */
const WRITE_AFTER_END = "ERR_STREAM_WRITE_AFTER_END";

export async function exitAfterStderr(code: number, boundMs = STDERR_DRAIN_BOUND_MS): Promise<never> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    new Promise<void>((resolve) => {
      // Stays installed: a late log line must neither end the wait early nor throw.
      process.stderr.on("error", (err: NodeJS.ErrnoException) => {
        // Any other error: the reader is gone (EPIPE), nothing to wait for.
        if (err.code !== WRITE_AFTER_END) resolve();
      });
      process.stderr.end(() => resolve());
    }),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, boundMs);
    }),
  ]);
  clearTimeout(timer);
  process.exit(code);
}
