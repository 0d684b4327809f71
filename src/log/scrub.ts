/**
 * Finds credential-shaped text in a free-form string (a log message, a field value, an error shown
 * on the command line) and replaces the credential with REDACTED, keeping the rest readable:
 *
 * - a credential-carrying field written as text, `Authorization: …`, `proxy-authorization=…`,
 *   `Cookie: …`, `password=…` (also JSON-style `"cookie": …`): everything after the separator to
 *   the end of the line;
 * - an HTTP credential, `Basic <token68>`, `Bearer …`, `Negotiate …`, `NTLM …` (any case): the
 *   token. A token that is a plain lower-case word is prose or an auth-param (`Basic realm=…`) and
 *   is kept;
 * - URL userinfo, `scheme://user:pass@` or `scheme://token@`: the userinfo;
 * - bare userinfo, `user:pass@host` (as in a CONNECT target): `user:pass`. `user@host` (no
 *   password) is kept.
 *
 * Userinfo already masked as `***` or REDACTED is left as it is. Pure; used by the log guard.
 */

export const REDACTED = "[redacted]";

/**
 * Field names whose value is a credential when they appear in text followed by `:` or `=`; not
 * as the last component of a path (`cannot load /etc/passwd: invalid ELF header`).
 */
const CREDENTIAL_FIELD =
  /(?<![A-Za-z0-9/])((?:proxy[-_]?)?authorization|(?:set[-_]?)?cookie|password|passwd|passphrase)("?[ \t]*[:=][ \t]*)(?=\S)[^\r\n]*/gi;

/** RFC 9110 §11.4 credentials with a token68 (RFC 7617 Basic, RFC 6750 Bearer, RFC 4559). */
const AUTH_SCHEME = /(?<![A-Za-z0-9])(basic|bearer|negotiate|ntlm)([ \t]+)([A-Za-z0-9\-._~+/]+=*)/gi;

/** RFC 3986 §3.2.1 userinfo after a scheme; greedy, so a password holding `@` is covered whole. */
const URL_USERINFO = /(?<![A-Za-z0-9+.-])([A-Za-z][A-Za-z0-9+.-]*:\/\/)([^\s/?#"'<>]*)@/g;

/** `user:pass@` without a scheme; the password may hold `:` and `@` (greedy to the last `@`). */
const BARE_USERINFO = /([^\s"'<>()[\]{},;/@:=]+):([^\s"'<>/]*)@/g;

const PROSE_WORD = /^[a-z]+$/;

function alreadyMasked(secret: string): boolean {
  return secret === "***" || secret === REDACTED || secret.endsWith(":***");
}

export function scrubSecrets(text: string): string {
  // Cheap exit for the common case: nothing that any pattern needs.
  if (!/[@:=]|basic|bearer|negotiate|ntlm/i.test(text)) return text;
  return text
    .replace(CREDENTIAL_FIELD, (_m, name: string, sep: string) => `${name}${sep}${REDACTED}`)
    .replace(AUTH_SCHEME, (m, scheme: string, sp: string, token: string) =>
      PROSE_WORD.test(token.replace(/=+$/, "")) ? m : `${scheme}${sp}${REDACTED}`,
    )
    .replace(URL_USERINFO, (m, scheme: string, info: string) =>
      info.length === 0 || alreadyMasked(info) ? m : `${scheme}${REDACTED}@`,
    )
    .replace(BARE_USERINFO, (m, _user: string, pass: string) => (alreadyMasked(pass) ? m : `${REDACTED}@`));
}
