import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.ts';
import { cidrMatcher, isCidr } from '../../src/domain/cidr.ts';
import { mappedRole } from '../../src/domain/role-mapping.ts';
import { firstRdnValue, groupsHolding, userFilter } from '../../src/services/ldap/ldap-filter.ts';

describe('LDAP filters', () => {
  it('escapes the username as RFC 4515 says, so it is a value and never filter syntax', () => {
    expect(userFilter('(uid={username})', 'alice')).toBe('(uid=alice)');
    expect(userFilter('(uid={username})', '*)(uid=*')).toBe('(uid=\\2a\\29\\28uid=\\2a)');
    expect(userFilter('(&(objectClass=person)(uid={username}))', 'admin)(|(uid=*')).toBe('(&(objectClass=person)(uid=admin\\29\\28|\\28uid=\\2a))');
    expect(userFilter('(uid={username})', 'a\\b\u0000')).toBe('(uid=a\\5cb\\00)');
    // Every occurrence, as in (|(uid={username})(mail={username})).
    expect(userFilter('(|(uid={username})(mail={username}))', 'x*')).toBe('(|(uid=x\\2a)(mail=x\\2a))');
  });

  it('builds group searches by member, with the in-chain matching rule for Active Directory', () => {
    expect(groupsHolding('(objectClass=groupOfNames)', 'member', ['uid=a,dc=x'])).toBe('(&(objectClass=groupOfNames)(member=uid=a,dc=x))');
    expect(groupsHolding('(objectClass=group)', 'member', ['cn=a*(b)'], '1.2.840.113556.1.4.1941')).toBe(
      '(&(objectClass=group)(member:1.2.840.113556.1.4.1941:=cn=a\\2a\\28b\\29))',
    );
    expect(groupsHolding('(o=g)', 'member', ['a', 'b'])).toBe('(&(o=g)(|(member=a)(member=b)))');
  });

  it("reads a group's name from its DN's first RDN", () => {
    expect(firstRdnValue('cn=analysts,ou=groups,dc=example,dc=org')).toBe('analysts');
    expect(firstRdnValue('CN=Data\\, Science,OU=Groups,DC=corp')).toBe('Data, Science');
    expect(firstRdnValue('cn=caf\\c3\\a9,dc=x')).toBe('café');
  });
});

describe('trusted proxy ranges', () => {
  it('matches IPv4 and IPv6 ranges, and an IPv4 client on a dual-stack socket', () => {
    const trusted = cidrMatcher(['127.0.0.1/32', '10.0.0.0/8', 'fd00::/8']);
    expect(trusted('127.0.0.1')).toBe(true);
    expect(trusted('::ffff:127.0.0.1')).toBe(true);
    expect(trusted('10.200.3.4')).toBe(true);
    expect(trusted('11.0.0.1')).toBe(false);
    expect(trusted('127.0.0.2')).toBe(false);
    expect(trusted('fd12::1')).toBe(true);
    expect(trusted('::1')).toBe(false);
    expect(trusted(undefined)).toBe(false);
    expect(trusted('not-an-address')).toBe(false);
    expect(cidrMatcher(['192.168.1.5'])('192.168.1.5')).toBe(true);
  });

  it('checks ranges', () => {
    for (const ok of ['127.0.0.1/32', '10.0.0.0/8', '::1/128', 'fd00::/8', '192.168.0.1']) expect(isCidr(ok), ok).toBe(true);
    for (const bad of ['127.0.0.1/33', '::1/129', '10.0.0.0/8/1', 'example.com/24', '10.0.0.0/x', '']) expect(isCidr(bad), bad).toBe(false);
  });
});

describe('role mapping', () => {
  const rules = [
    { group: 'Admins', role: 'administrator' as const },
    { group: 'publishers', role: 'publisher' as const },
    { group: 'staff', role: 'viewer' as const },
  ];
  it('gives the highest role of the matched groups, comparing names without case', () => {
    expect(mappedRole(['staff', 'PUBLISHERS'], rules, 'ldap')).toBe('publisher');
    expect(mappedRole(['admins', 'staff'], rules, 'ldap')).toBe('administrator');
    expect(mappedRole(['staff'], rules, 'ldap')).toBe('viewer');
    expect(mappedRole(['other'], rules, 'ldap')).toBeUndefined();
    expect(mappedRole([], [], 'ldap')).toBeUndefined();
  });

  it("applies a rule naming a provider to that provider's groups only", () => {
    const scoped = [{ group: 'admins', role: 'administrator' as const, provider: 'ldap' }];
    expect(mappedRole(['admins'], scoped, 'ldap')).toBe('administrator');
    // The same name asserted through another provider (a proxy's header) grants nothing.
    expect(mappedRole(['admins'], scoped, 'proxy')).toBeUndefined();
  });
});

describe('login configuration', () => {
  const load = (auth: Record<string, unknown>, env: Record<string, string> = {}) => loadConfig({ env, overrides: { auth } });
  it('has password logins on, the viewer default, no linking, and neither LDAP nor a proxy by default', () => {
    const c = load({});
    expect(c.auth).toMatchObject({ password: { enabled: true }, defaultRole: 'viewer', linkExistingUsers: false, roleMapping: [] });
    expect(c.auth.ldap).toBeUndefined();
    expect(c.auth.proxy).toBeUndefined();
    expect(load({}, { LECTERN_PASSWORD_LOGINS: 'off' }).auth.password.enabled).toBe(false);
  });

  it('refuses a proxy without trusted addresses, or with a range that is none', () => {
    expect(() => load({ proxy: {} })).toThrow(/trustedProxies/);
    const secret = 'a'.repeat(32);
    expect(() => load({ proxy: { trustedProxies: [], secret } })).toThrow(/at least one/);
    expect(() => load({ proxy: { trustedProxies: ['10.0.0.0/33'], secret } })).toThrow(/CIDR/);
    // A front proxy proves itself with a shared secret, not only its address.
    expect(() => load({ proxy: { trustedProxies: ['127.0.0.1/32'] } })).toThrow(/secret/);
    expect(() => load({ proxy: { trustedProxies: ['127.0.0.1/32'], secret: 'short' } })).toThrow(/32 characters/);
    expect(load({ proxy: { trustedProxies: '127.0.0.1/32, ::1', secret } }).auth.proxy?.trustedProxies).toEqual(['127.0.0.1/32', '::1']);
    // Two identity providers on: each role rule must say whose group it names.
    const ldap = { url: 'ldap://127.0.0.1:1389', userBase: 'ou=people,dc=example,dc=org' };
    expect(() => load({ ldap, proxy: { trustedProxies: ['127.0.0.1/32'], secret }, roleMapping: [{ group: 'admins', role: 'administrator' }] })).toThrow(
      /its provider/,
    );
    expect(
      load({ ldap, proxy: { trustedProxies: ['127.0.0.1/32'], secret }, roleMapping: [{ group: 'admins', role: 'administrator', provider: 'ldap' }] }).auth
        .roleMapping,
    ).toHaveLength(1);
    expect(load({ ldap, roleMapping: [{ group: 'admins', role: 'administrator' }] }).auth.roleMapping).toHaveLength(1);
  });

  it('refuses LDAP settings that cannot work', () => {
    const base = { url: 'ldap://dir.example:389', userBase: 'ou=people,dc=example' };
    expect(load({ ldap: base }).auth.ldap).toMatchObject({ userFilter: '(uid={username})', groups: { style: 'memberOf', nested: 'none' } });
    expect(() => load({ ldap: { ...base, url: 'http://dir.example' } })).toThrow(/ldap:\/\//);
    expect(() => load({ ldap: { ...base, userFilter: '(uid=alice)' } })).toThrow(/\{username\}/);
    expect(() => load({ ldap: { ...base, bindDn: 'cn=svc' } })).toThrow(/go together/);
    expect(() => load({ ldap: { ...base, url: 'ldaps://dir.example', startTls: true } })).toThrow(/startTls/);
    expect(() => load({ ldap: { ...base, groups: { style: 'member' } } })).toThrow(/groups\.base/);
    expect(load({ ldap: { ...base, bindDn: 'cn=svc' } }, { LECTERN_LDAP_BIND_PASSWORD: 'secret' }).auth.ldap?.bindPassword).toBe('secret');
  });
});
