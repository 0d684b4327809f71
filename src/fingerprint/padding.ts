/**
 * The padding extension (21) follows the ClientHello's own length (RFC 7685 §4, as BoringSSL and
 * Apple TLS apply it: a 256..511-byte hello is padded to 512), and a hello's length depends on
 * its host name and on per-connection sizes: a recorded hello and a capture may differ in it
 * without either being wrong. Pure.
 */

const RECORD_HEADER_BYTES = 5; // RFC 8446 §5.1 TLSPlaintext header
/** BoringSSL and Apple TLS pad a 256..511-byte hello to 512 bytes (RFC 7685 §4). */
const PADDED_HELLO_MIN = 512;

/**
 * Whether a padding (21) difference between a recorded hello and its capture follows from the
 * hello's own length: with padding the hello must be exactly 512 bytes, without it at least 512.
 * `recordBytes` includes the 5-byte record header.
 */
export function paddingFollowsLength(recordBytes: number, padded: boolean, capturePadded: boolean): boolean {
  const length = recordBytes - RECORD_HEADER_BYTES;
  return padded !== capturePadded && (padded ? length === PADDED_HELLO_MIN : length >= PADDED_HELLO_MIN);
}
