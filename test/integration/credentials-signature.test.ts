import { createHmac } from 'node:crypto';
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { parseTarget } from '../../runtimes/target.ts';
import { makeBundle, wsModule } from '../helpers/bundles.ts';
import { DATABASES } from '../helpers/databases.ts';
import { deployBundle } from '../helpers/deploy.ts';
import { api, startTestServer, type TestServer } from '../helpers/server.ts';

// The README's way for an app to check that Lectern sent the credentials header.
const FLASK_APP = `
import hashlib, hmac, json, os, time
from flask import Flask, request
app = Flask(__name__)

def verified():
    key = os.environ.get('LECTERN_CREDENTIALS_KEY', '')
    credentials = request.headers.get('RStudio-Connect-Credentials')
    signature = request.headers.get('Lectern-Credentials-Signature', '')
    if not key or credentials is None:
        return False
    fields = dict(p.split('=', 1) for p in signature.split(',') if '=' in p)
    t = fields.get('t', '')
    if not t.isdigit() or abs(time.time() - int(t)) > 300:
        return False
    expected = hmac.new(key.encode(), (t + '.' + credentials).encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, fields.get('v1', ''))

@app.route('/')
def index():
    return json.dumps({
        'valid': verified(),
        'credentials': request.headers.get('RStudio-Connect-Credentials'),
        'signature': request.headers.get('Lectern-Credentials-Signature'),
    })
`;

const NODE_APP = `
const http = require('http');
const crypto = require('crypto');
const { WebSocketServer } = require('ws');
function verified(h) {
  const key = process.env.LECTERN_CREDENTIALS_KEY || '';
  const credentials = h['rstudio-connect-credentials'];
  const fields = {};
  for (const p of String(h['lectern-credentials-signature'] || '').split(',')) { const i = p.indexOf('='); if (i > 0) fields[p.slice(0, i)] = p.slice(i + 1); }
  if (!key || credentials === undefined || !/^[0-9]+$/.test(fields.t || '') || Math.abs(Date.now() / 1000 - Number(fields.t)) > 300) return false;
  const mac = crypto.createHmac('sha256', key).update(fields.t + '.' + credentials).digest('hex');
  return typeof fields.v1 === 'string' && fields.v1.length === mac.length && crypto.timingSafeEqual(Buffer.from(mac), Buffer.from(fields.v1));
}
const server = http.createServer((req, res) => res.end(JSON.stringify({ valid: verified(req.headers) })));
new WebSocketServer({ server }).on('connection', (c, req) => c.send(JSON.stringify({ valid: verified(req.headers), credentials: req.headers['rstudio-connect-credentials'] || null })));
server.listen(Number(process.env.PORT), process.env.HOST);
`;

const PYTHON = { python: { version: '3.11.2', package_manager: { name: 'pip', package_file: 'requirements.txt' } } };

interface Seen {
  valid: boolean;
  credentials: string | null;
  signature: string | null;
}

/** A request straight to an app's process (its port or socket), past Lectern: what another local process could send. */
function direct(target: string, headers: Record<string, string>): Promise<Seen> {
  const { url, socketPath } = parseTarget(target);
  return new Promise((resolve, reject) => {
    const req = http.request(url, { socketPath, headers }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += String(c)));
      res.on('end', () => resolve(JSON.parse(body) as Seen));
    });
    req.on('error', reject);
    req.end();
  });
}

describe.each(DATABASES)('the credentials header an app can verify on %s', (kind) => {
  let t: TestServer;
  let owner: Awaited<ReturnType<TestServer['createUser']>>;
  let viewer: Awaited<ReturnType<TestServer['createUser']>>;
  beforeAll(async () => {
    t = await startTestServer(kind, { config: { runtime: { pythonEnvironmentManagement: false } } as never });
    owner = await t.createUser('signer-owner', 'publisher');
    viewer = await t.createUser('signed-viewer', 'viewer');
    const group = await api(t.url, 'POST', '/__api__/v1/groups', { key: t.admin.key, body: { name: 'auditors' } });
    await api(t.url, 'POST', `/__api__/v1/groups/${group.body.guid}/members`, { key: t.admin.key, body: { user_guid: viewer.user.guid } });
  }, 120_000);
  afterAll(async () => t?.close());

  const targetOf = (guid: string, bundleId: string) => {
    const instance = t.server.ctx.runtime.runner.instancesOf(guid, Number(bundleId))[0];
    if (!instance) throw new Error(`no running instance of ${guid}`);
    return instance.target;
  };

  it('is signed for the app through Lectern, and a forged one sent to the app directly does not verify', async () => {
    const deploy = async (name: string) => {
      const d = await deployBundle(
        t.url,
        owner.key,
        name,
        await makeBundle({ 'requirements.txt': 'flask\n', 'app.py': FLASK_APP }, { appmode: 'python-api', entrypoint: 'app:app' }, PYTHON),
        { access_type: 'logged_in' },
      );
      expect(d.task.code, d.log).toBe(0);
      return d;
    };
    const a = await deploy('verifier-a');
    const b = await deploy('verifier-b');

    // Through Lectern: the viewer's credentials, signed; whatever the client sent under those names is replaced.
    const res = await fetch(a.content.content_url, {
      headers: {
        authorization: `Key ${viewer.key}`,
        'RStudio-Connect-Credentials': '{"user":"admin","groups":[]}',
        'Lectern-Credentials-Signature': 't=1,v1=00',
      },
    });
    const through = (await res.json()) as Seen;
    expect(JSON.parse(through.credentials!)).toEqual({ user: 'signed-viewer', groups: ['auditors'] });
    expect(through.signature).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    expect(through.valid).toBe(true);

    // Straight to app A's process: a forged header, unsigned or signed with a guessed key, does not verify.
    const forged = JSON.stringify({ user: 'admin', groups: ['administrators'] });
    const target = targetOf(a.content.guid, a.bundleId);
    expect((await direct(target, { 'RStudio-Connect-Credentials': forged })).valid).toBe(false);
    const now = String(Math.floor(Date.now() / 1000));
    const guessed = createHmac('sha256', 'guessed-key').update(`${now}.${forged}`).digest('hex');
    expect((await direct(target, { 'RStudio-Connect-Credentials': forged, 'Lectern-Credentials-Signature': `t=${now},v1=${guessed}` })).valid).toBe(false);
    // A real signature does not carry over to other credentials...
    expect((await direct(target, { 'RStudio-Connect-Credentials': forged, 'Lectern-Credentials-Signature': through.signature! })).valid).toBe(false);
    // ...nor to another app (each item has a key of its own); replayed as sent, to the same app, it still verifies.
    expect(
      (
        await direct(targetOf(b.content.guid, b.bundleId), {
          'RStudio-Connect-Credentials': through.credentials!,
          'Lectern-Credentials-Signature': through.signature!,
        })
      ).valid,
    ).toBe(false);
    expect((await direct(target, { 'RStudio-Connect-Credentials': through.credentials!, 'Lectern-Credentials-Signature': through.signature! })).valid).toBe(
      true,
    );
  });

  it('is signed on WebSocket upgrades too', async () => {
    const d = await deployBundle(
      t.url,
      owner.key,
      'ws-verifier',
      await makeBundle({ 'server.js': NODE_APP, ...wsModule() }, { appmode: 'nodejs', entrypoint: 'server.js' }),
      { access_type: 'logged_in' },
    );
    expect(d.task.code, d.log).toBe(0);
    const open = (url: string, headers: Record<string, string>, socketPath?: string) =>
      new Promise<Seen>((resolve, reject) => {
        const ws = new WebSocket(url, { headers, ...(socketPath ? { socketPath } : {}) });
        ws.once('message', (m) => {
          resolve(JSON.parse(String(m)) as Seen);
          ws.close();
        });
        ws.once('error', reject);
      });
    const through = await open(`${t.contentUrl.replace('http', 'ws')}/content/${d.content.guid}/`, {
      authorization: `Key ${viewer.key}`,
      'RStudio-Connect-Credentials': '{"user":"admin","groups":[]}',
    });
    expect(JSON.parse(through.credentials!)).toEqual({ user: 'signed-viewer', groups: ['auditors'] });
    expect(through.valid).toBe(true);

    const { url, socketPath } = parseTarget(targetOf(d.content.guid, d.bundleId));
    const wsUrl = socketPath ? `ws+unix:${socketPath}:/` : `${url.replace('http', 'ws')}/`;
    const forged = await open(wsUrl, { 'RStudio-Connect-Credentials': JSON.stringify({ user: 'admin', groups: [] }) });
    expect(forged.valid).toBe(false);
  });
});
