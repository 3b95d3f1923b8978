import { Command, InvalidArgumentError } from 'commander';
import { openCore, type CoreContext } from '../core-context.ts';
import { ConfigError, loadConfig } from '../config/index.ts';
import { AppError } from '../domain/errors.ts';
import { USER_ROLES, type UserRole } from '../domain/user.ts';
import { createLogger } from '../logging/logger.ts';
import { buildRuntimeImagesWithDocker } from '../runtime-tools.ts';

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
    if (o.passwordStdin) {
      const chunks: Buffer[] = [];
      for await (const c of process.stdin) chunks.push(c as Buffer);
      password = Buffer.concat(chunks)
        .toString('utf8')
        .replace(/\r?\n$/, '');
    }
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

program.parseAsync(process.argv).catch((err: unknown) => {
  if (err instanceof ConfigError || err instanceof AppError) {
    process.stderr.write(`lectern: ${err.message}\n`);
    process.exit(err instanceof ConfigError ? 2 : 1);
  }
  process.stderr.write(`lectern: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
