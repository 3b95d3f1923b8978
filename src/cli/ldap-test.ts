import type { Command } from 'commander';
import { loadConfig } from '../config/index.ts';
import { mappedRole } from '../domain/role-mapping.ts';
import { LdapDirectory, type DirectoryUser } from '../services/ldap/ldap-directory.ts';

/** The password from the terminal without echo, or standard input's first line; never argv. */
async function readPassword(): Promise<string> {
  const stdin = process.stdin;
  if (!stdin.isTTY) {
    const chunks: Buffer[] = [];
    for await (const c of stdin) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0] ?? '';
  }
  process.stderr.write('Password: ');
  stdin.setRawMode(true);
  stdin.resume();
  return new Promise((resolve) => {
    let typed = '';
    const onData = (b: Buffer) => {
      for (const ch of b.toString('utf8')) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') {
          stdin.setRawMode(false);
          stdin.pause();
          stdin.off('data', onData);
          process.stderr.write('\n');
          return resolve(typed);
        }
        if (ch === '\u0003') process.exit(130);
        typed = ch === '\u007f' ? typed.slice(0, -1) : typed + ch;
      }
    };
    stdin.on('data', onData);
  });
}

function describe(u: DirectoryUser, role: string): string {
  return [
    `dn: ${u.dn}`,
    `subject: ${u.subject}`,
    `username: ${u.username}`,
    `email: ${u.email ?? '(none)'}`,
    `first name: ${u.firstName ?? '(none)'}`,
    `last name: ${u.lastName ?? '(none)'}`,
    `groups: ${u.groups.length ? u.groups.join(', ') : '(none)'}`,
    `role: ${role}`,
  ].join('\n');
}

/**
 * `lectern ldap-test <username>`: an LDAP login as Lectern would make it (the same
 * configuration, filter, binds and group search), printing what it found, without logging
 * anyone in or writing anything. The password is read without echo from the terminal, or
 * from standard input; `--no-password` looks the user up with the service account only.
 */
export function addLdapTest(program: Command): void {
  program
    .command('ldap-test <username>')
    .description('Try an LDAP login as Lectern would and print the entry, mapped attributes, groups and role found. Reads the password from standard input.')
    .option('--no-password', 'look the user up with the service account only, without checking a password')
    .action(async (username: string, o: { password: boolean }) => {
      const config = loadConfig();
      const ldap = config.auth.ldap;
      if (!ldap) {
        process.stderr.write('lectern: auth.ldap is not configured\n');
        process.exitCode = 2;
        return;
      }
      const directory = new LdapDirectory(ldap);
      const answer = o.password ? await directory.authenticate(username, await readPassword()) : await directory.lookup(username);
      if (!answer.ok) {
        process.stdout.write(`refused: ${answer.reason}${answer.detail ? ` (${answer.detail})` : ''}\n`);
        process.exitCode = 1;
        return;
      }
      const mapped = mappedRole(answer.user.groups, config.auth.roleMapping, 'ldap');
      const role = mapped ? `${mapped} (from auth.roleMapping)` : `${config.auth.defaultRole} for a new user (auth.defaultRole); an existing user keeps theirs`;
      process.stdout.write(`${o.password ? 'password accepted' : 'found (no password checked)'}\n${describe(answer.user, role)}\n`);
    });
}
