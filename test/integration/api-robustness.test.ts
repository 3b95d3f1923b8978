import { readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TaskRepo } from '../../src/repositories/task-repo.ts';
import { TaskService } from '../../src/services/tasks/task-service.ts';
import { staticBundle, uploadChunked } from '../helpers/bundles.ts';
import { DATABASES } from '../helpers/databases.ts';
import { api, startTestServer, type TestServer } from '../helpers/server.ts';

describe.each(DATABASES)('odd input to the publishing API on %s', (kind) => {
  let t: TestServer;
  let pub: Awaited<ReturnType<TestServer['createUser']>>;
  let guid: string;
  let bundleId: string;
  beforeAll(async () => {
    t = await startTestServer(kind);
    pub = await t.createUser('pub', 'publisher');
    guid = (await api(t.url, 'POST', '/__api__/v1/content', { key: pub.key, body: { name: 'robust' } })).body.guid;
    bundleId = (await uploadChunked(t.url, `/__api__/v1/content/${guid}/bundles`, pub.key, await staticBundle('<p>r</p>'))).body.id;
  });
  afterAll(async () => t?.close());

  it('answers malformed and out-of-range ids with 404, never 500', async () => {
    const big = '99999999999';
    const paths = [
      '/__api__/v1/content/not-a-uuid',
      `/__api__/v1/content?owner_guid=xyz`,
      `/__api__/applications/${big}`,
      `/__api__/v1/content/${guid}/bundles/${big}`,
      '/__api__/v1/users/not-a-uuid',
      `/__api__/v1/tasks/${'x'.repeat(300)}`,
    ];
    for (const p of paths) {
      const res = await api(t.url, 'GET', p, { key: pub.key });
      expect(res.status, p).toBe(p.includes('owner_guid') ? 200 : 404);
    }
    expect((await api(t.url, 'DELETE', '/__api__/v1/user/api_keys/not-a-uuid', { key: pub.key })).status).toBe(404);
    expect((await api(t.url, 'POST', `/__api__/v1/content/${guid}/deploy`, { key: pub.key, body: { bundle_id: big } })).status).toBe(404);
    for (const p of ['/content/not-a-uuid/', `/content/${guid}/_bundle${big}/`]) {
      expect((await fetch(`${t.url}${p}`, { headers: { authorization: `Key ${pub.key}` } })).status, p).toBe(404);
    }
  });

  it('ignores inherited property names in JSON bodies', async () => {
    const res = await api(t.url, 'PATCH', `/__api__/v1/content/${guid}`, {
      key: pub.key,
      body: { constructor: 1, toString: 2, __proto__: { x: 1 }, title: 'Still fine' },
    });
    expect(res.status).toBe(200);
    expect(res.body.title).toBe('Still fine');
    const made = await api(t.url, 'POST', '/__api__/v1/content', { key: pub.key, body: { name: 'proto-name', toString: 1 } });
    expect(made.status).toBe(201);
  });

  it('answers malformed multipart uploads with 400 and keeps no file', async () => {
    const url = `${t.url}/__api__/v1/content/${guid}/bundles`;
    const noBoundary = await fetch(url, {
      method: 'POST',
      headers: { authorization: `Key ${pub.key}`, 'content-type': 'multipart/form-data' },
      body: 'garbage',
    });
    expect(noBoundary.status).toBe(400);
    const cut = await fetch(url, {
      method: 'POST',
      headers: { authorization: `Key ${pub.key}`, 'content-type': 'multipart/form-data; boundary=XYZ' },
      body: '--XYZ\r\nContent-Disposition: form-data; name="archive"; filename="b.tar.gz"\r\n\r\nabc',
    });
    expect(cut.status).toBe(400);
    const form = new FormData();
    form.append('archive', new Blob([new Uint8Array(await staticBundle('<p>m</p>'))]), 'bundle.tar.gz');
    form.append('metadata', 'not json');
    const badMeta = await fetch(url, { method: 'POST', headers: { authorization: `Key ${pub.key}` }, body: form });
    expect(badMeta.status).toBe(400);
    expect(readdirSync(path.join(t.db.dataDir, 'tmp'))).toEqual([]);
  });

  it('refuses to delete a bundle that a deploy is using', async () => {
    const content = (await t.server.ctx.repos.content.byGuid(guid))!;
    const task = await t.server.ctx.tasks.create({ contentId: content.id, bundleId: Number(bundleId), userId: pub.user.id, kind: 'deploy', activate: true });
    const res = await api(t.url, 'DELETE', `/__api__/v1/content/${guid}/bundles/${bundleId}`, { key: pub.key });
    expect(res.status).toBe(409);
    expect(res.body.error).toMatch(/deploy of this bundle is running/);
    await t.server.ctx.tasks.finish(task.id, 0);
  });

  it('lets only administrators choose the account content runs as', async () => {
    expect((await api(t.url, 'PATCH', `/__api__/v1/content/${guid}`, { key: pub.key, body: { run_as: 'root' } })).status).toBe(403);
    expect((await api(t.url, 'POST', '/__api__/v1/content', { key: pub.key, body: { name: 'runas', run_as_current_user: true } })).status).toBe(403);
    const admin = await api(t.url, 'PATCH', `/__api__/v1/content/${guid}`, { key: t.admin.key, body: { run_as: 'svc-reports' } });
    expect(admin.status).toBe(200);
    expect(admin.body.run_as).toBe('svc-reports');
    // A publisher can still save other fields of an item whose run_as an administrator set.
    expect((await api(t.url, 'PATCH', `/__api__/v1/content/${guid}`, { key: pub.key, body: { title: 'ok' } })).status).toBe(200);
  });

  it('explains a name taken by content the caller cannot see', async () => {
    const other = await t.createUser('other', 'publisher');
    const res = await api(t.url, 'POST', '/__api__/v1/content', { key: other.key, body: { name: 'robust' } });
    expect(res.status).toBe(409);
    expect(res.body.error).toMatch(/already taken on this server.*appName/);
  });

  it('still finishes a task after one of its log lines failed to save', async () => {
    const content = (await t.server.ctx.repos.content.byGuid(guid))!;
    class FlakyRepo extends TaskRepo {
      override async appendLine(taskId: string, seq: number, line: string) {
        if (line === 'boom') throw new Error('disk full');
        return super.appendLine(taskId, seq, line);
      }
    }
    const tasks = new TaskService(new FlakyRepo(t.server.ctx.db.knex));
    const task = await tasks.create({ contentId: content.id, bundleId: Number(bundleId), userId: pub.user.id, kind: 'deploy', activate: true });
    await tasks.log(task.id, 'one');
    await expect(tasks.log(task.id, 'boom')).rejects.toThrow('disk full');
    await tasks.log(task.id, 'two');
    await tasks.finish(task.id, 0);
    const page = await tasks.read(task.id, 0, 0);
    expect(page.task.finished).toBe(true);
    expect(page.lines).toEqual(['one', 'two']);
    expect(page.last).toBe(2);
  });
});
