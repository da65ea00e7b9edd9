import type { CommandModule } from 'yargs';
import { purgeStore } from '../../privacy/purge.ts';
import { UserError } from '../../errors.ts';
import { operatorKeyFromEnv, loadOperatorKey } from '../../privacy/pseudonym.ts';

export const command: CommandModule = {
  command: 'purge <store>',
  describe: 'Remove everything derived from recordings whose consent expired or was withdrawn, or whose retention is over',
  builder: (y) =>
    y
      .positional('store', { type: 'string', demandOption: true })
      .option('consents', { type: 'array', string: true, describe: 'current consent manifests (files or directories) with withdrawals' })
      .option('exports', { type: 'array', string: true, describe: 'directories holding exported datasets to search' })
      .option('dry-run', { type: 'boolean', default: false, describe: 'list what would be removed, remove nothing' })
      .option('at', { type: 'string', describe: 'judge consent as of this ISO date instead of now' })
      .option('key-file', { type: 'string', describe: 'operator key file (else $REEL2REAL_PSEUDONYM_KEY): purges are logged in the keyed audit log' })
      .option('json', { type: 'boolean', default: false })
      .example('$0 purge ./store --consents ./consents', 'apply withdrawals and expiries'),
  handler: (argv) => {
    const now = argv.at ? new Date(String(argv.at)) : new Date();
    if (Number.isNaN(now.getTime())) throw new UserError(`--at is not a date: ${argv.at}`);
    const r = purgeStore(String(argv.store), {
      now, consents: (argv.consents as string[] | undefined) ?? [], exports: (argv.exports as string[] | undefined) ?? [], dryRun: Boolean(argv['dry-run']),
      key: argv['key-file'] ? loadOperatorKey({ keyFile: String(argv['key-file']) }) : operatorKeyFromEnv() ?? undefined,
    });
    if (argv.json) { process.stdout.write(JSON.stringify(r, null, 2) + '\n'); return; }
    const verb = r.dryRun ? 'would remove' : 'removed';
    if (!r.episodes.length) { process.stdout.write(`${r.store}: nothing to purge (${r.kept} episode(s) with consent in force)\n`); return; }
    for (const e of r.episodes) process.stdout.write(`episode ${e.id.slice(0, 12)}: ${e.reason}\n`);
    for (const p of r.removed) process.stdout.write(`  ${verb} ${p}\n`);
    process.stdout.write(`${r.store}: ${verb} ${r.episodes.length} episode(s), ${r.exports.length} exported dataset(s), ${r.removed.length} path(s); ${r.kept} kept\n`);
  },
};
