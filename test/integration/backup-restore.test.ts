import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tar from 'tar';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { BrowserSession } from '../helpers/browser.ts';
import { fixture, staticBundle } from '../helpers/bundles.ts';
import { createTestDatabase, DATABASES, type TestDatabase } from '../helpers/databases.ts';
import { deployBundle, get } from '../helpers/deploy.ts';
import { runCli } from '../helpers/process.ts';
import { api, startTestServer, type TestServer } from '../helpers/server.ts';

const PAGE = '<!doctype html><title>kept</title><h1>Backed up and restored</h1>';
// Bytes that are not text: a restore must give them back exactly.
const PICTURE = randomBytes(200_000);

/** What a server on the restore must serve the same: a static page and its picture, a rendered report. */
interface Served {
  page: string;
  picture: Buffer;
  report: string;
}

async function served(contentUrl: string, guids: { site: string; report: string }, key: string): Promise<Served> {
  const page = await get(`${contentUrl}/content/${guids.site}/`, key);
  const picture = await fetch(`${contentUrl}/content/${guids.site}/img/picture.bin`, { headers: { authorization: `Key ${key}` } });
  const report = await get(`${contentUrl}/content/${guids.report}/`, key);
  expect([page.status, picture.status, report.status]).toEqual([200, 200, 200]);
  return { page: page.text, picture: Buffer.from(await picture.arrayBuffer()), report: report.text };
}

describe.each(DATABASES)('lectern backup and restore on %s', (kind) => {
  let t: TestServer;
  let scratch: string;
  let archive: string;
  let alice: { key: string; password: string };
  let guids: { site: string; report: string };
  let before: Served;
  const fresh: TestDatabase[] = [];
  let backup: { code: number | null; stdout: string; stderr: string };
  let backupMs = 0;
  let requestsDuring = 0;

  /** A new, empty data directory and database to restore into (dropped after the tests). */
  async function target(): Promise<TestDatabase> {
    const db = await createTestDatabase(kind);
    fresh.push(db);
    return db;
  }

  const lectern = (args: string[], db: { dataDir: string; url: string }) => runCli(args, { LECTERN_DATA_DIR: db.dataDir, LECTERN_DATABASE_URL: db.url });
  const restore = (file: string, db: { dataDir: string; url: string }) => lectern(['restore', file, '--data-dir', db.dataDir], db);

  /** The archive unpacked, changed by `edit`, and packed again under a new name. */
  async function repacked(edit: (dir: string) => void): Promise<string> {
    const dir = mkdtempSync(path.join(scratch, 'repack-'));
    await tar.x({ file: archive, cwd: dir });
    edit(dir);
    const out = path.join(scratch, `repacked-${randomBytes(4).toString('hex')}.tar.gz`);
    await tar.c({ file: out, gzip: true, cwd: dir }, readdirSync(dir));
    return out;
  }

  /** Nothing was written: the data directory as it was (empty here) and, on PostgreSQL, no table. */
  async function untouched(db: TestDatabase, files: string[] = []) {
    expect(readdirSync(db.dataDir).sort()).toEqual(files);
    if (kind === 'postgres') {
      expect(await publicTables(db)).toEqual([]);
    }
  }

  /** The tables of a restore target's PostgreSQL database (none: untouched). */
  async function publicTables(db: TestDatabase): Promise<string[]> {
    const pg = (await import('pg')).default;
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    try {
      return (await c.query(`select tablename from pg_tables where schemaname = 'public'`)).rows.map((r) => r.tablename as string);
    } finally {
      await c.end();
    }
  }

  beforeAll(async () => {
    scratch = mkdtempSync(path.join(os.tmpdir(), 'lectern-backup-test-'));
    archive = path.join(scratch, 'lectern.tar.gz');
    t = await startTestServer(kind);
    alice = await t.createUser('alice', 'publisher');
    const site = await deployBundle(t.url, alice.key, 'site', await staticBundle(PAGE, { 'img/picture.bin': PICTURE as unknown as string }));
    expect(site.task.code, site.log).toBe(0);
    const report = await deployBundle(t.url, alice.key, 'report', fixture('r-rmd-static.tar.gz'));
    expect(report.task.code, report.log).toBe(0);
    guids = { site: site.content.guid, report: report.content.guid };
    before = await served(t.contentUrl, guids, alice.key);
    expect(before.page).toBe(PAGE);
    expect(before.report).toContain('Quarterly report');

    // The backup every test reads, made while traffic and writes (users) go on.
    let busy = true;
    const traffic = (async () => {
      while (busy) {
        const r = await get(`${t.contentUrl}/content/${guids.site}/`, alice.key);
        expect(r.status).toBe(200);
        const made = await api(t.url, 'POST', '/__api__/v1/users', {
          key: t.admin.key,
          body: { username: `during${requestsDuring}`, password: 'pw-during-0123456789', user_role: 'viewer' },
        });
        expect(made.status).toBeLessThan(300);
        requestsDuring++;
      }
    })();
    const started = Date.now();
    backup = await lectern(['backup', archive], t.db);
    backupMs = Date.now() - started;
    busy = false;
    await traffic;
    expect(backup.code, backup.stderr).toBe(0);
  });

  afterAll(async () => {
    await t?.close();
    for (const db of fresh) await db.drop();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  it('backs up while the server serves and writes; a server on the restore serves the same bytes, and keys and users still work', async () => {
    expect(requestsDuring).toBeGreaterThan(0);
    expect(backup.code, backup.stderr).toBe(0);
    expect(backup.stdout).toMatch(/^backed up to .*lectern\.tar\.gz/);
    expect(backup.stdout).toContain("holds the server's secret key");
    expect(statSync(archive).mode & 0o777).toBe(0o600);
    expect(readdirSync(scratch).filter((n) => n.includes('partial') || n.startsWith('.lectern-backup'))).toEqual([]);

    const manifest = JSON.parse(await manifestOf(archive));
    expect(manifest).toMatchObject({ format: 'lectern-backup', database: { kind }, secretKey: { source: 'file', file: 'data/secret.key' } });
    expect(manifest.schema.migrations.length).toBeGreaterThan(10);
    expect(manifest.files.some((f: { path: string }) => f.path.startsWith(`data/renders/${guids.report}/`))).toBe(true);
    expect(manifest.files.some((f: { path: string }) => f.path.startsWith(`data/bundles/${guids.site}/`))).toBe(true);
    expect(manifest.excluded.map((e: { path: string }) => e.path)).toEqual(expect.arrayContaining(['tmp']));

    const db = await target();
    const restoreStarted = Date.now();
    const restored = await restore(archive, db);
    const restoreMs = Date.now() - restoreStarted;
    expect(restored.code, restored.stderr).toBe(0);
    expect(restored.stdout).toContain('verified and restored');
    expect(statSync(db.dataDir).mode & 0o777).toBe(0o700);
    expect(statSync(path.join(db.dataDir, 'secret.key')).mode & 0o777).toBe(0o600);
    expect(readFileSync(path.join(db.dataDir, 'secret.key'))).toEqual(readFileSync(path.join(t.db.dataDir, 'secret.key')));
    expect(readdirSync(db.dataDir).filter((n) => n.startsWith('.lectern-restore'))).toEqual([]);
    if (kind === 'sqlite') expect(statSync(path.join(db.dataDir, 'lectern.db')).mode & 0o777).toBe(0o600);
    process.stdout.write(
      `[backup-restore ${kind}] backup ${backupMs} ms (${statSync(archive).size} bytes, ${manifest.files.length} files), restore ${restoreMs} ms\n`,
    );

    const again = await startTestServer(kind, { db });
    try {
      expect(await served(again.contentUrl, guids, alice.key)).toEqual(before);
      const me = await api(again.url, 'GET', '/__api__/v1/user', { key: alice.key });
      expect([me.status, me.body.username]).toEqual([200, 'alice']);
      expect((await api(again.url, 'GET', '/__api__/v1/user', { key: t.admin.key })).body.username).toBe('admin');
      // A password still logs in (its hash came with the database) and the session works.
      const browser = new BrowserSession(again.url);
      expect((await browser.login('alice', alice.password)).status).toBe(303);
      expect((await browser.get('/')).status).toBe(200);
    } finally {
      await again.stop();
    }
  });

  it('refuses an archive whose files do not match their checksums, writing nothing', async () => {
    const tampered = await repacked((dir) => {
      const index = path.join(
        dir,
        'data',
        'bundles',
        guids.site,
        readdirSync(path.join(dir, 'data', 'bundles', guids.site)).find((n) => !n.endsWith('.tar.gz'))!,
        'index.html',
      );
      writeFileSync(index, PAGE.replace('kept', 'KEPT'));
    });
    const db = await target();
    const r = await restore(tampered, db);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/does not match its manifest, so nothing was restored: data\/bundles\/.*\/index\.html does not match its SHA-256 checksum/);
    await untouched(db);
  });

  it('refuses a data directory that is not empty, or a database that is not', async () => {
    const db = await target();
    writeFileSync(path.join(db.dataDir, 'notes.txt'), 'not a place to restore into');
    const r = await restore(archive, db);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/is not empty \(it holds notes\.txt\): restore into a new, empty data directory/);
    await untouched(db, ['notes.txt']);

    // The running server's own database, with an empty data directory.
    const empty = await target();
    const intoLive = await restore(archive, {
      dataDir: empty.dataDir,
      url: kind === 'postgres' ? t.db.url : `sqlite:${path.join(t.db.dataDir, 'lectern.db')}`,
    });
    expect(intoLive.code).toBe(1);
    expect(intoLive.stderr).toMatch(
      kind === 'postgres'
        ? /is not empty \(it holds public\..*\): restore into a new, empty database/
        : /lectern\.db already exists: restore into a new database/,
    );
    expect(readdirSync(empty.dataDir)).toEqual([]);
    expect((await get(`${t.contentUrl}/content/${guids.site}/`, alice.key)).text).toBe(PAGE);
  });

  it('refuses a data directory holding another secret key', async () => {
    const db = await target();
    writeFileSync(path.join(db.dataDir, 'secret.key'), randomBytes(32).toString('base64') + '\n', { mode: 0o600 });
    const r = await restore(archive, db);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/holds a different secret key from the backup's/);
    await untouched(db, ['secret.key']);

    // Nor a configured one that differs.
    const other = await target();
    const configured = await runCli(['restore', archive, '--data-dir', other.dataDir], {
      LECTERN_DATABASE_URL: other.url,
      LECTERN_SECRET_KEY: randomBytes(32).toString('base64'),
    });
    expect(configured.code).toBe(1);
    expect(configured.stderr).toMatch(/configured secret key .* is not the one this backup was made with/);
    await untouched(other);
  });

  it('refuses an archive whose schema has a migration this code does not know', async () => {
    const newer = await repacked((dir) => {
      const file = path.join(dir, 'manifest.json');
      const m = JSON.parse(readFileSync(file, 'utf8'));
      m.schema.migrations.push('20991231-001-from-the-future');
      m.lecternVersion = '9.0.0';
      writeFileSync(file, JSON.stringify(m));
    });
    const db = await target();
    const r = await restore(newer, db);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /has migrations this Lectern \(\d+ known\) does not: 20991231-001-from-the-future\. It was made by a newer version \(Lectern 9\.0\.0\)/,
    );
    await untouched(db);
  });

  it('refuses to restore into the other kind of database', async () => {
    const db = await target();
    const other = kind === 'sqlite' ? inject('pgAdminUrl') : `sqlite:${path.join(db.dataDir, 'lectern.db')}`;
    const r = await restore(archive, { dataDir: db.dataDir, url: other });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/a restore does not convert between them/);
    expect(existsSync(db.dataDir) ? readdirSync(db.dataDir) : []).toEqual([]);
  });

  it('takes the files back out when the database cannot be loaded', async () => {
    // SQLite: a file stands where the database's directory must go. PostgreSQL: pg_restore
    // fails as on a server error (a fake one, first on PATH).
    const blocker = path.join(scratch, `blocker-${randomBytes(4).toString('hex')}`);
    writeFileSync(blocker, '');
    const bin = mkdtempSync(path.join(scratch, 'bin-'));
    // It keeps what it was called with and in which environment, for the checks below.
    writeFileSync(
      path.join(bin, 'pg_restore'),
      '#!/bin/sh\nprintf "%s\\n" "$@" > "$(dirname "$0")/args"\nenv > "$(dirname "$0")/env"\necho "pg_restore: error: simulated failure" >&2\nexit 1\n',
      { mode: 0o755 },
    );
    const failing = (dataDir: string, db: TestDatabase) =>
      runCli(
        ['restore', archive, '--data-dir', dataDir],
        kind === 'sqlite'
          ? { LECTERN_DATABASE_URL: `sqlite:${path.join(blocker, 'lectern.db')}` }
          : { LECTERN_DATABASE_URL: db.url, PATH: `${bin}:${process.env.PATH}` },
      );

    const db = await target();
    const r = await failing(db.dataDir, db);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(kind === 'sqlite' ? /lectern: .*(EEXIST|ENOTDIR)/ : /pg_restore failed \(exit code 1\): pg_restore: error: simulated failure/);
    expect(r.stderr).toContain('Nothing was restored: the data directory and the database are as they were.');
    await untouched(db);
    if (kind === 'postgres') {
      // The connection reaches it in its environment; its command line names no server, user or URL.
      const args = readFileSync(path.join(bin, 'args'), 'utf8');
      expect(args).toContain('--single-transaction');
      expect(args).not.toMatch(/postgres(ql)?:\/\/|127\.0\.0\.1|--host|--username/);
      const u = new URL(db.url);
      expect(readFileSync(path.join(bin, 'env'), 'utf8')).toContain(`PGHOST=${u.hostname}`);
    }

    // Into a directory that did not exist: it is gone again.
    const missing = path.join(scratch, `missing-${randomBytes(4).toString('hex')}`);
    expect((await failing(missing, db)).code).toBe(1);
    expect(existsSync(missing)).toBe(false);
  });

  it("refuses to replace a file, or to back up a directory that is not a server's", async () => {
    const r = await lectern(['backup', archive], t.db);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/already exists: a backup never replaces a file/);

    // Nothing is made there: no key, no database.
    const stranger = mkdtempSync(path.join(scratch, 'stranger-'));
    const out = path.join(scratch, 'stranger.tar.gz');
    const s = await runCli(['backup', out], { LECTERN_DATA_DIR: stranger, ...(kind === 'postgres' ? { LECTERN_DATABASE_URL: t.db.url } : {}) });
    expect(s.code).toBe(1);
    expect(s.stderr).toMatch(/There is no secret key at .*secret\.key: is .* this server's data directory/);
    expect(readdirSync(stranger)).toEqual([]);
    expect(existsSync(out)).toBe(false);
  });
});

/** The manifest.json of an archive, as text. */
async function manifestOf(file: string): Promise<string> {
  let text = '';
  await tar.t({
    file,
    onReadEntry: (e) => {
      if (e.path === 'manifest.json') e.on('data', (d: Buffer) => (text += d.toString('utf8')));
      else e.resume();
    },
  });
  return text;
}
