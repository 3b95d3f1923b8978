import type { Actor } from '../domain/user.ts';
import type { RemoteAccounts, RemoteRefusal } from '../services/remote-accounts.ts';
import type { LoginCheck, LoginGate } from './login-gate.ts';
import type { LoginAttempt, LoginFailure } from './provider.ts';
import type { RemoteIdentity, RemoteLogins } from './remote-identity.ts';

/** What the page says when an identity was proven but gives no Lectern login. */
function refusalMessage(reason: RemoteRefusal, identity: RemoteIdentity, proven: boolean): Partial<LoginFailure> | undefined {
  switch (reason) {
    case 'username-taken':
      return {
        message: `A Lectern account named ${identity.username} already exists and is not linked to your ${identity.provider} login. Ask an administrator.`,
      };
    case 'invalid-username':
      return { message: `Your ${identity.provider} username is not one Lectern accepts. Ask an administrator.` };
    case 'locked':
      // Behind a password the answer stays the wrong password's; a proven identity may know.
      return proven ? { message: 'Your Lectern account is locked. Ask an administrator.' } : undefined;
  }
}

/**
 * The check every remote provider ends with, once it has checked its proof: the account
 * found, provisioned or refused (RemoteAccounts). `proven`: the person proved who they are
 * without typing a password here (a redirect or a proxy), so a lock may be told.
 */
export function remoteCheck(accounts: RemoteAccounts, identity: RemoteIdentity, attempt: LoginAttempt, proven: boolean): () => Promise<LoginCheck> {
  return async () => {
    const actor: Actor = { userId: null, ip: attempt.ip, via: 'web' };
    const r = await accounts.resolve(identity, actor);
    if (r.ok) return { ok: true, user: r.user };
    return { ok: false, reason: r.reason, user: r.user, failure: refusalMessage(r.reason, identity, proven), details: { subject: identity.subject } };
  };
}

/** `RemoteLogins` for the redirect and header providers: the gate, then the account. */
export function createRemoteLogins(gate: LoginGate, accounts: RemoteAccounts): RemoteLogins {
  return {
    complete: (identity, attempt) => gate.run(identity.provider, identity.username, attempt, remoteCheck(accounts, identity, attempt, true)),
    // A redirect provider's reason is written for the person (an expired assertion, a
    // replayed state): it names what failed in the proof, never whether an account exists.
    refuse: (provider, reason, attempt, claimed) => gate.refuse(provider, reason, attempt, claimed, reason),
  };
}
