import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../runtimes/local/ports.ts';
import { fixture } from '../helpers/bundles.ts';
import { DATABASES } from '../helpers/databases.ts';
import { deployBundle } from '../helpers/deploy.ts';
import { containersOf, docker, imagesOf, servicesOf, singleNodeSwarm } from '../helpers/docker.ts';
import { startRegistry } from '../helpers/registry.ts';
import { api, startTestServer, type TestServer } from '../helpers/server.ts';
import { shinyRoundTrip } from '../helpers/shiny.ts';

// Engines, registries and images on a loaded 2-core machine: set up and torn down well past the default minute.
const REAL_ENGINE_HOOK_MS = 300_000;

const SWARM = { runtime: { backend: 'swarm' } } as never;

let leave: () => Promise<void>;
beforeAll(async () => {
  leave = await singleNodeSwarm(await freePort());
}, REAL_ENGINE_HOOK_MS);
afterAll(async () => leave?.());

// A content item as a Swarm service on a single-node swarm (no IPVS here: DNS round robin and
// host-mode ports, which is how Lectern always reaches replicas).
describe.each(DATABASES)('the Swarm backend on %s', (kind) => {
  let t: TestServer;
  let key: string;
  beforeAll(async () => {
    t = await startTestServer(kind, { config: SWARM });
    key = (await t.createUser('swarmer', 'publisher')).key;
  }, REAL_ENGINE_HOOK_MS);
  afterAll(async () => t?.close());

  const running = async (server: TestServer, guid: string) =>
    ((await api(server.url, 'GET', `/__api__/v1/content/${guid}/jobs`, { key })).body as Array<{ key: string; status: number; tag: string }>)
      .filter((j) => j.status === 0 && j.tag === 'run_app')
      .map((j) => j.key)
      .sort();

  it('runs a Shiny app as a service, scales it to 2 replicas and reaches both, keeps them over a restart, and cleans up', { timeout: 180_000 }, async () => {
    const d = await deployBundle(t.url, key, 'swarm-shiny', fixture('r-shiny.tar.gz'));
    expect(d.task.code, d.log).toBe(0);
    const guid = d.content.guid;
    const [service] = await servicesOf(t.db.dataDir);
    expect(service?.Spec?.Name).toBe(`lectern-${guid}-${d.bundleId}`);
    expect(service?.Spec?.EndpointSpec).toMatchObject({ Mode: 'dnsrr', Ports: [{ PublishMode: 'host', TargetPort: 8080 }] });

    // Lectern's scaling decides the replica count: two processes kept warm.
    expect((await api(t.url, 'PATCH', `/__api__/v1/content/${guid}`, { key, body: { min_processes: 2 } })).status).toBe(200);
    await expect.poll(async () => (await running(t, guid)).length, { timeout: 60_000, interval: 500 }).toBe(2);
    const replicas = async () =>
      ((await docker.getService(service!.ID).inspect()) as { Spec: { Mode: { Replicated: { Replicas: number } } } }).Spec.Mode.Replicated.Replicas;
    expect(await replicas()).toBe(2);
    // The engine's log of the replicas is capped on disk.
    const template = (
      (await docker.getService(service!.ID).inspect()) as { Spec: { TaskTemplate: { LogDriver?: { Name: string; Options: Record<string, string> } } } }
    ).Spec.TaskTemplate;
    expect(template.LogDriver).toEqual({ Name: 'json-file', Options: { 'max-size': '16m', 'max-file': '2' } });
    const tasks = (await docker.listTasks({ filters: { service: [service!.Spec!.Name!], 'desired-state': ['running'] } })) as Array<{
      Status: { PortStatus?: { Ports?: Array<{ PublishedPort: number }> } };
    }>;
    const ports = tasks.map((x) => x.Status.PortStatus?.Ports?.[0]?.PublishedPort);
    expect(new Set(ports).size).toBe(2);

    // Each replica answers a Shiny session, chosen by its sticky cookie.
    const jobs = await running(t, guid);
    const cookie = (job: string) => `lectern_p_${guid.slice(0, 8)}=${job}`;
    for (const [i, job] of jobs.entries()) {
      expect(await shinyRoundTrip(d.content.content_url, { authorization: `Key ${key}`, cookie: cookie(job) }, 10 + i)).toBe(String(2 * (10 + i)));
    }

    // A restart of Lectern: the service and both replicas carry on, with the same jobs.
    await t.stop();
    t = await startTestServer(kind, { db: t.db, config: SWARM });
    expect(await running(t, guid)).toEqual(jobs);
    const url = d.content.content_url.replace(new URL(d.content.content_url).origin, new URL(t.url).origin);
    expect(await shinyRoundTrip(url, { authorization: `Key ${key}`, cookie: cookie(jobs[1]!) }, 7)).toBe('14');
    expect(await replicas()).toBe(2);

    // Back to one: the idle replica above the minimum is reaped and the service scales down.
    // Swarm picks which task goes; the one instance left answers either way.
    expect((await api(t.url, 'PATCH', `/__api__/v1/content/${guid}`, { key, body: { min_processes: 1, idle_timeout: 1 } })).status).toBe(200);
    await expect.poll(replicas, { timeout: 60_000, interval: 500 }).toBe(1);
    await expect.poll(async () => (await running(t, guid)).length, { timeout: 30_000, interval: 500 }).toBe(1);
    const [left] = await running(t, guid);
    expect(await shinyRoundTrip(url, { authorization: `Key ${key}`, cookie: cookie(left!) }, 3)).toBe('6');

    // Deleting the content removes its service, its containers and its image.
    await api(t.url, 'DELETE', `/__api__/v1/content/${guid}`, { key });
    await expect.poll(async () => (await servicesOf(t.db.dataDir)).length, { timeout: 30_000 }).toBe(0);
    await expect.poll(async () => (await containersOf(t.db.dataDir)).length, { timeout: 30_000 }).toBe(0);
    await expect.poll(async () => (await imagesOf(t.db.dataDir)).length, { timeout: 30_000 }).toBe(0);
  });
});

// A swarm of several nodes pulls bundle images from a registry: Lectern pushes each there
// first and names it so in the service.
describe.each(DATABASES)('the Swarm backend with a registry on %s', (kind) => {
  let t: TestServer;
  let key: string;
  let registry: Awaited<ReturnType<typeof startRegistry>>;
  beforeAll(async () => {
    registry = await startRegistry();
    t = await startTestServer(kind, { config: { runtime: { backend: 'swarm', swarmRegistry: registry.address } } as never });
    key = (await t.createUser('pusher', 'publisher')).key;
  }, REAL_ENGINE_HOOK_MS);
  afterAll(async () => {
    await t?.close();
    await registry?.stop();
  }, REAL_ENGINE_HOOK_MS);

  it('pushes the bundle image to the registry and runs the service from there', async () => {
    const d = await deployBundle(t.url, key, 'pushed-flask', fixture('py-flask-api.tar.gz'));
    expect(d.task.code, d.log).toBe(0);
    const remote = `${registry.address}/lectern/content-${d.content.guid}`;
    expect(d.log).toContain(`Pushing ${remote}:${d.bundleId}`);
    const catalog = await (await fetch(`http://${registry.address}/v2/_catalog`)).json();
    expect(catalog.repositories).toContain(`lectern/content-${d.content.guid}`);
    const [service] = await servicesOf(t.db.dataDir);
    expect((service?.Spec?.TaskTemplate as { ContainerSpec: { Image: string } }).ContainerSpec.Image).toBe(`${remote}:${d.bundleId}`);
    const res = await fetch(d.content.content_url, { headers: { authorization: `Key ${key}` } });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ hello: 'world' });

    // Deleting the content removes the image under both its names.
    await api(t.url, 'DELETE', `/__api__/v1/content/${d.content.guid}`, { key });
    await expect.poll(async () => (await imagesOf(t.db.dataDir)).length, { timeout: 30_000 }).toBe(0);
    expect((await docker.listImages({ filters: { reference: [`${remote}:*`] } })).length).toBe(0);
  }, 240_000); // pushing about 650 MB to a fresh registry: 40 s alone, longer on a busy machine
});
