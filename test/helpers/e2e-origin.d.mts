/** Types for e2e-origin.mjs (the end-to-end HTTP-mode origin, run under Node or Bun). */
export function patternBlock(): Buffer;
export function parseHello(rec: Buffer): { alpn: string[]; extensions: string[] } | null;
export function startE2eOrigin(opts: {
  kind: "h2" | "h1";
  key: string | Buffer;
  cert: string | Buffer;
  dir: string;
}): Promise<{ port: number; statsPort: number; close(): void }>;
