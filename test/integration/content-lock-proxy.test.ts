import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeBundle } from '../helpers/bundles.ts';
import { DATABASES } from '../helpers/databases.ts';
import { deployBundle, get } from '../helpers/deploy.ts';
import { api, startTestServer, type TestServer } from '../helpers/server.ts';
import { handshake } from '../helpers/websocket.ts';

const APP = `
const http = require('http');
http.createServer((req, res) => res.end('the app answered')).listen(Number(process.env.PORT), process.env.HOST);
`;

describe.each(DATABASES)('a locked app is neither started nor reached by the proxy (%s)', (kind) => {
  let t: TestServer;
  let owner: { key: string };
  let viewer: { key: string };
  beforeAll(async () => {
    t = await startTestServer(kind);
    owner = await t.createUser('lock-owner', 'publisher');
    viewer = await t.createUser('lock-viewer', 'viewer');
  });
  afterAll(async () => t?.close());

  const running = async (guid: string) =>
    ((await api(t.url, 'GET', `/__api__/v1/content/${guid}/jobs`, { key: owner.key })).body as Array<{ status: number; tag: string }>).filter(
      (j) => j.status === 0 && j.tag === 'run_app',
    ).length;

  it('stops its processes, keeps none warm, serves the message instead, and runs again once unlocked', async () => {
    const d = await deployBundle(t.url, owner.key, 'lockable-app', await makeBundle({ 'server.js': APP }, { appmode: 'nodejs', entrypoint: 'server.js' }), {
      access_type: 'logged_in',
      min_processes: 1,
    });
    expect(d.task.code, d.log).toBe(0);
    const { guid } = d.content;
    const url = `${t.url}/content/${guid}/`;
    expect((await get(url, viewer.key)).text).toBe('the app answered');
    await expect.poll(() => running(guid), { timeout: 30_000, interval: 300 }).toBe(1);

    const locked = await api(t.url, 'PATCH', `/__api__/v1/content/${guid}`, {
      key: owner.key,
      body: { locked: true, locked_message: 'Retired: use *the new one*.' },
    });
    expect(locked.status).toBe(200);
    await expect.poll(() => running(guid), { timeout: 30_000, interval: 300 }).toBe(0);

    const page = await get(url, viewer.key);
    expect(page.status).toBe(200);
    expect(page.text).toContain('Retired: use *the new one*.');
    expect(page.text).not.toContain('the app answered');
    expect(await handshake(url, { authorization: `Key ${viewer.key}` })).toBe(403);
    // Nothing started it again: not the requests, not min_processes.
    await new Promise((r) => setTimeout(r, 2000));
    expect(await running(guid)).toBe(0);

    await api(t.url, 'PATCH', `/__api__/v1/content/${guid}`, { key: owner.key, body: { locked: false } });
    await expect.poll(async () => (await get(url, viewer.key)).text, { timeout: 30_000, interval: 500 }).toBe('the app answered');
  });
});
