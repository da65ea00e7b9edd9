import * as os from 'node:os';
import type { CommandModule } from 'yargs';
import { loadPseudonymKey } from '../../privacy/pseudonym.ts';
import { checkRunArguments, runClip, runExitCode, type ClipResult } from '../../pipeline/run.ts';
import { Progress } from '../progress.ts';

interface Args {
  inputs: string[]; robot: string; hand?: string; store: string; consent?: string; task?: string; scope: string;
  'key-file'?: string; 'keep-video'?: boolean; 'keep-audio'?: boolean; 'keep-rejected'?: boolean; mode: string; json?: boolean;
  'max-frames'?: number; balance?: boolean; physics?: string;
}

/** One line per clip for the summary. */
export function clipLine(r: ClipResult): string {
  const head = `${r.input}: ${r.status}${r.id ? ` ${r.id.slice(0, 12)}` : ''}`;
  const facts = [r.frames !== undefined ? `${r.frames} frames` : '', r.quality ? `quality ${r.quality}` : '', r.feasible === undefined || r.feasible === null ? '' : r.feasible ? 'feasible' : 'infeasible'].filter(Boolean).join(', ');
  return `${head}${facts ? ` (${facts})` : ''}`;
}

export const command: CommandModule<object, Args> = {
  command: 'run <inputs..>',
  describe: 'The pipeline: capture or import → quality gate → retarget → validate → store, one episode per input',
  builder: (y) => y
    .positional('inputs', { type: 'string', array: true, demandOption: true, describe: 'videos, mocap (BVH, TRC), keypoint files or pose tracks' })
    .option('robot', { type: 'string', demandOption: true, describe: 'humanoid or hand URDF' })
    .option('hand', { type: 'string', describe: 'a separate dexterous-hand URDF driven by the right hand' })
    .option('store', { type: 'string', demandOption: true, describe: 'episode store directory (created if missing)' })
    .option('consent', { type: 'string', describe: 'consent manifest (default: the sidecar beside each input, e.g. clip.consent.json)' })
    .option('task', { type: 'string', describe: 'task id (configs/tasks) or task YAML' })
    .option('scope', { type: 'string', default: 'robot-training', describe: 'the use consent must grant' })
    .option('key-file', { type: 'string', describe: `pseudonym key file (default: $REEL2REAL_PSEUDONYM_KEY)` })
    .option('keep-video', { type: 'boolean', describe: 'keep the video, sanitised (metadata stripped, faces blurred, verified)' })
    .option('keep-audio', { type: 'boolean', describe: 'with --keep-video: keep the audio track' })
    .option('keep-rejected', { type: 'boolean', describe: 'store clips the quality gate rejects (marked)' })
    .option('balance', { type: 'boolean', describe: 'keep the robot\'s centre of mass over its stance feet while retargeting' })
    .option('physics', { choices: ['on', 'off'], default: 'on', describe: 'physics-consistent stage after retargeting (off: store the kinematic retarget)' })
    .option('mode', { choices: ['assisted', 'unassisted', 'both'], default: 'both', describe: 'closed-loop validation mode' })
    .option('max-frames', { type: 'number', describe: 'videos: only the first N frames' })
    .option('json', { type: 'boolean', describe: 'print the results as JSON' })
    .example('$0 run clip.mp4 --robot g1.urdf --store out/store --consent clip.consent.json --task wipe-table', ''),
  handler: async (a) => {
    checkRunArguments(a.inputs, a);
    const key = loadPseudonymKey({ keyFile: a['key-file'] });
    const progress = new Progress();
    const results: ClipResult[] = [];
    const n = a.inputs.length;
    for (let i = 0; i < n; i++) {
      const input = a.inputs[i];
      const label = `[${i + 1}/${n}] ${input}`;
      const r = await runClip(input, {
        robot: a.robot, hand: a.hand, store: a.store, consent: a.consent, task: a.task, scope: a.scope, key,
        actor: os.userInfo().username, keepVideo: a['keep-video'], keepAudio: a['keep-audio'], keepRejected: a['keep-rejected'],
        mode: a.mode as 'both', balance: a.balance, physics: a.physics !== 'off', capture: { maxFrames: a['max-frames'] },
        onStage: (_c, stage, state, detail) => {
          if (state === 'start') progress.update(label, 0, 0, `${stage}…`);
          else progress.log(`${label} ${stage}: ${detail ?? 'done'}`);
        },
        onProgress: (_c, stage, done, total) => progress.update(`${label} ${stage}`, done, total),
      });
      progress.done();
      results.push(r);
      if (!a.json) {
        console.log(clipLine(r));
        for (const reason of r.reasons) console.log(`    ${reason}`);
      }
    }
    const count = (s: ClipResult['status']) => results.filter((r) => r.status === s).length;
    if (a.json) process.stdout.write(JSON.stringify({ results }, null, 2) + '\n');
    else console.log(`\n${n} clip(s): ${count('stored')} stored (${results.filter((r) => r.feasible).length} feasible), ${count('rejected')} rejected by quality, ${count('refused')} refused by consent, ${count('error')} failed → ${a.store}`);
    // Exit codes (README): 0 every input stored (feasible or not); 1 an input failed (bad file) — or bad
    // arguments; 3 none failed but an input was refused (consent) or rejected (quality); 2 internal error.
    process.exitCode = runExitCode(results);
  },
};
