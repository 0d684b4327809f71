import { defineCommand } from "citty";
import { ProxyError } from "../../errors/proxy-error.ts";
import { caCertificateFingerprint, createRootCa, loadRootCa } from "../../pki/root-ca.ts";
import { configArgs, configFromFlags } from "../options.ts";

function paths(args: { config?: string | undefined; "ca-dir"?: string | undefined }) {
  const c = configFromFlags(args).proxy.certificate;
  return { keyPath: c.caKeyPath, certPath: c.caCertPath };
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
        const { certPath } = paths(args);
        // stdout is only the path, so `curl --cacert "$(polytls ca path)"` works.
        console.log(certPath);
        const fingerprint = await caCertificateFingerprint(certPath);
        if (fingerprint === null) {
          throw new ProxyError(
            "CA_INVALID",
            `${certPath} does not exist yet; run "polytls ca init" (or "polytls run", which creates it)`,
          );
        }
        console.error(`SHA-256 fingerprint ${fingerprint}`);
      },
    }),
    export: defineCommand({
      meta: {
        name: "export",
        description: "Write the root CA certificate to stdout (PEM, or DER with --der)",
      },
      args: { ...configArgs, der: { type: "boolean", description: "DER instead of PEM" } },
      async run({ args }) {
        const ca = await loadRootCa(paths(args));
        if (args.der) process.stdout.write(ca.certDer);
        else process.stdout.write(ca.certPem.endsWith("\n") ? ca.certPem : `${ca.certPem}\n`);
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
