import { randomBytes } from 'node:crypto';
import { AppError } from '../domain/errors.ts';
import type { User } from '../domain/user.ts';
import type { AuditLog } from '../services/audit-log.ts';
import type { UserService } from '../services/user-service.ts';
import type { LoginOutcome } from './provider.ts';
import type { RemoteLogins } from './remote-identity.ts';
import type { MappedIdentity } from './sso-mapping.ts';

/**
 * A STAND-IN for the login core's `RemoteLogins`, so the OIDC and SAML providers run end to
 * end on this branch: to be replaced at merge by the core's service (linking by provider and
 * subject, remote groups, role mapping, throttling). It finds the user by username, or
 * creates one (the role the IdP named, else viewer; a random password nobody knows, so only
 * the identity provider logs them in), refuses a locked user, and audits success and failure.
 * Groups are not synced here.
 */
export function basicRemoteLogins(d: { users: UserService; audit: AuditLog }): RemoteLogins {
  const fail = (message: string): LoginOutcome => ({ ok: false, failure: { status: 401, message } });
  return {
    async complete(identity: MappedIdentity, { ip }) {
      const actor = { userId: null, ip, via: 'web' as const };
      let user: User;
      try {
        user = await d.users.byUsername(identity.username);
      } catch (err) {
        if (!(err instanceof AppError) || err.status !== 404) throw err;
        ({ user } = await d.users.create(
          { ...actor, via: 'system' },
          {
            username: identity.username,
            email: identity.email,
            firstName: identity.firstName,
            lastName: identity.lastName,
            role: identity.role ?? 'viewer',
            password: randomBytes(32).toString('base64url'),
          },
        ));
      }
      if (user.locked) {
        await d.audit.record(
          { ...actor, userId: user.id },
          'login.failure',
          { type: 'user', id: user.guid },
          { reason: 'locked', provider: identity.provider },
        );
        return fail('This account is locked.');
      }
      await d.audit.record({ ...actor, userId: user.id }, 'login.success', { type: 'user', id: user.guid }, { provider: identity.provider });
      return { ok: true, user };
    },

    async refuse(provider, reason, { ip }, claimed) {
      await d.audit.record({ userId: null, ip, via: 'web' }, 'login.failure', { type: 'user', id: claimed ?? '' }, { provider, reason });
      return fail(reason);
    },
  };
}
