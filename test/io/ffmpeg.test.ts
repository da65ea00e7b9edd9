/** Finding ffmpeg / ffprobe without running them: the first executable file among the override, PATH and /usr/bin. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { locateTool } from '../../src/io/ffmpeg.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'r2r-ffmpeg-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe.skipIf(process.platform === 'win32')('locateTool', () => {
  const bin = path.join(dir, 'bin');
  fs.mkdirSync(bin);
  const script = path.join(bin, 'ffprobe');
  fs.writeFileSync(script, '#!/bin/sh\nexit 0\n', { mode: 0o755 });
  const plain = path.join(dir, 'not-executable');
  fs.writeFileSync(plain, '', { mode: 0o644 });

  it('takes the override when it is an executable file, else the first on PATH, else /usr/bin', () => {
    expect(locateTool('ffprobe', { REEL2REAL_FFPROBE: script, PATH: '' }, 'linux')).toBe(script);
    // A non-executable override, a directory, a missing file: skipped.
    for (const bad of [plain, bin, path.join(dir, 'missing')]) {
      expect(locateTool('ffprobe', { REEL2REAL_FFPROBE: bad, PATH: bin }, 'linux')).toBe('ffprobe');
    }
    const usrBin = fs.existsSync('/usr/bin/ffmpeg') ? '/usr/bin/ffmpeg' : null;
    expect(locateTool('ffmpeg', { PATH: bin }, 'linux')).toBe(usrBin);
  });

  it.skipIf(!fs.existsSync('/usr/bin/ffprobe'))('what it finds runs', () => {
    const exe = locateTool('ffprobe', process.env, process.platform)!;
    expect(spawnSync(exe, ['-version'], { stdio: 'ignore' }).status).toBe(0);
  });
});
