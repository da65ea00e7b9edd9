#!/usr/bin/env node
// Entry point of the `reel2real` CLI. It runs the compiled JavaScript in dist/ (built from src/ by
// bin/build.mjs, which npm runs on `npm install` through the `prepare` script), so a command starts without
// transpiling TypeScript. When dist/ is missing or any source is newer than it (an edit, a pull), it runs the
// TypeScript sources through tsx instead (slower to start, never stale) and says so in one line on stderr
// (REEL2REAL_FROM_SOURCE=1 asks for the sources without the notice). `npm run build` brings dist/ up to date.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as v8 from 'node:v8';
import { distIsFresh } from './fresh.mjs';

// V8 optimises a function once it has run a budget of bytecode; its default (67,584) has it compile dozens of
// functions (retarget, physics, validate: ≈ 60, 0.5 s of compiler time for a 2-frame G1 retarget) that a short
// command finishes before the compiled code pays back. A 300,000 budget still optimises the hot loops of a long
// run within its first frames (retarget, validate and capture of long clips: same CPU within the noise,
// benchmarks/startup/RESULTS.md) and takes ≈ 0.2 s of CPU off a short command's. Set before any of the CLI's
// modules load, so every function they create starts with it; a budget given to node itself is kept.
if (!process.execArgv.some((a) => a.startsWith('--interrupt-budget'))) v8.setFlagsFromString('--interrupt-budget=300000');

// A closed pipe (`reel2real ... | head`) is not an error.
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/**
 * `reel2real --help` (or -h) prints the text bin/build.mjs rendered into dist/cli/help.txt with the same CLI,
 * without loading the CLI or yargs (which with its help layout is most of a command's start-up): only where
 * that text is what yargs would print here — stdout not a terminal narrower than 110 columns, English messages
 * (yargs translates them by LC_ALL / LC_MESSAGES / LANG / LANGUAGE).
 */
function helpFromBuild(args) {
  if (args.length !== 1 || (args[0] !== '--help' && args[0] !== '-h')) return null;
  if (process.stdout.isTTY && process.stdout.columns < 110) return null;
  const env = process.env;
  const locale = env.LC_ALL || env.LC_MESSAGES || env.LANG || env.LANGUAGE || 'en_US';
  if (!/^(en|C|POSIX)([._:@]|$)/.test(locale)) return null;
  try {
    return fs.readFileSync(path.join(root, 'dist', 'cli', 'help.txt'), 'utf8');
  } catch {
    return null;
  }
}

const args = process.argv.slice(2);
const fromSource = process.env.REEL2REAL_FROM_SOURCE === '1';
const fromDist = !fromSource && distIsFresh(root);
// Not asked for: say why this start is slow and how to make the next ones fast (stderr, one line).
if (!fromDist && !fromSource) {
  const why = fs.existsSync(path.join(root, 'dist', '.built')) ? 'dist/ is older than src/' : 'dist/ is not built';
  process.stderr.write(`reel2real: ${why}: running the TypeScript sources (slower start); \`npm run build\` compiles them\n`);
}
const help = fromDist ? helpFromBuild(args) : null;
if (help !== null) {
  process.stdout.write(help);
} else {
  process.exitCode = await runMain();
}

async function runMain() {
  let main;
  if (fromDist) {
    ({ main } = await import('../dist/cli/main.js'));
  } else {
    const { register } = await import('tsx/esm/api');
    register();
    ({ main } = await import('../src/cli/main.ts'));
  }
  return main(args);
}
