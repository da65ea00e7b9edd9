/**
 * The README's commands, run as written (issue 18 item 1). Every ```sh block is run, in order, by bash in one
 * scratch "clone" directory — `robots/` linked to the project's, `../shared/data` linked to the real one when
 * present — with `npx reel2real` resolving to this checkout's CLI, and the shell's exported variables carried
 * from block to block (the operator key made in one block signs the manifest another block checks).
 *
 * A block that needs ../shared/data is skipped, saying so, when it is absent; the few that cannot run here
 * (a second host) or take minutes are skipped with the reason below. Servers (`view`) are started, their
 * address awaited, and stopped.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT, SHARED_DATA } from './helpers/shared.ts';

interface Block { line: number; code: string }

/**
 * The README's command blocks with the line each starts on: every ```sh block, and any untagged block with a
 * line that starts with `npx reel2real` (a command written outside an sh block is still a command to run).
 */
export function readmeShellBlocks(text: string): Block[] {
  const out: Block[] = [];
  const re = /^```(sh|)\n([\s\S]*?)^```$/gm;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    if (m[1] === 'sh' || /^npx reel2real /m.test(m[2])) out.push({ line: text.slice(0, m.index).split('\n').length, code: m[2] });
  }
  return out;
}

/** Blocks not run here, and why (matched on the block's text). */
const SKIP: { match: RegExp; reason: string }[] = [
  { match: /gpu-host/, reason: 'needs a second host (the trainer machine)' },
  { match: /--keep-video/, reason: 'face blur and re-encode of the video take ≈2 min here; test/privacy/sanitize.test.ts covers --keep-video' },
  { match: /reel2real batch/, reason: 'captures the video twice more (≈2 min here); test/pipeline/pipeline.test.ts runs sharded batches' },
  { match: /reel2real bench quality/, reason: 'runs for many minutes; test/bench/e2e.test.ts runs a small bench' },
];

const BIN = path.join(PROJECT_ROOT, 'bin', 'reel2real.js');
const hasShared = fs.existsSync(path.join(SHARED_DATA, 'robots'));
const blocks = readmeShellBlocks(fs.readFileSync(path.join(PROJECT_ROOT, 'README.md'), 'utf8'));

describe('README commands run as written', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'r2r-readme-'));
  const clone = path.join(root, 'clone');
  fs.mkdirSync(clone);
  fs.symlinkSync(path.join(PROJECT_ROOT, 'robots'), path.join(clone, 'robots'));
  if (hasShared) {
    fs.mkdirSync(path.join(root, 'shared'));
    fs.symlinkSync(SHARED_DATA, path.join(root, 'shared', 'data'));
  }
  // `npx reel2real …` → this checkout's CLI; `view` is a server: start it, wait for its address, stop it.
  const shim = path.join(root, 'bin');
  fs.mkdirSync(shim);
  fs.writeFileSync(path.join(shim, 'npx'), `#!/bin/sh
[ "$1" = reel2real ] || { echo "readme test: unexpected npx $*" >&2; exit 127; }
shift
if [ "$1" = view ]; then
  out=$(mktemp)
  node ${JSON.stringify(BIN)} "$@" >"$out" 2>&1 & pid=$!
  for i in $(seq 1 240); do
    if grep -q 'http://' "$out"; then kill $pid; cat "$out"; exit 0; fi
    kill -0 $pid 2>/dev/null || { cat "$out"; exit 1; }
    sleep 0.5
  done
  kill $pid; cat "$out"; exit 1
fi
exec node ${JSON.stringify(BIN)} "$@"
`, { mode: 0o755 });
  const envFile = path.join(root, 'env.sh');
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  it('finds the blocks', () => {
    expect(blocks.length).toBeGreaterThan(15);
    // No placeholder syntax left in a command: optional parts are described in the prose, not in [brackets].
    for (const b of blocks) for (const l of b.code.split('\n')) if (/^npx reel2real/.test(l)) expect(l, `README line ${b.line}`).not.toMatch(/ \[--/);
  });

  for (const b of blocks) {
    const first = b.code.split('\n').find((l) => l.trim() && !l.startsWith('#')) ?? '';
    const name = `README line ${b.line}: ${first.slice(0, 70)}`;
    const skip = SKIP.find((s) => s.match.test(b.code));
    // Comments do not count: `npm test   # uses ../shared/data when present` needs nothing.
    const commands = b.code.split('\n').map((l) => l.replace(/(^|\s)#.*$/, '')).join('\n');
    const needsShared = commands.includes('../shared/data') || /squats\.mp4|runs\/store|walk\.|clip\.npz/.test(commands);
    it(name, (ctx) => {
      if (skip) return ctx.skip(skip.reason);
      if (needsShared && !hasShared) return ctx.skip('needs ../shared/data (or what an earlier block made from it), absent here');
      // The first block is the install itself: the clone's install is this checkout's; npm test is this suite.
      const code = /npm install/.test(b.code) ? 'npx reel2real demo' : b.code;
      const script = `set -e\n[ -f ${envFile} ] && . ${envFile}\n${code}\nexport -p > ${envFile}\n`;
      const r = spawnSync('bash', ['-c', script], {
        cwd: clone, encoding: 'utf8', timeout: 600_000,
        env: { ...process.env, PATH: `${shim}:${process.env.PATH}`, REEL2REAL_PSEUDONYM_KEY: '' },
      });
      expect(r.status, `README line ${b.line} failed:\n${r.stdout.slice(-2000)}\n${r.stderr.slice(-2000)}`).toBe(0);
    }, 600_000);
  }
});
