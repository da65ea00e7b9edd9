/** Run the real CLI (bin/reel2real.js) in a child process, as a user would. */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PROJECT_ROOT } from './shared.ts';

export interface CliResult { code: number; stdout: string; stderr: string }

export function runCli(args: string[], opts: { cwd?: string; env?: Record<string, string>; input?: string; timeout?: number } = {}): CliResult {
  const r = spawnSync(process.execPath, [path.join(PROJECT_ROOT, 'bin', 'reel2real.js'), ...args], {
    cwd: opts.cwd ?? PROJECT_ROOT,
    env: { ...process.env, ...opts.env },
    input: opts.input,
    encoding: 'utf8',
    timeout: opts.timeout ?? 300_000,
    maxBuffer: 256 * 1024 * 1024,
  });
  return { code: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/**
 * Which modules a CLI process loads: `env` (NODE_OPTIONS with a resolve hook written into `dir`) makes the child
 * print "loaded <url>" on stderr for every module it resolves; `loaded` reads them back from its stderr.
 */
export function moduleLog(dir: string): { env: Record<string, string>; loaded: (stderr: string) => string[] } {
  const hook = path.join(dir, 'module-log.mjs');
  const resolveHook = 'export async function resolve(s, c, n) { const r = await n(s, c); process.stderr.write(`loaded ${r.url}\\n`); return r; }';
  fs.writeFileSync(hook, `import { register } from 'node:module';\nregister(${JSON.stringify('data:text/javascript,' + encodeURIComponent(resolveHook))});\n`);
  return {
    env: { NODE_OPTIONS: `--import ${hook}` },
    loaded: (stderr) => stderr.split('\n').filter((l) => l.startsWith('loaded ')).map((l) => l.slice(7)),
  };
}
