import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES } from '../helpers/databases.ts';
import { rq, rscript } from '../helpers/rscript.ts';
import { api, startTestServer, type TestServer } from '../helpers/server.ts';

function appDir(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lectern-rapp-'));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), text);
  }
  return dir;
}

// The real R publishing client, Debian's r-cran-rsconnect 0.8.29, as the RStudio IDE drives it.
describe.each(DATABASES)('rsconnect (R) 0.8.29 against Lectern on %s', (kind) => {
  let t: TestServer;
  let key: string;
  let home: string;
  beforeAll(async () => {
    t = await startTestServer(kind);
    key = (await t.createUser('rpub', 'publisher')).key;
    const setup = await rscript(`
      library(rsconnect)
      addConnectServer(${rq(t.url)}, "local")
      connectApiUser(account = "rpub", server = "local", apiKey = ${rq(key)})
      cat("registered\\n")
    `);
    expect(setup.code, setup.stderr).toBe(0);
    home = setup.home;
  });
  afterAll(async () => t?.close());

  const deploy = (dir: string, extra = '') =>
    rscript(
      `
      library(rsconnect)
      options(rsconnect.http.trace = TRUE)
      ok <- deployApp(${rq(dir)}, server = "local", account = "rpub", launch.browser = FALSE, forceUpdate = TRUE${extra})
      cat("DEPLOY RESULT:", ok, "\\n")
    `,
      home,
    );

  it('deploys a static site, prints the server log, redeploys, and the site serves', async () => {
    const dir = appDir({ 'index.html': '<h1>Quarterly numbers</h1>', 'style.css': 'h1 { color: teal }' });
    const first = await deploy(dir);
    const out = first.stdout + first.stderr;
    expect(first.code, out).toBe(0);
    expect(out).toContain('DEPLOY RESULT: TRUE');
    // The client prints each server task line as "[Connect] ...".
    expect(out).toMatch(/\[Connect\] Static content: nothing to build/);
    expect(out).toMatch(/\[Connect\] Bundle \d+ is now active/);
    // The v0 sequence of §3.3.
    expect(out).toMatch(/GET \/__api__\/applications\?filter=account_id:\d+&filter=name:/);
    expect(out).toMatch(/POST \/__api__\/applications /);
    expect(out).toMatch(/POST \/__api__\/applications\/\d+\/upload/);
    expect(out).toMatch(/GET \/__api__\/tasks\/\w+\?first_status=0/);

    const list = await api(t.url, 'GET', '/__api__/v1/content', { key });
    const item = list.body.find(
      (c: { name: string }) =>
        c.name ===
        path
          .basename(dir)
          .toLowerCase()
          .replace(/[^a-z0-9_ -]/g, ''),
    );
    expect(item, JSON.stringify(list.body)).toBeDefined();
    const page = await fetch(item.content_url, { headers: { authorization: `Key ${key}` } });
    expect(await page.text()).toContain('Quarterly numbers');

    // Redeploy from the local deployment record: GET /applications/{id}, upload, deploy.
    writeFileSync(path.join(dir, 'index.html'), '<h1>Revised numbers</h1>');
    const second = await deploy(dir);
    const out2 = second.stdout + second.stderr;
    expect(second.code, out2).toBe(0);
    expect(out2).toMatch(new RegExp(`GET /__api__/applications/${item.id} `));
    expect(out2).not.toMatch(/POST \/__api__\/applications /);
    expect(await (await fetch(item.content_url, { headers: { authorization: `Key ${key}` } })).text()).toContain('Revised numbers');
    expect((await api(t.url, 'GET', `/__api__/v1/content/${item.guid}/bundles`, { key })).body).toHaveLength(2);
  });

  const itemFor = async (dir: string) => {
    const list = await api(t.url, 'GET', '/__api__/v1/content', { key });
    return list.body.find(
      (c: { name: string }) =>
        c.name ===
        path
          .basename(dir)
          .toLowerCase()
          .replace(/[^a-z0-9_ -]/g, ''),
    );
  };

  it('deploys a Shiny app that answers through /content/', async () => {
    const dir = appDir({
      'app.R':
        'library(shiny)\nui <- fluidPage(titlePanel("Doubler"), sliderInput("n", "n", 1, 10, 5), textOutput("o"))\nserver <- function(input, output) output$o <- renderText(input$n * 2)\nshinyApp(ui, server)\n',
    });
    const res = await deploy(dir, ', lint = FALSE');
    const out = res.stdout + res.stderr;
    expect(res.code, out).toBe(0);
    expect(out).toMatch(/\[Connect\] Using R 4\.2/);
    expect(out).toMatch(/\[Connect\] The app answered/);
    const item = await itemFor(dir);
    const page = await fetch(item.content_url, { headers: { authorization: `Key ${key}` } });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('Doubler');
    expect(html).toContain('shiny');
  });

  it('deploys a Plumber API that answers JSON', async () => {
    const dir = appDir({ 'plumber.R': '#* @get /echo\nfunction(msg = "") list(msg = msg)\n' });
    const res = await deploy(dir, ', lint = FALSE');
    expect(res.code, res.stdout + res.stderr).toBe(0);
    const item = await itemFor(dir);
    const echo = await fetch(`${item.content_url}echo?msg=hello`, { headers: { authorization: `Key ${key}` } });
    expect(echo.status).toBe(200);
    expect(await echo.json()).toEqual({ msg: ['hello'] });
  });

  it('deploys an R Markdown report rendered to HTML', async () => {
    const dir = appDir({ 'report.Rmd': '---\ntitle: Quarterly report\noutput: html_document\n---\n\n```{r}\n21 * 2\n```\n' });
    const res = await deploy(dir, ', lint = FALSE');
    expect(res.code, res.stdout + res.stderr).toBe(0);
    const item = await itemFor(dir);
    const html = await (await fetch(item.content_url, { headers: { authorization: `Key ${key}` } })).text();
    expect(html).toContain('Quarterly report');
    expect(html).toContain('42');
  });

  it('fails the deploy of a Shiny app that crashes at start, and of a report that fails, with the reason', async () => {
    // deployApp() in 0.8.29 returns FALSE on a failed deploy, after printing the server's reason.
    const crash = await deploy(appDir({ 'app.R': 'stop("no data source configured")\n' }), ', lint = FALSE');
    expect(crash.stdout + crash.stderr).toContain('DEPLOY RESULT: FALSE');
    expect(crash.stdout + crash.stderr).toMatch(/\[Connect\] .*no data source configured/);
    const bad = await deploy(appDir({ 'report.Rmd': '---\ntitle: Broken\n---\n\n```{r}\nstop("boom in chunk")\n```\n' }), ', lint = FALSE');
    expect(bad.stdout + bad.stderr).toContain('DEPLOY RESULT: FALSE');
    expect(bad.stdout + bad.stderr).toMatch(/\[Connect\] .*boom in chunk/);
  });
});
