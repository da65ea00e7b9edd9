/** Small file helpers shared by the config loaders. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { wrapFileError } from '../errors.ts';

/** The project's `configs/` directory. */
export const CONFIGS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'configs');

/** A file's text; a missing or unreadable file is a UserError naming it. */
export function readText(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    wrapFileError(err, file);
  }
}

/** `configs/<kind>/<name>.yaml` if the project has one. */
export function projectConfigFile(kind: string, name: string): string | null {
  const f = path.join(CONFIGS_DIR, kind, `${name}.yaml`);
  return fs.existsSync(f) ? f : null;
}
