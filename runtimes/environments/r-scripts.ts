import { readFileSync } from 'node:fs';
import path from 'node:path';

const R_DIR = path.resolve(import.meta.dirname, '../r');
const cache = new Map<string, string>();

/**
 * The R code of `runtimes/r/<name>.R` files, joined, with comment-only and blank lines
 * dropped, for `Rscript -e`. Commands carry their code in argv rather than naming the files,
 * because a sandboxed process sees only its bundle, its environment and the system: never
 * Lectern's own directory. (Rscript accepts about 10,000 characters of `-e` code.)
 */
export function rCode(...names: string[]): string {
  return names
    .map((name) => {
      let code = cache.get(name);
      if (code === undefined) {
        code = readFileSync(path.join(R_DIR, `${name}.R`), 'utf8')
          .split('\n')
          .filter((line) => line.trim() !== '' && !line.trimStart().startsWith('#'))
          .join('\n');
        cache.set(name, code);
      }
      return code;
    })
    .join('\n');
}

/** `Rscript` beside the interpreter's `R` (`/usr/bin/R` → `/usr/bin/Rscript`). */
export function rscriptFor(rExecutable: string): string {
  return path.join(path.dirname(rExecutable), 'Rscript');
}

/**
 * Variables every R process Lectern starts gets: no per-user library (`NULL` is R's "empty
 * list", so neither the server's nor the sandbox's HOME adds packages), a UTF-8 locale, and
 * renv's project autoloader off (a bundle's `.Rprofile` from renv would otherwise try to
 * download renv and switch to a project library that does not exist here).
 */
export const R_PROCESS_ENV: Readonly<Record<string, string>> = Object.freeze({
  R_LIBS_USER: 'NULL',
  LANG: 'C.UTF-8',
  RENV_CONFIG_AUTOLOADER_ENABLED: 'FALSE',
});
