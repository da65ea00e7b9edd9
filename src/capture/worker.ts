/**
 * Worker thread: run one capture segment (see segment.ts) and post its rows back in batches, then a summary.
 * Messages: {type:'batch', times, rows, n} (buffers transferred), {type:'done', stats}, {type:'error', message,
 * user, file}.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { UserError } from '../errors.ts';
import { runSegment, type SegmentOptions } from './segment.ts';
import { setFfmpegTools, type VideoInfo } from './video.ts';

const { file, info, opts, tools } = workerData as { file: string; info: VideoInfo; opts: SegmentOptions; tools: { ffmpeg: string; ffprobe: string | null } };
const port = parentPort!;
setFfmpegTools(tools);

try {
  const stats = await runSegment(file, info, opts, (b) => {
    port.postMessage({ type: 'batch', times: b.times, rows: b.rows, n: b.n }, [b.times.buffer as ArrayBuffer, b.rows.buffer as ArrayBuffer]);
  });
  port.postMessage({ type: 'done', stats });
} catch (err) {
  const e = err as Error;
  port.postMessage({ type: 'error', message: e instanceof UserError ? e.message : String(e?.message ?? err).split('\n')[0], user: e instanceof UserError, file: e instanceof UserError ? e.file : undefined });
}
