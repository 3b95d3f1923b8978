import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CommandSpec, RecipeContext } from './recipe.ts';

/**
 * `runtimes/python/`: the sources of Lectern's small wrapper modules (WSGI and ASGI base-path
 * middleware, the nbconvert launcher). Commands carry their code inline (`python -c`), as the R
 * recipes do with `Rscript -e`, so a sandbox or container needs nothing of Lectern's own files.
 */
export const PYTHON_SUPPORT_DIR = fileURLToPath(new URL('../python/', import.meta.url)).replace(/\/$/, '');

/**
 * Python code for `python -c`: defines the named modules of runtimes/python (in order, so
 * later ones may import earlier ones) in `sys.modules`, then runs `main`. Arguments after the
 * code reach it as `sys.argv[1:]`.
 */
function inlinePython(modules: readonly string[], main: string): string {
  const defs = modules.map((name) => {
    const source = readFileSync(path.join(PYTHON_SUPPORT_DIR, `${name}.py`), 'utf8');
    // A JSON string is a valid Python string literal.
    return `_lectern_define(${JSON.stringify(name)}, ${JSON.stringify(source)})`;
  });
  return [
    'import sys, types',
    'def _lectern_define(name, source):',
    '    module = types.ModuleType(name)',
    '    module.__file__ = "<lectern>/" + name + ".py"',
    '    sys.modules[name] = module',
    '    exec(compile(source, module.__file__, "exec"), module.__dict__)',
    ...defs,
    main,
  ].join('\n');
}

/** Code that runs a server's command line (`module`'s `function`) with our arguments, or says clearly that it is missing. */
function cliMain(module: string, func: string, prog: string, debian: string): string {
  return [
    'try:',
    `    from ${module} import ${func} as _lectern_main`,
    'except ImportError as err:',
    `    sys.stderr.write("Lectern: ${prog} is not installed for %s (%s). Install the Debian package ${debian}, or add ${prog} to the bundle's requirements.\\n" % (sys.executable, err))`,
    '    sys.exit(1)',
    `sys.argv = [${JSON.stringify(prog)}] + sys.argv[1:]`,
    'sys.exit(_lectern_main())',
  ].join('\n');
}

export interface PythonEntrypoint {
  /** Dotted module name, importable from the bundle directory: `app`, `src.main`. */
  module: string;
  /** Attribute path in it: `app`, `app.server`; may end in `()` for a factory. */
  object: string;
}

const MODULE = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;
const OBJECT = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*(\(\))?$/;

/**
 * A manifest `entrypoint` as rsconnect-python writes it (`app:app`, `main`), or as people write
 * it (`app.py`, `src/app.py:server`). The module defaults to `app`, the object to `app`.
 */
export function parseEntrypoint(entrypoint: string | null | undefined, defaults: PythonEntrypoint = { module: 'app', object: 'app' }): PythonEntrypoint {
  const raw = (entrypoint ?? '').trim();
  if (raw === '') return { ...defaults };
  const colon = raw.indexOf(':');
  const modulePart = colon >= 0 ? raw.slice(0, colon) : raw;
  const objectPart = colon >= 0 ? raw.slice(colon + 1).trim() : '';
  const module = modulePart
    .trim()
    .replace(/^(\.\/)+/, '')
    .replace(/\.py$/, '')
    .replace(/\//g, '.')
    .replace(/\.__init__$/, '');
  const object = objectPart || defaults.object;
  if (!MODULE.test(module)) throw new Error(`The entrypoint ${JSON.stringify(raw)} does not name a Python module: expected module:object, e.g. app:app`);
  if (!OBJECT.test(object)) throw new Error(`The entrypoint ${JSON.stringify(raw)} does not name a Python object: expected module:object, e.g. app:app`);
  return { module: module || defaults.module, object };
}

/** The script a script-run framework (Streamlit, Bokeh) starts from, relative to the bundle. */
export function scriptOf(ctx: RecipeContext, fallback = 'app.py'): string {
  if (ctx.primaryFile) return ctx.primaryFile;
  const entry = (ctx.manifest.metadata.entrypoint ?? '').trim().replace(/^(\.\/)+/, '');
  if (entry === '') return fallback;
  if (entry.endsWith('.py') || entry.includes('/')) return entry;
  return `${entry.split(':')[0]!.replace(/\./g, '/')}.py`;
}

/** `host:port` for a bind option; IPv6 literals in brackets. */
function hostPort(ctx: RecipeContext): string {
  return ctx.host.includes(':') ? `[${ctx.host}]:${ctx.port}` : `${ctx.host}:${ctx.port}`;
}

/** Variables every Python process gets: output as it happens, so logs are live. */
export function pythonEnv(extra: Record<string, string> = {}): Record<string, string> {
  return { PYTHONUNBUFFERED: '1', ...extra };
}

/**
 * A WSGI application under gunicorn, through Lectern's wrapper (`lectern_wsgi`), which sets
 * SCRIPT_NAME per request from the proxy's `X-Lectern-Base-Path`. No SCRIPT_NAME variable on
 * the process: gunicorn would then cut it from every path and fail requests without it.
 */
export function gunicornCommand(ctx: RecipeContext, target: string, env: Record<string, string> = {}): CommandSpec {
  return {
    argv: [
      ctx.environment.executable,
      '-c',
      inlinePython(['lectern_target', 'lectern_wsgi'], cliMain('gunicorn.app.wsgiapp', 'run', 'gunicorn', 'python3-gunicorn')),
      '--bind',
      hostPort(ctx),
      '--workers',
      '1',
      '--threads',
      '4',
      // gthread workers heartbeat from their main loop, so this bounds a stuck worker, not a slow request.
      '--timeout',
      '120',
      '--graceful-timeout',
      '10',
      'lectern_wsgi:app',
    ],
    env: pythonEnv({ LECTERN_WSGI_APP: target, ...env }),
    cwd: ctx.bundleDir,
  };
}

/** An ASGI application under uvicorn, through Lectern's wrapper (`lectern_asgi`), which sets `root_path` per request. */
export function uvicornCommand(ctx: RecipeContext, target: string): CommandSpec {
  return {
    argv: [
      ctx.environment.executable,
      '-c',
      inlinePython(['lectern_target', 'lectern_asgi'], cliMain('uvicorn.main', 'main', 'uvicorn', 'python3-uvicorn')),
      '--host',
      ctx.host,
      '--port',
      String(ctx.port),
      '--timeout-keep-alive',
      '75',
      'lectern_asgi:app',
    ],
    env: pythonEnv({ LECTERN_ASGI_APP: target }),
    cwd: ctx.bundleDir,
  };
}

/** `<python> -c <nbconvert launcher> <nbconvert arguments>`. */
export function nbconvertArgv(ctx: RecipeContext, args: string[]): string[] {
  return [
    ctx.environment.executable,
    '-c',
    inlinePython(['lectern_nbconvert'], 'import lectern_nbconvert\nsys.exit(lectern_nbconvert.main(sys.argv[1:]))'),
    ...args,
  ];
}
