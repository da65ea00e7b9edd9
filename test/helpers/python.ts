/**
 * Find a Python interpreter that has the given modules (numpy, zmq, ...). CI installs Debian's python3-numpy
 * and python3-zmq for /usr/bin/python3; a developer machine may have them elsewhere on PATH.
 */
import { spawnSync } from 'node:child_process';

const cache = new Map<string, string | null>();

export function pythonWith(modules: string[]): string | null {
  const key = modules.join(',');
  if (cache.has(key)) return cache.get(key)!;
  let found: string | null = null;
  for (const exe of ['python3', '/usr/bin/python3', 'python']) {
    const r = spawnSync(exe, ['-c', `import ${modules.join(', ')}`], { encoding: 'utf8' });
    if (r.status === 0) { found = exe; break; }
  }
  cache.set(key, found);
  return found;
}

/** Run a Python snippet; returns stdout, throws with stderr on failure. */
export function runPython(exe: string, code: string, args: string[] = []): string {
  const r = spawnSync(exe, ['-c', code, ...args], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`python failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}
