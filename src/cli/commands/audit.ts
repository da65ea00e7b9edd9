import type { CommandModule } from 'yargs';
import { verifyAudit } from '../../privacy/audit.ts';
import { loadOperatorKey } from '../../privacy/pseudonym.ts';

const verify: CommandModule = {
  command: 'verify <target>',
  describe: 'Check the keyed hash chain of an audit log (a store directory or an audit.jsonl); exit 1 when tampered',
  builder: (y) =>
    y
      .positional('target', { type: 'string', demandOption: true, describe: 'store directory or audit .jsonl file' })
      .option('key-file', { type: 'string', describe: 'operator key file (else $REEL2REAL_PSEUDONYM_KEY): the chain is keyed' })
      .option('json', { type: 'boolean', default: false })
      .example('$0 audit verify ./store', 'detect edited, forged, rewritten, deleted, reordered or cut-off entries'),
  handler: (argv) => {
    const r = verifyAudit(String(argv.target), loadOperatorKey({ keyFile: argv['key-file'] as string | undefined }));
    if (argv.json) process.stdout.write(JSON.stringify(r, null, 2) + '\n');
    else if (r.ok) process.stdout.write(`${r.log}: intact, ${r.entries} entries, last seq ${r.last?.seq ?? '-'} (head ${r.head})\n`);
    else {
      process.stdout.write(`${r.log}: TAMPERED (${r.problems.length} problem${r.problems.length > 1 ? 's' : ''})\n`);
      for (const p of r.problems) process.stdout.write(`  line ${p.line}${p.seq !== undefined ? ` (seq ${p.seq})` : ''}: ${p.problem}\n`);
    }
    if (!r.ok) process.exitCode = 1;
  },
};

export const command: CommandModule = {
  command: 'audit <command>',
  describe: 'The append-only, hash-chained audit log',
  builder: (y) => y.command(verify).demandCommand(1, 'Name an audit subcommand; see --help.'),
  handler: () => {},
};
