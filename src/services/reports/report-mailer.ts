import type { Content } from '../../domain/content.ts';
import { AppError } from '../../domain/errors.ts';
import { isEmailAddress, type MailKind } from '../../domain/mail.ts';
import { parseEmailMetadata } from '../../domain/report-email/email-metadata.ts';
import type { ReportRenderer, Rendering, Variant } from '../../domain/reports.ts';
import type { User } from '../../domain/user.ts';
import type { Logger } from '../../logging/logger.ts';
import type { RenderingRepo } from '../../repositories/rendering-repo.ts';
import type { MailOutbox } from '../mail/mail-outbox.ts';
import type { MailSettingsService } from '../mail/mail-settings-service.ts';
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
export class ReportMailer {
  constructor(
    private readonly recipients: ReportRecipients,
    private readonly outbox: MailOutbox,
    private readonly settings: MailSettingsService,
    private readonly renderings: RenderingRepo,
    private readonly renderer: ReportRenderer,
    private readonly baseUrl: () => string,
    private readonly clock: () => Date,
    private readonly logger: Logger,
  ) {}

  /** RenderService's listener: only scheduled renders mail by themselves. */
  async rendered(f: RenderFinished): Promise<void> {
    const { rendering: r, content: c, variant: v } = f;
    if (r.trigger !== 'schedule') return;
    if (r.status === 'failed') return this.failure(f);
    if (r.status !== 'succeeded' || !r.email || !r.activate) return;
    await this.report(c, v, r, 'scheduled', null);
  }

  /** `POST /variants/{id}/sender`: queues the rendering to an audience; answers how many it reached. */
  async send(caller: User, { content, variant }: VariantOf, who: Audience, renderingId: number | null, mayChange: boolean): Promise<number> {
    if (!(await this.settings.get())) throw AppError.badRequest('Email is not configured on this server.', MISSING_SENDER_EMAIL);
    if (who === 'me' && !isEmailAddress(caller.email)) throw AppError.badRequest('Your account has no email address.', CALLER_WITHOUT_EMAIL);
    if (who !== 'me' && !mayChange) throw AppError.forbidden('Only the people who manage this report can email it to others.');
    const id = renderingId ?? variant.renderingId;
    if (id === null) throw AppError.badRequest('This variant has no rendering to send yet.', NO_RENDERING);
    const r = await this.renderings.byId(id);
    if (!r || r.variantId !== variant.id || r.status !== 'succeeded')
      throw AppError.badRequest(`Rendering ${id} is not a finished render of this variant.`, VARIANT_RENDERING_MISMATCH);
    return this.report(content, variant, r, 'on-demand', await this.recipients.audience(content, variant, caller, who));
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
    const urls = reportUrls(this.baseUrl(), c, v, r.id);
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
    const users = await this.recipients.collaborators(c, v);
    if (!users.length) return;
    const message = composeFailureMessage({
      contentTitle: c.title || c.name,
      error: r.error ?? 'The render failed.',
      logTail,
      logUrl: `${this.baseUrl()}/__api__/v1/content/${c.guid}/jobs`,
    });
    await this.outbox.enqueue(
      { kind: 'failure', contentId: c.id, variantId: v.id, renderingId: r.id, message, recipients: users.map((u) => ({ address: u.email, userId: u.id })) },
      this.clock(),
    );
  }
}
