import * as path from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { UserError } from '../../errors.ts';
import { builtinMotion, BUILTIN_MOTIONS } from '../../pose/builtin.ts';
import { importPose, POSE_FORMATS, type ImportOptions } from '../../pose/import.ts';
import { poseInfo } from '../../pose/info.ts';
import { saveTrack, type PoseTrack } from '../../pose/track.ts';

interface Args {
  file: string;
  out?: string;
  format?: string;
  scale?: number;
  fps?: number;
  'source-fps'?: number;
  'keep-tpose'?: boolean;
  hand?: string;
  layout?: string;
  up?: string;
  coordinates?: string;
  ground?: string;
  character?: string;
  json?: boolean;
}

function importOptions(y: Argv<object>): Argv<Args> {
  return y
    .positional('file', { type: 'string', demandOption: true, describe: `motion file, or builtin:<name> (${BUILTIN_MOTIONS.join(', ')})` })
    .option('format', { choices: POSE_FORMATS, describe: 'input format (default: from the extension, else the content)' })
    .option('scale', { type: 'number', describe: 'metres per file unit (BVH, TRC) or per pixel (BlazePose image landmarks); default: detected' })
    .option('fps', { type: 'number', describe: 'resample to this rate; for sources without a stated rate (.npy, JSON lists), their rate' })
    .option('source-fps', { type: 'number', describe: 'frame rate of a source that does not state one (default 30)' })
    .option('keep-tpose', { type: 'boolean', describe: "BVH: keep a synthetic T-pose first frame (dropped by default)" })
    .option('hand', { choices: ['left', 'right'] as const, describe: 'hand landmarks: which hand (default: from the file, else right)' })
    .option('layout', { choices: ['mediapipe-hand', 'blazepose33', 'coco17', 'canonical'] as const, describe: '.npy keypoint layout (default: from the joint count)' })
    .option('up', { choices: ['x', 'y', 'z', '-x', '-y', '-z'] as const, describe: "the source's up axis (default: detected or the format's convention)" })
    .option('coordinates', { choices: ['world', 'image'] as const, describe: 'BlazePose landmarks: world (metres) or image (pixels); default: detected' })
    .option('ground', { choices: ['frame', 'clip', 'none'] as const, describe: 'BlazePose: put the lowest foot point at z=0 per frame, once per clip, or not' })
    .option('character', { type: 'string', describe: 'DeepMimic character file (default: humanoid3d_character.json beside the motion)' })
    .option('json', { type: 'boolean', describe: 'print JSON' }) as unknown as Argv<Args>;
}

function load(a: Args): PoseTrack {
  if (a.file.startsWith('builtin:')) {
    const name = a.file.slice('builtin:'.length);
    if (!(BUILTIN_MOTIONS as readonly string[]).includes(name)) throw new UserError(`unknown built-in motion '${name}' (have ${BUILTIN_MOTIONS.join(', ')})`);
    return builtinMotion(name as (typeof BUILTIN_MOTIONS)[number], { fps: a.fps });
  }
  const opts: ImportOptions = {
    format: a.format as ImportOptions['format'],
    scale: a.scale,
    fps: a.fps,
    sourceFps: a['source-fps'],
    keepTPose: a['keep-tpose'],
    hand: a.hand as ImportOptions['hand'],
    layout: a.layout as ImportOptions['layout'],
    up: a.up as ImportOptions['up'],
    coordinates: a.coordinates as ImportOptions['coordinates'],
    ground: a.ground as ImportOptions['ground'],
    character: a.character,
  };
  return importPose(a.file, opts);
}

function summaryLine(i: ReturnType<typeof poseInfo>): string {
  const h = i.standing_height_m === null ? 'height n/a' : `standing height ≈ ${i.standing_height_m.toFixed(2)} m`;
  return `${i.frames} frames @ ${+i.fps.toFixed(3)} fps (${i.duration.toFixed(2)} s), ${i.joint_count} joints, ${h}, source ${i.source.format}${i.source.file ? ` ${i.source.file}` : ''}`;
}

const importCmd: CommandModule<object, Args> = {
  command: 'import <file>',
  describe: 'Import human motion (BVH, TRC, MediaPipe hand / BlazePose JSON, .npy keypoints, DeepMimic) as a pose track .npz',
  builder: (y) => importOptions(y)
    .option('out', { type: 'string', demandOption: true, describe: 'output pose track (.npz)' })
    .example('$0 pose import walk.bvh --out walk.npz', 'CMU BVH: units, up axis and T-pose frame detected')
    .example('$0 pose import markers.trc --out walk.npz --fps 30', 'OpenSim markers, resampled to 30 Hz')
    .example('$0 pose import hand.npy --layout mediapipe-hand --fps 30 --hand left --out hand.npz', '.npy keypoints'),
  handler: (a) => {
    const track = load(a);
    const out = a.out!;
    if (path.extname(out).toLowerCase() !== '.npz') throw new UserError('output must end in .npz', out);
    saveTrack(out, track);
    const info = poseInfo(track);
    if (a.json) {
      const { joints: _j, meta: _m, ...rest } = info;
      process.stdout.write(JSON.stringify({ out, ...rest, joints: info.joints }) + '\n');
    } else {
      console.log(`${out}: ${summaryLine(info)}`);
    }
  },
};

const infoCmd: CommandModule<object, Args> = {
  command: 'info <file>',
  describe: 'Frames, rate, duration, joints and standing height of a pose track or any importable motion file',
  builder: (y) => importOptions(y)
    .example('$0 pose info walk.npz --json', '')
    .example('$0 pose info builtin:pick-and-place', 'the built-in demo motion'),
  handler: (a) => {
    const info = poseInfo(load(a));
    if (a.json) {
      process.stdout.write(JSON.stringify(info, null, 2) + '\n');
      return;
    }
    console.log(summaryLine(info));
    console.log(`joints: ${info.joints.join(' ')}`);
  },
};

export const command: CommandModule = {
  command: 'pose <command>',
  describe: 'Human motion: import mocap / keypoint files as pose tracks, summarise them',
  builder: (y) => y.command(importCmd as CommandModule).command(infoCmd as CommandModule).demandCommand(1),
  handler: () => {},
};
