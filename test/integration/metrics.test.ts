import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { fixture, makeBundle, wsModule } from '../helpers/bundles.ts';
import { DATABASES } from '../helpers/databases.ts';
import { deployBundle, get } from '../helpers/deploy.ts';
import { api, QUIET_SCHEDULER, startTestServer, type TestServer } from '../helpers/server.ts';
import { TestClock } from '../helpers/test-clock.ts';

const TOKEN = 'metrics-test-token-0123456789';
const APP = `
const server = require('http').createServer((req, res) => res.end('ok'));
new (require('ws').WebSocketServer)({ server }).on('connection', (c) => c.send('hello'));
server.listen(Number(process.env.PORT), process.env.HOST);
`;

async function scrape(url: string, headers: Record<string, string> = {}) {
  const res = await fetch(url, { headers });
  return { status: res.status, text: await res.text(), type: res.headers.get('content-type') ?? '' };
}

/** A sample's value in the exposition text (0 when the series is absent). */
function sample(text: string, name: string, labels: Record<string, string>): number {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return 0;
}

describe.each(DATABASES)('metrics on %s', (kind) => {
  describe("behind a token on Lectern's port", () => {
    let t: TestServer;
    let publisher: { key: string };
    beforeAll(async () => {
      t = await startTestServer(kind, { config: { metrics: { enabled: true, token: TOKEN } } as never });
      publisher = await t.createUser('metrics-publisher', 'publisher');
    });
    afterAll(async () => t?.close());

    it('lists no processes while nothing runs, and only to administrators', async () => {
      const procs = await api(t.url, 'GET', '/__api__/metrics/procs', { key: t.admin.key });
      expect(procs.status).toBe(200);
      expect(procs.body).toEqual({});
      expect((await api(t.url, 'GET', '/__api__/metrics/procs', { key: publisher.key })).status).toBe(403);
      expect((await api(t.url, 'GET', '/__api__/metrics/procs')).status).toBe(401);
    });

    it('refuses /metrics without the token, or with another', async () => {
      const none = await scrape(`${t.url}/metrics`);
      expect(none.status).toBe(401);
      expect(none.text).not.toContain('nodejs_');
      expect((await scrape(`${t.url}/metrics`, { authorization: `Bearer ${TOKEN}x` })).status).toBe(401);
      // An API key, even an administrator's, is not the metrics token.
      expect((await scrape(`${t.url}/metrics`, { authorization: `Key ${t.admin.key}` })).status).toBe(401);
    });

    it("counts an app's requests, lists its process, and shows the deploy and Node's defaults", async () => {
      const bundle = await makeBundle({ 'server.js': APP, ...wsModule() }, { appmode: 'nodejs', entrypoint: 'server.js' });
      const d = await deployBundle(t.url, publisher.key, 'metrics-app', bundle, { access_type: 'logged_in' });
      expect(d.task.code, d.log).toBe(0);
      const guid = d.content.guid;
      // The deploy keeps the instance it started: stop it, so a request has to start one.
      for (const job of (await api(t.url, 'GET', `/__api__/v1/content/${guid}/jobs`, { key: publisher.key })).body as { key: string }[]) {
        await api(t.url, 'DELETE', `/__api__/v1/content/${guid}/jobs/${job.key}`, { key: publisher.key });
      }
      const procsNow = async () => (await api(t.url, 'GET', '/__api__/metrics/procs', { key: t.admin.key })).body as Record<string, Record<string, unknown>>;
      await expect.poll(procsNow, { timeout: 20_000 }).toEqual({});
      const auth = { authorization: `Bearer ${TOKEN}` };
      const before = sample((await scrape(`${t.url}/metrics`, auth)).text, 'lectern_content_requests_total', { content_guid: guid, status_class: '2xx' });
      for (let i = 0; i < 3; i++) expect((await get(`${t.contentUrl}/content/${guid}/`, publisher.key)).text).toBe('ok');

      const entries = Object.entries(await procsNow());
      const mine = entries.filter(([, p]) => p.appGuid === guid);
      expect(mine.length).toBeGreaterThanOrEqual(1);
      const [pid, p] = mine[0]!;
      expect(pid).toMatch(/^\d+$/);
      expect(p).toMatchObject({ appId: Number(d.content.id), appName: 'metrics-app', type: 'nodejs', appUrl: expect.stringContaining(`/content/${guid}/`) });
      expect(Number.isInteger(p.cpuTotal)).toBe(true);
      expect(typeof p.cpuCurrent).toBe('number');
      expect(p.ram as number).toBeGreaterThan(0);

      // The counter is recorded as each response closes: wait for the last one's.
      await expect
        .poll(async () => sample((await scrape(`${t.url}/metrics`, auth)).text, 'lectern_content_requests_total', { content_guid: guid, status_class: '2xx' }))
        .toBe(before + 3);
      const m = await scrape(`${t.url}/metrics`, auth);
      expect(m.status).toBe(200);
      expect(m.type).toContain('text/plain');
      expect(sample(m.text, 'lectern_content_request_duration_seconds_count', { content_guid: guid })).toBeGreaterThanOrEqual(3);
      expect(sample(m.text, 'lectern_deploy_duration_seconds_count', { outcome: 'success', kind: 'active' })).toBe(1);
      expect(sample(m.text, 'lectern_content_processes', { content_guid: guid, backend: 'local' })).toBeGreaterThanOrEqual(1);
      expect(m.text).toMatch(/^lectern_db_pool_connections\{state="used"\} \d+$/m);
      expect(m.text).toMatch(/^nodejs_heap_size_used_bytes \d+/m);
      expect(m.text).toMatch(/^process_cpu_seconds_total /m);

      // A WebSocket is counted while it is open.
      const ws = new WebSocket(`${t.contentUrl.replace('http', 'ws')}/content/${guid}/`, { headers: { authorization: `Key ${publisher.key}` } });
      await new Promise((resolve, reject) => ws.once('message', resolve).once('error', reject));
      const open = async () => sample((await scrape(`${t.url}/metrics`, auth)).text, 'lectern_content_websockets_open', { content_guid: guid });
      expect(await open()).toBe(1);
      ws.close();
      await expect.poll(open).toBe(0);
      expect(sample((await scrape(`${t.url}/metrics`, auth)).text, 'lectern_content_websockets_total', { content_guid: guid })).toBe(1);

      // Deleted content stops: its processes leave the list, and its series the metrics.
      expect((await api(t.url, 'DELETE', `/__api__/v1/content/${guid}`, { key: publisher.key })).status).toBe(200);
      await expect.poll(procsNow, { timeout: 20_000 }).toEqual({});
      expect((await scrape(`${t.url}/metrics`, auth)).text).not.toContain(`lectern_content_requests_total{content_guid="${guid}"`);
    }, 120_000);
  });

  describe('for rendered reports', () => {
    const MINUTE = 60_000;
    let t: TestServer;
    afterAll(async () => t?.close());

    it("shows a report's renders by trigger and outcome, and how late the scheduler dispatched a due one", async () => {
      // The scheduler's own timer stays out of the way: the test moves the clock and ticks.
      const clock = new TestClock(new Date(Math.floor(Date.now() / MINUTE) * MINUTE));
      t = await startTestServer(kind, { clock: clock.now, config: { metrics: { enabled: true, token: TOKEN }, reports: QUIET_SCHEDULER } as never });
      const pub = await t.createUser('metrics-reporter', 'publisher');
      const d = await deployBundle(t.url, pub.key, 'metrics-notebook', fixture('py-jupyter-static.tar.gz'));
      expect(d.task.code, d.log).toBe(0);
      const variant = (await api(t.url, 'GET', `/__api__/applications/${d.content.guid}/variants`, { key: pub.key })).body[0];
      const made = await api(t.url, 'POST', '/__api__/schedules', {
        key: pub.key,
        body: { app_id: variant.app_id, variant_id: variant.id, type: 'minute', schedule: '{"N": 5}', start_time: clock.now().toISOString() },
      });
      expect(made.status, JSON.stringify(made.body)).toBe(200);
      const metrics = async () => (await scrape(`${t.url}/metrics`, { authorization: `Bearer ${TOKEN}` })).text;
      expect(sample(await metrics(), 'lectern_scheduler_lag_seconds_count', {})).toBe(0);

      // Due at +5 min, dispatched at +7 min: two minutes late.
      clock.advance(7 * MINUTE);
      expect((await t.server.scheduler.tick()).claimed).toBe(1);
      await t.server.ctx.reports.renders.idle();
      const m = await metrics();
      expect(m).toMatch(/^lectern_scheduler_lag_seconds_count 1$/m);
      expect(m).toMatch(/^lectern_scheduler_lag_seconds_sum 120$/m);
      // Under the 300 s bucket, over the 60 s one.
      expect(m).toMatch(/^lectern_scheduler_lag_seconds_bucket\{le="60"\} 0$/m);
      expect(sample(m, 'lectern_renders_total', { trigger: 'schedule', outcome: 'success' })).toBe(1);
      expect(sample(m, 'lectern_render_duration_seconds_count', { trigger: 'schedule', outcome: 'success' })).toBe(1);
      expect(sample(m, 'lectern_render_duration_seconds_sum', { trigger: 'schedule', outcome: 'success' })).toBeGreaterThan(0);
      // The deploy's own render is part of the deploy, counted there and not again here.
      expect(sample(m, 'lectern_renders_total', { trigger: 'deploy' })).toBe(0);
      expect(sample(m, 'lectern_deploy_duration_seconds_count', { outcome: 'success' })).toBe(1);
    });
  });

  describe('when off (the default)', () => {
    let t: TestServer;
    beforeAll(async () => {
      t = await startTestServer(kind);
    });
    afterAll(async () => t?.close());

    it('has no /metrics at all, token or not', async () => {
      expect((await scrape(`${t.url}/metrics`)).status).toBe(404);
      expect((await scrape(`${t.url}/metrics`, { authorization: `Bearer ${TOKEN}` })).status).toBe(404);
      expect(t.server.metricsPort).toBeUndefined();
      // /metrics/procs is Connect's API, there whatever the Prometheus setting.
      expect((await api(t.url, 'GET', '/__api__/metrics/procs', { key: t.admin.key })).body).toEqual({});
    });
  });

  describe('on an address of its own', () => {
    let t: TestServer;
    beforeAll(async () => {
      t = await startTestServer(kind, { config: { metrics: { listen: '127.0.0.1:0' } } as never });
    });
    afterAll(async () => t?.close());

    it("serves without a token there, and not on Lectern's port", async () => {
      const port = t.server.metricsPort;
      expect(port).toBeGreaterThan(0);
      const m = await scrape(`http://127.0.0.1:${port}/metrics`);
      expect(m.status).toBe(200);
      expect(m.text).toMatch(/^nodejs_eventloop_lag_seconds /m);
      expect(m.text).toMatch(/^lectern_mail_sends_total\{outcome="sent"\} 0$/m);
      expect((await scrape(`http://127.0.0.1:${port}/other`)).status).toBe(404);
      expect((await scrape(`${t.url}/metrics`)).status).toBe(404);
    });
  });
});
