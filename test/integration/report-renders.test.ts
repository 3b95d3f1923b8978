import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBundleBuilder } from '../../runtimes/bundle-builder.ts';
import { createRuntime, type Runtime } from '../../runtimes/create-runtime.ts';
import { loadConfig } from '../../src/config/index.ts';
import type { ProcessVariables } from '../../src/domain/deploy.ts';
import { parseManifest } from '../../src/domain/manifest.ts';
import { parseEmailMetadata } from '../../src/domain/report-email/email-metadata.ts';
import type { RenderItem, ReportRenderRequest } from '../../src/domain/reports.ts';

// Report renders at the runtimes level, as the server makes them (createRuntime, the local
// backend: sandboxed as the item's own account when run as root), with Debian's R and
// rmarkdown and Debian's Python with nbconvert. No database: the process variables the
// control plane would give are fixed here.

const GUID = '5e3c2a40-1b7d-4c8e-9f00-0000000000a1';
// A 1x1 PNG.
const PNG64 = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==';
const REPORT_ENV = {
  RSC_REPORT_NAME: 'Weekly sales',
  RSC_REPORT_URL: 'http://lectern.example/content/x/',
  SPARK_CONNECT_USER_AGENT: 'posit-connect/2024.09.0',
  POSIT_PRODUCT: 'CONNECT',
};

const EMAIL_RMD = `---
title: "Email report"
output: html_document
rmd_output_metadata:
  rsc_output_files: ["data.csv"]
  from_front_matter: "kept"
---

\`\`\`{r, echo = FALSE, results = "asis"}
cat("<p id='name'>Name:", Sys.getenv("RSC_REPORT_NAME"), "</p>\\n")
cat("<p id='guid'>Guid:", Sys.getenv("CONNECT_CONTENT_GUID"), "</p>\\n")
write.csv(data.frame(a = 1:2, b = c("x", "y")), "data.csv", row.names = FALSE)
rmarkdown::output_metadata$set(
  rsc_email_subject = paste("Report for", Sys.getenv("RSC_REPORT_NAME")),
  rsc_email_attachments = "data.csv",
  rsc_email_body_html = "<p>hi <img src='cid:plot.png'></p>",
  rsc_email_images = list(plot.png = "${PNG64}")
)
\`\`\`
`;

const PARAMS_RMD = `---
title: "Regional"
output: html_document
params:
  region: north
---

Region: \`r params$region\`.
`;

const PLAIN_RMD = `---
title: "Plain"
output: html_document
---

Nothing for email here.
`;

// A notebook that writes the file R Markdown and Quarto use: Jupyter has no such mechanism.
const NOTEBOOK = JSON.stringify({
  cells: [
    {
      cell_type: 'code',
      execution_count: null,
      metadata: {},
      outputs: [],
      source: ["open('/lectern/output/.output_metadata.json', 'w').write('{\"rsc_email_subject\": \"not from a notebook\"}')\n", "print('notebook ran')"],
    },
  ],
  metadata: { kernelspec: { name: 'python3', display_name: 'Python 3', language: 'python' } },
  nbformat: 4,
  nbformat_minor: 5,
});

// Quarto is not installed here: this stand-in does what `quarto render <doc> --output-dir <out>
// --output index.html` does with `format: email` for a lone document, writing the document
// and, beside its input (not in the output), .output_metadata.json.
const FAKE_QUARTO = `#!/bin/sh
doc=$2; out=$4
printf '<p>quarto for %s</p>' "$RSC_REPORT_NAME" > "$out/index.html"
printf '{"rsc_email_subject": "Quarto %s", "rsc_email_attachments": [], "rsc_email_suppress_report_attachment": true}' "$RSC_REPORT_NAME" > "$(dirname "$doc")/.output_metadata.json"
`;

let scratch: string;
let runtime: Runtime;
let bundleId = 0;

const processEnv: ProcessVariables = {
  forContent: async (guid) => ({
    env: { CONNECT_SERVER: 'http://127.0.0.1:9/', CONNECT_CONTENT_GUID: guid, CONNECT_API_KEY: 'the-process-key', RSTUDIO_PRODUCT: 'CONNECT' },
    release: async () => undefined,
  }),
};

/** A bundle directory the content account can read, with its manifest; each its own bundle id. */
function bundle(files: Record<string, string>, metadata: Record<string, unknown>, extra: Record<string, unknown> = {}): RenderItem {
  const dir = path.join(scratch, `bundle-${++bundleId}`);
  mkdirSync(dir, { mode: 0o755 });
  chmodSync(dir, 0o755);
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text, { mode: 0o644 });
  const manifest = parseManifest(JSON.stringify({ version: 1, metadata, packages: {}, files: {}, ...extra }));
  return {
    contentGuid: GUID,
    bundleId,
    appMode: String(metadata.appmode),
    primaryFile: String(metadata.primary_rmd ?? metadata.entrypoint),
    bundleDir: dir,
    manifest,
    settings: {
      initTimeoutSeconds: null,
      pythonEnvironmentManagement: false,
      rEnvironmentManagement: false,
      memoryLimit: null,
      cpuLimit: null,
      imageName: null,
    },
  };
}

const rmd = (text: string) => bundle({ 'report.Rmd': text }, { appmode: 'rmd-static', primary_rmd: 'report.Rmd' }, { platform: '4.2.2' });

function request(item: RenderItem, over: Partial<ReportRenderRequest> = {}): ReportRenderRequest & { lines: string[] } {
  const lines: string[] = [];
  return { item, variantKey: null, params: {}, env: REPORT_ENV, log: (l) => void lines.push(l), lines, ...over };
}

const rendersDir = () => path.join(scratch, 'data', 'renders');

beforeAll(async () => {
  scratch = mkdtempSync(path.join(os.tmpdir(), 'lectern-reports-'));
  chmodSync(scratch, 0o755);
  const quarto = path.join(scratch, 'quarto', 'bin', 'quarto');
  mkdirSync(path.dirname(quarto), { recursive: true, mode: 0o755 });
  writeFileSync(quarto, FAKE_QUARTO, { mode: 0o755 });
  const config = loadConfig({
    env: {},
    overrides: {
      dataDir: path.join(scratch, 'data'),
      runtime: { backend: 'local', quarto, pythonEnvironmentManagement: false, rEnvironmentManagement: false, r: ['/usr/bin/R'], python: ['/usr/bin/python3'] },
    },
  });
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  runtime = await createRuntime(config, processEnv);
  await runtime.backend.recover(async () => false);
});

afterAll(async () => {
  await runtime?.close();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

describe('report renders (runtime.reports)', () => {
  it("R Markdown: the document's email metadata, front matter and chunks, its variables, and nothing of it published", async () => {
    const req = request(rmd(EMAIL_RMD));
    const r = await runtime.reports.render(req);
    expect(r.outputFile).toBe('index.html');
    expect(r.outputPath).toBe(`${GUID}/${req.item.bundleId}/${r.jobKey}`);
    expect(r.metadata).toEqual({
      rsc_output_files: 'data.csv',
      from_front_matter: 'kept',
      rsc_email_subject: 'Report for Weekly sales',
      rsc_email_attachments: 'data.csv',
      rsc_email_body_html: "<p>hi <img src='cid:plot.png'></p>",
      rsc_email_images: { 'plot.png': PNG64 },
    });
    const email = parseEmailMetadata(r.metadata);
    if (!email.ok) throw new Error(email.problem);
    expect(email.emails).toHaveLength(1);
    expect(email.emails[0]).toMatchObject({ subject: 'Report for Weekly sales', attachments: ['data.csv'] });
    expect(email.emails[0]?.images.map((i) => i.cid)).toEqual(['plot.png']);
    expect(email.outputFiles).toEqual(['data.csv']);

    const dir = runtime.reports.outputDir(r.outputPath);
    expect(dir).toBe(path.join(rendersDir(), r.outputPath));
    // The file the chunk wrote beside the document is published for the attachment; the metadata is not.
    expect(readdirSync(dir!).sort()).toEqual(['data.csv', 'index.html']);
    expect(readFileSync(path.join(dir!, 'data.csv'), 'utf8')).toBe('"a","b"\n1,"x"\n2,"y"\n');
    // Sealed as the server's, as every published render.
    expect([statSync(dir!).mode & 0o777, statSync(path.join(dir!, 'data.csv')).mode & 0o777]).toEqual([0o700, 0o600]);
    expect(statSync(path.join(dir!, 'data.csv')).uid).toBe(process.getuid?.());
    const html = readFileSync(path.join(dir!, 'index.html'), 'utf8');
    expect(html).toContain('Name: Weekly sales');
    // The report's variables came on top of the process's own.
    expect(html).toContain(`Guid: ${GUID}`);
  });

  it('R Markdown without output metadata gives null', async () => {
    const r = await runtime.reports.render(request(rmd(PLAIN_RMD)));
    expect(r.metadata).toBeNull();
    expect(readdirSync(runtime.reports.outputDir(r.outputPath)!)).toEqual(['index.html']);
  });

  it("a variant's parameters, in the variant's place; without them, the document's defaults in the default place", async () => {
    const item = rmd(PARAMS_RMD);
    const south = await runtime.reports.render(request(item, { variantKey: 'abc12345', params: { region: 'south' } }));
    expect(south.outputPath).toBe(`${GUID}/${item.bundleId}/variants/abc12345/${south.jobKey}`);
    expect(readFileSync(path.join(runtime.reports.outputDir(south.outputPath)!, 'index.html'), 'utf8')).toContain('Region: south.');

    const north = await runtime.reports.render(request(item));
    expect(north.outputPath).toBe(`${GUID}/${item.bundleId}/${north.jobKey}`);
    expect(readFileSync(path.join(runtime.reports.outputDir(north.outputPath)!, 'index.html'), 'utf8')).toContain('Region: north.');
    // The variant's render is not what the default place serves.
    expect(await runtime.runner.renderDir(GUID, item.bundleId)).toBe(runtime.reports.outputDir(north.outputPath));
  });

  it('a Jupyter notebook: metadata null, and a file of that name is not published', async () => {
    const item = bundle(
      { 'nb.ipynb': NOTEBOOK, 'requirements.txt': '' },
      { appmode: 'jupyter-static', entrypoint: 'nb.ipynb' },
      {
        python: { version: '3.11.2', package_manager: { name: 'pip', package_file: 'requirements.txt' } },
      },
    );
    const r = await runtime.reports.render(request(item));
    expect(r.metadata).toBeNull();
    const dir = runtime.reports.outputDir(r.outputPath)!;
    expect(readdirSync(dir)).toEqual(['index.html']);
    expect(readFileSync(path.join(dir, 'index.html'), 'utf8')).toContain('notebook ran');
  });

  it('Quarto (a stand-in): metadata left beside a lone document is taken from there', async () => {
    const item = bundle(
      { 'report.qmd': '---\ntitle: q\nformat: email\n---\n' },
      { appmode: 'quarto-static', primary_rmd: 'report.qmd' },
      { platform: '4.2.2' },
    );
    const r = await runtime.reports.render(request(item));
    expect(r.metadata).toEqual({ rsc_email_subject: 'Quarto Weekly sales', rsc_email_attachments: [], rsc_email_suppress_report_attachment: true });
    expect(readdirSync(runtime.reports.outputDir(r.outputPath)!)).toEqual(['index.html']);
  });

  it('refuses a variable a report may not set, before anything runs', async () => {
    const item = rmd(PLAIN_RMD);
    for (const name of ['CONNECT_API_KEY', 'CONNECT_SERVER', 'CONNECT_CONTENT_GUID', 'LD_PRELOAD', 'RSC_REPORT_name', 'PATH']) {
      await expect(runtime.reports.render(request(item, { env: { ...REPORT_ENV, [name]: 'x' } }))).rejects.toThrow(
        `A report render cannot set the variable "${name}"`,
      );
    }
    await expect(runtime.reports.render(request(item, { env: { RSC_REPORT_NAME: 'a\0b' } }))).rejects.toThrow('without NUL');
    await expect(runtime.reports.render(request(item, { variantKey: '../escape' }))).rejects.toThrow('cannot name a render variant');
    expect(existsSync(path.join(rendersDir(), GUID, String(item.bundleId)))).toBe(false);
  });

  it("the deploy's render: its result, with the report's variables, in the default place", async () => {
    const item = rmd(EMAIL_RMD);
    const lines: string[] = [];
    const builder = createBundleBuilder(runtime.runner);
    const r = await builder.build({ ...item, draft: false, log: (l) => void lines.push(l), reportEnv: { RSC_REPORT_NAME: 'Deployed' } });
    expect(r).not.toBeNull();
    expect(r!.outputPath).toBe(`${GUID}/${item.bundleId}/${r!.jobKey}`);
    expect((r!.metadata as Record<string, unknown>).rsc_email_subject).toBe('Report for Deployed');
    expect(await runtime.runner.renderDir(GUID, item.bundleId)).toBe(runtime.reports.outputDir(r!.outputPath));
    await expect(builder.build({ ...item, draft: false, log: () => undefined, reportEnv: { CONNECT_API_KEY: 'mine' } })).rejects.toThrow(
      'A report render cannot set the variable "CONNECT_API_KEY"',
    );
  });

  it('outputDir and discard take finished renders only, and discard is idempotent', async () => {
    const r = await runtime.reports.render(request(rmd(PLAIN_RMD)));
    const dir = runtime.reports.outputDir(r.outputPath)!;
    const bad = [
      '../x',
      `${GUID}/../../etc`,
      `${GUID}/${bundleId}/../${r.jobKey}`,
      dir,
      '/etc',
      `${r.outputPath}.partial`,
      `${GUID}/${bundleId}`,
      `${GUID}/${bundleId}/variants/abc12345`,
      `${GUID}/${bundleId}/other/abc12345/${r.jobKey}`,
      `${r.outputPath}/`,
      '',
    ];
    for (const p of bad) {
      expect(runtime.reports.outputDir(p), p).toBeNull();
      await expect(runtime.reports.discard(p), p).rejects.toThrow("is not a render's output directory");
    }
    expect(existsSync(dir)).toBe(true);
    await runtime.reports.discard(r.outputPath);
    expect(existsSync(dir)).toBe(false);
    expect(runtime.reports.outputDir(r.outputPath)).toBeNull();
    await runtime.reports.discard(r.outputPath);
  });
});
