#!/usr/bin/env node
// Entry point of the `reel2real` CLI. The sources are TypeScript run through tsx, so a clone works with
// `npx reel2real ...` right after `npm install`, with no build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
