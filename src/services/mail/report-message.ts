import { lstat, realpath } from 'node:fs/promises';
import path from 'node:path';
import type { OutgoingMessage } from '../../domain/mail.ts';
import { MAX_SUBJECT_LENGTH } from '../../domain/report-email/email-metadata-fields.ts';
import type { ReportEmail } from '../../domain/report-email/email-metadata.ts';

export interface ReportMessageInput {
  contentTitle: string;
  /** Where viewers read the report. */
  reportUrl: string;
  /** Where a recipient changes their subscription; mentioned in the default body. */
  subscriptionUrl?: string | undefined;
  /** The rendering's output directory (absolute). */
  outputDir: string;
  /** The rendered document, relative to outputDir. */
  outputFile: string;
  /** The document's emails (parseEmailMetadata); null: the default message. */
  emails: ReportEmail[] | null;
}

export interface ComposedReportMessage {
  message: OutgoingMessage;
  /** Quarto v2: addresses the document chose; absent: the variant's recipients. */
  recipients?: string[];
  suppressScheduled: boolean;
  /** What was left out and why (files missing or refused), for the render's log. */
  notes: string[];
}

/** Common providers refuse messages over about 25 MB: attachments past this in total are left out. */
const MAX_ATTACHMENT_BYTES = 25 * 1024 * 1024;
const MAX_LOG_LINES = 50;
const MAX_LOG_LINE = 200;
const MAX_FAILURE_ERROR = 2000;

/** A header value: one line, bounded. The title is the publisher's text. */
const headerText = (s: string): string => {
  const line = s.replace(/[\r\n\t\x00-\x1f\x7f]+/g, ' ').trim();
  return line.length > MAX_SUBJECT_LENGTH ? `${line.slice(0, MAX_SUBJECT_LENGTH - 1)}…` : line;
};

const cut = (s: string, max: number): string => (s.length > max ? `${s.slice(0, max - 1)}…` : s);

const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

function defaultText(title: string, reportUrl: string, subscriptionUrl: string | undefined): string {
  const lines = [`${title} has been updated.`, '', `Read it at ${reportUrl}`];
  if (subscriptionUrl) lines.push('', `To change which reports you receive: ${subscriptionUrl}`);
  return lines.join('\n') + '\n';
}

// By its first bytes: the metadata names images by content id, which need not say the type.
function imageType(b: Buffer): string | undefined {
  if (b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return 'image/png';
  if (b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'image/jpeg';
  if (b.subarray(0, 4).toString('latin1') === 'GIF8') return 'image/gif';
  if (b.subarray(0, 4).toString('latin1') === 'RIFF' && b.subarray(8, 12).toString('latin1') === 'WEBP') return 'image/webp';
  if (/^\s*(<\?xml[^>]*>\s*)?<svg[\s>]/.test(b.subarray(0, 512).toString('utf8'))) return 'image/svg+xml';
  return undefined;
}

/**
 * The absolute path of a file inside `root` (already a real path), or why not. The document
 * is user code: a path that leaves the directory, or goes through a symbolic link anywhere on
 * the way, is refused, so a report cannot mail the server's files.
 */
async function resolveInside(root: string, relative: string): Promise<{ path: string; size: number } | { problem: string }> {
  const candidate = path.resolve(root, relative);
  if (relative.includes('\0') || !candidate.startsWith(root + path.sep)) return { problem: 'is outside the output directory' };
  let st;
  try {
    st = await lstat(candidate);
  } catch {
    return { problem: 'does not exist' };
  }
  if (st.isSymbolicLink()) return { problem: 'is a symbolic link' };
  if (!st.isFile()) return { problem: 'is not a regular file' };
  // A link in a directory along the way: the real path differs from the one asked for.
  if ((await realpath(candidate)) !== candidate) return { problem: 'is reached through a symbolic link' };
  return { path: candidate, size: st.size };
}

interface AttachmentPlan {
  relative: string;
  /** The rendered document itself (named so in notes). */
  report: boolean;
}

async function attachments(root: string | null, plan: AttachmentPlan[], notes: string[]): Promise<OutgoingMessage['attachments']> {
  const out: OutgoingMessage['attachments'] = [];
  let total = 0;
  for (const p of plan) {
    const what = p.report ? `the rendered document ${JSON.stringify(p.relative)}` : `attachment ${JSON.stringify(p.relative)}`;
    if (root === null) {
      notes.push(`Not attached: ${what}: the output directory does not exist.`);
      continue;
    }
    const r = await resolveInside(root, p.relative);
    if ('problem' in r) {
      notes.push(`Not attached: ${what} ${r.problem}.`);
      continue;
    }
    if (total + r.size > MAX_ATTACHMENT_BYTES) {
      notes.push(`Not attached: ${what}: the attachments would pass ${MAX_ATTACHMENT_BYTES / 1024 / 1024} MB.`);
      continue;
    }
    total += r.size;
    out.push({ filename: path.basename(r.path), path: r.path });
  }
  return out;
}

/**
 * The messages a rendering sends (connect-api-next.md §4.5): with no metadata, one default
 * message (the title as subject, a link to the report, the document attached); otherwise one
 * per email the document defined.
 */
export async function composeReportMessages(input: ReportMessageInput): Promise<ComposedReportMessage[]> {
  const title = headerText(input.contentTitle) || 'Report';
  const text = defaultText(title, input.reportUrl, input.subscriptionUrl);
  const root = await realpath(input.outputDir).catch(() => null);
  const report: AttachmentPlan = { relative: input.outputFile, report: true };
  if (input.emails === null) {
    const notes: string[] = [];
    const files = await attachments(root, [report], notes);
    return [{ message: { subject: title, text, attachments: files, images: [] }, suppressScheduled: false, notes }];
  }
  const out: ComposedReportMessage[] = [];
  for (const e of input.emails) {
    const notes: string[] = [];
    const plan: AttachmentPlan[] = [...(e.attachReport ? [report] : []), ...e.attachments.map((relative) => ({ relative, report: false }))];
    const message: OutgoingMessage = {
      subject: e.subject !== undefined && headerText(e.subject) !== '' ? headerText(e.subject) : title,
      // An HTML-only email still gets a plain part for clients that show no HTML.
      text: e.bodyText ?? text,
      ...(e.bodyHtml !== undefined ? { html: e.bodyHtml } : {}),
      attachments: await attachments(root, plan, notes),
      images: e.images.map((i) => {
        const contentType = imageType(i.content);
        return { cid: i.cid, contentBase64: i.content.toString('base64'), ...(contentType ? { contentType } : {}) };
      }),
    };
    out.push({ message, ...(e.recipients ? { recipients: e.recipients } : {}), suppressScheduled: e.suppressScheduled, notes });
  }
  return out;
}

export interface FailureMessageInput {
  contentTitle: string;
  error: string;
  /** The render log's last lines; only the last 50 are kept, each cut at 200 characters. */
  logTail: string[];
  logUrl: string;
}

/** The notice to the content's collaborators that a scheduled render failed. */
export function composeFailureMessage(input: FailureMessageInput): OutgoingMessage {
  const title = headerText(input.contentTitle) || 'Report';
  const error = cut(input.error.trim() || 'unknown error', MAX_FAILURE_ERROR);
  const tail = input.logTail.slice(-MAX_LOG_LINES).map((l) => cut(l.replace(/[\r\n]+/g, ' '), MAX_LOG_LINE));
  const text = [
    `The scheduled render of ${title} failed.`,
    '',
    `Error: ${error}`,
    '',
    ...(tail.length ? [`The last ${tail.length} lines of the log:`, '', ...tail.map((l) => `  ${l}`), ''] : []),
    `The full log: ${input.logUrl}`,
    '',
  ].join('\n');
  const html = [
    `<p>The scheduled render of <strong>${escapeHtml(title)}</strong> failed.</p>`,
    `<p>Error: ${escapeHtml(error)}</p>`,
    ...(tail.length ? [`<p>The last ${tail.length} lines of the log:</p>`, `<pre>${tail.map(escapeHtml).join('\n')}</pre>`] : []),
    `<p><a href="${escapeHtml(input.logUrl)}">The full log</a></p>`,
  ].join('\n');
  return { subject: headerText(`Render failed: ${title}`), text, html, attachments: [], images: [] };
}

/** The administrator's test message (`lectern email test`). */
export function composeTestMessage(serverName: string, at: Date): OutgoingMessage {
  return {
    subject: 'Lectern test message',
    text: `This is a test message from Lectern (${headerText(serverName)}), sent at ${at.toISOString()}.\nIf you can read it, Lectern can send email.\n`,
    attachments: [],
    images: [],
  };
}
