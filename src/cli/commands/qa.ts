import type { CommandModule } from 'yargs';
import * as path from 'node:path';
import { qaFile, formatReport } from '../../quality/qa.ts';
import { reportToJson } from '../../quality/assess.ts';
import { Progress } from '../progress.ts';

export const command: CommandModule = {
  command: 'qa <input>',
  describe: 'Quality gate for one clip: verdict (pass/flag/reject) with every reason and the frames concerned',
  builder: (y) =>
    y
      .positional('input', { type: 'string', demandOption: true, describe: 'pose track (.npz) or video (captured first)' })
      .option('task', { type: 'string', describe: 'task script id (configs/tasks) or YAML file' })
      .option('video', { type: 'string', describe: 'the clip\'s video, probed for timing and image size (for a track input)' })
      .option('thresholds', { type: 'string', describe: 'thresholds YAML instead of configs/quality.yaml (task overrides still apply)' })
      .option('json', { type: 'boolean', default: false, describe: 'print the full report as JSON (masks as frame ranges)' })
      .example('$0 qa clip.track.npz --task wipe-table', 'assess a pose track against a task script'),
  handler: async (argv) => {
    const input = String(argv.input);
    // A video is captured first (about a minute per minute of footage here): show it, on stderr.
    const progress = new Progress({ every: 10 });
    const r = await qaFile(input, {
      task: argv.task as string | undefined, video: argv.video as string | undefined, thresholds: argv.thresholds as string | undefined,
      onProgress: (p) => progress.update(`${path.basename(input)} capture`, p.frames, p.total, p.elapsed > 0 ? `${(p.frames / p.elapsed).toFixed(1)} fps` : ''),
    });
    progress.done();
    if (argv.json) process.stdout.write(JSON.stringify(reportToJson(r), null, 2) + '\n');
    else process.stdout.write(formatReport(path.basename(input), r) + '\n');
  },
};
