import type { UserService } from '../services/user-service.ts';
import type { LoginGate } from './login-gate.ts';
import type { PasswordLoginProvider } from './provider.ts';

/** Lectern's own accounts: the password stored (argon2id) with the user. Off with `auth.password.enabled: false`. */
export function passwordProvider(d: { users: UserService; gate: LoginGate; config: { password: { enabled: boolean } } }): PasswordLoginProvider | undefined {
  if (!d.config.password.enabled) return undefined;
  return {
    name: 'local',
    kind: 'password',
    login: (username, password, attempt) => d.gate.run('local', username, attempt, () => d.users.verifyLogin(username, password)),
  };
}
