/**
 * The contributor page's scripts (the page, its capture workers, the service worker), bundled with esbuild when the server starts (in memory, nothing written).
 * The page's capture code is src/capture itself: esbuild resolves the trackers' `./runner.ts` (Node: TF.js on
 * disk or onnxruntime) to web/runner.ts (browser: the same graph models over HTTP on TF.js wasm), and the few
 * node: modules that shared helpers import but the page never calls (fs for file writes, zlib for reading
 * deflated npz) to empty stand-ins.
 */
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';

// The page is always bundled from the TypeScript sources (src/), also when the CLI runs from dist/ (which
// mirrors src/ at the same depth).
const here = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'contribute');
const CAPTURE_DIR = path.resolve(here, '..', 'capture');

export interface Bundle {
  /** The page's script (ES module). */
  app: Uint8Array;
  /** The service worker's script. */
  sw: Uint8Array;
  /** The capture workers' script (web/worker.ts: body in one worker, hands in another). */
  worker: Uint8Array;
  /** Content hash of both, for the cache name. */
  version: string;
}

/**
 * Names the shared helpers import from node: modules. In the page each is a function returning '' (so module
 * set-up such as `path.resolve(path.dirname(fileURLToPath(import.meta.url)), …)` runs harmlessly); nothing the page
 * calls uses them (a call that did would fail on the empty result, and the browser test would show it).
 */
const NODE_NAMES = ['createRequire', 'inflateRawSync', 'createHash', 'randomBytes', 'readFileSync', 'writeFileSync', 'existsSync', 'renameSync', 'openSync', 'closeSync', 'fsyncSync', 'mkdirSync', 'unlinkSync', 'rmSync', 'dirname', 'join', 'resolve', 'basename', 'fileURLToPath'];

const browserCapture: Plugin = {
  name: 'reel2real-browser-capture',
  setup(b) {
    b.onResolve({ filter: /^\.\/runner\.ts$/ }, (args) => {
      if (path.resolve(args.resolveDir) === CAPTURE_DIR) return { path: path.join(here, 'web', 'runner.ts') };
      return undefined;
    });
    // The page has no Node: a `node:` import of a shared module (used there only by its Node-side paths) resolves
    // to a module whose names are inert functions returning '', so importing the module costs nothing in the page.
    b.onResolve({ filter: /^node:/ }, (args) => ({ path: args.path, namespace: 'node-absent' }));
    b.onLoad({ filter: /.*/, namespace: 'node-absent' }, () => ({
      contents: `${NODE_NAMES.map((n) => `export const ${n} = () => '';`).join('\n')}\nexport default {};`,
      loader: 'js',
    }));
  },
};

let cached: Promise<Bundle> | null = null;

/** Build (once per process) the page's and the service worker's scripts. */
export function bundle(): Promise<Bundle> {
  cached ??= (async () => {
    const r = await build({
      entryPoints: { app: path.join(here, 'web', 'app.ts'), sw: path.join(here, 'web', 'sw.ts'), worker: path.join(here, 'web', 'worker.ts') },
      bundle: true,
      write: false,
      format: 'esm',
      platform: 'browser',
      target: 'chrome110',
      minify: true,
      outdir: '/out',
      plugins: [browserCapture],
      define: { 'process.env.NODE_ENV': '"production"' },
      logLevel: 'silent',
      legalComments: 'none',
    });
    const file = (name: string) => r.outputFiles.find((f) => path.basename(f.path) === name)!;
    const app = file('app.js').contents;
    const sw = file('sw.js').contents;
    const worker = file('worker.js').contents;
    const { createHash } = await import('node:crypto');
    const version = createHash('sha256').update(app).update(sw).update(worker).digest('hex').slice(0, 16);
    return { app, sw, worker, version };
  })();
  return cached;
}
