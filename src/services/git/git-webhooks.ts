import type { Logger } from 'pino';
import { AppError } from '../../domain/errors.ts';
import { checkBranch } from '../../domain/git-location.ts';
import { isGuid } from '../../domain/ids.ts';
import type { Actor } from '../../domain/user.ts';
import type { ContentRepo } from '../../repositories/content-repo.ts';
import type { GitDeployer } from './git-deployer.ts';
import type { GitLocationService } from './git-location-service.ts';
import { verifyWebhook, type WebhookProof } from './webhook-signature.ts';

/** A webhook call as the route read it: the raw body and the headers that matter. */
export interface WebhookCall extends WebhookProof {
  body: Buffer;
  /** `X-GitHub-Event` (push, ping, …) or `X-Gitlab-Event` (Push Hook, …). */
  event?: string | undefined;
}

export interface WebhookAnswer {
  status: number;
  body: Record<string, unknown>;
}

const NO_COMMIT = /^0+$/;

/**
 * Pushes from GitHub or GitLab (Lectern's own, beyond Connect): proven by the item's secret,
 * refused and audited otherwise. A push to the item's branch deploys it; a push to another
 * branch, when the item has `preview_branches`, deploys that branch as a draft. The answer
 * (202) goes before the fetch: the deploy runs in the background, as the item's owner.
 */
export class GitWebhooks {
  private readonly running = new Set<Promise<unknown>>();

  constructor(
    private readonly locations: GitLocationService,
    private readonly content: ContentRepo,
    private readonly deployer: GitDeployer,
    private readonly logger: Logger,
  ) {}

  async receive(actor: Actor, guid: string, call: WebhookCall): Promise<WebhookAnswer> {
    const c = isGuid(guid) ? await this.content.byGuid(guid) : undefined;
    const g = c && (await this.locations.forGit(c));
    if (!c || !g) throw AppError.notFound('There is no git-backed content here.');
    const verdict = verifyWebhook(g.webhookSecret, call.body, call);
    if (verdict !== 'valid') {
      await this.locations.refusedWebhook(actor, c.guid, verdict === 'missing' ? 'no signature' : 'bad signature');
      if (verdict === 'missing') throw AppError.unauthorized('A webhook must carry X-Hub-Signature-256 or X-Gitlab-Token.');
      throw AppError.forbidden("The webhook signature does not match this content's secret.");
    }
    const event = (call.event ?? 'push').toLowerCase();
    if (event === 'ping') return { status: 200, body: { message: 'pong' } };
    if (event !== 'push' && event !== 'push hook') return { status: 200, body: { deployed: false, reason: `ignored event "${call.event}"` } };
    let payload: unknown;
    try {
      const text = call.body.toString('utf8');
      // GitHub's other content type: the same JSON as a form field `payload` (signed as sent).
      payload = JSON.parse(text.startsWith('payload=') ? (new URLSearchParams(text).get('payload') ?? '') : text);
    } catch {
      throw AppError.badRequest('The webhook body is not JSON.');
    }
    const p = (payload && typeof payload === 'object' ? payload : {}) as { ref?: unknown; after?: unknown; deleted?: unknown };
    if (typeof p.ref !== 'string' || !p.ref.startsWith('refs/heads/')) return { status: 200, body: { deployed: false, reason: 'not a push to a branch' } };
    if (p.deleted === true || (typeof p.after === 'string' && NO_COMMIT.test(p.after)))
      return { status: 200, body: { deployed: false, reason: 'the branch was deleted' } };
    const branch = checkBranch(p.ref.slice('refs/heads/'.length));
    const own = branch === g.location.branch;
    if (!own && !g.location.previewBranches) return { status: 200, body: { deployed: false, reason: `not the content's branch (${g.location.branch})` } };
    const work = this.deployer
      .ownerOf(c)
      .then((owner) => this.deployer.deploy(actor, owner, c, { ref: branch, activate: own }))
      .then((r) => this.logger.info({ content: c.guid, branch, commit: r.location.commit, task: r.task.id, draft: !own }, 'webhook push: deploying'))
      .catch((err: unknown) =>
        this.logger.info({ content: c.guid, branch, err: err instanceof Error ? err.message : String(err) }, 'webhook push: could not deploy'),
      )
      .finally(() => this.running.delete(work));
    this.running.add(work);
    return { status: 202, body: { deployed: true, branch, draft: !own } };
  }

  /** Resolves when every webhook's fetch started so far has ended (shutdown, tests). */
  async idle(): Promise<void> {
    while (this.running.size) await Promise.all([...this.running]);
  }
}
