import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type Config } from '../../src/config/index.ts';
import { openCore, type CoreContext } from '../../src/core-context.ts';
import { toDate, toDateOrNull } from '../../src/db/values.ts';
import { MAIL_NOT_CONFIGURED, type OutgoingMessage } from '../../src/domain/mail.ts';
import { parseEmailMetadata } from '../../src/domain/report-email/email-metadata.ts';
import { createLogger } from '../../src/logging/logger.ts';
import { MailSendError } from '../../src/services/mail/mailer.ts';
import { composeReportMessages } from '../../src/services/mail/report-message.ts';
import { createTestDatabase, DATABASES, type TestDatabase } from '../helpers/databases.ts';
import { runCli } from '../helpers/process.ts';
import { freePort } from '../helpers/run-command.ts';
import { startSmtp, SMTP_PASSWORD as PASSWORD, SMTP_USER as USER, type TestSmtp } from '../helpers/smtp.ts';

const FROM = 'reports@example.com';
const MINUTE = 60_000;
const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 1, 2, 3, 4]);

const message = (subject: string): OutgoingMessage => ({ subject, text: `${subject}\n`, attachments: [], images: [] });

describe.each(DATABASES)('report email on %s', (kind) => {
  let tdb: TestDatabase;
  let config: Config;
  let core: CoreContext;
  const cores: CoreContext[] = [];
  const servers: TestSmtp[] = [];

  beforeAll(async () => {
    tdb = await createTestDatabase(kind);
    config = loadConfig({ env: {}, overrides: { dataDir: tdb.dataDir, database: { url: tdb.url } } });
    core = await openCore(config, createLogger('silent'));
    cores.push(core);
  });
  afterAll(async () => {
    for (const s of servers) await s.close();
    for (const c of cores) await c.close();
    await tdb?.drop();
  });

  const smtp = async (port: number, opts?: Parameters<typeof startSmtp>[1]) => {
    const s = await startSmtp(port, opts);
    servers.push(s);
    return s;
  };
  /** bin/lectern on this database, as an administrator runs it on the host. */
  const lectern = (args: string[], input?: string) => runCli(args, { LECTERN_DATA_DIR: tdb.dataDir, LECTERN_DATABASE_URL: tdb.url }, input);
  const configure = (port: number, more: { security?: 'tls' | 'starttls' | 'none'; skipVerify?: boolean; password?: string } = {}) =>
    core.mail.settings.set(
      { userId: null, via: 'cli' },
      {
        host: '127.0.0.1',
        port,
        security: more.security ?? 'none',
        username: USER,
        password: more.password ?? PASSWORD,
        fromAddress: FROM,
        fromName: 'Lectern Reports',
        skipVerify: more.skipVerify ?? false,
      },
      new Date(),
    );
  const send = async (id: number) => {
    const r = (await core.db.knex('email_sends').where({ id }).first()) as Record<string, unknown>;
    return {
      status: r.status as string,
      attempts: Number(r.attempts),
      lastError: r.last_error as string | null,
      nextAttemptTime: toDate(r.next_attempt_time),
      sentTime: toDateOrNull(r.sent_time),
      claimedBy: r.claimed_by as string | null,
    };
  };

  // Each CLI run starts tsx (seconds): the CLI's story is told in three parts on one SMTP server.
  let cliSmtp: TestSmtp;
  let cliArgs: string[];

  it('the CLI configures SMTP with the password from stdin, never shows or stores it in the clear, and sends a test message', async () => {
    const port = await freePort();
    cliSmtp = await smtp(port);
    cliArgs = ['--host', '127.0.0.1', '--port', String(port), '--security', 'none', '--user', USER];

    const configured = await lectern(['email', 'configure', ...cliArgs, '--password-stdin', '--from', FROM, '--from-name', 'Lectern Reports'], `${PASSWORD}\n`);
    expect(configured.code, configured.stderr).toBe(0);
    expect(configured.stdout).toContain('password: set');
    expect(configured.stdout + configured.stderr).not.toContain(PASSWORD);

    // At rest: sealed, in the settings row and nowhere in the audit log.
    const row = (await core.db.knex('mail_settings').first()) as Record<string, unknown>;
    expect(row.password_encrypted).toEqual(expect.any(String));
    expect(JSON.stringify(row)).not.toContain(PASSWORD);
    expect(JSON.stringify(row)).not.toContain(Buffer.from(PASSWORD).toString('base64'));
    const audit = await core.db.knex('audit_log').where({ action: 'email.settings' });
    expect(audit.length).toBe(1);
    expect(JSON.stringify(audit)).not.toContain(PASSWORD);

    const shown = await lectern(['email', 'show']);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toContain(`host: 127.0.0.1\nport: ${port}\nsecurity: none`);
    expect(shown.stdout).toContain('password: set');
    expect(shown.stdout).toContain('from: "Lectern Reports" <reports@example.com>');
    expect(shown.stdout + shown.stderr).not.toContain(PASSWORD);

    const tested = await lectern(['email', 'test', '--to', 'alice@example.com']);
    expect(tested.code, tested.stderr).toBe(0);
    expect(tested.stdout).toMatch(/^sent to alice@example\.com: 250/);
    expect(cliSmtp.received.length).toBe(1);
    const got = cliSmtp.received[0]!;
    expect(got.envelopeFrom).toBe(FROM);
    expect(got.envelopeTo).toEqual(['alice@example.com']);
    expect(got.mail.from?.value).toEqual([{ address: FROM, name: 'Lectern Reports' }]);
    expect(got.mail.from?.text).toBe('"Lectern Reports" <reports@example.com>');
    expect((got.mail.to as { text: string }).text).toBe('alice@example.com');
    expect(got.mail.subject).toBe('Lectern test message');
    expect(got.mail.text).toContain('Lectern can send email');

    // The test is recorded like any other send.
    const [record] = await core.mail.outbox.sends({ limit: 10 });
    expect(record).toMatchObject({
      kind: 'test',
      recipient: 'alice@example.com',
      subject: 'Lectern test message',
      status: 'sent',
      attempts: 1,
      lastError: null,
    });
  });

  it('the CLI test reports an SMTP refusal and a wrong password; reconfiguring without --password-stdin keeps the password', async () => {
    // A refusal: the SMTP reply on stderr, a non-zero exit, a failed record.
    const refused = await lectern(['email', 'test', '--to', 'reject@example.com']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('550');
    expect(refused.stderr).toContain('No such user here');
    expect((await core.mail.outbox.sends({ limit: 1 }))[0]).toMatchObject({ kind: 'test', recipient: 'reject@example.com', status: 'failed' });

    // A wrong password is refused by the server (authentication is really checked)...
    expect((await lectern(['email', 'configure', ...cliArgs, '--password-stdin'], 'wrong\n')).code).toBe(0);
    const wrong = await lectern(['email', 'test', '--to', 'alice@example.com']);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('535');
    // ...and reconfiguring host and user without --password-stdin keeps the stored one (and --from).
    expect((await lectern(['email', 'configure', ...cliArgs, '--password-stdin'], PASSWORD)).code).toBe(0);
    const kept = await lectern(['email', 'configure', ...cliArgs]);
    expect(kept.code, kept.stderr).toBe(0);
    expect(kept.stdout).toContain('password: set');
    expect(kept.stdout).toContain('from: "Lectern Reports" <reports@example.com>');
    expect((await lectern(['email', 'test', '--to', 'bob@example.com'])).code).toBe(0);
    expect(cliSmtp.received.map((r) => r.envelopeTo[0])).toEqual(['alice@example.com', 'bob@example.com']);
  });

  it('the CLI refuses bad settings by name, and after disable nothing is sent', async () => {
    const badPort = await lectern(['email', 'configure', '--host', 'h', '--port', '70000', '--security', 'none']);
    expect(badPort.code).not.toBe(0);
    expect(badPort.stderr).toContain('port');
    const badFrom = await lectern(['email', 'configure', ...cliArgs, '--from', 'not an address']);
    expect(badFrom.code).toBe(1);
    expect(badFrom.stderr).toContain('is not an email address');
    expect((await core.mail.settings.get())?.fromAddress).toBe(FROM);

    const disabled = await lectern(['email', 'disable']);
    expect(disabled.code, disabled.stderr).toBe(0);
    expect((await lectern(['email', 'show'])).stdout).toBe('email is not configured\n');
    const off = await lectern(['email', 'test', '--to', 'alice@example.com']);
    expect(off.code).toBe(1);
    expect(off.stderr).toContain(MAIL_NOT_CONFIGURED);
    expect(cliSmtp.received.length).toBe(2);
  });

  it('the outbox: a down server leaves the send pending without blocking, and a later run delivers it exactly once', async () => {
    const port = await freePort();
    await configure(port);
    const t0 = new Date('2031-03-04T05:00:00Z');

    const queued = await core.mail.outbox.enqueue({ kind: 'scheduled', message: message('Down then up'), recipients: [{ address: 'bob@example.com' }] }, t0);
    const id = queued.sendIds[0]!;
    expect(await send(id)).toMatchObject({ status: 'pending', attempts: 0 });

    const started = performance.now();
    expect(await core.mail.outbox.deliverDue(t0, 'server-a')).toEqual({ sent: 0, retried: 1, failed: 0 });
    expect(performance.now() - started).toBeLessThan(10_000);
    const after = await send(id);
    expect(after).toMatchObject({ status: 'pending', attempts: 1, claimedBy: null });
    expect(after.nextAttemptTime.getTime()).toBe(t0.getTime() + MINUTE);
    expect(after.lastError).toMatch(/ECONNREFUSED|connect/i);

    // Not due yet: nothing happens even once the server is up.
    const server = await smtp(port);
    expect(await core.mail.outbox.deliverDue(new Date(t0.getTime() + 30_000), 'server-a')).toEqual({ sent: 0, retried: 0, failed: 0 });
    expect(server.received.length).toBe(0);

    const later = new Date(t0.getTime() + MINUTE + 1000);
    expect(await core.mail.outbox.deliverDue(later, 'server-a')).toEqual({ sent: 1, retried: 0, failed: 0 });
    expect(await send(id)).toMatchObject({ status: 'sent', attempts: 2, sentTime: later, lastError: null });
    expect(await core.mail.outbox.deliverDue(new Date(t0.getTime() + 60 * MINUTE), 'server-b')).toEqual({ sent: 0, retried: 0, failed: 0 });
    expect(server.received.map((r) => [r.envelopeTo, r.mail.subject])).toEqual([[['bob@example.com'], 'Down then up']]);

    const audit = await core.db
      .knex('audit_log')
      .where({ action: 'email.send', target_id: String(id) })
      .orderBy('id');
    expect(audit.map((a: { details: unknown }) => (typeof a.details === 'string' ? JSON.parse(a.details) : a.details).status)).toEqual(['pending', 'sent']);
  });

  it('the outbox backs off 1 min, 5 min, 15 min, 1 h, 4 h, and fails after the sixth attempt', async () => {
    await configure(await freePort());
    const t0 = new Date('2031-03-05T05:00:00Z');
    const id = (await core.mail.outbox.enqueue({ kind: 'scheduled', message: message('Never'), recipients: [{ address: 'dan@example.com' }] }, t0)).sendIds[0]!;
    let at = t0;
    const waits: number[] = [];
    for (let attempt = 1; attempt <= 6; attempt++) {
      await core.mail.outbox.deliverDue(at, 'server-a');
      const s = await send(id);
      expect(s.attempts).toBe(attempt);
      if (attempt < 6) {
        expect(s.status).toBe('pending');
        waits.push((s.nextAttemptTime.getTime() - at.getTime()) / MINUTE);
        at = s.nextAttemptTime;
      } else {
        expect(s.status).toBe('failed');
      }
    }
    expect(waits).toEqual([1, 5, 15, 60, 240]);
    expect(await core.mail.outbox.deliverDue(new Date(at.getTime() + 24 * 60 * MINUTE), 'server-a')).toEqual({ sent: 0, retried: 0, failed: 0 });
  });

  it('two servers draining the same queue at once send each recipient exactly one message', async () => {
    const port = await freePort();
    // Each message takes a moment, so the two senders really overlap.
    const server = await smtp(port, { delayMs: 25 });
    await configure(port);
    const other = await openCore(config, createLogger('silent'));
    cores.push(other);
    const t0 = new Date('2031-03-06T05:00:00Z');
    const recipients = Array.from({ length: 12 }, (_, i) => ({ address: `user${i}@example.com`, userId: null }));
    const queued = await core.mail.outbox.enqueue({ kind: 'scheduled', contentId: null, message: message('Once each'), recipients }, t0);
    expect(queued.sendIds.length).toBe(12);

    const [a, b] = await Promise.all([core.mail.outbox.deliverDue(t0, 'server-a'), other.mail.outbox.deliverDue(t0, 'server-b')]);
    expect(a.sent + b.sent).toBe(12);
    expect(a.sent).toBeGreaterThan(0);
    expect(b.sent).toBeGreaterThan(0);
    const got = server.received.map((r) => r.envelopeTo);
    // One recipient per message: nobody sees the others' addresses.
    expect(got.every((to) => to.length === 1)).toBe(true);
    expect(got.map((to) => to[0]).sort()).toEqual(recipients.map((r) => r.address).sort());
    for (const id of queued.sendIds) expect(await send(id)).toMatchObject({ status: 'sent', attempts: 1 });
  });

  it('a 5xx refusal fails at once with the reply; the other recipients still get theirs', async () => {
    const port = await freePort();
    const server = await smtp(port);
    await configure(port);
    const t0 = new Date('2031-03-07T05:00:00Z');
    const queued = await core.mail.outbox.enqueue(
      {
        kind: 'on-demand',
        message: message('Refused'),
        recipients: [{ address: 'reject@example.com' }, { address: 'carol@example.com' }, { address: 'CAROL@example.com' }],
      },
      t0,
    );
    // The same address twice is one recipient.
    expect(queued.sendIds.length).toBe(2);
    expect(await core.mail.outbox.deliverDue(t0, 'server-a')).toEqual({ sent: 1, retried: 0, failed: 1 });
    const refused = await send(queued.sendIds[0]!);
    expect(refused).toMatchObject({ status: 'failed', attempts: 1 });
    expect(refused.lastError).toContain('550');
    expect(refused.lastError).toContain('No such user here');
    expect(server.received.map((r) => r.envelopeTo)).toEqual([['carol@example.com']]);
    expect(await core.mail.outbox.deliverDue(new Date(t0.getTime() + 10 * 60 * MINUTE), 'server-a')).toEqual({ sent: 0, retried: 0, failed: 0 });
  });

  it('a report with an inline image and an attachment arrives as a mail client reads it', async () => {
    const port = await freePort();
    const server = await smtp(port);
    await configure(port);
    const out = mkdtempSync(path.join(os.tmpdir(), 'mail-out-'));
    try {
      writeFileSync(path.join(out, 'report.html'), '<h1>Sales</h1>');
      writeFileSync(path.join(out, 'sales.csv'), 'region,total\nnorth,10\n');
      writeFileSync(path.join(out, 'gone.csv'), 'soon gone');
      const parsed = parseEmailMetadata({
        rsc_email_subject: 'Sales are up',
        rsc_email_body_html: '<p>Up!</p><img src="cid:plot.png">',
        rsc_email_body_text: 'Up!',
        rsc_email_images: { 'plot.png': png.toString('base64') },
        rsc_email_attachments: ['sales.csv'],
      });
      if (!parsed.ok) throw new Error(parsed.problem);
      const [composed] = await composeReportMessages({
        contentTitle: 'Weekly sales',
        reportUrl: 'http://lectern.example.com/content/x/',
        outputDir: out,
        outputFile: 'report.html',
        emails: parsed.emails,
      });
      const t0 = new Date('2031-03-08T05:00:00Z');
      const id = (await core.mail.outbox.enqueue({ kind: 'scheduled', message: composed!.message, recipients: [{ address: 'erin@example.com' }] }, t0))
        .sendIds[0]!;
      expect(await core.mail.outbox.deliverDue(t0, 'server-a')).toEqual({ sent: 1, retried: 0, failed: 0 });
      expect((await send(id)).status).toBe('sent');

      const mail = server.received[0]!.mail;
      expect(mail.subject).toBe('Sales are up');
      expect(mail.html).toContain('src="cid:plot.png"');
      expect(mail.text?.trim()).toBe('Up!');
      const image = mail.attachments.find((a) => a.contentId === '<plot.png>');
      expect(image).toMatchObject({ related: true, contentDisposition: 'inline', contentType: 'image/png', cid: 'plot.png' });
      expect(image!.content.equals(png)).toBe(true);
      const csv = mail.attachments.find((a) => a.filename === 'sales.csv');
      expect(csv?.contentDisposition).toBe('attachment');
      expect(csv?.content.toString()).toBe('region,total\nnorth,10\n');
      expect(mail.attachments.find((a) => a.filename === 'report.html')?.content.toString()).toBe('<h1>Sales</h1>');

      // An attachment gone by the time the message goes (a pruned rendering) fails it at once.
      const doomed: OutgoingMessage = { ...message('Gone'), attachments: [{ filename: 'gone.csv', path: path.join(out, 'gone.csv') }] };
      const gone = (await core.mail.outbox.enqueue({ kind: 'scheduled', message: doomed, recipients: [{ address: 'erin@example.com' }] }, t0)).sendIds[0]!;
      unlinkSync(path.join(out, 'gone.csv'));
      expect(await core.mail.outbox.deliverDue(t0, 'server-a')).toEqual({ sent: 0, retried: 0, failed: 1 });
      expect(await send(gone)).toMatchObject({ status: 'failed', attempts: 1, lastError: 'The attachment "gone.csv" is no longer there.' });
      expect(server.received.length).toBe(1);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  it('implicit TLS and STARTTLS: the certificate is checked unless skipVerify, and starttls refuses a server without it', async () => {
    const test = { kind: 'test' as const, message: message('Over TLS'), recipient: { address: 'frank@example.com' } };
    const tlsPort = await freePort();
    const tls = await smtp(tlsPort, { secure: true });
    // The test server's certificate is self-signed: refused, then accepted when told to.
    await configure(tlsPort, { security: 'tls' });
    await expect(core.mail.outbox.sendNow(test, new Date())).rejects.toThrow(/certificate/i);
    await configure(tlsPort, { security: 'tls', skipVerify: true });
    await core.mail.outbox.sendNow(test, new Date());
    expect(tls.received.length).toBe(1);

    const startPort = await freePort();
    const start = await smtp(startPort, { starttls: true });
    await configure(startPort, { security: 'starttls', skipVerify: true });
    await core.mail.outbox.sendNow(test, new Date());
    expect(start.received.length).toBe(1);

    // A server that offers no STARTTLS: the password is never sent over plain text.
    const plainPort = await freePort();
    const plain = await smtp(plainPort);
    await configure(plainPort, { security: 'starttls', skipVerify: true });
    const err = await core.mail.outbox.sendNow(test, new Date()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MailSendError);
    expect((err as MailSendError).message).toMatch(/STARTTLS/i);
    expect(plain.received.length).toBe(0);
  });

  it('without mail settings, queued sends are recorded as failed at once', async () => {
    await core.mail.settings.clear({ userId: null, via: 'cli' });
    const t0 = new Date('2031-03-09T05:00:00Z');
    const queued = await core.mail.outbox.enqueue(
      { kind: 'failure', contentId: null, message: message('Nowhere'), recipients: [{ address: 'gail@example.com', userId: null }] },
      t0,
    );
    expect(await send(queued.sendIds[0]!)).toMatchObject({ status: 'failed', attempts: 0, lastError: MAIL_NOT_CONFIGURED });
    expect(await core.mail.outbox.deliverDue(t0, 'server-a')).toEqual({ sent: 0, retried: 0, failed: 0 });
    const [listed] = await core.mail.outbox.sends({ limit: 1 });
    expect(listed).toMatchObject({ kind: 'failure', subject: 'Nowhere', recipient: 'gail@example.com', status: 'failed', lastError: MAIL_NOT_CONFIGURED });
  });
});
