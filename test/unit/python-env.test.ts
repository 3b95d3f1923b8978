import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { recipe as jupyterStatic } from '../../runtimes/app-modes/jupyter-static.ts';
import { recipe as pythonApi } from '../../runtimes/app-modes/python-api.ts';
import { recipe as pythonBokeh } from '../../runtimes/app-modes/python-bokeh.ts';
import { recipe as pythonDash } from '../../runtimes/app-modes/python-dash.ts';
import { parseEntrypoint, PYTHON_SUPPORT_DIR, scriptOf } from '../../runtimes/app-modes/python-entrypoint.ts';
import { recipe as pythonFastapi } from '../../runtimes/app-modes/python-fastapi.ts';
import { recipe as pythonStreamlit } from '../../runtimes/app-modes/python-streamlit.ts';
import type { RecipeContext } from '../../runtimes/app-modes/recipe.ts';
import { pythonEnvironmentKey } from '../../runtimes/environments/python-env.ts';
import {
  checkRequirements,
  diagnosePip,
  normalizeRequirements,
  requirementLines,
  requirementName,
  requirementsPolicyError,
  withoutRequirements,
} from '../../runtimes/environments/python-requirements.ts';
import type { Interpreter } from '../../runtimes/interpreters.ts';
import { parseManifest, type Manifest } from '../../src/domain/manifest.ts';

const PY: Interpreter = { language: 'python', path: '/usr/bin/python3', version: '3.11.2' };

describe('requirements', () => {
  it('normalises what does not change an install: comments, blanks, order, continuations, CRLF', () => {
    const a = normalizeRequirements('# pinned\r\nflask==2.2.2  # web\r\n\r\ngunicorn\\\r\n  >=20\r\n');
    const b = normalizeRequirements('gunicorn >=20\nflask==2.2.2\n');
    expect(a).toBe(b);
    expect(a).toBe('flask==2.2.2\ngunicorn >=20');
    expect(normalizeRequirements('\n# nothing\n')).toBe('');
    // A '#' inside a URL fragment is not a comment.
    expect(normalizeRequirements('pkg @ https://example.com/pkg.whl#sha256=abc')).toBe('pkg @ https://example.com/pkg.whl#sha256=abc');
  });

  it('reads project names the way pip compares them', () => {
    expect(requirementName('Flask_SQLAlchemy>=3')).toBe('flask-sqlalchemy');
    expect(requirementName('dash[testing]==2.16.1')).toBe('dash');
    expect(requirementName('numpy ; python_version > "3"')).toBe('numpy');
    expect(requirementName('uvicorn')).toBe('uvicorn');
    expect(requirementName('-r other.txt')).toBeNull();
    expect(requirementName('--extra-index-url https://x')).toBeNull();
  });

  it('drops named lines for a recheck, keeping options', () => {
    const { text, removed } = withoutRequirements(
      '--extra-index-url https://x\nfastapi==0.110.0\nUvicorn==0.29.0 # asgi\nrequests\n',
      new Set(['fastapi', 'uvicorn']),
    );
    expect(removed).toBe(2);
    expect(text.split('\n').filter(Boolean)).toEqual(['--extra-index-url https://x', 'requests']);
  });

  it('keys on interpreter, requirements and indexes, not on formatting', () => {
    const k = pythonEnvironmentKey(PY, 'flask==2.2.2\n', 'file:///opt/pypi/simple');
    expect(k).toMatch(/^[0-9a-f]{16}$/);
    expect(pythonEnvironmentKey(PY, '# c\nflask==2.2.2', 'file:///opt/pypi/simple')).toBe(k);
    expect(pythonEnvironmentKey(PY, 'flask==2.2.3', 'file:///opt/pypi/simple')).not.toBe(k);
    expect(pythonEnvironmentKey({ ...PY, version: '3.11.4' }, 'flask==2.2.2', 'file:///opt/pypi/simple')).not.toBe(k);
    expect(pythonEnvironmentKey({ ...PY, path: '/opt/python/3.11/bin/python3' }, 'flask==2.2.2', 'file:///opt/pypi/simple')).not.toBe(k);
    expect(pythonEnvironmentKey(PY, 'flask==2.2.2', 'https://pypi.org/simple')).not.toBe(k);
    expect(pythonEnvironmentKey(PY, 'flask==2.2.2', 'file:///opt/pypi/simple', ['https://mirror'])).not.toBe(k);
    expect(pythonEnvironmentKey(PY, 'flask==2.2.2', 'file:///opt/pypi/simple', [], true)).not.toBe(k);
    expect(pythonEnvironmentKey(PY, 'flask==2.2.2', 'file:///opt/pypi/simple', [], false)).toBe(k);
  });

  it('reads logical lines as pip does: continuations, comment lines, and every line break Python knows', () => {
    expect(requirementLines('a\\\n  >=1 # c\n# x \\\nb\n\nc\\\n# d\ne\u2028-r x\r\nf\\')).toEqual([
      { line: 1, lastLine: 2, text: 'a >=1' },
      { line: 4, lastLine: 4, text: 'b' },
      { line: 6, lastLine: 7, text: 'c' },
      { line: 8, lastLine: 8, text: 'e' },
      { line: 9, lastLine: 9, text: '-r x' },
      { line: 10, lastLine: 10, text: 'f' },
    ]);
    // pip joins without a space: `fla\` + `sk` is flask.
    expect(normalizeRequirements('fla\\\nsk==2\n')).toBe('flask==2');
  });
});

describe('the requirements policy', () => {
  const sha = 'ab'.repeat(32);

  it('allows comments, names, versions, extras, markers and --hash options, and gives pip only those', () => {
    const { checked, problems } = checkRequirements(
      [
        '\uFEFF# pinned',
        'Flask==2.2.2  # web',
        'dash[testing, diskcache] >=2,<3',
        'itsdangerous (>=2.0)',
        'numpy ; python_version >= "3.9" and sys_platform != \'win32\'',
        `requests==2.31.0 \\`,
        `    --hash=sha256:${sha} \\`,
        `    --hash sha512:${'C'.repeat(128)}`,
        'zope.interface~=6.0',
        'pkg===1.0+local',
        '',
      ].join('\n'),
    );
    expect(problems).toEqual([]);
    expect(checked.canonical).toBe(
      [
        'Flask==2.2.2',
        'dash[testing, diskcache] >=2,<3',
        'itsdangerous (>=2.0)',
        'numpy ; python_version >= "3.9" and sys_platform != \'win32\'',
        `requests==2.31.0 --hash=sha256:${sha} --hash=sha512:${'c'.repeat(128)}`,
        'zope.interface~=6.0',
        'pkg===1.0+local',
        '',
      ].join('\n'),
    );
    expect(checkRequirements('# nothing\n\n').checked.canonical).toBe('');
  });

  it('refuses option lines, other files, other indexes, URLs, paths and other per-requirement options, by line', () => {
    const lines = [
      'flask',
      '-r base.txt',
      '-rbase.txt',
      '--requirement=base.txt',
      '--req base.txt',
      '-c constraints.txt',
      '--constraint c.txt',
      '-i https://evil/simple',
      '--index-url=https://evil/simple',
      '--extra-index-url https://evil/simple',
      '--extra-index https://evil/simple',
      '-f ./wheels',
      '--find-links /opt/wheels',
      '--trusted-host evil',
      '--no-index',
      '-e .',
      '--editable git+https://x/y.git',
      '--pre',
      '--only-binary :all:',
      'evil @ file:///tmp/evil',
      'evil@https://x/evil.whl',
      'https://x/evil-1.0.tar.gz',
      'git+ssh://git@x/evil.git',
      'hg+https://x/evil',
      './evil',
      '../evil',
      '/abs/evil',
      '~/evil',
      'sub/evil',
      'file:evil',
      'evil-1.0-py3-none-any.whl',
      'evil.zip',
      'evil --global-option=--x',
      'evil --config-settings x=y',
      `evil --hash=md5:${sha}`,
      'evil --hash=sha256:abc',
      'evil; __import__("os")',
      'evil (>=1',
      'evil==1.0 extra',
      '${HOME}',
    ];
    const { checked, problems } = checkRequirements(lines.join('\n'));
    expect(checked.canonical).toBe('flask\n');
    expect(problems.map((p) => p.line)).toEqual(lines.slice(1).map((_, i) => i + 2));
    const kinds = Object.fromEntries(problems.map((p) => [p.text, p.kind]));
    expect(kinds).toMatchObject({
      '-r base.txt': 'other-file',
      '-rbase.txt': 'other-file',
      '--requirement=base.txt': 'other-file',
      '--req base.txt': 'other-file',
      '--constraint c.txt': 'other-file',
      '--index-url=https://evil/simple': 'index',
      '--extra-index https://evil/simple': 'index',
      '-f ./wheels': 'index',
      '--trusted-host evil': 'index',
      '--no-index': 'index',
      '-e .': 'editable',
      '--pre': 'option',
      'evil @ file:///tmp/evil': 'url-or-path',
      'evil@https://x/evil.whl': 'url-or-path',
      'git+ssh://git@x/evil.git': 'url-or-path',
      '~/evil': 'url-or-path',
      'file:evil': 'url-or-path',
      'evil.zip': 'url-or-path',
      'evil --config-settings x=y': 'option',
      'evil; __import__("os")': 'not-a-requirement',
      '${HOME}': 'not-a-requirement',
    });
  });

  it('says which lines, why, and what to do instead', () => {
    const { problems } = checkRequirements('flask\n-r base.txt\nevil @ file:///tmp/evil\nx \\\n  --global-option=y\n');
    const message = requirementsPolicyError('requirements.txt', problems).message;
    expect(message).toContain("The bundle's requirements.txt has 3 lines this server does not install:");
    expect(message).toContain('  line 2: -r base.txt\n    (reads another file');
    expect(message).toContain('  line 3: evil @ file:///tmp/evil\n    (installs from a URL');
    expect(message).toContain('  lines 4-5: x --global-option=y\n    (has the option --global-option');
    expect(message).toContain('copy the requirements of the other file into requirements.txt itself');
    expect(message).toContain('pip list --format=freeze');
    expect(message).toContain('environment management off');
  });
});

describe("reading pip's output", () => {
  it('finds requirements the index cannot satisfy, with what it has and who asked', () => {
    const d = diagnosePip([
      'Looking in indexes: file:///opt/pypi/simple',
      'ERROR: Could not find a version that satisfies the requirement dash==2.16.1 (from -r /b/requirements.txt (line 1)) (from versions: 4.4.1)',
      'ERROR: No matching distribution found for dash==2.16.1',
    ]);
    expect(d.missing).toEqual([{ spec: 'dash==2.16.1', neededBy: null, available: ['4.4.1'] }]);
    const t = diagnosePip([
      'ERROR: Could not find a version that satisfies the requirement starlette<0.26.0,>=0.25.0 (from fastapi==0.92.0->-r r.txt (line 1)) (from versions: none)',
      'ERROR: No matching distribution found for starlette<0.26.0,>=0.25.0',
    ]);
    expect(t.missing).toEqual([{ spec: 'starlette<0.26.0,>=0.25.0', neededBy: 'fastapi==0.92.0', available: [] }]);
  });

  it('finds resolution conflicts, network failures and failed builds', () => {
    const conflict = diagnosePip([
      'ERROR: Cannot install fastapi==0.92.0 and starlette==0.26.1 because these package versions have conflicting dependencies.',
      '',
      'The conflict is caused by:',
      '    The user requested starlette==0.26.1',
      '    fastapi 0.92.0 depends on starlette<0.26.0 and >=0.25.0',
      '',
      'To fix this you could try to:',
    ]);
    expect(conflict.conflicts).toEqual(['The user requested starlette==0.26.1', 'fastapi 0.92.0 depends on starlette<0.26.0 and >=0.25.0']);
    const net = diagnosePip([
      "WARNING: Retrying (Retry(total=1, connect=None, read=None, redirect=None, status=None)) after connection broken by 'NewConnectionError('<pip._vendor.urllib3.connection.HTTPSConnection object at 0x7f>: Failed to establish a new connection: [Errno -3] Temporary failure in name resolution')': /simple/fastapi/",
    ]);
    expect(net.network).toHaveLength(1);
    const build = diagnosePip(['  error: subprocess-exited-with-error', 'ERROR: Failed building wheel for lxml', 'Failed to build lxml']);
    expect(build.buildFailures).toEqual(['lxml']);
  });
});

function context(manifest: Manifest, over: Partial<RecipeContext> = {}): RecipeContext {
  return {
    bundleDir: '/bundles/g/1',
    primaryFile: null,
    manifest,
    environment: { key: 'k', dir: '/envs/k', reused: true, executable: '/envs/k/bin/python', env: {} },
    host: '127.0.0.1',
    port: 9000,
    basePath: '/content/g/',
    outputDir: '/out',
    ...over,
  };
}

const manifest = (metadata: Manifest['metadata'], extra: Record<string, unknown> = {}) =>
  parseManifest(JSON.stringify({ version: 1, metadata, files: {}, ...extra }));

describe('Python entrypoints and commands', () => {
  it('parses entrypoints as rsconnect-python writes them and as people write them', () => {
    expect(parseEntrypoint('app:app')).toEqual({ module: 'app', object: 'app' });
    expect(parseEntrypoint('main')).toEqual({ module: 'main', object: 'app' });
    expect(parseEntrypoint(null)).toEqual({ module: 'app', object: 'app' });
    expect(parseEntrypoint('app.py')).toEqual({ module: 'app', object: 'app' });
    expect(parseEntrypoint('src/service.py:create_app()')).toEqual({ module: 'src.service', object: 'create_app()' });
    expect(parseEntrypoint('pkg/__init__.py:api')).toEqual({ module: 'pkg', object: 'api' });
    expect(() => parseEntrypoint('app:app; import os')).toThrow(/does not name a Python object/);
    expect(() => parseEntrypoint('../evil:app')).toThrow(/does not name a Python module/);
  });

  it('finds the script of script-run frameworks', () => {
    expect(scriptOf(context(manifest({ appmode: 'python-streamlit', entrypoint: 'dash.py' }), { primaryFile: 'dash.py' }))).toBe('dash.py');
    expect(scriptOf(context(manifest({ appmode: 'python-bokeh', entrypoint: 'app' })))).toBe('app.py');
    expect(scriptOf(context(manifest({ appmode: 'python-streamlit' })))).toBe('app.py');
  });

  it('runs WSGI and Dash apps under gunicorn through the base-path wrapper, never with a SCRIPT_NAME variable', () => {
    const api = pythonApi.command(context(manifest({ appmode: 'python-api', entrypoint: 'main:server' })));
    expect(api.argv.slice(0, 2)).toEqual(['/envs/k/bin/python', '-c']);
    // The wrapper travels in the command: nothing of Lectern's own files has to be in a sandbox.
    expect(api.argv[2]).toContain('from gunicorn.app.wsgiapp import run');
    expect(api.argv[2]).toContain(JSON.stringify(readFileSync(path.join(PYTHON_SUPPORT_DIR, 'lectern_wsgi.py'), 'utf8')));
    expect(api.argv[2]).not.toContain(PYTHON_SUPPORT_DIR);
    expect(api.argv.slice(3)).toEqual([
      '--bind',
      '127.0.0.1:9000',
      '--workers',
      '1',
      '--threads',
      '4',
      '--timeout',
      '120',
      '--graceful-timeout',
      '10',
      'lectern_wsgi:app',
    ]);
    expect(api.env).toEqual({ PYTHONUNBUFFERED: '1', LECTERN_WSGI_APP: 'main:server' });
    expect(api.cwd).toBe('/bundles/g/1');
    const dash = pythonDash.command(context(manifest({ appmode: 'python-dash', entrypoint: 'app' })));
    expect(dash.env).toEqual({
      PYTHONUNBUFFERED: '1',
      LECTERN_WSGI_APP: 'app:app.server',
      DASH_REQUESTS_PATHNAME_PREFIX: '/content/g/',
      DASH_ROUTES_PATHNAME_PREFIX: '/',
    });
    expect(pythonApi.command(context(manifest({ appmode: 'python-api' }), { host: '::1' })).argv).toContain('[::1]:9000');
  });

  it('gives path-aware frameworks the base path and the rest a stripped one', () => {
    const st = pythonStreamlit.command(context(manifest({ appmode: 'python-streamlit', entrypoint: 'app.py' }), { primaryFile: 'app.py' }));
    expect(st.argv.slice(0, 5)).toEqual(['/envs/k/bin/python', '-m', 'streamlit', 'run', 'app.py']);
    expect(st.argv[st.argv.indexOf('--server.baseUrlPath') + 1]).toBe('content/g');
    expect(pythonStreamlit).toMatchObject({ pathMode: 'full', readinessPath: '/_stcore/health' });
    const bk = pythonBokeh.command(context(manifest({ appmode: 'python-bokeh', entrypoint: 'app' }), { primaryFile: 'app.py' }));
    expect(bk.argv[bk.argv.indexOf('--prefix') + 1]).toBe('/content/g/');
    expect(pythonBokeh.pathMode).toBe('full');
    const fa = pythonFastapi.command(context(manifest({ appmode: 'python-fastapi', entrypoint: 'main' })));
    expect(fa.env.LECTERN_ASGI_APP).toBe('main:app');
    expect(fa.argv.slice(0, 2)).toEqual(['/envs/k/bin/python', '-c']);
    expect(fa.argv[2]).toContain('from uvicorn.main import main');
    expect(fa.argv.slice(3)).toEqual(['--host', '127.0.0.1', '--port', '9000', '--timeout-keep-alive', '75', 'lectern_asgi:app']);
    expect(pythonFastapi.pathMode).toBe('stripped');
  });

  it('renders notebooks with the hide options the manifest asks for', () => {
    const plain = jupyterStatic.command(context(manifest({ appmode: 'jupyter-static', entrypoint: 'a.ipynb' }), { primaryFile: 'a.ipynb' }));
    expect(plain.output).toBe('index.html');
    expect(plain.argv.at(-1)).toBe('a.ipynb');
    expect(plain.argv).not.toContain('--no-input');
    expect(plain.argv).toEqual(expect.arrayContaining(['--execute', '--ExecutePreprocessor.kernel_name=python3', '--output-dir', '/out', '--output', 'index']));
    const all = jupyterStatic.command(context(manifest({ appmode: 'jupyter-static', entrypoint: 'a.ipynb' }, { jupyter: { hide_all_input: true } })));
    expect(all.argv).toContain('--no-input');
    const tagged = jupyterStatic.command(context(manifest({ appmode: 'jupyter-static', entrypoint: 'a.ipynb' }, { jupyter: { hide_tagged_input: true } })));
    expect(tagged.argv).toEqual(expect.arrayContaining(['--TagRemovePreprocessor.enabled=True', '--TagRemovePreprocessor.remove_input_tags=hide_input']));
    expect(tagged.argv).not.toContain('--no-input');
  });
});
