#!/usr/bin/env node
// Entry point of the `reel2real` CLI. The sources are TypeScript run through tsx, so a clone works with
// `npx reel2real ...` right after `npm install`, with no build step.
import { register } from 'tsx/esm/api';

// A closed pipe (`reel2real ... | head`) is not an error.
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
