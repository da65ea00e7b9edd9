/**
 * The compiled CLI (bin/build.mjs → dist/, run by bin/reel2real.js) against the TypeScript sources it is built
 * from: the vitest global setup builds it, so CLI tests run it; it is only used while up to date.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
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
      // German messages: yargs renders them (and loads).
      const de = runCli(['--help'], { env: { ...env, LANG: 'de_DE.UTF-8' } });
      expect(de.code).toBe(0);
      expect(de.stdout).toContain('Kommandos:');
      expect(de.stdout).not.toBe(text);
      expect(loaded(de).some((m) => m.includes('/node_modules/yargs/'))).toBe(true);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('yaml is bundled into dist/vendor/yaml.js: the built modules import that file, which exports what the package does', async () => {
    const text = fs.readFileSync(path.join(PROJECT_ROOT, 'dist', 'io', 'text.js'), 'utf8');
    expect(text).toMatch(/from "\.\.\/vendor\/yaml\.js"/);
    expect(text).not.toMatch(/from "yaml"/);
    const vendored = await import(pathToFileURL(path.join(PROJECT_ROOT, 'dist', 'vendor', 'yaml.js')).href);
    const pkg = await import('yaml');
    expect(Object.keys(vendored).filter((k) => k !== 'default').sort()).toEqual(Object.keys(pkg).filter((k) => k !== 'default').sort());
    const config = fs.readFileSync(path.join(PROJECT_ROOT, 'configs', 'validation.yaml'), 'utf8');
    expect(vendored.parse(config)).toEqual(pkg.parse(config));
    expect(vendored.default.stringify({ a: [1, 2] })).toBe(pkg.stringify({ a: [1, 2] }));
  });

  it('a mistyped command and a command\'s own help work from the index', () => {
    const typo = runCli(['captur']);
    expect(typo.code).toBe(1);
    expect(typo.stderr.trim()).toBe('reel2real: Did you mean capture?');
    const sub = runCli(['robot', '--help']);
    expect(sub.code).toBe(0);
    expect(sub.stdout).toMatch(/reel2real robot inspect <urdf>/);
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
