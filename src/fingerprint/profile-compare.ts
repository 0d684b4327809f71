/**
 * What `polytls fingerprint --compare` leaves out when it compares a profile's recorded hello with
 * a capture: the parts that differ by the profile's design, not by a fault. Pure.
 */
import type { ProfileSpec } from "../upstream/engine.ts";
import type { CompareOptions } from "./compare.ts";
import { EXT } from "./extensions.ts";
import { paddingFollowsLength } from "./padding.ts";
import type { ClientHelloFingerprint } from "./types.ts";

/**
 * Options for comparing `hello` (`recordBytes` long, record header included), sent with `spec`,
 * against the capture `expected`:
 * - pre_shared_key (41) is per connection;
 * - session_ticket (35) when the hello offers a session and the profile leaves 35 out of such a
 *   hello (`session_tickets_when_resuming = false`, NSS) while the capture is a fresh hello;
 * - padding (21) where its presence follows the hello's own length;
 * - the extension order for a profile that shuffles it per connection;
 * - the trust_anchors order for a profile that shuffles it once per process (another order than
 *   the capture's in every process): the IDs are compared as a set.
 */
export function profileCompareOptions(
  spec: Pick<ProfileSpec, "permuteExtensions" | "sessionTicketsWhenResuming" | "trustAnchors">,
  hello: ClientHelloFingerprint,
  recordBytes: number,
  expected: ClientHelloFingerprint,
): CompareOptions {
  const ignore: number[] = [EXT.PRE_SHARED_KEY];
  const resuming = hello.extensions.includes(EXT.PRE_SHARED_KEY);
  if (
    resuming &&
    spec.sessionTicketsWhenResuming === false &&
    !expected.extensions.includes(EXT.PRE_SHARED_KEY)
  )
    ignore.push(EXT.SESSION_TICKET);
  if (
    paddingFollowsLength(
      recordBytes,
      hello.extensions.includes(EXT.PADDING),
      expected.extensions.includes(EXT.PADDING),
    )
  )
    ignore.push(EXT.PADDING);
  return {
    ignoreExtensionOrder: hello.extensions.length > 0 && spec.permuteExtensions,
    ignoreExtensions: ignore,
    trustAnchorsAsSet: spec.trustAnchors?.order === "shuffled-per-process",
  };
}
