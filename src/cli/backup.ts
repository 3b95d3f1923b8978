import path from 'node:path';
import type { Command } from 'commander';
import { loadConfig } from '../config/index.ts';
import { BackupError } from '../services/backup/backup-error.ts';
import { createBackup } from '../services/backup/create-backup.ts';
import { restoreBackup } from '../services/backup/restore-backup.ts';

function size(bytes: number): string {
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
  return `${(bytes / 1024 ** 3).toFixed(2)} GiB`;
}

/** One line per reason (the SQLite file and its -wal and -shm share one). */
function leftOut(excluded: ReadonlyArray<{ path: string; reason: string }>): string[] {
  const byReason = new Map<string, string[]>();
  for (const e of excluded) byReason.set(e.reason, [...(byReason.get(e.reason) ?? []), e.path]);
  return [...byReason].map(([reason, paths]) => `left out: ${paths.join(', ')}: ${reason}`);
}

const seconds = (since: number) => `${((performance.now() - since) / 1000).toFixed(1)} s`;

/** A refusal is a message for the administrator and exit code 1; anything else is a bug, with its stack (main.ts). */
async function refusalsToExitCode(fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    if (!(err instanceof BackupError)) throw err;
    process.stderr.write(`lectern: ${err.message}\n`);
    process.exitCode = 1;
  }
}

/**
 * `lectern backup <file>` and `lectern restore <file> --data-dir <dir>`: the work is in
 * src/services/backup/; these only read the configuration and say what happened.
 */
export function addBackupCommands(program: Command): void {
  program
    .command('backup <file>')
    .description(
      'Write a backup of this server (its database, bundles, rendered output and secret key, with a manifest of checksums) to a new .tar.gz, while the server runs.',
    )
    .action(async (file: string) => {
      const config = loadConfig();
      await refusalsToExitCode(async () => {
        const started = performance.now();
        const b = await createBackup(config, file);
        const m = b.manifest;
        const lines = [
          `backed up to ${b.file} (${size(b.bytes)}, ${b.files} files, ${seconds(started)})`,
          `database: ${m.database.kind} (${m.database.method}), schema of ${m.schema.migrations.length} migrations, Lectern ${m.lecternVersion}`,
          ...leftOut(m.excluded),
          m.secretKey.source === 'file'
            ? "The archive holds the server's secret key, password hashes and every bundle: it is readable by its owner only (0600). Keep every copy of it as safe as the server itself."
            : 'The archive holds password hashes and every bundle (it is readable by its owner only, 0600), but not the secret key, which comes from the configuration: keep that key, a restore needs it.',
        ];
        process.stdout.write(lines.join('\n') + '\n');
      });
    });

  program
    .command('restore <file>')
    .description(
      'Restore a backup into a new, empty data directory and the configured database (new and empty too), after checking every checksum, the database kind, the schema and the secret key.',
    )
    .requiredOption('--data-dir <dir>', 'the data directory to restore into: new, or empty')
    .action(async (file: string, o: { dataDir: string }) => {
      const config = loadConfig();
      config.dataDir = path.resolve(o.dataDir);
      await refusalsToExitCode(async () => {
        const started = performance.now();
        const r = await restoreBackup(config, file);
        const m = r.manifest;
        const lines = [
          `verified and restored ${r.files} files of a backup made ${m.createdAt} on ${m.hostname} by Lectern ${m.lecternVersion} (${seconds(started)})`,
          `data directory: ${r.dataDir}`,
          `database: ${r.database}`,
          r.pending.length
            ? `The backup's schema is older than this Lectern's: the server applies ${r.pending.length} migration(s) when it starts (${r.pending.join(', ')}).`
            : "The backup's schema is this Lectern's.",
          'Start the server with this data directory and database. Package environments are rebuilt as each app first starts.',
        ];
        process.stdout.write(lines.join('\n') + '\n');
      });
    });
}
