import { describe, expect, it } from 'vitest';
import {
  MAX_ATTACHMENTS,
  MAX_BODY_LENGTH,
  MAX_EMAILS,
  MAX_IMAGE_BYTES,
  MAX_RECIPIENTS,
  MAX_SUBJECT_LENGTH,
} from '../../src/domain/report-email/email-metadata-fields.ts';
import { parseEmailMetadata, type ReportEmail } from '../../src/domain/report-email/email-metadata.ts';

// The first bytes of a PNG stand in for an image.
const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]);
const png64 = png.toString('base64');

const defaultEmail: ReportEmail = { images: [], attachments: [], suppressScheduled: false, attachReport: true };

const ok = (json: unknown) => {
  const r = parseEmailMetadata(json);
  if (!r.ok) throw new Error(r.problem);
  return r;
};
const problem = (json: unknown) => {
  const r = parseEmailMetadata(json);
  if (r.ok) throw new Error('expected a refusal');
  return r.problem;
};

describe('parseEmailMetadata: accepted forms', () => {
  it.each([
    ['null', null],
    ['undefined', undefined],
    ['{}', {}],
  ])('%s means the default email', (_, json) => {
    expect(ok(json)).toEqual({ ok: true, emails: [defaultEmail], outputFiles: [] });
  });

  it('blastula attach_connect_email(), jsonlite auto_unbox: single attachment as a string', () => {
    const json = JSON.parse(`{
      "rsc_email_body_html": "<!doctype html><html><body><img src=\\"cid:plot.png\\"></body></html>",
      "rsc_email_images": {"plot.png": "${png64}"},
      "rsc_email_body_text": "Sales are up.",
      "rsc_email_subject": "Weekly sales",
      "rsc_email_attachments": "data/sales.csv",
      "rsc_email_suppress_report_attachment": true
    }`);
    expect(ok(json)).toEqual({
      ok: true,
      outputFiles: [],
      emails: [
        {
          subject: 'Weekly sales',
          bodyHtml: '<!doctype html><html><body><img src="cid:plot.png"></body></html>',
          bodyText: 'Sales are up.',
          images: [{ cid: 'plot.png', content: png }],
          attachments: ['data/sales.csv'],
          suppressScheduled: false,
          attachReport: false,
        },
      ],
    });
  });

  it('blastula with no images writes an empty list, and suppress_scheduled_email()', () => {
    const r = ok({ rsc_email_body_html: '<p>hi</p>', rsc_email_images: [], rsc_email_suppress_report_attachment: false, rsc_email_suppress_scheduled: true });
    expect(r.emails[0]).toMatchObject({ images: [], attachReport: true, suppressScheduled: true });
  });

  it('ymlthis front matter, with other rmd_output_metadata keys ignored', () => {
    const r = ok({ rsc_email_subject: 'CSV Data Report', rsc_email_attachments: ['df.csv'], rsc_output_files: ['df.csv', 'plots/a.png'], my_own_key: 42 });
    expect(r).toEqual({ ok: true, outputFiles: ['df.csv', 'plots/a.png'], emails: [{ ...defaultEmail, subject: 'CSV Data Report', attachments: ['df.csv'] }] });
  });

  it('a single output file and an empty R list ({}) of attachments', () => {
    const r = ok({ rsc_output_files: 'report.xlsx', rsc_email_attachments: {} });
    expect(r.outputFiles).toEqual(['report.xlsx']);
    expect(r.emails[0]?.attachments).toEqual([]);
  });

  // jsonlite's auto_unbox makes R's one-element vectors scalars: every list field takes a bare string as a list of one.
  it.each<[string, unknown, (r: ReturnType<typeof ok>) => unknown, unknown]>([
    ['v1 attachments', { rsc_email_attachments: 'data.csv' }, (r) => r.emails[0]?.attachments, ['data.csv']],
    ['v1 output files', { rsc_output_files: 'out/data.csv' }, (r) => r.outputFiles, ['out/data.csv']],
    ['v2 attachments', { rsc_email_version: 2, emails: [{ attachments: 'a.xlsx' }] }, (r) => r.emails[0]?.attachments, ['a.xlsx']],
    ['v2 recipients', { rsc_email_version: 2, emails: [{ recipients: 'ops@example.com' }] }, (r) => r.emails[0]?.recipients, ['ops@example.com']],
    ['v2 output files', { rsc_email_version: 2, emails: [{}], rsc_output_files: 'x.csv' }, (r) => r.outputFiles, ['x.csv']],
    ['v2 recipients as an empty R list', { rsc_email_version: 2, emails: [{ recipients: {} }] }, (r) => r.emails[0]?.recipients, []],
  ])('a single string as a one-element list: %s', (_, json, field, expected) => {
    expect(field(ok(json))).toEqual(expected);
  });

  it('a single string is still checked as a path or an address', () => {
    expect(problem({ rsc_email_attachments: '/etc/passwd' })).toContain('rsc_email_attachments[0] must be a relative path');
    expect(problem({ rsc_output_files: '../x' })).toContain('rsc_output_files[0] must be a relative path');
    expect(problem({ rsc_email_version: 2, emails: [{ recipients: 'not an address' }] })).toContain('emails[0].recipients[0] must be an email address');
  });

  it('Quarto v1 .output_metadata.json', () => {
    const r = ok({
      rsc_email_subject: 'Penguins',
      rsc_email_attachments: ['./penguins.csv'],
      rsc_email_body_html: '<p><img src="cid:img1.png"></p>',
      rsc_email_body_text: 'See the chart.',
      rsc_email_images: { 'img1.png': png64.replace(/(.{4})/g, '$1\n') },
      rsc_email_suppress_report_attachment: true,
      rsc_email_suppress_scheduled: false,
    });
    expect(r.emails).toEqual([
      {
        subject: 'Penguins',
        bodyHtml: '<p><img src="cid:img1.png"></p>',
        bodyText: 'See the chart.',
        images: [{ cid: 'img1.png', content: png }],
        attachments: ['./penguins.csv'],
        suppressScheduled: false,
        attachReport: false,
      },
    ]);
  });

  it('Quarto v2 with several emails, recipients and images', () => {
    const r = ok({
      rsc_email_version: 2,
      emails: [
        {
          email_id: 1,
          subject: 'Alert: low stock',
          body_html: '<p>Low <img src="cid:img1.png"></p>',
          body_text: 'Low stock',
          attachments: ['stock.csv'],
          suppress_scheduled: false,
          send_report_as_attachment: false,
          recipients: ['ops@example.com', 'lead@example.org'],
          images: { 'img1.png': png64 },
        },
        { email_id: 2, subject: 'All fine', body_html: '<p>ok</p>', attachments: [], suppress_scheduled: true, send_report_as_attachment: true },
      ],
    });
    expect(r.emails).toEqual([
      {
        subject: 'Alert: low stock',
        bodyHtml: '<p>Low <img src="cid:img1.png"></p>',
        bodyText: 'Low stock',
        images: [{ cid: 'img1.png', content: png }],
        attachments: ['stock.csv'],
        suppressScheduled: false,
        attachReport: false,
        recipients: ['ops@example.com', 'lead@example.org'],
      },
      { subject: 'All fine', bodyHtml: '<p>ok</p>', images: [], attachments: [], suppressScheduled: true, attachReport: true },
    ]);
  });

  it('v2 defaults: no report attachment, not suppressed', () => {
    expect(ok({ rsc_email_version: 2, emails: [{ email_id: 1 }] }).emails).toEqual([
      { images: [], attachments: [], suppressScheduled: false, attachReport: false },
    ]);
  });

  it('accepts the bounds themselves', () => {
    const files = Array.from({ length: MAX_ATTACHMENTS }, (_, i) => `f${i}.csv`);
    const r = ok({ rsc_email_subject: 's'.repeat(MAX_SUBJECT_LENGTH), rsc_email_attachments: files });
    expect(r.emails[0]?.attachments).toHaveLength(MAX_ATTACHMENTS);
    const emails = Array.from({ length: MAX_EMAILS }, (_, i) => ({ email_id: i + 1 }));
    expect(ok({ rsc_email_version: 2, emails }).emails).toHaveLength(MAX_EMAILS);
  });
});

describe('parseEmailMetadata: refusals name the field', () => {
  const big = Buffer.alloc(MAX_IMAGE_BYTES / 2 + 1).toString('base64');
  it.each<[string, unknown, string]>([
    ['not an object', 'hello', 'email metadata must be a JSON object'],
    ['an array', [], 'email metadata must be a JSON object'],
    ['an unknown version', { rsc_email_version: 3 }, 'rsc_email_version must be 1 or 2'],
    ['a non-string subject', { rsc_email_subject: 5 }, 'rsc_email_subject must be a string'],
    ['a long subject', { rsc_email_subject: 's'.repeat(MAX_SUBJECT_LENGTH + 1) }, `rsc_email_subject must be at most ${MAX_SUBJECT_LENGTH} characters`],
    ['a subject with a line break', { rsc_email_subject: 'a\r\nBcc: x@y.z' }, 'rsc_email_subject must be one line'],
    ['a non-string body', { rsc_email_body_html: ['<p>'] }, 'rsc_email_body_html must be a string'],
    ['a huge body', { rsc_email_body_text: 'x'.repeat(MAX_BODY_LENGTH + 1) }, `rsc_email_body_text must be at most ${MAX_BODY_LENGTH} characters`],
    ['invalid base64', { rsc_email_images: { 'plot.png': 'not base64!' } }, 'rsc_email_images image "plot.png" is not valid base64'],
    ['truncated base64', { rsc_email_images: { 'a.png': png64.slice(0, -1) } }, 'image "a.png" is not valid base64'],
    ['an empty image', { rsc_email_images: { 'a.png': '' } }, 'image "a.png" is not valid base64'],
    ['a non-string image', { rsc_email_images: { 'a.png': 7 } }, 'image "a.png" is not valid base64'],
    ['a bad content id', { rsc_email_images: { 'a b>': png64 } }, 'rsc_email_images has an invalid content id "a b>"'],
    ['images not an object', { rsc_email_images: 'abc' }, 'rsc_email_images must be an object'],
    ['images too big in total', { rsc_email_images: { a: big, b: big } }, `rsc_email_images images total more than ${MAX_IMAGE_BYTES} bytes`],
    ['an absolute attachment', { rsc_email_attachments: ['/etc/passwd'] }, 'rsc_email_attachments[0] must be a relative path inside the output directory'],
    ['a Windows absolute attachment', { rsc_email_attachments: ['ok.csv', 'C:\\x.csv'] }, 'rsc_email_attachments[1] must be a relative path'],
    ['a UNC attachment', { rsc_email_attachments: ['\\\\server\\share'] }, 'rsc_email_attachments[0] must be a relative path'],
    ['a .. attachment', { rsc_email_attachments: 'data/../../secret' }, 'rsc_email_attachments[0] must be a relative path'],
    ['a backslash .. attachment', { rsc_email_attachments: ['..\\secret'] }, 'rsc_email_attachments[0] must be a relative path'],
    ['a NUL attachment', { rsc_email_attachments: ['a\0.csv'] }, 'rsc_email_attachments[0] must be a relative path'],
    ['an empty attachment', { rsc_email_attachments: [''] }, 'rsc_email_attachments[0] must be a relative path'],
    ['a non-string attachment', { rsc_email_attachments: [1] }, 'rsc_email_attachments[0] must be a file path'],
    ['attachments as a number', { rsc_email_attachments: 1 }, 'rsc_email_attachments must be a list of file paths'],
    [
      'too many attachments',
      { rsc_email_attachments: Array.from({ length: MAX_ATTACHMENTS + 1 }, () => 'a') },
      `rsc_email_attachments must list at most ${MAX_ATTACHMENTS} files`,
    ],
    ['a .. output file', { rsc_output_files: ['../x'] }, 'rsc_output_files[0] must be a relative path'],
    ['a non-boolean suppress', { rsc_email_suppress_scheduled: 'yes' }, 'rsc_email_suppress_scheduled must be true or false'],
    ['a non-boolean suppress attachment', { rsc_email_suppress_report_attachment: 1 }, 'rsc_email_suppress_report_attachment must be true or false'],
    ['v2 without emails', { rsc_email_version: 2 }, 'emails must be a list of emails'],
    ['v2 with no emails', { rsc_email_version: 2, emails: [] }, 'emails must list at least one email'],
    [
      'v2 with too many emails',
      { rsc_email_version: 2, emails: Array.from({ length: MAX_EMAILS + 1 }, () => ({})) },
      `emails must list at most ${MAX_EMAILS} emails`,
    ],
    ['v2 email not an object', { rsc_email_version: 2, emails: ['x'] }, 'emails[0]'],
    ['v2 bad attachment', { rsc_email_version: 2, emails: [{}, { attachments: ['/x'] }] }, 'emails[1].attachments[0] must be a relative path'],
    ['v2 bad image', { rsc_email_version: 2, emails: [{ images: { 'img1.png': '!!' } }] }, 'emails[0].images image "img1.png" is not valid base64'],
    ['v2 bad recipient', { rsc_email_version: 2, emails: [{ recipients: ['not an address'] }] }, 'emails[0].recipients[0] must be an email address'],
    [
      'v2 too many recipients',
      { rsc_email_version: 2, emails: [{ recipients: Array.from({ length: MAX_RECIPIENTS + 1 }, (_, i) => `u${i}@x.org`) }] },
      `emails[0].recipients must list at most ${MAX_RECIPIENTS}`,
    ],
    [
      'v2 non-boolean flag',
      { rsc_email_version: 2, emails: [{ send_report_as_attachment: 'false' }] },
      'emails[0].send_report_as_attachment must be true or false',
    ],
    ['v2 long subject', { rsc_email_version: 2, emails: [{ subject: 'x'.repeat(MAX_SUBJECT_LENGTH + 1) }] }, 'emails[0].subject must be at most'],
  ])('%s', (_, json, expected) => {
    expect(problem(json)).toContain(expected);
  });
});
