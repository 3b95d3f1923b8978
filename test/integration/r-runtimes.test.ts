import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tar from 'tar';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recipe as api } from '../../runtimes/app-modes/api.ts';
import { recipe as quartoStatic } from '../../runtimes/app-modes/quarto-static.ts';
import type { CommandSpec, RecipeContext } from '../../runtimes/app-modes/recipe.ts';
import { recipe as rmdShiny } from '../../runtimes/app-modes/rmd-shiny.ts';
import { recipe as rmdStatic } from '../../runtimes/app-modes/rmd-static.ts';
import { recipe as shiny } from '../../runtimes/app-modes/shiny.ts';
import type { RestoredEnvironment } from '../../runtimes/environments/environment.ts';
import { createRRestorer } from '../../runtimes/environments/r-env.ts';
import type { Interpreter } from '../../runtimes/interpreters.ts';
import { parseManifest, type Manifest } from '../../src/domain/manifest.ts';
import { FIXTURES } from '../helpers/bundles.ts';
import { launchChromium } from '../helpers/chromium.ts';
import { freePort, runCommand, startCommand } from '../helpers/run-command.ts';

// Real R, real packages, real processes. Nothing here skips: a server without R, Shiny,
// Plumber, R Markdown or pandoc fails these tests (see the beforeAll check).

const R: Interpreter = { language: 'r', path: '/usr/bin/R', version: '4.2.2' };
const UNMANAGED: RestoredEnvironment = { key: '', dir: null, reused: true, executable: R.path, env: {} };
const OFFLINE_CRAN = 'https://cloud.r-project.org';
const ROOT = process.getuid?.() === 0;
// As in production: as root, packages are installed as the account content runs as.
const RUN_AS = ROOT
  ? { uid: Number(execFileSync('id', ['-u', 'nobody'], { encoding: 'utf8' })), gid: Number(execFileSync('id', ['-g', 'nobody'], { encoding: 'utf8' })) }
  : null;

let scratch: string;

/** Content runs as an unprivileged account in production; as root, read-only means nothing. */
function asContentUser(spec: CommandSpec): CommandSpec {
  return ROOT ? { ...spec, argv: ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--', ...spec.argv] } : spec;
}

function newDir(prefix: string, mode = 0o755): string {
  const dir = mkdtempSync(path.join(scratch, prefix));
  chmodSync(dir, mode);
  return dir;
}

async function extract(fixture: string): Promise<{ dir: string; manifest: Manifest }> {
  const file = path.join(FIXTURES, fixture);
  if (!existsSync(file)) throw new Error(`fixture ${file} is missing`);
  const dir = newDir('bundle-');
  await tar.x({ file, cwd: dir });
  return { dir, manifest: parseManifest(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) };
}

/** A bundle directory from files, with an R manifest of the given mode. */
function writeBundle(files: Record<string, string>, metadata: Partial<Manifest['metadata']> & { appmode: string }): { dir: string; manifest: Manifest } {
  const dir = newDir('bundle-');
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), content);
  }
  const manifest = parseManifest(JSON.stringify({ version: 1, platform: '4.2.2', metadata, packages: {}, files: {} }));
  return { dir, manifest };
}

/** Makes a directory tree read-only for everyone (content runs as another user than root). */
function readOnly(dir: string) {
  execFileSync('chmod', ['-R', 'a-w', dir]);
}

function ctx(dir: string, manifest: Manifest, port: number, over: Partial<RecipeContext> = {}): RecipeContext {
  return {
    bundleDir: dir,
    primaryFile: manifest.metadata.primary_rmd ?? null,
    manifest,
    environment: UNMANAGED,
    host: '127.0.0.1',
    port,
    basePath: '/content/00000000-0000-0000-0000-000000000000/',
    outputDir: newDir('out-', 0o777),
    ...over,
  };
}

function collect() {
  const lines: string[] = [];
  return { lines, log: (l: string) => lines.push(l), text: () => lines.join('\n') };
}

function withPackage(manifest: Manifest, name: string, version: string): Manifest {
  const m = structuredClone(manifest);
  m.packages[name] = { Source: 'CRAN', Repository: null, description: { Package: name, Version: version } };
  return m;
}

beforeAll(() => {
  scratch = mkdtempSync(path.join(os.tmpdir(), 'lectern-r-runtimes-'));
  chmodSync(scratch, 0o755);
  // Fail loudly, with the fix, when the machine lacks what these tests run.
  if (!existsSync('/usr/bin/Rscript'))
    throw new Error('R is not installed: apt-get install r-base-core r-cran-shiny r-cran-plumber r-cran-rmarkdown r-cran-knitr pandoc');
  const have = execFileSync(
    '/usr/bin/Rscript',
    ['-e', 'cat(sapply(c("shiny","plumber","rmarkdown","knitr"), function(p) nzchar(system.file(package = p))), rmarkdown::pandoc_available())'],
    { encoding: 'utf8' },
  );
  if (have.trim() !== 'TRUE TRUE TRUE TRUE TRUE')
    throw new Error(
      `R packages or pandoc missing (shiny plumber rmarkdown knitr pandoc: ${have}): apt-get install r-cran-shiny r-cran-plumber r-cran-rmarkdown r-cran-knitr pandoc`,
    );
});

afterAll(() => {
  if (scratch) {
    execFileSync('chmod', ['-R', 'u+w', scratch]);
    rmSync(scratch, { recursive: true, force: true });
  }
});

describe('R environment restorer', () => {
  it('restores the r-shiny fixture with management on and nothing to install (Debian has every package)', async () => {
    const { dir, manifest } = await extract('r-shiny.tar.gz');
    const restorer = createRRestorer({ envRoot: newDir('envs-'), repository: OFFLINE_CRAN, runAs: RUN_AS });
    const out = collect();
    const started = Date.now();
    const env = await restorer.restore({ interpreter: R, bundleDir: dir, manifest, managed: true, log: out.log });
    const ms = Date.now() - started;
    expect(out.text()).toContain("All 31 R packages are installed in the server's library");
    expect(env).toMatchObject({ dir: null, reused: true, executable: R.path, env: {} });
    expect(env.key).toMatch(/^[0-9a-f]{16}$/);
    expect(ms).toBeLessThan(5000);
  });

  it('fails on a package that exists nowhere, naming it and the unreachable repository, without hanging', async () => {
    const { dir, manifest } = await extract('r-shiny.tar.gz');
    const restorer = createRRestorer({
      envRoot: newDir('envs-'),
      repository: OFFLINE_CRAN,
      downloadTimeoutSeconds: 10,
      installTimeoutMs: 60_000,
      runAs: RUN_AS,
    });
    const out = collect();
    const started = Date.now();
    const err = await restorer.restore({ interpreter: R, bundleDir: dir, manifest: withPackage(manifest, 'notapkg', '1.0'), managed: true, log: out.log }).then(
      () => null,
      (e: Error) => e,
    );
    expect(err).toBeInstanceOf(Error);
    expect(err!.message).toContain('notapkg 1.0: not installed');
    expect(err!.message).toContain(`The repository ${OFFLINE_CRAN} could not be reached`);
    expect(err!.message).toContain('apt-get install r-cran-notapkg');
    expect(err!.message).toContain('environment management off');
    // Only notapkg: the 31 Debian packages are fine.
    expect(err!.message).not.toMatch(/shiny \d/);
    expect(Date.now() - started).toBeLessThan(30_000);
    // The output of R's attempt is in the deploy log.
    expect(out.text()).toContain('Installing 1 R package from https://cloud.r-project.org');
  });

  it('reports a version mismatch clearly: exact versions, as Connect', async () => {
    const { dir, manifest } = await extract('r-shiny.tar.gz');
    const restorer = createRRestorer({ envRoot: newDir('envs-'), repository: OFFLINE_CRAN, downloadTimeoutSeconds: 10, runAs: RUN_AS });
    const err = await restorer
      .restore({ interpreter: R, bundleDir: dir, manifest: withPackage(manifest, 'shiny', '0.1.0'), managed: true, log: () => {} })
      .then(
        () => null,
        (e: Error) => e,
      );
    expect(err?.message).toMatch(/shiny 0\.1\.0: 1\.7\.4 is installed \(newer\) in \/usr\/lib\/R\/site-library/);
    expect(err?.message).toContain(OFFLINE_CRAN);
  });

  it('never fails with management off: it warns about what is missing and uses the library as it is', async () => {
    const { dir, manifest } = await extract('r-shiny.tar.gz');
    const restorer = createRRestorer({ envRoot: newDir('envs-'), repository: OFFLINE_CRAN, runAs: RUN_AS });
    const out = collect();
    const m = withPackage(withPackage(manifest, 'notapkg', '1.0'), 'shiny', '0.1.0');
    const env = await restorer.restore({ interpreter: R, bundleDir: dir, manifest: m, managed: false, log: out.log });
    expect(env).toMatchObject({ key: '', dir: null, reused: true, executable: R.path, env: {} });
    // What it runs with: the library's shiny, not the manifest's version; nothing for what is missing.
    expect(env.inventory).toMatchObject({ language: 'R', languageVersion: R.version, managed: false });
    const names = env.inventory!.packages.map((p) => p.name);
    expect(names).toContain('shiny');
    expect(names).not.toContain('notapkg');
    expect(env.inventory!.packages.find((p) => p.name === 'shiny')!.version).not.toBe('0.1.0');
    expect(out.text()).toContain('R environment management is off');
    expect(out.text()).toMatch(/Warning: 2 R packages .* missing or at another version/);
    expect(out.text()).toContain('notapkg 1.0: not installed');
  });

  it('names the path and the Debian package when R is not installed', async () => {
    const { dir, manifest } = await extract('r-shiny.tar.gz');
    const restorer = createRRestorer({ envRoot: newDir('envs-'), repository: OFFLINE_CRAN, runAs: RUN_AS });
    const missing: Interpreter = { ...R, path: '/opt/no-such-r/bin/R' };
    for (const managed of [true, false]) {
      await expect(restorer.restore({ interpreter: missing, bundleDir: dir, manifest, managed, log: () => {} })).rejects.toThrow(
        /R is not installed at \/opt\/no-such-r\/bin\/R.*apt-get install r-base-core/s,
      );
    }
  });

  describe('with a reachable repository (a local CRAN-like one)', () => {
    let repo: string;
    beforeAll(() => {
      // lecternpkg 0.2.0 is current; 0.1.0 is in the archive, as CRAN keeps old releases.
      repo = newDir('repo-');
      const script = `
        mk <- function(version, dest) {
          src <- file.path(tempdir(), version, "lecternpkg")
          dir.create(file.path(src, "R"), recursive = TRUE)
          writeLines(c("Package: lecternpkg", paste("Version:", version), "Title: Test Package",
            "Description: A package for Lectern's tests.", "License: MIT",
            "Authors@R: person('A', 'B', email = 'a@example.com', role = c('aut', 'cre'))"), file.path(src, "DESCRIPTION"))
          writeLines("export(hello)", file.path(src, "NAMESPACE"))
          writeLines(sprintf("hello <- function() '%s'", version), file.path(src, "R", "hello.R"))
          dir.create(dest, recursive = TRUE, showWarnings = FALSE)
          old <- setwd(dest); on.exit(setwd(old))
          stopifnot(system2(file.path(R.home("bin"), "R"), c("CMD", "build", "--no-manual", shQuote(src))) == 0)
        }
        repo <- commandArgs(TRUE)[1]
        mk("0.2.0", file.path(repo, "src/contrib"))
        mk("0.1.0", file.path(repo, "src/contrib/Archive/lecternpkg"))
        tools::write_PACKAGES(file.path(repo, "src/contrib"), type = "source")
      `;
      execFileSync('/usr/bin/Rscript', ['-e', script, repo], { stdio: 'pipe' });
    });

    it('installs a missing package once for concurrent restores, at the exact (archived) version, then reuses it', async () => {
      const { dir, manifest } = await extract('r-shiny.tar.gz');
      const envRoot = newDir('envs-');
      const restorer = createRRestorer({ envRoot, repository: `file://${repo}`, runAs: RUN_AS });
      const m = withPackage(manifest, 'lecternpkg', '0.1.0');
      const a = collect();
      const b = collect();
      const [ea, eb] = await Promise.all([
        restorer.restore({ interpreter: R, bundleDir: dir, manifest: m, managed: true, log: a.log }),
        restorer.restore({ interpreter: R, bundleDir: dir, manifest: m, managed: true, log: b.log }),
      ]);
      expect(ea).toEqual(eb);
      expect(ea.reused).toBe(false);
      expect(ea.dir).toBe(path.join(envRoot, ea.key));
      expect(ea.env).toEqual({ R_LIBS: ea.dir });
      const installs = [...a.lines, ...b.lines].filter((l) => l.startsWith('Installing 1 R package'));
      expect(installs).toHaveLength(1);
      expect(a.text() + b.text()).toContain('from the repository');
      expect(a.text() + b.text()).toContain('Waiting for another deploy');

      // A process in the environment loads the archived version, and as the content user.
      const run = await runCommand(
        asContentUser({ argv: ['/usr/bin/Rscript', '-e', 'cat(lecternpkg::hello())'], env: { ...ea.env, R_LIBS_USER: 'NULL' }, cwd: dir }),
      );
      expect(run.output).toBe('0.1.0');

      const c = collect();
      const started = Date.now();
      const again = await restorer.restore({ interpreter: R, bundleDir: dir, manifest: m, managed: true, log: c.log });
      expect(again).toMatchObject({ key: ea.key, dir: ea.dir, reused: true });
      expect(c.text()).toContain(`Reusing R environment ${ea.key}`);
      expect(c.text()).not.toContain('Installing');
      expect(Date.now() - started).toBeLessThan(5000);
    });

    it('installs the current version, with a warning, when the required one is nowhere', async () => {
      const { dir, manifest } = await extract('r-plumber.tar.gz');
      const restorer = createRRestorer({ envRoot: newDir('envs-'), repository: `file://${repo}`, runAs: RUN_AS });
      const out = collect();
      const env = await restorer.restore({
        interpreter: R,
        bundleDir: dir,
        manifest: withPackage(manifest, 'lecternpkg', '9.9.9'),
        managed: true,
        log: out.log,
      });
      expect(env.reused).toBe(false);
      expect(out.text()).toContain(`Warning: lecternpkg 9.9.9 is not in file://${repo}; installed 0.2.0 instead.`);
    });
  });
});

describe('R recipes, run for real', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('shiny: serves the r-shiny fixture', async () => {
    const { dir, manifest } = await extract('r-shiny.tar.gz');
    const port = await freePort();
    const c = ctx(dir, manifest, port, { primaryFile: 'app.R' });
    const started = Date.now();
    const app = await startCommand(asContentUser(shiny.command(c)), port, shiny.readinessPath);
    const startMs = Date.now() - started;
    try {
      const res = await fetch(app.url + '/');
      expect(res.status).toBe(200);
      const html = await res.text();
      expect(html).toContain('Hello Shiny');
      expect(html).toMatch(/shiny(\.min)?\.js/);
      expect(startMs).toBeLessThan(20_000);
      // The session over Shiny's WebSocket: the server computes 50 * 2.
      const page = await browser.newPage();
      await page.goto(app.url + '/');
      await page.waitForFunction(() => document.querySelector('#out')?.textContent === '100', undefined, { timeout: 15_000 });
      await page.close();
    } finally {
      await app.stop();
    }
  });

  it('api: the r-plumber fixture answers GET /echo?msg=hi', async () => {
    const { dir, manifest } = await extract('r-plumber.tar.gz');
    readOnly(dir);
    const port = await freePort();
    const app = await startCommand(asContentUser(api.command(ctx(dir, manifest, port))), port, api.readinessPath);
    try {
      const res = await fetch(app.url + '/echo?msg=hi');
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toContain('application/json');
      expect(await res.json()).toEqual({ msg: ["The message is: 'hi'"] });
    } finally {
      await app.stop();
    }
  });

  it('rmd-static: renders the r-rmd-static fixture from a read-only bundle into index.html', async () => {
    const { dir, manifest } = await extract('r-rmd-static.tar.gz');
    readOnly(dir);
    const c = ctx(dir, manifest, 0);
    const spec = rmdStatic.command(c);
    expect(spec.output).toBe('index.html');
    const started = Date.now();
    const run = await runCommand(asContentUser(spec));
    const ms = Date.now() - started;
    expect(run.code, run.output).toBe(0);
    const html = readFileSync(path.join(c.outputDir, 'index.html'), 'utf8');
    expect(html).toContain('Quarterly report');
    // summary(cars) printed by knitr.
    expect(html).toMatch(/speed/);
    expect(html).toMatch(/Min\. *: *4\.0/);
    expect(ms).toBeLessThan(30_000);
  });

  it('rmd-static: a parameterised report with figures and a chunk that writes files renders from a read-only bundle', async () => {
    const rmd = [
      '---',
      'title: "Params"',
      'output:',
      '  html_document:',
      '    self_contained: false',
      'params:',
      '  n: 7',
      '---',
      '',
      '```{r}',
      'data <- read.csv("data/points.csv")',
      'write.csv(data, "copy.csv")',
      'cat("rows:", nrow(data), "n:", params$n, "\\n")',
      'plot(seq_len(params$n))',
      '```',
      '',
    ].join('\n');
    const { dir, manifest } = writeBundle(
      { 'doc.Rmd': rmd, 'data/points.csv': 'x,y\n1,2\n3,4\n' },
      { appmode: 'rmd-static', primary_rmd: 'doc.Rmd', has_parameters: true },
    );
    readOnly(dir);
    const c = ctx(dir, manifest, 0);
    const run = await runCommand(asContentUser(rmdStatic.command(c)));
    expect(run.code, run.output).toBe(0);
    const html = readFileSync(path.join(c.outputDir, 'index.html'), 'utf8');
    expect(html).toContain('rows: 2 n: 7');
    expect(html).toMatch(/index_files\/figure-html\/[^"]+\.png/);
    expect(existsSync(path.join(dir, 'copy.csv'))).toBe(false);
  });

  it('rmd-static: a chunk that fails makes the render exit non-zero with its message', async () => {
    const { dir, manifest } = writeBundle(
      { 'fail.Rmd': '---\ntitle: "Fail"\n---\n\n```{r}\nstop("boom")\n```\n' },
      { appmode: 'rmd-static', primary_rmd: 'fail.Rmd' },
    );
    readOnly(dir);
    const c = ctx(dir, manifest, 0);
    const run = await runCommand(asContentUser(rmdStatic.command(c)));
    expect(run.code).not.toBe(0);
    expect(run.output).toContain('boom');
  });

  it('rmd-shiny: serves R Markdown with runtime: shiny and shiny_prerendered from a read-only bundle', async () => {
    const docs = {
      // Rendered per session over the WebSocket.
      shiny: '---\ntitle: "Interactive"\nruntime: shiny\noutput: html_document\n---\n\n```{r}\nsliderInput("n", "N", 1, 10, 5)\nrenderText(input$n)\n```\n',
      // Rendered once, next to the document: needs the writable copy.
      shiny_prerendered:
        '---\ntitle: "Interactive"\nruntime: shiny_prerendered\noutput: html_document\n---\n\n```{r}\nsliderInput("n", "N", 1, 10, 5)\ntextOutput("t")\n```\n\n```{r, context="server"}\noutput$t <- renderText(input$n)\n```\n',
    };
    for (const [runtime, rmd] of Object.entries(docs)) {
      const { dir, manifest } = writeBundle({ 'index.Rmd': rmd }, { appmode: 'rmd-shiny', primary_rmd: 'index.Rmd' });
      readOnly(dir);
      const port = await freePort();
      const app = await startCommand(asContentUser(rmdShiny.command(ctx(dir, manifest, port))), port, rmdShiny.readinessPath);
      try {
        expect((await fetch(app.url + '/')).status).toBe(200);
        const page = await browser.newPage();
        await page.goto(app.url + '/');
        await page
          .waitForFunction(
            () => document.querySelector('h1.title')?.textContent === 'Interactive' && document.querySelector('.shiny-text-output')?.textContent === '5',
            undefined,
            { timeout: 20_000 },
          )
          .catch((err: Error) => {
            throw new Error(`${runtime}: ${err.message}\n${app.output()}`);
          });
        await page.close();
      } finally {
        await app.stop();
      }
    }
  });

  it('shiny: an app that fails at start exits before listening, with its message', async () => {
    const { dir, manifest } = writeBundle({ 'app.R': 'stop("crash")\n' }, { appmode: 'shiny' });
    const port = await freePort();
    await expect(startCommand(asContentUser(shiny.command(ctx(dir, manifest, port, { primaryFile: 'app.R' }))), port, '/', 30_000)).rejects.toThrow(
      /exited with 1 before listening[\s\S]*crash/,
    );
  });

  it('quarto-static: runs quarto from a writable copy of a read-only bundle (a stand-in quarto binary)', async () => {
    // No Quarto on this machine: a script that behaves like `quarto render` where it matters
    // (writes beside its input, then into --output-dir) proves the command and the copy.
    const bin = newDir('quarto-');
    const fake = path.join(bin, 'quarto');
    writeFileSync(
      fake,
      '#!/bin/sh\nset -e\n[ "$1" = render ] || exit 9\ndoc=$2; shift 2\nwhile [ $# -gt 0 ]; do case $1 in --output-dir) out=$2; shift 2;; --output) name=$2; shift 2;; *) shift;; esac; done\n' +
        'mkdir -p .quarto "${doc%.qmd}_files"\necho "<h1>$(cat "$doc")</h1><p>R=$QUARTO_R</p>" > "$out/$name"\n',
    );
    chmodSync(fake, 0o755);
    const { dir, manifest } = writeBundle({ 'report.qmd': 'quarto body' }, { appmode: 'quarto-static', primary_rmd: 'report.qmd' });
    readOnly(dir);
    const c = ctx(dir, manifest, 0, { environment: { ...UNMANAGED, env: { QUARTO_PATH: fake } } });
    const spec = quartoStatic.command(c);
    const run = await runCommand(asContentUser(spec));
    expect(run.code, run.output).toBe(0);
    expect(readFileSync(path.join(c.outputDir, spec.output), 'utf8')).toBe('<h1>quarto body</h1><p>R=/usr/bin/Rscript</p>\n');
    expect(existsSync(path.join(dir, '.quarto'))).toBe(false);
  });
});
