import type { Config } from '../config/index.ts';
import type { Logger } from '../logging/logger.ts';
import type { AuditLog } from '../services/audit-log.ts';
import type { LoginThrottle } from '../services/login-throttle.ts';
import type { RemoteAccounts } from '../services/remote-accounts.ts';
import type { UserService } from '../services/user-service.ts';
import type { LoginGate } from './login-gate.ts';
import type { RemoteLogins } from './remote-identity.ts';

/** What the composition root gives the providers. */
export interface LoginServices {
  users: UserService;
  throttle: LoginThrottle;
  audit: AuditLog;
  accounts: RemoteAccounts;
  config: Config['auth'];
  logger: Logger;
}

/** What every provider may use; a provider that needs configuration reads it from `config`. */
export interface LoginProviderDeps extends LoginServices {
  /** Throttle, check, audit: what every login goes through. */
  gate: LoginGate;
  /** Where a remote identity (a redirect's, a header's) becomes a Lectern login. */
  remote: RemoteLogins;
}
