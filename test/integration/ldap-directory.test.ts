import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'ldapts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.ts';
import { LdapDirectory, type LdapConfig } from '../../src/services/ldap/ldap-directory.ts';
import { runCli } from '../helpers/process.ts';
import { BASE_DN, personDn, SERVICE, startSlapd, type Slapd } from '../helpers/slapd.ts';

// The directory client against a real slapd: TLS both ways with a CA made here, the group
// styles, nested groups, and what it refuses. No Lectern database is involved (the login tests
// on both databases are ldap-login.test.ts), so these run once.

let slapd: Slapd;
beforeAll(async () => {
  slapd = await startSlapd(
    [
      { uid: 'alice', password: 'alice-pw-1234', givenName: 'Alice', sn: 'Archer', mail: 'alice@example.org' },
      { uid: 'bob', password: 'bob-pw-1234' },
    ],
    [
      { cn: 'analysts', members: ['alice'] },
      { cn: 'data-science', members: ['group:analysts'] },
      { cn: 'research', members: ['group:data-science'] },
      // A cycle: the walk reads each group once and ends.
      { cn: 'loop-a', members: ['alice'] },
      { cn: 'loop-b', members: ['group:loop-a'] },
    ],
  );
  slapd.modify(`dn: cn=loop-a,ou=groups,${BASE_DN}\nchangetype: modify\nadd: member\nmember: cn=loop-b,ou=groups,${BASE_DN}\n`);
});
afterAll(async () => slapd?.stop());

function directory(ldap: Record<string, unknown> = {}): LdapDirectory {
  const config = loadConfig({
    env: {},
    overrides: {
      auth: {
        ldap: { url: slapd.url, bindDn: SERVICE.dn, bindPassword: SERVICE.password, userBase: `ou=people,${BASE_DN}`, ...ldap },
      },
    },
  });
  return new LdapDirectory(config.auth.ldap as LdapConfig);
}

const groupBase = `ou=groups,${BASE_DN}`;

describe('the LDAP directory client', () => {
  it('maps the entry: username, names, email, and entryUUID as the subject (or the DN)', async () => {
    const found = await directory({ groups: { style: 'none' } }).authenticate('alice', 'alice-pw-1234');
    expect(found.ok).toBe(true);
    if (!found.ok) return;
    expect(found.user).toMatchObject({
      dn: personDn('alice'),
      username: 'alice',
      email: 'alice@example.org',
      firstName: 'Alice',
      lastName: 'Archer',
      groups: [],
    });
    expect(found.user.subject).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-/);
    const byDn = await directory({ attributes: { subject: 'dn' }, groups: { style: 'none' } }).lookup('alice');
    expect(byDn.ok && byDn.user.subject).toBe(personDn('alice'));
  });

  it('reads groups as memberOf values or by a group search, nested by a bounded walk that survives cycles', async () => {
    const names = async (groups: Record<string, unknown>) => {
      const r = await directory({ groups: { base: groupBase, ...groups } }).lookup('alice');
      if (!r.ok) throw new Error(r.reason);
      return [...r.user.groups].sort();
    };
    expect(await names({ style: 'memberOf' })).toEqual(['analysts', 'loop-a']);
    expect(await names({ style: 'member' })).toEqual(['analysts', 'loop-a']);
    expect(await names({ style: 'memberOf', nested: 'walk' })).toEqual(['analysts', 'data-science', 'loop-a', 'loop-b', 'research']);
    expect(await names({ style: 'member', nested: 'walk' })).toEqual(['analysts', 'data-science', 'loop-a', 'loop-b', 'research']);
    // Bounded: two levels, then three groups at most.
    expect(await names({ style: 'member', nested: 'walk', maxDepth: 2 })).toEqual(['analysts', 'data-science', 'loop-a', 'loop-b']);
    expect(await names({ style: 'member', nested: 'walk', maxGroups: 3 })).toHaveLength(3);
  });

  it('never lets an empty password reach a bind, though this server takes one as an unauthenticated bind', async () => {
    // The danger: slapd (here with `allow bind_anon_dn`, as Active Directory allows it)
    // answers a bind with a DN and no password with success.
    const raw = new Client({ url: slapd.url });
    await expect(raw.bind(personDn('alice'), '')).resolves.toBeUndefined();
    await raw.unbind();
    expect(await directory().authenticate('alice', '')).toEqual({ ok: false, reason: 'empty-password' });
    expect(await directory().authenticate('alice', 'wrong-password')).toEqual({ ok: false, reason: 'bad-credentials' });
    expect(await directory().authenticate('*', 'alice-pw-1234')).toEqual({ ok: false, reason: 'no-such-user' });
  });

  it('searches with an anonymous bind when no bind DN is configured', async () => {
    const config = loadConfig({ env: {}, overrides: { auth: { ldap: { url: slapd.url, userBase: `ou=people,${BASE_DN}` } } } });
    const found = await new LdapDirectory(config.auth.ldap as LdapConfig).authenticate('alice', 'alice-pw-1234');
    expect(found).toMatchObject({ ok: true, user: { username: 'alice', groups: ['analysts', 'loop-a'] } });
    expect(await new LdapDirectory(config.auth.ldap as LdapConfig).authenticate('alice', 'wrong-password')).toEqual({ ok: false, reason: 'bad-credentials' });
  });

  it('speaks LDAPS and StartTLS checked against the CA file, and refuses a server its CA did not sign', async () => {
    const ok = async (d: LdapDirectory) => (await d.authenticate('alice', 'alice-pw-1234')).ok;
    expect(await ok(directory({ url: slapd.ldapsUrl, caFile: slapd.caFile }))).toBe(true);
    expect(await ok(directory({ url: slapd.url, startTls: true, caFile: slapd.caFile }))).toBe(true);
    for (const d of [
      directory({ url: slapd.ldapsUrl }),
      directory({ url: slapd.ldapsUrl, caFile: slapd.otherCaFile }),
      directory({ url: slapd.url, startTls: true }),
    ]) {
      const r = await d.authenticate('alice', 'alice-pw-1234');
      expect(r).toMatchObject({ ok: false, reason: 'directory-unavailable' });
    }
  });

  it('gives up on an unreachable directory within the connect timeout', async () => {
    const started = Date.now();
    // A port nothing listens on (slapd's, once it is not ours): refused at once.
    const r = await directory({ url: 'ldap://127.0.0.1:9', connectTimeoutSeconds: 2 }).authenticate('alice', 'alice-pw-1234');
    expect(r).toMatchObject({ ok: false, reason: 'directory-unavailable' });
    expect(Date.now() - started).toBeLessThan(5000);
  });
});

describe('lectern ldap-test', () => {
  let dir: string;
  let env: Record<string, string>;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'lectern-ldap-cli-'));
    const config = {
      dataDir: dir,
      auth: {
        ldap: {
          url: slapd.url,
          bindDn: SERVICE.dn,
          userBase: `ou=people,${BASE_DN}`,
          groups: { style: 'member', base: groupBase, nested: 'walk' },
        },
        roleMapping: [{ group: 'data-science', role: 'publisher' }],
      },
    };
    writeFileSync(path.join(dir, 'lectern.yaml'), JSON.stringify(config));
    // The bind password from the environment, as an administrator would keep it out of the file.
    env = { LECTERN_CONFIG: path.join(dir, 'lectern.yaml'), LECTERN_LDAP_BIND_PASSWORD: SERVICE.password };
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('prints the entry, the mapped attributes, the groups and the role, reading the password from standard input', async () => {
    const r = await runCli(['ldap-test', 'alice'], env, 'alice-pw-1234\n');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('password accepted');
    expect(r.stdout).toContain(`dn: ${personDn('alice')}`);
    expect(r.stdout).toContain('email: alice@example.org');
    expect(r.stdout).toContain('first name: Alice');
    expect(r.stdout).toMatch(/groups: .*analysts.*data-science/);
    expect(r.stdout).toContain('role: publisher (from auth.roleMapping)');
    expect(r.stdout).not.toContain(SERVICE.password);

    const bob = await runCli(['ldap-test', 'bob', '--no-password'], env);
    expect(bob.code).toBe(0);
    expect(bob.stdout).toContain('found (no password checked)');
    expect(bob.stdout).toContain('role: viewer for a new user');
  });

  it('says why a login would fail', async () => {
    const wrong = await runCli(['ldap-test', 'alice'], env, 'nope\n');
    expect(wrong.code).toBe(1);
    expect(wrong.stdout).toContain('refused: bad-credentials');
    const injected = await runCli(['ldap-test', '*)(uid=*'], env, 'alice-pw-1234\n');
    expect(injected.stdout).toContain('refused: no-such-user');
    const empty = await runCli(['ldap-test', 'alice'], env, '\n');
    expect(empty.stdout).toContain('refused: empty-password');
  });
});
