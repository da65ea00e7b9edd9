#!/usr/bin/env node
// Entry point of the `reel2real` CLI. It runs the compiled JavaScript in dist/ (built from src/ by
// bin/build.mjs, which npm runs on `npm install` through the `prepare` script), so a command starts without
// transpiling TypeScript. When dist/ is missing or any source is newer than it (an edit, a pull), it runs the
// TypeScript sources through tsx instead: slower to start, never stale. `npm run build` brings dist/ up to date.
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { distIsFresh } from './fresh.mjs';

// A closed pipe (`reel2real ... | head`) is not an error.
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
let main;
if (process.env.REEL2REAL_FROM_SOURCE !== '1' && distIsFresh(root)) {
  ({ main } = await import('../dist/cli/main.js'));
} else {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('../src/cli/main.ts'));
}
process.exitCode = await main(process.argv.slice(2));
