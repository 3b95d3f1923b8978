import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, staticBundle, uploadChunked, uploadMultipart } from '../helpers/bundles.ts';
import { DATABASES } from '../helpers/databases.ts';
import { api, startTestServer, type TestServer } from '../helpers/server.ts';
import { followTaskV1 } from '../helpers/tasks.ts';

// Replays of rsconnect-python's HTTP sequences (connect-api.md §5.2, §5.4) with real bundles.
describe.each(DATABASES)('rsconnect-python sequences on %s', (kind) => {
  let t: TestServer;
  let key: string;
  beforeAll(async () => {
    t = await startTestServer(kind);
    key = (await t.createUser('pypub', 'publisher')).key;
  });
  afterAll(async () => t?.close());

  const get = (path: string) => api(t.url, 'GET', path, { key });

  it('advertises a version that takes the draft, check and activate path', async () => {
    const { body } = await api(t.url, 'GET', '/__api__/server_settings');
    const [y, m] = (body.version as string).split('.').map(Number);
    expect(y! * 100 + m!).toBeGreaterThanOrEqual(202506);
  });

  it('(b) new content: name search, create, env, title, chunked upload, draft, check, activate, check', async () => {
    expect((await get('/__api__/server_settings')).status).toBe(200);
    expect((await get('/__api__/v1/user')).body.username).toBe('pypub');
    const search = await get('/__api__/v1/content?name=html');
    expect(search.status).toBe(200);
    expect(search.body).toEqual([]);

    const created = await api(t.url, 'POST', '/__api__/v1/content', {
      key,
      body: { name: 'html' },
      headers: { 'content-type': 'application/json; charset=utf-8' },
    });
    expect(created.status).toBeLessThan(300);
    const c = created.body;
    expect(c).toMatchObject({
      name: 'html',
      title: null,
      app_mode: 'unknown',
      content_url: `${t.url}/content/${c.guid}/`,
      dashboard_url: `${t.url}/connect/#/apps/${c.guid}`,
    });
    expect(c.id).toMatch(/^\d+$/);
    expect((await get('/__api__/v1/content?name=html')).body).toHaveLength(1);

    const env = await api(t.url, 'PATCH', `/__api__/v1/content/${c.guid}/environment`, { key, body: [{ name: 'FOO', value: 'bar' }] });
    expect(env.body).toEqual(['FOO']);
    const titled = await api(t.url, 'PATCH', `/__api__/v1/content/${c.guid}`, { key, body: { title: 'html' } });
    expect(titled.status).toBe(200);
    expect(titled.body.title).toBe('html');

    const up = await uploadChunked(t.url, `/__api__/v1/content/${c.guid}/bundles`, key, fixture('py-static-html.tar.gz'));
    expect(up.status, JSON.stringify(up.body)).toBeLessThan(300);
    expect(up.body).toMatchObject({ content_guid: c.guid, active: false });
    expect(up.body.id).toMatch(/^\d+$/);

    const draft = await api(t.url, 'POST', `/__api__/v1/content/${c.guid}/deploy`, { key, body: { bundle_id: up.body.id, activate: false } });
    expect(draft.body.task_id).toEqual(expect.any(String));
    const draftTask = await followTaskV1(t.url, key, draft.body.task_id);
    expect(draftTask.code, draftTask.output.join('\n')).toBe(0);
    expect(draftTask.polls[0]).toBe('?wait=1');
    expect(draftTask.output.join('\n')).toContain('Draft ready');

    const check = await fetch(`${t.url}/content/${c.guid}/_bundle${up.body.id}/`, { headers: { authorization: `Key ${key}` } });
    expect(check.status).toBe(200);
    expect(await check.text()).toContain('<');
    // Not yet active: viewers get nothing.
    expect((await fetch(`${t.url}/content/${c.guid}/`, { headers: { authorization: `Key ${key}` } })).status).toBe(404);

    const activate = await api(t.url, 'POST', `/__api__/v1/content/${c.guid}/deploy`, { key, body: { bundle_id: up.body.id } });
    const done = await followTaskV1(t.url, key, activate.body.task_id);
    expect(done.code).toBe(0);
    const live = await fetch(`${t.url}/content/${c.guid}/`, { headers: { authorization: `Key ${key}` } });
    expect(live.status).toBe(200);
    expect((await fetch(`${t.url}/content/${c.guid}/img/logo.png`, { headers: { authorization: `Key ${key}` } })).status).toBe(200);

    const after = (await get(`/__api__/v1/content/${c.guid}`)).body;
    expect(after).toMatchObject({ app_mode: 'static', bundle_id: up.body.id });
    expect(after.last_deployed_time).not.toBeNull();
  });

  it('(a)/(1.28) one deploy without activate, `/me`, and the double-slash check do not fail', async () => {
    expect((await get('/__api__/me')).body.username).toBe('pypub');
    const c = (await api(t.url, 'POST', '/__api__/v1/content', { key, body: { name: 'html128' } })).body;
    const up = await uploadChunked(t.url, `/__api__/v1/content/${c.guid}/bundles`, key, await staticBundle('<h1>one-eight</h1>'));
    const dep = await api(t.url, 'POST', `/__api__/v1/content/${c.guid}/deploy`, { key, body: { bundle_id: up.body.id } });
    expect((await followTaskV1(t.url, key, dep.body.task_id)).code).toBe(0);
    const res = await fetch(`${t.url}//content/${c.guid}/`, { headers: { authorization: `Key ${key}` } });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('one-eight');
  });

  it('(c) redeploy to a known guid, and (d) a legacy numeric --app-id', async () => {
    const c = (await api(t.url, 'POST', '/__api__/v1/content', { key, body: { name: 'redeploy' } })).body;
    for (const text of ['first', 'second']) {
      const known = await get(`/__api__/v1/content/${c.guid}`);
      expect(known.body).toMatchObject({ guid: c.guid, id: c.id });
      const up = await uploadChunked(t.url, `/__api__/v1/content/${c.guid}/bundles`, key, await staticBundle(`<p>${text}</p>`));
      const dep = await api(t.url, 'POST', `/__api__/v1/content/${c.guid}/deploy`, { key, body: { bundle_id: up.body.id } });
      expect((await followTaskV1(t.url, key, dep.body.task_id)).code).toBe(0);
      expect(await (await fetch(`${t.url}/content/${c.guid}/`, { headers: { authorization: `Key ${key}` } })).text()).toContain(text);
    }
    const v0 = await get(`/__api__/applications/${c.id}`);
    expect(v0.status).toBe(200);
    expect(v0.body).toMatchObject({ id: Number(c.id), guid: c.guid, app_mode: 4 });
    expect((await get(`/__api__/v1/content/${v0.body.guid}`)).body.app_mode).toBe('static');
    expect((await get(`/__api__/v1/content/${c.guid}/bundles`)).body).toHaveLength(2);
  });

  it('(multipart) accepts archive + metadata and keeps the metadata', async () => {
    const c = (await api(t.url, 'POST', '/__api__/v1/content', { key, body: { name: 'gitmeta' } })).body;
    const meta = { source: 'git', source_repo: 'https://git.example.com/team/site', source_branch: 'main', source_commit: 'a'.repeat(40) };
    const up = await uploadMultipart(t.url, `/__api__/v1/content/${c.guid}/bundles`, key, fixture('py-static-html.tar.gz'), meta);
    expect(up.status, JSON.stringify(up.body)).toBeLessThan(300);
    expect(up.body.metadata).toMatchObject(meta);
    const dep = await api(t.url, 'POST', `/__api__/v1/content/${c.guid}/deploy`, { key, body: { bundle_id: up.body.id } });
    expect((await followTaskV1(t.url, key, dep.body.task_id)).code).toBe(0);
    const listed = await get(`/__api__/v1/content/${c.guid}/bundles/${up.body.id}`);
    expect(listed.body).toMatchObject({ active: true, metadata: meta });
  });

  it.each([
    ['py-flask-api.tar.gz', 'python-api'],
    ['py-fastapi.tar.gz', 'python-fastapi'],
    ['py-dash.tar.gz', 'python-dash'],
    ['py-jupyter-static.tar.gz', 'jupyter-static'],
  ])('uploads and validates %s as %s (running it: the runtimes-python tests)', async (file, mode) => {
    const c = (await api(t.url, 'POST', '/__api__/v1/content', { key, body: { name: `m-${mode}` } })).body;
    const up = await uploadChunked(t.url, `/__api__/v1/content/${c.guid}/bundles`, key, fixture(file));
    expect(up.status, JSON.stringify(up.body)).toBe(201);
    expect(up.body).toMatchObject({ app_mode: mode, py_version: '3.11.2', active: false });
  });
});
