import { describe, expect, it } from 'vitest';
import type { ReportRendered, ReportRenderer, Rendering } from '../../src/domain/reports.ts';
import { NOTHING_FREED } from '../../src/domain/retention.ts';
import { createLogger } from '../../src/logging/logger.ts';
import type { RenderingRepo, RenderOutcome } from '../../src/repositories/rendering-repo.ts';
import { RenderService, type RenderFinished, type RenderRepos } from '../../src/services/reports/render-service.ts';

const SERVER = 'this-server';

function rendering(over: Partial<Rendering> = {}): Rendering {
  return {
    id: 1,
    contentId: 10,
    variantId: 20,
    bundleId: 30,
    trigger: 'schedule',
    scheduleId: 40,
    dueTime: new Date(0),
    status: 'queued',
    attempt: 1,
    activate: true,
    email: true,
    serverId: SERVER,
    leaseUntil: new Date(60_000),
    taskId: 'task-1',
    jobKey: null,
    outputPath: null,
    outputFile: null,
    metadata: null,
    error: null,
    requestedBy: null,
    createdTime: new Date(0),
    startedTime: null,
    renderTime: null,
    renderDurationNs: null,
    ...over,
  };
}

/**
 * The render path with its collaborators in memory: what a render ends as, which task result
 * the client sees, and what listeners (the mailer) are told, when things fail around it.
 */
function harness(o: { render?: () => Promise<ReportRendered>; activate?: () => Promise<void>; stolen?: boolean } = {}) {
  const row = rendering();
  const tasks: [string, number][] = [];
  const told: RenderFinished[] = [];
  const discarded: string[] = [];
  const renderings = {
    start: async () => {
      row.status = 'running';
      return true;
    },
    finish: async (_id: number, _server: string, status: 'succeeded' | 'failed', out: RenderOutcome) => {
      // Another server declared the render dead (or a shutdown handed it back) meanwhile.
      if (o.stolen) return false;
      Object.assign(row, { status, error: out.error ?? null, outputPath: out.outputPath ?? null });
      return true;
    },
    byId: async () => ({ ...row }),
    prune: async () => [],
  } as unknown as RenderingRepo;
  const repos = {
    renderings,
    variants: {
      byId: async () => ({ id: 20, contentId: 10, key: 'k', name: 'default', isDefault: true, params: null, renderingId: null }),
      activate: o.activate ?? (async () => undefined),
    },
    content: { byId: async () => ({ id: 10, guid: 'g', name: 'n', title: 't', appMode: 'jupyter-static' }) },
    bundles: { byId: async () => ({ id: 30, built: true, appMode: 'jupyter-static', primaryFile: 'a.ipynb' }) },
  } as unknown as RenderRepos;
  const renderer: ReportRenderer = {
    render: o.render ?? (async () => ({ jobKey: 'j', outputPath: 'out/1', outputFile: 'index.html', metadata: null })),
    outputDir: () => null,
    discard: async (p) => void discarded.push(p),
    prune: async () => NOTHING_FREED,
  };
  const service = new RenderService(
    repos,
    {} as never,
    { bundleDir: () => '/nowhere', manifest: async () => ({}) } as never,
    renderer,
    { log: async () => undefined, finish: async (id: string, code: number) => void tasks.push([id, code]) } as never,
    { record: async () => undefined } as never,
    { serverId: SERVER, keepRenderings: 5, leaseSeconds: 60, maxConcurrent: 1, baseUrl: () => 'http://lectern.example' },
    () => new Date(1000),
    createLogger('silent'),
  );
  service.onFinished(async (f) => void told.push(f));
  const run = async () => {
    service.dispatch(row);
    await service.idle();
  };
  return { row, tasks, told, discarded, run };
}

describe('RenderService', () => {
  it('keeps a render that succeeded as a success when making it current fails afterwards', async () => {
    const h = harness({ activate: () => Promise.reject(new Error('database went away')) });
    await h.run();
    expect(h.row.status).toBe('succeeded');
    expect(h.tasks).toEqual([['task-1', 0]]);
    expect(h.told.map((f) => f.rendering.status)).toEqual(['succeeded']);
  });

  it('says nothing of a failed render that is no longer its own (whoever took it over reports it, once)', async () => {
    const h = harness({ render: () => Promise.reject(new Error('R crashed')), stolen: true });
    await h.run();
    expect(h.tasks).toEqual([]);
    expect(h.told).toEqual([]);
  });

  it('throws away the output of a success that is no longer its own', async () => {
    const h = harness({ stolen: true });
    await h.run();
    expect(h.discarded).toEqual(['out/1']);
    expect(h.tasks).toEqual([]);
    expect(h.told).toEqual([]);
  });

  it('reports a failed render once, to the task and to listeners', async () => {
    const h = harness({ render: () => Promise.reject(new Error('R crashed')) });
    await h.run();
    expect(h.row).toMatchObject({ status: 'failed', error: 'Unable to render: R crashed' });
    expect(h.tasks).toEqual([['task-1', 1]]);
    expect(h.told.map((f) => [f.rendering.status, f.logTail.at(-1)])).toEqual([['failed', 'Error: R crashed']]);
  });
});
