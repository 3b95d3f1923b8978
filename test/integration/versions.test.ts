import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BrowserSession } from '../helpers/browser.ts';
import { staticBundle, uploadChunked } from '../helpers/bundles.ts';
import { DATABASES } from '../helpers/databases.ts';
import { api, startTestServer, type TestServer } from '../helpers/server.ts';
import { followTaskV1 } from '../helpers/tasks.ts';

describe.each(DATABASES)('bundle versions on %s', (kind) => {
  let t: TestServer;
  let owner: { key: string; password: string };
  let other: { key: string };
  beforeAll(async () => {
    t = await startTestServer(kind);
    owner = await t.createUser('owner', 'publisher');
    other = await t.createUser('other', 'publisher');
  });
  afterAll(async () => t?.close());

  const page = async (path: string, key = owner.key) => {
    const res = await fetch(`${t.url}${path}`, { headers: { authorization: `Key ${key}` } });
    return { status: res.status, text: await res.text() };
  };
  async function publish(guid: string, html: string, activate = true) {
    const up = await uploadChunked(t.url, `/__api__/v1/content/${guid}/bundles`, owner.key, await staticBundle(html));
    const dep = await api(t.url, 'POST', `/__api__/v1/content/${guid}/deploy`, { key: owner.key, body: { bundle_id: up.body.id, activate } });
    const task = await followTaskV1(t.url, owner.key, dep.body.task_id);
    expect(task.code, task.output.join('\n')).toBe(0);
    return up.body.id as string;
  }

  it('rolls back by activating an older bundle, and redeploys the current one on request', async () => {
    const c = (await api(t.url, 'POST', '/__api__/v1/content', { key: owner.key, body: { name: 'rollback' } })).body;
    const v1 = await publish(c.guid, '<p>version one</p>');
    await publish(c.guid, '<p>version two</p>');
    expect((await page(`/content/${c.guid}/`)).text).toContain('version two');

    const back = await api(t.url, 'POST', `/__api__/v1/content/${c.guid}/deploy`, { key: owner.key, body: { bundle_id: v1 } });
    const task = await followTaskV1(t.url, owner.key, back.body.task_id);
    expect(task.output.join('\n')).toContain(`Rolled back to bundle ${v1}`);
    expect((await page(`/content/${c.guid}/`)).text).toContain('version one');
    expect((await api(t.url, 'GET', `/__api__/v1/content/${c.guid}`, { key: owner.key })).body.bundle_id).toBe(v1);

    // `{}` and `{"bundle_id": null}` redeploy what is active.
    for (const body of [{}, { bundle_id: null }]) {
      const again = await api(t.url, 'POST', `/__api__/v1/content/${c.guid}/deploy`, { key: owner.key, body });
      expect((await followTaskV1(t.url, owner.key, again.body.task_id)).code).toBe(0);
    }
    expect((await page(`/content/${c.guid}/`)).text).toContain('version one');
  });

  it('serves a draft to its owner only, without changing what viewers get', async () => {
    const c = (await api(t.url, 'POST', '/__api__/v1/content', { key: owner.key, body: { name: 'drafts', access_type: 'logged_in' } })).body;
    await publish(c.guid, '<p>live</p>');
    const draft = await publish(c.guid, '<p>draft</p>', false);
    expect((await page(`/content/${c.guid}/`)).text).toContain('live');
    expect((await page(`/content/${c.guid}/_bundle${draft}/`)).text).toContain('draft');
    // Another publisher sees the live item (logged_in) but not its draft.
    expect((await page(`/content/${c.guid}/`, other.key)).text).toContain('live');
    expect((await page(`/content/${c.guid}/_bundle${draft}/`, other.key)).status).toBe(404);
    // A browser is sent to the content origin, and without a session on to log in, then back.
    const draftPath = `/content/${c.guid}/_bundle${draft}/`;
    const toContent = await new BrowserSession(t.url).get(draftPath);
    expect(toContent.status).toBe(302);
    expect(toContent.location).toBe(`${t.contentUrl}${draftPath}`);
    const anon = await new BrowserSession(t.contentUrl).get(draftPath);
    expect(anon.status).toBe(302);
    expect(anon.location).toBe(`${t.url}/login?next=${encodeURIComponent(`${t.contentUrl}${draftPath}`)}`);
    // Without the trailing slash, redirects keep relative links working.
    const bare = await fetch(`${t.contentUrl}/content/${c.guid}`, { redirect: 'manual' });
    expect(bare.status).toBe(301);
    expect(bare.headers.get('location')).toBe(`/content/${c.guid}/`);
    // The content origin serves content and nothing of Lectern's own.
    expect((await fetch(`${t.contentUrl}/__api__/v1/user`, { headers: { authorization: `Key ${owner.key}` } })).status).toBe(404);
  });

  it('downloads a bundle byte for byte, and deletes only inactive bundles', async () => {
    const c = (await api(t.url, 'POST', '/__api__/v1/content', { key: owner.key, body: { name: 'download' } })).body;
    const archive = await staticBundle('<p>keep me</p>');
    const up = await uploadChunked(t.url, `/__api__/v1/content/${c.guid}/bundles`, owner.key, archive);
    const dl = await fetch(`${t.url}/__api__/v1/content/${c.guid}/bundles/${up.body.id}/download`, { headers: { authorization: `Key ${owner.key}` } });
    expect(dl.status).toBe(200);
    const bytes = Buffer.from(await dl.arrayBuffer());
    expect(createHash('md5').update(bytes).digest('hex')).toBe(createHash('md5').update(archive).digest('hex'));
    expect((await api(t.url, 'GET', `/__api__/v1/content/${c.guid}/bundles/${up.body.id}/download`, { key: other.key })).status).toBe(404);

    const active = await publish(c.guid, '<p>active</p>');
    const refused = await api(t.url, 'DELETE', `/__api__/v1/content/${c.guid}/bundles/${active}`, { key: owner.key });
    expect(refused.status).toBe(409);
    const ok = await api(t.url, 'DELETE', `/__api__/v1/content/${c.guid}/bundles/${up.body.id}`, { key: owner.key });
    expect(ok.status).toBe(200);
    expect((await api(t.url, 'GET', `/__api__/v1/content/${c.guid}/bundles`, { key: owner.key })).body.map((b: { id: string }) => b.id)).toEqual([active]);
    expect((await api(t.url, 'GET', `/__api__/v1/content/${c.guid}/bundles/${up.body.id}/download`, { key: owner.key })).status).toBe(404);
  });

  it('keeps environment variables encrypted and answers with names only', async () => {
    const c = (await api(t.url, 'POST', '/__api__/v1/content', { key: owner.key, body: { name: 'envvars' } })).body;
    const path = `/__api__/v1/content/${c.guid}/environment`;
    expect(
      (
        await api(t.url, 'PUT', path, {
          key: owner.key,
          body: [
            { name: 'DB_PASSWORD', value: 's3cr3t-value' },
            { name: 'MODE', value: 'prod' },
          ],
        })
      ).body,
    ).toEqual(['DB_PASSWORD', 'MODE']);
    expect(
      (
        await api(t.url, 'PATCH', path, {
          key: owner.key,
          body: [
            { name: 'MODE', value: null },
            { name: 'EXTRA', value: 'x' },
          ],
        })
      ).body,
    ).toEqual(['DB_PASSWORD', 'EXTRA']);
    const got = await api(t.url, 'GET', path, { key: owner.key });
    expect(got.body).toEqual(['DB_PASSWORD', 'EXTRA']);
    expect(JSON.stringify(got.body)).not.toContain('s3cr3t');
    const rows = await t.server.ctx.db.knex('content_environment').select('*');
    expect(JSON.stringify(rows)).not.toContain('s3cr3t-value');
    const content = (await t.server.ctx.repos.content.byGuid(c.guid))!;
    expect(await t.server.ctx.variables.values(content)).toEqual({ DB_PASSWORD: 's3cr3t-value', EXTRA: 'x' });
    expect((await api(t.url, 'PUT', path, { key: owner.key, body: [] })).body).toEqual([]);

    expect((await api(t.url, 'PATCH', path, { key: owner.key, body: [{ name: 'CONNECT_SERVER', value: 'x' }] })).status).toBe(400);
    expect((await api(t.url, 'PATCH', path, { key: owner.key, body: [{ name: 'A', value: 3 }] })).status).toBe(400);
    expect((await api(t.url, 'GET', path, { key: other.key })).status).toBe(404);
  });
});
