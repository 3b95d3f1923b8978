import os from 'node:os';
import { Command, InvalidArgumentError } from 'commander';
import { openCore, type CoreContext } from '../core-context.ts';
import { ConfigError, loadConfig } from '../config/index.ts';
import { AppError } from '../domain/errors.ts';
import { MAIL_SECURITIES, type MailSecurity, type MailSettings } from '../domain/mail.ts';
import { USER_ROLES, type UserRole } from '../domain/user.ts';
import { createLogger } from '../logging/logger.ts';
import { buildRuntimeImagesWithDocker } from '../runtime-tools.ts';
import { composeTestMessage } from '../services/mail/report-message.ts';
import { addBackupCommands } from './backup.ts';
import { addLdapTest } from './ldap-test.ts';
import { addMigrate } from './migrate.ts';
import { SchemaTooNew } from '../db/migrate.ts';

const actor = { userId: null, via: 'cli' as const };

/**
 * The core only (core-context.ts): a server may be running on the same data directory, and
 * its start-up recovery (failing tasks in flight, stopping content processes, revoking their
 * keys) must never run from here.
 */
async function withContext(fn: (ctx: CoreContext) => Promise<void>): Promise<void> {
  const config = loadConfig();
  // The CLI's own output is for people; server-style logs would only get in the way.
  const ctx = await openCore(config, createLogger('warn', process.stderr));
  try {
    await fn(ctx);
  } finally {
    await ctx.close();
  }
}

function role(value: string): UserRole {
  if (!(USER_ROLES as readonly string[]).includes(value)) {
    throw new InvalidArgumentError(`use one of ${USER_ROLES.join(', ')}`);
  }
  return value as UserRole;
}

/** A secret never goes on the command line (other accounts can read it in the process list). */
async function readStdinSecret(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

const program = new Command('lectern').description('Administer a Lectern server from its host.');

const users = program.command('users').description('Manage user accounts.');

users
  .command('create <username>')
  .description('Create a user. Without --password one is generated, printed once, and must be changed at first login.')
  .option('-r, --role <role>', `one of ${USER_ROLES.join(', ')}`, role, 'viewer' as UserRole)
  .option('-e, --email <email>', 'email address', '')
  .option('--first-name <name>', 'first name', '')
  .option('--last-name <name>', 'last name', '')
  .option('--password-stdin', 'read the password from standard input')
  .action(async (username: string, o: { role: UserRole; email: string; firstName: string; lastName: string; passwordStdin?: boolean }) => {
    let password: string | undefined;
    if (o.passwordStdin) password = await readStdinSecret();
    await withContext(async (ctx) => {
      const { user, generatedPassword } = await ctx.users.create(actor, {
        username,
        role: o.role,
        email: o.email,
        firstName: o.firstName,
        lastName: o.lastName,
        password,
      });
      process.stdout.write(`created ${user.role} ${user.username} (guid ${user.guid})\n`);
      if (generatedPassword) process.stdout.write(`one-time password: ${generatedPassword}\n`);
    });
  });

users
  .command('list')
  .description('List users.')
  .option('--json', 'print JSON')
  .action(async (o: { json?: boolean }) => {
    await withContext(async (ctx) => {
      const { users: list } = await ctx.users.list({ offset: 0, limit: 100_000 });
      if (o.json) {
        process.stdout.write(JSON.stringify(list.map((u) => ({ guid: u.guid, username: u.username, role: u.role, locked: u.locked, email: u.email }))) + '\n');
        return;
      }
      for (const u of list) process.stdout.write(`${u.username}\t${u.role}\t${u.locked ? 'locked' : 'active'}\t${u.email}\t${u.guid}\n`);
    });
  });

users
  .command('lock <username>')
  .description('Lock a user: their sessions end and their API keys stop working.')
  .option('--unlock', 'unlock instead')
  .action(async (username: string, o: { unlock?: boolean }) => {
    await withContext(async (ctx) => {
      const user = await ctx.users.byUsername(username);
      await ctx.users.setLocked(actor, user, !o.unlock);
      process.stdout.write(`${o.unlock ? 'unlocked' : 'locked'} ${user.username}\n`);
    });
  });

program
  .command('keys')
  .description('Manage API keys.')
  .command('create <username>')
  .description('Create an API key for a user and print it once.')
  .option('-n, --name <name>', 'a name to tell the key apart', 'cli')
  .action(async (username: string, o: { name: string }) => {
    await withContext(async (ctx) => {
      const user = await ctx.users.byUsername(username);
      const { secret } = await ctx.keys.create(actor, user, o.name);
      process.stdout.write(`${secret}\n`);
    });
  });

program
  .command('runtimes')
  .description('Container runtime images (the Docker and Swarm backends).')
  .command('build')
  .description(
    'Build the runtime images that are missing: the base (from debootstrap and docker import unless --base names one), then R, Python, and R with Python.',
  )
  .option('--base <image>', 'a Debian-family image to build FROM instead of the debootstrap import')
  .option('--force', 'rebuild images that exist')
  .action(async (o: { base?: string; force?: boolean }) => {
    const built = await buildRuntimeImagesWithDocker({ base: o.base, force: o.force, log: (l) => process.stdout.write(`${l}\n`) });
    process.stdout.write(built.length ? `built ${built.join(', ')}\n` : 'every runtime image is there\n');
  });

function port(value: string): number {
  const n = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!(n >= 1 && n <= 65535)) throw new InvalidArgumentError('use a port number from 1 to 65535');
  return n;
}

function security(value: string): MailSecurity {
  if (!(MAIL_SECURITIES as readonly string[]).includes(value)) throw new InvalidArgumentError(`use one of ${MAIL_SECURITIES.join(', ')}`);
  return value as MailSecurity;
}

function describeMail(s: MailSettings): string {
  return [
    `host: ${s.host}`,
    `port: ${s.port}`,
    `security: ${s.security}${s.skipVerify ? ' (certificate not verified)' : ''}`,
    `user: ${s.username ?? '(none: no authentication)'}`,
    `password: ${s.hasPassword ? 'set' : 'not set'}`,
    `from: ${s.fromName ? `${JSON.stringify(s.fromName)} <${s.fromAddress}>` : s.fromAddress}`,
  ].join('\n');
}

const email = program.command('email').description('Outgoing email: the SMTP server that report email goes through.');

email
  .command('configure')
  .description('Set the SMTP server. The password is read from standard input only; without --password-stdin it is kept if host and user are unchanged.')
  .requiredOption('--host <host>', 'SMTP host name or address')
  .requiredOption('--port <port>', 'SMTP port (465 for tls, 587 for starttls, 25)', port)
  .requiredOption('--security <mode>', `${MAIL_SECURITIES.join(', ')} (tls: implicit TLS; starttls: required upgrade)`, security)
  .option('--user <name>', 'user name, if the server requires authentication')
  .option('--password-stdin', 'read the password from standard input')
  .option('--from <address>', 'sender address (required the first time, then kept unless given)')
  .option('--from-name <name>', 'sender display name (kept unless given; "" removes it)')
  .option('--skip-verify', "accept a TLS certificate that does not verify (a self-signed relay's)")
  .action(
    async (o: {
      host: string;
      port: number;
      security: MailSecurity;
      user?: string;
      passwordStdin?: boolean;
      from?: string;
      fromName?: string;
      skipVerify?: boolean;
    }) => {
      const password = o.passwordStdin ? await readStdinSecret() : undefined;
      await withContext(async (ctx) => {
        // The sender is kept from the last configuration unless given.
        const current = await ctx.mail.settings.get();
        const fromAddress = o.from ?? current?.fromAddress;
        if (!fromAddress) throw AppError.badRequest('--from <address> is required: the address report email comes from.');
        const settings = await ctx.mail.settings.set(
          actor,
          {
            host: o.host,
            port: o.port,
            security: o.security,
            username: o.user ?? null,
            password,
            fromAddress,
            fromName: o.fromName ?? current?.fromName ?? null,
            skipVerify: o.skipVerify ?? false,
          },
          new Date(),
        );
        process.stdout.write(`email configured\n${describeMail(settings)}\n`);
      });
    },
  );

email
  .command('show')
  .description('Print the SMTP settings (never the password).')
  .action(async () => {
    await withContext(async (ctx) => {
      const settings = await ctx.mail.settings.get();
      process.stdout.write(settings ? `${describeMail(settings)}\n` : 'email is not configured\n');
    });
  });

email
  .command('disable')
  .description('Remove the SMTP settings: no email is sent until configured again.')
  .action(async () => {
    await withContext(async (ctx) => {
      await ctx.mail.settings.clear(actor);
      process.stdout.write('email disabled\n');
    });
  });

email
  .command('test')
  .description('Send a test message now and print what the SMTP server answered.')
  .requiredOption('--to <address>', 'recipient')
  .action(async (o: { to: string }) => {
    await withContext(async (ctx) => {
      const now = new Date();
      const message = composeTestMessage(ctx.config.server.publicUrl ?? os.hostname(), now);
      try {
        const sent = await ctx.mail.outbox.sendNow({ kind: 'test', message, recipient: { address: o.to } }, now);
        process.stdout.write(`sent to ${o.to}: ${sent.response}\n`);
      } catch (err) {
        process.stderr.write(`lectern: could not send to ${o.to}: ${err instanceof Error ? err.message : String(err)}\n`);
        process.exitCode = 1;
      }
    });
  });

addLdapTest(program);
addMigrate(program);
addBackupCommands(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  if (err instanceof ConfigError || err instanceof AppError || err instanceof SchemaTooNew) {
    process.stderr.write(`lectern: ${err.message}\n`);
    process.exit(err instanceof ConfigError ? 2 : 1);
  }
  process.stderr.write(`lectern: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
