/**
 * The `--help` screen. citty names a command after its direct parent only (`USAGE ca path`, no
 * version): this printer names it from the root, as it is typed (`USAGE polytls ca path`), and
 * the root's screen says how to get the version (`--version` is handled before citty sees it).
 */
import { type ArgsDef, type CommandDef, renderUsage, type showUsage } from "citty";

interface Node {
  subCommands?: unknown;
}

/** The sub-command names from `node` down to `target` ([] for `node` itself); null if not found. */
export function commandPath(node: Node, target: unknown): string[] | null {
  if (node === target) return [];
  const subs = node.subCommands;
  if (typeof subs !== "object" || subs === null) return null;
  for (const [name, sub] of Object.entries(subs)) {
    const rest = commandPath(sub as Node, target);
    if (rest !== null) return [name, ...rest];
  }
  return null;
}

export const VERSION_HINT = "Use polytls --version for the version, the BoringSSL build and the runtime.";

/** A citty `showUsage` for the tree under `root` (named `rootName`, at `version`). */
export function usagePrinter(root: Node, rootName: string, version: string): typeof showUsage {
  return async <T extends ArgsDef>(cmd: CommandDef<T>, parent?: CommandDef<T>) => {
    const path = commandPath(root, cmd);
    // citty writes "<parent's name> <command's name>": the parent is named after the whole path
    // before the command. A command outside the tree keeps citty's own rendering.
    const named =
      path === null
        ? parent
        : path.length === 0
          ? undefined
          : { meta: { name: [rootName, ...path.slice(0, -1)].join(" "), version } };
    let text = await renderUsage(cmd, named);
    if (cmd === root) text += `\n\n${VERSION_HINT}`;
    console.log(`${text}\n`);
  };
}
