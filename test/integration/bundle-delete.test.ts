import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { staticBundle, uploadChunked } from '../helpers/bundles.ts';
import { DATABASES } from '../helpers/databases.ts';
import { api, startTestServer, type TestServer } from '../helpers/server.ts';
import { followTaskV1 } from '../helpers/tasks.ts';

describe.each(DATABASES)('deleting bundles that are not active (%s)', (kind) => {
  let t: TestServer;
  let owner: { key: string };
  beforeAll(async () => {
    t = await startTestServer(kind);
    owner = await t.createUser('bd-owner', 'publisher');
  });
  afterAll(async () => t?.close());

  it('removes exactly the one asked for: the list, the bundle and its download are gone, the others stay', async () => {
    const c = (await api(t.url, 'POST', '/__api__/v1/content', { key: owner.key, body: { name: 'three-bundles' } })).body;
    const base = `/__api__/v1/content/${c.guid}/bundles`;
    const ids: string[] = [];
    for (const n of [1, 2, 3]) ids.push((await uploadChunked(t.url, base, owner.key, await staticBundle(`<p>v${n}</p>`))).body.id);
    // The first deployed as a draft (built, never active), the third active.
    for (const [id, activate] of [
      [ids[0], false],
      [ids[2], true],
    ] as const) {
      const dep = await api(t.url, 'POST', `/__api__/v1/content/${c.guid}/deploy`, { key: owner.key, body: { bundle_id: id, activate } });
      expect((await followTaskV1(t.url, owner.key, dep.body.task_id)).code).toBe(0);
    }
    const list = async () => ((await api(t.url, 'GET', base, { key: owner.key })).body as Array<{ id: string; active: boolean }>).map((b) => [b.id, b.active]);
    expect(await list()).toEqual([
      [ids[0], false],
      [ids[1], false],
      [ids[2], true],
    ]);

    for (const id of [ids[1], ids[0]]) expect((await api(t.url, 'DELETE', `${base}/${id}`, { key: owner.key })).status).toBe(200);
    expect(await list()).toEqual([[ids[2], true]]);
    expect((await api(t.url, 'GET', `${base}/${ids[1]}`, { key: owner.key })).status).toBe(404);
    expect((await api(t.url, 'GET', `${base}/${ids[0]}/download`, { key: owner.key })).status).toBe(404);
    expect((await api(t.url, 'DELETE', `${base}/${ids[1]}`, { key: owner.key })).status).toBe(404);

    // The active one stays, with Connect's DeleteActiveBundle (75).
    const active = await api(t.url, 'DELETE', `${base}/${ids[2]}`, { key: owner.key });
    expect(active.status).toBe(409);
    expect(active.body).toMatchObject({ code: 75 });
    expect(await list()).toEqual([[ids[2], true]]);
    expect((await api(t.url, 'GET', `/__api__/v1/content/${c.guid}`, { key: owner.key })).body.bundle_id).toBe(ids[2]);
  });
});
