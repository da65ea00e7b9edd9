import type { Argv, CommandModule } from 'yargs';
import { loadOperatorKey } from '../../privacy/pseudonym.ts';
import { exportDataset, EXPORT_FORMATS, type ExportFormat } from '../../export/index.ts';

interface Args {
  stores: string[];
  format: ExportFormat;
  out: string;
  robot?: string;
  'only-feasible'?: boolean;
  task?: string[];
  overwrite?: boolean;
  'key-file'?: string;
  'default-task'?: string;
  json?: boolean;
}

export const command: CommandModule<object, Args> = {
  command: 'export <stores..>',
  describe: 'Export stored episodes as a LeRobot v3.0 / v2.1 dataset or per-clip motion .npz files (several stores: merged into one dataset)',
  builder: (y) => y
    .positional('stores', { type: 'string', array: true, demandOption: true, describe: 'store directories (e.g. the shards of a batch run)' })
    .option('format', { choices: EXPORT_FORMATS, demandOption: true, describe: 'lerobot-v3 (LeRobot today), lerobot-v2.1 (+ GR00T modality.json), motion-npz (one .npz per clip)' })
    .option('out', { type: 'string', demandOption: true, describe: 'output directory (written atomically; must not exist unless --overwrite)' })
    .option('robot', { type: 'string', describe: 'only episodes of this robot (needed when the stores hold several)' })
    .option('only-feasible', { type: 'boolean', describe: 'only episodes the physics validation found feasible' })
    .option('task', { type: 'string', array: true, describe: 'only episodes of this task (exact text; repeat for several)' })
    .option('overwrite', { type: 'boolean', describe: 'replace an existing output directory' })
    .option('default-task', { type: 'string', describe: 'task text for episodes without one (default "unlabeled")' })
    .option('key-file', { type: 'string', describe: 'operator key file (else $REEL2REAL_PSEUDONYM_KEY): the export is logged in each store\'s keyed audit log' })
    .option('json', { type: 'boolean', describe: 'print the summary as JSON' })
    .example('$0 export runs/store --format lerobot-v3 --out datasets/g1-wipe --only-feasible', '') as unknown as Argv<Args>,
  handler: async (a) => {
    const s = await exportDataset(a.stores, {
      format: a.format, out: a.out, robot: a.robot, onlyFeasible: a['only-feasible'], tasks: a.task, overwrite: a.overwrite, defaultTask: a['default-task'],
      key: a['key-file'] ? loadOperatorKey({ keyFile: String(a['key-file']) }) : undefined,
    });
    if (a.json) { process.stdout.write(JSON.stringify(s, null, 1) + '\n'); return; }
    process.stdout.write(
      `exported ${s.episodes} episode(s), ${s.frames} frames of ${s.robot} at ${s.fps} fps as ${s.format} to ${s.out}\n` +
      `tasks: ${s.tasks.map((t) => JSON.stringify(t)).join(', ')}\n` +
      (s.format === 'motion-npz' ? '' : `features: ${s.features.join(', ')}\n`) +
      s.notes.map((n) => `note: ${n}\n`).join('') +
      (s.skipped.length ? `left out ${s.skipped.length}: ${summarise(s.skipped.map((x) => x.reason))}\n` : ''),
    );
  },
};

function summarise(reasons: string[]): string {
  const counts = new Map<string, number>();
  for (const r of reasons) counts.set(r, (counts.get(r) ?? 0) + 1);
  return [...counts].map(([r, n]) => `${n} ${r}`).join(', ');
}
