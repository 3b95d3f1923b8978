import type { Knex } from 'knex';
import { toDate, toDateOrNull, toJson } from '../db/values.ts';
import type { EmailSendRecord, MailKind, OutgoingMessage, SendStatus } from '../domain/mail.ts';

export interface NewEmailMessage {
  kind: MailKind;
  contentId: number | null;
  variantId: number | null;
  renderingId: number | null;
  message: OutgoingMessage;
}

export interface NewEmailSend {
  recipient: string;
  userId: number | null;
  status: SendStatus;
  attempts: number;
  nextAttemptTime: Date;
  lastError: string | null;
  sentTime: Date | null;
}

/** A send this server has claimed, with the message to send. */
export interface ClaimedSend {
  id: number;
  messageId: number;
  kind: MailKind;
  recipient: string;
  userId: number | null;
  attempts: number;
  message: OutgoingMessage;
}

/** How a claimed send ended: `pending` again (a retry later), `sent` or `failed`. */
export interface SendOutcome {
  status: SendStatus;
  attempts: number;
  nextAttemptTime: Date;
  lastError: string | null;
  sentTime: Date | null;
}

interface SendRow {
  id: number | string;
  message_id: number | string;
  kind: string;
  content_id: number | string | null;
  variant_id: number | string | null;
  rendering_id: number | string | null;
  recipient: string;
  user_id: number | string | null;
  status: string;
  attempts: number | string;
  last_error: string | null;
  created_time: unknown;
  next_attempt_time: unknown;
  sent_time: unknown;
  head?: string;
  message_json?: string;
}

const idOrNull = (v: number | string | null): number | null => (v === null ? null : Number(v));

/**
 * The subject is written first so that a listing can read it from the head of message_json
 * (substr below) without loading inline images and bodies of up to 25 MB per row.
 */
const encode = (m: OutgoingMessage): string => JSON.stringify({ subject: m.subject, text: m.text, html: m.html, attachments: m.attachments, images: m.images });

// A subject is at most 998 characters; JSON escapes (\u0001) can make that six times longer.
const HEAD_CHARS = 8000;
const subjectOf = (head: string | undefined): string => {
  const m = /^\{"subject":("(?:[^"\\]|\\.)*")/.exec(head ?? '');
  return m ? (JSON.parse(m[1]!) as string) : '';
};

/** email_messages (what was queued) and email_sends (one row per recipient, and its fate). */
export class EmailRepo {
  constructor(private readonly knex: Knex) {}

  async create(m: NewEmailMessage, sends: NewEmailSend[], now: Date): Promise<{ messageId: number; sendIds: number[] }> {
    return this.knex.transaction(async (trx) => {
      const [msg] = (await trx('email_messages')
        .insert({
          kind: m.kind,
          content_id: m.contentId,
          variant_id: m.variantId,
          rendering_id: m.renderingId,
          message_json: encode(m.message),
          created_time: now,
        })
        .returning('id')) as Array<{ id: number | string }>;
      const messageId = Number(msg!.id);
      const sendIds: number[] = [];
      for (const s of sends) {
        const [row] = (await trx('email_sends')
          .insert({
            message_id: messageId,
            recipient: s.recipient,
            user_id: s.userId,
            status: s.status,
            attempts: s.attempts,
            next_attempt_time: s.nextAttemptTime,
            last_error: s.lastError,
            created_time: now,
            sent_time: s.sentTime,
          })
          .returning('id')) as Array<{ id: number | string }>;
        sendIds.push(Number(row!.id));
      }
      return { messageId, sendIds };
    });
  }

  /** Pending sends whose time has come and that no live claim holds, oldest first. */
  async due(now: Date, limit: number): Promise<number[]> {
    const rows = (await this.knex('email_sends')
      .select('id')
      .where('status', 'pending')
      .andWhere('next_attempt_time', '<=', now)
      .andWhere((q) => q.whereNull('claimed_until').orWhere('claimed_until', '<', now))
      .orderBy([{ column: 'next_attempt_time' }, { column: 'id' }])
      .limit(limit)) as Array<{ id: number | string }>;
    return rows.map((r) => Number(r.id));
  }

  /**
   * Takes a send for `serverId` until `until`. One conditional UPDATE: of two servers racing for
   * a row, the database lets exactly one change it, and only that one sends it. The send must
   * still be due, so a row another server has just tried and rescheduled is left alone.
   */
  async claim(id: number, serverId: string, now: Date, until: Date): Promise<boolean> {
    const changed = await this.knex('email_sends')
      .where('id', id)
      .andWhere('status', 'pending')
      .andWhere('next_attempt_time', '<=', now)
      .andWhere((q) => q.whereNull('claimed_until').orWhere('claimed_until', '<', now))
      .update({ claimed_by: serverId, claimed_until: until });
    return changed === 1;
  }

  async claimed(id: number): Promise<ClaimedSend | undefined> {
    const r = (await this.knex('email_sends as s')
      .join('email_messages as m', 'm.id', 's.message_id')
      .select('s.id', 's.message_id', 'm.kind', 's.recipient', 's.user_id', 's.attempts', 'm.message_json')
      .where('s.id', id)
      .first()) as SendRow | undefined;
    if (!r) return undefined;
    return {
      id: Number(r.id),
      messageId: Number(r.message_id),
      kind: r.kind as MailKind,
      recipient: r.recipient,
      userId: idOrNull(r.user_id),
      attempts: Number(r.attempts),
      message: toJson<OutgoingMessage>(r.message_json, { subject: '', text: '', attachments: [], images: [] }),
    };
  }

  /** Records how a claimed send ended and releases the claim. */
  async finish(id: number, serverId: string, o: SendOutcome): Promise<void> {
    await this.knex('email_sends').where({ id, claimed_by: serverId }).update({
      status: o.status,
      attempts: o.attempts,
      next_attempt_time: o.nextAttemptTime,
      last_error: o.lastError,
      sent_time: o.sentTime,
      claimed_by: null,
      claimed_until: null,
    });
  }

  /** Newest first. */
  async list(filter: { contentId?: number | undefined; limit: number }): Promise<EmailSendRecord[]> {
    const rows = (await this.knex('email_sends as s')
      .join('email_messages as m', 'm.id', 's.message_id')
      .select(
        's.id',
        's.message_id',
        'm.kind',
        'm.content_id',
        'm.variant_id',
        'm.rendering_id',
        's.recipient',
        's.user_id',
        's.status',
        's.attempts',
        's.last_error',
        's.created_time',
        's.next_attempt_time',
        's.sent_time',
        this.knex.raw('substr(m.message_json, 1, ?) as head', [HEAD_CHARS]),
      )
      .modify((q) => {
        if (filter.contentId !== undefined) q.where('m.content_id', filter.contentId);
      })
      .orderBy('s.id', 'desc')
      .limit(filter.limit)) as SendRow[];
    return rows.map((r) => ({
      id: Number(r.id),
      messageId: Number(r.message_id),
      kind: r.kind as MailKind,
      contentId: idOrNull(r.content_id),
      variantId: idOrNull(r.variant_id),
      renderingId: idOrNull(r.rendering_id),
      recipient: r.recipient,
      userId: idOrNull(r.user_id),
      subject: subjectOf(r.head),
      status: r.status as SendStatus,
      attempts: Number(r.attempts),
      lastError: r.last_error,
      createdTime: toDate(r.created_time),
      nextAttemptTime: toDate(r.next_attempt_time),
      sentTime: toDateOrNull(r.sent_time),
    }));
  }
}
