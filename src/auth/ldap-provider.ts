import { LDAP_PROVIDER, LdapDirectory } from '../services/ldap/ldap-directory.ts';
import type { LoginCheck } from './login-gate.ts';
import type { PasswordLoginProvider } from './provider.ts';
import type { LoginProviderDeps } from './provider-deps.ts';
import { remoteCheck } from './remote-logins.ts';

/**
 * LDAP or Active Directory (`auth.ldap`): the typed password is checked by a bind as the
 * user's entry, then the entry is a remote identity like any other (provisioned, role mapped,
 * groups synced). Throttled and audited by the gate before the directory is asked anything.
 */
export function ldapProvider(d: LoginProviderDeps): PasswordLoginProvider | undefined {
  if (!d.config.ldap) return undefined;
  const directory = new LdapDirectory(d.config.ldap);
  return {
    name: LDAP_PROVIDER,
    kind: 'password',
    displayName: d.config.ldap.displayName,
    login: (username, password, attempt) =>
      d.gate.run(LDAP_PROVIDER, username, attempt, async (): Promise<LoginCheck> => {
        const found = await directory.authenticate(username, password);
        if (!found.ok) {
          if (found.reason === 'directory-unavailable') {
            d.logger.warn({ err: found.detail }, 'the LDAP directory could not be reached for a login');
            return { ok: false, reason: found.reason, failure: { status: 503, message: 'The directory could not be reached. Try again later.' } };
          }
          return { ok: false, reason: found.reason };
        }
        const u = found.user;
        const identity = {
          provider: LDAP_PROVIDER,
          subject: u.subject,
          username: u.username,
          email: u.email,
          firstName: u.firstName,
          lastName: u.lastName,
          groups: u.groups,
        };
        return remoteCheck(d.accounts, identity, attempt, false)();
      }),
  };
}
