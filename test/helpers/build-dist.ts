/**
 * Vitest global setup: compile src/ into dist/ (bin/build.mjs) before any test runs, so the tests that run the
 * CLI as a user would (bin/reel2real.js in a child process) run the same compiled code `npx reel2real` runs
 * after `npm install`, not the tsx fallback.
 */
// @ts-expect-error: a plain ES module without type declarations
import { buildDist } from '../../bin/build.mjs';

export default async function setup(): Promise<void> {
  await buildDist({ quiet: true });
}
