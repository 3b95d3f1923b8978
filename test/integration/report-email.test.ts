import { afterEach, describe, expect, it } from 'vitest';
import { fixture, makeBundle } from '../helpers/bundles.ts';
import { DATABASES } from '../helpers/databases.ts';
import { deployBundle } from '../helpers/deploy.ts';
import { freePort } from '../helpers/run-command.ts';
import { api, QUIET_SCHEDULER, startTestServer, type TestServer } from '../helpers/server.ts';
import { startSmtp, SMTP_PASSWORD, SMTP_USER, type Received, type TestSmtp } from '../helpers/smtp.ts';
import { TestClock } from '../helpers/test-clock.ts';

const MINUTE = 60_000;
const PNG_B64 = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==';

// What blastula's attach_connect_email() writes, set the same way: rmarkdown::output_metadata.
const blastulaStyle = (extra = '') => `---
title: "Weekly numbers"
output: html_document
---

\`\`\`{r, include=FALSE}
if (Sys.getenv("FAIL") == "1") stop("boom from the schedule")
write.csv(data.frame(x = 1:3), "numbers.csv", row.names = FALSE)
rmarkdown::output_metadata$set(
  rsc_email_subject = paste("Numbers for", Sys.getenv("RSC_REPORT_NAME")),
  rsc_email_body_html = "<p>This week: <img src='cid:chart.png'></p>",
  rsc_email_body_text = "This week's numbers.",
  rsc_email_images = list(chart.png = "${PNG_B64}"),
  rsc_email_attachments = list("numbers.csv")${extra}
)
\`\`\`

Total: \`r 1 + 2 + 3\`.
`;

const to = (r: Received) => r.envelopeTo.join(',');

describe.each(DATABASES)('scheduled reports by email (%s)', (kind) => {
  let t: TestServer | undefined;
  let smtp: TestSmtp | undefined;
  afterEach(async () => {
    await t?.close();
    await smtp?.close();
    t = smtp = undefined;
  });

  async function setUp(o: { publicUrl?: string; emailsPerHour?: number } = {}) {
    const clock = new TestClock(new Date(Math.floor(Date.now() / MINUTE) * MINUTE));
    const port = await freePort();
    smtp = await startSmtp(port);
    t = await startTestServer(kind, {
      config: {
        reports: { ...QUIET_SCHEDULER, ...(o.emailsPerHour ? { onDemandEmailsPerHour: o.emailsPerHour } : {}) },
        ...(o.publicUrl ? { server: { publicUrl: o.publicUrl } } : {}),
      },
      clock: clock.now,
    });
    await t.server.ctx.mail.settings.set(
      { userId: null, via: 'system' },
      { host: '127.0.0.1', port, security: 'none', username: SMTP_USER, password: SMTP_PASSWORD, fromAddress: 'reports@example.com' },
      new Date(),
    );
    const pub = await t.createUser('pub', 'publisher');
    return { t, smtp, clock, pub };
  }

  async function deployed(t: TestServer, key: string, bundle: Buffer, title: string) {
    const d = await deployBundle(t.url, key, title.toLowerCase().replace(/\W+/g, '-'), bundle, { title });
    expect(d.task.code, d.log).toBe(0);
    const variant = (await api(t.url, 'GET', `/__api__/applications/${d.content.guid}/variants`, { key })).body[0];
    return { guid: d.content.guid, variant };
  }

  async function grant(t: TestServer, key: string, guid: string, userGuid: string, role: 'owner' | 'viewer') {
    const res = await api(t.url, 'POST', `/__api__/v1/content/${guid}/permissions`, { key, body: { principal_guid: userGuid, principal_type: 'user', role } });
    expect(res.status).toBe(201);
    return res.body.id as string;
  }

  /** A schedule every minute from now with email on; the clock moves one minute and the server ticks. */
  async function runOnce(t: TestServer, clock: TestClock, key: string, variant: { id: number; app_id: number }) {
    const s = await api(t.url, 'POST', '/__api__/schedules', {
      key,
      body: { app_id: variant.app_id, variant_id: variant.id, type: 'minute', schedule: '{"N": 1}', start_time: clock.now().toISOString(), email: true },
    });
    expect(s.status, JSON.stringify(s.body)).toBe(200);
    clock.advance(MINUTE);
    expect((await t.server.scheduler.tick()).claimed).toBe(1);
    await t.server.ctx.reports.renders.idle();
    await t.server.scheduler.tick();
    await t.server.scheduler.settled();
  }

  it('mails an R Markdown report with its custom subject, inline image and attachment to the people who may see it, once each', async () => {
    const { t, smtp, clock, pub } = await setUp();
    const { guid, variant } = await deployed(
      t,
      pub.key,
      await makeBundle({ 'numbers.Rmd': blastulaStyle() }, { appmode: 'rmd-static', primary_rmd: 'numbers.Rmd' }),
      'Weekly numbers',
    );
    const collab = await t.createUser('collab', 'publisher');
    const reader = await t.createUser('reader', 'viewer');
    const optedOut = await t.createUser('optedout', 'viewer');
    const revoked = await t.createUser('revoked', 'viewer');
    await grant(t, pub.key, guid, collab.user.guid, 'owner');
    await grant(t, pub.key, guid, reader.user.guid, 'viewer');
    await grant(t, pub.key, guid, optedOut.user.guid, 'viewer');
    const revokedGrant = await grant(t, pub.key, guid, revoked.user.guid, 'viewer');
    // A viewer subscribes, then loses access; another unsubscribes themselves.
    expect(
      (await api(t.url, 'POST', `/__api__/variants/${variant.id}/subscribers`, { key: revoked.key, body: JSON.stringify(revoked.user.guid) })).status,
    ).toBe(200);
    expect((await api(t.url, 'DELETE', `/__api__/v1/content/${guid}/permissions/${revokedGrant}`, { key: pub.key })).status).toBe(200);
    expect((await api(t.url, 'DELETE', `/__api__/variants/${variant.id}/subscribers/${optedOut.user.guid}`, { key: optedOut.key })).status).toBe(204);
    // Someone without access cannot subscribe at all.
    const stranger = await t.createUser('stranger', 'viewer');
    expect((await api(t.url, 'POST', `/__api__/variants/${variant.id}/subscribers`, { key: stranger.key, body: [stranger.user.guid] })).status).toBe(404);
    expect(
      (await api(t.url, 'POST', `/__api__/variants/${variant.id}`, { key: pub.key, body: { email_collaborators: true, email_viewers: true } })).status,
    ).toBe(200);

    await runOnce(t, clock, pub.key, variant);

    expect(smtp.received.map(to).sort()).toEqual(['collab@example.com', 'pub@example.com', 'reader@example.com']);
    for (const { mail } of smtp.received) {
      expect(mail.subject).toBe('Numbers for Weekly numbers');
      expect(mail.from?.value[0]?.address).toBe('reports@example.com');
      expect(mail.html).toContain("src='cid:chart.png'");
      expect(mail.text).toContain("This week's numbers.");
      const image = mail.attachments.find((a) => a.contentId === '<chart.png>');
      expect(image?.content.toString('base64')).toBe(PNG_B64);
      const csv = mail.attachments.find((a) => a.filename === 'numbers.csv');
      expect(csv?.content.toString()).toContain('"x"');
      // The rendered report itself goes along unless the document says not to.
      expect(mail.attachments.some((a) => /\.html$/.test(a.filename ?? ''))).toBe(true);
    }
    const sends = await t.server.ctx.mail.outbox.sends({ contentId: variant.app_id, limit: 50 });
    expect(sends.map((s) => [s.recipient, s.status, s.kind]).sort()).toEqual([
      ['collab@example.com', 'sent', 'scheduled'],
      ['pub@example.com', 'sent', 'scheduled'],
      ['reader@example.com', 'sent', 'scheduled'],
    ]);
  });

  it('sends nothing on a schedule when the document suppresses it, but still mails it on demand (without the report attached, as it asks)', async () => {
    const { t, smtp, clock, pub } = await setUp({ publicUrl: 'https://reports.example.com' });
    const rmd = blastulaStyle(',\n  rsc_email_suppress_scheduled = TRUE,\n  rsc_email_suppress_report_attachment = TRUE');
    const { variant } = await deployed(
      t,
      pub.key,
      await makeBundle({ 'numbers.Rmd': rmd }, { appmode: 'rmd-static', primary_rmd: 'numbers.Rmd' }),
      'Quiet numbers',
    );
    await api(t.url, 'POST', `/__api__/variants/${variant.id}`, { key: pub.key, body: { email_collaborators: true } });
    await runOnce(t, clock, pub.key, variant);
    expect(smtp.received).toEqual([]);
    const current = (await api(t.url, 'GET', `/__api__/variants/${variant.id}`, { key: pub.key })).body.rendering_id;
    const sent = await api(t.url, 'POST', `/__api__/variants/${variant.id}/sender?email=me&rendering_id=${current}`, { key: pub.key, body: {} });
    expect(sent.status, JSON.stringify(sent.body)).toBe(200);
    expect(sent.body).toMatchObject({ finished: true, code: 0, output: [expect.stringContaining('1 recipient')] });
    // The answer is a real task, as Connect's is: it can be read back.
    const task = await api(t.url, 'GET', `/__api__/v1/tasks/${sent.body.id}`, { key: pub.key });
    expect(task.status).toBe(200);
    expect(task.body).toMatchObject({ id: sent.body.id, finished: true, code: 0, output: sent.body.output });
    await t.server.scheduler.tick();
    await t.server.scheduler.settled();
    expect(smtp.received.map(to)).toEqual(['pub@example.com']);
    const { mail } = smtp.received[0]!;
    expect(mail.subject).toBe('Numbers for Quiet numbers');
    expect(mail.attachments.filter((a) => a.contentDisposition === 'attachment').map((a) => a.filename)).toEqual(['numbers.csv']);
    expect(mail.html).toContain("src='cid:chart.png'");
    // A rendering of another variant, or none, is refused in Connect's terms.
    expect((await api(t.url, 'POST', `/__api__/variants/${variant.id}/sender?email=me&rendering_id=999999`, { key: pub.key })).body.code).toBe(116);
  });

  it('refuses on-demand email without a public URL for its links (code 103), and past the hourly budget (429, code 277)', async () => {
    {
      const { t, pub } = await setUp();
      const { variant } = await deployed(t, pub.key, fixture('py-jupyter-static.tar.gz'), 'Unaddressed');
      const refused = await api(t.url, 'POST', `/__api__/variants/${variant.id}/sender?email=me`, { key: pub.key });
      expect(refused.status).toBe(400);
      expect(refused.body).toMatchObject({ code: 103, error: expect.stringContaining('publicUrl') });
      await t.close();
      await smtp!.close();
    }
    const { t, smtp: mailbox, pub } = await setUp({ publicUrl: 'https://reports.example.com', emailsPerHour: 2 });
    const { variant } = await deployed(t, pub.key, fixture('py-jupyter-static.tar.gz'), 'Budgeted');
    const send = () => api(t.url, 'POST', `/__api__/variants/${variant.id}/sender?email=me`, { key: pub.key });
    expect((await send()).status).toBe(200);
    expect((await send()).status).toBe(200);
    const third = await send();
    expect(third.status).toBe(429);
    expect(third.body).toMatchObject({ code: 277, payload: null });
    expect(Number(third.headers.get('retry-after'))).toBeGreaterThan(0);
    // The administrator has a budget of their own.
    expect((await api(t.url, 'POST', `/__api__/variants/${variant.id}/sender?email=collaborators`, { key: t.admin.key })).status).toBe(200);
    await t.server.scheduler.tick();
    await t.server.scheduler.settled();
    expect(mailbox.received.map(to)).toEqual(['pub@example.com', 'pub@example.com', 'pub@example.com']);
  });

  it('mails a Jupyter notebook with the default message: its title, a link, the report attached', async () => {
    const { t, smtp, clock, pub } = await setUp();
    const { guid, variant } = await deployed(t, pub.key, fixture('py-jupyter-static.tar.gz'), 'Notebook digest');
    await api(t.url, 'POST', `/__api__/variants/${variant.id}`, { key: pub.key, body: { email_collaborators: true } });
    await runOnce(t, clock, pub.key, variant);
    expect(smtp.received.map(to)).toEqual(['pub@example.com']);
    const { mail } = smtp.received[0]!;
    expect(mail.subject).toBe('Notebook digest');
    expect(mail.text).toContain(`/content/${guid}/`);
    const report = mail.attachments.find((a) => /\.html$/.test(a.filename ?? ''));
    // nbconvert highlights code into spans: compare the text a reader sees.
    expect(report?.content.toString().replace(/<[^>]+>/g, '')).toContain('print(1+1)');
  });

  it('mails the owner and collaborators when a scheduled render fails, with the end of its log', async () => {
    const { t, smtp, clock, pub } = await setUp();
    const { guid, variant } = await deployed(
      t,
      pub.key,
      await makeBundle({ 'numbers.Rmd': blastulaStyle() }, { appmode: 'rmd-static', primary_rmd: 'numbers.Rmd' }),
      'Fragile numbers',
    );
    const collab = await t.createUser('collab', 'publisher');
    const reader = await t.createUser('reader', 'viewer');
    const demoted = await t.createUser('demoted', 'publisher');
    await grant(t, pub.key, guid, collab.user.guid, 'owner');
    await grant(t, pub.key, guid, reader.user.guid, 'viewer');
    await grant(t, pub.key, guid, demoted.user.guid, 'owner');
    // Still on the collaborator list, but a viewer account now: it may not read logs, so gets no tail.
    expect((await api(t.url, 'PUT', `/__api__/v1/users/${demoted.user.guid}`, { key: t.admin.key, body: { user_role: 'viewer' } })).status).toBe(200);
    await api(t.url, 'PATCH', `/__api__/v1/content/${guid}/environment`, { key: pub.key, body: [{ name: 'FAIL', value: '1' }] });
    await runOnce(t, clock, pub.key, variant);
    expect(smtp.received.map(to).sort()).toEqual(['collab@example.com', 'pub@example.com']);
    for (const { mail } of smtp.received) {
      expect(mail.subject).toMatch(/Fragile numbers/);
      expect(mail.text).toContain('boom from the schedule');
      expect(mail.text).toContain(`/__api__/v1/content/${guid}/jobs`);
    }
    const history = (await api(t.url, 'GET', `/__api__/variants/${variant.id}/renderings`, { key: pub.key })).body;
    expect(history[0]).toMatchObject({ trigger: 'schedule', status: 'failed', active: false });
  });
});
