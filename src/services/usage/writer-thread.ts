/**
 * The usage writer's thread (started by threaded-writer.ts): a database connection of its
 * own, writing each batch the proxy's thread posts, one transaction per batch. Building the
 * rows, SQLite's synchronous write and its fsync all happen here, so none of them holds up
 * the event loop that relays requests.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { isPostgresUrl, openDatabase, sqlitePath, type DatabaseConfig } from '../../db/connect.ts';
import { UsageRepo, type UsageBatch } from '../../repositories/usage-repo.ts';
import { SqliteUsageWriter } from '../../repositories/usage-sqlite-writer.ts';

export interface WriteRequest {
  id: number;
  batch: UsageBatch;
}

export type WriteReply = { id: number; ok: true } | { id: number; ok: false; error: string };

const port = parentPort!;
const config = workerData as DatabaseConfig;
const postgres = isPostgresUrl(config.database.url);

/** SQLite through prepared statements; PostgreSQL through knex (pg's I/O is asynchronous). */
function openWriter(): { write(b: UsageBatch): Promise<void>; close(): Promise<void> } {
  if (!postgres) {
    const w = new SqliteUsageWriter(sqlitePath(config));
    return { write: async (b) => w.write(b), close: async () => w.close() };
  }
  const db = openDatabase(config);
  const repo = new UsageRepo(db.knex);
  return { write: (b) => repo.writeBatch(b), close: () => db.knex.destroy() };
}

const writer = openWriter();

// One batch at a time, in the order posted: a session's end never overtakes its start.
let queue = Promise.resolve();
port.on('message', (m: WriteRequest | 'close') => {
  queue = queue.then(async () => {
    if (m === 'close') {
      await writer.close();
      port.close();
      return;
    }
    try {
      await writer.write(m.batch);
      port.postMessage({ id: m.id, ok: true } satisfies WriteReply);
    } catch (err) {
      port.postMessage({ id: m.id, ok: false, error: err instanceof Error ? err.message : String(err) } satisfies WriteReply);
    }
  });
});
