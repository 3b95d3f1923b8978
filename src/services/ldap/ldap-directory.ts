import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import { Client, InvalidCredentialsError, ResultCodeError, type Entry } from 'ldapts';
import type { Config } from '../../config/index.ts';
import { firstRdnValue, groupsHolding, userFilter } from './ldap-filter.ts';

export type LdapConfig = NonNullable<Config['auth']['ldap']>;

/** The provider name LDAP logins, identities and remote groups go by. */
export const LDAP_PROVIDER = 'ldap';

/** Active Directory's LDAP_MATCHING_RULE_IN_CHAIN: membership through any depth of groups. */
const IN_CHAIN = '1.2.840.113556.1.4.1941';

/** A person as the directory has them, with the attribute mapping applied. */
export interface DirectoryUser {
  dn: string;
  /** The stable id (the subject attribute, else the DN). */
  subject: string;
  username: string;
  email?: string | undefined;
  firstName?: string | undefined;
  lastName?: string | undefined;
  groups: string[];
}

/** Why the directory gave no user: the audit log's reason. */
type DirectoryRefusal = 'empty-password' | 'no-such-user' | 'ambiguous-user' | 'bad-credentials' | 'directory-unavailable';

export type DirectoryAnswer = { ok: true; user: DirectoryUser } | { ok: false; reason: DirectoryRefusal; detail?: string };

function values(entry: Entry, attribute: string): Array<string | Buffer> {
  const key = Object.keys(entry).find((k) => k.toLowerCase() === attribute.toLowerCase());
  if (!key) return [];
  const v = entry[key]!;
  return Array.isArray(v) ? v : [v];
}

function first(entry: Entry, attribute: string): string | undefined {
  const v = values(entry, attribute)[0];
  if (v === undefined) return undefined;
  return typeof v === 'string' ? v : v.toString('hex');
}

/**
 * The stable id of the person: fails closed when the entry lacks it (Active Directory has no
 * entryUUID; a silent fall back to the DN would give a reused DN the old person's account).
 */
function required(entry: Entry, attribute: string): string {
  const v = first(entry, attribute);
  if (v === undefined)
    throw new Error(
      `the directory entry ${entry.dn} has no ${attribute} (auth.ldap.attributes.subject); set it to one it has, e.g. objectGUID on Active Directory, or dn`,
    );
  return v;
}

/**
 * An LDAP or Active Directory server, through ldapts: a connection per operation (over TLS
 * for ldaps:// or with StartTLS, checked against `caFile`), a service bind (or anonymous) to
 * find the user's entry and groups, and a bind as that entry to check a password. Timeouts
 * bound the connection and every operation. The bind password is never logged or returned.
 */
export class LdapDirectory {
  private readonly tls: ConnectionOptions;

  constructor(private readonly c: LdapConfig) {
    // Read at start-up: a missing CA file stops the server with the reason, not each login.
    this.tls = c.caFile ? { ca: readFileSync(c.caFile) } : {};
  }

  private async connect(): Promise<Client> {
    const client = new Client({
      url: this.c.url.replace(/\/$/, ''),
      timeout: this.c.timeoutSeconds * 1000,
      connectTimeout: this.c.connectTimeoutSeconds * 1000,
      // For ldaps:// only: given to the client, these also went into StartTLS's upgrade
      // (ldapts 8), which then never completed.
      ...(this.c.startTls ? {} : { tlsOptions: this.tls }),
      strictDN: false,
    });
    if (this.c.startTls) await client.startTLS(this.tls);
    return client;
  }

  private async serviceSession(): Promise<Client> {
    const client = await this.connect();
    if (this.c.bindDn) await client.bind(this.c.bindDn, this.c.bindPassword);
    return client;
  }

  private static async close(client: Client | undefined) {
    await client?.unbind().catch(() => undefined);
  }

  /** Checks a password: the entry found by the service session, then a bind as it. */
  async authenticate(username: string, password: string): Promise<DirectoryAnswer> {
    // An empty password is an "unauthenticated bind" (RFC 4513 §5.1.2): many servers answer
    // it with success. It must never reach a bind.
    if (password === '') return { ok: false, reason: 'empty-password' };
    return this.withService(username, async (svc, entry) => {
      const check = await this.connect();
      try {
        await check.bind(entry.dn, password);
      } catch (err) {
        if (err instanceof InvalidCredentialsError || err instanceof ResultCodeError) return { ok: false, reason: 'bad-credentials' };
        throw err;
      } finally {
        await LdapDirectory.close(check);
      }
      return { ok: true, user: await this.toUser(svc, entry, username) };
    });
  }

  /** The entry and groups of a username, without a password (the group sync, the test command). */
  lookup(username: string): Promise<DirectoryAnswer> {
    return this.withService(username, async (svc, entry) => ({ ok: true, user: await this.toUser(svc, entry, username) }));
  }

  private async withService(username: string, then: (svc: Client, entry: Entry) => Promise<DirectoryAnswer>): Promise<DirectoryAnswer> {
    if (username === '') return { ok: false, reason: 'no-such-user' };
    let svc: Client | undefined;
    try {
      svc = await this.serviceSession();
      const a = this.c.attributes;
      const attributes = [a.username, a.email, a.firstName, a.lastName, ...(a.subject === 'dn' ? [] : [a.subject]), 'memberOf'];
      const { searchEntries } = await svc.search(this.c.userBase, {
        scope: 'sub',
        filter: userFilter(this.c.userFilter, username),
        attributes,
        explicitBufferAttributes: /^objectguid$/i.test(a.subject) ? [a.subject] : [],
      });
      if (searchEntries.length === 0) return { ok: false, reason: 'no-such-user' };
      if (searchEntries.length > 1) return { ok: false, reason: 'ambiguous-user' };
      return await then(svc, searchEntries[0]!);
    } catch (err) {
      return { ok: false, reason: 'directory-unavailable', detail: (err as Error).message };
    } finally {
      await LdapDirectory.close(svc);
    }
  }

  private async toUser(svc: Client, entry: Entry, typed: string): Promise<DirectoryUser> {
    const a = this.c.attributes;
    return {
      dn: entry.dn,
      subject: a.subject === 'dn' ? entry.dn : required(entry, a.subject),
      username: first(entry, a.username) ?? typed,
      email: first(entry, a.email),
      firstName: first(entry, a.firstName),
      lastName: first(entry, a.lastName),
      groups: await this.groupsOf(svc, entry, first(entry, a.username) ?? typed),
    };
  }

  /** The user's groups by name, as `groups.style` and `groups.nested` say, at most `maxGroups`. */
  private async groupsOf(svc: Client, entry: Entry, username: string): Promise<string[]> {
    const g = this.c.groups;
    if (g.style === 'none') return [];
    const found = new Map<string, string>(); // DN (lower-cased) -> name
    const search = async (filter: string) => {
      const { searchEntries } = await svc.search(g.base!, { scope: 'sub', filter, attributes: [g.nameAttribute] });
      return searchEntries.map((e) => ({ dn: e.dn, name: first(e, g.nameAttribute) ?? firstRdnValue(e.dn) }));
    };
    const add = (list: Array<{ dn: string; name: string }>) => {
      const fresh: string[] = [];
      for (const x of list) {
        const key = x.dn.toLowerCase();
        if (found.has(key) || found.size >= g.maxGroups) continue;
        found.set(key, x.name);
        fresh.push(x.dn);
      }
      return fresh;
    };

    if (g.nested === 'inChain' && g.style !== 'memberUid') {
      // One search: the directory follows the chain (Active Directory only).
      add(await search(groupsHolding(g.filter, g.memberAttribute, [entry.dn], IN_CHAIN)));
      return [...found.values()];
    }
    let frontier: string[];
    if (g.style === 'memberOf') {
      frontier = add(
        values(entry, 'memberOf')
          .map((v) => String(v))
          .map((dn) => ({ dn, name: firstRdnValue(dn) })),
      );
    } else if (g.style === 'member') {
      frontier = add(await search(groupsHolding(g.filter, g.memberAttribute, [entry.dn])));
    } else {
      frontier = add(await search(groupsHolding(g.filter, 'memberUid', [username])));
    }
    if (g.nested === 'none') return [...found.values()];
    // Groups in groups, level by level: the groups whose members include the last level's,
    // until none is new, maxDepth levels are read, or maxGroups are known (cycles end too,
    // since a group is read once).
    for (let depth = 1; depth < g.maxDepth && frontier.length > 0 && found.size < g.maxGroups; depth++) {
      const next: string[] = [];
      for (let i = 0; i < frontier.length; i += 50) {
        next.push(...add(await search(groupsHolding(g.filter, g.memberAttribute, frontier.slice(i, i + 50)))));
      }
      frontier = next;
    }
    return [...found.values()];
  }
}
