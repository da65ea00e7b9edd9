#!/usr/bin/env node
// Compile src/**/*.ts to dist/**/*.js, one output file per source file, with esbuild (`npm run build`; npm runs
// it on `npm install` through the `prepare` script, and the test setup runs it before the tests).
//
// dist/ mirrors src/ at the same depth (src/quality/config.ts → dist/quality/config.js), so every path a module
// derives from its own import.meta.url (../../configs, ../../package.json, ../../bin/reel2real.js) points at the
// same place from either tree. Relative imports stay relative with .ts rewritten to .js, packages stay imports
// of node_modules, except the few bundled into dist/vendor/ because they load slowly as many files (VENDOR).
// Files that are not TypeScript (the viewer's page, worker-boot.mjs) are copied. dist/cli/commands.json (the
// command index) and dist/cli/help.txt (`reel2real --help`'s text) are generated from the built modules. The
// build is written in place and dist/.built is written last with the time the build started; bin/reel2real.js
// runs dist/ only while no file under src/ is newer than that (see bin/fresh.mjs).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { build } from 'esbuild';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SRC = path.join(ROOT, 'src');
const DIST = path.join(ROOT, 'dist');

/** Every file under dir, relative to it. */
function walk(dir, rel = '') {
  const out = [];
  for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
    const r = path.join(rel, e.name);
    if (e.isDirectory()) out.push(...walk(dir, r));
    else out.push(r);
  }
  return out;
}

/**
 * Packages bundled into one file each (dist/vendor/<name>.js) instead of imported from node_modules: pure-JS
 * packages that Node would otherwise load as dozens of small CommonJS files, which is most of their cost at
 * start-up (yaml: ≈ 0.13 s as a package, 0.03 s as one file, at load 3). Bundled from the package's own Node
 * build (its CommonJS, so it behaves as the package does under Node), with its exports re-exported by name.
 */
const VENDOR = ['yaml'];

async function buildVendor(quiet) {
  const require = createRequire(import.meta.url);
  for (const name of VENDOR) {
    const names = Object.keys(require(name)).filter((k) => k !== 'default' && /^[A-Za-z_$][\w$]*$/.test(k));
    await build({
      stdin: { contents: `const m = require(${JSON.stringify(name)});\nexport default m;\nexport const { ${names.join(', ')} } = m;\n`, resolveDir: ROOT, loader: 'js' },
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      // The package's own require() of Node builtins, in an ES module.
      banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
      outfile: path.join(DIST, 'vendor', `${name}.js`),
      logLevel: quiet ? 'error' : 'warning',
    });
  }
}

export async function buildDist({ quiet = false } = {}) {
  const started = Date.now();
  const files = walk(SRC);
  const entries = files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts') && !f.endsWith('.test.ts'));
  /**
   * Keep each module its own file: relative imports become imports of the sibling .js output; a bundled
   * package (VENDOR) becomes an import of its file in dist/vendor/.
   */
  const keepImports = {
    name: 'keep-imports',
    setup(b) {
      b.onResolve({ filter: /.*/ }, (args) => {
        if (args.kind === 'entry-point') return undefined;
        if (args.path.startsWith('.')) return { path: args.path.replace(/\.ts$/, '.js'), external: true };
        if (VENDOR.includes(args.path)) {
          const out = path.join(DIST, path.relative(SRC, path.dirname(args.importer)));
          return { path: path.relative(out, path.join(DIST, 'vendor', `${args.path}.js`)).split(path.sep).join('/').replace(/^(?!\.)/, './'), external: true };
        }
        return { path: args.path, external: true };
      });
    },
  };
  await buildVendor(quiet);
  const result = await build({
    entryPoints: entries.map((f) => path.join(SRC, f)),
    outbase: SRC,
    outdir: DIST,
    bundle: true,
    plugins: [keepImports],
    platform: 'node',
    format: 'esm',
    target: 'node20',
    sourcemap: 'linked',
    logLevel: quiet ? 'error' : 'warning',
    write: true,
  });
  for (const f of files.filter((f) => !f.endsWith('.ts'))) {
    fs.mkdirSync(path.dirname(path.join(DIST, f)), { recursive: true });
    fs.copyFileSync(path.join(SRC, f), path.join(DIST, f));
  }
  // Outputs of sources that no longer exist would still be importable from dist/: remove them.
  const expected = new Set([
    ...VENDOR.map((v) => path.join('vendor', `${v}.js`)),
    ...entries.flatMap((f) => [f.replace(/\.ts$/, '.js'), f.replace(/\.ts$/, '.js.map')]),
    ...files.filter((f) => !f.endsWith('.ts')),
  ]);
  const generated = new Set(['.built', path.join('cli', 'commands.json'), path.join('cli', 'help.txt')]);
  for (const f of walk(DIST)) if (!generated.has(f) && !expected.has(f)) fs.rmSync(path.join(DIST, f));
  writeCommandIndex();
  writeHelp();
  fs.writeFileSync(path.join(DIST, '.built'), String(started));
  if (!quiet) process.stderr.write(`reel2real: built dist/ (${entries.length} modules) in ${Date.now() - started} ms\n`);
  return result;
}

/**
 * dist/cli/commands.json: for each command module, the names, aliases and one-line descriptions of the
 * commands it exports. `reel2real --help` (and a mistyped command) lists commands from it without importing any
 * command module, and `reel2real <name> …` imports only the module that defines <name> (src/cli/main.ts). Read
 * from the built modules in a child process, so the build process itself loads none of their dependencies.
 */
function writeCommandIndex() {
  const dir = path.join(DIST, 'cli', 'commands');
  const script = `
    const fs = await import('node:fs');
    const out = [];
    for (const f of fs.readdirSync(${JSON.stringify(dir)}).filter((f) => f.endsWith('.js')).sort()) {
      const mod = await import(${JSON.stringify(dir + '/')} + f);
      const list = mod.command === undefined ? [] : Array.isArray(mod.command) ? mod.command : [mod.command];
      out.push({ file: f, commands: list.map((c) => ({ command: c.command, describe: c.describe ?? false, aliases: c.aliases ?? [] })) });
    }
    process.stdout.write(JSON.stringify(out));`;
  const json = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', maxBuffer: 1 << 24 });
  fs.writeFileSync(path.join(DIST, 'cli', 'commands.json'), JSON.stringify(JSON.parse(json), null, 1) + '\n');
}

/**
 * dist/cli/help.txt: the text `reel2real --help` prints, rendered here by the compiled CLI itself (yargs, from
 * the command index) at the width it uses when stdout is not a terminal (110 columns) and in English. On that
 * path bin/reel2real.js prints this file without loading the CLI or yargs (see helpFromBuild there).
 */
function writeHelp() {
  const main = path.join(DIST, 'cli', 'main.js');
  const script = `const { main } = await import(${JSON.stringify(pathToFileURL(main).href)}); process.exitCode = await main(['--help']);`;
  const env = { ...process.env, LC_ALL: 'en_US' };
  const text = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', env, stdio: ['ignore', 'pipe', 'pipe'] });
  fs.writeFileSync(path.join(DIST, 'cli', 'help.txt'), text);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await buildDist({ quiet: process.argv.includes('--quiet') });
}
