import { z } from 'zod';

// Bounds on what a rendered document may ask the scheduler to send. The document is user code, so
// its metadata is untrusted input; these caps keep one report from making the email step build
// huge messages or loop over thousands of entries.

/** Emails in one v2 document: Quarto writes one per `.email` div; a real report has a handful. */
export const MAX_EMAILS = 100;
/** Attachments (and output files) per list: far above any real report, small enough to check cheaply. */
export const MAX_ATTACHMENTS = 100;
/** Recipients named by one v2 email: more than this is a mailing list, not a report's choice. */
export const MAX_RECIPIENTS = 100;
/** RFC 5322 §2.1.1: a header line must not exceed 998 characters. */
export const MAX_SUBJECT_LENGTH = 998;
/** Common providers (Gmail, Outlook) refuse messages over about 25 MB, so larger images cannot be sent. */
export const MAX_IMAGE_BYTES = 25 * 1024 * 1024;
/** A body bigger than the whole message limit could never be sent either. */
export const MAX_BODY_LENGTH = 25 * 1024 * 1024;

/**
 * R's jsonlite writes an empty list or NULL as `{}` or `[]`, and with auto_unbox a one-element
 * character vector as a bare string; all three mean a list here.
 */
const asList = (v: unknown): unknown => {
  if (typeof v === 'string') return [v];
  if (v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 0) return [];
  return v;
};

/** True when `p` names a file inside the output directory: relative, no `..`, no NUL. */
const staysInside = (p: string): boolean => {
  if (p === '' || p.includes('\0')) return false;
  // Windows forms too (C:\, \\server): a document written on Windows may use them.
  if (p.startsWith('/') || p.startsWith('\\') || /^[A-Za-z]:/.test(p)) return false;
  return !p.split(/[/\\]/).includes('..');
};

const relativePath = z
  .string({ error: 'must be a file path' })
  .refine(staysInside, 'must be a relative path inside the output directory (no absolute path, no "..", no NUL)');

export const pathList = z.preprocess(
  asList,
  z.array(relativePath, { error: 'must be a list of file paths' }).max(MAX_ATTACHMENTS, `must list at most ${MAX_ATTACHMENTS} files`),
);

export const subject = z
  .string({ error: 'must be a string' })
  .max(MAX_SUBJECT_LENGTH, `must be at most ${MAX_SUBJECT_LENGTH} characters`)
  // A line break in a header would let the document add headers of its own.
  .refine((s) => !/[\r\n\0]/.test(s), 'must be one line (no line breaks or NUL)');

export const body = z.string({ error: 'must be a string' }).max(MAX_BODY_LENGTH, `must be at most ${MAX_BODY_LENGTH} characters`);

export const flag = z.boolean({ error: 'must be true or false' });

export const recipients = z.preprocess(
  asList,
  z
    .array(z.string({ error: 'must be an email address' }).regex(/^[^\s@<>,;"]+@[^\s@<>,;"]+$/, 'must be an email address'), {
      error: 'must be a list of email addresses',
    })
    .max(MAX_RECIPIENTS, `must list at most ${MAX_RECIPIENTS} addresses`),
);

type Image = { cid: string; content: Buffer };

/**
 * Strict base64 (Buffer.from would silently skip bad characters); line breaks are tolerated.
 * With the length a multiple of 4, this allows exactly the valid paddings; it has no nested
 * repetition, as a grouped pattern overflows the stack on a multi-megabyte image.
 */
const isBase64 = (s: string): boolean => s.length % 4 === 0 && /^[A-Za-z0-9+/]*={0,2}$/.test(s);

// blastula passes `email$images`, an R list that is `[]` (or `{}`) when the email has none.
export const images = z.preprocess(
  (v) => (Array.isArray(v) && v.length === 0 ? {} : v),
  z.record(z.string(), z.unknown(), { error: 'must be an object of {content id: base64 image}' }).transform((record, ctx): Image[] => {
    const out: Image[] = [];
    let total = 0;
    for (const [cid, value] of Object.entries(record)) {
      // The cid goes into a Content-ID header: a break or bracket there would corrupt the message.
      if (cid === '' || /[\s<>\0]/.test(cid)) {
        ctx.addIssue({ code: 'custom', message: `has an invalid content id ${JSON.stringify(cid)}` });
        return z.NEVER;
      }
      const text = typeof value === 'string' ? value.replace(/\s+/g, '') : undefined;
      if (text === undefined || text === '' || !isBase64(text)) {
        ctx.addIssue({ code: 'custom', message: `image "${cid}" is not valid base64` });
        return z.NEVER;
      }
      const content = Buffer.from(text, 'base64');
      total += content.length;
      if (total > MAX_IMAGE_BYTES) {
        ctx.addIssue({ code: 'custom', message: `images total more than ${MAX_IMAGE_BYTES} bytes` });
        return z.NEVER;
      }
      out.push({ cid, content });
    }
    return out;
  }),
);
