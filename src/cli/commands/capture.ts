import type { CommandModule } from 'yargs';
import { UserError } from '../../errors.ts';
import { captureVideo, type CaptureProgress } from '../../capture/capture.ts';
import { saveTrack } from '../../pose/track.ts';

function bar(p: CaptureProgress): string {
  const frac = Math.min(1, p.frames / Math.max(1, p.total));
  const width = 30;
  const filled = Math.round(frac * width);
  const fps = p.elapsed > 0 ? p.frames / p.elapsed : 0;
  const eta = fps > 0 ? Math.max(0, (p.total - p.frames) / fps) : NaN;
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${p.frames}/${p.total} frames ${fps.toFixed(1)} fps${Number.isFinite(eta) ? ` eta ${eta.toFixed(0)}s` : ''}`;
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

export const command: CommandModule = {
  command: 'capture <video>',
  describe: 'Extract 3D body and hand poses from a video (CPU, no Python): writes a pose track .npz',
  builder: (y) =>
    y
      .positional('video', { type: 'string', describe: 'video file (MP4/MOV/MKV/WebM; H.264/H.265/VP9/...)' })
      .option('out', { type: 'string', demandOption: true, describe: 'output pose track (.npz)' })
      .option('body', { type: 'boolean', describe: 'track the body (default: body and hands; naming one selects only it)' })
      .option('hands', { type: 'boolean', describe: 'track both hands' })
      .option('body-model', { choices: ['lite', 'full', 'heavy'] as const, default: 'full', describe: 'BlazePose landmark model' })
      .option('hand-model', { choices: ['lite', 'full'] as const, default: 'full', describe: 'hand landmark model' })
      .option('workers', { type: 'number', describe: 'worker threads, one time segment each (default: one per core)' })
      .option('start', { type: 'number', describe: 'start time, seconds' })
      .option('end', { type: 'number', describe: 'end time, seconds' })
      .option('max-frames', { type: 'number', describe: 'only the first N frames' })
      .option('filter', { type: 'boolean', default: true, describe: 'One Euro smoothing (--no-filter: raw model output)' })
      .option('json', { type: 'boolean', default: false, describe: 'print the summary as JSON' })
      .example('$0 capture clip.mp4 --out clip.npz', 'body and both hands')
      .example('$0 capture hands.mp4 --hands --out hands.npz', 'hands only (wrist-centred)'),
  handler: async (argv) => {
    const video = String(argv.video);
    const out = String(argv.out);
    if (!out.endsWith('.npz')) throw new UserError('output must end in .npz', out);
    const named = argv.body !== undefined || argv.hands !== undefined;
    const body = named ? Boolean(argv.body) : true;
    const hands = named ? Boolean(argv.hands) : true;
    for (const k of ['workers', 'max-frames'] as const) {
      if (argv[k] !== undefined && !(Number.isInteger(argv[k]) && Number(argv[k]) > 0)) throw new UserError(`--${k} must be a positive integer, got ${argv[k]}`);
    }
    const tty = Boolean(process.stderr.isTTY) && !argv.json;
    let lastLine = 0;
    const onProgress = (p: CaptureProgress) => {
      const now = Date.now();
      if (tty) {
        if (now - lastLine < 200 && p.frames < p.total) return;
        lastLine = now;
        process.stderr.write(`\r${bar(p)}\x1b[K`);
      } else if (!argv.json && now - lastLine > 10_000) {
        lastLine = now;
        process.stderr.write(`capture: ${p.frames}/${p.total} frames, ${(p.frames / Math.max(1e-9, p.elapsed)).toFixed(1)} fps\n`);
      }
    };
    const track = await captureVideo(video, {
      body, hands,
      bodyModel: argv['body-model'] as 'lite' | 'full' | 'heavy',
      handModel: argv['hand-model'] as 'lite' | 'full',
      workers: argv.workers as number | undefined,
      start: argv.start as number | undefined,
      end: argv.end as number | undefined,
      maxFrames: argv['max-frames'] as number | undefined,
      filter: argv.filter === false ? false : undefined,
      onProgress,
    });
    if (tty) process.stderr.write('\n');
    saveTrack(out, track);
    const s = track.summary;
    const meta = track.meta as { video: Record<string, unknown>; empty_reason?: string };
    if (argv.json) {
      process.stdout.write(JSON.stringify({ out, ...s, video: meta.video, ...(meta.empty_reason ? { empty_reason: meta.empty_reason } : {}) }) + '\n');
      return;
    }
    const v = meta.video;
    const lines = [
      `${out}: ${s.frames} frames of ${v.width}x${v.height} ${v.codec}${v.rotation ? ` (rotated ${v.rotation}°)` : ''}, ${s.fps.toFixed(1)} fps achieved (${s.seconds.toFixed(1)} s, ${s.backend}${s.simd ? ' SIMD' : ''}, ${s.workers} worker${s.workers > 1 ? 's' : ''})`,
      `  found: ${body ? `body ${pct(s.rates.body)}` : ''}${body && hands ? ', ' : ''}${hands ? `left hand ${pct(s.rates.left_hand)}, right hand ${pct(s.rates.right_hand)}` : ''} of frames`,
      `  model calls: ${body ? `body ${s.calls.body_landmark} + detector ${s.calls.body_detector}` : ''}${body && hands ? ', ' : ''}${hands ? `hand ${s.calls.hand_landmark} + palm detector ${s.calls.palm_detector}` : ''}`,
    ];
    const cap = track.meta!.capture as { decoder_warnings?: string[] };
    if (v.truncated) lines.push('  warning: the file is truncated: frames after the cut are missing');
    if (cap.decoder_warnings?.length) lines.push(`  warning: decoder: ${cap.decoder_warnings[0]}`);
    if (meta.empty_reason) lines.push(`  warning: ${meta.empty_reason}; the track is empty (all joints missing)`);
    process.stdout.write(lines.join('\n') + '\n');
  },
};
