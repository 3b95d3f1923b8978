import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { covers, renderReference, schemaLeaves, withReference } from '../../src/config/reference.ts';
import { REFERENCE_ROWS } from '../../src/config/reference-rows.ts';
import { ENV_VARS } from '../../src/config/schema.ts';

const README = path.resolve(import.meta.dirname, '../../README.md');

// README.md's configuration reference is generated from the schema (npm run docs:config):
// every setting has exactly one row, and the README holds what the generator writes.
describe('the configuration reference', () => {
  it('has one row for every setting the schema has, and none for a setting it lacks', () => {
    const leaves = schemaLeaves();
    for (const leaf of leaves) {
      const rows = REFERENCE_ROWS.filter((r) => r.settings.some((s) => covers(s, leaf.path)));
      expect(rows.length, `rows for ${leaf.path}`).toBe(1);
    }
    for (const row of REFERENCE_ROWS)
      for (const s of row.settings)
        expect(
          leaves.some((l) => covers(s, l.path)),
          `${s} is a setting`,
        ).toBe(true);
    // Every variable's setting is in the reference too.
    for (const keys of Object.values(ENV_VARS))
      expect(
        leaves.some((l) => l.path === keys.join('.')),
        keys.join('.'),
      ).toBe(true);
  });

  it('is what README.md shows (run npm run docs:config after changing a setting)', () => {
    const readme = readFileSync(README, 'utf8');
    expect(withReference(readme)).toBe(readme);
  });

  it('takes defaults and variables from the schema', () => {
    const schema = z.object({
      port: z.number().default(3939),
      list: z.array(z.string()).default(['a', 'b']),
      nested: z.object({ url: z.string().optional() }).prefault({}),
    });
    const leaves = schemaLeaves(schema as never);
    expect(leaves.map((l) => l.path)).toEqual(['port', 'list', 'nested.url']);
    const table = renderReference(
      [
        { settings: ['port', 'list'], meaning: 'both' },
        { settings: ['nested.url'], meaning: 'where' },
      ],
      leaves,
    );
    expect(table.split('\n').slice(2)).toEqual(['| `port`, `.list` | (file only) | `3939`, `a,b` | both |', '| `nested.url` | (file only) | none | where |']);
  });
});
