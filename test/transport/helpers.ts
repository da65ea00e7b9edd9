/** Child processes and line-collecting for the transport tests. */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PROJECT_ROOT } from '../helpers/shared.ts';

export const tmpDir = (p = 'r2r-transport-') => fs.mkdtempSync(path.join(os.tmpdir(), p));

export interface Child {
  proc: ChildProcess;
  lines: Record<string, any>[];
  stderr: () => string;
  /** Resolves when a line satisfies `pred` (checked on every new line), rejects on timeout or exit. */
  waitFor(pred: (lines: Record<string, any>[]) => boolean, ms?: number): Promise<void>;
  exited: Promise<number | null>;
}

/** Run a TypeScript fixture (through tsx) and collect its JSON stdout lines. */
export function spawnFixture(file: string, args: string[]): Child {
  const proc = spawn(process.execPath, ['--import', 'tsx', path.join(PROJECT_ROOT, 'test', 'transport', 'fixtures', file), ...args], {
    cwd: PROJECT_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return collect(proc);
}

export function collect(proc: ChildProcess): Child {
  const lines: Record<string, any>[] = [];
  let err = '';
  let buf = '';
  const listeners = new Set<() => void>();
  proc.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      try {
        lines.push(JSON.parse(line));
      } catch {
        lines.push({ text: line });
      }
    }
    for (const l of listeners) l();
  });
  proc.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
  const exited = new Promise<number | null>((r) => proc.on('exit', (code) => { for (const l of listeners) l(); r(code); }));
  let done = false;
  void exited.then(() => { done = true; });
  return {
    proc,
    lines,
    stderr: () => err,
    exited,
    waitFor(pred, ms = 45000) {
      return new Promise<void>((resolve, reject) => {
        const check = () => {
          if (pred(lines)) { cleanup(); resolve(); }
          else if (done || proc.exitCode !== null) { cleanup(); reject(new Error(`process exited (${proc.exitCode}) before the condition held; stderr: ${err.slice(-2000)}`)); }
        };
        const t = setTimeout(() => { cleanup(); reject(new Error(`timed out after ${ms} ms; stderr: ${err.slice(-2000)}`)); }, ms);
        const cleanup = () => { clearTimeout(t); listeners.delete(check); };
        listeners.add(check);
        check();
      });
    },
  };
}

/** Start the fixture server (fixtures/server.ts with `args`), note it in `children`, wait until it listens. */
export async function startFixtureServer(args: string[], children: Child[]): Promise<Child> {
  const s = spawnFixture('server.ts', args);
  children.push(s);
  await s.waitFor((l) => l.some((x) => x.type === 'listening'));
  return s;
}

/**
 * Kill a server without warning and, `pauseMs` after it is gone, start a new one with `args` (the same
 * endpoint and state): resolves when the new one listens.
 */
export async function killAndRestart(server: Child, args: string[], children: Child[], pauseMs: number): Promise<Child> {
  server.proc.kill('SIGKILL');
  await server.exited;
  await new Promise((r) => setTimeout(r, pauseMs));
  return startFixtureServer(args, children);
}
