import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.ts';
import { claimsComplete, groupsFrom, identityFromAssertion, identityFromClaims, MappingError, roleFrom } from '../../src/auth/sso-mapping.ts';

const config = loadConfig({
  env: { OIDC_SECRET: 's3cret' },
  overrides: {
    auth: {
      oidc: [{ name: 'corp', issuer: 'https://idp.example/', clientId: 'lectern', clientSecretEnv: 'OIDC_SECRET', roleClaim: 'lectern_role' }],
      saml: [{ name: 'adfs', entryPoint: 'https://adfs.example/sso', idpCertFile: ['/etc/idp.pem'], roleAttribute: 'role' }],
    },
  },
});
const oidc = config.auth.oidc[0]!;
const saml = config.auth.saml[0]!;

describe('groups and roles from claims and attributes', () => {
  it('takes a list as whole names, and one string split at commas and spaces', () => {
    expect(groupsFrom(['Data Science', 'Finance', 'Finance', ''])).toEqual(['Data Science', 'Finance']);
    expect(groupsFrom('analysts, finance  ops')).toEqual(['analysts', 'finance', 'ops']);
    expect(groupsFrom(undefined)).toEqual([]);
    expect(groupsFrom({ not: 'a group' })).toEqual([]);
  });

  it('reads a Lectern role in any case, the highest of several; anything else is none', () => {
    expect(roleFrom('Publisher')).toBe('publisher');
    expect(roleFrom(['viewer', 'administrator'])).toBe('administrator');
    expect(roleFrom('superuser')).toBeUndefined();
  });
});

describe('OIDC claims mapping', () => {
  it('maps the default claims, groups and the role claim', () => {
    const claims = { sub: 'u-1', preferred_username: 'alice', email: 'a@x', given_name: 'Alice', family_name: 'A', groups: ['G1'], lectern_role: 'publisher' };
    expect(identityFromClaims(claims, oidc)).toEqual({
      provider: 'corp',
      subject: 'u-1',
      username: 'alice',
      email: 'a@x',
      firstName: 'Alice',
      lastName: 'A',
      groups: ['G1'],
      role: 'publisher',
    });
    expect(claimsComplete(claims, oidc)).toBe(true);
    // An ID token with only `sub`: userinfo is asked (userinfo: auto).
    expect(claimsComplete({ sub: 'u-1' }, oidc)).toBe(false);
  });

  it('follows the configured claim names, and refuses an identity without a username', () => {
    const custom = { ...oidc, usernameClaim: 'upn', groupsClaim: 'roles' };
    expect(identityFromClaims({ sub: 's', upn: 'bob@corp', roles: 'a b' }, custom)).toMatchObject({ username: 'bob@corp', groups: ['a', 'b'] });
    expect(() => identityFromClaims({ sub: 's' }, oidc)).toThrow(MappingError);
    expect(() => identityFromClaims({ preferred_username: 'x' }, oidc)).toThrow(/no subject/);
  });
});

describe('SAML attribute mapping', () => {
  it('takes the NameID as the username by default, and multi-valued groups', () => {
    const profile = { nameID: 'sam', attributes: { email: 'sam@x', firstName: 'Sam', groups: ['A', 'B'], role: ['viewer', 'publisher'] } };
    expect(identityFromAssertion(profile, saml)).toEqual({
      provider: 'adfs',
      subject: 'sam',
      username: 'sam',
      email: 'sam@x',
      firstName: 'Sam',
      lastName: undefined,
      groups: ['A', 'B'],
      role: 'publisher',
    });
  });

  it('reads the username from an attribute when configured', () => {
    const byAttr = { ...saml, usernameAttribute: 'uid' };
    expect(identityFromAssertion({ nameID: 'opaque-id', attributes: { uid: 'sam' } }, byAttr)).toMatchObject({ subject: 'opaque-id', username: 'sam' });
    expect(() => identityFromAssertion({ nameID: 'opaque-id', attributes: {} }, byAttr)).toThrow(/no username/);
  });
});

describe('single sign-on configuration', () => {
  it('reads the client secret from its variable, and refuses one written in the configuration', () => {
    expect(oidc.clientSecret).toBe('s3cret');
    expect(oidc.scopes).toEqual(['openid', 'profile', 'email']);
    expect(saml.acceptedClockSkewMs).toBe(60_000);
    expect(() =>
      loadConfig({ env: {}, overrides: { auth: { oidc: [{ name: 'x', issuer: 'https://i.example', clientId: 'c', clientSecret: 'inline' }] } } }),
    ).toThrow(/clientSecret/);
    expect(() =>
      loadConfig({ env: {}, overrides: { auth: { oidc: [{ name: 'x', issuer: 'https://i.example', clientId: 'c', clientSecretEnv: 'MISSING' }] } } }),
    ).toThrow(/MISSING is not set/);
    expect(() => loadConfig({ env: {}, overrides: { auth: { saml: [{ name: 'Bad Name', entryPoint: 'https://x.example', idpCertFile: ['/x'] }] } } })).toThrow(
      /auth\.saml\.0\.name/,
    );
  });
});
