import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, resolveSecretKey } from '../../src/config/index.ts';

const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'lectern-config-'));

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('configuration', () => {
  it('has working defaults', () => {
    const c = loadConfig({ env: {} });
    expect(c.server.port).toBe(3939);
    expect(c.server.address).toBe('0.0.0.0');
    expect(c.dataDir).toBe(path.resolve('./data'));
    expect(c.database.url).toBeUndefined();
    expect(c.server.publicUrl).toBeUndefined();
  });

  it('layers defaults < config file < LECTERN_* variables', () => {
    const dir = tmp();
    const file = path.join(dir, 'lectern.yaml');
    writeFileSync(file, 'server:\n  port: 4000\n  address: 127.0.0.1\ndataDir: /srv/lectern\nlogging:\n  level: debug\n');
    const c = loadConfig({ env: { LECTERN_CONFIG: file, LECTERN_PORT: '4100', LECTERN_PUBLIC_URL: 'https://connect.example.com/' } });
    expect(c.server.port).toBe(4100); // env beats file
    expect(c.server.address).toBe('127.0.0.1'); // file beats default
    expect(c.dataDir).toBe('/srv/lectern');
    expect(c.logging.level).toBe('debug');
    expect(c.server.publicUrl).toBe('https://connect.example.com'); // trailing slash dropped
  });

  it('reads a JSON config file too', () => {
    const file = path.join(tmp(), 'lectern.json');
    writeFileSync(file, JSON.stringify({ database: { url: 'postgres://u@db.example.com/lectern' } }));
    expect(loadConfig({ env: {}, file }).database.url).toBe('postgres://u@db.example.com/lectern');
  });

  it('lists every bad value at once, each named with where it came from', () => {
    const problems = problemsOf(() =>
      loadConfig({
        env: {
          LECTERN_PORT: '70000',
          LECTERN_PUBLIC_URL: 'ftp://files.example.com',
          LECTERN_DATABASE_URL: 'mysql://x',
          LECTERN_LOG_LEVEL: 'loud',
          LECTERN_SECRET_KEY: 'c2hvcnQ=',
          LECTERN_SESSION_HOURS: 'soon',
          LECTERN_SEVER_PORT: '1',
        },
      }),
    );
    const text = problems.join('\n');
    expect(problems.length).toBeGreaterThanOrEqual(7);
    expect(text).toMatch(/server\.port \(LECTERN_PORT\)/);
    expect(text).toMatch(/server\.publicUrl \(LECTERN_PUBLIC_URL\): must be an http/);
    expect(text).toMatch(/database\.url \(LECTERN_DATABASE_URL\): must start with sqlite:/);
    expect(text).toMatch(/logging\.level \(LECTERN_LOG_LEVEL\)/);
    expect(text).toMatch(/secretKey \(LECTERN_SECRET_KEY\): must be base64 encoding at least 32 bytes/);
    expect(text).toMatch(/auth\.sessionHours \(LECTERN_SESSION_HOURS\)/);
    expect(text).toMatch(/LECTERN_SEVER_PORT: not a Lectern setting/);
  });

  it('refuses a render lease shorter than three scheduler ticks', () => {
    const problems = problemsOf(() => loadConfig({ env: { LECTERN_SCHEDULER_TICK_SECONDS: '10', LECTERN_RENDER_LEASE_SECONDS: '20' } }));
    expect(problems.join('\n')).toMatch(/leaseSeconds must be at least 3 × tickSeconds/);
    const ok = loadConfig({ env: { LECTERN_SCHEDULER_TICK_SECONDS: '10', LECTERN_RENDER_LEASE_SECONDS: '30' } });
    expect(ok.reports.leaseSeconds).toBe(30);
  });

  it('names unknown and mistyped keys in the config file', () => {
    const file = path.join(tmp(), 'lectern.yaml');
    writeFileSync(file, 'server:\n  port: "eighty"\n  colour: blue\nlogging:\n  level: 3\n');
    const text = problemsOf(() => loadConfig({ env: {}, file })).join('\n');
    expect(text).toMatch(new RegExp(`server\\.port \\(in ${file}\\)`));
    expect(text).toMatch(/colour/);
    expect(text).toMatch(/logging\.level/);
  });

  it('reports a missing or unparsable config file', () => {
    expect(problemsOf(() => loadConfig({ env: {}, file: '/nonexistent/lectern.yaml' })).join()).toMatch(/cannot be read \(ENOENT\)/);
    const file = path.join(tmp(), 'bad.yaml');
    writeFileSync(file, 'server: [unclosed\n');
    expect(problemsOf(() => loadConfig({ env: {}, file })).join()).toMatch(/not valid YAML or JSON/);
    writeFileSync(file, '- a list\n- not a mapping\n');
    expect(problemsOf(() => loadConfig({ env: {}, file })).join()).toMatch(/must hold a mapping/);
  });

  it('ignores test variables and accepts boolean-ish and numeric strings', () => {
    const c = loadConfig({ env: { LECTERN_TEST_PG_URL: 'x', LECTERN_TRUST_PROXY: '1', LECTERN_MAX_FAILED_LOGINS: '3' } });
    expect(c.server.trustProxy).toBe(1);
    expect(c.auth.maxFailedLogins).toBe(3);
  });

  it('keeps every bundle and audit entry by default, and takes the retention and health settings from variables', () => {
    const d = loadConfig({ env: {} });
    expect(d.retention).toEqual({ taskLogDays: 30, jobLogDays: 30, bundlesPerItem: 0, tmpHours: 24, auditDays: 0 });
    expect(d.health).toEqual({ minFreeDiskPercent: 10, minFreeDiskBytes: 2 * 1024 ** 3 });
    const c = loadConfig({
      env: {
        LECTERN_RETENTION_TASK_LOG_DAYS: '7',
        LECTERN_RETENTION_JOB_LOG_DAYS: '0',
        LECTERN_RETENTION_BUNDLES_PER_ITEM: '5',
        LECTERN_RETENTION_TMP_HOURS: '6',
        LECTERN_RETENTION_AUDIT_DAYS: '730',
        LECTERN_HEALTH_MIN_FREE_DISK_PERCENT: '2.5',
        LECTERN_HEALTH_MIN_FREE_DISK_BYTES: '0',
      },
    });
    expect(c.retention).toEqual({ taskLogDays: 7, jobLogDays: 0, bundlesPerItem: 5, tmpHours: 6, auditDays: 730 });
    expect(c.health).toEqual({ minFreeDiskPercent: 2.5, minFreeDiskBytes: 0 });
    // Uploads in progress are never leftovers: a 0 that would remove them is refused.
    expect(problemsOf(() => loadConfig({ env: { LECTERN_RETENTION_TMP_HOURS: '0', LECTERN_HEALTH_MIN_FREE_DISK_PERCENT: '120' } }))).toHaveLength(2);
  });

  it('passes proxy and certificate variables on to package installers, and nothing else', () => {
    const c = loadConfig({
      env: { HTTPS_PROXY: 'http://proxy.example:3128', SSL_CERT_FILE: '/etc/ssl/corp.pem', PIP_INDEX_URL: 'http://elsewhere/', SECRET: 'x' },
    });
    expect(c.networkEnv).toEqual({ HTTPS_PROXY: 'http://proxy.example:3128', SSL_CERT_FILE: '/etc/ssl/corp.pem' });
  });

  it('generates a secret key once, keeps it private, and reuses it', () => {
    const dataDir = path.join(tmp(), 'data');
    const c = loadConfig({ env: { LECTERN_DATA_DIR: dataDir } });
    const first = resolveSecretKey(c);
    expect(first.length).toBe(32);
    const file = path.join(dataDir, 'secret.key');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(resolveSecretKey(c).equals(first)).toBe(true);
    expect(Buffer.from(readFileSync(file, 'utf8').trim(), 'base64').equals(first)).toBe(true);
  });

  it('uses a configured secret key instead of the file', () => {
    const key = Buffer.alloc(32, 7).toString('base64');
    const dataDir = tmp();
    const c = loadConfig({ env: { LECTERN_DATA_DIR: dataDir, LECTERN_SECRET_KEY: key } });
    expect(resolveSecretKey(c).toString('base64')).toBe(key);
  });
});
