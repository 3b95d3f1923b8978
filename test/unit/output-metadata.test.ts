import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MAX_OUTPUT_METADATA_BYTES, takeOutputMetadata } from '../../runtimes/rendering/output-metadata.ts';

// Real files: what a render may have left as `.output_metadata.json`, written by content.

let dir: string;
let lines: string[];
const log = (l: string) => void lines.push(l);
const file = () => path.join(dir, '.output_metadata.json');

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'lectern-metadata-'));
  writeFileSync(path.join(dir, 'index.html'), '<p>report</p>');
  lines = [];
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('takeOutputMetadata', () => {
  it('parses the JSON and removes the file from the output', async () => {
    writeFileSync(file(), JSON.stringify({ rsc_email_subject: 'Weekly', rsc_email_attachments: 'data.csv' }));
    expect(await takeOutputMetadata(dir, true, log)).toEqual({ rsc_email_subject: 'Weekly', rsc_email_attachments: 'data.csv' });
    expect(readdirSync(dir)).toEqual(['index.html']);
    expect(lines).toEqual([]);
  });

  it('gives null without a file', async () => {
    expect(await takeOutputMetadata(dir, true, log)).toBeNull();
    expect(lines).toEqual([]);
  });

  it('only removes it for a mode whose metadata is not read (Jupyter)', async () => {
    writeFileSync(file(), '{"rsc_email_subject": "x"}');
    expect(await takeOutputMetadata(dir, false, log)).toBeNull();
    expect(existsSync(file())).toBe(false);
  });

  it('ignores malformed JSON with a line saying so', async () => {
    writeFileSync(file(), '{"rsc_email_subject": ');
    expect(await takeOutputMetadata(dir, true, log)).toBeNull();
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^Ignored \.output_metadata\.json: it is not valid JSON/);
    expect(existsSync(file())).toBe(false);
  });

  it('refuses more than 8 MiB without reading it, and removes it', async () => {
    writeFileSync(file(), '');
    truncateSync(file(), MAX_OUTPUT_METADATA_BYTES + 1);
    expect(await takeOutputMetadata(dir, true, log)).toBeNull();
    expect(lines).toEqual(['Ignored .output_metadata.json: it is larger than 8 MiB.']);
    expect(existsSync(file())).toBe(false);
  });

  it('accepts exactly 8 MiB', async () => {
    const text = JSON.stringify({ rsc_email_body_html: '' });
    writeFileSync(file(), text.replace('""', `"${'x'.repeat(MAX_OUTPUT_METADATA_BYTES - text.length)}"`));
    const m = (await takeOutputMetadata(dir, true, log)) as { rsc_email_body_html: string };
    expect(m.rsc_email_body_html).toHaveLength(MAX_OUTPUT_METADATA_BYTES - text.length);
  });

  it('never follows a link: the link is removed and its target left alone', async () => {
    const target = path.join(os.tmpdir(), `lectern-secret-${process.pid}.json`);
    writeFileSync(target, '{"secret": true}');
    try {
      symlinkSync(target, file());
      expect(await takeOutputMetadata(dir, true, log)).toBeNull();
      expect(lines).toEqual(['Ignored .output_metadata.json: it could not be opened as a file (ELOOP).']);
      expect(existsSync(file())).toBe(false);
      expect(existsSync(target)).toBe(true);
    } finally {
      rmSync(target, { force: true });
    }
  });

  it('ignores a directory of that name, and removes it', async () => {
    mkdirSync(file());
    writeFileSync(path.join(file(), 'x'), '{}');
    expect(await takeOutputMetadata(dir, true, log)).toBeNull();
    expect(lines).toEqual(['Ignored .output_metadata.json: it is not a regular file.']);
    expect(existsSync(file())).toBe(false);
  });

  it('ignores a socket of that name without waiting on it, and removes it', async () => {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(file(), resolve));
    try {
      expect(await takeOutputMetadata(dir, true, log)).toBeNull();
      expect(lines).toEqual(['Ignored .output_metadata.json: it could not be opened as a file (ENXIO).']);
      expect(existsSync(file())).toBe(false);
    } finally {
      server.close();
    }
  });
});
