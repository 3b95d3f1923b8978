import { z } from 'zod';
import { intFrom } from './schema-values.ts';

// The settings of operating a server (split from schema.ts, which composes them): what the
// daily prune keeps, and what the health check calls low on disk space.

// The daily prune (src/services/retention/): what is kept, and for how long. 0 keeps
// everything of that kind. Whatever the settings, nothing still in use is pruned: a running
// task's or job's log, an item's active bundle, a bundle a rendering or a running deploy
// names or one uploaded in the last day, an upload in progress.
export const retentionSchema = z
  .object({
    // Finished deploy and render tasks (their output lines, in the database), by their end.
    // A task a client read to the end goes after a day anyway (TaskService's sweep).
    taskLogDays: intFrom(
      z
        .number()
        .int()
        .min(0)
        .max(100 * 365),
    ).default(30),
    // Ended jobs (a process's or render's log, `<dataDir>/jobs`), by their end.
    jobLogDays: intFrom(
      z
        .number()
        .int()
        .min(0)
        .max(100 * 365),
    ).default(30),
    // Bundles kept per content item, the newest; older ones go with their files, audited.
    // 0 (Connect's BundleRetentionLimit default): all, as a rollback may want any of them.
    bundlesPerItem: intFrom(z.number().int().min(0).max(100_000)).default(0),
    // Uploads left in `<dataDir>/tmp` (and half-extracted bundles) this long after their
    // last write. Never 0: an upload in progress writes every moment; a request lasts
    // minutes at most.
    tmpHours: intFrom(
      z
        .number()
        .int()
        .min(1)
        .max(365 * 24),
    ).default(24),
    // Audit entries, by their time. 0 keeps them all, as Connect does: the audit log is
    // often kept for compliance, so removing any is the administrator's choice.
    auditDays: intFrom(
      z
        .number()
        .int()
        .min(0)
        .max(100 * 365),
    ).default(0),
  })
  .strict()
  .prefault({});

// What `GET /__health__` (and the status page) call low on disk space in the data
// directory: free space under either threshold is a warning. 0 turns that check off.
export const healthSchema = z
  .object({
    minFreeDiskPercent: z.preprocess((v) => (typeof v === 'string' && v.trim() !== '' ? Number(v) : v), z.number().min(0).max(100)).default(10),
    minFreeDiskBytes: intFrom(z.number().int().min(0).max(Number.MAX_SAFE_INTEGER)).default(2 * 1024 ** 3),
  })
  .strict()
  .prefault({});
