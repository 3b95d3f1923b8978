import type { Duplex } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, uploadChunked } from '../helpers/bundles.ts';
import { DATABASES } from '../helpers/databases.ts';
import { deployBundle } from '../helpers/deploy.ts';
import { openSession } from '../helpers/ws-session.ts';
import { api, startTestServer, type TestServer } from '../helpers/server.ts';
import { followTaskV1 } from '../helpers/tasks.ts';

describe.each(DATABASES)('process scaling on %s', (kind) => {
  let t: TestServer;
  let key: string;
  beforeAll(async () => {
    t = await startTestServer(kind);
    key = (await t.createUser('scaler', 'publisher')).key;
  });
  afterAll(async () => t?.close());

  const running = async (guid: string) =>
    (await api(t.url, 'GET', `/__api__/v1/content/${guid}/jobs`, { key })).body.filter(
      (j: { status: number; tag: string }) => j.status === 0 && j.tag === 'run_app',
    ) as Array<{ key: string; bundle_id: string }>;

  it('spreads 60 sessions over 3 processes of 20, refuses the 61st, and reaps idle processes', async () => {
    const d = await deployBundle(t.url, key, 'busy-shiny', fixture('r-shiny.tar.gz'), { max_processes: 3, max_conns_per_process: 20, idle_timeout: 2 });
    expect(d.task.code, d.log).toBe(0);
    const ws = `${t.url}/content/${d.content.guid}/websocket/`;
    const sessions: Duplex[] = [];
    for (let i = 0; i < 60; i++) {
      const s = await openSession(ws, key);
      expect(s.status, `session ${i + 1}`).toBe(101);
      sessions.push(s.socket!);
    }
    expect(await running(d.content.guid)).toHaveLength(3);
    const extra = await openSession(ws, key);
    expect(extra.status).toBe(503);

    for (const s of sessions) s.destroy();
    // Idle for longer than idle_timeout: stopped (min_processes is 0).
    await expect.poll(async () => (await running(d.content.guid)).length, { timeout: 20_000, interval: 500 }).toBe(0);
    // And the next visitor starts one again.
    const again = await openSession(ws, key);
    expect(again.status).toBe(101);
    again.socket!.destroy();
  });

  it('after a redeploy sends new sessions to the new bundle and drains the old one', async () => {
    const d = await deployBundle(t.url, key, 'redeployed-shiny', fixture('r-shiny.tar.gz'));
    const ws = `${t.url}/content/${d.content.guid}/websocket/`;
    const old = await openSession(ws, key);
    expect(old.status).toBe(101);

    const up = await uploadChunked(t.url, `/__api__/v1/content/${d.content.guid}/bundles`, key, fixture('r-shiny.tar.gz'));
    const dep = await api(t.url, 'POST', `/__api__/v1/content/${d.content.guid}/deploy`, { key, body: { bundle_id: up.body.id } });
    expect((await followTaskV1(t.url, key, dep.body.task_id)).code).toBe(0);

    const fresh = await openSession(ws, key);
    expect(fresh.status).toBe(101);
    const procs = await running(d.content.guid);
    // The old session's process lives on while the session does.
    expect(procs.map((p) => p.bundle_id).sort()).toEqual([d.bundleId, up.body.id].sort());
    old.socket!.destroy();
    await expect.poll(async () => (await running(d.content.guid)).map((p) => p.bundle_id), { timeout: 10_000, interval: 300 }).toEqual([up.body.id]);
    fresh.socket!.destroy();
  });

  it('keeps a browser session on its process with a cookie', async () => {
    const d = await deployBundle(t.url, key, 'sticky-shiny', fixture('r-shiny.tar.gz'));
    const page = await fetch(d.content.content_url, { headers: { authorization: `Key ${key}` } });
    const sticky = page.headers.getSetCookie().find((c) => c.startsWith('lectern_p_'));
    expect(sticky).toMatch(new RegExp(`^lectern_p_[0-9a-f]{8}=\\w+; Path=/content/${d.content.guid}/; HttpOnly; SameSite=Lax$`));
    const [job] = await running(d.content.guid);
    expect(sticky).toContain(`=${job!.key};`);
  });

  it('keeps min_processes running however idle they are', async () => {
    const d = await deployBundle(t.url, key, 'warm-shiny', fixture('r-shiny.tar.gz'), { min_processes: 2, idle_timeout: 1 });
    expect(d.task.code, d.log).toBe(0);
    await expect.poll(async () => (await running(d.content.guid)).length, { timeout: 30_000, interval: 500 }).toBe(2);
    // Well past idle_timeout: still two.
    await new Promise((r) => setTimeout(r, 3000));
    const two = await running(d.content.guid);
    expect(two).toHaveLength(2);
    // Lowering min_processes lets the idle ones go.
    const patched = await api(t.url, 'PATCH', `/__api__/v1/content/${d.content.guid}`, { key, body: { min_processes: 0 } });
    expect(patched.status).toBe(200);
    await expect.poll(async () => (await running(d.content.guid)).length, { timeout: 30_000, interval: 500 }).toBe(0);
  });

  it("holds publishers to the server's ceilings", async () => {
    const create = await api(t.url, 'POST', '/__api__/v1/content', { key, body: { name: 'too-many-procs', max_processes: 21 } });
    expect(create.status).toBe(400);
    expect(create.body.error).toMatch(/max_processes may be at most 20/);
    const c = await api(t.url, 'POST', '/__api__/v1/content', { key, body: { name: 'ceiling-check' } });
    expect(c.status).toBe(201);
    const tooWarm = await api(t.url, 'PATCH', `/__api__/v1/content/${c.body.guid}`, { key, body: { min_processes: 25 } });
    expect(tooWarm.status).toBe(400);
    expect(tooWarm.body.error).toMatch(/min_processes may be at most 20/);
    const inverted = await api(t.url, 'PATCH', `/__api__/v1/content/${c.body.guid}`, { key, body: { min_processes: 3, max_processes: 2 } });
    expect(inverted.status).toBe(400);
    expect(inverted.body.error).toMatch(/min_processes \(3\) may not exceed max_processes \(2\)/);
    const fine = await api(t.url, 'PATCH', `/__api__/v1/content/${c.body.guid}`, { key, body: { min_processes: 2, max_processes: 20 } });
    expect(fine.status).toBe(200);
  });
});
