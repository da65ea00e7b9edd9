/** Small file helpers shared by the config loaders: the project's one YAML (and JSON, a subset) reader. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { UserError, wrapFileError } from '../errors.ts';

/** The project's `configs/` directory. */
export const CONFIGS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'configs');

/**
 * A file's bytes, refusing what is not a regular file (a directory, a FIFO, /dev/zero through a symlink:
 * reading those would block or never end) and anything over `maxBytes`. Errors are UserErrors naming it.
 */
export function readFileBounded(file: string, maxBytes = 4 * 2 ** 30 - 1): Buffer {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ELOOP') throw new UserError('symbolic link loop', file);
    if (e.code === 'ENOENT' && fs.lstatSync(file, { throwIfNoEntry: false })?.isSymbolicLink()) throw new UserError('symbolic link to a file that does not exist', file);
    wrapFileError(err, file);
  }
  if (st.isDirectory()) throw new UserError('is a directory, expected a file', file);
  if (!st.isFile()) throw new UserError('is not a regular file (a device, pipe or socket)', file);
  if (st.size > maxBytes) throw new UserError(`file is ${st.size} bytes, over the ${maxBytes}-byte limit`, file);
  try {
    return fs.readFileSync(file);
  } catch (err) {
    wrapFileError(err, file);
  }
}

/** A file's text; a missing or unreadable file is a UserError naming it. */
export function readText(file: string): string {
  return readFileBounded(file).toString('utf8');
}

/** `configs/<kind>/<name>.yaml` if the project has one. */
export function projectConfigFile(kind: string, name: string): string | null {
  const f = path.join(CONFIGS_DIR, kind, `${name}.yaml`);
  return fs.existsSync(f) ? f : null;
}

/**
 * The yaml package, loaded on first use (a command that parses no YAML does not pay for it): from the compiled
 * tree, the one-file bundle bin/build.mjs writes (dist/vendor/yaml.cjs); from the sources, the package.
 */
const here = fileURLToPath(import.meta.url);
const fromDist = here.endsWith('.js');
let yamlLib: typeof import('yaml') | null = null;
function yaml(): typeof import('yaml') {
  return (yamlLib ??= createRequire(import.meta.url)(fromDist ? '../vendor/yaml.cjs' : 'yaml') as typeof import('yaml'));
}

/**
 * The project's own YAML files (configs/), parsed at build time: dist/yaml-cache.json maps each file's text to
 * its value as JSON, for the files whose value JSON holds exactly (bin/build.mjs). Text that is not in it
 * (an edited or a user's file, or when run from the sources) is parsed as YAML.
 */
let parsedAtBuild: Map<string, string> | null | undefined;
function buildTimeValue(text: string): string | undefined {
  if (parsedAtBuild === undefined) {
    parsedAtBuild = null;
    if (fromDist) {
      try {
        parsedAtBuild = new Map(JSON.parse(fs.readFileSync(path.join(path.dirname(here), '..', 'yaml-cache.json'), 'utf8')) as [string, string][]);
      } catch {
        parsedAtBuild = null;
      }
    }
  }
  return parsedAtBuild?.get(text);
}

/** YAML (or JSON) text → value; malformed text is a UserError naming the file and the parser's first line. */
export function parseYaml(text: string, file: string | undefined): unknown {
  const known = buildTimeValue(text);
  if (known !== undefined) return JSON.parse(known);
  try {
    return yaml().parse(text);
  } catch (err) {
    throw new UserError(`malformed YAML: ${String((err as Error).message).split('\n')[0]}`, file);
  }
}

/** A YAML (or JSON) file's value: a missing file or malformed text is a UserError naming the file. */
export function readYaml(file: string): unknown {
  return parseYaml(readText(file), file);
}

/**
 * A YAML config that must be a mapping with only `known` top-level keys; null for an empty file. Errors are
 * UserErrors naming the file (`what` names the kind of config in the message).
 */
export function parseYamlMapping(text: string, file: string | undefined, what: string, known: readonly string[]): Record<string, unknown> | null {
  const raw = parseYaml(text, file);
  if (raw === null || raw === undefined) return null;
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new UserError(`${what} must be a mapping`, file);
  const c = raw as Record<string, unknown>;
  for (const k of Object.keys(c)) if (!known.includes(k)) throw new UserError(`unknown key "${k}" (known: ${known.join(', ')})`, file);
  return c;
}
