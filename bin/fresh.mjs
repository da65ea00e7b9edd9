// Is dist/ (the compiled sources, see bin/build.mjs) up to date with src/? It is when dist/.built exists and no
// file or folder under src/ was modified after the build started (a folder's time changes when a file is
// added, removed or renamed in it; git checkout and pull write files with the current time). Costs one stat per
// file under src/ (a few ms).
import * as fs from 'node:fs';
import * as path from 'node:path';

function newerThan(dir, t) {
  if (fs.statSync(dir).mtimeMs > t) return true;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory() ? newerThan(p, t) : fs.statSync(p).mtimeMs > t) return true;
  }
  return false;
}

export function distIsFresh(root) {
  let built;
  try {
    built = Number(fs.readFileSync(path.join(root, 'dist', '.built'), 'utf8'));
  } catch {
    return false;
  }
  return Number.isFinite(built) && !newerThan(path.join(root, 'src'), built);
}
