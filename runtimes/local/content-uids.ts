import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** A uid (and gid of the same number) that belongs to one content item alone. */
export interface ContentAccount {
  name: string;
  uid: number;
  gid: number;
}

interface Table {
  next: number;
  byGuid: Record<string, number>;
}

/**
 * Each content item runs, renders and builds its packages under a uid of its own, so one
 * item's processes cannot signal another's, read its /proc entries or its files. Uids come
 * from a range no account uses and are never handed out twice: the table is kept in the data
 * directory (the local backend is one host), written whole and renamed, so a crash leaves the
 * old table or the new one. A deleted item's uid is not reused: a file it left somewhere must
 * never become another item's.
 */
export class ContentUids {
  private readonly file: string;
  private readonly table: Table;

  constructor(
    dataDir: string,
    private readonly first: number,
    private readonly count: number,
  ) {
    this.file = path.join(dataDir, 'content-uids.json');
    this.table = existsSync(this.file) ? (JSON.parse(readFileSync(this.file, 'utf8')) as Table) : { next: first, byGuid: {} };
    // The range may have moved in the settings: never hand out a uid below it or twice.
    if (this.table.next < first) this.table.next = first;
  }

  /** The item's account, allocated on first use. */
  of(contentGuid: string): ContentAccount {
    let uid = this.table.byGuid[contentGuid];
    if (uid === undefined) {
      uid = this.table.next;
      if (uid >= this.first + this.count) {
        throw new Error(`All ${this.count} content uids from ${this.first} are in use: widen runtime.contentUids (LECTERN_CONTENT_UIDS).`);
      }
      this.table.byGuid[contentGuid] = uid;
      this.table.next = uid + 1;
      const partial = `${this.file}.partial`;
      writeFileSync(partial, JSON.stringify(this.table), { mode: 0o600 });
      renameSync(partial, this.file);
    }
    return { name: `lectern-${uid}`, uid, gid: uid };
  }
}
