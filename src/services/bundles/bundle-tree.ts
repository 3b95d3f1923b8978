import { refuse } from './entry-path.ts';

export type NodeKind = 'dir' | 'file' | 'link';

/**
 * The bundle's namespace as the archive has declared it so far. It is the authority on what may
 * be written where: every entry claims its path here before anything touches the disk, so
 * duplicates and file/directory collisions are refused from the archive's own description,
 * never discovered (or missed) by racing the file system.
 */
export class BundleTree {
  readonly kinds = new Map<string, NodeKind>();
  dirCount = 0;

  /**
   * Claims `p` (canonical, non-empty) for an entry of the given kind. Returns the directories,
   * parents first, that must be created for it; `raw` is the entry's name for messages.
   */
  claim(p: string, kind: NodeKind, raw: string): string[] {
    const created: string[] = [];
    const parts = p.split('/');
    for (let i = 1; i < parts.length; i++) {
      const ancestor = parts.slice(0, i).join('/');
      const existing = this.kinds.get(ancestor);
      if (existing === 'file') throw refuse(raw, `is inside "${ancestor}", which is a file`);
      if (existing === 'link') throw refuse(raw, `is inside "${ancestor}", which is a link`);
      if (existing === undefined) {
        this.kinds.set(ancestor, 'dir');
        created.push(ancestor);
      }
    }
    const existing = this.kinds.get(p);
    if (kind === 'dir') {
      // A repeated or implied directory is harmless; R's tar lists parents explicitly.
      if (existing !== undefined && existing !== 'dir') throw refuse(raw, 'is a directory with the same name as an earlier file');
      if (existing === undefined) {
        this.kinds.set(p, 'dir');
        created.push(p);
      }
    } else {
      if (existing === 'dir') throw refuse(raw, 'is a file with the same name as an earlier directory');
      if (existing !== undefined) throw refuse(raw, 'appears more than once in the archive');
      this.kinds.set(p, kind);
    }
    this.dirCount += created.length;
    return created;
  }
}
