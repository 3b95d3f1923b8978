import { createHash } from 'node:crypto';
import { constants, createReadStream, type WriteStream } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { once } from 'node:events';
import { createGzip, type Gzip } from 'node:zlib';
import { Header, Pax, type HeaderData } from 'tar';

const BLOCK = 512;

/**
 * Writes a tar.gz one entry at a time, hashing each file's bytes on their way into the
 * archive, so the manifest's checksums are of exactly what was written and each file is read
 * once. Headers are node-tar's (`Header`, and a pax header for long names or large sizes);
 * owners are left out (a restore writes files as the account that runs it). The file is
 * created exclusively, 0600.
 */
export class TarGzWriter {
  private constructor(
    private readonly fh: FileHandle,
    private readonly gzip: Gzip,
    private readonly out: WriteStream,
    private readonly done: Promise<void>,
  ) {}

  static async create(file: string): Promise<TarGzWriter> {
    const fh = await open(file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
    await fh.chmod(0o600); // explicit: the open mode is filtered by the umask
    const gzip = createGzip();
    const out = fh.createWriteStream({ autoClose: false });
    gzip.pipe(out);
    const done = new Promise<void>((resolve, reject) => {
      let synced = false;
      // Durable before it is renamed into place: fsynced once everything is written, then the
      // stream, which holds the handle until it closes, lets it go.
      out.on('finish', () => {
        fh.sync().then(() => {
          synced = true;
          out.destroy();
        }, reject);
      });
      out.on('close', () => (synced ? resolve() : reject(new Error('the archive was not completely written'))));
      out.on('error', reject);
      gzip.on('error', reject);
    });
    done.catch(() => undefined);
    return new TarGzWriter(fh, gzip, out, done);
  }

  private async write(chunk: Buffer): Promise<void> {
    if (!this.gzip.write(chunk)) await Promise.race([once(this.gzip, 'drain'), this.done]);
  }

  private async header(data: HeaderData): Promise<void> {
    const h = new Header({ uid: 0, gid: 0, uname: '', gname: '', mtime: new Date(), ...data });
    if (h.encode()) await this.write(new Pax({ path: data.path, size: data.size, mtime: h.mtime }).encode());
    await this.write(h.block!);
  }

  private async pad(size: number): Promise<void> {
    const rest = size % BLOCK;
    if (rest) await this.write(Buffer.alloc(BLOCK - rest));
  }

  async addDirectory(archivePath: string, mode: number): Promise<void> {
    await this.header({ path: `${archivePath}/`, mode, size: 0, type: 'Directory' });
  }

  async addBuffer(archivePath: string, data: Buffer, mode: number): Promise<void> {
    await this.header({ path: archivePath, mode, size: data.length, type: 'File' });
    await this.write(data);
    await this.pad(data.length);
  }

  /**
   * Adds a file from disk and returns its size and SHA-256. The size is taken when the file is
   * opened; a file that changes size while it is read fails the backup rather than write an
   * entry that does not match its header.
   */
  async addFile(abs: string, archivePath: string, mode: number): Promise<{ size: number; sha256: string }> {
    const fh = await open(abs, constants.O_RDONLY | constants.O_NOFOLLOW);
    try {
      const { size, mtime } = await fh.stat();
      await this.header({ path: archivePath, mode, size, type: 'File', mtime });
      const hash = createHash('sha256');
      let read = 0;
      if (size > 0) {
        for await (const chunk of createReadStream('', { fd: fh, autoClose: false, start: 0, end: size - 1 })) {
          const b = chunk as Buffer;
          read += b.length;
          hash.update(b);
          await this.write(b);
        }
      }
      if (read !== size) throw new Error(`${abs} changed size while it was read (${size} bytes, then ${read}): run the backup again`);
      await this.pad(size);
      return { size, sha256: hash.digest('hex') };
    } finally {
      await fh.close();
    }
  }

  /** Ends the archive (two zero blocks), flushed and fsynced. */
  async finish(): Promise<void> {
    await this.write(Buffer.alloc(2 * BLOCK));
    this.gzip.end();
    await this.done;
  }

  /** Stops writing after a failure; the caller removes the file. */
  async abort(): Promise<void> {
    this.gzip.destroy();
    this.out.destroy();
    await this.done.catch(() => undefined);
    await this.fh.close().catch(() => undefined);
  }
}
