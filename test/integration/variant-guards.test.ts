import { existsSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { makeBundle } from '../helpers/bundles.ts';
import { DATABASES } from '../helpers/databases.ts';
import { deployBundle } from '../helpers/deploy.ts';
import { api, QUIET_SCHEDULER, startTestServer, type TestServer } from '../helpers/server.ts';
import { followTaskV1 } from '../helpers/tasks.ts';

const REPORT = `---
title: "Sales"
params:
  region: north
---

Region: \`r params$region\`.
`;

// Past PostgreSQL's integer: once a 500 there and a 404 on SQLite.
const HUGE = '99999999999';

describe.each(DATABASES)('variants and schedules refuse what they must (%s)', (kind) => {
  let t: TestServer | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  async function report() {
    t = await startTestServer(kind, { config: { reports: QUIET_SCHEDULER } });
    const pub = await t.createUser('pub', 'publisher');
    const bundle = await makeBundle({ 'sales.Rmd': REPORT }, { appmode: 'rmd-static', primary_rmd: 'sales.Rmd', has_parameters: true });
    const d = await deployBundle(t.url, pub.key, 'sales', bundle, { title: 'Sales' });
    expect(d.task.code, d.log).toBe(0);
    const saved = async (name: string, visibility: 'public' | 'private') => {
      const made = await api(t!.url, 'POST', `/__api__/applications/${d.content.guid}/variants`, {
        key: pub.key,
        body: { name, parameters: { region: name }, visibility },
      });
      expect(made.status, JSON.stringify(made.body)).toBe(200);
      return made.body as { id: number; app_id: number };
    };
    return { t, pub, guid: d.content.guid as string, saved };
  }

  it('answers ids too large for the database as not found or invalid, the same on both databases', async () => {
    const { t, pub, saved } = await report();
    const v = await saved('south', 'public');
    expect((await api(t.url, 'GET', `/__api__/variants/${HUGE}`, { key: pub.key })).status).toBe(404);
    expect((await api(t.url, 'GET', `/__api__/variants/${HUGE}/renderings`, { key: pub.key })).status).toBe(404);
    expect((await api(t.url, 'DELETE', `/__api__/schedules/${HUGE}`, { key: pub.key })).status).toBe(404);
    const schedule = await api(t.url, 'POST', '/__api__/schedules', {
      key: pub.key,
      body: { app_id: v.app_id, variant_id: HUGE, type: 'minute', schedule: '{"N": 1}' },
    });
    expect(schedule.status).toBe(400);
    expect(schedule.body.error).toContain('variant_id');
    const sender = await api(t.url, 'POST', `/__api__/variants/${v.id}/sender?email=me&rendering_id=${HUGE}`, { key: pub.key });
    expect(sender.status).toBe(400);
    expect(sender.body.error).toContain('rendering_id');
  });

  it('caps saved parameter values on update as on create', async () => {
    const { t, pub, saved } = await report();
    const v = await saved('south', 'public');
    const big = { region: 'x'.repeat(70 * 1024) };
    const res = await api(t.url, 'POST', `/__api__/variants/${v.id}`, { key: pub.key, body: { parameters: big } });
    expect(res.status).toBe(400);
    expect(res.body.error).toContain('64 KB');
    expect((await api(t.url, 'GET', `/__api__/variants/${v.id}`, { key: pub.key })).body.parameters).toEqual({ region: 'south' });
  });

  it("does not put a viewer of the item on a private variant's mail", async () => {
    const { t, pub, guid, saved } = await report();
    const hidden = await saved('west', 'private');
    const reader = await t.createUser('reader', 'viewer');
    await api(t.url, 'POST', `/__api__/v1/content/${guid}/permissions`, {
      key: pub.key,
      body: { principal_guid: reader.user.guid, principal_type: 'user', role: 'viewer' },
    });
    const res = await api(t.url, 'POST', `/__api__/variants/${hidden.id}/subscribers`, { key: pub.key, body: [reader.user.guid] });
    expect(res.status).toBe(400);
    expect(res.body.error).toContain('cannot see this report');
    expect((await api(t.url, 'GET', `/__api__/variants/${hidden.id}/subscribers`, { key: pub.key })).body).toEqual([]);
    // A public variant of the same item takes them.
    const open = await saved('east', 'public');
    expect((await api(t.url, 'POST', `/__api__/variants/${open.id}/subscribers`, { key: pub.key, body: [reader.user.guid] })).status).toBe(200);
  });

  it("deletes a variant's rendered files with it", async () => {
    const { t, pub, saved } = await report();
    const v = await saved('south', 'public');
    for (let i = 0; i < 2; i++) {
      const task = await api(t.url, 'POST', `/__api__/variants/${v.id}/render`, { key: pub.key });
      expect((await followTaskV1(t.url, pub.key, task.body.id)).code).toBe(0);
    }
    const renders = t.server.ctx.runtime.reports;
    const dirs = (await t.server.ctx.repos.renderings.forVariant(v.id)).map((r) => renders.outputDir(r.outputPath!)!);
    expect(dirs).toHaveLength(2);
    for (const d of dirs) expect(existsSync(d)).toBe(true);
    const del = await api(t.url, 'DELETE', `/__api__/variants/${v.id}`, { key: pub.key });
    expect(del.status, t.logs.filter((l) => l.includes('"err"')).join('\n')).toBe(204);
    for (const d of dirs) expect(existsSync(d)).toBe(false);
    expect(await t.server.ctx.repos.renderings.forVariant(v.id)).toEqual([]);
  });

  it('keeps one default variant per item, however many first requests race', async () => {
    const { t, pub, guid } = await report();
    const c = await t.server.ctx.repos.content.byGuid(guid);
    // The deploy made the default: a second one is refused by the database itself.
    await expect(
      t.server.ctx.repos.variants.create({
        contentId: c!.id,
        key: 'Dup00001',
        name: 'default',
        isDefault: true,
        visibility: 'public',
        ownerId: null,
        params: null,
      }),
    ).rejects.toThrow();
    // An item without one yet (as before the deploy recorded it): eight first requests at once make one.
    await t.server.ctx.db.knex('variants').where({ content_id: c!.id }).delete();
    const made = await Promise.all(Array.from({ length: 8 }, () => t.server.ctx.reports.variants.ensureDefault(c!)));
    expect(new Set(made.map((v) => v.id)).size).toBe(1);
    const listed = (await api(t.url, 'GET', `/__api__/applications/${guid}/variants`, { key: pub.key })).body;
    expect(listed.filter((v: { is_default: boolean }) => v.is_default)).toHaveLength(1);
  });
});
