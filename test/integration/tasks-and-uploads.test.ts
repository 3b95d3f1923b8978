import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { staticBundle, uploadChunked } from '../helpers/bundles.ts';
import { DATABASES } from '../helpers/databases.ts';
import { file, gzip, manifestFor, symlink, tar } from '../helpers/make-tar.ts';
import { api, startTestServer, type TestServer } from '../helpers/server.ts';

describe.each(DATABASES)('deploy tasks and uploads on %s', (kind) => {
  let t: TestServer;
  afterEach(async () => t?.close());

  async function contentWithBundle(key: string, name: string) {
    const c = (await api(t.url, 'POST', '/__api__/v1/content', { key, body: { name } })).body;
    const up = await uploadChunked(t.url, `/__api__/v1/content/${c.guid}/bundles`, key, await staticBundle('<p>x</p>'));
    const content = (await t.server.ctx.repos.content.byGuid(c.guid))!;
    return { c, content, bundleId: Number(up.body.id) };
  }

  it('holds a long-poll open until there is output, then answers with it', async () => {
    t = await startTestServer(kind);
    const pub = await t.createUser('pub', 'publisher');
    const { content, bundleId } = await contentWithBundle(pub.key, 'longpoll');
    // A task as a running deploy would have it: started, no output yet.
    const task = await t.server.ctx.tasks.create({ contentId: content.id, bundleId, userId: pub.user.id, kind: 'deploy', activate: true });

    const immediate = await api(t.url, 'GET', `/__api__/v1/tasks/${task.id}?wait=0`, { key: pub.key });
    expect(immediate.body).toMatchObject({ output: [], last: 0, finished: false, code: 0 });

    let answered = false;
    const pending = api(t.url, 'GET', `/__api__/v1/tasks/${task.id}?wait=30`, { key: pub.key }).then((r) => ((answered = true), r));
    await new Promise((r) => setTimeout(r, 300));
    expect(answered).toBe(false); // waiting, not answering empty-handed
    await t.server.ctx.tasks.log(task.id, 'Restoring packages...');
    const res = await pending;
    expect(res.body).toMatchObject({ output: ['Restoring packages...'], last: 1, finished: false });

    // The end of the task also wakes a waiting reader.
    const waiting = api(t.url, 'GET', `/__api__/v1/tasks/${task.id}?first=1&wait=30`, { key: pub.key });
    await t.server.ctx.tasks.finish(task.id, 0);
    expect((await waiting).body).toMatchObject({ output: [], last: 1, finished: true, code: 0 });

    // v0 shape for the R client, and finished tasks stay readable.
    const v0 = await api(t.url, 'GET', `/__api__/tasks/${task.id}?first_status=0`, { key: pub.key });
    expect(v0.body).toMatchObject({ id: task.id, status: ['Restoring packages...'], last_status: 1, finished: true, code: 0, error: '' });
    expect((await api(t.url, 'GET', '/__api__/tasks', { key: pub.key })).body[0]).toMatchObject({ id: task.id, finished: true });

    // Nobody else reads it.
    const other = await t.createUser('other', 'publisher');
    expect((await api(t.url, 'GET', `/__api__/v1/tasks/${task.id}`, { key: other.key })).status).toBe(404);
  });

  it("re-renders only what its app mode's recipe calls rendered", async () => {
    t = await startTestServer(kind);
    const pub = await t.createUser('pub', 'publisher');
    const { c } = await contentWithBundle(pub.key, 'not-a-report');
    const res = await api(t.url, 'POST', `/__api__/v1/content/${c.guid}/render`, { key: pub.key });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatch(/^Only rendered content \(R Markdown, Jupyter, Quarto\) can be rendered; this is /);
  });

  it('marks a task interrupted by a restart as failed', async () => {
    t = await startTestServer(kind);
    const pub = await t.createUser('pub', 'publisher');
    const { content, bundleId } = await contentWithBundle(pub.key, 'restart');
    const task = await t.server.ctx.tasks.create({ contentId: content.id, bundleId, userId: pub.user.id, kind: 'deploy', activate: true });
    await t.server.ctx.tasks.log(task.id, 'Building...');
    await t.stop();
    t = await startTestServer(kind, { db: t.db });
    const res = await api(t.url, 'GET', `/__api__/v1/tasks/${task.id}?wait=5`, { key: pub.key });
    expect(res.body).toMatchObject({ output: ['Building...'], finished: true, code: 1 });
    expect(res.body.error).toMatch(/restarted/);
  });

  it('refuses bundles over the size or file limits, keeping nothing', async () => {
    t = await startTestServer(kind, { config: { bundles: { maxBytes: 64 * 1024, maxFiles: 3 } } as never });
    const pub = await t.createUser('pub', 'publisher');
    const c = (await api(t.url, 'POST', '/__api__/v1/content', { key: pub.key, body: { name: 'limits' } })).body;
    const url = `/__api__/v1/content/${c.guid}/bundles`;

    const big = await uploadChunked(t.url, url, pub.key, randomBytes(200 * 1024));
    expect(big.status).toBe(413);
    expect(big.body).toMatchObject({ code: 25, payload: null });
    expect(big.body.error).toContain('65536');

    const declared = await fetch(`${t.url}${url}`, {
      method: 'POST',
      headers: { authorization: `Key ${pub.key}`, 'content-type': 'application/x-gzip' },
      body: new Uint8Array(randomBytes(100 * 1024)),
    });
    expect(declared.status).toBe(413);

    // Small when compressed, huge when not: the extraction limit catches it.
    const bomb = await uploadChunked(t.url, url, pub.key, await staticBundle('<p>bomb</p>', { 'zeros.txt': '0'.repeat(1024 * 1024) }));
    expect(bomb.status).toBe(413);
    const many = await uploadChunked(t.url, url, pub.key, await staticBundle('<p>many</p>', { 'a.css': 'a', 'b.css': 'b', 'c.css': 'c' }));
    expect(many.status).toBe(413);
    expect(many.body.error).toMatch(/3/);

    expect((await api(t.url, 'GET', url, { key: pub.key })).body).toEqual([]);
    expect(readdirSync(path.join(t.db.dataDir, 'tmp'))).toEqual([]);
  });

  it('answers hostile and broken bundles with a 4xx in the Connect shape and keeps nothing', async () => {
    t = await startTestServer(kind);
    const pub = await t.createUser('pub', 'publisher');
    const c = (await api(t.url, 'POST', '/__api__/v1/content', { key: pub.key, body: { name: 'hostile' } })).body;
    const url = `/__api__/v1/content/${c.guid}/bundles`;
    const manifest = manifestFor('static', { 'index.html': '<p>x</p>' }, { primary_html: 'index.html' });
    const cases: Array<[string, Buffer, RegExp]> = [
      ['path traversal', gzip(tar([file('manifest.json', manifest), file('index.html', '<p>x</p>'), file('../../escape.txt', 'pwned')])), /escape/],
      ['absolute path', gzip(tar([file('manifest.json', manifest), file('index.html', '<p>x</p>'), file('/tmp/abs.txt', 'pwned')])), /abs\.txt/],
      ['symlink out', gzip(tar([file('manifest.json', manifest), file('index.html', '<p>x</p>'), symlink('passwd', '/etc/passwd')])), /passwd/],
      ['no manifest', gzip(tar([file('index.html', '<p>x</p>')])), /manifest\.json/],
      ['broken manifest', gzip(tar([file('manifest.json', '{"metadata": '), file('index.html', '<p>x</p>')])), /manifest/],
      ['unknown app mode', gzip(tar([file('manifest.json', manifestFor('cobol-batch', {})), file('index.html', '<p>x</p>')])), /cobol-batch/],
      ['missing primary file', gzip(tar([file('manifest.json', manifestFor('python-api', {}, { entrypoint: 'app:app' }))])), /app\.py/],
      ['wrong checksum', gzip(tar([file('manifest.json', manifest), file('index.html', '<p>changed</p>')])), /checksum/],
      ['not a tarball', randomBytes(4096), /tar/],
    ];
    for (const [name, body, message] of cases) {
      const res = await uploadChunked(t.url, url, pub.key, body);
      expect(res.status, name).toBeGreaterThanOrEqual(400);
      expect(res.status, name).toBeLessThan(500);
      expect(Object.keys(res.body).sort(), name).toEqual(['code', 'error', 'payload']);
      expect(res.body.error, name).toMatch(message);
    }
    expect((await api(t.url, 'GET', url, { key: pub.key })).body).toEqual([]);
    expect(readdirSync(path.join(t.db.dataDir, 'tmp'))).toEqual([]);
    expect(readdirSync(path.join(t.db.dataDir, 'bundles', c.guid))).toEqual([]);
  });
});
