import { AppError } from '../../domain/errors.ts';
import type { UsageFilter, UsageScope } from '../../domain/usage.ts';
import type { User } from '../../domain/user.ts';
import type { UsagePageFetch, UsageRepo } from '../../repositories/usage-repo.ts';

const DAY_MS = 24 * 3600 * 1000;

/** The most hits one unpaged answer carries (§7.3 has no paging; a bound keeps it finite). */
const HITS_MAX = 10_000;

/**
 * Reading the usage tables (connect-api-next.md §7), and their retention. Who reads: an
 * administrator everything, a publisher the items they own or collaborate on, a viewer
 * nothing (403), as the spec has it.
 */
export class UsageService {
  constructor(
    private readonly repo: UsageRepo,
    private readonly retentionDays: number,
  ) {}

  visits(user: User, f: Omit<UsageFilter, 'scope'> & UsagePageFetch) {
    return this.repo.visits({ ...f, scope: scopeOf(user) });
  }

  shinySessions(user: User, f: Omit<UsageFilter, 'scope'> & UsagePageFetch) {
    return this.repo.shinySessions({ ...f, scope: scopeOf(user) });
  }

  hits(user: User, f: Omit<UsageFilter, 'scope'>) {
    return this.repo.hits({ ...f, scope: scopeOf(user) }, HITS_MAX);
  }

  /** Deletes usage older than the retention (0 keeps it all). Returns the rows removed. */
  async prune(now: Date): Promise<number> {
    if (this.retentionDays === 0) return 0;
    return this.repo.prune(new Date(now.getTime() - this.retentionDays * DAY_MS));
  }
}

function scopeOf(user: User): UsageScope {
  if (user.locked) throw AppError.forbidden();
  if (user.role === 'administrator') return { kind: 'everything' };
  if (user.role === 'publisher') return { kind: 'managed', userId: user.id };
  throw AppError.forbidden();
}
