import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/index.ts';
import type { Rendering } from '../../src/domain/reports.ts';
import { ContentTraffic } from '../../src/metrics/content-traffic.ts';
import { parseListenAddress } from '../../src/metrics/listen-address.ts';
import { bearerMatches } from '../../src/metrics/metrics-endpoint.ts';
import { parseProcStat, treeTotals } from '../../src/metrics/proc-stat.ts';
import { statusClass } from '../../src/metrics/status-class.ts';
import { WorkMetrics } from '../../src/metrics/work-metrics.ts';

const GUID = '0b6e1b5a-1111-4222-8333-444455556666';

describe('metrics: the pure pieces', () => {
  it('labels a status by its class, never the status itself', () => {
    expect([101, 200, 204, 302, 404, 503, 99, 600].map(statusClass)).toEqual(['1xx', '2xx', '2xx', '3xx', '4xx', '5xx', 'other', 'other']);
  });

  it('takes a bearer token only when it is exactly the configured one', () => {
    const token = 'a-token-of-enough-length';
    expect(bearerMatches(`Bearer ${token}`, token)).toBe(true);
    expect(bearerMatches(`bearer  ${token} `, token)).toBe(true);
    expect(bearerMatches(`Bearer ${token}x`, token)).toBe(false);
    expect(bearerMatches(`Bearer ${token.slice(0, -1)}`, token)).toBe(false);
    expect(bearerMatches(`Key ${token}`, token)).toBe(false);
    expect(bearerMatches(token, token)).toBe(false);
    expect(bearerMatches(undefined, token)).toBe(false);
    expect(bearerMatches('Bearer ', token)).toBe(false);
  });

  it('reads a listen address, IPv6 in brackets too', () => {
    expect(parseListenAddress('127.0.0.1:9464')).toEqual({ host: '127.0.0.1', port: 9464 });
    expect(parseListenAddress('[::1]:0')).toEqual({ host: '::1', port: 0 });
    expect(() => parseListenAddress(':9464')).toThrow();
    expect(() => parseListenAddress('localhost:99999')).toThrow();
  });

  it('reads /proc/<pid>/stat, a command name with spaces and parentheses included', () => {
    // pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime cutime cstime prio nice threads itreal start vsize rss
    const line = '4242 (my (odd) app) S 4200 4242 4242 0 -1 4194560 100 0 0 0 150 50 0 0 20 0 1 0 1234 10485760 2560 18446744073709551615';
    expect(parseProcStat(line)).toEqual({ pid: 4242, ppid: 4200, cpuTicks: 200, rssPages: 2560 });
    expect(parseProcStat('garbage')).toBeUndefined();
  });

  it('sums a process tree: the sandbox and the app below it, not its parent or siblings', () => {
    const s = (pid: number, ppid: number, cpuTicks: number, rssPages: number) => ({ pid, ppid, cpuTicks, rssPages });
    const stats = [s(1, 0, 1, 1), s(10, 1, 5, 10), s(11, 10, 100, 200), s(12, 11, 7, 3), s(20, 1, 999, 999)];
    expect(treeTotals(stats, 10)).toEqual({ cpuTicks: 112, rssPages: 213 });
    expect(treeTotals(stats, 99)).toBeUndefined();
  });
});

describe('metrics: the series', () => {
  it('counts requests per item and status class, and drops a deleted item', async () => {
    const registry = new Registry();
    const traffic = new ContentTraffic(registry);
    traffic.requestEnded(GUID, 200, 0.01);
    traffic.requestEnded(GUID, 200, 0.02);
    traffic.requestEnded(GUID, 503, 1.5);
    let text = await registry.metrics();
    expect(text).toMatch(new RegExp(`lectern_content_requests_total\\{content_guid="${GUID}",status_class="2xx"\\} 2`));
    expect(text).toMatch(new RegExp(`lectern_content_requests_total\\{content_guid="${GUID}",status_class="5xx"\\} 1`));
    expect(text).toMatch(new RegExp(`lectern_content_request_duration_seconds_count\\{content_guid="${GUID}"\\} 3`));
    traffic.forget(GUID);
    text = await registry.metrics();
    expect(text).not.toContain(GUID);
  });

  it('shows open WebSockets, and a close after the item was forgotten brings nothing back', async () => {
    const registry = new Registry();
    const traffic = new ContentTraffic(registry);
    traffic.websocketOpened(GUID);
    traffic.websocketOpened(GUID);
    traffic.websocketClosed(GUID);
    expect(await registry.metrics()).toMatch(new RegExp(`lectern_content_websockets_open\\{content_guid="${GUID}"\\} 1`));
    traffic.forget(GUID);
    traffic.websocketClosed(GUID);
    expect(await registry.metrics()).not.toContain(GUID);
  });

  it('records deploys, renders, the scheduler lag and mail outcomes', async () => {
    const registry = new Registry();
    const work = new WorkMetrics(registry);
    expect(await registry.metrics()).toMatch(/lectern_mail_sends_total\{outcome="sent"\} 0/);
    work.deployFinished({ contentGuid: GUID, appMode: 'nodejs', draft: false, ok: true, seconds: 3 });
    work.deployFinished({ contentGuid: GUID, appMode: 'nodejs', draft: false, ok: false, seconds: 1 });
    const rendering = { trigger: 'schedule', status: 'failed', renderDurationNs: 2e9, startedTime: null, renderTime: null } as unknown as Rendering;
    work.renderFinished(rendering);
    work.scheduleDispatched(1.5);
    work.mailDelivered({ sent: 2, retried: 1, failed: 0 });
    const text = await registry.metrics();
    expect(text).toMatch(/lectern_deploy_duration_seconds_count\{outcome="success",kind="active"\} 1/);
    expect(text).toMatch(/lectern_deploy_duration_seconds_count\{outcome="failure",kind="active"\} 1/);
    expect(text).toMatch(/lectern_renders_total\{trigger="schedule",outcome="failure"\} 1/);
    expect(text).toMatch(/lectern_render_duration_seconds_sum\{trigger="schedule",outcome="failure"\} 2/);
    expect(text).toMatch(/lectern_scheduler_lag_seconds_count 1/);
    expect(text).toMatch(/lectern_mail_sends_total\{outcome="sent"\} 2/);
    expect(text).toMatch(/lectern_mail_sends_total\{outcome="retried"\} 1/);
  });
});

describe('metrics: configuration', () => {
  const problems = (overrides: Record<string, unknown>) => {
    try {
      loadConfig({ env: {}, overrides });
    } catch (err) {
      if (err instanceof ConfigError) return err.problems.join('\n');
      throw err;
    }
    return '';
  };

  it('is off by default', () => {
    const c = loadConfig({ env: {} });
    expect(c.metrics).toEqual({ enabled: false });
  });

  it("needs a token when served on Lectern's port, and takes a listen address without one", () => {
    expect(problems({ metrics: { enabled: true } })).toMatch(/metrics\.token/);
    expect(problems({ metrics: { enabled: true, token: 'short' } })).toMatch(/16 characters/);
    expect(problems({ metrics: { listen: 'not an address' } })).toMatch(/host:port/);
    expect(problems({ metrics: { listen: '127.0.0.1:9464' } })).toBe('');
    const c = loadConfig({ env: { LECTERN_METRICS_ENABLED: 'true', LECTERN_METRICS_TOKEN: 'x'.repeat(24) } });
    expect(c.metrics).toEqual({ enabled: true, token: 'x'.repeat(24) });
  });
});
