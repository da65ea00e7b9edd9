/**
 * `reel2real serve` on a real episode store and `reel2real consume`, as a user runs them: saved episodes
 * equal the stored ones, a second consume resumes by name, sequence numbers stay stable when an episode is
 * removed from the store and the server restarts, and bad setups fail with one-line errors.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/store.ts';
import { readNpz } from '../../src/io/npz.ts';
import { PROJECT_ROOT } from '../helpers/shared.ts';
import { runCli } from '../helpers/cli.ts';
import { generateKeyPair, writeKeyPair } from '../../src/transport/keys.ts';
import { syntheticEpisode } from './fixtures/episodes.ts';
import { collect, tmpDir, type Child } from './helpers.ts';

const children: Child[] = [];
afterEach(() => {
  for (const c of children) if (c.proc.exitCode === null) c.proc.kill('SIGKILL');
  children.length = 0;
});

function serve(args: string[]): Child {
  const c = collect(spawn(process.execPath, [path.join(PROJECT_ROOT, 'bin', 'reel2real.js'), 'serve', ...args, '--json'], { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'pipe'] }));
  children.push(c);
  return c;
}

describe('serve / consume CLI on a real store', () => {
  it('serves a store; consume saves episodes equal to the stored ones, resumes by name; removals keep seq numbers', async () => {
    const dir = tmpDir();
    const storeDir = path.join(dir, 'store');
    const store = openStore(storeDir, { create: true });
    const ids = [0, 1, 2, 3, 4].map((i) => store.put(syntheticEpisode(i, 1, 30).episode));
    const endpoint = `ipc://${path.join(dir, 's.sock')}`;
    let server = serve([storeDir, '--bind', endpoint]);
    await server.waitFor((l) => l.some((x) => x.type === 'listening'), 30000);

    const out = path.join(dir, 'received');
    const first = runCli(['consume', '--connect', endpoint, '--name', 'cli', '--max', '2', '--out', out, '--json'], { timeout: 60000 });
    expect(first.code, first.stderr).toBe(0);
    const lines = first.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.slice(0, 2).map((l) => l.id)).toEqual(ids.slice(0, 2));
    expect(lines[2]).toMatchObject({ done: true, received: 2, confirmed: 2 });
    // The saved .npz holds the stored arrays and the header as meta.json.
    const saved = readNpz(lines[0].file);
    const stored = store.get(ids[0]);
    expect(Array.from(saved.arrays.q.data as Float32Array)).toEqual(Array.from(stored.motion!.q));
    expect(Array.from(saved.arrays['human.positions'].data as Float32Array)).toEqual(Array.from(stored.track!.positions));
    expect(saved.meta.id).toBe(ids[0]);
    expect(saved.meta.joint_names).toEqual(stored.motion!.jointNames);
    expect(saved.meta.provenance).toEqual(stored.provenance);
    expect(saved.meta.validation).toEqual(stored.validation);

    // Remove episode 3 from the store (privacy purge) and restart the server.
    store.remove(ids[3], 'consent withdrawn');
    server.proc.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    server = serve([storeDir, '--bind', endpoint]);
    await server.waitFor((l) => l.some((x) => x.type === 'listening'), 30000);
    const rest = runCli(['consume', '--connect', endpoint, '--name', 'cli', '--json'], { timeout: 60000 });
    expect(rest.code, rest.stderr).toBe(0);
    const got = rest.stdout.trim().split('\n').map((l) => JSON.parse(l)).filter((l) => l.seq !== undefined);
    expect(got.map((l) => [l.seq, l.id])).toEqual([[2, ids[2]], [4, ids[4]]]);
    expect(fs.readFileSync(path.join(storeDir, '.transport', 'stream.jsonl'), 'utf8').trim().split('\n')).toEqual(ids);
    server.proc.kill('SIGTERM');
    await server.exited;
  }, 120_000);

  it('serve --server-key/--allow and consume --server-key/--key: allowed trainer gets the episodes over CURVE', async () => {
    const dir = tmpDir();
    const storeDir = path.join(dir, 'store');
    const store = openStore(storeDir, { create: true });
    const ids = [0, 1].map((i) => store.put(syntheticEpisode(i, 0.5, 30).episode));
    // (`keys gen` itself is tested in curve.test.ts; the library call saves two process starts here.)
    const gen = (name: string) => {
      const kp = generateKeyPair();
      writeKeyPair(path.join(dir, name), kp);
      return kp.publicKey;
    };
    const serverPub = gen('server.key');
    const trainerPub = gen('trainer.key');
    fs.writeFileSync(path.join(dir, 'allow.txt'), `${trainerPub} trainer\n`);
    const endpoint = `ipc://${path.join(dir, 'c.sock')}`;
    const server = serve([storeDir, '--bind', endpoint, '--curve', '--server-key', path.join(dir, 'server.key'), '--allow', path.join(dir, 'allow.txt')]);
    await server.waitFor((l) => l.some((x) => x.type === 'listening' && x.curve === true), 30000);
    const r = runCli(['consume', '--connect', endpoint, '--name', 't', '--json', `--server-key=${serverPub}`, '--key', path.join(dir, 'trainer.key')], { timeout: 60000 });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim().split('\n').map((l) => JSON.parse(l)).filter((l) => l.seq !== undefined).map((l) => l.id)).toEqual(ids);
    server.proc.kill('SIGTERM');
    await server.exited;
  }, 120_000);

  it('fails with one-line errors: plain bind off loopback, no server, a second server on the same state', async () => {
    const dir = tmpDir();
    const storeDir = path.join(dir, 'store');
    openStore(storeDir, { create: true }).put(syntheticEpisode(0, 0.5, 30).episode);
    const r = runCli(['serve', storeDir, '--bind', 'tcp://0.0.0.0:0']);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^reel2real: .*CURVE is required/);
    const bad = runCli(['consume', '--connect', 'tcp://127.0.0.1:9', '--name', 'x', '--credit', '0']);
    expect(bad.code).toBe(1);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/^reel2real: --credit must be a whole number/);
    const word = runCli(['consume', '--connect', 'tcp://127.0.0.1:9', '--name', 'x', '--credit', 'abc']);
    expect(word.code).toBe(1);
    expect(word.stderr.trim()).toBe('reel2real: --credit must be a whole number of episodes ≥ 1, got "abc"');
    const outDir = path.join(dir, 'never');
    const none = runCli(['consume', '--connect', `ipc://${path.join(dir, 'nobody.sock')}`, '--name', 'x', '--timeout', '1', '--out', outDir]);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/^reel2real: .*no answer from a reel2real server/);
    expect(fs.existsSync(outDir)).toBe(false); // no partial output
    const s = serve([storeDir, '--bind', `ipc://${path.join(dir, 'a.sock')}`]);
    await s.waitFor((l) => l.some((x) => x.type === 'listening'), 30000);
    const second = runCli(['serve', storeDir, '--bind', `ipc://${path.join(dir, 'b.sock')}`]);
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(/another server \(pid \d+\) is using this state directory/);
  }, 120_000);
});
