import { lstatSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeBundle } from '../helpers/bundles.ts';
import { DATABASES } from '../helpers/databases.ts';
import { deployBundle, get } from '../helpers/deploy.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const PYTHON = { python: { version: '3.11.2', package_manager: { name: 'pip', package_file: 'requirements.txt' } } };

// A notebook that leaves world-writable things in its output, as careless code does.
const NOTEBOOK_CODE = [
  'import os',
  "os.makedirs('/lectern/output/extra', exist_ok=True)",
  "os.chmod('/lectern/output/extra', 0o777)",
  "open('/lectern/output/extra/data.csv', 'w').write('a,b\\n1,2\\n')",
  "os.chmod('/lectern/output/extra/data.csv', 0o666)",
  "print('wrote extra output')",
].join('\n');

/** Every file and directory under `root` (itself included) with its mode and owner. */
function walk(root: string): Array<{ path: string; mode: number; uid: number }> {
  const out: Array<{ path: string; mode: number; uid: number }> = [];
  const visit = (p: string) => {
    const st = lstatSync(p);
    out.push({ path: p, mode: st.mode & 0o7777, uid: st.uid });
    if (st.isDirectory()) for (const name of readdirSync(p)) visit(path.join(p, name));
  };
  visit(root);
  return out;
}

describe.each(DATABASES)('renders and jobs on disk on %s', (kind) => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer(kind, { config: { runtime: { pythonEnvironmentManagement: false } } as never });
  });
  afterAll(async () => t?.close());

  it('keep nothing any other account can read, write or enter, after a real render and a real app', async () => {
    const owner = await t.createUser('modes-owner', 'publisher');
    const nb = JSON.stringify({
      cells: [{ cell_type: 'code', execution_count: null, metadata: {}, outputs: [], source: [NOTEBOOK_CODE] }],
      metadata: { kernelspec: { name: 'python3', display_name: 'Python 3', language: 'python' } },
      nbformat: 4,
      nbformat_minor: 5,
    });
    const report = await deployBundle(
      t.url,
      owner.key,
      'report',
      await makeBundle({ 'nb.ipynb': nb, 'requirements.txt': '' }, { appmode: 'jupyter-static', entrypoint: 'nb.ipynb' }, PYTHON),
    );
    expect(report.task.code, report.log).toBe(0);
    const csv = await get(`${report.content.content_url}extra/data.csv`, owner.key);
    expect([csv.status, csv.text]).toEqual([200, 'a,b\n1,2\n']);

    const app = await deployBundle(
      t.url,
      owner.key,
      'app',
      await makeBundle(
        {
          'requirements.txt': 'flask\n',
          'app.py': "from flask import Flask\napp = Flask(__name__)\n@app.route('/')\ndef i():\n    print('served', flush=True)\n    return 'hi'\n",
        },
        { appmode: 'python-api', entrypoint: 'app:app' },
        PYTHON,
      ),
    );
    expect(app.task.code, app.log).toBe(0);
    expect((await get(app.content.content_url, owner.key)).text).toBe('hi');

    const renders = walk(path.join(t.db.dataDir, 'renders'));
    const jobs = walk(path.join(t.db.dataDir, 'jobs'));
    // The render's files, its directories and both jobs' records and logs are there.
    expect(renders.some((e) => e.path.endsWith(`${path.sep}extra${path.sep}data.csv`))).toBe(true);
    expect(renders.some((e) => e.path.endsWith(`${path.sep}index.html`))).toBe(true);
    expect(jobs.filter((e) => e.path.endsWith('job.json')).length).toBeGreaterThanOrEqual(2);
    expect(jobs.filter((e) => e.path.endsWith('log.jsonl')).length).toBeGreaterThanOrEqual(2);

    const open = [...renders, ...jobs].filter((e) => e.mode & 0o007).map((e) => `${e.mode.toString(8)} ${e.path}`);
    expect(open).toEqual([]);
    // Published output is the server's, not the content account's (which other content may share).
    const uid = process.getuid?.() ?? 0;
    expect(renders.filter((e) => e.uid !== uid).map((e) => `${e.uid} ${e.path}`)).toEqual([]);
  });
});
