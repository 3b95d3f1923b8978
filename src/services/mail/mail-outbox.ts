import { performance } from 'node:perf_hooks';
import { isEmailAddress, MAIL_NOT_CONFIGURED, type EmailSendRecord, type MailKind, type OutgoingMessage, type SendStatus } from '../../domain/mail.ts';
import type { Logger } from '../../logging/logger.ts';
import type { ClaimedSend, EmailRepo, NewEmailSend, SendOutcome } from '../../repositories/email-repo.ts';
import type { AuditLog } from '../audit-log.ts';
import { MailSendError, type Mailer, type MailSent } from './mailer.ts';
import type { MailSettingsService } from './mail-settings-service.ts';

export interface MailRecipient {
  address: string;
  userId?: number | null | undefined;
}

export interface EnqueueRequest {
  kind: MailKind;
  contentId?: number | null | undefined;
  variantId?: number | null | undefined;
  renderingId?: number | null | undefined;
  message: OutgoingMessage;
  recipients: MailRecipient[];
}

export interface DeliveryReport {
  sent: number;
  /** Failed for now, to be tried again later. */
  retried: number;
  failed: number;
}

const MINUTE = 60_000;
/** Waits after the 1st, 2nd, ... failed attempt; the attempt after the last wait is the last one. */
const BACKOFF_MS = [MINUTE, 5 * MINUTE, 15 * MINUTE, 60 * MINUTE, 240 * MINUTE];
const MAX_ATTEMPTS = BACKOFF_MS.length + 1;
/** How long a claim keeps other servers off a send: far longer than one SMTP conversation's timeouts. */
const CLAIM_MS = 2 * MINUTE;
/**
 * A batch stops taking new sends after this much real time: its claims all end CLAIM_MS after
 * the `now` it was given, so each keeps at least a minute for its own SMTP conversation.
 */
const BATCH_BUDGET_MS = MINUTE;
const MAX_ERROR = 2000;
const MAX_LIST = 500;
const SYSTEM = { userId: null, via: 'system' as const };

const bounded = (s: string): string => (s.length > MAX_ERROR ? `${s.slice(0, MAX_ERROR - 1)}…` : s);

/**
 * Report email goes through here: `enqueue` only writes rows, so a render never waits for a
 * mail server; `deliverDue`, run by every server, claims due sends one at a time and sends
 * them, retrying transient failures with backoff. Each recipient gets a message of their own.
 */
export class MailOutbox {
  constructor(
    private readonly repo: EmailRepo,
    private readonly settings: MailSettingsService,
    private readonly mailer: Mailer,
    private readonly audit: AuditLog,
    private readonly logger: Logger,
  ) {}

  /** Queues one message for each distinct recipient. Without mail settings the sends are recorded as failed. */
  async enqueue(req: EnqueueRequest, now: Date): Promise<{ messageId: number | null; sendIds: number[] }> {
    const seen = new Set<string>();
    const recipients = req.recipients.filter((r) => {
      const key = r.address.trim().toLowerCase();
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
    if (recipients.length === 0) return { messageId: null, sendIds: [] };
    const configured = (await this.settings.get()) !== null;
    const sends: NewEmailSend[] = recipients.map((r) => {
      const address = r.address.trim();
      const problem = !configured ? MAIL_NOT_CONFIGURED : isEmailAddress(address) ? null : 'The recipient is not an email address.';
      return {
        recipient: address.slice(0, 320),
        userId: r.userId ?? null,
        status: problem ? 'failed' : 'pending',
        attempts: 0,
        nextAttemptTime: now,
        lastError: problem,
        sentTime: null,
      };
    });
    const created = await this.repo.create(
      { kind: req.kind, contentId: req.contentId ?? null, variantId: req.variantId ?? null, renderingId: req.renderingId ?? null, message: req.message },
      sends,
      now,
    );
    for (const [i, s] of sends.entries()) {
      if (s.status === 'failed') await this.record(created.sendIds[i]!, created.messageId, req.kind, s.recipient, s.status, 0, s.lastError);
    }
    return created;
  }

  /**
   * Sends what is due at `now` on behalf of `serverId`. Each send is claimed just before it
   * goes, so servers draining the queue together never send one twice. When the SMTP server
   * cannot be reached the batch stops: the others would fail the same way, and stay pending.
   */
  async deliverDue(now: Date, serverId: string, limit = 50): Promise<DeliveryReport> {
    const report: DeliveryReport = { sent: 0, retried: 0, failed: 0 };
    const started = performance.now();
    const claimUntil = new Date(now.getTime() + CLAIM_MS);
    for (const id of await this.repo.due(now, limit)) {
      if (performance.now() - started > BATCH_BUDGET_MS) break;
      if (!(await this.repo.claim(id, serverId, now, claimUntil))) continue;
      const send = await this.repo.claimed(id);
      if (!send) continue;
      const { outcome, unavailable } = await this.attempt(send, now);
      await this.repo.finish(id, serverId, outcome);
      await this.record(id, send.messageId, send.kind, send.recipient, outcome.status, outcome.attempts, outcome.lastError);
      report[outcome.status === 'sent' ? 'sent' : outcome.status === 'failed' ? 'failed' : 'retried'] += 1;
      if (unavailable) break;
    }
    return report;
  }

  /** Sends at once (the administrator's test message) and records it; throws the MailSendError on failure. */
  async sendNow(req: { kind: MailKind; message: OutgoingMessage; recipient: MailRecipient }, now: Date): Promise<MailSent> {
    const address = req.recipient.address.trim();
    let sent: MailSent | undefined;
    let error: unknown;
    try {
      sent = await this.mailer.send(req.message, address);
    } catch (err) {
      error = err;
    }
    const lastError = error === undefined ? null : bounded(error instanceof Error ? error.message : String(error));
    const status: SendStatus = sent ? 'sent' : 'failed';
    const { messageId, sendIds } = await this.repo.create(
      { kind: req.kind, contentId: null, variantId: null, renderingId: null, message: req.message },
      [
        {
          recipient: address.slice(0, 320),
          userId: req.recipient.userId ?? null,
          status,
          attempts: 1,
          nextAttemptTime: now,
          lastError,
          sentTime: sent ? now : null,
        },
      ],
      now,
    );
    await this.record(sendIds[0]!, messageId, req.kind, address, status, 1, lastError);
    if (!sent) throw error;
    return sent;
  }

  /** The send history, newest first. */
  sends(filter: { contentId?: number | undefined; limit: number }): Promise<EmailSendRecord[]> {
    return this.repo.list({ contentId: filter.contentId, limit: Math.max(1, Math.min(MAX_LIST, Math.floor(filter.limit) || 1)) });
  }

  private async attempt(send: ClaimedSend, at: Date): Promise<{ outcome: SendOutcome; unavailable: boolean }> {
    const attempts = send.attempts + 1;
    try {
      await this.mailer.send(send.message, send.recipient);
      return { outcome: { status: 'sent', attempts, nextAttemptTime: at, lastError: null, sentTime: at }, unavailable: false };
    } catch (err) {
      // Anything but a MailSendError (the database, a bug) is worth another try later.
      const e = err instanceof MailSendError ? err : new MailSendError(err instanceof Error ? err.message : String(err), false, false);
      const lastError = bounded(e.message);
      const wait = BACKOFF_MS[attempts - 1];
      if (e.permanent || attempts >= MAX_ATTEMPTS || wait === undefined) {
        return { outcome: { status: 'failed', attempts, nextAttemptTime: at, lastError, sentTime: null }, unavailable: e.serverUnavailable };
      }
      const next = new Date(at.getTime() + wait);
      return { outcome: { status: 'pending', attempts, nextAttemptTime: next, lastError, sentTime: null }, unavailable: e.serverUnavailable };
    }
  }

  private async record(sendId: number, messageId: number, kind: MailKind, recipient: string, status: SendStatus, attempts: number, error: string | null) {
    await this.audit.record(SYSTEM, 'email.send', { type: 'email_send', id: String(sendId) }, { messageId, kind, recipient, status, attempts, error });
    const fields = { sendId, messageId, kind, status, attempts, error };
    if (status === 'sent') this.logger.info(fields, 'email sent');
    else this.logger.warn(fields, status === 'pending' ? 'email not sent; will try again' : 'email not sent');
  }
}
