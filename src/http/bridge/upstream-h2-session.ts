/**
 * The pure HTTP/2 client session of one upstream connection, configured as the profile's browser:
 * its SETTINGS plan (with Chrome's GREASE setting when the profile has it), its HPACK encoder
 * policy, and a decoder accepting the table size the browser advertises.
 */

import type { Http2Profile } from "../../profiles/http-types.ts";
import { H2ClientSession } from "../h2/client-session.ts";
import type { H2ClientPlan, H2HeaderEncoder } from "../h2/session-types.ts";
import { SettingId, settingValue } from "../h2/settings.ts";
import { HpackDecoder } from "../hpack/decoder.ts";
import { HpackEncoder } from "../hpack/encoder.ts";

/** Largest HPACK encoder table we keep whatever the server announces, bytes (our bound; memory per tunnel). */
export const MAX_ENCODER_TABLE_BYTES = 65_536;

/**
 * Chrome's GREASE setting (Finch `http2_grease_settings`): one reserved id of the form `0x?a?a`
 * with a random value, appended last (the Chromium unit tests check `(id & 0x0f0f) == 0x0a0a`).
 */
export function withGreaseSetting(plan: H2ClientPlan, grease: boolean): H2ClientPlan {
  if (!grease) return plan;
  const r = crypto.getRandomValues(new Uint32Array(2));
  const a = r[0] as number;
  const id = 0x0a0a | ((a & 0xf) << 12) | (((a >>> 4) & 0xf) << 4);
  return { ...plan, settings: [...plan.settings, [id, r[1] as number]] };
}

/** The HPACK encoder of a session: a server may announce a huge table; ours never grows past the bound. */
class BoundedEncoder extends HpackEncoder implements H2HeaderEncoder {
  override setMaxTableSize(n: number): void {
    super.setMaxTableSize(Math.min(n, MAX_ENCODER_TABLE_BYTES));
  }
}

export function browserSession(profile: Http2Profile): H2ClientSession {
  const plan = withGreaseSetting(profile.plan, profile.greaseSetting);
  return new H2ClientSession({
    plan,
    encoder: new BoundedEncoder(profile.hpack),
    // Accept size updates up to the HEADER_TABLE_SIZE the browser advertises (Chrome: 65536).
    decoder: new HpackDecoder({
      maxTableSize: settingValue(plan.settings, SettingId.HEADER_TABLE_SIZE, 4096),
    }),
  });
}
