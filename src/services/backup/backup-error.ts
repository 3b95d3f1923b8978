/**
 * A backup or restore that cannot go on, for a reason the administrator can act on: the CLI
 * prints the message alone (no stack) and exits non-zero.
 */
export class BackupError extends Error {
  override readonly name = 'BackupError';
}
