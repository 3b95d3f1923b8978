/** Outgoing email: the server's SMTP settings, a message as queued, and the record of each send. */

export const MAIL_SECURITIES = ['tls', 'starttls', 'none'] as const;
/** `tls`: implicit TLS (usually port 465); `starttls`: plain connection upgraded, required; `none`: no encryption. */
export type MailSecurity = (typeof MAIL_SECURITIES)[number];

/** The administrator's SMTP server, as anyone may see it: the password only as whether one is set. */
export interface MailSettings {
  host: string;
  port: number;
  security: MailSecurity;
  username: string | null;
  hasPassword: boolean;
  fromAddress: string;
  fromName: string | null;
  /** Accept a certificate that does not verify (self-signed relays). */
  skipVerify: boolean;
}

/** The settings with the password in the clear: for the mailer's connection and nothing else. */
export interface MailServer extends Omit<MailSettings, 'hasPassword'> {
  password: string | null;
}

/** A message as queued: everything needed to send it again later, on any server. */
export interface OutgoingMessage {
  subject: string;
  text: string;
  html?: string;
  /** Absolute paths, read when the message is sent. */
  attachments: { filename: string; path: string }[];
  /** Inline images the HTML names as `cid:<cid>`. */
  images: { cid: string; contentBase64: string; contentType?: string }[];
}

export type MailKind = 'scheduled' | 'on-demand' | 'failure' | 'test';
export type SendStatus = 'pending' | 'sent' | 'failed';

/** One message to one recipient, as the send history lists it. */
export interface EmailSendRecord {
  id: number;
  messageId: number;
  kind: MailKind;
  contentId: number | null;
  variantId: number | null;
  renderingId: number | null;
  recipient: string;
  userId: number | null;
  subject: string;
  status: SendStatus;
  attempts: number;
  lastError: string | null;
  createdTime: Date;
  nextAttemptTime: Date;
  sentTime: Date | null;
}

/** The answer given when something would send mail and no SMTP server is configured. */
export const MAIL_NOT_CONFIGURED = 'Email is not configured on this server.';

const ADDRESS_PART = '[^\\s\\x00-\\x1f\\x7f@<>,;"()\\\\[\\]:]+';
const ADDRESS = new RegExp(`^${ADDRESS_PART}@${ADDRESS_PART}$`);
/**
 * One plain address, `local@domain`, nothing else: no display name, no list. An address goes
 * into headers and the SMTP envelope, so a comma, bracket or line break must never get through.
 */
export const isEmailAddress = (s: string): boolean => s.length <= 320 && ADDRESS.test(s);
