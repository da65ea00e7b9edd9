/**
 * Sizes that come from input are bounded, and long work stops when asked (issue 16 items 10, 11): a
 * resampling rate that would make billions of frames, zip-bomb .npz files, batch workers whose parent dies.
 * Whole-CLI runs are measured for peak memory with /usr/bin/time.
 */
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { deflateRawSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { importPose } from '../../src/pose/import.ts';
import { resampleTrack } from '../../src/pose/resample.ts';
import { builtinMotion } from '../../src/pose/builtin.ts';
import { saveTrack } from '../../src/pose/track.ts';
import { decodeNpz, encodeNpy, nd, zipStore } from '../../src/io/npz.ts';
import { LIMITS } from '../../src/io/limits.ts';
import { UserError } from '../../src/errors.ts';
import { writeConsent } from '../helpers/consent.ts';
import { PROJECT_ROOT, describeShared, shared } from '../helpers/shared.ts';

const BIN = path.join(PROJECT_ROOT, 'bin/reel2real.js');
const HUMANOID = path.join(PROJECT_ROOT, 'robots/r2r_humanoid/r2r_humanoid.urdf');
const BVH = 'motions/cmu_bvh11/cmu_131_03_start_hop_stop.bvh';
const dirs: string[] = [];
const tmp = () => { const d = fs.mkdtempSync(path.join(os.tmpdir(), 'r2r-res-')); dirs.push(d); return d; };
afterAll(() => { for (const d of dirs) fs.rmSync(d, { recursive: true, force: true }); });

/** Run the CLI under /usr/bin/time: exit code, stderr (without time's line) and peak resident memory in MB. */
export function cliMeasured(args: string[], timeoutMs = 60_000): { code: number; stderr: string; maxMb: number; seconds: number } {
  const t0 = Date.now();
  const r = spawnSync('/usr/bin/time', ['-f', 'MAXRSS_KB=%M', process.execPath, BIN, ...args], { encoding: 'utf8', timeout: timeoutMs });
  const m = /MAXRSS_KB=(\d+)/.exec(r.stderr ?? '');
  return { code: r.status ?? -1, stderr: (r.stderr ?? '').replace(/.*MAXRSS_KB=\d+\n?/, '').replace(/Command exited with non-zero status \d+\n/, ''), maxMb: m ? Number(m[1]) / 1024 : NaN, seconds: (Date.now() - t0) / 1000 };
}

/** 64 MB of zeros as an .npy (deflates ~1000:1), made once. */
let bombNpy: Uint8Array | null = null;
const BOMB_NPY = () => (bombNpy ??= encodeNpy(nd(new Float32Array(16 * 2 ** 20), [16 * 2 ** 20])));

/** A zip of one deflated member `name` whose directory declares `declared` bytes. */
function deflatedZip(name: string, payload: Uint8Array, declared: number): Buffer {
  const comp = deflateRawSync(payload);
  const z = Buffer.from(zipStore([{ name, data: Buffer.alloc(comp.length) }]));
  const cd = z.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
  z.writeUInt16LE(8, 8);
  z.writeUInt16LE(8, cd + 10);
  z.writeUInt32LE(declared, 22);
  z.writeUInt32LE(declared, cd + 24);
  comp.copy(z, 30 + Buffer.byteLength(name));
  return z;
}

describe('sizes from input are bounded', () => {
  it('resampling refuses a rate that makes too many frames, before allocating', () => {
    const t = builtinMotion('pick-and-place');
    expect(() => resampleTrack(t, 1e9, { file: 'x.bvh' })).toThrow(/x\.bvh: resampling .* s to 1000000000 fps makes a frame count that \(7[\d,]+\) exceeds the limit of 2,000,000/);
    expect(() => resampleTrack(t, 1e9)).toThrow(UserError);
    expect(resampleTrack(t, 60).timestamps.length).toBeGreaterThan(t.timestamps.length);
  });

  it('a zip bomb is refused at its declared size; a member declaring more than the ceiling is not unpacked', () => {
    const npy = BOMB_NPY();
    const bomb = deflatedZip('positions.npy', npy, 4096);
    expect(bomb.length).toBeLessThan(200_000);
    expect(() => decodeNpz(bomb, 'bomb.npz')).toThrow(/bomb\.npz: zip entry positions\.npy unpacks to more than its declared 4096 bytes \(a zip bomb\?\)/);
    const huge = deflatedZip('positions.npy', npy, 0xfffffff0);
    expect(() => decodeNpz(huge, 'huge.npz')).toThrow(/declares 4294967280 bytes, over the \d+-byte limit/);
    // An honest member whose .npy header declares more elements than it holds.
    const liar = Buffer.from(encodeNpy(nd(new Float32Array(4), [4])).slice());
    liar.write("(400000000,)".padEnd(12), liar.indexOf('(4,)'), 'latin1');
    expect(() => decodeNpz(zipStore([{ name: 'positions.npy', data: liar }]), 'liar.npz')).toThrow(/liar\.npz: positions\.npy: (truncated data|shape)/);
    expect(LIMITS.memberBytes).toBeLessThanOrEqual(2 ** 30);
  });

  it('reads Fortran-ordered .npy members (np.save of a column slice), as numpy does (issue 16 item 15)', (ctx) => {
    const py = spawnSync('python3', ['-c', 'import numpy'], { encoding: 'utf8' });
    if (py.status !== 0) ctx.skip();
    const dir = tmp();
    const f = path.join(dir, 'f.npz');
    execFileSync('python3', ['-c', `import numpy as np\na = np.arange(24, dtype=np.float32).reshape(2,3,4)\nb = np.asfortranarray(a)\nc = np.arange(12, dtype=np.int64).reshape(3,4)[:, [0,2]]\nnp.savez(${JSON.stringify(f)}, a=b, c=c, d=np.asfortranarray(np.arange(6.0).reshape(2,3)))`]);
    const z = decodeNpz(fs.readFileSync(f), f);
    expect(Array.from(z.arrays.a.data as Float32Array)).toEqual(Array.from({ length: 24 }, (_, i) => i));
    expect(z.arrays.a.shape).toEqual([2, 3, 4]);
    expect(Array.from(z.arrays.c.data as BigInt64Array, Number)).toEqual([0, 2, 4, 6, 8, 10]);
    expect(Array.from(z.arrays.d.data as Float64Array)).toEqual([0, 1, 2, 3, 4, 5]);
  });
});

describeShared('whole-CLI runs under a memory ceiling', [BVH], () => {
  it('pose import --fps 1e9: one line naming the file, exit 1, no output, < 1 GB, < 20 s', () => {
    const out = path.join(tmp(), 'x.npz');
    const r = cliMeasured(['pose', 'import', shared(BVH), '--fps', '1e9', '--out', out]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain(shared(BVH));
    expect(r.stderr).toMatch(/exceeds the limit/);
    expect(fs.existsSync(out)).toBe(false);
    expect(fs.readdirSync(path.dirname(out))).toEqual([]);
    expect(r.maxMb).toBeLessThan(1024);
    expect(r.seconds).toBeLessThan(20);
  });

  it('pose info on a 64 KB zip bomb that would unpack to 64 MB: one line, exit 1, < 1 GB', () => {
    const dir = tmp();
    const f = path.join(dir, 'bomb.npz');
    const npy = BOMB_NPY();
    fs.writeFileSync(f, deflatedZip('positions.npy', npy, 1000));
    const r = cliMeasured(['pose', 'info', f]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/bomb\.npz: zip entry positions\.npy unpacks to more than its declared 1000 bytes/);
    expect(r.maxMb).toBeLessThan(1024);
  });
});

describe('batch workers die with their parent', () => {
  function setup(n: number) {
    const dir = tmp();
    const src = path.join(dir, 'rec');
    fs.mkdirSync(src);
    for (let k = 0; k < n; k++) {
      const f = path.join(src, `clip${k}.npz`);
      const t = builtinMotion('pick-and-place', { fps: 20 + k });
      saveTrack(f, t);
      writeConsent(f.replace(/\.npz$/, '.consent.json'), f, { consent_id: `c-${k}` });
    }
    return { dir, src, store: path.join(dir, 'store') };
  }
  const children = (pid: number) => {
    try { return execFileSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' }).trim().split('\n').filter(Boolean).map(Number); } catch { return []; }
  };
  const alive = (pid: number) => { try { process.kill(pid, 0); return true; } catch { return false; } };
  async function until(cond: () => boolean, ms: number): Promise<boolean> {
    const end = Date.now() + ms;
    while (Date.now() < end) { if (cond()) return true; await new Promise((r) => setTimeout(r, 100)); }
    return cond();
  }

  for (const how of ['SIGKILL', 'SIGTERM'] as const) {
    // A worker notices within 250 ms once it runs; one still loading its modules (seconds on a busy machine) at
    // the kill exits as soon as it starts: 45 s covers the slowest start seen here.
    it(`${how} to the parent: every worker is gone soon after`, async () => {
      const { src, store } = setup(4);
      const p = spawn(process.execPath, [BIN, 'batch', src, '--store', store, '--robot', HUMANOID, '--jobs', '2', '--mode', 'assisted'], { stdio: 'ignore' });
      let kids: number[] = [];
      expect(await until(() => (kids = children(p.pid!)).length === 2, 30_000)).toBe(true);
      p.kill(how);
      const code = await new Promise<number | null>((r) => p.on('exit', (c, s) => r(c ?? (s ? -1 : 0))));
      if (how === 'SIGTERM') expect(code).toBe(143);
      const t0 = Date.now();
      expect(await until(() => kids.every((k) => !alive(k)), 45_000), `workers ${kids.filter(alive).join(', ')} still running`).toBe(true);
      console.log(`${how}: workers gone ${((Date.now() - t0) / 1000).toFixed(1)} s after the parent`);
    }, 120_000);
  }
});
