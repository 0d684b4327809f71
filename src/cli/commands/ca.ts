import { defineCommand } from "citty";
import { ProxyError } from "../../errors/proxy-error.ts";
import { caInitCommand, createRootCa, probeCaFiles, readCaCertificate } from "../../pki/root-ca.ts";
import { caLocationFlags, configArgs, configFromFlags } from "../options.ts";

type CaArgs = { config?: string | undefined; "ca-dir"?: string | undefined };

function paths(args: CaArgs) {
  const c = configFromFlags(args).proxy.certificate;
  return { keyPath: c.caKeyPath, certPath: c.caCertPath };
}

/**
 * The certificate, or CA_INVALID saying how to create it with the same flags (`--force` when the
 * key is there without it: a plain init would refuse, CA_EXISTS).
 */
async function certificate(args: CaArgs) {
  const p = paths(args);
  const cert = await readCaCertificate(p.certPath);
  if (cert !== null) return cert;
  const hint = { initFlags: caLocationFlags(args) };
  await probeCaFiles(p, hint);
  throw new ProxyError(
    "CA_INVALID",
    `${p.certPath} does not exist yet; run "${caInitCommand(hint, false)}" (or "polytls run", which creates it)`,
  );
}

export const caCommand = defineCommand({
  meta: { name: "ca", description: "Manage the MITM root CA" },
  subCommands: {
    path: defineCommand({
      meta: {
        name: "path",
        description:
          "Print where the root CA certificate is (install it in clients); its SHA-256 fingerprint goes to stderr",
      },
      args: { ...configArgs },
      async run({ args }) {
        // stdout is only the path, so `curl --cacert "$(polytls ca path)"` works.
        console.log(paths(args).certPath);
        console.error(`SHA-256 fingerprint ${(await certificate(args)).sha256}`);
      },
    }),
    export: defineCommand({
      meta: {
        name: "export",
        description: "Write the root CA certificate to stdout (PEM, or DER with --der)",
      },
      args: { ...configArgs, der: { type: "boolean", description: "DER instead of PEM" } },
      async run({ args }) {
        // The certificate alone (all a client needs): the key is not read.
        const cert = await certificate(args);
        if (args.der) process.stdout.write(cert.der);
        else process.stdout.write(cert.pem.endsWith("\n") ? cert.pem : `${cert.pem}\n`);
      },
    }),
    init: defineCommand({
      meta: { name: "init", description: "Create the root CA (refuses to replace one unless --force)" },
      args: { ...configArgs, force: { type: "boolean", description: "Replace an existing CA" } },
      async run({ args }) {
        const p = paths(args);
        const ca = await createRootCa(p, { force: Boolean(args.force) });
        console.log(`created ${p.certPath} (${ca.subject}, SHA-256 fingerprint ${ca.sha256Fingerprint})`);
      },
    }),
  },
});
