import { uploadChunked } from './bundles.ts';
import { api } from './server.ts';
import { followTaskV1 } from './tasks.ts';

/** Creates content (with optional settings), uploads a bundle and deploys it, as rsconnect-python does. */
export async function deployBundle(base: string, key: string, name: string, bundle: Buffer, settings: Record<string, unknown> = {}) {
  const created = await api(base, 'POST', '/__api__/v1/content', { key, body: { name, ...settings } });
  if (created.status !== 201) throw new Error(`create ${name}: ${created.status} ${JSON.stringify(created.body)}`);
  const c = created.body as { guid: string; id: string; content_url: string };
  const up = await uploadChunked(base, `/__api__/v1/content/${c.guid}/bundles`, key, bundle);
  if (up.status !== 201) throw new Error(`upload ${name}: ${up.status} ${JSON.stringify(up.body)}`);
  const dep = await api(base, 'POST', `/__api__/v1/content/${c.guid}/deploy`, { key, body: { bundle_id: up.body.id } });
  const task = await followTaskV1(base, key, dep.body.task_id);
  return { content: c, bundleId: up.body.id as string, task, log: task.output.join('\n') };
}

/** A request to content with an API key. */
export async function get(url: string, key: string, headers: Record<string, string> = {}) {
  const res = await fetch(url, { headers: { authorization: `Key ${key}`, ...headers }, redirect: 'manual' });
  return { status: res.status, text: await res.text(), headers: res.headers };
}
