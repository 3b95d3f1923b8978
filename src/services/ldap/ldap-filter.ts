import { Filter } from 'ldapts';

/**
 * A filter from the configured template with `{username}` replaced by the typed username,
 * escaped as RFC 4515 says (`*` `(` `)` `\` and NUL as `\2a` `\28` `\29` `\5c` `\00`): typed
 * input is a value, never filter syntax, so `*)(uid=*` looks for a user of exactly that name.
 */
export function userFilter(template: string, username: string): string {
  return template.split('{username}').join(Filter.escape(username));
}

/** `(&<filter>(|(attr=v1)(attr=v2)…))`: the groups holding any of the values, each escaped. */
export function groupsHolding(filter: string, attribute: string, values: readonly string[], matchingRule?: string): string {
  const rule = matchingRule ? `:${matchingRule}:` : '';
  const any = values.map((v) => `(${attribute}${rule}=${Filter.escape(v)})`).join('');
  return `(&${filter}${values.length === 1 ? any : `(|${any})`})`;
}

/** The value of a DN's first RDN (`cn=Data\, Science,ou=groups` → `Data, Science`). */
export function firstRdnValue(dn: string): string {
  let i = 0;
  let value = '';
  let inValue = false;
  while (i < dn.length) {
    const c = dn[i]!;
    if (c === '\\' && i + 1 < dn.length) {
      const hex = dn.slice(i + 1, i + 3);
      if (/^[0-9a-f]{2}$/i.test(hex)) {
        // A run of hex escapes is UTF-8 bytes.
        const bytes: number[] = [];
        while (dn[i] === '\\' && /^[0-9a-f]{2}$/i.test(dn.slice(i + 1, i + 3))) {
          bytes.push(parseInt(dn.slice(i + 1, i + 3), 16));
          i += 3;
        }
        if (inValue) value += Buffer.from(bytes).toString('utf8');
        continue;
      }
      if (inValue) value += dn[i + 1];
      i += 2;
      continue;
    }
    if (!inValue && c === '=') inValue = true;
    else if (inValue && (c === ',' || c === '+')) break;
    else if (inValue) value += c;
    i++;
  }
  return value.trim();
}
