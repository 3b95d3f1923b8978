import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { DatabaseConfig } from '../../src/db/connect.ts';
import { ThreadedUsageWriter } from '../../src/services/usage/threaded-writer.ts';

const BATCH = { visits: [], hits: [], sessions: [], ends: [] };

describe('the usage writer thread', () => {
  it('is not started again for every batch when it cannot open the database', async () => {
    // A data directory under a plain file: the thread's database can never open.
    const dir = mkdtempSync(path.join(os.tmpdir(), 'lectern-usage-writer-'));
    writeFileSync(path.join(dir, 'file'), '');
    const writer = new ThreadedUsageWriter({ dataDir: path.join(dir, 'file', 'data'), database: {} } as DatabaseConfig);
    await expect(writer.write(BATCH)).rejects.toThrow();
    // The next batch a second later fails at once, without a new thread (and its start-up) each time.
    await expect(writer.write(BATCH)).rejects.toThrow(/started again shortly/);
    await writer.close();
  });
});
