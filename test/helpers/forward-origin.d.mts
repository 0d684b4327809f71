/** Types for forward-origin.mjs (a plain-HTTP node:http origin for the plain-HTTP proxying tests). */
export const GZIP_TEXT: string;
export function startForwardOrigin(): Promise<{
  port: number;
  records(): unknown[];
  clear(): void;
  close(): void;
}>;
