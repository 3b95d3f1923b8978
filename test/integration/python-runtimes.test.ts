import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tar from 'tar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recipe as jupyterStatic } from '../../runtimes/app-modes/jupyter-static.ts';
import { recipe as pythonApi } from '../../runtimes/app-modes/python-api.ts';
import { recipe as pythonBokeh } from '../../runtimes/app-modes/python-bokeh.ts';
import { recipe as pythonDash } from '../../runtimes/app-modes/python-dash.ts';
import { recipe as pythonFastapi } from '../../runtimes/app-modes/python-fastapi.ts';
import { recipe as pythonShiny } from '../../runtimes/app-modes/python-shiny.ts';
import { recipe as pythonStreamlit } from '../../runtimes/app-modes/python-streamlit.ts';
import type { CommandSpec, RecipeContext } from '../../runtimes/app-modes/recipe.ts';
import type { RestoredEnvironment } from '../../runtimes/environments/environment.ts';
import { createPythonRestorer } from '../../runtimes/environments/python-env.ts';
import { PYTHON_ENV_MARKER } from '../../runtimes/environments/python-env-dir.ts';
import type { Interpreter } from '../../runtimes/interpreters.ts';
import { parseManifest, type Manifest } from '../../src/domain/manifest.ts';
import { FIXTURES } from '../helpers/bundles.ts';
import { freePort, runCommand, startCommand, type RunningCommand } from '../helpers/run-command.ts';

// Real Python, real pip, real servers. Nothing here skips: a machine without Debian's Python
// packages or the local package index at /opt/pypi/simple fails these tests (beforeAll).

const PY: Interpreter = { language: 'python', path: '/usr/bin/python3', version: '3.11.2' };
const LOCAL_INDEX = 'file:///opt/pypi/simple';
const GUID = '6f1c2a9e-3b7d-4c55-9a0e-1d2b3c4d5e6f';
const BASE = `/content/${GUID}/`;
const ROOT = process.getuid?.() === 0;
const INSTALL_TIMEOUT = 900_000;
// As in production: as root, venv and pip run as the account content runs as.
const RUN_AS = ROOT
  ? { uid: Number(execFileSync('id', ['-u', 'nobody'], { encoding: 'utf8' })), gid: Number(execFileSync('id', ['-g', 'nobody'], { encoding: 'utf8' })) }
  : null;

let scratch: string;
let envRoot: string;
let logs: string[];
const restorer = () => createPythonRestorer({ envRoot, indexUrl: LOCAL_INDEX, runAs: RUN_AS });
const log = (line: string) => logs.push(line);

/** Content runs as an unprivileged account in production; as root, read-only means nothing. */
function asContentUser(spec: CommandSpec): CommandSpec {
  const home = newDir('home-', 0o777);
  const withHome = { ...spec, env: { ...spec.env, HOME: home } };
  return ROOT ? { ...withHome, argv: ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--', ...spec.argv] } : withHome;
}

function newDir(prefix: string, mode = 0o755): string {
  const dir = mkdtempSync(path.join(scratch, prefix));
  chmodSync(dir, mode);
  return dir;
}

async function extract(fixture: string): Promise<{ dir: string; manifest: Manifest }> {
  const file = path.join(FIXTURES, fixture);
  if (!existsSync(file)) throw new Error(`fixture ${file} is missing`);
  const dir = newDir('bundle-');
  await tar.x({ file, cwd: dir });
  return { dir, manifest: parseManifest(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) };
}

/** A bundle directory in rsconnect-python's shape (requirements.txt as the package file). */
function writeBundle(files: Record<string, string>, metadata: Manifest['metadata'], extra: Record<string, unknown> = {}): { dir: string; manifest: Manifest } {
  const dir = newDir('bundle-');
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), content);
  }
  const manifest = parseManifest(
    JSON.stringify({
      version: 1,
      metadata,
      python: { version: '3.11.2', package_manager: { name: 'pip', version: '23.0.1', package_file: 'requirements.txt' } },
      files: Object.fromEntries(Object.keys(files).map((f) => [f, { checksum: '0' }])),
      ...extra,
    }),
  );
  return { dir, manifest };
}

/** Content must not write its bundle. */
function readOnly(dir: string) {
  execFileSync('chmod', ['-R', 'a-w', dir]);
}

function ctx(dir: string, manifest: Manifest, environment: RestoredEnvironment, port: number, over: Partial<RecipeContext> = {}): RecipeContext {
  return { bundleDir: dir, primaryFile: null, manifest, environment, host: '127.0.0.1', port, basePath: BASE, outputDir: newDir('out-', 0o777), ...over };
}

async function withServer<T>(spec: CommandSpec, port: number, readiness: string, fn: (app: RunningCommand) => Promise<T>): Promise<T> {
  const app = await startCommand(asContentUser(spec), port, readiness, 120_000);
  try {
    return await fn(app);
  } catch (err) {
    throw new Error(`${(err as Error).message}\n--- app output ---\n${app.output()}`);
  } finally {
    await app.stop();
  }
}

async function restoreManaged(bundle: { dir: string; manifest: Manifest }): Promise<{ env: RestoredEnvironment; ms: number }> {
  const started = Date.now();
  const env = await restorer().restore({ interpreter: PY, bundleDir: bundle.dir, manifest: bundle.manifest, managed: true, log });
  return { env, ms: Date.now() - started };
}

const unmanaged = (bundle: { dir: string; manifest: Manifest }) =>
  createPythonRestorer({ envRoot, indexUrl: LOCAL_INDEX, runAs: RUN_AS }).restore({
    interpreter: PY,
    bundleDir: bundle.dir,
    manifest: bundle.manifest,
    managed: false,
    log,
  });

const timings: Record<string, number> = {};

beforeAll(() => {
  const problems: string[] = [];
  if (!existsSync('/opt/pypi/simple')) problems.push('the local package index /opt/pypi/simple is missing');
  for (const pkg of ['dash', 'streamlit', 'bokeh', 'fastapi', 'uvicorn']) {
    if (!existsSync(`/opt/pypi/simple/${pkg}`)) problems.push(`the local package index has no ${pkg}`);
  }
  try {
    execFileSync(PY.path, ['-c', 'import flask, fastapi, uvicorn, gunicorn, nbconvert, ipykernel, venv, pip'], { stdio: 'pipe' });
  } catch (err) {
    problems.push(
      `${PY.path} lacks Debian's python3-flask, python3-fastapi, python3-uvicorn, python3-gunicorn, jupyter-nbconvert, python3-ipykernel, python3-venv or python3-pip: ${String((err as { stderr?: Buffer }).stderr ?? err)}`,
    );
  }
  const version = execFileSync(PY.path, ['-c', 'import platform; print(platform.python_version())'], { encoding: 'utf8' }).trim();
  if (version !== PY.version) problems.push(`${PY.path} is Python ${version}, these tests expect ${PY.version}`);
  if (problems.length) throw new Error(`These tests need the machine described in docs/environment.md:\n- ${problems.join('\n- ')}`);
  scratch = mkdtempSync(path.join(os.tmpdir(), 'lectern-pyrt-'));
  chmodSync(scratch, 0o755);
  envRoot = path.join(scratch, 'envs');
  logs = [];
});

afterAll(() => {
  if (scratch) {
    execFileSync('chmod', ['-R', 'u+w', scratch]);
    rmSync(scratch, { recursive: true, force: true });
  }
  console.log(`python runtime timings (ms): ${JSON.stringify(timings)}`);
});

describe('Python environment restore', () => {
  it('satisfies flask==2.2.2 from Debian through system site packages, with an index that has nothing, then reuses it', async () => {
    const emptyIndex = newDir('empty-index-');
    const r = createPythonRestorer({ envRoot, indexUrl: `file://${emptyIndex}`, runAs: RUN_AS });
    const bundle = await extract('py-flask-api.tar.gz');
    logs = [];
    let started = Date.now();
    const first = await r.restore({ interpreter: PY, bundleDir: bundle.dir, manifest: bundle.manifest, managed: true, log });
    timings.flaskRestore = Date.now() - started;
    expect(first.reused).toBe(false);
    expect(first.key).toMatch(/^[0-9a-f]{16}$/);
    expect(first.dir).toBe(path.join(envRoot, first.key));
    expect(first.executable).toBe(path.join(first.dir!, 'bin', 'python'));
    expect(first.env).toEqual({ VIRTUAL_ENV: first.dir, PATH_PREPEND: path.join(first.dir!, 'bin') });
    expect(existsSync(path.join(first.dir!, PYTHON_ENV_MARKER))).toBe(true);
    expect(logs.join('\n')).toMatch(/Requirement already satisfied: flask==2\.2\.2 in \/usr\/lib\/python3\/dist-packages/);
    const imported = execFileSync(first.executable, ['-c', 'import sys, flask; print(sys.prefix, flask.__version__)'], { encoding: 'utf8' }).trim();
    expect(imported).toBe(`${first.dir} 2.2.2`);

    logs = [];
    started = Date.now();
    const second = await r.restore({ interpreter: PY, bundleDir: bundle.dir, manifest: bundle.manifest, managed: true, log });
    timings.flaskReuse = Date.now() - started;
    expect(second).toMatchObject({ key: first.key, dir: first.dir, reused: true, executable: first.executable });
    expect(logs).toContain(`Reusing the Python environment ${first.key}: nothing to install`);
    expect(logs.join('\n')).not.toMatch(/Requirement already satisfied|Looking in indexes/);
    expect(readdirSync(envRoot).filter((d) => d.includes('.partial-'))).toEqual([]);
  });

  it('builds one environment when two deploys with the same requirements race', async () => {
    const bundle = writeBundle({ 'app.py': 'x = 1\n', 'requirements.txt': '# comment\nflask\ngunicorn\n' }, { appmode: 'python-api', entrypoint: 'app:app' });
    const mine: string[] = [];
    const theirs: string[] = [];
    const r = restorer();
    const [a, b] = await Promise.all([
      r.restore({ interpreter: PY, bundleDir: bundle.dir, manifest: bundle.manifest, managed: true, log: (l) => mine.push(l) }),
      r.restore({ interpreter: PY, bundleDir: bundle.dir, manifest: bundle.manifest, managed: true, log: (l) => theirs.push(l) }),
    ]);
    expect(a.key).toBe(b.key);
    expect([a.reused, b.reused].sort()).toEqual([false, true]);
    expect([...mine, ...theirs].filter((l) => l.startsWith('Creating the Python environment'))).toHaveLength(1);
    expect([...mine, ...theirs].some((l) => l.includes('being built for another deploy'))).toBe(true);
    // Same requirements in another order and with other comments: the same environment.
    const reordered = writeBundle({ 'app.py': 'x = 1\n', 'requirements.txt': 'gunicorn   \nflask # web\n' }, { appmode: 'python-api', entrypoint: 'app:app' });
    expect((await r.restore({ interpreter: PY, bundleDir: reordered.dir, manifest: reordered.manifest, managed: true, log })).reused).toBe(true);
  });

  it('names the unsatisfiable pin dash==2.16.1 and the index, and leaves nothing behind', async () => {
    const bundle = await extract('py-dash.tar.gz');
    const failure = restorer().restore({ interpreter: PY, bundleDir: bundle.dir, manifest: bundle.manifest, managed: true, log });
    await expect(failure).rejects.toThrow(/dash==2\.16\.1/);
    const message = await failure.catch((e: Error) => e.message);
    expect(message).toContain(LOCAL_INDEX);
    expect(message).toContain('the index has 4.4.1');
    expect(message).toMatch(/environment management off/);
    expect(readdirSync(envRoot).filter((d) => d.includes('.partial-'))).toEqual([]);
  });

  it('lists every unsatisfiable pin, not only the first pip stops at', async () => {
    const bundle = await extract('py-fastapi.tar.gz');
    const message = await restorer()
      .restore({ interpreter: PY, bundleDir: bundle.dir, manifest: bundle.manifest, managed: true, log })
      .then(
        () => 'restored',
        (e: Error) => e.message,
      );
    expect(message).toContain('fastapi==0.110.0');
    expect(message).toContain('uvicorn==0.29.0');
    expect(message).toContain(LOCAL_INDEX);
  });

  it('says plainly when the index cannot be reached (DNS failure, refused connection), quickly', async () => {
    const bundle = await extract('py-fastapi.tar.gz');
    // pypi.org is what an offline server fails on; `.invalid` never resolves anywhere, so the
    // test means the same on a machine that is online.
    for (const [indexUrl, retries] of [
      ['https://pypi.invalid/simple', 0],
      ['https://pypi.invalid/simple', 1],
    ] as const) {
      const started = Date.now();
      const r = createPythonRestorer({ envRoot, indexUrl, retries, networkTimeoutSeconds: 5, runAs: RUN_AS });
      const message = await r.restore({ interpreter: PY, bundleDir: bundle.dir, manifest: bundle.manifest, managed: true, log }).then(
        () => 'restored',
        (e: Error) => e.message,
      );
      expect(message).toContain(`the package index ${indexUrl} cannot be reached from this server`);
      expect(message).toMatch(/Name or service not known|name resolution|Failed to establish a new connection/);
      expect(message).toContain('fastapi==0.110.0');
      expect(message).toContain('uvicorn==0.29.0');
      expect(message).toMatch(/LECTERN_PYTHON_INDEX_URL/);
      expect(Date.now() - started).toBeLessThan(30_000);
    }
    // A port nothing listens on: bound, then released.
    const closed = await freePort();
    const refused = `http://127.0.0.1:${closed}/simple`;
    const message = await createPythonRestorer({ envRoot, indexUrl: refused, retries: 0, networkTimeoutSeconds: 5, runAs: RUN_AS })
      .restore({ interpreter: PY, bundleDir: bundle.dir, manifest: bundle.manifest, managed: true, log })
      .then(
        () => 'restored',
        (e: Error) => e.message,
      );
    expect(message).toContain(`the package index ${refused} cannot be reached`);
    expect(message).toMatch(/Connection refused/);
  });

  it('with environment management off, uses the interpreter as it is and installs nothing', async () => {
    const bundle = await extract('py-fastapi.tar.gz');
    logs = [];
    const env = await unmanaged(bundle);
    expect(env).toMatchObject({ key: '', dir: null, reused: true, executable: PY.path, env: {} });
    // What it runs with: the interpreter's own packages (Debian's FastAPI among them).
    expect(env.inventory).toMatchObject({ language: 'Python', languageVersion: PY.version, managed: false });
    expect(env.inventory!.packages.map((p) => p.name.toLowerCase())).toContain('fastapi');
    expect(logs.join('\n')).toMatch(/Environment management is off.*\/usr\/bin\/python3.*as they are/);
  });

  it('builds an empty environment for a bundle without requirements', async () => {
    const bundle = writeBundle({ 'app.py': 'x = 1\n' }, { appmode: 'python-api', entrypoint: 'app' });
    logs = [];
    const { env } = await restoreManaged(bundle);
    expect(env.reused).toBe(false);
    expect(logs.join('\n')).toMatch(/has no requirements\.txt/);
    expect(logs.join('\n')).not.toMatch(/Looking in indexes/);
  });

  it('names a missing interpreter and the Debian package that provides it', async () => {
    const bundle = await extract('py-flask-api.tar.gz');
    const ghost: Interpreter = { language: 'python', path: '/usr/bin/python3.99', version: '3.99.0' };
    const message = await restorer()
      .restore({ interpreter: ghost, bundleDir: bundle.dir, manifest: bundle.manifest, managed: true, log })
      .then(
        () => 'restored',
        (e: Error) => e.message,
      );
    expect(message).toContain('/usr/bin/python3.99');
    expect(message).toMatch(/does not exist/);
    expect(message).toMatch(/python3-venv/);
    expect(readdirSync(envRoot).filter((d) => d.includes('.partial-'))).toEqual([]);
  });
});

describe('Python recipes, run for real', () => {
  it('python-api: the Flask fixture under gunicorn, in its restored environment', async () => {
    const bundle = await extract('py-flask-api.tar.gz');
    readOnly(bundle.dir);
    const { env } = await restoreManaged(bundle);
    const port = await freePort();
    const spec = pythonApi.command(ctx(bundle.dir, bundle.manifest, env, port));
    expect(spec.argv.slice(0, 2)).toEqual([env.executable, '-c']);
    expect(spec.env).not.toHaveProperty('SCRIPT_NAME');
    const started = Date.now();
    await withServer(spec, port, pythonApi.readinessPath, async (app) => {
      timings.gunicornFirstAnswer = Date.now() - started;
      const res = await fetch(`${app.url}/`, { headers: { 'x-lectern-base-path': BASE } });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ hello: 'world' });
    });
  });

  it('python-api: url_for() and redirects carry the public prefix the proxy reports (content URL or vanity path)', async () => {
    const bundle = writeBundle(
      {
        'app.py': [
          'from flask import Flask, redirect, request, url_for',
          'app = Flask(__name__)',
          '@app.route("/links")',
          'def links():',
          '    return {"other": url_for("other"), "path": request.path, "script_name": request.script_root}',
          '@app.route("/other")',
          'def other():',
          '    return {"other": True}',
          '@app.route("/go")',
          'def go():',
          '    return redirect(url_for("other"))',
          '',
        ].join('\n'),
        'requirements.txt': 'flask==2.2.2\n',
      },
      { appmode: 'python-api', entrypoint: 'app' },
    );
    readOnly(bundle.dir);
    const { env } = await restoreManaged(bundle);
    const port = await freePort();
    await withServer(pythonApi.command(ctx(bundle.dir, bundle.manifest, env, port)), port, '/', async (app) => {
      const get = async (p: string, base?: string) => (await fetch(`${app.url}${p}`, { headers: base ? { 'x-lectern-base-path': base } : {} })).json();
      expect(await get('/links', BASE)).toEqual({ other: `${BASE}other`, path: '/links', script_name: BASE.slice(0, -1) });
      expect(await get('/links', '/sales/dashboard/')).toEqual({ other: '/sales/dashboard/other', path: '/links', script_name: '/sales/dashboard' });
      expect(await get('/links')).toEqual({ other: '/other', path: '/links', script_name: '' });
      // A malformed header is ignored rather than trusted.
      expect(await get('/links', 'javascript:alert(1)')).toMatchObject({ other: '/other' });
      const go = await fetch(`${app.url}/go`, { headers: { 'x-lectern-base-path': BASE }, redirect: 'manual' });
      expect(go.status).toBe(302);
      expect(go.headers.get('location')).toMatch(new RegExp(`${BASE}other$`));
    });
  });

  it("python-fastapi: the FastAPI fixture with management off, under Debian's uvicorn, honouring root_path", async () => {
    const bundle = await extract('py-fastapi.tar.gz');
    readOnly(bundle.dir);
    const env = await unmanaged(bundle);
    const port = await freePort();
    const spec = pythonFastapi.command(ctx(bundle.dir, bundle.manifest, env, port));
    expect(spec.argv.slice(0, 2)).toEqual([PY.path, '-c']);
    const started = Date.now();
    await withServer(spec, port, pythonFastapi.readinessPath, async (app) => {
      timings.uvicornFirstAnswer = Date.now() - started;
      const headers = { 'x-lectern-base-path': BASE };
      expect(await (await fetch(`${app.url}/`, { headers })).json()).toEqual({ hello: 'world' });
      const openapi = (await (await fetch(`${app.url}/openapi.json`, { headers })).json()) as { servers?: { url: string }[] };
      expect(openapi.servers?.[0]?.url).toBe(BASE.slice(0, -1));
      expect(await (await fetch(`${app.url}/docs`, { headers })).text()).toContain(`${BASE}openapi.json`);
      expect(app.output()).toMatch(/Uvicorn running/);
    });
  });

  it(
    'python-fastapi: current FastAPI and uvicorn from the index (ASGI paths include root_path there)',
    async () => {
      const bundle = writeBundle(
        {
          'main.py': [
            'from fastapi import FastAPI, Request',
            'app = FastAPI()',
            '@app.get("/")',
            'def root():',
            '    return {"hello": "world"}',
            '@app.get("/where")',
            'def where(request: Request):',
            '    return {"url": str(request.url), "root": str(request.url_for("root"))}',
            '',
          ].join('\n'),
          'requirements.txt': 'fastapi\nuvicorn\n',
        },
        { appmode: 'python-fastapi', entrypoint: 'main:app' },
      );
      readOnly(bundle.dir);
      const { env, ms } = await restoreManaged(bundle);
      timings.fastapiInstall = ms;
      const version = execFileSync(env.executable, ['-c', 'import starlette, uvicorn; print(starlette.__version__, uvicorn.__version__)'], {
        encoding: 'utf8',
      }).trim();
      expect(version).not.toBe('0.26.1 0.17.6');
      const port = await freePort();
      await withServer(pythonFastapi.command(ctx(bundle.dir, bundle.manifest, env, port)), port, '/', async (app) => {
        const headers = { 'x-lectern-base-path': BASE };
        expect(await (await fetch(`${app.url}/`, { headers })).json()).toEqual({ hello: 'world' });
        expect(await (await fetch(`${app.url}/where`, { headers })).json()).toEqual({ url: `${app.url}${BASE}where`, root: `${app.url}${BASE}` });
        expect(await (await fetch(`${app.url}/where`)).json()).toEqual({ url: `${app.url}/where`, root: `${app.url}/` });
      });
    },
    INSTALL_TIMEOUT,
  );

  it(
    'python-dash: dash from the local index, served with the page pointing under the base path',
    async () => {
      const bundle = writeBundle(
        { 'app.py': 'from dash import Dash, html\napp = Dash(__name__)\napp.layout = html.Div("Hello Dash")\n', 'requirements.txt': 'dash\n' },
        { appmode: 'python-dash', entrypoint: 'app' },
      );
      readOnly(bundle.dir);
      logs = [];
      const { env, ms } = await restoreManaged(bundle);
      timings.dashInstall = ms;
      expect(logs.join('\n')).toMatch(/Successfully installed .*dash-4\.4\.1/);
      const port = await freePort();
      const spec = pythonDash.command(ctx(bundle.dir, bundle.manifest, env, port));
      expect(spec.env).toMatchObject({ DASH_REQUESTS_PATHNAME_PREFIX: BASE, DASH_ROUTES_PATHNAME_PREFIX: '/' });
      await withServer(spec, port, pythonDash.readinessPath, async (app) => {
        const headers = { 'x-lectern-base-path': BASE };
        const page = await fetch(`${app.url}/`, { headers });
        expect(page.status).toBe(200);
        const html = await page.text();
        const config = /<script id="_dash-config" type="application\/json">(.*?)<\/script>/s.exec(html)?.[1];
        expect(config, html).toBeDefined();
        expect(JSON.parse(config!)).toMatchObject({ requests_pathname_prefix: BASE });
        expect(html).toContain(`<script src="${BASE}_dash-component-suites/`);
        const layout = await fetch(`${app.url}/_dash-layout`, { headers });
        expect(layout.status).toBe(200);
        expect(await layout.text()).toContain('Hello Dash');
        expect((await fetch(`${app.url}/_dash-dependencies`, { headers })).status).toBe(200);
      });
    },
    INSTALL_TIMEOUT,
  );

  it(
    'python-streamlit: streamlit from the local index answers its health check under the base path',
    async () => {
      const bundle = writeBundle(
        { 'app.py': 'import streamlit as st\nst.write("Hello Streamlit")\n', 'requirements.txt': 'streamlit\n' },
        { appmode: 'python-streamlit', entrypoint: 'app.py' },
      );
      readOnly(bundle.dir);
      const { env, ms } = await restoreManaged(bundle);
      timings.streamlitInstall = ms;
      const port = await freePort();
      const spec = pythonStreamlit.command(ctx(bundle.dir, bundle.manifest, env, port, { primaryFile: 'app.py' }));
      expect(pythonStreamlit.pathMode).toBe('full');
      const started = Date.now();
      await withServer(spec, port, `${BASE.slice(0, -1)}${pythonStreamlit.readinessPath}`, async (app) => {
        timings.streamlitFirstAnswer = Date.now() - started;
        const health = await fetch(`${app.url}${BASE}_stcore/health`);
        expect(health.status).toBe(200);
        expect(await health.text()).toBe('ok');
        const page = await fetch(`${app.url}${BASE}`);
        expect(page.status).toBe(200);
        expect(await page.text()).toMatch(/<title>Streamlit<\/title>/);
        expect((await fetch(`${app.url}/_stcore/health`)).status).not.toBe(200);
      });
    },
    INSTALL_TIMEOUT,
  );

  it(
    'python-bokeh: bokeh from the local index serves under its prefix',
    async () => {
      const bundle = writeBundle(
        {
          'app.py': 'from bokeh.io import curdoc\nfrom bokeh.models import Div\ncurdoc().add_root(Div(text="Hello Bokeh"))\ncurdoc().title = "Hello Bokeh"\n',
          'requirements.txt': 'bokeh\n',
        },
        { appmode: 'python-bokeh', entrypoint: 'app' },
      );
      readOnly(bundle.dir);
      const { env, ms } = await restoreManaged(bundle);
      timings.bokehInstall = ms;
      const port = await freePort();
      const spec = pythonBokeh.command(ctx(bundle.dir, bundle.manifest, env, port, { primaryFile: 'app.py' }));
      await withServer(spec, port, `${BASE.slice(0, -1)}${pythonBokeh.readinessPath}`, async (app) => {
        const root = await fetch(`${app.url}${BASE}`, { redirect: 'manual' });
        expect(root.status).toBe(302);
        expect(root.headers.get('location')).toBe(`${BASE}app`);
        const page = await fetch(`${app.url}${BASE}app`);
        expect(page.status).toBe(200);
        const html = await page.text();
        expect(html).toContain('<title>Hello Bokeh</title>');
        expect(html).toContain(`${BASE}static/`);
        expect((await fetch(`${app.url}/app`)).status).toBe(404);
      });
    },
    INSTALL_TIMEOUT,
  );

  it('jupyter-static: renders the fixture notebook to index.html, with and without its code', async () => {
    const bundle = await extract('py-jupyter-static.tar.gz');
    readOnly(bundle.dir);
    // numpy==1.24.2 is pinned but unused, and not on this machine: management off.
    const env = await unmanaged(bundle);
    const c = ctx(bundle.dir, bundle.manifest, env, 0, { primaryFile: 'analysis.ipynb' });
    const spec = jupyterStatic.command(c);
    expect(spec.output).toBe('index.html');
    const started = Date.now();
    const run = await runCommand(asContentUser(spec), 180_000);
    timings.nbconvertFixture = Date.now() - started;
    expect(run.code, run.output).toBe(0);
    const html = readFileSync(path.join(c.outputDir, 'index.html'), 'utf8');
    expect(html).toContain('<span class="nb">print</span>');
    expect(html).toMatch(/<pre>2\n<\/pre>/);

    const hidden = { ...bundle.manifest, jupyter: { hide_all_input: true } };
    const c2 = ctx(bundle.dir, hidden, env, 0, { primaryFile: 'analysis.ipynb' });
    const run2 = await runCommand(asContentUser(jupyterStatic.command(c2)), 180_000);
    expect(run2.code, run2.output).toBe(0);
    const html2 = readFileSync(path.join(c2.outputDir, 'index.html'), 'utf8');
    expect(html2).not.toContain('<span class="nb">print</span>');
    expect(html2).not.toContain('print(1+1)');
    expect(html2).toMatch(/<pre>2\n<\/pre>/);
  });

  it(
    'jupyter-static: hide_tagged_input hides only tagged cells, and the kernel is the environment python',
    async () => {
      const cell = (source: string, tags: string[] = []) => ({ cell_type: 'code', execution_count: null, metadata: { tags }, outputs: [], source });
      const notebook = {
        cells: [
          cell('hidden_marker_name = 6 * 7\nprint("hidden result", hidden_marker_name)', ['hide_input']),
          cell('import sys, dash\nvisible_marker_name = sys.executable\nprint("kernel", visible_marker_name, dash.__version__)'),
        ],
        metadata: { kernelspec: { display_name: 'Python 3', language: 'python', name: 'python3' }, language_info: { name: 'python' } },
        nbformat: 4,
        nbformat_minor: 5,
      };
      const bundle = writeBundle(
        { 'report.ipynb': JSON.stringify(notebook), 'requirements.txt': 'dash\n' },
        { appmode: 'jupyter-static', entrypoint: 'report.ipynb' },
        { jupyter: { hide_tagged_input: true } },
      );
      readOnly(bundle.dir);
      // The same requirements as the Dash app: its environment, reused when that test ran first.
      const { env } = await restoreManaged(bundle);
      const c = ctx(bundle.dir, bundle.manifest, env, 0, { primaryFile: 'report.ipynb' });
      const run = await runCommand(asContentUser(jupyterStatic.command(c)), 180_000);
      expect(run.code, run.output).toBe(0);
      const html = readFileSync(path.join(c.outputDir, 'index.html'), 'utf8');
      expect(html).not.toContain('hidden_marker_name');
      expect(html).toContain('hidden result 42');
      expect(html).toContain('visible_marker_name');
      expect(html).toContain(`kernel ${env.executable} 4.4.1`);
    },
    INSTALL_TIMEOUT,
  );

  it('python-shiny: the command it would run (Shiny for Python is not in the local index, so it cannot be run here)', () => {
    // When the index gains shiny, this fails on purpose: replace it with a real run.
    expect(existsSync('/opt/pypi/simple/shiny'), 'shiny is in the local index now: run it for real here').toBe(false);
    const bundle = writeBundle({ 'app.py': '' }, { appmode: 'python-shiny', entrypoint: 'app:app' });
    const env: RestoredEnvironment = { key: 'k', dir: '/envs/k', reused: true, executable: '/envs/k/bin/python', env: {} };
    const spec = pythonShiny.command(ctx(bundle.dir, bundle.manifest, env, 8123));
    expect(spec.argv).toEqual(['/envs/k/bin/python', '-m', 'shiny', 'run', '--host', '127.0.0.1', '--port', '8123', '--app-dir', '.', 'app:app']);
    expect(pythonShiny).toMatchObject({ pathMode: 'stripped', readinessPath: '/', language: 'python' });
  });
});
