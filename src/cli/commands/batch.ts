import * as os from 'node:os';
import type { CommandModule } from 'yargs';
import { UserError } from '../../errors.ts';
import { loadPseudonymKey } from '../../privacy/pseudonym.ts';
import { resolveShard, runBatch, runBatchWorker } from '../../pipeline/batch.ts';
import { runExitCode } from '../../pipeline/run.ts';

interface Args {
  source: string; store: string; robot: string; hand?: string; task?: string; scope: string; 'key-file'?: string;
  shard?: number; of?: number; jobs?: number; worker?: string; mode: string; 'keep-video'?: boolean; 'keep-rejected'?: boolean;
}

export const command: CommandModule<object, Args> = {
  command: 'batch <source>',
  describe: 'Run the pipeline on shard i of N of a manifest or directory (Slurm arrays, Kubernetes Indexed Jobs); skips what is done',
  builder: (y) => y
    .positional('source', { type: 'string', demandOption: true, describe: 'a manifest (JSON/YAML list of {input, consent?, task?}) or a directory of recordings with consent sidecars' })
    .option('store', { type: 'string', demandOption: true, describe: 'episode store directory' })
    .option('robot', { type: 'string', demandOption: true, describe: 'humanoid or hand URDF' })
    .option('hand', { type: 'string', describe: 'a separate dexterous-hand URDF (right hand)' })
    .option('task', { type: 'string', describe: 'task for items that name none' })
    .option('scope', { type: 'string', default: 'robot-training', describe: 'the use consent must grant' })
    .option('key-file', { type: 'string', describe: 'pseudonym key file (default: $REEL2REAL_PSEUDONYM_KEY)' })
    .option('shard', { type: 'number', describe: 'this worker\'s shard (default: $SLURM_ARRAY_TASK_ID or $JOB_COMPLETION_INDEX, else 0)' })
    .option('of', { type: 'number', describe: 'number of shards (default: $SLURM_ARRAY_TASK_COUNT or $REEL2REAL_SHARDS, else 1)' })
    .option('jobs', { type: 'number', describe: 'processes on this machine (default: one per core)' })
    .option('worker', { type: 'string', hidden: true })
    .option('mode', { choices: ['assisted', 'unassisted', 'both'], default: 'both' })
    .option('keep-video', { type: 'boolean' })
    .option('keep-rejected', { type: 'boolean' })
    .example('$0 batch recordings/ --store /scratch/store --robot g1.urdf --shard 3 --of 16', '')
    .example('SLURM_ARRAY_TASK_ID=3 SLURM_ARRAY_TASK_COUNT=16 $0 batch manifest.yaml --store s --robot g1.urdf', ''),
  handler: async (a) => {
    const { shard, of } = resolveShard({ shard: a.shard, of: a.of });
    const key = loadPseudonymKey({ keyFile: a['key-file'] });
    const opts = {
      robot: a.robot, hand: a.hand, store: a.store, task: a.task, scope: a.scope, key, actor: os.userInfo().username,
      mode: a.mode as 'both', keepVideo: a['keep-video'], keepRejected: a['keep-rejected'], shard, of, jobs: a.jobs,
    };
    if (a.worker) {
      const m = /^(\d+)\/(\d+)$/.exec(a.worker);
      if (!m) throw new UserError(`--worker must be k/n, got ${a.worker}`);
      const s = await runBatchWorker(a.source, { ...opts, worker: { index: Number(m[1]), of: Number(m[2]) } });
      process.exitCode = runExitCode(s.results);
      return;
    }
    // Children get the same arguments (minus the shard flags, which are passed explicitly).
    const argv = process.argv.slice(2).filter((x, i, all) => !['--shard', '--of', '--jobs'].includes(x) && !['--shard', '--of', '--jobs'].includes(all[i - 1]) && !/^--(shard|of|jobs)=/.test(x));
    const { exitCode } = await runBatch(a.source, opts, argv);
    process.exitCode = exitCode;
  },
};
