import { z } from 'zod';
import { body, flag, images, MAX_EMAILS, pathList, recipients, subject } from './email-metadata-fields.ts';

/**
 * One email a rendering asks to send (connect-api-next.md §4.5). An absent subject or body means
 * the default: the content's name, and a generated body linking to the report.
 */
export type ReportEmail = {
  subject?: string;
  bodyHtml?: string;
  bodyText?: string;
  images: { cid: string; content: Buffer }[];
  /** Paths relative to the rendering's output directory, checked not to leave it. */
  attachments: string[];
  suppressScheduled: boolean;
  /** Attach the rendered report document itself. */
  attachReport: boolean;
  /** Quarto v2 only: addresses the document chose; absent means the schedule's subscribers. */
  recipients?: string[];
};

export type EmailMetadataResult = { ok: true; emails: ReportEmail[]; outputFiles: string[] } | { ok: false; problem: string };

// Unknown keys are ignored (zod's default strips them): rmd_output_metadata carries whatever
// else the document put there.
const v1 = z
  .object({
    rsc_email_subject: subject.optional(),
    rsc_email_body_html: body.optional(),
    rsc_email_body_text: body.optional(),
    rsc_email_images: images.optional(),
    rsc_email_attachments: pathList.optional(),
    rsc_output_files: pathList.optional(),
    rsc_email_suppress_scheduled: flag.optional(),
    rsc_email_suppress_report_attachment: flag.optional(),
  })
  .transform((m) => ({
    outputFiles: m.rsc_output_files ?? [],
    emails: [
      withoutUndefined({
        subject: m.rsc_email_subject,
        bodyHtml: m.rsc_email_body_html,
        bodyText: m.rsc_email_body_text,
        images: m.rsc_email_images ?? [],
        attachments: m.rsc_email_attachments ?? [],
        suppressScheduled: m.rsc_email_suppress_scheduled ?? false,
        // Connect attaches the report unless told not to (ymlthis: "Default is TRUE").
        attachReport: !(m.rsc_email_suppress_report_attachment ?? false),
      }),
    ],
  }));

const v2Email = z
  .object({
    subject: subject.optional(),
    body_html: body.optional(),
    body_text: body.optional(),
    images: images.optional(),
    attachments: pathList.optional(),
    suppress_scheduled: flag.optional(),
    send_report_as_attachment: flag.optional(),
    recipients: recipients.optional(),
  })
  .transform((e) =>
    withoutUndefined({
      subject: e.subject,
      bodyHtml: e.body_html,
      bodyText: e.body_text,
      images: e.images ?? [],
      attachments: e.attachments ?? [],
      suppressScheduled: e.suppress_scheduled ?? false,
      // Quarto always writes false; absent is read the same way.
      attachReport: e.send_report_as_attachment ?? false,
      recipients: e.recipients,
    }),
  );

const v2 = z
  .object({
    rsc_email_version: z.literal(2),
    emails: z
      .array(v2Email, { error: 'must be a list of emails' })
      .min(1, 'must list at least one email')
      .max(MAX_EMAILS, `must list at most ${MAX_EMAILS} emails`),
    // Not written by Quarto in v2, but the same key may sit beside it in R Markdown metadata.
    rsc_output_files: pathList.optional(),
  })
  .transform((m) => ({ outputFiles: m.rsc_output_files ?? [], emails: m.emails }));

/**
 * Reads a rendering's output metadata (R Markdown's `rmd_output_metadata` as JSON, or Quarto's
 * `.output_metadata.json`, v1 or v2). No metadata (null, `{}`) gives one default email.
 */
export const parseEmailMetadata = (json: unknown): EmailMetadataResult => {
  if (json === null || json === undefined) return parseEmailMetadata({});
  if (typeof json !== 'object' || Array.isArray(json)) return { ok: false, problem: 'email metadata must be a JSON object' };
  const version = (json as Record<string, unknown>)['rsc_email_version'];
  if (version !== undefined && version !== 1 && version !== 2) return { ok: false, problem: 'rsc_email_version must be 1 or 2' };
  const parsed = version === 2 ? v2.safeParse(json) : v1.safeParse(json);
  if (parsed.success) return { ok: true, ...parsed.data };
  const issue = parsed.error.issues[0];
  const where = issue?.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('') ?? '';
  return { ok: false, problem: `${where.replace(/^\./, '')} ${issue?.message ?? 'is invalid'}`.trim() };
};

/** Drops undefined members so that optional fields are absent, not present-and-undefined. */
const withoutUndefined = <T extends object>(o: T): T => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
