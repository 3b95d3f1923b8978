import { afterEach, describe, expect, it } from 'vitest';
import { BrowserSession } from '../helpers/browser.ts';
import { DATABASES } from '../helpers/databases.ts';
import { api, startTestServer, type TestServer } from '../helpers/server.ts';

describe.each(DATABASES)('errors and logs on %s', (kind) => {
  let t: TestServer;
  afterEach(async () => t?.close());

  it('answers API failures in the Connect error shape, never with 200', async () => {
    t = await startTestServer(kind);
    const unknown = await api(t.url, 'GET', '/__api__/v1/no-such-thing', { key: t.admin.key, headers: { accept: 'text/html' } });
    expect(unknown.status).toBe(404);
    expect(unknown.headers.get('content-type')).toMatch(/^application\/json/);
    expect(unknown.body).toEqual({ code: 2, error: 'The requested method or endpoint is not supported.', payload: null });

    const broken = await api(t.url, 'POST', '/__api__/v1/users', { key: t.admin.key, body: '{"username": ' });
    expect(broken.status).toBe(400);
    expect(broken.body).toEqual({ code: 25, error: 'The request body is not valid JSON.', payload: null });

    // R sends an empty list as [] where an object is expected.
    const list = await api(t.url, 'POST', '/__api__/v1/users', { key: t.admin.key, body: [] });
    expect(list.status).toBe(400);
    expect(list.body.code).toBe(25);

    const huge = await api(t.url, 'POST', '/__api__/v1/users', { key: t.admin.key, body: { username: 'x'.repeat(2_000_000) } });
    expect(huge.status).toBe(413);
    expect(huge.body.code).toBe(25);
  });

  it('shows browsers an HTML error page', async () => {
    t = await startTestServer(kind);
    const res = await new BrowserSession(t.url).get('/no/such/page');
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.text).toContain('There is nothing at this address.');
  });

  it('turns a database outage into a 500 with code 1 and a failing health check, without leaking details', async () => {
    t = await startTestServer(kind);
    await t.server.ctx.db.knex.destroy();
    const health = await api(t.url, 'GET', '/__health__');
    expect(health.status).toBe(503);
    expect(health.body).toMatchObject({ status: 'unavailable', database: 'unreachable' });
    const res = await api(t.url, 'GET', '/__api__/v1/user', { key: t.admin.key });
    expect(res.status).toBe(500);
    expect(res.body).toEqual({ code: 1, error: 'An internal failure occurred.', payload: null });
    expect(t.logs.some((l) => JSON.parse(l).msg === 'request failed')).toBe(true);
  });

  it('logs JSON lines with request ids and never a key or a cookie', async () => {
    t = await startTestServer(kind);
    const alice = await t.createUser('alice', 'viewer');
    const b = new BrowserSession(t.url);
    await b.login('alice', alice.password);
    const session = b.cookies.get('lectern_session')!;
    await b.get('/');
    const res = await api(t.url, 'GET', '/__api__/v1/user', { key: alice.key, headers: { 'x-request-id': 'trace-123' } });
    expect(res.headers.get('x-request-id')).toBe('trace-123');
    await api(t.url, 'GET', '/__api__/v1/user', { headers: { 'x-rsc-authorization': alice.key } });

    const lines = t.logs.map((l) => JSON.parse(l) as { req?: { id?: string; headers?: Record<string, string> } });
    const traced = lines.find((l) => l.req?.id === 'trace-123');
    expect(traced?.req?.headers?.authorization).toBe('[redacted]');
    const all = t.logs.join('\n');
    expect(all).not.toContain(alice.key);
    expect(all).not.toContain(decodeURIComponent(session).slice(2, 20));
    expect(all).not.toContain(alice.password);
    expect(lines.filter((l) => l.req?.id).length).toBeGreaterThan(3);
  });
});
