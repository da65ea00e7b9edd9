/**
 * The `reel2real` CLI. Thin by design: every command is a library call. Each file in ./commands exports
 * `command` (a yargs CommandModule, or a list of them); they are registered in file-name order, so adding a
 * command is adding a file.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import yargs, { type CommandModule } from 'yargs';
import { UserError, safeText } from '../errors.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
/** .ts when run from the sources (tsx, vitest), .js when run from the compiled dist/ (bin/build.mjs). */
const ext = path.extname(fileURLToPath(import.meta.url));

/** dist/cli/commands.json, written by bin/build.mjs: what each compiled command module defines. */
interface CommandIndexEntry { file: string; commands: { command: string; describe: string | false; aliases: string[] }[] }

function readCommandIndex(): CommandIndexEntry[] | null {
  if (ext !== '.js') return null;
  try {
    return JSON.parse(fs.readFileSync(path.join(here, 'commands.json'), 'utf8')) as CommandIndexEntry[];
  } catch {
    return null;
  }
}

async function importCommands(dir: string, files: string[]): Promise<CommandModule[]> {
  const out: CommandModule[] = [];
  for (const f of files) {
    const mod = await import(pathToFileURL(path.join(dir, f)).href);
    const c = mod.command as CommandModule | CommandModule[] | undefined;
    if (!c) continue;
    out.push(...(Array.isArray(c) ? c : [c]));
  }
  return out;
}

/**
 * Load the command modules. When the first argument names a command, only the module defining it is loaded
 * (`reel2real robot …` → commands/robot.ts, or .js in dist/), so a command does not pay for every other
 * command's imports (TF.js, Rapier, ZeroMQ). Otherwise (--help, --version, a typo) the compiled CLI lists the
 * commands from dist/cli/commands.json without importing any module (their builders and handlers are never
 * reached on that path); run from the sources, it imports them all.
 */
async function loadCommands(first?: string): Promise<CommandModule[]> {
  const dir = path.join(here, 'commands');
  const word = first && /^[a-z][a-z0-9-]*$/.test(first) ? first : undefined;
  const index = readCommandIndex();
  if (index) {
    const named = word && index.find((e) => e.commands.some((c) => c.command.split(' ')[0] === word || c.aliases.includes(word)));
    if (named) return importCommands(dir, [named.file]);
    return index.flatMap((e) => e.commands.map((c) => ({ command: c.command, describe: c.describe, aliases: c.aliases, handler: () => {} })));
  }
  let files = fs.readdirSync(dir).filter((f) => f.endsWith(ext) && !f.endsWith(`.test${ext}`)).sort();
  if (word && files.includes(`${word}${ext}`)) files = [`${word}${ext}`];
  return importCommands(dir, files);
}

/** One line for any error: `reel2real: <file>: <problem>`. */
export function formatError(err: unknown): string {
  if (err instanceof UserError) return `reel2real: ${err.message}`;
  const e = err as Error;
  const msg = (e && e.message ? e.message : String(err)).split('\n')[0];
  return `reel2real: internal error: ${safeText(msg, 300)}`;
}

/**
 * yargs turns a number option given text ("--port abc") into NaN and lets it through: refuse it, naming what
 * was given, before any command runs.
 */
function refuseNaN(args: string[]) {
  return (parsed: Record<string, unknown>): void => {
    for (const [key, value] of Object.entries(parsed)) {
      if (typeof value !== 'number' || !Number.isNaN(value) || /[A-Z]/.test(key) || key.length < 2) continue;
      const i = args.findIndex((a) => a === `--${key}` || a.startsWith(`--${key}=`));
      const given = i < 0 ? String(value) : args[i].includes('=') ? args[i].slice(args[i].indexOf('=') + 1) : args[i + 1];
      throw new UserError(`--${key} must be a number, got ${JSON.stringify(given ?? '')}`);
    }
  };
}

/**
 * Before running any command, yargs renders that command's whole help text (usage.cacheHelpMessage) so it can
 * show it should the command fail later. Our fail() never shows help, so that rendering (string widths and
 * wrapping of every option: 30-90 ms of each command's start-up here) is dropped; help asked for is rendered
 * when asked, as before. Internal yargs API (18.x): if it is not there, nothing changes.
 */
function skipHelpCache(y: unknown): void {
  const usage = (y as { getInternalMethods?: () => { getUsageInstance?: () => { cacheHelpMessage?: () => void } } })
    .getInternalMethods?.().getUsageInstance?.();
  if (usage && typeof usage.cacheHelpMessage === 'function') usage.cacheHelpMessage = () => {};
}

export async function main(argv: string[]): Promise<number> {
  let failed: unknown = null;
  try {
    const commands = await loadCommands(argv[0]);
    let y = yargs(argv)
      .scriptName('reel2real')
      .usage('$0 <command> [options]\n\nTurn footage of people doing everyday tasks into robot demonstrations.')
      .strict()
      .demandCommand(1, 'Name a command; see --help.')
      .recommendCommands()
      .help()
      .alias('h', 'help')
      .version()
      .wrap(Math.min(110, process.stdout.columns || 110))
      .fail((msg, err) => {
        throw err ?? new UserError(msg);
      })
      .middleware(refuseNaN(argv));
    skipHelpCache(y);
    for (const c of commands) y = y.command(c);
    await y.parseAsync();
  } catch (err) {
    failed = err;
  }
  if (failed) {
    process.stderr.write(formatError(failed) + '\n');
    if (process.env.REEL2REAL_DEBUG && failed instanceof Error) process.stderr.write(String(failed.stack) + '\n');
    return failed instanceof UserError ? 1 : 2;
  }
  return Number(process.exitCode ?? 0);
}
