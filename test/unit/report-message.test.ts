import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseEmailMetadata, type ReportEmail } from '../../src/domain/report-email/email-metadata.ts';
import { composeFailureMessage, composeReportMessages, type ReportMessageInput } from '../../src/services/mail/report-message.ts';

const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]);

const emails = (json: unknown): ReportEmail[] => {
  const r = parseEmailMetadata(json);
  if (!r.ok) throw new Error(r.problem);
  return r.emails;
};

let base: string;
let out: string;
beforeEach(() => {
  base = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'report-message-')));
  out = path.join(base, 'out');
  mkdirSync(path.join(out, 'data'), { recursive: true });
  writeFileSync(path.join(out, 'report.html'), '<h1>Sales</h1>');
  writeFileSync(path.join(out, 'data', 'sales.csv'), 'a,b\n1,2\n');
  writeFileSync(path.join(base, 'secret.txt'), 'not for mail');
});
afterEach(() => rmSync(base, { recursive: true, force: true }));

const input = (e: ReportEmail[] | null, more: Partial<ReportMessageInput> = {}): ReportMessageInput => ({
  contentTitle: 'Weekly sales',
  reportUrl: 'https://lectern.example.com/content/abc/',
  subscriptionUrl: 'https://lectern.example.com/connect/#/apps/abc/subscriptions',
  outputDir: out,
  outputFile: 'report.html',
  emails: e,
  ...more,
});

describe('composeReportMessages', () => {
  it('without metadata: the title as subject, a plain body linking to the report, the document attached', async () => {
    const [m, ...rest] = await composeReportMessages(input(null));
    expect(rest).toEqual([]);
    expect(m!.suppressScheduled).toBe(false);
    expect(m!.recipients).toBeUndefined();
    expect(m!.notes).toEqual([]);
    expect(m!.message.subject).toBe('Weekly sales');
    expect(m!.message.html).toBeUndefined();
    expect(m!.message.text).toContain('https://lectern.example.com/content/abc/');
    expect(m!.message.text).toContain('https://lectern.example.com/connect/#/apps/abc/subscriptions');
    expect(m!.message.attachments).toEqual([{ filename: 'report.html', path: path.join(out, 'report.html') }]);
    expect(m!.message.images).toEqual([]);
  });

  it('empty metadata gives the default email too (the document attached, default subject and body)', async () => {
    const [m] = await composeReportMessages(input(emails({})));
    expect(m!.message.subject).toBe('Weekly sales');
    expect(m!.message.text).toContain('https://lectern.example.com/content/abc/');
    expect(m!.message.attachments.map((a) => a.filename)).toEqual(['report.html']);
  });

  it('a title with line breaks becomes one header line', async () => {
    const [m] = await composeReportMessages(input(null, { contentTitle: 'Sales\r\nBcc: evil@example.com' }));
    expect(m!.message.subject).toBe('Sales Bcc: evil@example.com');
  });

  it('custom v1 metadata: subject, HTML and text bodies, an inline image by its cid, an attachment', async () => {
    const [m] = await composeReportMessages(
      input(
        emails({
          rsc_email_subject: 'Sales are up',
          rsc_email_body_html: '<p>Up!</p><img src="cid:plot.png">',
          rsc_email_body_text: 'Up!',
          rsc_email_images: { 'plot.png': png.toString('base64') },
          rsc_email_attachments: ['data/sales.csv'],
          rsc_email_suppress_scheduled: true,
        }),
      ),
    );
    expect(m!.message.subject).toBe('Sales are up');
    expect(m!.message.html).toBe('<p>Up!</p><img src="cid:plot.png">');
    expect(m!.message.text).toBe('Up!');
    expect(m!.message.images).toEqual([{ cid: 'plot.png', contentBase64: png.toString('base64'), contentType: 'image/png' }]);
    // v1 attaches the document unless told not to.
    expect(m!.message.attachments).toEqual([
      { filename: 'report.html', path: path.join(out, 'report.html') },
      { filename: 'sales.csv', path: path.join(out, 'data', 'sales.csv') },
    ]);
    expect(m!.suppressScheduled).toBe(true);
    expect(m!.notes).toEqual([]);
  });

  it('an HTML-only email still has a plain-text part with the link', async () => {
    const [m] = await composeReportMessages(input(emails({ rsc_email_body_html: '<p>Hi</p>' })));
    expect(m!.message.html).toBe('<p>Hi</p>');
    expect(m!.message.text).toContain('https://lectern.example.com/content/abc/');
  });

  it('attachReport false (rsc_email_suppress_report_attachment) leaves the document out', async () => {
    const [m] = await composeReportMessages(input(emails({ rsc_email_attachments: ['data/sales.csv'], rsc_email_suppress_report_attachment: true })));
    expect(m!.message.attachments.map((a) => a.filename)).toEqual(['sales.csv']);
  });

  it('v2: one message per email, each with its recipients, subject and attachments', async () => {
    const result = await composeReportMessages(
      input(
        emails({
          rsc_email_version: 2,
          emails: [
            { email_id: 1, subject: 'For the team', body_html: '<p>team</p>', recipients: ['a@example.com', 'b@example.com'], attachments: ['data/sales.csv'] },
            { email_id: 2, subject: 'For the boss', body_text: 'boss', suppress_scheduled: true, send_report_as_attachment: true },
            { email_id: 3, body_text: 'everyone else' },
          ],
        }),
      ),
    );
    expect(result.map((r) => r.message.subject)).toEqual(['For the team', 'For the boss', 'Weekly sales']);
    expect(result.map((r) => r.recipients)).toEqual([['a@example.com', 'b@example.com'], undefined, undefined]);
    expect(result.map((r) => r.suppressScheduled)).toEqual([false, true, false]);
    expect(result.map((r) => r.message.attachments.map((a) => a.filename))).toEqual([['sales.csv'], ['report.html'], []]);
    expect(result[1]!.message.text).toBe('boss');
  });

  it('refuses attachments outside the output directory or through symbolic links, and skips missing ones, with notes', async () => {
    symlinkSync(path.join(base, 'secret.txt'), path.join(out, 'link.txt'));
    symlinkSync(base, path.join(out, 'up'));
    // A ReportEmail can only come from parseEmailMetadata, which already refuses "..": build
    // one by hand to prove the composer does not rely on that.
    const hostile: ReportEmail = {
      images: [],
      attachments: ['../secret.txt', '/etc/passwd', 'link.txt', 'up/secret.txt', 'missing.csv', 'data', 'data/sales.csv'],
      suppressScheduled: false,
      attachReport: false,
    };
    const [m] = await composeReportMessages(input([hostile]));
    expect(m!.message.attachments).toEqual([{ filename: 'sales.csv', path: path.join(out, 'data', 'sales.csv') }]);
    expect(m!.notes).toEqual([
      'Not attached: attachment "../secret.txt" is outside the output directory.',
      'Not attached: attachment "/etc/passwd" is outside the output directory.',
      'Not attached: attachment "link.txt" is a symbolic link.',
      'Not attached: attachment "up/secret.txt" is reached through a symbolic link.',
      'Not attached: attachment "missing.csv" does not exist.',
      'Not attached: attachment "data" is not a regular file.',
    ]);
  });

  it('a missing rendered document is noted, not fatal', async () => {
    const [m] = await composeReportMessages(input(null, { outputFile: 'gone.html' }));
    expect(m!.message.attachments).toEqual([]);
    expect(m!.notes).toEqual(['Not attached: the rendered document "gone.html" does not exist.']);
  });
});

describe('composeFailureMessage', () => {
  it('says the render failed, with the error, the last 50 log lines cut at 200 characters, and the log link', () => {
    const logTail = Array.from({ length: 80 }, (_, i) => `line ${i} ${'x'.repeat(i === 79 ? 500 : 0)}`);
    const m = composeFailureMessage({
      contentTitle: 'Weekly sales',
      error: 'Rscript exited with code 1',
      logTail,
      logUrl: 'https://lectern.example.com/log/1',
    });
    expect(m.subject).toBe('Render failed: Weekly sales');
    expect(m.text).toContain('Rscript exited with code 1');
    expect(m.text).toContain('https://lectern.example.com/log/1');
    expect(m.text).not.toContain('line 29 ');
    expect(m.text).toContain('line 30 ');
    const last = m.text.split('\n').find((l) => l.includes('line 79'))!;
    expect(last.trim().length).toBe(200);
    expect(last.trim().endsWith('…')).toBe(true);
    expect(m.html!.match(/line \d+/g)!.length).toBe(50);
    expect(m.attachments).toEqual([]);
  });

  it('escapes HTML in the title, the error and the log', () => {
    const m = composeFailureMessage({
      contentTitle: '<b>Sales</b>',
      error: 'Error in <script>alert(1)</script> & "quotes"',
      logTail: ['<img src=x onerror=alert(1)>'],
      logUrl: 'https://lectern.example.com/log?a=1&b="2"',
    });
    expect(m.html).not.toMatch(/<script>|<img|<b>Sales/);
    expect(m.html).toContain('&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quotes&quot;');
    expect(m.html).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(m.html).toContain('href="https://lectern.example.com/log?a=1&amp;b=&quot;2&quot;"');
    // The plain text keeps the words as they are.
    expect(m.text).toContain('Error in <script>alert(1)</script>');
  });

  it('bounds a huge error', () => {
    const m = composeFailureMessage({ contentTitle: 't', error: 'e'.repeat(100_000), logTail: [], logUrl: 'u' });
    expect(m.text.length).toBeLessThan(3000);
  });
});
