import type { Knex } from 'knex';
import { toBool, toDate, toDateOrNull } from '../db/values.ts';
import type { GitLocation } from '../domain/git-location.ts';

type Row = Record<string, unknown>;

/** A location with its sealed secrets, for the service that opens them; never serialised. */
export interface StoredGitLocation extends GitLocation {
  webhookSecretSealed: string;
  credentialsSealed: string | null;
}

function toLocation(r: Row): StoredGitLocation {
  return {
    contentId: Number(r.content_id),
    repository: String(r.repository),
    branch: String(r.branch),
    directory: String(r.directory),
    polling: toBool(r.polling),
    previewBranches: toBool(r.preview_branches),
    lastError: (r.last_error as string | null) ?? null,
    lastKnownCommit: (r.last_known_commit as string | null) ?? null,
    lastFetchedTime: toDateOrNull(r.last_fetched_time),
    hasCredentials: r.credentials !== null && r.credentials !== undefined,
    createdTime: toDate(r.created_time),
    updatedTime: toDate(r.updated_time),
    webhookSecretSealed: String(r.webhook_secret),
    credentialsSealed: (r.credentials as string | null) ?? null,
  };
}

export interface GitLocationFields {
  repository: string;
  branch: string;
  directory: string;
  polling: boolean;
  previewBranches: boolean;
  credentialsSealed: string | null;
  /** Whether the last look's state goes (the place or branch changed, so it no longer applies). */
  resetState: boolean;
}

/** What a fetch or a look at the branch found. `lastKnownCommit` undefined: left as it is. */
export interface FetchOutcome {
  lastError: string | null;
  lastKnownCommit?: string;
  lastFetchedTime: Date;
}

export class GitLocationRepo {
  constructor(private readonly knex: Knex) {}

  async get(contentId: number): Promise<StoredGitLocation | undefined> {
    const row = (await this.knex('content_repositories').where({ content_id: contentId }).first()) as Row | undefined;
    return row && toLocation(row);
  }

  /** Creates the row (with its webhook secret) or changes an existing one (keeping its secret). */
  async save(contentId: number, f: GitLocationFields, webhookSecretSealed: string): Promise<StoredGitLocation> {
    const now = new Date();
    const values: Row = {
      repository: f.repository,
      branch: f.branch,
      directory: f.directory,
      polling: f.polling,
      preview_branches: f.previewBranches,
      credentials: f.credentialsSealed,
      updated_time: now,
    };
    if (f.resetState) Object.assign(values, { last_error: null, last_known_commit: null, last_fetched_time: null });
    await this.knex.transaction(async (trx) => {
      const updated = await trx('content_repositories').where({ content_id: contentId }).update(values);
      if (!updated) await trx('content_repositories').insert({ ...values, content_id: contentId, webhook_secret: webhookSecretSealed, created_time: now });
    });
    return (await this.get(contentId))!;
  }

  async setWebhookSecret(contentId: number, sealed: string): Promise<void> {
    await this.knex('content_repositories').where({ content_id: contentId }).update({ webhook_secret: sealed, updated_time: new Date() });
  }

  async remove(contentId: number): Promise<boolean> {
    return (await this.knex('content_repositories').where({ content_id: contentId }).delete()) > 0;
  }

  async recordFetch(contentId: number, o: FetchOutcome): Promise<void> {
    const values: Row = { last_error: o.lastError, last_fetched_time: o.lastFetchedTime };
    if (o.lastKnownCommit !== undefined) values.last_known_commit = o.lastKnownCommit;
    await this.knex('content_repositories').where({ content_id: contentId }).update(values);
  }

  /**
   * The polled items whose last look is older than `before`, each claimed by moving its
   * `last_fetched_time` to `now` with a conditional update: servers sharing a database look
   * at an item once between them.
   */
  async claimDuePolls(now: Date, before: Date, limit: number): Promise<StoredGitLocation[]> {
    const rows = (await this.knex('content_repositories')
      .where({ polling: true })
      .andWhere((q) => q.whereNull('last_fetched_time').orWhere('last_fetched_time', '<=', before))
      .orderBy('content_id')
      .limit(limit)) as Row[];
    const claimed: StoredGitLocation[] = [];
    for (const row of rows) {
      const q = this.knex('content_repositories').where({ content_id: row.content_id });
      const won = await (
        row.last_fetched_time === null ? q.whereNull('last_fetched_time') : q.where('last_fetched_time', row.last_fetched_time as Date)
      ).update({
        last_fetched_time: now,
      });
      if (won) claimed.push(toLocation(row));
    }
    return claimed;
  }
}
