/**
 * Viewer source for an episode store: every episode, with its human track, reports, masks and kept video.
 * Robot models are found by the URDF hash recorded in each motion, among the URDFs given with --robot and
 * the project's own robots/.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { UserError } from '../errors.ts';
import { loadUrdf } from '../robot/urdf.ts';
import { openStore } from '../store/store.ts';
import { keptVideoPath } from '../privacy/purge.ts';
import { fileInside, type ViewerEpisode, type ViewerSource } from './server.ts';

const PROJECT_ROBOTS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'robots');

function projectUrdfs(): string[] {
  if (!fs.existsSync(PROJECT_ROBOTS)) return [];
  return fs.readdirSync(PROJECT_ROBOTS, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .flatMap((d) => fs.readdirSync(path.join(PROJECT_ROBOTS, d.name)).filter((f) => f.endsWith('.urdf')).map((f) => path.join(PROJECT_ROBOTS, d.name, f)));
}

export function storeSource(dir: string, opts: { robot?: string | string[] } = {}): ViewerSource {
  const store = openStore(dir);
  const given = opts.robot === undefined ? [] : Array.isArray(opts.robot) ? opts.robot : [opts.robot];
  const bySha = new Map<string, string>();
  const byName = new Map<string, string>();
  for (const f of [...given, ...projectUrdfs()]) {
    const r = loadUrdf(f, { checkMeshes: false });
    if (!bySha.has(r.sha256)) bySha.set(r.sha256, path.resolve(f));
    if (!byName.has(r.name)) byName.set(r.name, path.resolve(f));
  }
  return {
    list: () => store.list().map((e) => ({
      id: e.id,
      label: `${e.sources[0]?.file ?? e.id.slice(0, 12)} · ${e.robot ?? ''}${e.task ? ` · ${e.task}` : ''}${e.feasible === null || e.feasible === undefined ? '' : e.feasible ? ' · feasible' : ' · infeasible'}`,
    })),
    get: (id: string): ViewerEpisode => {
      const ep = store.get(id);
      if (!ep.motion) throw new UserError(`episode ${id} has no robot motion`, dir);
      const urdf = bySha.get(ep.motion.robot.urdf_sha256) ?? (given.length === 1 ? path.resolve(given[0]) : byName.get(ep.motion.robot.name));
      if (!urdf) throw new UserError(`no URDF for robot ${ep.motion.robot.name} of episode ${id.slice(0, 12)}: give it with --robot <urdf>`, dir);
      // Only a regular file really inside <store>/videos (a symlink out of the store is not a kept video).
      const video = ['.mp4', '.mov', '.mkv'].map((ext) => keptVideoPath(store.dir, id, ext))
        .map((p) => fileInside(path.dirname(p), path.basename(p))).find((p): p is string => p !== null);
      return {
        id, label: id.slice(0, 12), motion: ep.motion, urdf, track: ep.track, quality: ep.quality, validation: ep.validation, masks: ep.masks, video,
      };
    },
  };
}
