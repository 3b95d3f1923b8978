import { MAX_RECORDED_PACKAGES, normalizedPythonName, type EnvironmentInventory, type EnvironmentPackage } from '../../src/domain/packages.ts';
import type { Interpreter } from '../interpreters.ts';
import { run } from './install-area.ts';

const TIMEOUT_MS = 60_000;

// Run by the base interpreter, never the venv's: a venv's site-packages may hold a `.pth` file
// an installer wrote, which Python would execute at start-up (as the server). The venv's
// site-packages are only read as metadata here, ahead of the interpreter's own path, as
// the content sees them (venvs are made with the system site packages visible), and the
// first copy of a name wins, as it does for an import. `-I`: no user site, no PYTHONPATH, no
// working directory on the path.
const LIST_CODE = `
import importlib.metadata as md, os, re, sys
env = sys.argv[1]
paths = []
if env:
    lib = os.path.join(env, "lib")
    for d in sorted(os.listdir(lib)) if os.path.isdir(lib) else []:
        sp = os.path.join(lib, d, "site-packages")
        if d.startswith("python") and os.path.isdir(sp):
            paths.append(sp)
paths += [p for p in sys.path if p and os.path.isdir(p)]
seen = set()
for dist in md.distributions(path=paths):
    try:
        name, version = dist.metadata["Name"], dist.version
    except Exception:
        continue
    if not name or not version:
        continue
    key = re.sub(r"[-_.]+", "-", name).lower()
    if key in seen:
        continue
    seen.add(key)
    print("PKG\\t%s\\t%s" % (name, version))
`;

// A distribution's name and version as packaging allows them (no spaces, no control characters).
const TOKEN = /^[A-Za-z0-9][A-Za-z0-9._+!-]{0,199}$/;

/**
 * The distributions a Python environment makes importable: the venv's own, then the
 * interpreter's (Debian's packages satisfy pins through the system site packages, so Flask is
 * often there rather than in the venv). `envDir` null: the interpreter as it is (management
 * off). Sorted by normalized name; at most MAX_RECORDED_PACKAGES.
 */
export async function listPythonPackages(interpreter: Interpreter, envDir: string | null, managed: boolean): Promise<EnvironmentInventory> {
  const found: EnvironmentPackage[] = [];
  const result = await run(
    interpreter.path,
    ['-I', '-c', LIST_CODE, envDir ?? ''],
    { PATH: '/usr/local/bin:/usr/bin:/bin', LANG: 'C.UTF-8' },
    TIMEOUT_MS,
    (line) => {
      const [tag, name, version] = line.split('\t');
      if (tag !== 'PKG' || !name || !version || found.length >= MAX_RECORDED_PACKAGES) return;
      if (TOKEN.test(name) && TOKEN.test(version)) found.push({ name, version, hash: null });
    },
    { cwd: '/' },
  );
  if (result.code !== 0) {
    throw new Error(`${interpreter.path} could not list the packages (exit ${result.code ?? result.signal}${result.timedOut ? ', timed out' : ''})`);
  }
  found.sort((a, b) => compare(normalizedPythonName(a.name), normalizedPythonName(b.name)));
  return { language: 'Python', languageVersion: interpreter.version, managed, packages: found };
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
