import { describe, expect, it } from 'vitest';
import { recipe as api } from '../../runtimes/app-modes/api.ts';
import { recipe as quartoShiny } from '../../runtimes/app-modes/quarto-shiny.ts';
import { recipe as quartoStatic } from '../../runtimes/app-modes/quarto-static.ts';
import type { RecipeContext } from '../../runtimes/app-modes/recipe.ts';
import { recipe as rmdShiny } from '../../runtimes/app-modes/rmd-shiny.ts';
import { recipe as rmdStatic } from '../../runtimes/app-modes/rmd-static.ts';
import { recipe as shiny } from '../../runtimes/app-modes/shiny.ts';
import {
  compareRVersions,
  describeRPlanProblems,
  installedFromDescription,
  invalidRPackageSpecs,
  parseDcf,
  parseRLibraryListing,
  planIsSatisfied,
  planRLibrary,
  rEnvironmentKey,
  rPackageRequirements,
  type RLibraryState,
} from '../../runtimes/environments/r-packages.ts';
import { rCode, rscriptFor } from '../../runtimes/environments/r-scripts.ts';
import type { Interpreter } from '../../runtimes/interpreters.ts';
import { parseManifest, type Manifest } from '../../src/domain/manifest.ts';

const R: Interpreter = { language: 'r', path: '/usr/bin/R', version: '4.2.2' };

const pkg = (version: string, extra: Record<string, unknown> = {}) => ({ Source: 'CRAN', Repository: null, description: { Version: version, ...extra } });

function manifest(packages: Record<string, unknown>, metadata: Record<string, unknown> = { appmode: 'shiny' }): Manifest {
  return parseManifest(JSON.stringify({ version: 1, platform: '4.2.2', metadata, packages, files: {} }));
}

const LISTING = [
  'R\t4.2.2',
  'LIB\t/env/lib',
  'LIB\t/usr/lib/R/site-library',
  'LIB\t/usr/lib/R/library',
  'PKG\tlecternpkg\t0.1.0\t\t/env/lib',
  'PKG\tshiny\t1.7.4\t\t/usr/lib/R/site-library',
  'PKG\tlecternpkg\t0.2.0\t\t/usr/lib/R/site-library',
  'PKG\tMatrix\t1.5-3\trecommended\t/usr/lib/R/library',
  'PKG\tstats\t4.2.2\tbase\t/usr/lib/R/library',
  'PKG\tR6\t2.5.1\t\t/usr/lib/R/site-library',
  '',
].join('\n');

describe('R package requirements', () => {
  it('reads name, description.Version, Source and a null Repository; ignores entries that are not records', () => {
    const reqs = rPackageRequirements(manifest({ shiny: pkg('1.7.4'), R6: { Source: 'github', Repository: 'https://x', description: {} }, junk: 'x' }));
    expect(reqs).toEqual([
      { name: 'R6', version: null, source: 'github', repository: 'https://x', priority: null },
      { name: 'shiny', version: '1.7.4', source: 'CRAN', repository: null, priority: null },
    ]);
  });

  it('treats packages: null (static content) as none', () => {
    expect(rPackageRequirements(manifest(null as unknown as Record<string, unknown>))).toEqual([]);
  });

  it('parses what installed-packages.R prints, keeping every copy in search order', () => {
    const s = parseRLibraryListing(LISTING);
    expect(s.rVersion).toBe('4.2.2');
    expect(s.libPaths).toEqual(['/env/lib', '/usr/lib/R/site-library', '/usr/lib/R/library']);
    expect(s.packages).toHaveLength(6);
    expect(s.packages[3]).toEqual({ name: 'Matrix', version: '1.5-3', priority: 'recommended', libPath: '/usr/lib/R/library' });
  });
});

describe('planRLibrary: exact versions, as Connect', () => {
  const state: RLibraryState = parseRLibraryListing(LISTING);

  it('is satisfied by exactly the recorded versions', () => {
    const plan = planRLibrary(rPackageRequirements(manifest({ shiny: pkg('1.7.4'), R6: pkg('2.5.1') })), state);
    expect(planIsSatisfied(plan)).toBe(true);
    expect(plan.required.map((r) => r.name)).toEqual(['R6', 'shiny']);
  });

  it('counts a newer or an older installed version as a mismatch, and says which', () => {
    const plan = planRLibrary(rPackageRequirements(manifest({ shiny: pkg('0.1.0'), R6: pkg('2.9.0'), notapkg: pkg('1.0') })), state);
    expect(plan.missing.map((r) => r.name)).toEqual(['notapkg']);
    expect(plan.mismatched.map((m) => m.requirement.name)).toEqual(['R6', 'shiny']);
    expect(describeRPlanProblems(plan)).toEqual([
      'notapkg 1.0: not installed',
      'R6 2.9.0: 2.5.1 is installed (older) in /usr/lib/R/site-library',
      'shiny 0.1.0: 1.7.4 is installed (newer) in /usr/lib/R/site-library',
    ]);
  });

  it('skips base packages and accepts any version of a recommended one that is installed', () => {
    const plan = planRLibrary(
      rPackageRequirements(manifest({ stats: pkg('4.1.0'), grid: pkg('4.1.0'), Matrix: pkg('1.4-1', { Priority: 'recommended' }) })),
      state,
    );
    expect(plan.skipped).toEqual(['grid', 'stats']);
    expect(plan.required.map((r) => r.name)).toEqual(['Matrix']);
    expect(planIsSatisfied(plan)).toBe(true);
  });

  it('a recommended package that is not installed at all is missing', () => {
    const plan = planRLibrary(rPackageRequirements(manifest({ lattice: pkg('0.20-45', { Priority: 'recommended' }) })), state);
    expect(plan.missing.map((r) => r.name)).toEqual(['lattice']);
  });

  it('the first library on the search path wins, and one library can be left out', () => {
    const reqs = rPackageRequirements(manifest({ lecternpkg: pkg('0.1.0') }));
    expect(planIsSatisfied(planRLibrary(reqs, state))).toBe(true);
    const without = planRLibrary(reqs, state, '/env/lib');
    expect(without.mismatched[0]?.installed.version).toBe('0.2.0');
  });

  it('a requirement without a version is met by any installed version', () => {
    expect(planIsSatisfied(planRLibrary([{ name: 'shiny', version: null, source: null, repository: null, priority: null }], state))).toBe(true);
  });

  it('compares R versions numerically, with - and . alike', () => {
    expect(compareRVersions('1.0-3', '1.0.10')).toBeLessThan(0);
    expect(compareRVersions('0.1-3', '0.1.3')).toBe(0);
    expect(compareRVersions('1.10', '1.9')).toBeGreaterThan(0);
    expect(compareRVersions('1.2.0.1', '1.2.0')).toBeGreaterThan(0);
  });
});

describe('rEnvironmentKey', () => {
  const reqs = rPackageRequirements(manifest({ shiny: pkg('1.7.4'), R6: pkg('2.5.1'), stats: pkg('4.2.2') }));
  const key = rEnvironmentKey(R, reqs, 'https://cloud.r-project.org');

  it('is 16 hex characters, stable, and independent of order and of base packages', () => {
    expect(key).toMatch(/^[0-9a-f]{16}$/);
    const reordered = rPackageRequirements(manifest({ R6: pkg('2.5.1'), shiny: pkg('1.7.4') }));
    expect(rEnvironmentKey(R, reordered, 'https://cloud.r-project.org')).toBe(key);
  });

  it('changes with a package version, the repository, the R path or version', () => {
    const other = rPackageRequirements(manifest({ shiny: pkg('1.7.5'), R6: pkg('2.5.1') }));
    expect(rEnvironmentKey(R, other, 'https://cloud.r-project.org')).not.toBe(key);
    expect(rEnvironmentKey(R, reqs, 'https://packagemanager.example/cran')).not.toBe(key);
    expect(rEnvironmentKey({ ...R, path: '/opt/R/4.2.2/bin/R' }, reqs, 'https://cloud.r-project.org')).not.toBe(key);
    expect(rEnvironmentKey({ ...R, version: '4.3.1' }, reqs, 'https://cloud.r-project.org')).not.toBe(key);
  });
});

describe('R launch code', () => {
  it('drops comment lines and fits in Rscript -e (about 10,000 characters)', () => {
    for (const names of [
      ['installed-packages'],
      ['install-packages'],
      ['run-shiny'],
      ['run-plumber'],
      ['work-copy', 'render-rmd'],
      ['work-copy', 'run-rmd-shiny'],
    ]) {
      const code = rCode(...names);
      expect(code.length).toBeGreaterThan(50);
      expect(code.length).toBeLessThan(8000);
      expect(code.split('\n').some((l) => l.trimStart().startsWith('#'))).toBe(false);
      // Rscript encodes spaces in -e code as ~+~.
      expect(code).not.toContain('~+~');
    }
  });

  it('finds Rscript beside R', () => {
    expect(rscriptFor('/usr/bin/R')).toBe('/usr/bin/Rscript');
    expect(rscriptFor('/opt/R/4.3.1/bin/R')).toBe('/opt/R/4.3.1/bin/Rscript');
  });
});

describe('R recipes: commands', () => {
  function ctx(metadata: Record<string, unknown>, over: Partial<RecipeContext> = {}): RecipeContext {
    return {
      bundleDir: '/data/bundles/g/1',
      primaryFile: (metadata.primary_rmd as string | undefined) ?? null,
      manifest: manifest({}, metadata),
      environment: { key: 'k', dir: '/data/envs/r/k', reused: true, executable: '/opt/R/4.2.2/bin/R', env: { R_LIBS: '/data/envs/r/k' } },
      host: '127.0.0.1',
      port: 40123,
      basePath: '/content/g/',
      outputDir: '/data/renders/g/1',
      ...over,
    };
  }

  it('shiny: Rscript of the environment runs the bundle directory, or a single-file app by name', () => {
    const spec = shiny.command(ctx({ appmode: 'shiny' }, { primaryFile: 'app.R' }));
    expect(spec.argv[0]).toBe('/opt/R/4.2.2/bin/Rscript');
    expect(spec.argv[1]).toBe('-e');
    expect(spec.argv[2]).toContain('shiny::runApp');
    expect(spec.argv.slice(3)).toEqual(['.', '127.0.0.1', '40123']);
    expect(spec.cwd).toBe('/data/bundles/g/1');
    expect(spec.env).toEqual({ R_LIBS: '/data/envs/r/k', R_LIBS_USER: 'NULL', LANG: 'C.UTF-8', RENV_CONFIG_AUTOLOADER_ENABLED: 'FALSE' });
    expect(shiny.command(ctx({ appmode: 'shiny' }, { primaryFile: 'server.R' })).argv[3]).toBe('.');
    expect(shiny.command(ctx({ appmode: 'shiny' }, { primaryFile: 'dashboard.R' })).argv[3]).toBe('dashboard.R');
    expect(shiny).toMatchObject({ kind: 'served', language: 'r', pathMode: 'stripped', readinessPath: '/' });
  });

  it('api: plumber on host and port; readiness on a path no API defines', () => {
    const spec = api.command(ctx({ appmode: 'api' }));
    expect(spec.argv[2]).toContain('plumber::pr_run(plumber::plumb(dir = getwd())');
    expect(spec.argv.slice(3)).toEqual(['127.0.0.1', '40123']);
    expect(api).toMatchObject({ kind: 'served', language: 'r', pathMode: 'stripped', readinessPath: '/__lectern_ready__' });
  });

  it('rmd-shiny: rmarkdown::run on the primary document from a writable copy', () => {
    const spec = rmdShiny.command(ctx({ appmode: 'rmd-shiny', primary_rmd: 'dash.Rmd' }));
    expect(spec.argv[2]).toContain('lectern_work_copy');
    expect(spec.argv[2]).toContain('rmarkdown::run');
    expect(spec.argv.slice(3)).toEqual(['dash.Rmd', '127.0.0.1', '40123']);
    expect(rmdShiny).toMatchObject({ kind: 'served', language: 'r', pathMode: 'stripped' });
  });

  it('rmd-static: rmarkdown::render into the output directory as index.html', () => {
    const spec = rmdStatic.command(ctx({ appmode: 'rmd-static', primary_rmd: 'report.Rmd' }));
    expect(spec.output).toBe('index.html');
    expect(spec.argv[2]).toContain('rmarkdown::render');
    expect(spec.argv.slice(3)).toEqual(['report.Rmd', '/data/renders/g/1', 'index.html']);
    expect(rmdStatic).toMatchObject({ kind: 'rendered', language: 'r', outputMetadata: true });
    // No parameters: none passed, so the document's defaults hold.
    expect(spec.env.LECTERN_RENDER_PARAMS).toBeUndefined();
  });

  it("rmd-static: a variant's parameters reach R as JSON in the environment, not on the command line", () => {
    const spec = rmdStatic.command(ctx({ appmode: 'rmd-static', primary_rmd: 'report.Rmd' }, { params: { region: 'south', n: 3 } }));
    expect(spec.env.LECTERN_RENDER_PARAMS).toBe('{"region":"south","n":3}');
    expect(spec.argv.join(' ')).not.toContain('south');
    const huge = { text: 'x'.repeat(64 * 1024) };
    expect(() => rmdStatic.command(ctx({ appmode: 'rmd-static', primary_rmd: 'report.Rmd' }, { params: huge }))).toThrow(/more than 64 KiB/);
  });

  it('rmd-static: falls back to metadata.primary_rmd and fails clearly without a document', () => {
    expect(rmdStatic.command(ctx({ appmode: 'rmd-static', primary_rmd: './a.Rmd' }, { primaryFile: null })).argv[3]).toBe('a.Rmd');
    expect(() => rmdStatic.command(ctx({ appmode: 'rmd-static' }))).toThrow(/primary document/);
  });

  it('quarto-static: quarto render of the document, or of the project, from a writable copy', () => {
    const doc = quartoStatic.command(
      ctx(
        { appmode: 'quarto-static', primary_rmd: 'report.qmd' },
        { environment: { key: '', dir: null, reused: true, executable: '/usr/bin/R', env: { QUARTO_PATH: '/opt/quarto/bin/quarto' } } },
      ),
    );
    expect(doc.argv.slice(0, 2)).toEqual(['/bin/sh', '-c']);
    expect(doc.argv[2]).toContain('cp -R . "$work"');
    // Then the document's directory and the output, where a lone document's email metadata goes.
    expect(doc.argv[2]).toContain('mv -f "$doc/.output_metadata.json" "$out/"');
    expect(doc.argv.slice(3)).toEqual([
      'lectern-quarto',
      '.',
      '/data/renders/g/1',
      '/opt/quarto/bin/quarto',
      'render',
      'report.qmd',
      '--output-dir',
      '/data/renders/g/1',
      '--output',
      'index.html',
    ]);
    expect(doc.output).toBe('index.html');
    expect(doc.env.QUARTO_R).toBe('/usr/bin/Rscript');

    const project = quartoStatic.command(ctx({ appmode: 'quarto-static' }, { primaryFile: '_quarto.yml' }));
    expect(project.argv.slice(6)).toEqual(['quarto', 'render', '.', '--output-dir', '/data/renders/g/1']);
    const site = quartoStatic.command(ctx({ appmode: 'quarto-static', primary_rmd: 'index.qmd', content_category: 'site' }));
    expect(site.argv.slice(7, 9)).toEqual(['render', '.']);
    const nested = quartoStatic.command(ctx({ appmode: 'quarto-static', primary_rmd: 'reports/weekly.qmd' }));
    expect(nested.argv.slice(4, 6)).toEqual(['reports', '/data/renders/g/1']);
    expect(quartoStatic).toMatchObject({ kind: 'rendered', language: 'r', needsQuarto: true, outputMetadata: true });
  });

  it('quarto-shiny: quarto serve on host and port without a browser, replacing the shell', () => {
    const spec = quartoShiny.command(ctx({ appmode: 'quarto-shiny', primary_rmd: 'app.qmd' }));
    expect(spec.argv[2]).toMatch(/exec "\$@"$/);
    expect(spec.argv.slice(3)).toEqual(['lectern-quarto', 'quarto', 'serve', 'app.qmd', '--no-browser', '--host', '127.0.0.1', '--port', '40123']);
    expect(spec.env.R_LIBS).toBe('/data/envs/r/k');
    expect(quartoShiny).toMatchObject({ kind: 'served', language: 'r', needsQuarto: true, pathMode: 'stripped' });
  });
});

describe('reading an installed library as text', () => {
  const DESC =
    'Package: lecternpkg\nType: Package\nTitle: A Test\nVersion: 0.1.0\nDescription: One line\n  and another.\nLicense: MIT\nBuilt: R 4.2.2; ; 2024-01-01 00:00:00 UTC; unix\n';

  it('parses DESCRIPTION fields with continuation lines', () => {
    expect(parseDcf(DESC)).toMatchObject({
      Package: 'lecternpkg',
      Version: '0.1.0',
      Description: 'One line\nand another.',
      Built: 'R 4.2.2; ; 2024-01-01 00:00:00 UTC; unix',
    });
  });

  it('counts a directory as an installed package only when its DESCRIPTION names it, with a version, as built', () => {
    expect(installedFromDescription('lecternpkg', DESC, '/env')).toEqual({ name: 'lecternpkg', version: '0.1.0', priority: '', libPath: '/env' });
    expect(installedFromDescription('lecternpkg', DESC.replace('Version: 0.1.0\n', 'Version: 0.1.0\nPriority: recommended\n'), '/env')?.priority).toBe(
      'recommended',
    );
    expect(installedFromDescription('stats', DESC, '/env')).toBeNull();
    expect(installedFromDescription('lecternpkg', DESC.replace(/Built:.*\n/, ''), '/env')).toBeNull();
    expect(installedFromDescription('lecternpkg', DESC.replace('0.1.0', '0.1.0/../x'), '/env')).toBeNull();
  });

  it('refuses names and versions R would not accept before they reach the installer', () => {
    const reqs = rPackageRequirements(
      manifest({ shiny: pkg('1.7.4'), Matrix: pkg('1.5-3'), '../x': pkg('1.0'), R6: pkg('2.5.1/../../y'), data_table: pkg('1.0') }),
    );
    expect(invalidRPackageSpecs(reqs)).toEqual([
      '"../x" is not an R package name',
      'R6: "2.5.1/../../y" is not an R package version',
      '"data_table" is not an R package name',
    ]);
  });
});
