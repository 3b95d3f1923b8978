import { lstat } from 'node:fs/promises';
import path from 'node:path';
import nodemailer from 'nodemailer';
import type SMTPTransport from 'nodemailer/lib/smtp-transport';
import { isEmailAddress, MAIL_NOT_CONFIGURED, type MailServer, type OutgoingMessage } from '../../domain/mail.ts';
import type { MailSettingsService } from './mail-settings-service.ts';

/** What the SMTP server said when it took a message. */
export interface MailSent {
  messageId: string;
  response: string;
}

/**
 * A send that did not go. `permanent`: sending it again cannot help (the server refused it with
 * a 5xx reply, an attachment is gone). `serverUnavailable`: no usable SMTP session came about
 * (down, unreachable, TLS, credentials), so every other message would fail the same way now.
 */
export class MailSendError extends Error {
  constructor(
    message: string,
    readonly permanent: boolean,
    readonly serverUnavailable: boolean,
  ) {
    super(message);
    this.name = 'MailSendError';
  }
}

// Long enough for a slow relay, short enough that a dead one does not hold a sender for minutes.
const CONNECTION_TIMEOUT_MS = 15_000;
const GREETING_TIMEOUT_MS = 15_000;
const SOCKET_TIMEOUT_MS = 30_000;

interface SmtpError {
  code?: string;
  responseCode?: number;
  response?: string;
  message?: string;
}

// Errors reading an attachment from disk: the file went away or cannot be read.
const FILE_ERRORS = new Set(['ENOENT', 'EACCES', 'EISDIR', 'ENOTDIR', 'ELOOP']);
// nodemailer's own codes for a message it could not build or address.
const MESSAGE_ERRORS = new Set(['EENVELOPE', 'EMESSAGE', 'ESTREAM']);

/** Sorts a nodemailer failure into retry later, give up, or the server is not there. */
function classify(err: unknown): MailSendError {
  const e = (err ?? {}) as SmtpError;
  let message = e.message ?? String(err);
  if (e.response && !message.includes(e.response)) message = `${message}: ${e.response}`;
  const code = e.responseCode;
  // Credentials refused (535) are the server's configuration, not this message's fault: the
  // messages wait for an administrator to fix it, like for a server that is down.
  if (e.code === 'EAUTH') return new MailSendError(message, false, true);
  if (code !== undefined && code >= 500) return new MailSendError(message, true, false);
  if (code !== undefined && code >= 400) return new MailSendError(message, false, false);
  if (e.code && (FILE_ERRORS.has(e.code) || MESSAGE_ERRORS.has(e.code))) return new MailSendError(message, true, false);
  // ECONNECTION, ETIMEDOUT, ESOCKET, EDNS, ETLS, ...: no SMTP conversation to speak of.
  return new MailSendError(message, false, true);
}

function transportOptions(s: MailServer): SMTPTransport.Options {
  return {
    host: s.host,
    port: s.port,
    secure: s.security === 'tls',
    requireTLS: s.security === 'starttls',
    ignoreTLS: s.security === 'none',
    tls: { rejectUnauthorized: !s.skipVerify },
    ...(s.username ? { auth: { user: s.username, pass: s.password ?? '' } } : {}),
    connectionTimeout: CONNECTION_TIMEOUT_MS,
    greetingTimeout: GREETING_TIMEOUT_MS,
    socketTimeout: SOCKET_TIMEOUT_MS,
    // A queued message names files by path; it must never make the server fetch a URL.
    disableUrlAccess: true,
  };
}

/**
 * A queued message's files may have gone since (a rendering pruned): that is final. Only
 * regular files by absolute path, as composed; a symbolic link put there since is refused too.
 */
async function attachmentsPresent(message: OutgoingMessage): Promise<void> {
  for (const a of message.attachments) {
    const st = path.isAbsolute(a.path) ? await lstat(a.path).catch(() => null) : null;
    if (!st?.isFile()) throw new MailSendError(`The attachment ${JSON.stringify(a.filename)} is no longer there.`, true, false);
  }
}

/** Sends one message to one address through the configured SMTP server, read afresh each time. */
export class Mailer {
  constructor(private readonly settings: MailSettingsService) {}

  async send(message: OutgoingMessage, to: string): Promise<MailSent> {
    if (!isEmailAddress(to)) throw new MailSendError(`${JSON.stringify(to.slice(0, 80))} is not an email address.`, true, false);
    const server = await this.settings.server().catch((err: unknown) => {
      // Settings that cannot be read now fail every message alike: they wait, and the batch stops.
      throw new MailSendError(err instanceof Error ? err.message : String(err), false, true);
    });
    if (!server) throw new MailSendError(MAIL_NOT_CONFIGURED, true, false);
    await attachmentsPresent(message);
    const transport = nodemailer.createTransport(transportOptions(server));
    try {
      const info = await transport.sendMail({
        from: server.fromName ? { name: server.fromName, address: server.fromAddress } : server.fromAddress,
        to,
        subject: message.subject,
        text: message.text,
        ...(message.html !== undefined ? { html: message.html } : {}),
        attachments: [
          // A cid puts the image in the multipart/related part beside the HTML.
          ...message.images.map((i) => ({
            cid: i.cid,
            content: Buffer.from(i.contentBase64, 'base64'),
            contentDisposition: 'inline' as const,
            ...(i.contentType ? { contentType: i.contentType } : {}),
          })),
          ...message.attachments.map((a) => ({ filename: a.filename, path: a.path })),
        ],
      });
      return { messageId: info.messageId, response: info.response };
    } catch (err) {
      throw classify(err);
    } finally {
      transport.close();
    }
  }
}
