import { existsSync, readdirSync, readFileSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signGithubBody } from '../../src/services/git/webhook-signature.ts';
import { DATABASES } from '../helpers/databases.ts';
import { get } from '../helpers/deploy.ts';
import { startGitServer, staticSiteFiles, type GitServer } from '../helpers/git-server.ts';
import { api, startTestServer, type TestServer } from '../helpers/server.ts';
import { followTaskV1 } from '../helpers/tasks.ts';

/** Waits for `check` to give something other than undefined. */
async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Every command line on the host that holds `needle`, sampled until `stop` is called. */
function watchCommandLines(needle: string) {
  const seen: string[] = [];
  const timer = setInterval(() => {
    for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
      try {
        const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
        if (cmd.includes(needle)) seen.push(cmd);
      } catch {
        // gone meanwhile
      }
    }
  }, 5);
  return () => {
    clearInterval(timer);
    return seen;
  };
}

describe.each(DATABASES)('git-backed content on %s', (kind) => {
  let t: TestServer;
  let git: GitServer;
  let owner: Awaited<ReturnType<TestServer['createUser']>>;
  let viewer: Awaited<ReturnType<TestServer['createUser']>>;

  beforeAll(async () => {
    git = await startGitServer();
    // Polling every second (Connect's default is 15 minutes), at each scheduler tick.
    t = await startTestServer(kind, { config: { git: { pollIntervalSeconds: 1 }, reports: { tickSeconds: 1, leaseSeconds: 60 } } as never });
    owner = await t.createUser('owner', 'publisher');
    viewer = await t.createUser('viewer', 'viewer');
  });
  afterAll(async () => {
    await t?.close();
    await git?.close();
  });

  const create = async (name: string) => {
    const res = await api(t.url, 'POST', '/__api__/v1/content', { key: owner.key, body: { name } });
    expect(res.status).toBe(201);
    return res.body.guid as string;
  };
  const page = async (guid: string, suffix = '') => (await get(`${t.url}/content/${guid}/${suffix}`, owner.key)).text;
  const repoPath = (guid: string) => `/__api__/v1/content/${guid}/repository`;

  it('answers 404 for content that is not git-backed, 400 for wrong types and paths that leave the repository', async () => {
    const guid = await create('not-git');
    const none = await api(t.url, 'GET', repoPath(guid), { key: owner.key });
    expect(none.status).toBe(404);
    expect(none.body).toMatchObject({ code: 4 });
    expect(Object.keys(none.body).sort()).toEqual(['code', 'error', 'payload']);
    expect((await api(t.url, 'PATCH', repoPath(guid), { key: owner.key, body: { polling: true } })).status).toBe(404);
    expect((await api(t.url, 'DELETE', repoPath(guid), { key: owner.key })).status).toBe(404);

    const url = git.repository('checks').url;
    for (const body of [
      { repository: 42 },
      { repository: url, branch: 7 },
      { repository: url, polling: 'yes' },
      { repository: url, directory: ['app'] },
      { repository: url, credentials: 'user:token' },
    ]) {
      const res = await api(t.url, 'PUT', repoPath(guid), { key: owner.key, body });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.code).toBe(25);
      expect(typeof res.body.error).toBe('string');
    }
    for (const [body, message] of [
      [{ repository: url, directory: '../outside' }, /leave the repository/],
      [{ repository: url, directory: 'app/../../x' }, /leave the repository/],
      [{ repository: url, directory: '/etc' }, /not absolute/],
      [{ repository: 'file:///etc/repo.git' }, /not file/],
      [{ repository: 'ext::sh -c touch% /tmp/pwned' }, /URL|spaces/],
      [{ repository: '--upload-pack=touch /tmp/x' }, /URL|spaces|start/],
      [{ repository: url.replace('http://', 'http://bob:secret@') }, /credentials/],
      [{ repository: url, branch: '../main' }, /branch/],
      [{ repository: url, branch: '-x' }, /branch/],
    ] as const) {
      const res = await api(t.url, 'PUT', repoPath(guid), { key: owner.key, body });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error, JSON.stringify(body)).toMatch(message);
    }
    // Only who may deploy the item sees or changes where it comes from.
    expect([403, 404]).toContain((await api(t.url, 'PUT', repoPath(guid), { key: viewer.key, body: { repository: url } })).status);
    expect([403, 404]).toContain((await api(t.url, 'GET', repoPath(guid), { key: viewer.key })).status);
  });

  it('deploys a pushed commit, records it in the bundle, and deploys the next one through the webhook; previews another branch as a draft', async () => {
    const work = git.repository('site');
    const first = work.commit(await staticSiteFiles('app', 'main one'), 'first');
    const guid = await create('from-git');

    const put = await api(t.url, 'PUT', repoPath(guid), {
      key: owner.key,
      body: { repository: work.url, branch: 'main', directory: './app/', polling: false },
    });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    expect(put.body).toMatchObject({
      repository: work.url,
      branch: 'main',
      directory: 'app',
      polling: false,
      last_error: null,
      last_known_commit: null,
      last_fetched_time: null,
    });
    for (const k of ['repository', 'branch', 'directory', 'polling', 'last_error', 'last_known_commit', 'last_fetched_time'])
      expect(put.body).toHaveProperty(k);
    expect(JSON.stringify(put.body)).not.toMatch(/secret/);

    const made = await api(t.url, 'POST', `${repoPath(guid)}/bundle`, { key: owner.key, body: {} });
    expect(made.status, JSON.stringify(made.body)).toBe(200);
    expect(made.body.location).toMatchObject({ repository: work.url, ref: 'main', directory: 'app', commit: first });
    const task = await followTaskV1(t.url, owner.key, made.body.task_id);
    expect(task.code, task.output.join('\n')).toBe(0);
    expect(await page(guid)).toContain('main one');
    const bundle = await api(t.url, 'GET', `/__api__/v1/content/${guid}/bundles/${made.body.bundle_id}`, { key: owner.key });
    expect(bundle.body.metadata).toMatchObject({ source: 'git', source_repo: work.url, source_branch: 'main', source_commit: first });
    const after = await api(t.url, 'GET', repoPath(guid), { key: owner.key });
    expect(after.body).toMatchObject({ last_known_commit: first, last_error: null });
    expect(after.body.last_fetched_time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);

    // The webhook's secret is shown once, by the rotation endpoint.
    const rotated = await api(t.url, 'POST', `${repoPath(guid)}/webhook-secret`, { key: owner.key });
    expect(rotated.status).toBe(200);
    const secret = rotated.body.secret as string;
    expect(secret).toMatch(/^[0-9a-f]{64}$/);
    const hook = `${repoPath(guid)}/webhook`;
    expect(rotated.body.webhook_url).toBe(`${t.url}${hook}`);
    expect([403, 404]).toContain((await api(t.url, 'POST', `${repoPath(guid)}/webhook-secret`, { key: viewer.key })).status);

    const second = work.commit(await staticSiteFiles('app', 'main two'), 'second');
    const push = JSON.stringify({ ref: 'refs/heads/main', after: second, repository: { clone_url: work.url } });
    const send = (body: string, headers: Record<string, string>) =>
      fetch(`${t.url}${hook}`, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });

    // Refused: no proof, a wrong signature, a signature of another body, the wrong GitLab token.
    const missing = await send(push, { 'x-github-event': 'push' });
    expect(missing.status).toBe(401);
    expect(await missing.json()).toMatchObject({ code: 24 });
    for (const headers of <Record<string, string>[]>[
      { 'x-hub-signature-256': signGithubBody('not-the-secret', push) },
      { 'x-hub-signature-256': signGithubBody(secret, push + ' ') },
      { 'x-hub-signature-256': 'sha256=zz' },
      { 'x-gitlab-token': `${secret}x` },
    ]) {
      const res = await send(push, { 'x-github-event': 'push', ...headers });
      expect(res.status).toBe(403);
      const body = (await res.json()) as Record<string, unknown>;
      expect(Object.keys(body).sort()).toEqual(['code', 'error', 'payload']);
    }
    expect(await page(guid)).toContain('main one');
    const audit = await api(t.url, 'GET', '/__api__/v1/audit_logs?limit=500', { key: t.admin.key });
    const refusals = (audit.body.results as Array<{ action: string; event_description: string }>).filter((e) => e.action === 'refuse_git_webhook');
    expect(refusals.length).toBe(5);
    expect(refusals.map((e) => e.event_description).join('\n')).toMatch(/bad signature/);
    const actions = (audit.body.results as Array<{ action: string }>).map((e) => e.action);
    expect(actions).toContain('add_git_repository');
    expect(actions).toContain('rotate_git_webhook_secret');
    expect(JSON.stringify(audit.body)).not.toContain(secret);

    // A ping is answered; a push to the branch, properly signed, deploys it.
    const ping = await send('{"zen":"hi"}', { 'x-github-event': 'ping', 'x-hub-signature-256': signGithubBody(secret, '{"zen":"hi"}') });
    expect(ping.status).toBe(200);
    // GitHub's form encoding, signed as sent.
    const form = new URLSearchParams({ payload: push }).toString();
    const accepted = await fetch(`${t.url}${hook}`, {
      method: 'POST',
      body: form,
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-github-event': 'push', 'x-hub-signature-256': signGithubBody(secret, form) },
    });
    expect(accepted.status).toBe(202);
    expect(await accepted.json()).toMatchObject({ deployed: true, branch: 'main', draft: false });
    await until('the webhook deploy', async () => ((await page(guid)).includes('main two') ? true : undefined));
    expect((await api(t.url, 'GET', repoPath(guid), { key: owner.key })).body.last_known_commit).toBe(second);

    // Another branch is ignored until preview branches are on; then it deploys as a draft.
    work.checkout('feature');
    const feature = work.commit(await staticSiteFiles('app', 'feature one'), 'feature');
    const featurePush = JSON.stringify({ ref: 'refs/heads/feature', after: feature });
    const ignored = await send(featurePush, { 'x-gitlab-event': 'Push Hook', 'x-gitlab-token': secret });
    expect(ignored.status).toBe(200);
    expect(await ignored.json()).toMatchObject({ deployed: false });
    const patched = await api(t.url, 'PATCH', repoPath(guid), { key: owner.key, body: { preview_branches: true } });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ preview_branches: true, last_known_commit: second, branch: 'main' });
    const preview = await send(featurePush, { 'x-gitlab-event': 'Push Hook', 'x-gitlab-token': secret });
    expect(preview.status).toBe(202);
    expect(await preview.json()).toMatchObject({ deployed: true, branch: 'feature', draft: true });
    const draft = await until('the preview bundle', async () => {
      const list = await api(t.url, 'GET', `/__api__/v1/content/${guid}/bundles`, { key: owner.key });
      const b = (list.body as Array<{ id: string; metadata: Record<string, unknown> }>).find((x) => x.metadata.source_branch === 'feature');
      return b && (await page(guid, `_bundle${b.id}/`)).includes('feature one') ? b : undefined;
    });
    expect(draft.metadata.source_commit).toBe(feature);
    expect(await page(guid)).toContain('main two');
    // The draft did not move what the item's branch is known to be at.
    expect((await api(t.url, 'GET', repoPath(guid), { key: owner.key })).body.last_known_commit).toBe(second);

    // DELETE: no longer git-backed, and its webhook is gone.
    expect((await api(t.url, 'DELETE', repoPath(guid), { key: owner.key })).status).toBe(204);
    expect((await api(t.url, 'GET', repoPath(guid), { key: owner.key })).status).toBe(404);
    expect((await send(push, { 'x-hub-signature-256': signGithubBody(secret, push) })).status).toBe(404);
  });

  it('polls the branch and deploys each new commit', async () => {
    const work = git.repository('polled');
    const first = work.commit(await staticSiteFiles('.', 'polled one'), 'first');
    const guid = await create('polled');
    const put = await api(t.url, 'PUT', repoPath(guid), { key: owner.key, body: { repository: work.url, branch: 'main', directory: '.', polling: true } });
    expect(put.status).toBe(200);
    await until('the first poll deploy', async () => ((await page(guid)).includes('polled one') ? true : undefined));
    const second = work.commit(await staticSiteFiles('.', 'polled two'), 'second');
    await until('the next poll deploy', async () => ((await page(guid)).includes('polled two') ? true : undefined));
    const state = await until('the recorded commit', async () => {
      const r = await api(t.url, 'GET', repoPath(guid), { key: owner.key });
      return r.body.last_known_commit === second ? r.body : undefined;
    });
    expect(state).toMatchObject({ polling: true, last_error: null });
    const bundles = await api(t.url, 'GET', `/__api__/v1/content/${guid}/bundles`, { key: owner.key });
    expect((bundles.body as Array<{ metadata: { source_commit: string } }>).map((b) => b.metadata.source_commit)).toEqual([first, second]);

    // Polling off: a new commit stays where it is.
    expect((await api(t.url, 'PATCH', repoPath(guid), { key: owner.key, body: { polling: false } })).body.polling).toBe(false);
    // A look that began before the PATCH ends first.
    await t.server.scheduler.settled();
    work.commit(await staticSiteFiles('.', 'polled three'), 'third');
    await new Promise((r) => setTimeout(r, 3000));
    expect(await page(guid)).toContain('polled two');

    // Deleting the item takes its location and its fetch cache with it.
    const cache = path.join(t.db.dataDir, 'git', 'cache', guid);
    expect(existsSync(path.join(cache, 'HEAD'))).toBe(true);
    expect((await api(t.url, 'DELETE', `/__api__/v1/content/${guid}`, { key: owner.key })).status).toBeLessThan(300);
    await until('the cache to go', async () => (existsSync(cache) ? undefined : true), 10_000);
  });

  it("deploys an item's first bundle from its repository when a client deploys it without one (rsconnect deploy git)", async () => {
    const work = git.repository('first-deploy');
    const commit = work.commit(await staticSiteFiles('.', 'first deploy'), 'first');
    const guid = await create('first-deploy');
    expect(
      (await api(t.url, 'PUT', repoPath(guid), { key: owner.key, body: { repository: work.url, branch: 'main', directory: '.', polling: false } })).status,
    ).toBe(200);
    const dep = await api(t.url, 'POST', `/__api__/v1/content/${guid}/deploy`, { key: owner.key, body: { bundle_id: null } });
    expect(dep.status, JSON.stringify(dep.body)).toBe(202);
    const task = await followTaskV1(t.url, owner.key, dep.body.task_id);
    expect(task.code, task.output.join('\n')).toBe(0);
    expect(await page(guid)).toContain('first deploy');
    expect((await api(t.url, 'GET', repoPath(guid), { key: owner.key })).body.last_known_commit).toBe(commit);
  });

  it('refuses a directory without manifest.json, with the reason in last_error', async () => {
    const work = git.repository('no-manifest');
    work.commit({ 'docs/index.html': '<p>no manifest</p>', 'README.md': 'hi' }, 'first');
    const guid = await create('no-manifest');
    await api(t.url, 'PUT', repoPath(guid), { key: owner.key, body: { repository: work.url, branch: 'main', directory: 'docs' } });
    const made = await api(t.url, 'POST', `${repoPath(guid)}/bundle`, { key: owner.key, body: {} });
    expect(made.status).toBe(400);
    expect(made.body.error).toMatch(/no manifest\.json in "docs"/);
    expect((await api(t.url, 'GET', repoPath(guid), { key: owner.key })).body.last_error).toMatch(/manifest\.json/);
    const gone = await api(t.url, 'POST', `${repoPath(guid)}/bundle`, { key: owner.key, body: { directory: 'nowhere' } });
    expect(gone.status).toBe(400);
    expect(gone.body.error).toMatch(/does not exist/);
    expect((await api(t.url, 'POST', `${repoPath(guid)}/bundle`, { key: owner.key, body: { directory: '../x' } })).status).toBe(400);
    const branch = await api(t.url, 'POST', `${repoPath(guid)}/bundle`, { key: owner.key, body: { ref: 'no-such-branch' } });
    expect(branch.status).toBe(400);
    expect(branch.body.error).toMatch(/no-such-branch/);
  });

  it('never reads outside the directory through a symbolic link in the repository', async () => {
    const work = git.repository('links');
    const files = await staticSiteFiles('site', 'with links');
    // A link out of the bundle, and a directory that is itself a link to the site.
    symlinkSync('/etc/passwd', path.join(work.dir, 'passwd-link'));
    symlinkSync('site', path.join(work.dir, 'alias'));
    work.commit(files, 'site');
    symlinkSync('../../etc/passwd', path.join(work.dir, 'site', 'leak'));
    work.commit({}, 'leak');
    const guid = await create('links');
    await api(t.url, 'PUT', repoPath(guid), { key: owner.key, body: { repository: work.url, branch: 'main', directory: 'site' } });
    const leak = await api(t.url, 'POST', `${repoPath(guid)}/bundle`, { key: owner.key, body: {} });
    expect(leak.status).toBe(400);
    expect(leak.body.error).toMatch(/leak/);
    const alias = await api(t.url, 'POST', `${repoPath(guid)}/bundle`, { key: owner.key, body: { directory: 'alias' } });
    expect(alias.status).toBe(400);
    expect(alias.body.error).toMatch(/does not exist/);
    expect((await api(t.url, 'GET', `/__api__/v1/content/${guid}/bundles`, { key: owner.key })).body).toEqual([]);
  });

  it("answers connectapi's repository helpers: the account, the branches and the manifest directories, as tasks", async () => {
    const work = git.repository('helpers');
    const main = work.commit({ ...(await staticSiteFiles('.', 'root')), ...(await staticSiteFiles('apps/one', 'one')), 'notes/readme.md': 'x' }, 'first');
    work.checkout('dev');
    const dev = work.commit({ 'dev.txt': 'dev' }, 'dev');
    const result = async (path: string) => {
      const started = await api(t.url, 'GET', path, { key: owner.key });
      expect(started.status, JSON.stringify(started.body)).toBe(200);
      expect(started.body.task_id).toBe(started.body.id);
      const task = await until('the task', async () => {
        const r = await api(t.url, 'GET', `/__api__/v1/tasks/${started.body.task_id}?wait=1`, { key: owner.key });
        return r.body.finished ? r.body : undefined;
      });
      expect(task.code, task.error).toBe(0);
      return task.result;
    };
    const q = encodeURIComponent(work.url);
    expect((await api(t.url, 'GET', `/__api__/repo/account?url=${encodeURIComponent(git.url)}`, { key: owner.key })).body).toEqual({ username: '' });
    expect(await result(`/__api__/repo/branches?url=${q}`)).toEqual({
      type: 'git-repo-ref-branch-array',
      data: [
        { branch: 'dev', ref: dev },
        { branch: 'main', ref: main },
      ],
    });
    expect(await result(`/__api__/repo/manifest-dirs?url=${q}&branch=main`)).toEqual({ type: 'git-repo-branch-manifest-dirs-array', data: ['.', 'apps/one'] });
    expect((await api(t.url, 'GET', `/__api__/repo/branches?url=${encodeURIComponent('file:///etc')}`, { key: owner.key })).status).toBe(400);
    expect((await api(t.url, 'GET', `/__api__/repo/branches?url=${q}`, { key: viewer.key })).status).toBe(403);
    // Nothing of the throwaway fetch is left behind.
    expect(readdirSync(path.join(t.db.dataDir, 'git', 'browse'))).toEqual([]);
  });

  it('bounds what a webhook may send', async () => {
    const work = git.repository('bounded');
    work.commit(await staticSiteFiles('.', 'bounded'), 'first');
    const guid = await create('bounded');
    await api(t.url, 'PUT', repoPath(guid), { key: owner.key, body: { repository: work.url } });
    const res = await fetch(`${t.url}${repoPath(guid)}/webhook`, { method: 'POST', body: 'x'.repeat(3 * 1024 * 1024), headers: { 'x-gitlab-token': 'guess' } });
    expect(res.status).toBe(413);
    expect(Object.keys((await res.json()) as object).sort()).toEqual(['code', 'error', 'payload']);
  });

  it('fetches a private repository with stored credentials that reach neither a command line, a log nor an answer', async () => {
    const token = 'tok-3f9a1c7e5b2d4608';
    const privateGit = await startGitServer({ auth: { username: 'deploy-bot', token } });
    try {
      const work = privateGit.repository('private');
      const commit = work.commit(await staticSiteFiles('.', 'private one'), 'first');
      const guid = await create('private');

      // Without credentials git cannot read it, and says why.
      await api(t.url, 'PUT', repoPath(guid), { key: owner.key, body: { repository: work.url, branch: 'main', directory: '.' } });
      const refused = await api(t.url, 'POST', `${repoPath(guid)}/bundle`, { key: owner.key, body: {} });
      expect(refused.status).toBe(400);
      expect(refused.body.error).toMatch(/Username|Authentication|401/i);

      const put = await api(t.url, 'PUT', repoPath(guid), {
        key: owner.key,
        body: { repository: work.url, branch: 'main', directory: '.', credentials: { username: 'deploy-bot', token } },
      });
      expect(put.status).toBe(200);
      expect(put.body.has_credentials).toBe(true);
      expect(JSON.stringify(put.body)).not.toContain(token);

      const stop = watchCommandLines(token);
      const made = await api(t.url, 'POST', `${repoPath(guid)}/bundle`, { key: owner.key, body: {} });
      expect(made.status, JSON.stringify(made.body)).toBe(200);
      const task = await followTaskV1(t.url, owner.key, made.body.task_id);
      expect(stop()).toEqual([]);
      expect(task.code).toBe(0);
      expect(made.body.location.commit).toBe(commit);
      expect(await page(guid)).toContain('private one');
      expect(privateGit.requests.some((r) => r.authorization === `Basic ${Buffer.from(`deploy-bot:${token}`).toString('base64')}`)).toBe(true);

      const basic = Buffer.from(`deploy-bot:${token}`).toString('base64');
      const leaks = [token, basic];
      const everything = [
        JSON.stringify(made.body),
        task.output.join('\n'),
        JSON.stringify((await api(t.url, 'GET', repoPath(guid), { key: owner.key })).body),
        JSON.stringify((await api(t.url, 'GET', `/__api__/v1/content/${guid}/bundles`, { key: owner.key })).body),
        JSON.stringify((await api(t.url, 'GET', '/__api__/v1/audit_logs?limit=500', { key: t.admin.key })).body),
        t.logs.join('\n'),
      ].join('\n');
      for (const leak of leaks) expect(everything).not.toContain(leak);

      // A repository a caller names never gets the stored credentials.
      const elsewhere = await api(t.url, 'POST', `${repoPath(guid)}/bundle`, { key: owner.key, body: { repository: `${privateGit.url}/private.git/` } });
      expect(elsewhere.status).toBe(400);
      // Moving the item to another URL drops them.
      const moved = await api(t.url, 'PATCH', repoPath(guid), { key: owner.key, body: { repository: `${git.url}/site.git` } });
      expect(moved.body.has_credentials).toBe(false);
    } finally {
      await privateGit.close();
    }
  });
});
