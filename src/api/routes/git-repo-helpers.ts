import { Router } from 'express';
import { z } from 'zod';
import type { GitBrowser } from '../../services/git/git-browser.ts';
import { currentUser, requireRole } from '../middleware/require-role.ts';
import { parseInput } from '../validate.ts';

const urlQuery = z.object({ url: z.string().min(1) }).loose();
const dirsQuery = z.object({ url: z.string().min(1), branch: z.string().min(1) }).loose();

/**
 * connectapi's unversioned git helpers (`R/git.R`, connect-api-next.md §9.3), for who may
 * publish: the account used for a host (always anonymous here: credentials are per item), and
 * a repository's branches and manifest directories as tasks whose `result` holds them.
 */
export function gitRepoHelperRoutes(browser: GitBrowser): Router {
  const r = Router();
  r.use('/repo', requireRole('administrator', 'publisher'));

  r.get('/repo/account', (req, res) => {
    parseInput(urlQuery, req.query, 'query');
    res.json({ username: '' });
  });

  r.get('/repo/branches', async (req, res) => {
    const q = parseInput(urlQuery, req.query, 'query');
    const task = await browser.branches(currentUser(req), q.url);
    res.json({ id: task.id, task_id: task.id });
  });

  r.get('/repo/manifest-dirs', async (req, res) => {
    const q = parseInput(dirsQuery, req.query, 'query');
    const task = await browser.manifestDirs(currentUser(req), q.url, q.branch);
    res.json({ id: task.id, task_id: task.id });
  });
  return r;
}
