import type { ProcessVariables } from '../domain/deploy.ts';
import { contentScope } from '../domain/user.ts';
import type { ApiKeyRepo } from '../repositories/api-key-repo.ts';
import type { ContentRepo } from '../repositories/content-repo.ts';
import type { UserRepo } from '../repositories/user-repo.ts';
import type { ApiKeyService } from './api-key-service.ts';
import { CREDENTIALS_KEY_VARIABLE, credentialsKey } from './credentials-signature.ts';
import type { VariableService } from './variable-service.ts';

const PROCESS_KEY_PREFIX = 'process:';

/**
 * The environment every content process starts with, as Connect provides it. The API key is
 * the owner's, made for this process and revoked when it ends, and scoped to the content
 * (`contentScope`): the API lets it read that item and what an app asks about its viewers
 * (connectapi, posit-sdk), never write; the proxy lets it reach that item's live app only.
 * Collaborators deploy the code that reads it, so it must be worth no more than that.
 */
export class ProcessVariableService implements ProcessVariables {
  constructor(
    private readonly content: ContentRepo,
    private readonly users: UserRepo,
    private readonly keys: ApiKeyService,
    private readonly keyRepo: ApiKeyRepo,
    private readonly variables: VariableService,
    /** The server's URL as content should use it; known once it listens. */
    private readonly serverUrl: () => string,
    /** The server's secret key: each item's credentials key is derived from it. */
    private readonly secretKey: Buffer,
  ) {}

  async forContent(contentGuid: string, jobKey: string) {
    const c = await this.content.byGuid(contentGuid);
    if (!c) throw new Error('The content was deleted.');
    const owner = await this.users.byId(c.ownerId);
    const vars = await this.variables.values(c);
    const base: Record<string, string> = {
      CONNECT_SERVER: `${this.serverUrl()}/`,
      // To check Lectern-Credentials-Signature (src/services/credentials-signature.ts).
      [CREDENTIALS_KEY_VARIABLE]: credentialsKey(this.secretKey, c.guid),
      CONNECT_CONTENT_GUID: c.guid,
      RSTUDIO_PRODUCT: 'CONNECT',
    };
    if (!owner || owner.locked) return { env: { ...vars, ...base }, release: async () => undefined };
    const { key, secret } = await this.keys.create({ userId: null, via: 'system' }, owner, `${PROCESS_KEY_PREFIX}${jobKey}`, { scope: contentScope(c.guid) });
    let released = false;
    return {
      // Lectern's own variables last: content variables cannot shadow them.
      env: { ...vars, ...base, CONNECT_API_KEY: secret },
      release: async () => {
        if (released) return;
        released = true;
        await this.keyRepo.delete(key.id);
      },
    };
  }

  /**
   * Keys of processes a restart left behind: their processes are gone, except the jobs given
   * (containers the runtime adopted, which go on using theirs).
   */
  async revokeLeftovers(keepJobs: readonly string[] = []): Promise<number> {
    return this.keyRepo.deleteScopedByNamePrefix(
      PROCESS_KEY_PREFIX,
      keepJobs.map((k) => `${PROCESS_KEY_PREFIX}${k}`),
    );
  }

  /** Revokes one job's key (an adopted instance that stopped). */
  async revoke(jobKey: string): Promise<void> {
    await this.keyRepo.deleteScopedByName(`${PROCESS_KEY_PREFIX}${jobKey}`);
  }
}
