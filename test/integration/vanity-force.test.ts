import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { staticBundle } from '../helpers/bundles.ts';
import { DATABASES } from '../helpers/databases.ts';
import { deployBundle, get } from '../helpers/deploy.ts';
import { api, startTestServer, type TestServer } from '../helpers/server.ts';

describe.each(DATABASES)('taking a vanity path with force (%s)', (kind) => {
  let t: TestServer;
  let alice: { key: string };
  let bob: { key: string };
  beforeAll(async () => {
    t = await startTestServer(kind);
    alice = await t.createUser('vf-alice', 'publisher');
    bob = await t.createUser('vf-bob', 'publisher');
  });
  afterAll(async () => t?.close());

  const vanity = (guid: string) => `/__api__/v1/content/${guid}/vanity`;

  it('is 409 VanityPathInUse without force or for someone who does not manage the holder, and moves the path for an administrator', async () => {
    const blue = await deployBundle(t.url, alice.key, 'blue', await staticBundle('<p>blue</p>'), { access_type: 'logged_in' });
    const green = await deployBundle(t.url, bob.key, 'green', await staticBundle('<p>green</p>'), { access_type: 'logged_in' });
    expect((await api(t.url, 'PUT', vanity(blue.content.guid), { key: alice.key, body: { path: '/live/' } })).status).toBe(200);

    for (const body of [{ path: '/live/' }, { path: '/live/', force: false }, { path: '/live/', force: true }]) {
      const refused = await api(t.url, 'PUT', vanity(green.content.guid), { key: bob.key, body });
      expect(refused.status, JSON.stringify(body)).toBe(409);
      expect(refused.body).toMatchObject({ code: 51, error: expect.stringContaining('taken'), payload: null });
    }
    expect((await get(`${t.url}/live/`, bob.key)).text).toContain('blue');

    // A nesting path stays refused, force or not: force moves an existing path, nothing else.
    const nested = await api(t.url, 'PUT', vanity(green.content.guid), { key: t.admin.key, body: { path: '/live/sub/', force: true } });
    expect(nested.status).toBe(409);

    const taken = await api(t.url, 'PUT', vanity(green.content.guid), { key: t.admin.key, body: { path: '/live/', force: true } });
    expect(taken.status).toBe(200);
    expect(taken.body).toMatchObject({ content_guid: green.content.guid, path: '/live/' });
    expect((await api(t.url, 'GET', vanity(blue.content.guid), { key: alice.key })).status).toBe(404);
    expect((await api(t.url, 'GET', '/__api__/v1/vanities', { key: t.admin.key })).body.filter((v: { path: string }) => v.path === '/live/')).toEqual([
      expect.objectContaining({ content_guid: green.content.guid }),
    ]);
    await expect.poll(async () => (await get(`${t.url}/live/`, alice.key)).text, { timeout: 10_000, interval: 250 }).toContain('green');
  });

  it('lets who manages both items take the path, as Connect documents', async () => {
    const one = (await api(t.url, 'POST', '/__api__/v1/content', { key: alice.key, body: { name: 'vf-one' } })).body;
    const two = (await api(t.url, 'POST', '/__api__/v1/content', { key: alice.key, body: { name: 'vf-two' } })).body;
    await api(t.url, 'PUT', vanity(one.guid), { key: alice.key, body: { path: '/mine/' } });
    expect((await api(t.url, 'PUT', vanity(two.guid), { key: alice.key, body: { path: '/mine/' } })).status).toBe(409);
    const moved = await api(t.url, 'PUT', vanity(two.guid), { key: alice.key, body: { path: '/mine/', force: true } });
    expect(moved.status).toBe(200);
    expect(moved.body.content_guid).toBe(two.guid);
  });
});
