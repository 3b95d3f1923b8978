import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { recipeFor } from '../../runtimes/app-modes/index.ts';
import type { RenderedRecipe } from '../../runtimes/app-modes/recipe.ts';
import { createBundleBuilder } from '../../runtimes/bundle-builder.ts';
import { ContentRunner } from '../../runtimes/content-runner.ts';
import type { RenderItem } from '../../runtimes/rendering/renderer.ts';
import type { Instance, RunSpec, RuntimeBackend } from '../../runtimes/backend.ts';
import type { ProcessVariables } from '../../src/domain/deploy.ts';

const GUID = '00000000-0000-4000-8000-000000000002';

type RunResult = { exitCode: number | null; timedOut: boolean };

/** A backend whose render is a function of the test's: it writes into the output mount. */
function fakeBackend(render: (spec: RunSpec) => RunResult) {
  const runs: RunSpec[] = [];
  const backend: RuntimeBackend = {
    prepare: vi.fn(async () => ({ interpreter: null, environment: { key: '', dir: null, reused: true, executable: '/usr/bin/R', env: {} } })),
    listenAddress: async () => ({ host: '127.0.0.1', port: 0 }),
    start: async () => {
      throw new Error('no serving in this test');
    },
    stop: async () => undefined,
    run: async (spec) => {
      runs.push(spec);
      return render(spec);
    },
    list: async () => [] as Instance[],
    logs: async () => [],
    discard: async () => undefined,
    onExit: () => undefined,
    recover: async () => ({ adopted: [], warnings: [] }),
    shutdown: async () => undefined,
  };
  return { backend, runs };
}

let dir: string;
let released: string[];
const processEnv: ProcessVariables = {
  forContent: async (_guid, key) => ({ env: { CONNECT_API_KEY: `key-${key}` }, release: async () => void released.push(key) }),
};

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'lectern-render-'));
  released = [];
});
afterEach(() => {
  vi.restoreAllMocks();
  rmSync(dir, { recursive: true, force: true });
});

function runnerOver(backend: RuntimeBackend, renderTimeoutSeconds = 30) {
  return new ContentRunner(backend, processEnv, {
    rendersDir: path.join(dir, 'renders'),
    quartoPath: undefined,
    defaults: { initTimeoutSeconds: 5, renderTimeoutSeconds, pythonManaged: true, rManaged: true },
    outputOwner: null,
  });
}

function item(bundleId = 1): RenderItem {
  return {
    contentGuid: GUID,
    bundleId,
    appMode: 'rmd-static',
    primaryFile: 'report.Rmd',
    bundleDir: path.join(dir, 'bundle'),
    manifest: { version: 1, metadata: { appmode: 'rmd-static', primary_rmd: 'report.Rmd' } } as RenderItem['manifest'],
    settings: { initTimeoutSeconds: null, pythonEnvironmentManagement: null, rEnvironmentManagement: null, memoryLimit: null, cpuLimit: null, imageName: null },
  };
}

const writesReport = (spec: RunSpec): RunResult => {
  const out = spec.mounts.outputDir!;
  writeFileSync(path.join(out, 'index.html'), '<h1>report</h1>');
  mkdirSync(path.join(out, 'figures'));
  writeFileSync(path.join(out, 'figures', 'plot.png'), 'png');
  return { exitCode: 0, timedOut: false };
};

const mode = (p: string) => statSync(p).mode & 0o777;

describe('the render entry point', () => {
  it("publishes what the render wrote, sealed as the server's, and says what it rendered", async () => {
    const { backend, runs } = fakeBackend(writesReport);
    const runner = runnerOver(backend);
    const lines: string[] = [];
    const rendered = await runner.rendering.render(item(), null, {}, (l) => lines.push(l));
    expect(rendered.outputFile).toBe('index.html');
    expect(rendered.jobKey).toMatch(/^render-/);
    expect(rendered.outputDir).toBe(path.join(dir, 'renders', GUID, '1', rendered.jobKey));
    expect(readFileSync(path.join(rendered.outputDir, 'index.html'), 'utf8')).toBe('<h1>report</h1>');
    expect(mode(rendered.outputDir)).toBe(0o700);
    expect(mode(path.join(rendered.outputDir, 'figures'))).toBe(0o700);
    expect(mode(path.join(rendered.outputDir, 'figures', 'plot.png'))).toBe(0o600);
    expect(mode(path.join(rendered.outputDir, 'index.html'))).toBe(0o600);
    // The render ran as its own job, with its own process key, released when it ended.
    expect(runs[0]!.key).toBe(rendered.jobKey);
    expect(runs[0]!.env.CONNECT_API_KEY).toBe(`key-${rendered.jobKey}`);
    expect(runs[0]!.timeoutMs).toBe(30_000);
    expect(released).toEqual([rendered.jobKey]);
    expect(lines).toContain('Rendered index.html.');
    expect(await runner.renderDir(GUID, 1)).toBe(rendered.outputDir);
  });

  it('removes anything but regular files and directories from the output', async () => {
    const { backend } = fakeBackend((spec) => {
      writesReport(spec);
      symlinkSync('/etc/passwd', path.join(spec.mounts.outputDir!, 'figures', 'secret'));
      return { exitCode: 0, timedOut: false };
    });
    const lines: string[] = [];
    const rendered = await runnerOver(backend).rendering.render(item(), null, {}, (l) => lines.push(l));
    expect(readdirSync(path.join(rendered.outputDir, 'figures'))).toEqual(['plot.png']);
    expect(lines.some((l) => l.startsWith('Removed secret from the output'))).toBe(true);
  });

  it('throws a readable reason for a timeout, leaving nothing published', async () => {
    const { backend } = fakeBackend(() => ({ exitCode: null, timedOut: true }));
    const runner = runnerOver(backend, 7);
    await expect(runner.rendering.render(item(), null, {})).rejects.toThrow('The render did not finish within 7 s and was stopped.');
    expect(readdirSync(path.join(dir, 'renders', GUID, '1'))).toEqual([]);
    expect(await runner.renderDir(GUID, 1)).toBeNull();
    expect(released).toHaveLength(1);
  });

  it('throws a readable reason for a non-zero exit, and for a missing output', async () => {
    const failing = runnerOver(fakeBackend(() => ({ exitCode: 3, timedOut: false })).backend);
    await expect(failing.rendering.render(item(), null, {})).rejects.toThrow('The render failed with exit code 3; see the output above.');
    const silent = runnerOver(fakeBackend(() => ({ exitCode: 0, timedOut: false })).backend);
    await expect(silent.rendering.render(item(), null, {})).rejects.toThrow('The render finished but wrote no index.html.');
    expect(released).toHaveLength(2);
  });

  it('refuses content that is not rendered', async () => {
    const runner = runnerOver(fakeBackend(writesReport).backend);
    await expect(runner.rendering.render({ ...item(), appMode: 'python-fastapi' }, null, {})).rejects.toThrow('python-fastapi content is not rendered.');
  });

  it("with a null variant, lands where the deploy's render lands, and the newest is served", async () => {
    const { backend } = fakeBackend(writesReport);
    const runner = runnerOver(backend);
    const lines: string[] = [];
    await createBundleBuilder(runner).build({ ...item(), draft: false, log: (l) => lines.push(l) });
    const deployed = await runner.renderDir(GUID, 1);
    expect(deployed).not.toBeNull();
    expect(path.dirname(deployed!)).toBe(path.join(dir, 'renders', GUID, '1'));
    expect(lines.some((l) => l.startsWith('Rendering report.Rmd as job render-'))).toBe(true);
    await new Promise((r) => setTimeout(r, 5));
    const again = await runner.rendering.render(item(), null, {});
    expect(path.dirname(again.outputDir)).toBe(path.dirname(deployed!));
    expect(await runner.renderDir(GUID, 1)).toBe(again.outputDir);
  });

  it('keeps a named variant apart from the default render', async () => {
    const runner = runnerOver(fakeBackend(writesReport).backend);
    const def = await runner.rendering.render(item(), null, {});
    const weekly = await runner.rendering.render(item(), 'weekly', {});
    expect(weekly.outputDir).toBe(path.join(dir, 'renders', GUID, '1', 'variants', 'weekly', weekly.jobKey));
    expect(await runner.renderDir(GUID, 1)).toBe(def.outputDir);
    expect(await runner.rendering.renderDir(GUID, 1, { key: 'weekly' })).toBe(weekly.outputDir);
    await expect(runner.rendering.render(item(), '../escape', {})).rejects.toThrow('cannot name a render variant');
    expect(existsSync(path.join(dir, 'renders', GUID, 'escape'))).toBe(false);
  });

  it('passes the parameters into the recipe context (none at deploy)', async () => {
    const recipe = recipeFor('rmd-static') as RenderedRecipe;
    const command = vi.spyOn(recipe, 'command');
    const runner = runnerOver(fakeBackend(writesReport).backend);
    await runner.rendering.render(item(), null, { region: 'north' });
    expect(command.mock.calls[0]![0].params).toEqual({ region: 'north' });
    await createBundleBuilder(runner).build({ ...item(), draft: false, log: () => undefined });
    expect(command.mock.calls[1]![0].params).toBeUndefined();
  });

  it('prepares the environment once per bundle, and afresh at each deploy', async () => {
    const { backend } = fakeBackend(writesReport);
    const runner = runnerOver(backend);
    await runner.rendering.render(item(), null, {});
    await runner.rendering.render(item(), null, {});
    expect(backend.prepare).toHaveBeenCalledTimes(1);
    await createBundleBuilder(runner).build({ ...item(), draft: false, log: () => undefined });
    expect(backend.prepare).toHaveBeenCalledTimes(2);
  });
});
