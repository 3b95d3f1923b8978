import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { UsageBatch } from '../../src/repositories/usage-repo.ts';
import { UsageRecorderService } from '../../src/services/usage/usage-recorder.ts';

function recorder() {
  const batches: UsageBatch[] = [];
  const writer = { write: async (b: UsageBatch) => void batches.push(b), close: async () => undefined };
  const r = new UsageRecorderService(writer, { flushRows: 1000, flushMs: 60_000, maxRows: 10_000 }, pino({ enabled: false }));
  return { r, batches };
}

const GUID = '11111111-1111-4111-8111-111111111111';

describe('the usage recorder', () => {
  it('writes a session that began and ended within one batch as one ended row', async () => {
    const { r, batches } = recorder();
    const end = r.sessionStarted(GUID, null, new Date('2026-12-01T10:00:00Z'));
    end();
    end(); // a second close changes nothing
    await r.flush();
    expect(batches).toHaveLength(1);
    expect(batches[0]!.sessions).toHaveLength(1);
    expect(batches[0]!.sessions[0]!.ended).toBeInstanceOf(Date);
    expect(batches[0]!.ends).toEqual([]);
  });

  it('ends a session written in an earlier batch by its key, and ends open ones at close', async () => {
    const { r, batches } = recorder();
    const end = r.sessionStarted(GUID, null, new Date());
    r.sessionStarted(GUID, null, new Date());
    await r.flush();
    expect(batches[0]!.sessions.map((s) => s.ended)).toEqual([null, null]);
    end();
    await r.flush();
    expect(batches[1]!.ends.map((e) => e.key)).toEqual([batches[0]!.sessions[0]!.key]);
    await r.close();
    expect(batches[2]!.ends.map((e) => e.key)).toEqual([batches[0]!.sessions[1]!.key]);
  });

  it('writes visits with data version 3 and hits as they came', async () => {
    const { r, batches } = recorder();
    const seen = {
      contentGuid: GUID,
      userGuid: null,
      bundleId: 7,
      path: '/',
      query: 'a=1',
      userAgent: 'ua',
      secFetchDest: 'document',
      secFetchSite: 'none',
      time: new Date(),
    };
    r.hit(seen);
    r.visit({ ...seen, shown: { variantKey: 'Ab12Cd34', renderingId: 9 } });
    await r.flush();
    expect(batches[0]!.visits[0]).toMatchObject({ contentGuid: GUID, bundleId: 7, path: '/', dataVersion: 3, variantKey: 'Ab12Cd34', renderingId: 9 });
    expect(batches[0]!.hits[0]).toMatchObject({ path: '/', query: 'a=1', secFetchDest: 'document' });
  });
});
