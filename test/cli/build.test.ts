/**
 * The compiled CLI (bin/build.mjs → dist/, run by bin/reel2real.js) against the TypeScript sources it is built
 * from: the vitest global setup builds it, so CLI tests run it; it is only used while up to date.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain ES module without type declarations
import { distIsFresh } from '../../bin/fresh.mjs';
import { moduleLog, runCli } from '../helpers/cli.ts';
import { PROJECT_ROOT } from '../helpers/shared.ts';

describe('compiled CLI (dist/)', () => {
  it('is up to date after the test setup, so CLI tests run the compiled code', () => {
    expect(distIsFresh(PROJECT_ROOT)).toBe(true);
    const sources = fs.readdirSync(path.join(PROJECT_ROOT, 'src', 'cli', 'commands')).filter((f) => f.endsWith('.ts'));
    for (const f of sources) expect(fs.existsSync(path.join(PROJECT_ROOT, 'dist', 'cli', 'commands', f.replace(/\.ts$/, '.js')))).toBe(true);
  });

  it('--help from dist/ (command index, no command module loaded) is the same text as from the sources', () => {
    const compiled = runCli(['--help']);
    const source = runCli(['--help'], { env: { REEL2REAL_FROM_SOURCE: '1' } });
    expect(compiled.code).toBe(0);
    expect(source.code).toBe(0);
    expect(compiled.stdout).toBe(source.stdout);
    for (const c of ['capture <video>', 'run <inputs..>', 'validate <motion>', 'serve <store>', 'robot <command>']) expect(compiled.stdout).toContain(c);
  });

  it('--help prints the build\'s rendering without loading the CLI, and yargs renders it where that text would differ', () => {
    // Every module the process resolves, written to stderr by a resolve hook.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'r2r-hook-'));
    try {
      const log = moduleLog(dir);
      const env = { ...log.env, LC_ALL: '', LC_MESSAGES: '', LANGUAGE: '' };
      const text = fs.readFileSync(path.join(PROJECT_ROOT, 'dist', 'cli', 'help.txt'), 'utf8');
      const loaded = (r: { stderr: string }): string[] => log.loaded(r.stderr);
      for (const [lang, flag] of [['C.UTF-8', '--help'], ['en_GB.UTF-8', '-h']]) {
        const r = runCli([flag], { env: { ...env, LANG: lang } });
        expect(r.code).toBe(0);
        expect(r.stdout).toBe(text);
        const mods = loaded(r);
        expect(mods.some((m) => m.endsWith('/bin/fresh.mjs'))).toBe(true); // the hook saw the modules
        expect(mods.filter((m) => /yargs|\/dist\/|\/src\//.test(m))).toEqual([]);
      }
      // German messages: yargs renders them (and loads: bundled into dist/vendor/yargs.js by the build, it
      // still finds its translations in the installed package).
      const de = runCli(['--help'], { env: { ...env, LANG: 'de_DE.UTF-8' } });
      expect(de.code).toBe(0);
      expect(de.stdout).toContain('Kommandos:');
      expect(de.stdout).not.toBe(text);
      expect(loaded(de).some((m) => m.endsWith('/dist/vendor/yargs.js') || m.includes('/node_modules/yargs/'))).toBe(true);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('yaml is bundled into dist/vendor/yaml.cjs (loaded on first parse) and yaml.js; configs/ are parsed at build time', async () => {
    const text = fs.readFileSync(path.join(PROJECT_ROOT, 'dist', 'io', 'text.js'), 'utf8');
    expect(text).toMatch(/"\.\.\/vendor\/yaml\.cjs"/);
    expect(text).not.toMatch(/from "yaml"/);
    const vendored = await import(pathToFileURL(path.join(PROJECT_ROOT, 'dist', 'vendor', 'yaml.js')).href);
    const pkg = await import('yaml');
    expect(Object.keys(vendored).filter((k) => k !== 'default').sort()).toEqual(Object.keys(pkg).filter((k) => k !== 'default').sort());
    const config = fs.readFileSync(path.join(PROJECT_ROOT, 'configs', 'validation.yaml'), 'utf8');
    expect(vendored.parse(config)).toEqual(pkg.parse(config));
    expect(vendored.default.stringify({ a: [1, 2] })).toBe(pkg.stringify({ a: [1, 2] }));
    // Every config's text with the value the parser gives it.
    const cache = JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'dist', 'yaml-cache.json'), 'utf8')) as [string, string][];
    const texts = new Set(cache.map(([t]) => t));
    expect(texts.has(config)).toBe(true);
    for (const [t, json] of cache) expect(JSON.parse(json)).toEqual(pkg.parse(t));
    // The compiled reader gives the cached value for a config's text and parses any other text.
    const io = await import(pathToFileURL(path.join(PROJECT_ROOT, 'dist', 'io', 'text.js')).href);
    expect(io.parseYaml(config, 'validation.yaml')).toEqual(pkg.parse(config));
    const edited = config.replace(/dt: [0-9.]+/, 'dt: 0.0042');
    expect(edited).not.toBe(config);
    expect((io.parseYaml(edited, 'x.yaml') as { sim: { dt: number } }).sim.dt).toBe(0.0042);
    expect(() => io.parseYaml('a: [1, 2', 'bad.yaml')).toThrow(/bad\.yaml.*malformed YAML|malformed YAML/);
  });

  it('yargs is bundled into dist/vendor/yargs.js and still reads the project\'s version and its own translations', () => {
    const main = fs.readFileSync(path.join(PROJECT_ROOT, 'dist', 'cli', 'main.js'), 'utf8');
    expect(main).toMatch(/from "\.\.\/vendor\/yargs\.js"/);
    const pkg = JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8'));
    const v = runCli(['--version'], { cwd: os.tmpdir() }); // not the project's folder: yargs must find it itself
    expect(v.code).toBe(0);
    expect(v.stdout.trim()).toBe(pkg.version);
    const fr = runCli(['robot', '--help'], { env: { LC_ALL: 'fr_FR.UTF-8' } });
    expect(fr.code).toBe(0);
    expect(fr.stdout).toContain('Options :');
  });

  it('a mistyped command and a command\'s own help work from the index', () => {
    const typo = runCli(['captur']);
    expect(typo.code).toBe(1);
    expect(typo.stderr.trim()).toBe('reel2real: Did you mean capture?');
    const sub = runCli(['robot', '--help']);
    expect(sub.code).toBe(0);
    expect(sub.stdout).toMatch(/reel2real robot inspect <urdf>/);
  });

  it('a stale dist/ is not run: the sources are, with a one-line notice on stderr saying why and what to run', () => {
    // A copy of the entry point in a project of one source file, whose dist/ was built before the source changed.
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'r2r-stale-'));
    try {
      fs.mkdirSync(path.join(root, 'bin'));
      fs.writeFileSync(path.join(root, 'package.json'), '{ "type": "module" }\n');
      for (const f of ['reel2real.js', 'fresh.mjs']) fs.copyFileSync(path.join(PROJECT_ROOT, 'bin', f), path.join(root, 'bin', f));
      fs.symlinkSync(path.join(PROJECT_ROOT, 'node_modules'), path.join(root, 'node_modules'));
      fs.mkdirSync(path.join(root, 'src', 'cli'), { recursive: true });
      fs.mkdirSync(path.join(root, 'dist', 'cli'), { recursive: true });
      fs.writeFileSync(path.join(root, 'dist', 'cli', 'main.js'), "export async function main() { process.stdout.write('dist\\n'); return 0; }\n");
      fs.writeFileSync(path.join(root, 'dist', '.built'), String(Date.now() - 60_000));
      fs.writeFileSync(path.join(root, 'src', 'cli', 'main.ts'), "export async function main(): Promise<number> { process.stdout.write('sources\\n'); return 0; }\n");
      const run = (env: Record<string, string> = {}) => spawnSync(process.execPath, [path.join(root, 'bin', 'reel2real.js'), 'x'], { encoding: 'utf8', env: { ...process.env, REEL2REAL_FROM_SOURCE: '', ...env } });
      const stale = run();
      expect(stale.status).toBe(0);
      expect(stale.stdout).toBe('sources\n');
      expect(stale.stderr).toBe('reel2real: dist/ is older than src/: running the TypeScript sources (slower start); `npm run build` compiles them\n');
      const asked = run({ REEL2REAL_FROM_SOURCE: '1' });
      expect(asked.stdout).toBe('sources\n');
      expect(asked.stderr).toBe('');
      // Built after the edit: dist/ runs, nothing is said.
      fs.writeFileSync(path.join(root, 'dist', '.built'), String(Date.now() + 1000));
      const fresh = run();
      expect(fresh.stdout).toBe('dist\n');
      expect(fresh.stderr).toBe('');
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  it('is stale as soon as a source file is edited, added or removed', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'r2r-fresh-'));
    try {
      fs.mkdirSync(path.join(root, 'src', 'a'), { recursive: true });
      fs.mkdirSync(path.join(root, 'dist'));
      fs.writeFileSync(path.join(root, 'src', 'a', 'x.ts'), 'export {};\n');
      const old = new Date(Date.now() - 60_000);
      for (const p of [path.join(root, 'src', 'a', 'x.ts'), path.join(root, 'src', 'a'), path.join(root, 'src')]) fs.utimesSync(p, old, old);
      expect(distIsFresh(root)).toBe(false); // no build yet
      fs.writeFileSync(path.join(root, 'dist', '.built'), String(Date.now() - 30_000));
      expect(distIsFresh(root)).toBe(true);
      fs.writeFileSync(path.join(root, 'src', 'a', 'x.ts'), 'export const y = 1;\n');
      expect(distIsFresh(root)).toBe(false); // edited
      for (const p of [path.join(root, 'src', 'a', 'x.ts'), path.join(root, 'src', 'a')]) fs.utimesSync(p, old, old);
      expect(distIsFresh(root)).toBe(true);
      fs.rmSync(path.join(root, 'src', 'a', 'x.ts'));
      expect(distIsFresh(root)).toBe(false); // removed: the folder's time changes
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
