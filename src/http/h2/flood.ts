/**
 * The bound on frames that make no progress, for both roles: a peer may send PING, SETTINGS,
 * PRIORITY, unknown types, empty DATA or CONTINUATION, and frames on closed streams, but not
 * without end. Pure.
 */
import { connectionError, H2ErrorCode } from "./errors.ts";

/**
 * Frames in a row that make no progress before ENHANCE_YOUR_CALM; a request or response head, or
 * body bytes, reset the count (Node's maxSessionInvalidFrames is 1000).
 */
export const MAX_IDLE_FRAMES = 1000;

/** The count after one more frame without progress; throws past MAX_IDLE_FRAMES. */
export function idleFrame(count: number): number {
  if (count + 1 > MAX_IDLE_FRAMES)
    throw connectionError(H2ErrorCode.ENHANCE_YOUR_CALM, `${MAX_IDLE_FRAMES} frames without progress`);
  return count + 1;
}
