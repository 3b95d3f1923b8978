import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeBundle, staticBundle } from '../helpers/bundles.ts';
import { DATABASES } from '../helpers/databases.ts';
import { deployBundle, get } from '../helpers/deploy.ts';
import { api, startTestServer, type TestServer } from '../helpers/server.ts';

describe.each(DATABASES)('vanity paths on %s', (kind) => {
  let t: TestServer;
  let owner: Awaited<ReturnType<TestServer['createUser']>>;
  let other: Awaited<ReturnType<TestServer['createUser']>>;
  beforeAll(async () => {
    t = await startTestServer(kind, { config: { runtime: { pythonEnvironmentManagement: false } } as never });
    owner = await t.createUser('owner', 'publisher');
    other = await t.createUser('other', 'publisher');
  });
  afterAll(async () => t?.close());

  it('are set, read, listed and removed by the people who manage the content', async () => {
    const d = await deployBundle(t.url, owner.key, 'quarterly', await staticBundle('<p>q3 numbers</p>'));
    const path = `/__api__/v1/content/${d.content.guid}/vanity`;
    const set = await api(t.url, 'PUT', path, { key: owner.key, body: { path: 'sales/q3' } });
    expect(set.status).toBe(200);
    expect(set.body).toMatchObject({ content_guid: d.content.guid, path: '/sales/q3/' });
    expect((await api(t.url, 'GET', path, { key: owner.key })).body.path).toBe('/sales/q3/');
    expect((await api(t.url, 'GET', '/__api__/v1/vanities', { key: owner.key })).body.map((v: { path: string }) => v.path)).toContain('/sales/q3/');
    // Someone who cannot see the content neither sees nor changes its path.
    expect((await api(t.url, 'GET', '/__api__/v1/vanities', { key: other.key })).body).toEqual([]);
    expect((await api(t.url, 'PUT', path, { key: other.key, body: { path: '/mine/' } })).status).toBe(404);

    const second = await deployBundle(t.url, other.key, 'other-site', await staticBundle('<p>other</p>'));
    const otherPath = `/__api__/v1/content/${second.content.guid}/vanity`;
    for (const [p, status, message] of [
      ['/sales/q3/', 409, /taken/],
      ['/sales/', 409, /nest/],
      ['/sales/q3/detail', 409, /nest/],
      ['/content/x/', 400, /Lectern uses it/],
      ['/__api__/', 400, /Lectern uses it/],
      ['/login', 400, /Lectern uses it/],
      ['/bad path/', 400, /letters, digits/],
      ['/../etc/', 400, /letters, digits/],
      ['/', 400, /at least one segment/],
    ] as const) {
      const res = await api(t.url, 'PUT', otherPath, { key: other.key, body: { path: p } });
      expect(res.status, p).toBe(status);
      expect(res.body.error, p).toMatch(message);
    }
    expect((await api(t.url, 'PUT', otherPath, { key: other.key, body: { path: 42 } })).status).toBe(400);

    expect((await api(t.url, 'DELETE', path, { key: owner.key })).body).toEqual({});
    expect((await api(t.url, 'GET', path, { key: owner.key })).status).toBe(404);
  });

  it('route to the content on both origins, and tell an app its base path', async () => {
    const echo =
      "import json\nfrom flask import Flask, request, url_for\napp = Flask(__name__)\n@app.route('/')\ndef i():\n    return json.dumps({'base': request.headers.get('X-Lectern-Base-Path'), 'self': url_for('i')})\n";
    const d = await deployBundle(
      t.url,
      owner.key,
      'base-echo',
      await makeBundle(
        { 'app.py': echo, 'requirements.txt': 'flask\n' },
        { appmode: 'python-api', entrypoint: 'app:app' },
        { python: { version: '3.11.2', package_manager: { name: 'pip', package_file: 'requirements.txt' } } },
      ),
    );
    expect(d.task.code, d.log).toBe(0);
    await api(t.url, 'PUT', `/__api__/v1/content/${d.content.guid}/vanity`, { key: owner.key, body: { path: '/tools/echo/' } });

    // API consumers call it on Lectern's origin with their key.
    const viaKey = JSON.parse((await get(`${t.url}/tools/echo/`, owner.key)).text);
    expect(viaKey).toEqual({ base: '/tools/echo/', self: '/tools/echo/' });
    // Browsers go to the content origin, where the same path works.
    const browser = await fetch(`${t.url}/tools/echo/?x=1`, { redirect: 'manual' });
    expect(browser.status).toBe(302);
    expect(browser.headers.get('location')).toBe(`${t.contentUrl}/tools/echo/?x=1`);
    expect(JSON.parse((await get(`${t.contentUrl}/tools/echo/`, owner.key)).text).base).toBe('/tools/echo/');
    const bare = await fetch(`${t.contentUrl}/tools/echo`, { redirect: 'manual' });
    expect(bare.status).toBe(301);
    expect(bare.headers.get('location')).toBe('/tools/echo/');
    // The content path keeps working, with its own base path.
    expect(JSON.parse((await get(d.content.content_url, owner.key)).text).base).toBe(`/content/${d.content.guid}/`);
    // Access rules are the content's: someone who may not see it gets nothing.
    expect((await get(`${t.url}/tools/echo/`, other.key)).status).toBe(404);
  });
});
