import type { CommandModule } from 'yargs';
import * as os from 'node:os';
import * as path from 'node:path';
import { UserError } from '../../errors.ts';
import { loadUrdf } from '../../robot/urdf.ts';
import { listCorpus, benchQuality, benchGate, gateMarkdown, writeReport, parseLevels, keyFigures, type BenchRun } from '../../bench/index.ts';
import { writeFileAtomic } from '../../io/atomic.ts';
import { simOutcome, type SimMode } from '../../bench/sim.ts';

export function machineLine(): string {
  const cpus = os.cpus();
  return `${cpus.length}× ${cpus[0]?.model?.trim() ?? 'cpu'}, ${(os.totalmem() / 2 ** 30).toFixed(1)} GB, ${os.platform()} ${os.release()}, Node ${process.version}`;
}

const quality: CommandModule = {
  command: 'quality <corpus..>',
  describe: 'Benchmark quality metrics and the gate against simulation success, with controlled degradations',
  builder: (y) =>
    y
      .positional('corpus', { type: 'string', array: true, demandOption: true, describe: 'clip files or directories (BVH, TRC, landmark JSON, .npy, track .npz; videos with --videos), or builtin:pick-and-place' })
      .option('robot', { type: 'string', array: true, describe: 'robot URDF (repeat for several robots in one report); not needed with --gate-only' })
      .option('gate-only', { type: 'boolean', default: false, describe: "the gate's own dose-response: verdicts on the clips and their degradations, no retargeting or simulation (writes <out>/gate.json and gate.md)" })
      .option('out', { type: 'string', demandOption: true, describe: 'output directory for report.html and report.json' })
      .option('levels', { type: 'string', array: true, describe: 'degradation strengths, e.g. noise=5,15,30 drop=0.1 fps= (empty = skip that type); types: noise (mm), spikes (fraction), drop (fraction), occlusion (fraction), fps (factor)' })
      .option('degrade', { type: 'boolean', default: true, describe: 'degrade the clips that pass the gate (--no-degrade: only the clips as they are)' })
      .option('max-seconds', { type: 'number', default: 10, describe: 'crop every clip to its first N seconds' })
      .option('fps', { type: 'number', default: 30, describe: 'resample faster clips down to this rate' })
      .option('seed', { type: 'number', default: 1, describe: 'seed of the degradations' })
      .option('mode', { type: 'string', choices: ['assisted', 'unassisted', 'both'], default: 'both', describe: 'simulation validation mode' })
      .option('physics', { type: 'string', choices: ['on', 'off'], default: 'on', describe: 'physics-consistent stage between retarget and validation (off: validate the kinematic retarget)' })
      .option('videos', { type: 'boolean', default: false, describe: 'include videos found in corpus directories (captured first: slow)' })
      .option('json', { type: 'boolean', default: false, describe: 'print the statistics as JSON on stdout' })
      .example('$0 bench quality ../shared/data/motions --robot h1.urdf --out bench-out', 'every clip and its degradations on H1')
      .example('$0 bench quality builtin:pick-and-place clip.bvh --robot robots/r2r_humanoid/r2r_humanoid.urdf --out out --levels noise=10,30 spikes= drop= occlusion= fps=2', 'a quick run'),
  handler: async (argv) => {
    const maxSeconds = Number(argv['max-seconds']);
    const fps = Number(argv.fps);
    if (!(maxSeconds > 0)) throw new UserError(`--max-seconds must be > 0, got ${argv['max-seconds']}`);
    if (!(fps > 0)) throw new UserError(`--fps must be > 0, got ${argv.fps}`);
    const corpus = (argv.corpus as string[]).map(String);
    const clips = listCorpus(corpus, { videos: !!argv.videos });
    if (!clips.length) throw new UserError('no clips found in the corpus', corpus.join(' '));
    let levels = parseLevels(argv.levels as string[] | undefined);
    if (argv.degrade === false) levels = { noise: [], spikes: [], drop: [], occlusion: [], fps: [] };
    if (argv['gate-only']) {
      const run = await benchGate(clips, {
        levels, maxSeconds, fps, seed: Number(argv.seed),
        onRow: (r) => process.stderr.write(`  ${r.clip} ${r.degradation === 'none' ? 'clean' : `${r.degradation}=${r.level}`}: gate ${r.verdict} ${Object.keys(r.reasons).join(',')}\n`),
        onSkip: (s) => process.stderr.write(`  skip ${s.clip}: ${s.reason}\n`),
      });
      const md = gateMarkdown(run);
      writeFileAtomic(path.join(String(argv.out), 'gate.json'), JSON.stringify(run));
      writeFileAtomic(path.join(String(argv.out), 'gate.md'), md + '\n');
      process.stdout.write(argv.json ? JSON.stringify(run) + '\n' : md + '\n');
      return;
    }
    if (!(argv.robot as string[] | undefined)?.length) throw new UserError('name a robot with --robot <urdf> (or use --gate-only)');
    const robots = (argv.robot as string[]).map((f) => loadUrdf(String(f)));
    const runs: BenchRun[] = [];
    for (const robot of robots) {
      const outcome = await simOutcome(robot, { mode: argv.mode as SimMode });
      process.stderr.write(`bench: ${robot.name}: ${clips.length} clip(s)\n`);
      runs.push(await benchQuality(clips, robot, {
        outcome, levels, maxSeconds, fps, seed: Number(argv.seed), physics: argv.physics !== 'off',
        onRow: (r, n) => process.stderr.write(`  [${n}] ${r.clip} ${r.degradation === 'none' ? 'clean' : `${r.degradation}=${r.level}`}: gate ${r.verdict}, ${r.physics ? `physics ${r.physics}, ` : ''}${r.success ? 'success' : `failure${r.failed_stage === 'retarget' || r.failed_stage === 'physics' ? ` (${r.failed_stage})` : ''}`} (${r.seconds.toFixed(1)} s)\n`),
        onSkip: (s) => process.stderr.write(`  skip ${s.clip}: ${s.reason}\n`),
      }));
    }
    const command = ['reel2real', 'bench', 'quality', ...process.argv.slice(process.argv.indexOf('quality') + 1)].join(' ');
    const out = writeReport(String(argv.out), runs, { command, machine: machineLine(), corpus, generated: new Date().toISOString() });
    if (argv.json) {
      process.stdout.write(JSON.stringify({ html: out.html, json: out.json, robots: out.results.map((r) => ({ robot: r.run.robot.name, ...r.analysis })) }, null, 1) + '\n');
      return;
    }
    for (const { run, analysis: a } of out.results) {
      process.stdout.write(`${run.robot.name}: ${a.n} runs, ${a.successes} success, ${a.failures} failure (${a.failed_in_retarget} in retargeting), ${run.skipped.length} clip(s) skipped\n`);
      if (a.checks.length) process.stdout.write(`  validation checks failed: ${a.checks.map((c) => `${c.kind} ${c.failed}/${a.n}`).join(', ')}\n`);
      const fig = keyFigures(a.figures, 1)[0];
      process.stdout.write(`  predictor                          AUROC(fail)  ρ(success)  partial ρ|len${fig ? `  ρ(${fig})` : ''}\n`);
      for (const p of a.predictors) {
        const f = (v: number | null | undefined) => (v === null || v === undefined ? '     –' : v.toFixed(3).padStart(6));
        process.stdout.write(`  ${p.key.padEnd(34)} ${f(p.auroc_failure)}       ${f(p.spearman_success)}      ${f(p.partial_spearman_success_given_duration)}${fig ? `       ${f(p.spearman_figures[fig])}` : ''}\n`);
      }
      for (const d of a.dose_response) {
        process.stdout.write(`  ${d.degradation.padEnd(10)} success rate by level: ${d.levels.map((l) => `${l.level}: ${l.successes}/${l.n}`).join(', ')}\n`);
      }
    }
    process.stdout.write(`report: ${path.resolve(out.html)}\n        ${path.resolve(out.json)}\n`);
  },
};

export const command: CommandModule = {
  command: 'bench',
  describe: 'Benchmarks (quality: data quality against simulation success)',
  builder: (y) => y.command(quality).demandCommand(1, 'Name a benchmark: quality'),
  handler: () => {},
};
