import { defineCommand } from "citty";
import { createRootCa, loadRootCa } from "../../pki/root-ca.ts";
import { configArgs, configFromFlags } from "../options.ts";

function paths(args: { config?: string | undefined; "ca-dir"?: string | undefined }) {
  const c = configFromFlags(args).proxy.certificate;
  return { keyPath: c.caKeyPath, certPath: c.caCertPath };
}

export const caCommand = defineCommand({
  meta: { name: "ca", description: "Manage the MITM root CA" },
  subCommands: {
    path: defineCommand({
      meta: { name: "path", description: "Print where the root CA certificate is (install it in clients)" },
      args: { ...configArgs },
      run({ args }) {
        console.log(paths(args).certPath);
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
        console.log(`created ${p.certPath} (${ca.subject}, SHA-256 ${ca.sha256Fingerprint})`);
      },
    }),
  },
});
