import { chmod, lchown, lstat, readdir, rm } from 'node:fs/promises';
import path from 'node:path';

/**
 * A render runs as the content's account and could leave a symlink to `/srv/lectern/secret.key`
 * in its output, which Lectern (root) would then serve. Only regular files and directories
 * stay; anything else is removed before the output is published.
 */
export async function keepRegularFiles(dir: string, log: (l: string) => void): Promise<void> {
  for (const name of await readdir(dir)) {
    const p = path.join(dir, name);
    const st = await lstat(p);
    if (st.isDirectory()) await keepRegularFiles(p, log);
    else if (!st.isFile()) {
      await rm(p, { force: true });
      log(`Removed ${path.relative(dir, p) || name} from the output: only regular files are published.`);
    }
  }
}

/**
 * Published output is the server's alone: every directory 0700 and file 0600, owned by the
 * server (not by the content account, which must not read or change it once it is published,
 * nor any other local account). Directories are taken before what is in them; links are gone
 * already (keepRegularFiles), and the render's processes with them.
 */
export async function sealOutput(dir: string): Promise<void> {
  const uid = process.getuid?.();
  const gid = process.getgid?.();
  const take = async (p: string, mode: number) => {
    if (uid === 0 && gid !== undefined) await lchown(p, uid, gid);
    await chmod(p, mode);
  };
  await take(dir, 0o700);
  for (const name of await readdir(dir)) {
    const p = path.join(dir, name);
    const st = await lstat(p);
    if (st.isDirectory()) await sealOutput(p);
    else if (st.isFile()) await take(p, 0o600);
  }
}
