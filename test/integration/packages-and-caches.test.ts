import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture } from '../helpers/bundles.ts';
import { DATABASES } from '../helpers/databases.ts';
import { deployBundle, get } from '../helpers/deploy.ts';
import { api, startTestServer, type TestServer } from '../helpers/server.ts';
import { followTaskV1 } from '../helpers/tasks.ts';

const LOCAL_INDEX = 'file:///opt/pypi/simple';
const CACHES = '/__api__/v1/system/caches/runtime';

type Pkg = { language: string; name: string; version: string; hash: string | null };

// What content runs with (connect-api-next.md §9.5, §9.6) and the runtime caches (§9.4), with
// real Flask and Plumber bundles deployed on the local backend.
describe.each(DATABASES)('packages and runtime caches on %s', (kind) => {
  let t: TestServer;
  let pub: { key: string };
  let viewer: { key: string; user: { guid: string } };
  let flask: { guid: string; content_url: string };
  let plumber: { guid: string };
  let empty: { guid: string };

  beforeAll(async () => {
    if (!existsSync('/opt/pypi/simple')) throw new Error('the local package index /opt/pypi/simple is missing');
    t = await startTestServer(kind, { config: { runtime: { pythonIndexUrl: LOCAL_INDEX }, runtimeCaches: { allowManagement: true } } as never });
    pub = await t.createUser('pkgpub', 'publisher');
    viewer = (await t.createUser('pkgview', 'viewer')) as never;
    const f = await deployBundle(t.url, pub.key, 'pkg-flask', fixture('py-flask-api.tar.gz'));
    expect(f.task.code, f.log).toBe(0);
    flask = f.content;
    const p = await deployBundle(t.url, pub.key, 'pkg-plumber', fixture('r-plumber.tar.gz'));
    expect(p.task.code, p.log).toBe(0);
    plumber = p.content;
    empty = (await api(t.url, 'POST', '/__api__/v1/content', { key: pub.key, body: { name: 'pkg-empty' } })).body;
  });
  afterAll(async () => t?.close());

  const list = async (query: string, key = pub.key) => {
    const res = await api(t.url, 'GET', `/__api__/v1/packages${query}`, { key });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body as { current_page: number; total: number; results: Record<string, unknown>[] };
  };

  it("lists a Flask bundle's packages, sorted by language then name, with flask at its version", async () => {
    const res = await api(t.url, 'GET', `/__api__/v1/content/${flask.guid}/packages?language=python&unknown=1`, { key: pub.key });
    expect(res.status).toBe(200);
    const pkgs = res.body as Pkg[];
    for (const p of pkgs) expect(Object.keys(p).sort()).toEqual(['hash', 'language', 'name', 'version']);
    const flaskPkg = pkgs.find((p) => p.name.toLowerCase() === 'flask');
    expect(flaskPkg).toEqual({ language: 'Python', name: expect.stringMatching(/^flask$/i), version: '2.2.2', hash: null });
    const keys = pkgs.map((p) => `${p.language}\u0000${p.name}`);
    expect(keys).toEqual([...keys].sort());
  });

  it("lists an R bundle's packages: what its manifest names, at the versions R loads", async () => {
    const res = await api(t.url, 'GET', `/__api__/v1/content/${plumber.guid}/packages`, { key: pub.key });
    expect(res.status).toBe(200);
    const pkgs = res.body as Pkg[];
    expect(pkgs.every((p) => p.language === 'R')).toBe(true);
    const names = pkgs.map((p) => p.name);
    expect(names).toEqual(expect.arrayContaining(['plumber', 'jsonlite', 'httpuv', 'R6']));
    expect(pkgs.find((p) => p.name === 'plumber')!.version).toMatch(/^\d+\.\d+/);
    // Only what the bundle uses, not the whole server library (shiny is installed, plumber does not need it).
    expect(names).not.toContain('shiny');
  });

  it('answers 204 for an item never deployed, 404 for one the caller cannot see', async () => {
    const none = await api(t.url, 'GET', `/__api__/v1/content/${empty.guid}/packages`, { key: pub.key });
    expect(none.status).toBe(204);
    expect(none.body).toBe('');
    const hidden = await api(t.url, 'GET', `/__api__/v1/content/${flask.guid}/packages`, { key: viewer.key });
    expect(hidden.status).toBe(404);
    expect(hidden.body.code).toBe(4);
    expect((await api(t.url, 'GET', `/__api__/v1/content/${flask.guid}/packages`)).status).toBe(401);
  });

  it('pages GET /v1/packages with only current_page, total and results', async () => {
    const all = await list('?page_size=5000');
    expect(Object.keys(all).sort()).toEqual(['current_page', 'results', 'total']);
    expect(all.current_page).toBe(1);
    expect(all.total).toBe(all.results.length);
    expect(all.total).toBeGreaterThan(10);
    for (const r of all.results) {
      expect(Object.keys(r).sort()).toEqual(
        ['app_guid', 'app_id', 'bundle_id', 'content_guid', 'content_id', 'hash', 'language', 'language_version', 'name', 'version'].sort(),
      );
      expect(r.bundle_id).toMatch(/^\d+$/);
      expect(r.content_id).toMatch(/^\d+$/);
      expect(r.app_id).toBe(r.content_id);
      expect(r.app_guid).toBe(r.content_guid);
      expect(r.language_version).toMatch(/^\d+\.\d+\.\d+$/);
    }
    // Ascending by name by default; asc_order=false reverses it.
    const names = all.results.map((r) => r.name as string);
    expect(names).toEqual([...names].sort());
    const desc = await list('?asc_order=false&page_size=5000');
    expect(desc.results.map((r) => r.name as string)).toEqual([...names].sort().reverse());

    // A page is 100 packages unless the client asks otherwise.
    const first = await list('');
    expect(first.results).toEqual(all.results.slice(0, 100));
    expect(first.total).toBe(all.total);
    const p1 = await list('?page_size=3&page_number=1');
    const p2 = await list('?page_size=3&page_number=2');
    expect(p1).toMatchObject({ current_page: 1, total: all.total });
    expect(p2).toMatchObject({ current_page: 2, total: all.total });
    expect(p1.results).toEqual(all.results.slice(0, 3));
    expect(p2.results).toEqual(all.results.slice(3, 6));
    // posit-sdk-py asks for a million a page, connectapi for 100000: both get everything.
    expect((await list('?page_size=1000000')).results).toHaveLength(all.total);
    expect((await list(`?page_number=${all.total + 1}`)).results).toEqual([]);
    expect((await list(`?page_size=5000&page_number=2`)).results).toEqual([]);
    expect((await api(t.url, 'GET', '/__api__/v1/packages?page_size=0', { key: pub.key })).status).toBe(400);
  });

  it('filters by name, and answers 200 with nothing when nothing matches', async () => {
    const f = await list('?name=flask');
    expect(f.total).toBe(1);
    expect(f.results[0]).toMatchObject({ language: 'Python', version: '2.2.2', content_guid: flask.guid, app_guid: flask.guid });
    expect(String(f.results[0]!.name).toLowerCase()).toBe('flask');
    const r = await list('?name=plumber');
    expect(r.results).toHaveLength(1);
    expect(r.results[0]).toMatchObject({ language: 'R', content_guid: plumber.guid });
    expect(await list('?name=no-such-package')).toEqual({ current_page: 1, total: 0, results: [] });
  });

  it('shows each user the packages of the content they may see', async () => {
    expect(await list('?name=flask', viewer.key)).toEqual({ current_page: 1, total: 0, results: [] });
    const granted = await api(t.url, 'POST', `/__api__/v1/content/${flask.guid}/permissions`, {
      key: pub.key,
      body: { principal_guid: viewer.user.guid, principal_type: 'user', role: 'viewer' },
    });
    expect(granted.status).toBeLessThan(300);
    expect((await list('?name=flask', viewer.key)).total).toBe(1);
    expect((await list('?name=plumber', viewer.key)).total).toBe(0);
    const own = await api(t.url, 'GET', `/__api__/v1/content/${flask.guid}/packages`, { key: viewer.key });
    expect(own.status).toBe(200);
    // Administrators see everything.
    expect((await list('?name=plumber', t.admin.key)).total).toBe(1);
  });

  it('gives the lockfile of a managed Python environment, and a Connect error otherwise', async () => {
    const res = await fetch(`${t.url}/__api__/v1/content/${flask.guid}/lockfile`, { headers: { authorization: `Key ${pub.key}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('generated-by')).toMatch(/^connect; python=\d+\.\d+\.\d+$/);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const lines = (await res.text()).trim().split('\n');
    expect(lines).toContainEqual(expect.stringMatching(/^flask==2\.2\.2$/i));
    expect(lines.every((l) => /^[A-Za-z0-9._+-]+==\S+$/.test(l))).toBe(true);
    expect(lines.some((l) => /^pip==/i.test(l))).toBe(false);
    for (const guid of [plumber.guid, empty.guid]) {
      const no = await api(t.url, 'GET', `/__api__/v1/content/${guid}/lockfile`, { key: pub.key });
      expect(no.status).toBe(404);
      expect(Object.keys(no.body).sort()).toEqual(['code', 'error', 'payload']);
      expect(no.body.code).toBe(4);
    }
  });

  it('lets administrators alone see the runtime caches', async () => {
    const res = await api(t.url, 'GET', CACHES, { key: pub.key });
    expect(res.status).toBe(403);
    const mine = await api(t.url, 'GET', CACHES, { key: t.admin.key });
    expect(mine.status).toBe(200);
    expect(Object.keys(mine.body)).toEqual(['caches']);
    expect(mine.body.caches).toContainEqual({ language: 'Python', version: expect.stringMatching(/^\d+\.\d+\.\d+$/), image_name: 'Local' });
    expect((await api(t.url, 'DELETE', CACHES, { key: pub.key, body: mine.body.caches[0] })).status).toBe(403);
  });

  it('refuses an unknown cache (404, code 4) and ill-typed requests (400)', async () => {
    const unknown = await api(t.url, 'DELETE', CACHES, { key: t.admin.key, body: { language: 'Python', version: '1.0.0', image_name: 'Local' } });
    expect(unknown.status).toBe(404);
    expect(unknown.body).toEqual({ code: 4, error: 'Cache does not exist', payload: null });
    const julia = await api(t.url, 'DELETE', CACHES, { key: t.admin.key, body: { language: 'Julia', version: '1.0.0', image_name: 'Local' } });
    expect(julia.status).toBe(404);
    for (const body of [{ language: 3, version: '3.11.2' }, { language: 'Python', version: '3.11.2', dry_run: 'yes' }, { language: 'Python' }]) {
      const bad = await api(t.url, 'DELETE', CACHES, { key: t.admin.key, body });
      expect(bad.status, JSON.stringify(body)).toBe(400);
      expect(bad.body.code).toBe(25);
    }
  });

  it('dry-runs, then removes a cache as a task; the content it held rebuilds', async () => {
    const before = (await api(t.url, 'GET', CACHES, { key: t.admin.key })).body.caches as { language: string; version: string; image_name: string }[];
    const python = before.find((c) => c.language === 'Python')!;

    const dry = await api(t.url, 'DELETE', CACHES, { key: t.admin.key, body: { ...python, dry_run: true } });
    expect(dry.status).toBe(200);
    expect(dry.body).toEqual({ ...python, task_id: null });
    expect((await api(t.url, 'GET', CACHES, { key: t.admin.key })).body.caches).toHaveLength(before.length);

    // posit-sdk-py's lower-case spelling, and no dry_run: a real removal.
    const real = await api(t.url, 'DELETE', CACHES, { key: t.admin.key, body: { language: 'python', version: python.version, image_name: 'Local' } });
    expect(real.status).toBe(200);
    expect(real.body).toEqual({ ...python, task_id: expect.any(String) });
    const task = await followTaskV1(t.url, t.admin.key, real.body.task_id);
    expect(task.code, task.output.join('\n')).toBe(0);
    expect(task.output.join('\n')).toMatch(/Removed the Python .* runtime cache/);
    expect(task.output.join('\n')).toContain(`Stopping 1 process of content ${flask.guid}`);
    const after = (await api(t.url, 'GET', CACHES, { key: t.admin.key })).body.caches;
    expect(after).toHaveLength(before.length - 1);
    expect(after).not.toContainEqual(python);

    // The Flask app ran from it: stopped, it starts again with a rebuilt environment.
    const served = await get(flask.content_url, pub.key);
    expect(served.status, served.text).toBe(200);
    expect((await api(t.url, 'GET', CACHES, { key: t.admin.key })).body.caches).toContainEqual(python);
    // And a deploy builds afresh.
    const again = await deployBundle(t.url, pub.key, 'pkg-flask-again', fixture('py-flask-api.tar.gz'));
    expect(again.task.code, again.log).toBe(0);
    expect(again.log).toMatch(/Reusing the Python environment|Creating the Python environment/);

    const audit = await api(t.url, 'GET', '/__api__/v1/audit_logs?limit=100', { key: t.admin.key });
    const entry = (audit.body.results as { action: string; event_description: string }[]).find((e) => e.action === 'remove_runtime_cache');
    expect(entry?.event_description).toBe(`Removed the runtime cache Python ${python.version} (Local)`);
  });

  it('refuses runtime cache management with code 194 when the server does not allow it', async () => {
    const off = await startTestServer(kind);
    try {
      for (const [method, body] of [
        ['GET', undefined],
        ['DELETE', { language: 'Python', version: '3.11.2', image_name: 'Local' }],
      ] as const) {
        const res = await api(off.url, method, CACHES, { key: off.admin.key, body });
        expect(res.status).toBe(403);
        expect(res.body.code).toBe(194);
        expect(Object.keys(res.body).sort()).toEqual(['code', 'error', 'payload']);
      }
    } finally {
      await off.close();
    }
  });
});
