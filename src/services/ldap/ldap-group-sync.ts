import type { Logger } from '../../logging/logger.ts';
import type { RemoteAccounts } from '../remote-accounts.ts';
import { LDAP_PROVIDER, type LdapDirectory } from './ldap-directory.ts';

export interface LdapSyncReport {
  users: number;
  /** Users whose memberships changed. */
  changed: number;
  /** Users the directory no longer has under their name (or has a different person): left as they are. */
  missing: number;
  failed: number;
}

/**
 * The scheduled LDAP group sync (timed work of the scheduler, every `auth.ldap.groupSyncHours`):
 * re-reads the groups of every user who logged in with LDAP, through the service account, and
 * syncs their remote groups as a login would, so someone removed from a group in the directory
 * loses what it gave them without having to log in again. Locked users are skipped.
 */
export class LdapGroupSync {
  readonly name = 'ldap-group-sync';
  private nextRun: number;

  constructor(
    private readonly directory: LdapDirectory,
    private readonly accounts: RemoteAccounts,
    private readonly hours: number,
    private readonly logger: Logger,
    /** When the server started: the first sync is one interval later. */
    started: Date,
  ) {
    this.nextRun = started.getTime() + hours * 3600_000;
  }

  /** Each scheduler tick: a sync when one is due. */
  async run(now: Date): Promise<void> {
    if (this.hours === 0) return;
    const period = this.hours * 3600_000;
    if (now.getTime() < this.nextRun) return;
    this.nextRun = now.getTime() + period;
    const report = await this.syncAll();
    this.logger.info(report, 'LDAP groups synced');
  }

  async syncAll(): Promise<LdapSyncReport> {
    const report: LdapSyncReport = { users: 0, changed: 0, missing: 0, failed: 0 };
    const actor = { userId: null, via: 'system' as const };
    for (const { user, subject } of await this.accounts.linkedUsers(LDAP_PROVIDER)) {
      if (user.locked) continue;
      report.users++;
      const found = await this.directory.lookup(user.username);
      if (!found.ok) {
        if (found.reason === 'directory-unavailable') {
          report.failed++;
          this.logger.warn({ user: user.username, err: found.detail }, 'LDAP group sync: the directory could not be read');
        } else report.missing++;
        continue;
      }
      if (found.user.subject !== subject) {
        report.missing++;
        continue;
      }
      const sync = await this.accounts.syncGroups(user, LDAP_PROVIDER, found.user.groups, actor);
      // A role follows the groups between logins too: out of the directory's admins, out of Lectern's.
      await this.accounts.syncRole(user, LDAP_PROVIDER, found.user.groups, actor);
      if (sync.added.length || sync.removed.length) report.changed++;
    }
    return report;
  }
}
