import { describe, expect, it } from 'vitest';
import { keysetPage, type KeysetFetch } from '../../src/api/keyset-paging.ts';

// Ids 1..7 as a store answers a keyset query.
const store = async (f: KeysetFetch) => {
  let ids = [1, 2, 3, 4, 5, 6, 7];
  if (f.afterId !== undefined) ids = ids.filter((i) => i > f.afterId!);
  if (f.beforeId !== undefined) ids = ids.filter((i) => i < f.beforeId!);
  if (f.order === 'desc') ids.reverse();
  return ids.slice(0, f.limit).map((id) => ({ id }));
};
const ask = (over: Partial<Parameters<typeof keysetPage>[0]>) => ({ limit: 3, next: undefined, previous: undefined, last: false, ascending: true, ...over });
const ids = (p: { rows: Array<{ id: number }> }) => p.rows.map((r) => r.id);

describe('keyset pages', () => {
  it('walks forward to the end and says where it ends', async () => {
    const first = await keysetPage(ask({}), store);
    expect([ids(first), first.previous, first.next]).toEqual([[1, 2, 3], null, 3]);
    const second = await keysetPage(ask({ next: 3 }), store);
    expect([ids(second), second.previous, second.next]).toEqual([[4, 5, 6], 4, 6]);
    const third = await keysetPage(ask({ next: 6 }), store);
    expect([ids(third), third.previous, third.next]).toEqual([[7], 7, null]);
  });

  it('walks back from a cursor, and reads the last page, in the reading order', async () => {
    const back = await keysetPage(ask({ previous: 4 }), store);
    expect([ids(back), back.previous, back.next]).toEqual([[1, 2, 3], null, 3]);
    const mid = await keysetPage(ask({ previous: 7 }), store);
    expect([ids(mid), mid.previous, mid.next]).toEqual([[4, 5, 6], 4, 6]);
    const last = await keysetPage(ask({ last: true }), store);
    expect([ids(last), last.previous, last.next]).toEqual([[5, 6, 7], 5, null]);
  });

  it('reads newest first when asked, with the cursors following that order', async () => {
    const first = await keysetPage(ask({ ascending: false }), store);
    expect([ids(first), first.next]).toEqual([[7, 6, 5], 5]);
    const second = await keysetPage(ask({ ascending: false, next: 5 }), store);
    expect([ids(second), second.previous, second.next]).toEqual([[4, 3, 2], 4, 2]);
    const back = await keysetPage(ask({ ascending: false, previous: 4 }), store);
    expect(ids(back)).toEqual([7, 6, 5]);
  });
});
