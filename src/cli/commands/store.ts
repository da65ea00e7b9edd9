import type { Argv, CommandModule } from 'yargs';
import * as fs from 'node:fs';
import { openStore } from '../../store/store.ts';
import { keptVideoPath } from '../../privacy/purge.ts';
import { formatReport } from '../../quality/qa.ts';
import type { QualityReport } from '../../quality/assess.ts';
import type { ValidationReport } from '../../sim/index.ts';
import { formatValidation } from './validate.ts';

interface Args { store: string; id?: string; json?: boolean; repair?: boolean }

const jsonOpt = (y: Argv<object>) => y.option('json', { type: 'boolean', describe: 'print JSON' });

function short(id: string): string {
  return id.slice(0, 12);
}

/** The kept (sanitised) video of an episode, if `run --keep-video` kept one. */
function keptVideo(dir: string, id: string): string | undefined {
  return ['.mp4', '.mov', '.mkv'].map((ext) => keptVideoPath(dir, id, ext)).find((p) => fs.existsSync(p));
}

const ls: CommandModule<object, Args> = {
  command: 'ls <store>',
  describe: 'List the episodes in a store (index order)',
  builder: (y) => jsonOpt(y).positional('store', { type: 'string', demandOption: true, describe: 'store directory' }) as unknown as Argv<Args>,
  handler: (a) => {
    const store = openStore(a.store);
    const entries = store.list();
    if (a.json) { process.stdout.write(JSON.stringify(entries, null, 1) + '\n'); return; }
    const rows = entries.map((e) => [
      short(e.id), e.robot ?? '-', String(e.frames ?? '-'), String(e.fps ?? '-'), e.verdict ?? '-',
      e.feasible === true ? 'yes' : e.feasible === false ? 'no' : '-', keptVideo(store.dir, e.id) ? 'yes' : 'no', e.task ?? '-', e.createdAt,
    ]);
    const head = ['id', 'robot', 'frames', 'fps', 'quality', 'feasible', 'video', 'task', 'created'];
    const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    const fmt = (r: string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(w[i]))).join('  ');
    process.stdout.write([fmt(head), ...rows.map(fmt)].join('\n') + '\n');
    process.stdout.write(`${entries.length} episode${entries.length === 1 ? '' : 's'}\n`);
  },
};

const show: CommandModule<object, Args> = {
  command: 'show <store> <id>',
  describe: 'Show one episode: provenance, reports, files (the id may be abbreviated to a unique prefix)',
  builder: (y) => jsonOpt(y)
    .positional('store', { type: 'string', demandOption: true, describe: 'store directory' })
    .positional('id', { type: 'string', demandOption: true, describe: 'episode id or a unique prefix of it' }) as unknown as Argv<Args>,
  handler: (a) => {
    const store = openStore(a.store);
    const id = store.resolve(String(a.id));
    const rec = store.record(id);
    const files = store.files(id);
    if (a.json) { process.stdout.write(JSON.stringify({ ...rec, files }, null, 1) + '\n'); return; }
    const p = rec.provenance;
    const e = rec.entry;
    const lines = [
      `id          ${id}`,
      `task        ${p.task ?? '-'}`,
      `contributor ${p.contributor}`,
      `consent     ${p.consent.id} v${p.consent.version} [${p.consent.scopes.join(', ')}]${p.consent.expires ? ` expires ${p.consent.expires}` : ''}`,
      `created     ${p.createdAt ?? '-'}`,
      `sources     ${p.sources.map((s) => `${s.file} (sha256 ${s.sha256.slice(0, 12)}…)`).join(', ') || '-'}`,
      `robot       ${e.robot ?? '-'}   frames ${e.frames ?? '-'} @ ${e.fps ?? '-'} fps`,
      `quality     ${e.verdict ?? 'no report'}`,
      `feasible    ${e.feasible === true ? 'yes' : e.feasible === false ? 'no' : 'no report'}`,
      `video       ${keptVideo(store.dir, id) ?? 'not kept'}`,
      `parts       ${rec.parts.join(', ')}`,
      ...Object.entries(files).map(([k, v]) => `  ${k.padEnd(16)} ${v}`),
    ];
    // The reports as the qa and validate commands print them (--json has them whole).
    if (rec.quality) lines.push('', formatReport('quality', { skipped: [], reasons: [], ...rec.quality } as unknown as QualityReport));
    if (rec.validation) lines.push('', formatValidation('validation', rec.validation as unknown as ValidationReport).trimEnd());
    process.stdout.write(lines.join('\n') + '\n');
  },
};

const verify: CommandModule<object, Args> = {
  command: 'verify <store>',
  describe: 'Rehash every episode against its id and check the index; exit 1 on any problem',
  builder: (y) => jsonOpt(y)
    .positional('store', { type: 'string', demandOption: true, describe: 'store directory' })
    .option('repair', { type: 'boolean', describe: 'first clear crash leftovers: stale temp dirs, unindexed whole episodes, files of removed episodes' }) as unknown as Argv<Args>,
  handler: (a) => {
    const store = openStore(a.store);
    const repaired = a.repair ? store.repair() : undefined;
    const r = store.verify();
    if (a.json) {
      process.stdout.write(JSON.stringify({ ...r, ...(repaired ? { repaired } : {}) }, null, 1) + '\n');
    } else {
      if (repaired) {
        process.stdout.write(`repair: removed ${repaired.removedTemp.length} temp dir(s), indexed ${repaired.indexed.length}, deleted ${repaired.purged.length} removed episode(s)\n`);
      }
      for (const p of r.problems) process.stdout.write(`problem: ${p.id ? short(p.id) + ': ' : p.path ? p.path + ': ' : ''}${p.problem}\n`);
      for (const w of r.warnings) process.stdout.write(`warning: ${w.path ? w.path + ': ' : ''}${w.problem}\n`);
      process.stdout.write(`${r.ok ? 'ok' : 'FAILED'}: ${r.episodes} episode(s) on disk, ${r.indexed} indexed, ${r.problems.length} problem(s), ${r.warnings.length} warning(s)\n`);
    }
    if (!r.ok) process.exitCode = 1;
  },
};

export const command: CommandModule = {
  command: 'store <command>',
  describe: 'The episode store: list, show and verify episodes',
  builder: (y) => y.command(ls as CommandModule).command(show as CommandModule).command(verify as CommandModule).demandCommand(1),
  handler: () => {},
};
