import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeBundle, staticBundle, uploadChunked } from '../helpers/bundles.ts';
import { DATABASES } from '../helpers/databases.ts';
import { deployBundle, get } from '../helpers/deploy.ts';
import { api, startTestServer, type TestServer } from '../helpers/server.ts';
import { followTaskV1 } from '../helpers/tasks.ts';

// The attack from the security review: a publisher made collaborator on an administrator's
// app deploys code that reads CONNECT_API_KEY (a key of the owner, the administrator) and uses
// it against the API. The key a process gets reads its own item and what an app asks about its
// viewers; nothing else, and it never writes.

const LEAKY_APP = `
import os
from flask import Flask
app = Flask(__name__)

@app.route('/')
def index():
    return 'leaky ready'

@app.route('/key')
def key():
    return os.environ.get('CONNECT_API_KEY', '')
`;

const flask = (files: Record<string, string>) =>
  makeBundle(
    { 'requirements.txt': 'flask\n', ...files },
    { appmode: 'python-api', entrypoint: 'app:app' },
    { python: { version: '3.11.2', package_manager: { name: 'pip', package_file: 'requirements.txt' } } },
  );

describe.each(DATABASES)("a content process's API key on %s", (kind) => {
  let t: TestServer;
  let pat: Awaited<ReturnType<TestServer['createUser']>>;
  let app: { guid: string; id: string; content_url: string };
  let secret: { guid: string; id: string; content_url: string };
  let processKey: string;

  beforeAll(async () => {
    t = await startTestServer(kind, { config: { runtime: { pythonEnvironmentManagement: false } } as never });
    pat = await t.createUser('pat', 'publisher');
    // Something only the administrator may read.
    const report = await deployBundle(t.url, t.admin.key, 'board-minutes', await staticBundle('<p>board minutes</p>'));
    expect(report.task.code, report.log).toBe(0);
    secret = report.content;

    // The administrator's app, with pat as a collaborator; pat deploys the code.
    const made = await api(t.url, 'POST', '/__api__/v1/content', { key: t.admin.key, body: { name: 'team-app' } });
    expect(made.status).toBe(201);
    app = made.body;
    const collab = await api(t.url, 'POST', `/__api__/v1/content/${app.guid}/permissions`, {
      key: t.admin.key,
      body: { principal_guid: pat.user.guid, principal_type: 'user', role: 'owner' },
    });
    expect(collab.status, JSON.stringify(collab.body)).toBeLessThan(300);
    const up = await uploadChunked(t.url, `/__api__/v1/content/${app.guid}/bundles`, pat.key, await flask({ 'app.py': LEAKY_APP }));
    expect(up.status).toBe(201);
    const dep = await api(t.url, 'POST', `/__api__/v1/content/${app.guid}/deploy`, { key: pat.key, body: { bundle_id: up.body.id } });
    const task = await followTaskV1(t.url, pat.key, dep.body.task_id);
    expect(task.code, task.output.join('\n')).toBe(0);

    const leaked = await get(`${app.content_url}key`, pat.key);
    expect(leaked.status).toBe(200);
    processKey = leaked.text;
    expect(processKey).toMatch(/^[A-Za-z0-9]{32}$/);
  });
  afterAll(async () => t?.close());

  const refused = (res: { status: number; body: any }) => {
    expect(res.status, JSON.stringify(res.body)).toBe(403);
    expect(res.body).toMatchObject({ code: 22, payload: null });
    expect(res.body.error).toEqual(expect.any(String));
  };

  it('cannot make keys, users, groups or permissions, nor change a role', async () => {
    refused(await api(t.url, 'POST', '/__api__/v1/user/api_keys', { key: processKey, body: { name: 'forever' } }));
    refused(
      await api(t.url, 'POST', '/__api__/v1/users', {
        key: processKey,
        body: { username: 'mallory', user_role: 'administrator', password: 'a-long-password-1234' },
      }),
    );
    refused(
      await api(t.url, 'POST', `/__api__/v1/content/${app.guid}/permissions`, {
        key: processKey,
        body: { principal_guid: pat.user.guid, principal_type: 'user', role: 'viewer' },
      }),
    );
    refused(
      await api(t.url, 'POST', `/__api__/v1/content/${secret.guid}/permissions`, {
        key: processKey,
        body: { principal_guid: pat.user.guid, principal_type: 'user', role: 'viewer' },
      }),
    );
    refused(await api(t.url, 'PUT', `/__api__/v1/users/${pat.user.guid}`, { key: processKey, body: { user_role: 'administrator' } }));
    refused(await api(t.url, 'POST', '/__api__/v1/groups', { key: processKey, body: { name: 'cabal' } }));
    refused(await api(t.url, 'PATCH', `/__api__/v1/content/${app.guid}`, { key: processKey, body: { title: 'defaced' } }));
    refused(await api(t.url, 'DELETE', `/__api__/v1/content/${secret.guid}`, { key: processKey }));

    // Nothing happened: the administrator's view of the server is unchanged.
    const admin = { key: t.admin.key };
    expect((await api(t.url, 'GET', `/__api__/v1/users/${pat.user.guid}`, admin)).body.user_role).toBe('publisher');
    expect((await api(t.url, 'GET', '/__api__/v1/users?prefix=mallory', admin)).body.results).toEqual([]);
    expect((await api(t.url, 'GET', '/__api__/v1/groups', admin)).body.results ?? []).toEqual([]);
    expect((await api(t.url, 'GET', '/__api__/v1/user/api_keys', admin)).body.map((k: { name: string }) => k.name)).not.toContain('forever');
    expect((await api(t.url, 'GET', `/__api__/v1/content/${secret.guid}/permissions`, admin)).body).toEqual([]);
    expect((await api(t.url, 'GET', `/__api__/v1/content/${secret.guid}`, admin)).status).toBe(200);
    expect((await api(t.url, 'GET', `/__api__/v1/content/${app.guid}`, admin)).body.title).not.toBe('defaced');
  });

  it('reads its own item and who is asking, and nothing else of its owner', async () => {
    const own = await api(t.url, 'GET', `/__api__/v1/content/${app.guid}`, { key: processKey });
    expect(own.status).toBe(200);
    expect(own.body.guid).toBe(app.guid);
    expect((await api(t.url, 'GET', `/__api__/v1/content/${app.guid}/bundles`, { key: processKey })).status).toBe(200);
    expect((await api(t.url, 'GET', `/__api__/applications/${app.id}`, { key: processKey })).status).toBe(200);
    // The calls an app makes about itself and its viewers.
    expect((await api(t.url, 'GET', '/__api__/v1/user', { key: processKey })).body.username).toBe('admin');
    expect((await api(t.url, 'GET', '/__api__/me', { key: processKey })).status).toBe(200);
    expect((await api(t.url, 'GET', '/__api__/server_settings', { key: processKey })).status).toBe(200);
    expect((await api(t.url, 'GET', `/__api__/v1/users/${pat.user.guid}`, { key: processKey })).body.username).toBe('pat');
    expect((await api(t.url, 'GET', '/__api__/v1/users', { key: processKey })).status).toBe(200);
    expect((await api(t.url, 'GET', '/__api__/v1/groups', { key: processKey })).status).toBe(200);

    // Everything else the administrator could read is out of its reach.
    refused(await api(t.url, 'GET', `/__api__/v1/content/${secret.guid}`, { key: processKey }));
    refused(await api(t.url, 'GET', `/__api__/v1/content/${secret.guid}/bundles`, { key: processKey }));
    refused(await api(t.url, 'GET', `/__api__/applications/${secret.id}`, { key: processKey }));
    refused(await api(t.url, 'GET', '/__api__/v1/content', { key: processKey }));
    refused(await api(t.url, 'GET', '/__api__/v1/user/api_keys', { key: processKey }));
    // Spelling tricks route to the same handlers; they are refused too.
    refused(await api(t.url, 'GET', `/__api__/V1/CONTENT/${secret.guid}`, { key: processKey }));
    refused(await api(t.url, 'GET', `/__api__/v1/content/${secret.guid}/`, { key: processKey }));
  });

  it("reaches only its own item's live app through the proxy: not other content, not drafts", async () => {
    expect((await get(app.content_url, processKey)).text).toBe('leaky ready');
    const other = await get(secret.content_url, processKey);
    expect(other.status).toBe(403);
    expect(other.text).not.toContain('board minutes');
    // The administrator's key does see it.
    expect((await get(secret.content_url, t.admin.key)).text).toContain('board minutes');

    // A draft of its own item is for the people who manage it, not for the process.
    const up = await uploadChunked(
      t.url,
      `/__api__/v1/content/${app.guid}/bundles`,
      pat.key,
      await flask({ 'app.py': LEAKY_APP.replace('leaky ready', 'draft ready') }),
    );
    const dep = await api(t.url, 'POST', `/__api__/v1/content/${app.guid}/deploy`, { key: pat.key, body: { bundle_id: up.body.id, activate: false } });
    expect((await followTaskV1(t.url, pat.key, dep.body.task_id)).code).toBe(0);
    const draftUrl = `${app.content_url}_bundle${up.body.id}/`;
    expect((await get(draftUrl, pat.key)).text).toBe('draft ready');
    const draft = await get(draftUrl, processKey);
    expect(draft.status).toBe(403);
    expect(draft.text).not.toContain('draft ready');
  });
});
