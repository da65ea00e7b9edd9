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
import { isDeepStrictEqual } from 'node:util';
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

/**
 * yargs (an ES module package, ~40 modules with cliui, string-width, y18n, yargs-parser) bundled the same way:
 * every command but `--help` imports it, ≈ 0.11 s as a package against ≈ 0.055 s as one file (quiet machine).
 * Two things it derives from its own file's location are kept pointing into the installed package, found at
 * run time next to the bundle (see yargsShim): its messages in other languages (yargs/locales) and the project
 * whose package.json `--version` reads (the folder above its node_modules). And string-width (through cliui,
 * wrap-ansi) builds an Intl.Segmenter when imported (≈ 17 ms of ICU start-up) although nothing measures text
 * width unless help is printed: the bundle builds it on first use. If the package's files no longer read as
 * expected, yargs stays an import of node_modules (slower, same behaviour).
 */
const VENDOR_ESM = ['yargs'];
let vendoredEsm = [];

/** esbuild plugin: the two run-time edits of VENDOR_ESM described above; records which applied. */
function yargsShim(applied) {
  return {
    name: 'yargs-shim',
    setup(b) {
      b.onLoad({ filter: /[\\/]yargs[\\/]lib[\\/]platform-shims[\\/]esm\.mjs$/ }, (args) => {
        const text = fs.readFileSync(args.path, 'utf8');
        const n = text.split('fileURLToPath(import.meta.url)').length - 1;
        if (n !== 1) return undefined;
        applied.shim = true;
        return { contents: text.replace('fileURLToPath(import.meta.url)', 'fileURLToPath(__yargsShimUrl)'), loader: 'js' };
      });
      b.onLoad({ filter: /[\\/]string-width[\\/]index\.js$/ }, (args) => {
        const text = fs.readFileSync(args.path, 'utf8');
        const eager = 'const segmenter = new Intl.Segmenter();';
        if (!text.includes(eager)) return undefined;
        const lazy = 'let segmenter_; const segmenter = { segment: (s) => (segmenter_ ??= new Intl.Segmenter()).segment(s) };';
        return { contents: text.replace(eager, lazy), loader: 'js' };
      });
    },
  };
}

async function buildVendor(quiet) {
  const require = createRequire(import.meta.url);
  for (const name of VENDOR) {
    // <name>.cjs: the package as one CommonJS file (src/io/text.ts require()s it when it first parses YAML);
    // <name>.js: an ES module re-exporting it by name, for the modules that import the package.
    await build({
      entryPoints: [require.resolve(name)],
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      outfile: path.join(DIST, 'vendor', `${name}.cjs`),
      logLevel: quiet ? 'error' : 'warning',
    });
    const names = Object.keys(require(name)).filter((k) => k !== 'default' && /^[A-Za-z_$][\w$]*$/.test(k));
    fs.writeFileSync(path.join(DIST, 'vendor', `${name}.js`),
      `import m from './${name}.cjs';\nexport default m;\nexport const { ${names.join(', ')} } = m;\n`);
  }
  vendoredEsm = [];
  for (const name of VENDOR_ESM) {
    const applied = { shim: false };
    const outfile = path.join(DIST, 'vendor', `${name}.js`);
    await build({
      stdin: { contents: `export { default } from ${JSON.stringify(name)};\n`, resolveDir: ROOT, loader: 'js' },
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      plugins: [yargsShim(applied)],
      // The shim's file in the installed package, resolved from the bundle's own place at run time.
      banner: { js: [
        "import { createRequire as __createRequire } from 'node:module';",
        "import { pathToFileURL as __pathToFileURL } from 'node:url';",
        'const require = __createRequire(import.meta.url);',
        `const __yargsShimUrl = __pathToFileURL(require.resolve(${JSON.stringify(`${name}/package.json`)}).replace(/package\\.json$/, 'lib/platform-shims/esm.mjs')).href;`,
      ].join('\n') },
      outfile,
      logLevel: quiet ? 'error' : 'warning',
    });
    if (applied.shim) vendoredEsm.push(name);
    else {
      fs.rmSync(outfile, { force: true });
      if (!quiet) process.stderr.write(`reel2real: build: ${name} not bundled (its platform shim changed); imported from node_modules\n`);
    }
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
        if (VENDOR.includes(args.path) || vendoredEsm.includes(args.path)) {
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
    ...[...VENDOR, ...vendoredEsm].map((v) => path.join('vendor', `${v}.js`)),
    ...VENDOR.map((v) => path.join('vendor', `${v}.cjs`)),
    ...entries.flatMap((f) => [f.replace(/\.ts$/, '.js'), f.replace(/\.ts$/, '.js.map')]),
    ...files.filter((f) => !f.endsWith('.ts')),
  ]);
  const generated = new Set(['.built', 'yaml-cache.json', path.join('cli', 'commands.json'), path.join('cli', 'help.txt')]);
  for (const f of walk(DIST)) if (!generated.has(f) && !expected.has(f)) fs.rmSync(path.join(DIST, f));
  writeYamlCache();
  writeCommandIndex();
  writeHelp();
  fs.writeFileSync(path.join(DIST, '.built'), String(started));
  if (!quiet) process.stderr.write(`reel2real: built dist/ (${entries.length} modules) in ${Date.now() - started} ms\n`);
  return result;
}

/**
 * dist/yaml-cache.json: the project's own YAML files (configs/**.yaml) parsed now, as [text, value as JSON]
 * pairs, for the files whose value JSON holds exactly (no .inf, dates or the like). src/io/text.ts returns the
 * value for a text found here instead of loading and running the YAML parser (≈ 25 ms of a `validate`, which
 * reads configs/validation.yaml); any other text, an edited config included, is parsed as before.
 */
function writeYamlCache() {
  const require = createRequire(import.meta.url);
  const YAML = require('yaml');
  const pairs = [];
  for (const f of walk(path.join(ROOT, 'configs')).filter((f) => /\.ya?ml$/.test(f)).sort()) {
    const text = fs.readFileSync(path.join(ROOT, 'configs', f), 'utf8');
    let value;
    try {
      value = YAML.parse(text);
    } catch {
      continue; // parsed (and reported) when a command reads it
    }
    const json = JSON.stringify(value);
    if (json !== undefined && isDeepStrictEqual(JSON.parse(json), value)) pairs.push([text, json]);
  }
  fs.writeFileSync(path.join(DIST, 'yaml-cache.json'), JSON.stringify(pairs));
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
