/** HPACK (RFC 7541): one import point for the h2 layer. */
export { DEFAULT_MAX_HEADER_LIST_SIZE, HpackDecoder, type HpackDecoderOptions } from "./decoder.ts";
export { DEFAULT_TABLE_SIZE, HpackEncoder, splitCookie } from "./encoder.ts";
export { H2_COMPRESSION_ERROR, HpackError } from "./errors.ts";
export { CHROME_HPACK_POLICY, FIREFOX_HPACK_POLICY } from "./policies.ts";
export type { HeaderField, HpackPolicy, NeverIndexRule } from "./types.ts";
