import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export const BASE_DN = 'dc=example,dc=org';
const ROOT_DN = `cn=admin,${BASE_DN}`;
const ROOT_PW = 'root-secret-pw';
/** The service account Lectern binds as to search. */
export const SERVICE = { dn: `cn=lectern,ou=services,${BASE_DN}`, password: 'service-secret-pw' };

/** `{SSHA}` as slappasswd makes it: SHA-1 of password and salt, then the salt, in base64. */
function ssha(password: string): string {
  const salt = randomBytes(8);
  return '{SSHA}' + Buffer.concat([createHash('sha1').update(password).update(salt).digest(), salt]).toString('base64');
}

export interface LdapPerson {
  uid: string;
  password: string;
  givenName?: string;
  sn?: string;
  mail?: string;
}

export interface LdapGroup {
  cn: string;
  /** Members: a person by uid, or another group as `group:<cn>`. */
  members: string[];
}

export const personDn = (uid: string) => `uid=${uid},ou=people,${BASE_DN}`;
export const groupDn = (cn: string) => `cn=${cn},ou=groups,${BASE_DN}`;
const memberDn = (m: string) => (m.startsWith('group:') ? groupDn(m.slice(6)) : personDn(m));

export interface Slapd {
  /** ldap:// on loopback (StartTLS available). */
  url: string;
  /** ldaps:// on loopback, with a certificate for 127.0.0.1 signed by `caFile`. */
  ldapsUrl: string;
  caFile: string;
  /** A CA that did not sign the server's certificate. */
  otherCaFile: string;
  /** Adds, changes or deletes entries (ldapmodify, as the directory's root). */
  modify(ldif: string): void;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`slapd exited with ${child.exitCode}: ${log()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`slapd did not listen on ${port}: ${log()}`);
}

/** A CA, and a server certificate for 127.0.0.1 and localhost signed by it; another CA beside. */
function makeCertificates(dir: string) {
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  for (const ca of ['ca', 'other-ca']) {
    ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', `/CN=Lectern test ${ca}`, '-keyout', `${ca}.key`, '-out', `${ca}.pem`);
  }
  ssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', 'server.key', '-out', 'server.csr');
  writeFileSync(path.join(dir, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n');
  ssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-extfile', 'ext.cnf', '-out', 'server.pem');
}

function directoryLdif(people: readonly LdapPerson[], groups: readonly LdapGroup[]): string {
  const entries = [
    `dn: ${BASE_DN}\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example`,
    `dn: ou=people,${BASE_DN}\nobjectClass: organizationalUnit\nou: people`,
    `dn: ou=groups,${BASE_DN}\nobjectClass: organizationalUnit\nou: groups`,
    `dn: ou=services,${BASE_DN}\nobjectClass: organizationalUnit\nou: services`,
    `dn: ${SERVICE.dn}\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\ncn: lectern\nuserPassword: ${ssha(SERVICE.password)}`,
    ...people.map((p) =>
      [
        `dn: ${personDn(p.uid)}`,
        'objectClass: inetOrgPerson',
        `uid: ${p.uid}`,
        `cn: ${p.givenName ?? p.uid} ${p.sn ?? 'Person'}`,
        `sn: ${p.sn ?? 'Person'}`,
        ...(p.givenName ? [`givenName: ${p.givenName}`] : []),
        ...(p.mail ? [`mail: ${p.mail}`] : []),
        `userPassword: ${ssha(p.password)}`,
      ].join('\n'),
    ),
    ...groups.map((g) => [`dn: ${groupDn(g.cn)}`, 'objectClass: groupOfNames', `cn: ${g.cn}`, ...g.members.map((m) => `member: ${memberDn(m)}`)].join('\n')),
  ];
  return entries.join('\n\n') + '\n';
}

/**
 * Debian's slapd on free loopback ports with a configuration of its own (slapd.conf: the mdb
 * backend in a temporary directory, the core, cosine, inetorgperson and nis schemas, the
 * memberof overlay, TLS with a CA made here), loaded through ldapadd (so memberOf is kept),
 * stopped by its pid. Groups are loaded in order: a group that has another as a member comes
 * after it. Unauthenticated binds (a DN with an empty password) are allowed, as Active
 * Directory allows them, so a client that lets an empty password through is caught. Anyone
 * may read entries (not passwords), so anonymous searches find people.
 */
export async function startSlapd(people: readonly LdapPerson[], groups: readonly LdapGroup[]): Promise<Slapd> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lectern-slapd-'));
  mkdirSync(path.join(dir, 'db'));
  makeCertificates(dir);
  const [port, tlsPort] = [await freePort(), await freePort()];
  const conf = path.join(dir, 'slapd.conf');
  writeFileSync(
    conf,
    [
      ...['core', 'cosine', 'inetorgperson', 'nis'].map((s) => `include /etc/ldap/schema/${s}.schema`),
      'modulepath /usr/lib/ldap',
      'moduleload back_mdb',
      'moduleload memberof',
      `pidfile ${dir}/slapd.pid`,
      `argsfile ${dir}/slapd.args`,
      'allow bind_anon_dn',
      `TLSCACertificateFile ${dir}/ca.pem`,
      `TLSCertificateFile ${dir}/server.pem`,
      `TLSCertificateKeyFile ${dir}/server.key`,
      'database mdb',
      `suffix "${BASE_DN}"`,
      `rootdn "${ROOT_DN}"`,
      `rootpw ${ROOT_PW}`,
      `directory ${dir}/db`,
      'maxsize 33554432',
      'index objectClass eq',
      'index uid,member,memberUid eq',
      'overlay memberof',
      'access to attrs=userPassword by self read by anonymous auth by * none',
      'access to * by * read',
      '',
    ].join('\n'),
  );
  let log = '';
  const child = spawn('/usr/sbin/slapd', ['-d', '0', '-f', conf, '-h', `ldap://127.0.0.1:${port}/ ldaps://127.0.0.1:${tlsPort}/`], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `ldap://127.0.0.1:${port}`;
  const modify = (ldif: string) => {
    execFileSync('ldapmodify', ['-x', '-c', '-H', url, '-D', ROOT_DN, '-w', ROOT_PW], { input: ldif, stdio: ['pipe', 'pipe', 'pipe'] });
  };
  const stop = async () => {
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitForPort(port, child, () => log);
    await waitForPort(tlsPort, child, () => log);
    execFileSync('ldapadd', ['-x', '-H', url, '-D', ROOT_DN, '-w', ROOT_PW], { input: directoryLdif(people, groups), stdio: ['pipe', 'pipe', 'pipe'] });
  } catch (err) {
    await stop();
    throw err;
  }
  return { url, ldapsUrl: `ldaps://127.0.0.1:${tlsPort}`, caFile: path.join(dir, 'ca.pem'), otherCaFile: path.join(dir, 'other-ca.pem'), modify, stop };
}
