/**
 * What the transport benchmarks (run.ts, python.ts) share: the benchmark stream and the receiver child
 * process.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Episode } from '../../src/store/episode.ts';
import { MemorySource } from '../../src/transport/memory.ts';
import { headerFrame, type EncodedEpisode } from '../../src/transport/wire.ts';
import { syntheticEpisode } from '../../test/transport/fixtures/episodes.ts';

const here = path.dirname(fileURLToPath(import.meta.url));

/**
 * Give an episode headers as big as real ones: the quality and validation reports of the episode `npm run
 * demo` makes (reports.json, 7.5 KB of JSON), unless `small` (it keeps its tiny synthetic reports).
 */
export function withReports(small: boolean): (ep: Episode) => Episode {
  if (small) return (ep) => ep;
  const reports = JSON.parse(fs.readFileSync(path.join(here, 'reports.json'), 'utf8'));
  return (ep) => Object.assign(ep, { quality: reports.quality, validation: reports.validation });
}

export interface BenchStream {
  /** `count` episodes: 8 distinct ones listed many times under different ids (payload identical in size). */
  source: MemorySource;
  /** The first episode encoded. */
  enc: EncodedEpisode;
  /**
   * Every episode's EPISODE message as the server sends it at its first delivery (seq = position), without
   * the routing id: what bare PUSH/PULL sends, so the baselines move the same bytes from the same buffers.
   */
  messages: Buffer[][];
}

export function benchStream(count: number, seconds: number, fps: number, dress: (ep: Episode) => Episode): BenchStream {
  const distinct = Array.from({ length: 8 }, (_, i) => {
    const d = syntheticEpisode(i, seconds, fps);
    return { entry: d.entry, episode: dress(d.episode) };
  });
  const source = new MemorySource();
  for (let i = 0; i < count; i++) {
    const d = distinct[i % distinct.length];
    source.append({ ...d.entry, id: `${d.entry.id.slice(0, 56)}${String(i).padStart(8, '0')}` }, d.episode);
  }
  const cmd = Buffer.from('EPISODE');
  const messages = source.list().map((e, i) => {
    const enc = source.encoded(e.id)!;
    return [cmd, headerFrame(enc, i, 1), enc.reports, ...enc.frames];
  });
  return { source, enc: source.encoded(source.list()[0].id)!, messages };
}

/**
 * Start a receiver process that prints `ready` once connected and a JSON result as its last line:
 * `ready` resolves at the first, `done` with the second when it exits (rejects on a non-zero exit).
 */
export function startChild<T>(cmd: string, args: string[]): { ready: Promise<void>; done: Promise<T> } {
  const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  let buf = '';
  let onReady: () => void;
  const ready = new Promise<void>((r) => { onReady = r; });
  const done = new Promise<T>((resolve, reject) => {
    p.stdout.on('data', (d) => {
      buf += d.toString();
      if (buf.includes('ready\n')) onReady();
    });
    p.on('exit', (code) => (code === 0 ? resolve(JSON.parse(buf.trim().split('\n').pop()!)) : reject(new Error(`receiver exited ${code}`))));
  });
  return { ready, done };
}
