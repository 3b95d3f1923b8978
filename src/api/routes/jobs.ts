import { once } from 'node:events';
import { Router } from 'express';
import type { JobDirectory, JobInfo } from '../../domain/jobs.ts';
import { AppError } from '../../domain/errors.ts';
import type { ContentService } from '../../services/content-service.ts';
import { currentUser, requireUser } from '../middleware/require-role.ts';
import { iso } from '../serializers/iso.ts';

/** Connect's job record shape, with Lectern's status spelled out as well. */
function jobJson(j: JobInfo) {
  return {
    id: j.key,
    key: j.key,
    pid: j.pid,
    content_guid: j.contentGuid,
    bundle_id: String(j.bundleId),
    hostname: j.hostname,
    start_time: iso(j.startTime),
    end_time: iso(j.endTime),
    exit_code: j.exitCode,
    // Connect: 0 active, 1 finished.
    status: j.status === 'running' ? 0 : 1,
    state: j.status,
    tag: j.kind === 'render' ? 'render' : 'run_app',
  };
}

/** Processes and renders of a content item, for the people who manage it. */
export function jobRoutes(content: ContentService, jobs: JobDirectory): Router {
  const r = Router();
  r.use('/v1/content/:guid/jobs', requireUser);

  const find = async (guid: string, key: string) => {
    const job = await jobs.get(guid, key);
    if (!job) throw AppError.notFound('The requested job does not exist.');
    return job;
  };

  r.get('/v1/content/:guid/jobs', async (req, res) => {
    const c = await content.manageable(currentUser(req), String(req.params.guid));
    res.json((await jobs.list(c.guid)).map(jobJson));
  });

  r.get('/v1/content/:guid/jobs/:key', async (req, res) => {
    const c = await content.manageable(currentUser(req), String(req.params.guid));
    res.json(jobJson(await find(c.guid, String(req.params.key))));
  });

  r.get('/v1/content/:guid/jobs/:key/log', async (req, res) => {
    const c = await content.manageable(currentUser(req), String(req.params.guid));
    const job = await find(c.guid, String(req.params.key));
    res.json({ key: job.key, entries: await jobs.log(c.guid, job.key) });
  });

  // Follows the log as it grows: server-sent events, one entry each, until the job ends.
  r.get('/v1/content/:guid/jobs/:key/tail', async (req, res) => {
    const c = await content.manageable(currentUser(req), String(req.params.guid));
    const job = await find(c.guid, String(req.params.key));
    const ac = new AbortController();
    req.on('close', () => ac.abort());
    res.on('close', () => ac.abort());
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'x-accel-buffering': 'no' });
    for await (const entry of jobs.follow(c.guid, job.key, ac.signal)) {
      // A reader slower than the log is not buffered for: reading the log waits for it.
      if (!res.write(`data: ${JSON.stringify(entry)}\n\n`)) await once(res, 'drain', { signal: ac.signal }).catch(() => undefined);
    }
    res.end('event: end\ndata: {}\n\n');
  });

  r.delete('/v1/content/:guid/jobs/:key', async (req, res) => {
    const c = await content.manageable(currentUser(req), String(req.params.guid));
    const job = await find(c.guid, String(req.params.key));
    const killed = await jobs.kill(c.guid, job.key);
    res.json({ key: job.key, killed });
  });
  return r;
}
