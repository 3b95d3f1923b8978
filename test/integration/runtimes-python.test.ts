import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, makeBundle } from '../helpers/bundles.ts';
import { DATABASES } from '../helpers/databases.ts';
import { deployBundle, get } from '../helpers/deploy.ts';
import { api, startTestServer, type TestServer } from '../helpers/server.ts';

const LOCAL_INDEX = 'file:///opt/pypi/simple';
const pyManifest = (appmode: string, entrypoint: string) => ({ appmode, entrypoint });
const python = { python: { version: '3.11.2', package_manager: { name: 'pip', version: '23.0.1', package_file: 'requirements.txt' } } };

// Python content deployed through the API and answering through /content/{guid}/, in the sandbox.
describe.each(DATABASES)('Python content on %s', (kind) => {
  let t: TestServer;
  let key: string;
  beforeAll(async () => {
    if (!existsSync('/opt/pypi/simple')) throw new Error('the local package index /opt/pypi/simple is missing');
    t = await startTestServer(kind, { config: { runtime: { pythonIndexUrl: LOCAL_INDEX } } as never });
    key = (await t.createUser('pyrun', 'publisher')).key;
  });
  afterAll(async () => t?.close());

  it('runs a Flask API under gunicorn, and a redeploy reuses its environment', async () => {
    const d = await deployBundle(t.url, key, 'flask-api', fixture('py-flask-api.tar.gz'));
    expect(d.task.code, d.log).toBe(0);
    expect(d.log).toMatch(/Using Python 3\.11/);
    const res = await get(d.content.content_url, key);
    expect(res.status, res.text).toBe(200);
    const again = await deployBundle(t.url, key, 'flask-api-2', fixture('py-flask-api.tar.gz'));
    expect(again.log).toMatch(/Reusing the Python environment/);
  });

  it('runs a FastAPI app with environment management off', async () => {
    const d = await deployBundle(t.url, key, 'fastapi-app', fixture('py-fastapi.tar.gz'), { default_py_environment_management: false });
    expect(d.task.code, d.log).toBe(0);
    expect(d.log).toMatch(/Environment management is off/);
    const res = await get(d.content.content_url, key);
    expect(res.status, res.text).toBe(200);
  });

  it('restores a Dash environment from the package index and serves it under its path', async () => {
    const bundle = await makeBundle(
      {
        'app.py': 'from dash import Dash, html\napp = Dash(__name__)\napp.layout = html.Div("dash says hello", id="greeting")\n',
        'requirements.txt': 'dash\n',
      },
      pyManifest('python-dash', 'app'),
      python,
    );
    const d = await deployBundle(t.url, key, 'dash-app', bundle);
    expect(d.task.code, d.log).toBe(0);
    const page = await get(d.content.content_url, key);
    expect(page.status).toBe(200);
    expect(page.text).toContain(`/content/${d.content.guid}/`);
    const layout = await get(`${d.content.content_url}_dash-layout`, key);
    expect(layout.text).toContain('dash says hello');
  });

  it('restores a Streamlit environment and serves it under its base path', async () => {
    const bundle = await makeBundle(
      { 'app.py': 'import streamlit as st\nst.write("streamlit says hello")\n', 'requirements.txt': 'streamlit\n' },
      pyManifest('python-streamlit', 'app.py'),
      python,
    );
    const d = await deployBundle(t.url, key, 'streamlit-app', bundle);
    expect(d.task.code, d.log).toBe(0);
    expect((await get(`${d.content.content_url}_stcore/health`, key)).text).toContain('ok');
    expect((await get(d.content.content_url, key)).status).toBe(200);
  });

  it('previews a draft of an app that serves under its base path', async () => {
    const bundle = await makeBundle(
      { 'app.py': 'import streamlit as st\nst.write("draft")\n', 'requirements.txt': 'streamlit\n' },
      pyManifest('python-streamlit', 'app.py'),
      python,
    );
    const c = (await api(t.url, 'POST', '/__api__/v1/content', { key, body: { name: 'streamlit-draft' } })).body;
    const { uploadChunked } = await import('../helpers/bundles.ts');
    const { followTaskV1 } = await import('../helpers/tasks.ts');
    const up = await uploadChunked(t.url, `/__api__/v1/content/${c.guid}/bundles`, key, bundle);
    const dep = await api(t.url, 'POST', `/__api__/v1/content/${c.guid}/deploy`, { key, body: { bundle_id: up.body.id, activate: false } });
    expect((await followTaskV1(t.url, key, dep.body.task_id)).code).toBe(0);
    expect((await get(`${t.url}/content/${c.guid}/_bundle${up.body.id}/_stcore/health`, key)).text).toContain('ok');
  });

  it('renders a Jupyter notebook and serves the HTML', async () => {
    const d = await deployBundle(t.url, key, 'notebook', fixture('py-jupyter-static.tar.gz'));
    expect(d.task.code, d.log).toBe(0);
    const page = await get(d.content.content_url, key);
    expect(page.status).toBe(200);
    // nbconvert highlights code into spans: compare the text a reader sees.
    const text = page.text.replace(/<style[\s\S]*?<\/style>/g, '').replace(/<[^>]+>/g, '');
    expect(text).toContain('print(1+1)');
    expect(text).toMatch(/^\s*2\s*$/m);
    // Re-render on demand.
    const rr = await api(t.url, 'POST', `/__api__/v1/content/${d.content.guid}/render`, { key });
    expect(rr.status).toBe(202);
  });

  it('fails an unsatisfiable pin with the exact requirement and how to fix it', async () => {
    const d = await deployBundle(t.url, key, 'dash-pinned', fixture('py-dash.tar.gz'));
    expect(d.task.code).not.toBe(0);
    expect(d.task.error).toContain('dash==2.16.1');
    expect(d.task.error).toContain(LOCAL_INDEX);
  });
});
