import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, makeBundle, uploadChunked } from '../helpers/bundles.ts';
import { DATABASES } from '../helpers/databases.ts';
import { deployBundle, get } from '../helpers/deploy.ts';
import { containersOf, docker, imagesOf } from '../helpers/docker.ts';
import { api, startTestServer, type TestServer } from '../helpers/server.ts';
import { shinyRoundTrip } from '../helpers/shiny.ts';
import { followTaskV1 } from '../helpers/tasks.ts';

// Engines, registries and images on a loaded 2-core machine: set up and torn down well past the default minute.
const REAL_ENGINE_HOOK_MS = 300_000;

const DOCKER = { runtime: { backend: 'docker' } } as never;
const python = { python: { version: '3.11.2', package_manager: { name: 'pip', version: '23.0.1', package_file: 'requirements.txt' } } };

// What only containers do: confinement and limits, images per bundle, execution environments,
// and apps that outlive a restart of Lectern.
describe.each(DATABASES)('the Docker backend on %s', (kind) => {
  let t: TestServer;
  let key: string;
  beforeAll(async () => {
    t = await startTestServer(kind, { config: DOCKER });
    key = (await t.createUser('dock', 'publisher')).key;
  }, REAL_ENGINE_HOOK_MS);
  afterAll(async () => t?.close());

  const running = async (server: TestServer, guid: string) =>
    (await api(server.url, 'GET', `/__api__/v1/content/${guid}/jobs`, { key })).body.filter(
      (j: { status: number; tag: string }) => j.status === 0 && j.tag === 'run_app',
    ) as Array<{ key: string }>;

  it('runs an app as the unprivileged account, on a read-only root, within its memory and CPU limits', async () => {
    const app = [
      'import os, urllib.request',
      'from flask import Flask, request',
      'app = Flask(__name__)',
      'def can_write(p):',
      '    try:',
      '        open(p, "w").close()',
      '        return True',
      '    except OSError:',
      '        return False',
      "@app.route('/')",
      'def who():',
      "    return {'uid': os.getuid(), 'bundle': can_write('/lectern/app/x'), 'root': can_write('/etc/x'), 'tmp': can_write('/tmp/x'), 'secret': os.environ.get('GREETING')}",
      "@app.route('/probe')",
      'def probe():',
      '    try:',
      "        return {'reached': urllib.request.urlopen(request.args['url'], timeout=3).status}",
      '    except Exception as e:',
      "        return {'error': type(e).__name__}",
    ].join('\n');
    const bundle = await makeBundle({ 'app.py': app, 'requirements.txt': 'flask==2.2.2\n' }, { appmode: 'python-api', entrypoint: 'app:app' }, python);
    const created = await api(t.url, 'POST', '/__api__/v1/content', { key, body: { name: 'confined', memory_limit: 256 * 1024 * 1024, cpu_limit: 0.5 } });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const guid = created.body.guid as string;
    await api(t.url, 'PATCH', `/__api__/v1/content/${guid}/environment`, { key, body: [{ name: 'GREETING', value: 'hello' }] });
    const up = await uploadChunked(t.url, `/__api__/v1/content/${guid}/bundles`, key, bundle);
    const dep = await api(t.url, 'POST', `/__api__/v1/content/${guid}/deploy`, { key, body: { bundle_id: up.body.id } });
    const task = await followTaskV1(t.url, key, dep.body.task_id);
    expect(task.code, task.output.join('\n')).toBe(0);

    const res = await get(created.body.content_url, key);
    expect(res.status, res.text).toBe(200);
    expect(JSON.parse(res.text)).toEqual({ uid: 10001, bundle: false, root: false, tmp: true, secret: 'hello' });

    const [c] = (await containersOf(t.db.dataDir)).filter((x) => x.Labels['org.lectern.content'] === guid);
    const info = await docker.getContainer(c!.Id).inspect();
    expect(info.Config.User).toBe('10001:10001');
    expect(info.HostConfig).toMatchObject({
      ReadonlyRootfs: true,
      Memory: 256 * 1024 * 1024,
      NanoCpus: 500_000_000,
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges'],
    });
    // The app's port is published on the loopback only.
    expect(Object.values(info.HostConfig.PortBindings ?? {}).flat()).toEqual([{ HostIp: '127.0.0.1', HostPort: '' }]);

    // Another app's container is out of reach: only through Lectern, with its access checks.
    const neighbour = await deployBundle(t.url, key, 'neighbour', fixture('r-plumber.tar.gz'));
    expect(neighbour.task.code, neighbour.log).toBe(0);
    const [n] = (await containersOf(t.db.dataDir)).filter((x) => x.Labels['org.lectern.content'] === neighbour.content.guid);
    const ip = (await docker.getContainer(n!.Id).inspect()).NetworkSettings.Networks['lectern-content']!.IPAddress;
    expect(ip).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    const probe = await get(`${created.body.content_url}probe?url=${encodeURIComponent(`http://${ip}:8080/echo?msg=x`)}`, key);
    expect(JSON.parse(probe.text)).toHaveProperty('error');
    expect((await get(`${neighbour.content.content_url}echo?msg=x`, key)).status).toBe(200);
  });

  it('lists its runtime images as execution environments, runs content in the one it pins, and refuses an unknown one', async () => {
    const envs = await api(t.url, 'GET', '/__api__/v1/environments', { key });
    expect(envs.status).toBe(200);
    const names = envs.body.map((e: { name: string }) => e.name);
    expect(names).toEqual(expect.arrayContaining(['lectern/r:latest', 'lectern/python:latest', 'lectern/r-python:latest']));
    expect(names).not.toContain('lectern/base:latest');
    // Bundle images carry their runtime image's labels, but are not environments.
    expect(names.filter((n: string) => n.startsWith('lectern/content-'))).toEqual([]);
    const both = envs.body.find((e: { name: string }) => e.name === 'lectern/r-python:latest');
    expect(both.r.installations[0].version).toMatch(/^4\./);
    expect(both.python.installations[0].version).toMatch(/^3\./);
    const viewer = await t.createUser('dockviewer', 'viewer');
    expect((await api(t.url, 'GET', '/__api__/v1/environments', { key: viewer.key })).status).toBe(403);

    const pinned = await deployBundle(t.url, key, 'pinned', fixture('py-flask-api.tar.gz'), { default_image_name: 'lectern/r-python' });
    expect(pinned.task.code, pinned.log).toBe(0);
    expect(pinned.log).toContain('in the image lectern/r-python:latest (as the content asks)');
    expect((await get(pinned.content.content_url, key)).status).toBe(200);

    const manifestPin = await makeBundle(
      { 'app.py': 'from flask import Flask\napp = Flask(__name__)\n@app.route("/")\ndef hi():\n    return "hi"\n', 'requirements.txt': '' },
      { appmode: 'python-api', entrypoint: 'app:app' },
      { ...python, environment: { image: 'example/no-such-image:1' } },
    );
    const bad = await deployBundle(t.url, key, 'badpin', manifestPin);
    expect(bad.task.code).not.toBe(0);
    expect(bad.log).toMatch(
      /asks for the image "example\/no-such-image:1", which is not one of this server's execution environments \(.*lectern\/python:latest/,
    );
  });

  it('keeps one image per bundle, and removes an image with its bundle and all of them with the content', async () => {
    const d = await deployBundle(t.url, key, 'two-bundles', fixture('r-plumber.tar.gz'));
    expect(d.task.code, d.log).toBe(0);
    const up = await uploadChunked(t.url, `/__api__/v1/content/${d.content.guid}/bundles`, key, fixture('r-plumber.tar.gz'));
    const dep = await api(t.url, 'POST', `/__api__/v1/content/${d.content.guid}/deploy`, { key, body: { bundle_id: up.body.id } });
    expect((await followTaskV1(t.url, key, dep.body.task_id)).code).toBe(0);
    const imagesFor = async () =>
      (await imagesOf(t.db.dataDir))
        .filter((i) => i.Labels['org.lectern.content'] === d.content.guid)
        .map((i) => i.Labels['org.lectern.bundle'])
        .sort();
    expect(await imagesFor()).toEqual([String(d.bundleId), String(up.body.id)].sort());
    // Deploying the same bundle again builds nothing: the image is made from the same inputs.
    const ids = async () => (await imagesOf(t.db.dataDir)).map((i) => i.Id).sort();
    const before = await ids();
    const again = await api(t.url, 'POST', `/__api__/v1/content/${d.content.guid}/deploy`, { key, body: { bundle_id: up.body.id } });
    const againTask = await followTaskV1(t.url, key, again.body.task_id);
    expect(againTask.code).toBe(0);
    expect(againTask.output.join('\n')).toContain('nothing to build');
    expect(await ids()).toEqual(before);

    const del = await api(t.url, 'DELETE', `/__api__/v1/content/${d.content.guid}/bundles/${d.bundleId}`, { key });
    expect(del.status, JSON.stringify(del.body)).toBe(200);
    await expect.poll(imagesFor, { timeout: 20_000 }).toEqual([String(up.body.id)]);

    await api(t.url, 'DELETE', `/__api__/v1/content/${d.content.guid}`, { key });
    await expect.poll(imagesFor, { timeout: 20_000 }).toEqual([]);
    await expect
      .poll(async () => (await containersOf(t.db.dataDir)).filter((c) => c.Labels['org.lectern.content'] === d.content.guid).length, { timeout: 20_000 })
      .toBe(0);
  });

  it('adopts a running app after a restart: the session goes on in the same container, nothing is left behind', async () => {
    const d = await deployBundle(t.url, key, 'survivor', fixture('r-shiny.tar.gz'));
    expect(d.task.code, d.log).toBe(0);
    const page = await fetch(d.content.content_url, { headers: { authorization: `Key ${key}` } });
    expect(page.status).toBe(200);
    const sticky = page.headers
      .getSetCookie()
      .find((c) => c.startsWith('lectern_p_'))!
      .split(';')[0]!;
    const [job] = await running(t, d.content.guid);
    const mine = async (server: TestServer) => (await containersOf(server.db.dataDir)).filter((c) => c.Labels['org.lectern.content'] === d.content.guid);
    const before = await mine(t);
    expect(before).toHaveLength(1);
    expect(await shinyRoundTrip(d.content.content_url, { authorization: `Key ${key}`, cookie: sticky }, 4)).toBe('8');

    await t.stop();
    // Lectern is down; the app is not.
    expect((await docker.getContainer(before[0]!.Id).inspect()).State.Running).toBe(true);
    const t2 = await startTestServer(kind, { db: t.db, config: DOCKER });
    t = t2;
    const after = await mine(t2);
    expect(after.map((c) => c.Id)).toEqual(before.map((c) => c.Id));
    expect(t2.logs.join('\n')).toMatch(/"adopted":[1-9]/);

    // The same process answers the viewer's next request and session: no new process, no new cookie.
    // The restarted server listens on a new port; the content's path is the same.
    const url = d.content.content_url.replace(new URL(d.content.content_url).origin, new URL(t2.url).origin);
    const res = await fetch(url, { headers: { authorization: `Key ${key}`, cookie: sticky } });
    expect(res.status).toBe(200);
    expect(res.headers.getSetCookie().find((c) => c.startsWith('lectern_p_'))).toContain(`=${job!.key};`);
    expect((await running(t2, d.content.guid)).map((j) => j.key)).toEqual([job!.key]);
    expect(await shinyRoundTrip(url, { authorization: `Key ${key}`, cookie: sticky }, 5)).toBe('10');
    expect(await mine(t2)).toHaveLength(1);

    await api(t2.url, 'DELETE', `/__api__/v1/content/${d.content.guid}`, { key });
    await expect.poll(async () => (await mine(t2)).length, { timeout: 20_000 }).toBe(0);
    await expect
      .poll(async () => (await imagesOf(t2.db.dataDir)).filter((i) => i.Labels['org.lectern.content'] === d.content.guid).length, { timeout: 20_000 })
      .toBe(0);
  });
});
