import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { withReference } from './reference.ts';

// `npm run docs:config`: README.md's configuration reference, written again from the schema.
const README = fileURLToPath(new URL('../../README.md', import.meta.url));
writeFileSync(README, withReference(readFileSync(README, 'utf8')));
process.stdout.write('README.md: configuration reference written\n');
