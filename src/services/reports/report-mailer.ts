import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import type { Content, Task } from '../../domain/content.ts';
import { AppError, ErrorCode } from '../../domain/errors.ts';
import { isEmailAddress, type MailKind } from '../../domain/mail.ts';
import { parseEmailMetadata } from '../../domain/report-email/email-metadata.ts';
import type { ReportRenderer, Rendering, Variant } from '../../domain/reports.ts';
import type { User } from '../../domain/user.ts';
import type { Logger } from '../../logging/logger.ts';
import type { RenderingRepo } from '../../repositories/rendering-repo.ts';
import type { MailOutbox } from '../mail/mail-outbox.ts';
import type { MailSettingsService } from '../mail/mail-settings-service.ts';
import type { TaskService } from '../tasks/task-service.ts';
import { composeFailureMessage, composeReportMessages } from '../mail/report-message.ts';
import type { RenderFinished } from './render-service.ts';
import { reportUrls } from './report-env.ts';
import type { Audience, ReportRecipients } from './report-recipients.ts';
import type { VariantOf } from './variant-service.ts';

// Connect's error codes for the sender (connect-api-next.md §4.4).
const MISSING_SENDER_EMAIL = 43;
const CALLER_WITHOUT_EMAIL = 44;
const NO_RENDERING = 59;
const VARIANT_RENDERING_MISMATCH = 116;

/**
 * Turns renders into email, through the outbox (so a slow or absent mail server never holds a
 * render up): after a scheduled render, the report to its recipients with the document's own
 * subject, body, images and attachments unless it suppresses scheduled mail; after a failed
 * scheduled render, a notice with the log's tail to the owner and collaborators; and on demand,
 * the current render to the caller, the collaborators, or them and the viewers.
 */
export interface ReportMailerOptions {
  /** The address links in mail point to; null when the administrator has not set the public URL. */
  publicUrl: () => string | null;
  /** The address to use when there is no public URL (the server's own listener). */
  baseUrl: () => string;
  /** On-demand sends one user may ask for per hour (each may reach many people). */
  sendsPerHour: number;
}

export class ReportMailer {
  // Per user, in this process's memory: each node counts its own.
  private readonly sendLimit: RateLimiterMemory;

  constructor(
    private readonly recipients: ReportRecipients,
    private readonly outbox: MailOutbox,
    private readonly settings: MailSettingsService,
    private readonly renderings: RenderingRepo,
    private readonly renderer: ReportRenderer,
    private readonly tasks: TaskService,
    private readonly o: ReportMailerOptions,
    private readonly clock: () => Date,
    private readonly logger: Logger,
  ) {
    this.sendLimit = new RateLimiterMemory({ points: o.sendsPerHour, duration: 3600 });
  }

  /** RenderService's listener: only scheduled renders mail by themselves. */
  async rendered(f: RenderFinished): Promise<void> {
    const { rendering: r, content: c, variant: v } = f;
    if (r.trigger !== 'schedule') return;
    if (r.status === 'failed') return this.failure(f);
    if (r.status !== 'succeeded' || !r.email || !r.activate) return;
    await this.report(c, v, r, 'scheduled', null);
  }

  /**
   * `POST /variants/{id}/sender`: queues the rendering to an audience, and answers a finished
   * task saying how many it reached (pollable at `/v1/tasks/{id}`, as Connect's is).
   */
  async send(
    caller: User,
    { content, variant }: VariantOf,
    who: Audience,
    renderingId: number | null,
    mayChange: boolean,
  ): Promise<{ task: Task; output: string[] }> {
    if (!(await this.settings.get())) throw AppError.badRequest('Email is not configured on this server.', MISSING_SENDER_EMAIL);
    // Links to 127.0.0.1 reach nobody: Connect refuses without Server.Address too.
    if (!this.o.publicUrl())
      throw AppError.badRequest('The server has no public URL for the links in email: an administrator sets server.publicUrl.', ErrorCode.missingServerAddress);
    if (who === 'me' && !isEmailAddress(caller.email)) throw AppError.badRequest('Your account has no email address.', CALLER_WITHOUT_EMAIL);
    if (who !== 'me' && !mayChange) throw AppError.forbidden('Only the people who manage this report can email it to others.');
    const id = renderingId ?? variant.renderingId;
    if (id === null) throw AppError.badRequest('This variant has no rendering to send yet.', NO_RENDERING);
    const r = await this.renderings.byId(id);
    if (!r || r.variantId !== variant.id || r.status !== 'succeeded')
      throw AppError.badRequest(`Rendering ${id} is not a finished render of this variant.`, VARIANT_RENDERING_MISMATCH);
    await this.takeSend(caller);
    const reached = await this.report(content, variant, r, 'on-demand', await this.recipients.audience(content, variant, caller, who));
    const task = await this.tasks.create({ contentId: content.id, bundleId: r.bundleId, userId: caller.id, kind: 'email', activate: false });
    const output = [`Queued rendering ${r.id} of "${content.title || content.name}" for ${reached} recipient${reached === 1 ? '' : 's'}.`];
    for (const line of output) await this.tasks.log(task.id, line);
    await this.tasks.finish(task.id, 0);
    return { task: await this.tasks.get(task.id), output };
  }

  // A manager could otherwise mail every viewer in a loop: each caller gets a budget of sends.
  private async takeSend(caller: User): Promise<void> {
    try {
      await this.sendLimit.consume(String(caller.id));
    } catch (err) {
      if (!(err instanceof RateLimiterRes)) throw err;
      const wait = Math.max(1, Math.ceil(err.msBeforeNext / 1000));
      throw AppError.rateLimited(
        `You have sent this server's limit of ${this.o.sendsPerHour} report emails in an hour. Try again in ${Math.ceil(wait / 60)} minute(s).`,
        wait,
      );
    }
  }

  private linkBase(): string {
    return this.o.publicUrl() ?? this.o.baseUrl();
  }

  // `audience` null: the scheduled recipients (and, for a Quarto v2 email, the ones it names).
  private async report(c: Content, v: Variant, r: Rendering, kind: MailKind, audience: User[] | null): Promise<number> {
    const outputDir = r.outputPath ? this.renderer.outputDir(r.outputPath) : null;
    if (!outputDir || !r.outputFile) {
      this.logger.warn({ rendering: r.id }, 'a rendering to email has no output left');
      return 0;
    }
    const parsed = r.metadata === null || r.metadata === undefined ? null : parseEmailMetadata(r.metadata);
    if (parsed && !parsed.ok)
      this.logger.warn({ rendering: r.id, problem: parsed.problem }, "the report's email metadata is unusable: sending the default email");
    if (!this.o.publicUrl()) this.logger.warn({ rendering: r.id }, "server.publicUrl is not set: links in report email point at this server's own listener");
    const urls = reportUrls(this.linkBase(), c, v, r.id);
    const composed = await composeReportMessages({
      contentTitle: c.title || c.name,
      reportUrl: urls.report,
      subscriptionUrl: urls.subscription,
      outputDir,
      outputFile: r.outputFile,
      emails: parsed?.ok ? parsed.emails : null,
    });
    let reached = 0;
    for (const m of composed) {
      for (const note of m.notes) this.logger.info({ rendering: r.id, note }, 'report email');
      // Suppression is the document's word on scheduled mail only; asking for it by hand still sends.
      if (kind === 'scheduled' && m.suppressScheduled) continue;
      const users = audience ?? (await this.recipients.scheduled(c, v, m.recipients ?? []));
      if (!users.length) continue;
      await this.outbox.enqueue(
        { kind, contentId: c.id, variantId: v.id, renderingId: r.id, message: m.message, recipients: users.map((u) => ({ address: u.email, userId: u.id })) },
        this.clock(),
      );
      reached += users.length;
    }
    return reached;
  }

  private async failure({ rendering: r, content: c, variant: v, logTail }: RenderFinished): Promise<void> {
    // The log can hold paths and secrets: only people who may read the item's logs get its tail.
    const users = await this.recipients.logReaders(c, v);
    if (!users.length) return;
    const message = composeFailureMessage({
      contentTitle: c.title || c.name,
      error: r.error ?? 'The render failed.',
      logTail,
      logUrl: `${this.linkBase()}/__api__/v1/content/${c.guid}/jobs`,
    });
    await this.outbox.enqueue(
      { kind: 'failure', contentId: c.id, variantId: v.id, renderingId: r.id, message, recipients: users.map((u) => ({ address: u.email, userId: u.id })) },
      this.clock(),
    );
  }
}
