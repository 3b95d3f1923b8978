import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../runtimes/local/ports.ts';
import { fixture, makeBundle } from '../helpers/bundles.ts';
import { DATABASES } from '../helpers/databases.ts';
import { deployBundle, get } from '../helpers/deploy.ts';
import { singleNodeSwarm } from '../helpers/docker.ts';
import { api, startTestServer, type TestServer } from '../helpers/server.ts';
import { followTaskV1 } from '../helpers/tasks.ts';
import { shinyRoundTrip } from '../helpers/shiny.ts';

// The same apps, deployed the same way and reached through the same proxy, on each backend:
// local processes (the embedded default), Docker containers and Swarm services (on a
// single-node swarm of the test engine, made for those cases only). Each on both databases.
const BACKENDS = ['local', 'docker', 'swarm'] as const;
const CASES = BACKENDS.flatMap((b) => DATABASES.map((d) => [b, d] as const));

describe.each(CASES)('apps on the %s backend (%s)', (backend, kind) => {
  let t: TestServer;
  let key: string;
  let leaveSwarm: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    if (backend === 'swarm') leaveSwarm = await singleNodeSwarm(await freePort());
    t = await startTestServer(kind, { config: { runtime: { backend } } as never });
    key = (await t.createUser('apps', 'publisher')).key;
  });
  afterAll(async () => {
    await t?.close();
    await leaveSwarm?.();
  });

  it('serves a Shiny app: its page, and a session over its WebSocket', async () => {
    const d = await deployBundle(t.url, key, 'shiny', fixture('r-shiny.tar.gz'));
    expect(d.task.code, d.log).toBe(0);
    expect(d.log).toMatch(/Using R 4\.2/);
    const page = await get(d.content.content_url, key);
    expect(page.status, page.text).toBe(200);
    expect(page.text).toContain('Hello Shiny');
    expect(await shinyRoundTrip(d.content.content_url, { authorization: `Key ${key}` }, 21)).toBe('42');
  });

  it('serves a Plumber API', async () => {
    const d = await deployBundle(t.url, key, 'plumber', fixture('r-plumber.tar.gz'));
    expect(d.task.code, d.log).toBe(0);
    const res = await get(`${d.content.content_url}echo?msg=hi`, key);
    expect(res.status, res.text).toBe(200);
    expect(JSON.parse(res.text)).toEqual({ msg: ["The message is: 'hi'"] });
  });

  it('serves a Flask API, and a redeploy reuses its environment', async () => {
    const d = await deployBundle(t.url, key, 'flask', fixture('py-flask-api.tar.gz'));
    expect(d.task.code, d.log).toBe(0);
    expect(d.log).toMatch(/Using Python 3\.11/);
    const res = await get(d.content.content_url, key);
    expect(res.status, res.text).toBe(200);
    expect(JSON.parse(res.text)).toEqual({ hello: 'world' });
    const again = await deployBundle(t.url, key, 'flask-again', fixture('py-flask-api.tar.gz'));
    expect(again.task.code, again.log).toBe(0);
    expect(again.log).toMatch(/Reusing the Python environment/);
  });

  it('renders an R Markdown report and serves the HTML', async () => {
    const d = await deployBundle(t.url, key, 'report', fixture('r-rmd-static.tar.gz'));
    expect(d.task.code, d.log).toBe(0);
    const res = await get(d.content.content_url, key);
    expect(res.status, res.text).toBe(200);
    expect(res.text).toContain('Quarterly report');
    // summary(cars) ran: its table is in the document.
    expect(res.text).toMatch(/Min\.\s*:\s*4\.0/);
  });

  it("renders a report's saved variant with its own parameters and the report's variables", async () => {
    const rmd = '---\ntitle: Regions\nparams:\n  region: north\n---\n\nRegion `r params$region` of `r Sys.getenv("RSC_REPORT_NAME")`.\n';
    const bundle = await makeBundle({ 'regions.Rmd': rmd }, { appmode: 'rmd-static', primary_rmd: 'regions.Rmd', has_parameters: true });
    const d = await deployBundle(t.url, key, 'regions', bundle, { title: 'Sales by region' });
    expect(d.task.code, d.log).toBe(0);
    const made = await api(t.url, 'POST', `/__api__/applications/${d.content.guid}/variants`, {
      key,
      body: { name: 'south', parameters: { region: 'south' }, visibility: 'public' },
    });
    expect(made.status, JSON.stringify(made.body)).toBe(200);
    const task = await api(t.url, 'POST', `/__api__/variants/${made.body.id}/render`, { key });
    const done = await followTaskV1(t.url, key, task.body.id);
    expect(done.code, done.output.join('\n')).toBe(0);
    expect((await get(`${d.content.content_url}v${made.body.key}/`, key)).text).toContain('Region south of Sales by region.');
    expect((await get(d.content.content_url, key)).text).toContain('Region north of Sales by region.');
  });
});
