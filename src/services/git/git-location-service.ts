import { randomBytes } from 'node:crypto';
import type { Content } from '../../domain/content.ts';
import { AppError } from '../../domain/errors.ts';
import { checkBranch, checkRepositoryUrl, normalizeDirectory, type GitCredentials, type GitLocation } from '../../domain/git-location.ts';
import type { Actor } from '../../domain/user.ts';
import type { FetchOutcome, GitLocationRepo, StoredGitLocation } from '../../repositories/git-location-repo.ts';
import type { AuditLog } from '../audit-log.ts';
import type { SecretBox } from '../secret-box.ts';

/** A location as PUT gives it; PATCH gives any part. `credentials` null removes them. */
export interface GitLocationInput {
  repository: string;
  branch: string;
  directory: string;
  polling: boolean;
  previewBranches: boolean;
  credentials?: GitCredentials | null | undefined;
}

const notGitBacked = () => AppError.notFound('This content is not git-backed: PUT its repository first.');

function publicPart(s: StoredGitLocation): GitLocation {
  const { webhookSecretSealed: _s, credentialsSealed: _c, ...rest } = s;
  return rest;
}

/**
 * Where git-backed items come from (connect-api-next.md §9.3), changed by who manages the item,
 * audited. The webhook secret and the credentials are sealed at rest by a SecretBox, bound to
 * the item's guid, and never given back by GET: the secret is shown once, by `rotateSecret`.
 */
export class GitLocationService {
  constructor(
    private readonly repo: GitLocationRepo,
    private readonly box: SecretBox,
    private readonly audit: AuditLog,
    private readonly protocols: readonly string[],
  ) {}

  async get(c: Content): Promise<GitLocation | undefined> {
    const s = await this.repo.get(c.id);
    return s && publicPart(s);
  }

  /** The item's location, or Connect's 404 (code 4) when it is not git-backed. */
  async require(c: Content): Promise<GitLocation> {
    const s = await this.get(c);
    if (!s) throw notGitBacked();
    return s;
  }

  /** PUT: the whole location. An existing item keeps its webhook secret. */
  async set(actor: Actor, c: Content, input: GitLocationInput): Promise<GitLocation> {
    const before = await this.repo.get(c.id);
    const saved = await this.save(c, before, input);
    await this.audit.record(actor, before ? 'content.repository.update' : 'content.repository.set', { type: 'content', id: c.guid }, this.auditDetails(saved));
    return saved;
  }

  /** PATCH: the fields given; 404 when the item is not git-backed. */
  async update(actor: Actor, c: Content, patch: Partial<GitLocationInput>): Promise<GitLocation> {
    const before = await this.repo.get(c.id);
    if (!before) throw notGitBacked();
    const saved = await this.save(c, before, {
      repository: patch.repository ?? before.repository,
      branch: patch.branch ?? before.branch,
      directory: patch.directory ?? before.directory,
      polling: patch.polling ?? before.polling,
      previewBranches: patch.previewBranches ?? before.previewBranches,
      credentials: patch.credentials,
    });
    await this.audit.record(actor, 'content.repository.update', { type: 'content', id: c.guid }, { ...this.auditDetails(saved), fields: Object.keys(patch) });
    return saved;
  }

  private async save(c: Content, before: StoredGitLocation | undefined, input: GitLocationInput): Promise<GitLocation> {
    const repository = checkRepositoryUrl(input.repository, this.protocols);
    const branch = checkBranch(input.branch);
    const directory = normalizeDirectory(input.directory);
    const moved = !before || before.repository !== repository;
    // Stored credentials never follow the repository to another URL: they would be sent there.
    let credentialsSealed = moved ? null : (before?.credentialsSealed ?? null);
    if (input.credentials === null) credentialsSealed = null;
    else if (input.credentials) {
      if (!/^https?:\/\//i.test(repository)) throw AppError.badRequest("Credentials are for http(s) repositories; an ssh repository uses the server's keys.");
      credentialsSealed = this.box.seal(JSON.stringify(input.credentials), `${c.guid}/credentials`);
    }
    const saved = await this.repo.save(
      c.id,
      {
        repository,
        branch,
        directory,
        polling: input.polling,
        previewBranches: input.previewBranches,
        credentialsSealed,
        resetState: moved || before?.branch !== branch || before?.directory !== directory,
      },
      this.box.seal(randomBytes(32).toString('hex'), `${c.guid}/webhook-secret`),
    );
    return publicPart(saved);
  }

  // The place and switches only: never a credential.
  private auditDetails(l: GitLocation): Record<string, unknown> {
    return {
      repository: l.repository,
      branch: l.branch,
      directory: l.directory,
      polling: l.polling,
      preview_branches: l.previewBranches,
      credentials: l.hasCredentials,
    };
  }

  async remove(actor: Actor, c: Content): Promise<void> {
    const before = await this.repo.get(c.id);
    if (!before || !(await this.repo.remove(c.id))) throw notGitBacked();
    await this.audit.record(actor, 'content.repository.remove', { type: 'content', id: c.guid }, { repository: before.repository });
  }

  /** A new webhook secret, given this once; the old one stops working. */
  async rotateSecret(actor: Actor, c: Content): Promise<string> {
    if (!(await this.repo.get(c.id))) throw notGitBacked();
    const secret = randomBytes(32).toString('hex');
    await this.repo.setWebhookSecret(c.id, this.box.seal(secret, `${c.guid}/webhook-secret`));
    await this.audit.record(actor, 'content.repository.secret', { type: 'content', id: c.guid });
    return secret;
  }

  /** The location with what a fetch and a webhook need, opened; undefined when not git-backed. */
  async forGit(c: Content): Promise<{ location: GitLocation; webhookSecret: string; credentials: GitCredentials | undefined } | undefined> {
    const s = await this.repo.get(c.id);
    if (!s) return undefined;
    return {
      location: publicPart(s),
      webhookSecret: this.box.open(s.webhookSecretSealed, `${c.guid}/webhook-secret`),
      credentials: s.credentialsSealed ? (JSON.parse(this.box.open(s.credentialsSealed, `${c.guid}/credentials`)) as GitCredentials) : undefined,
    };
  }

  /** A refused webhook call, for the audit log: who tried, from where, and why it failed. */
  refusedWebhook(actor: Actor, guid: string, reason: string): Promise<void> {
    return this.audit.record(actor, 'content.repository.webhook_refused', { type: 'content', id: guid }, { reason });
  }

  recordFetch(c: Content, o: FetchOutcome): Promise<void> {
    return this.repo.recordFetch(c.id, o);
  }

  /** Polled items due for a look, claimed (see GitLocationRepo.claimDuePolls). */
  async claimDuePolls(now: Date, intervalSeconds: number, limit: number): Promise<GitLocation[]> {
    return (await this.repo.claimDuePolls(now, new Date(now.getTime() - intervalSeconds * 1000), limit)).map(publicPart);
  }
}
