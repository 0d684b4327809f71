/** Types for bridge-h1-origin.mjs (a node:http origin used by the HTTP/1.1 bridge tests). */
export function patternBytes(n: number): Buffer;
export function startOrigin(): Promise<{ port: number; close(): void }>;
