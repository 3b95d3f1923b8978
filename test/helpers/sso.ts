import { writeFileSync } from 'node:fs';
import path from 'node:path';
import cookieSignature from 'cookie-signature';
import { SESSION_COOKIE_NAME } from '../../src/domain/session.ts';
import type { TestServer } from './server.ts';
import type { WebAgent } from './web-agent.ts';

/** The server-side session of the agent's Lectern cookie, to read or (as an attacker could not) change. */
export async function sessionOf(t: TestServer, agent: WebAgent) {
  const raw = decodeURIComponent(agent.cookie(SESSION_COOKIE_NAME) ?? '');
  const sid = raw.startsWith('s:') ? cookieSignature.unsign(raw.slice(2), t.server.ctx.secretKey.toString('base64')) : false;
  if (!sid) throw new Error('the agent has no Lectern session');
  const repo = t.server.ctx.repos.sessions;
  const row = await repo.get(sid);
  if (!row) throw new Error('the session is not in the store');
  const data = JSON.parse(row.data) as Record<string, any>;
  return {
    data,
    save: () => repo.set(sid, (data.passport?.user as number | undefined) ?? null, JSON.stringify(data), row.expiresAt),
  };
}

/** A file holding a secret, in the test's own directory. */
export function secretFile(dir: string, name: string, secret: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, `${secret}\n`, { mode: 0o600 });
  return file;
}

/** The audit log's login failures' reasons (newest first). */
export async function loginFailures(t: TestServer): Promise<string[]> {
  const entries = await t.server.ctx.audit.recent(50, 'login.failure');
  return entries.map((e) => String((e.details as { reason?: unknown }).reason ?? ''));
}
