import Docker from 'dockerode';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/process.ts';

const docker = new Docker();

/** Runs a command in a throwaway container of `image` as the unprivileged account; its output. */
async function inImage(image: string, cmd: string[]): Promise<{ code: number; out: string }> {
  const c = await docker.createContainer({ Image: image, Cmd: cmd, User: 'lectern-app', HostConfig: { NetworkMode: 'none' } });
  try {
    await c.start();
    const { StatusCode } = (await c.wait()) as { StatusCode: number };
    const logs = await c.logs({ stdout: true, stderr: true });
    // Docker multiplexes the two streams with 8-byte frame headers.
    let out = '';
    for (let i = 0; i + 8 <= logs.length;) {
      const size = logs.readUInt32BE(i + 4);
      out += logs.subarray(i + 8, i + 8 + size).toString();
      i += 8 + size;
    }
    return { code: StatusCode, out };
  } finally {
    await c.remove({ force: true });
  }
}

describe('container runtime images', () => {
  it('are built from a debootstrap import, labelled with their versions, and run content unprivileged', { timeout: 20 * 60_000 }, async () => {
    const first = await runCli(['runtimes', 'build'], {});
    expect(first.code, first.stdout + first.stderr).toBe(0);

    const labels = async (image: string) => (await docker.getImage(image).inspect()).Config.Labels ?? {};
    expect(await labels('lectern/bookworm-minbase:latest')).toBeDefined();
    expect(await labels('lectern/r:latest')).toMatchObject({ 'org.lectern.runtime': 'r', 'org.lectern.r.version': expect.stringMatching(/^4\.\d+\.\d+$/) });
    expect(await labels('lectern/python:latest')).toMatchObject({
      'org.lectern.runtime': 'python',
      'org.lectern.python.version': expect.stringMatching(/^3\.\d+\.\d+$/),
    });
    expect(await labels('lectern/r-python:latest')).toMatchObject({
      'org.lectern.r.version': expect.stringMatching(/^4\./),
      'org.lectern.python.version': expect.stringMatching(/^3\./),
    });
    // Debian has no Quarto, so the images say they have none (an image FROM a base with it says which).
    for (const image of ['lectern/r:latest', 'lectern/python:latest', 'lectern/r-python:latest'])
      expect(await labels(image)).toHaveProperty(['org.lectern.quarto.version'], '');

    const r = await inImage('lectern/r:latest', [
      'Rscript',
      '-e',
      'for (p in c("shiny", "rmarkdown", "plumber")) library(p, character.only = TRUE); cat(Sys.info()[["effective_user"]], rmarkdown::pandoc_available(), "\\n")',
    ]);
    expect(r, r.out).toMatchObject({ code: 0 });
    expect(r.out).toContain('lectern-app TRUE');
    const py = await inImage('lectern/python:latest', [
      'python3',
      '-c',
      'import flask, fastapi, uvicorn, gunicorn, nbconvert, ipykernel, os; print(os.getuid())',
    ]);
    expect(py, py.out).toMatchObject({ code: 0 });
    expect(py.out.trim()).toBe('10001');

    // Everything is there now: a second run builds nothing.
    const again = await runCli(['runtimes', 'build'], {});
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('every runtime image is there');
  });
});
