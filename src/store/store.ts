/**
 * The episode store: a directory of content-addressed episodes with an append-only index.
 *
 *   <store>/store.json                      {"kind": "reel2real-store", "version": 1}
 *   <store>/index.jsonl                     one JSON object per line, append-only:
 *                                             an IndexEntry when an episode is added,
 *                                             {"id", "removed": true, "removedAt", "reason"} when it is removed
 *   <store>/index.lock                      held (O_EXCL, owner pid inside) while appending
 *   <store>/episodes/<id[0:2]>/<id>/        episode.json, track.npz, motion.npz, hand_motion.npz, masks.npz
 *   <store>/tmp/                            episodes being written (put-<pid>-<rand>) or removed (rm-<pid>-<rand>)
 *
 * put() writes every file of the episode into a fresh directory under tmp/, computes the id from what it
 * wrote (see digest.ts), and renames the directory to episodes/<id[0:2]>/<id>: a crash leaves the whole
 * episode or nothing visible (a leftover temp directory is removed by repair()). Putting an id that is
 * already stored does nothing and returns the id. Then it appends the index line, under the lock file, so
 * several processes on one machine can put at once: each id is indexed once. Readers skip a torn last line.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { UserError, safeText, wrapFileError } from '../errors.ts';
import { nd, readNpz, writeNpz, type NpzContent } from '../io/npz.ts';
import { writeFileAtomic } from '../io/atomic.ts';
import { saveTrack, trackFromNpz } from '../pose/track.ts';
import { motionFromNpz, saveMotion, type RobotMotion } from '../robot/motion.ts';
import { partArrays, type Episode, type EpisodeChecksums, type IndexEntry, type Provenance } from './episode.ts';
import { EPISODE_PARTS, episodeId, type EpisodePart } from './digest.ts';
import { pidAlive, withLock } from './lock.ts';

export const STORE_VERSION = 1;
const PART_FILES: Record<EpisodePart, string> = {
  track: 'track.npz',
  motion: 'motion.npz',
  hand_motion: 'hand_motion.npz',
  masks: 'masks.npz',
};
const ID_RE = /^[0-9a-f]{64}$/;

/** What episode.json holds. `content` is exactly the JSON part of the content id. */
export interface EpisodeRecord {
  kind: 'reel2real-episode';
  version: number;
  id: string;
  provenance: Provenance;
  quality?: Record<string, unknown>;
  validation?: Record<string, unknown>;
  parts: EpisodePart[];
  entry: IndexEntry;
}

export interface Tombstone {
  id: string;
  removed: true;
  removedAt: string;
  reason: string;
}

export interface VerifyReport {
  ok: boolean;
  /** Episodes found on disk. */
  episodes: number;
  /** Live entries in the index. */
  indexed: number;
  problems: { id?: string; path?: string; problem: string }[];
  /** Harmless leftovers of crashes (stale temp directories, a torn index line); repair() clears them. */
  warnings: { id?: string; path?: string; problem: string }[];
}

export interface RepairReport {
  removedTemp: string[];
  indexed: string[];
  purged: string[];
}

export interface GetOptions {
  /** Recompute the content id from the files and refuse a mismatch (default true). */
  verify?: boolean;
}

function fsyncDir(dir: string): void {
  let fd: number | null = null;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    /* some file systems refuse fsync on directories; the rename is still atomic */
  } finally {
    if (fd !== null) fs.closeSync(fd);
  }
}

/** Fault injection for the crash tests: REEL2REAL_TEST_STORE_CRASH=<stage> kills the process at that stage. */
function crashPoint(stage: string): void {
  if (process.env.REEL2REAL_TEST_STORE_CRASH === stage) process.kill(process.pid, 'SIGKILL');
}

function checkProvenance(p: Provenance | undefined): void {
  if (!p || typeof p !== 'object') throw new UserError('episode has no provenance');
  if (typeof p.contributor !== 'string' || !p.contributor) throw new UserError('episode provenance lacks a contributor pseudonym');
  if (!p.consent || typeof p.consent.id !== 'string' || !p.consent.id) throw new UserError('episode provenance lacks a consent reference (consent.id)');
  if (!Array.isArray(p.sources)) throw new UserError('episode provenance lacks its sources list');
  for (const s of p.sources) {
    if (!s || typeof s.file !== 'string' || typeof s.sha256 !== 'string') throw new UserError('episode provenance has a source without file and sha256');
    if (s.file.includes('/') || s.file.includes('\\')) throw new UserError(`episode source "${s.file}" must be a base name, not a path`);
  }
}

function masksContent(masks: Record<string, Uint8Array>): NpzContent {
  const arrays: NpzContent['arrays'] = {};
  for (const name of Object.keys(masks).sort()) {
    if (!/^[A-Za-z0-9_.-]+$/.test(name)) throw new UserError(`mask name "${name}" may only use letters, digits, _ . -`);
    const m = masks[name];
    if (!(m instanceof Uint8Array)) throw new UserError(`mask "${name}" is not a Uint8Array`);
    arrays[name] = nd(m, [m.length], 'u1');
  }
  return { arrays, meta: { kind: 'episode-masks' } };
}

/** The quality gate's verdict (pass, flag, reject); the validation's is `feasible`. */
function verdictOf(ep: { quality?: Record<string, unknown> }): string | null {
  const v = ep.quality?.verdict;
  return typeof v === 'string' ? v : null;
}

/** The index line for an episode (also stored in its episode.json). */
export function indexEntryOf(id: string, ep: Episode): IndexEntry {
  const m: RobotMotion | undefined = ep.motion;
  const frames = m ? m.timestamps.length : ep.track ? ep.track.timestamps.length : undefined;
  const fps = m ? m.fps : ep.track ? ep.track.fps : undefined;
  const feasible = typeof ep.validation?.feasible === 'boolean' ? (ep.validation.feasible as boolean) : null;
  const e: IndexEntry = {
    id,
    createdAt: ep.provenance.createdAt ?? new Date().toISOString(),
    contributor: ep.provenance.contributor,
    sources: ep.provenance.sources,
    feasible,
    verdict: verdictOf(ep),
  };
  if (ep.provenance.task !== undefined) e.task = ep.provenance.task;
  if (m) e.robot = m.robot.name;
  if (frames !== undefined) e.frames = frames;
  if (fps !== undefined) e.fps = fps;
  return e;
}

function hashedContent(provenance: Provenance, quality: unknown, validation: unknown, parts: EpisodePart[]): Record<string, unknown> {
  const { createdAt: _c, ...prov } = provenance;
  return { provenance: prov, quality: quality ?? null, validation: validation ?? null, parts };
}

export class EpisodeStore {
  readonly dir: string;
  readonly indexPath: string;
  private readonly lockPath: string;
  private readonly tmpDir: string;
  private readonly episodesDir: string;
  private indexOffset = 0;
  private readonly entries = new Map<string, IndexEntry>();
  private readonly tombstones = new Map<string, Tombstone>();
  /** Complete lines that did not parse (a torn line left by a crash), by byte offset. */
  private readonly badLines: { offset: number; text: string }[] = [];
  /** Ids indexed twice without a removal in between (should never happen). */
  private readonly duplicates = new Set<string>();

  constructor(dir: string) {
    this.dir = path.resolve(dir);
    this.indexPath = path.join(this.dir, 'index.jsonl');
    this.lockPath = path.join(this.dir, 'index.lock');
    this.tmpDir = path.join(this.dir, 'tmp');
    this.episodesDir = path.join(this.dir, 'episodes');
  }

  /** Directory of an episode (whether or not it exists). */
  episodeDir(id: string): string {
    return path.join(this.episodesDir, id.slice(0, 2), id);
  }

  /** Paths of an episode's files that exist (episode.json, track.npz, motion.npz, ...). */
  files(id: string): Record<string, string> {
    this.checkId(id);
    const dir = this.episodeDir(id);
    const out: Record<string, string> = {};
    for (const f of ['episode.json', ...Object.values(PART_FILES)]) {
      const p = path.join(dir, f);
      if (fs.existsSync(p)) out[f] = p;
    }
    return out;
  }

  private checkId(id: string): void {
    if (!ID_RE.test(id)) throw new UserError(`"${id}" is not an episode id (64 hex digits)`, this.dir);
  }

  // ---- index ----------------------------------------------------------------------------------------

  /** Read index lines appended since the last read. A last line without its newline is left for later. */
  private refresh(): void {
    let fd: number;
    try {
      fd = fs.openSync(this.indexPath, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      wrapFileError(err, this.indexPath);
    }
    try {
      const size = fs.fstatSync(fd).size;
      if (size <= this.indexOffset) return;
      const buf = Buffer.alloc(size - this.indexOffset);
      let got = 0;
      while (got < buf.length) {
        const n = fs.readSync(fd, buf, got, buf.length - got, this.indexOffset + got);
        if (n === 0) break;
        got += n;
      }
      let start = 0;
      for (;;) {
        const nl = buf.indexOf(10, start);
        if (nl < 0 || nl >= got) break;
        const text = buf.toString('utf8', start, nl);
        this.applyLine(text, this.indexOffset + start);
        start = nl + 1;
      }
      this.indexOffset += start;
    } finally {
      fs.closeSync(fd);
    }
  }

  private applyLine(text: string, offset: number): void {
    if (!text.trim()) return;
    let obj: any;
    try {
      obj = JSON.parse(text);
    } catch {
      this.badLines.push({ offset, text: text.slice(0, 80) });
      return;
    }
    if (!obj || typeof obj.id !== 'string' || !ID_RE.test(obj.id)) {
      this.badLines.push({ offset, text: text.slice(0, 80) });
      return;
    }
    if (obj.removed === true) {
      this.entries.delete(obj.id);
      this.tombstones.set(obj.id, obj as Tombstone);
      return;
    }
    if (this.entries.has(obj.id)) this.duplicates.add(obj.id);
    else this.entries.set(obj.id, obj as IndexEntry);
  }

  /** Append one line under the lock, unless `skip` (checked after catching up with the index) says no. */
  private appendLine(obj: object, skip: () => boolean): boolean {
    const line = JSON.stringify(obj) + '\n';
    return withLock(this.lockPath, () => {
      this.refresh();
      if (skip()) return false;
      const fd = fs.openSync(this.indexPath, 'a+');
      try {
        const size = fs.fstatSync(fd).size;
        let prefix = '';
        if (size > 0) {
          // A crash mid-append can leave a torn last line: end it so ours starts on a line of its own.
          const last = Buffer.alloc(1);
          fs.readSync(fd, last, 0, 1, size - 1);
          if (last[0] !== 10) prefix = '\n';
        }
        fs.writeSync(fd, Buffer.from(prefix + line, 'utf8'));
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      this.refresh();
      return true;
    });
  }

  // ---- public API -----------------------------------------------------------------------------------

  /** Live index entries, in the order they were added. */
  list(): IndexEntry[] {
    this.refresh();
    return [...this.entries.values()];
  }

  /** The full id of a stored episode from its id or a unique prefix of it (at least 4 hex digits). */
  resolve(prefix: string): string {
    const p = prefix.toLowerCase();
    if (!/^[0-9a-f]{4,64}$/.test(p)) throw new UserError(`"${prefix}" is not an episode id or id prefix (4+ hex digits)`, this.dir);
    if (p.length === 64) {
      if (!this.has(p)) throw new UserError(`no episode ${p} in this store`, this.dir);
      return p;
    }
    const matches = this.scan().ids.filter((id) => id.startsWith(p));
    if (matches.length === 0) throw new UserError(`no episode whose id starts with ${p}`, this.dir);
    if (matches.length > 1) throw new UserError(`id prefix ${p} is ambiguous (${matches.length} episodes)`, this.dir);
    return matches[0];
  }

  /** The index entry of a stored episode, or undefined. */
  entry(id: string): IndexEntry | undefined {
    this.refresh();
    return this.entries.get(id);
  }

  /** Removal record of an id, if it was removed. */
  removal(id: string): Tombstone | undefined {
    this.refresh();
    return this.tombstones.get(id);
  }

  has(id: string): boolean {
    if (!ID_RE.test(id)) return false;
    this.refresh();
    if (this.tombstones.has(id) && !this.entries.has(id)) return false;
    return fs.existsSync(path.join(this.episodeDir(id), 'episode.json'));
  }

  /**
   * Store an episode; returns its content id. Idempotent: an episode already stored is left as it is (a
   * stored copy whose files are damaged is replaced by this one). An id that was removed (purged) is not
   * stored again: that throws a UserError.
   */
  put(ep: Episode): string {
    checkProvenance(ep.provenance);
    if (!ep.track && !ep.motion && !ep.handMotion) throw new UserError('episode has neither a pose track nor a robot motion');
    fs.mkdirSync(this.tmpDir, { recursive: true });
    const tmp = path.join(this.tmpDir, `put-${process.pid}-${randomBytes(6).toString('hex')}`);
    fs.mkdirSync(tmp);
    let renamed = false;
    try {
      const parts: EpisodePart[] = [];
      const write = (part: EpisodePart, fn: (file: string) => void) => {
        fn(path.join(tmp, PART_FILES[part]));
        parts.push(part);
        crashPoint('after-first-file');
      };
      if (ep.track) write('track', (f) => saveTrack(f, ep.track!));
      if (ep.motion) write('motion', (f) => saveMotion(f, ep.motion!));
      if (ep.handMotion) write('hand_motion', (f) => saveMotion(f, ep.handMotion!));
      if (ep.masks && Object.keys(ep.masks).length) write('masks', (f) => writeNpz(f, masksContent(ep.masks!)));
      // The id comes from what was written, read back: exactly what verify() will recompute.
      const contents: Partial<Record<EpisodePart, NpzContent>> = {};
      for (const p of parts) contents[p] = readNpz(path.join(tmp, PART_FILES[p]));
      const id = episodeId(hashedContent(ep.provenance, ep.quality, ep.validation, parts), contents);

      this.refresh();
      const removed = this.tombstones.get(id);
      if (removed && !this.entries.has(id)) {
        throw new UserError(`episode ${id} was removed from this store (${removed.reason}); it is not stored again`, this.dir);
      }
      const entry = indexEntryOf(id, ep);
      const record: EpisodeRecord = {
        kind: 'reel2real-episode',
        version: STORE_VERSION,
        id,
        provenance: { ...ep.provenance, createdAt: entry.createdAt },
        ...(ep.quality !== undefined ? { quality: ep.quality } : {}),
        ...(ep.validation !== undefined ? { validation: ep.validation } : {}),
        parts,
        entry,
      };
      writeFileAtomic(path.join(tmp, 'episode.json'), JSON.stringify(record, null, 1) + '\n');
      fsyncDir(tmp);
      crashPoint('before-rename');

      const target = this.episodeDir(id);
      fs.mkdirSync(path.dirname(target), { recursive: true });
      if (fs.existsSync(target) && !this.intact(id)) {
        // The stored copy is damaged (altered or truncated files): replace it with this good one, one
        // healer at a time.
        withLock(this.lockPath, () => {
          if (!fs.existsSync(target) || this.intact(id)) return;
          const aside = path.join(this.tmpDir, `rm-${process.pid}-${randomBytes(6).toString('hex')}`);
          fs.renameSync(target, aside);
          fs.renameSync(tmp, target);
          renamed = true;
          fsyncDir(path.dirname(target));
          fs.rmSync(aside, { recursive: true, force: true });
        });
      }
      if (!renamed && !fs.existsSync(target)) {
        try {
          fs.renameSync(tmp, target);
          renamed = true;
          fsyncDir(path.dirname(target));
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err;
          // Another writer stored the same episode first.
        }
      }
      crashPoint('after-rename');
      // Index it unless it already is (also heals an episode whose writer died before indexing it).
      const stored = renamed ? entry : this.readRecord(id).entry;
      this.appendLine(stored, () => this.entries.has(id) || this.tombstones.has(id));
      if (this.tombstones.has(id) && !this.entries.has(id)) {
        // Removed (purged) while we were writing it: the removal wins.
        this.deleteDir(id);
        throw new UserError(`episode ${id} was removed from this store while being stored; it is not kept`, this.dir);
      }
      return id;
    } finally {
      if (!renamed) fs.rmSync(tmp, { recursive: true, force: true });
    }
  }

  private readRecord(id: string): EpisodeRecord {
    const file = path.join(this.episodeDir(id), 'episode.json');
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new UserError(`no episode ${id} in this store`, this.dir);
      wrapFileError(err, file);
    }
    let rec: EpisodeRecord;
    try {
      rec = JSON.parse(text);
    } catch {
      throw new UserError('not valid JSON', file);
    }
    if (rec.kind !== 'reel2real-episode' || rec.id !== id || !Array.isArray(rec.parts)) throw new UserError('not an episode record for this id', file);
    return rec;
  }

  /** Recompute the content id of a stored episode from its files. */
  private rehash(id: string, rec: EpisodeRecord): string {
    return this.contentId(rec, this.readParts(id, rec));
  }

  private readParts(id: string, rec: EpisodeRecord): Partial<Record<EpisodePart, NpzContent>> {
    const dir = this.episodeDir(id);
    const contents: Partial<Record<EpisodePart, NpzContent>> = {};
    for (const p of rec.parts) {
      if (!EPISODE_PARTS.includes(p)) throw new UserError(`unknown part "${p}"`, path.join(dir, 'episode.json'));
      contents[p] = readNpz(path.join(dir, PART_FILES[p]));
    }
    return contents;
  }

  private contentId(rec: EpisodeRecord, contents: Partial<Record<EpisodePart, NpzContent>>): string {
    return episodeId(hashedContent(rec.provenance, rec.quality, rec.validation, rec.parts), contents);
  }

  /** Whether a stored episode's files are all there and still hash to its id. */
  private intact(id: string): boolean {
    try {
      const rec = this.readRecord(id);
      return this.rehash(id, rec) === id;
    } catch {
      return false;
    }
  }

  /** The stored episode record (episode.json): provenance, reports, index entry; no arrays. */
  record(id: string): EpisodeRecord {
    this.checkId(id);
    return this.readRecord(id);
  }

  /**
   * Load a stored episode (each file read once). With verify (the default) a file that no longer matches the
   * id is refused. The episode carries the CRC-32 of its arrays from the files' zip directory (`checksums`).
   */
  get(id: string, opts: GetOptions = {}): Episode {
    this.checkId(id);
    const rec = this.readRecord(id);
    const dir = this.episodeDir(id);
    const contents = this.readParts(id, rec);
    if (opts.verify !== false && this.contentId(rec, contents) !== id) {
      throw new UserError(`episode ${id} does not match its content (corrupt or altered files)`, dir);
    }
    const ep: Episode = { provenance: rec.provenance };
    if (contents.track) ep.track = trackFromNpz(contents.track, path.join(dir, PART_FILES.track));
    if (contents.motion) ep.motion = motionFromNpz(contents.motion, path.join(dir, PART_FILES.motion));
    if (contents.hand_motion) ep.handMotion = motionFromNpz(contents.hand_motion, path.join(dir, PART_FILES.hand_motion));
    if (contents.masks) {
      ep.masks = {};
      for (const [k, a] of Object.entries(contents.masks.arrays)) ep.masks[k] = Uint8Array.from(a.data as ArrayLike<number>);
    }
    if (rec.quality !== undefined) ep.quality = rec.quality;
    if (rec.validation !== undefined) ep.validation = rec.validation;
    ep.checksums = storedChecksums(ep, contents);
    return ep;
  }

  /**
   * Remove an episode for good (privacy purge): appends a removal line to the index, then deletes the
   * episode's directory. Idempotent. Returns whether files were deleted.
   */
  remove(id: string, reason: string): boolean {
    this.checkId(id);
    if (!reason || typeof reason !== 'string') throw new UserError('a removal needs a reason', this.dir);
    const tomb: Tombstone = { id, removed: true, removedAt: new Date().toISOString(), reason };
    this.appendLine(tomb, () => this.tombstones.has(id) && !this.entries.has(id));
    return this.deleteDir(id);
  }

  private deleteDir(id: string): boolean {
    const dir = this.episodeDir(id);
    if (!fs.existsSync(dir)) return false;
    fs.mkdirSync(this.tmpDir, { recursive: true });
    const aside = path.join(this.tmpDir, `rm-${process.pid}-${randomBytes(6).toString('hex')}`);
    try {
      fs.renameSync(dir, aside);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw err;
    }
    fs.rmSync(aside, { recursive: true, force: true });
    return true;
  }

  /** Episode directories on disk: id → path. Also names anything else found there. */
  private scan(): { ids: string[]; strays: string[] } {
    const ids: string[] = [];
    const strays: string[] = [];
    if (!fs.existsSync(this.episodesDir)) return { ids, strays };
    for (const pre of fs.readdirSync(this.episodesDir).sort()) {
      const pdir = path.join(this.episodesDir, pre);
      if (!fs.statSync(pdir).isDirectory() || !/^[0-9a-f]{2}$/.test(pre)) { strays.push(pdir); continue; }
      for (const name of fs.readdirSync(pdir).sort()) {
        if (ID_RE.test(name) && name.startsWith(pre)) ids.push(name);
        else strays.push(path.join(pdir, name));
      }
    }
    return { ids, strays };
  }

  private tempDirs(): { path: string; live: boolean }[] {
    if (!fs.existsSync(this.tmpDir)) return [];
    return fs.readdirSync(this.tmpDir).map((name) => {
      const pid = Number(/^(?:put|rm)-(\d+)-/.exec(name)?.[1]);
      return { path: path.join(this.tmpDir, name), live: pidAlive(pid) };
    });
  }

  /** Rehash every episode against its id; compare the index with the directories; look for leftovers. */
  verify(): VerifyReport {
    this.refresh();
    const problems: VerifyReport['problems'] = [];
    const warnings: VerifyReport['warnings'] = [];
    const { ids, strays } = this.scan();
    const onDisk = new Set(ids);
    for (const s of strays) problems.push({ path: s, problem: 'unexpected file in episodes/ (not an episode directory)' });
    for (const id of ids) {
      const dir = this.episodeDir(id);
      try {
        const rec = this.readRecord(id);
        for (const p of rec.parts) {
          if (!fs.existsSync(path.join(dir, PART_FILES[p]))) throw new UserError(`missing ${PART_FILES[p]}`, dir);
        }
        const actual = this.rehash(id, rec);
        if (actual !== id) problems.push({ id, path: dir, problem: `content hashes to ${actual.slice(0, 12)}…, not its id (corrupt or altered)` });
      } catch (err) {
        problems.push({ id, path: dir, problem: err instanceof UserError ? err.message : String((err as Error).message) });
      }
      if (this.tombstones.has(id) && !this.entries.has(id)) problems.push({ id, path: dir, problem: 'was removed but its files are still there (repair deletes them)' });
      else if (!this.entries.has(id)) problems.push({ id, path: dir, problem: 'stored but not in the index (repair indexes it)' });
    }
    for (const id of this.entries.keys()) {
      if (!onDisk.has(id)) problems.push({ id, problem: 'in the index but its directory is missing' });
    }
    for (const id of this.duplicates) problems.push({ id, problem: 'indexed more than once' });
    // A crash mid-append tears a line our writer began ({"...); anything else in the index is corruption.
    for (const b of this.badLines) {
      if (b.text.startsWith('{"')) warnings.push({ path: this.indexPath, problem: `unreadable index line at byte ${b.offset} (torn by a crash?): ${safeText(b.text, 80)}` });
      else problems.push({ path: this.indexPath, problem: `index line at byte ${b.offset} is not an index entry (the index is corrupt): ${safeText(b.text, 80)}` });
    }
    for (const t of this.tempDirs()) {
      if (!t.live) warnings.push({ path: t.path, problem: 'temporary directory left by a process that died (repair removes it)' });
    }
    return { ok: problems.length === 0, episodes: ids.length, indexed: this.entries.size, problems, warnings };
  }

  /**
   * Clear what crashes leave behind: temp directories of dead processes, complete episodes that were
   * never indexed (index them), removed episodes whose files survived (delete them). Corrupt episodes
   * are left for a person to look at (verify names them).
   */
  repair(): RepairReport {
    const report: RepairReport = { removedTemp: [], indexed: [], purged: [] };
    for (const t of this.tempDirs()) {
      if (!t.live) { fs.rmSync(t.path, { recursive: true, force: true }); report.removedTemp.push(t.path); }
    }
    this.refresh();
    for (const id of this.scan().ids) {
      if (this.tombstones.has(id) && !this.entries.has(id)) {
        if (this.deleteDir(id)) report.purged.push(id);
        continue;
      }
      if (this.entries.has(id)) continue;
      let rec: EpisodeRecord;
      try {
        rec = this.readRecord(id);
        if (this.rehash(id, rec) !== id) continue;
      } catch {
        continue;
      }
      if (this.appendLine(rec.entry, () => this.entries.has(id) || this.tombstones.has(id))) report.indexed.push(id);
    }
    return report;
  }
}

/** Open a store directory; with `create`, make it if it does not exist. */
export function openStore(dir: string, opts: { create?: boolean } = {}): EpisodeStore {
  const abs = path.resolve(dir);
  const marker = path.join(abs, 'store.json');
  if (!fs.existsSync(marker)) {
    if (!opts.create) {
      throw new UserError(fs.existsSync(abs) ? 'not an episode store (no store.json)' : 'no such store', dir);
    }
    fs.mkdirSync(path.join(abs, 'episodes'), { recursive: true });
    fs.mkdirSync(path.join(abs, 'tmp'), { recursive: true });
    if (!fs.existsSync(marker)) {
      // Written aside and linked into place: concurrent creators never see a half-written marker.
      const tmp = path.join(abs, 'tmp', `store-${process.pid}-${randomBytes(4).toString('hex')}.json`);
      fs.writeFileSync(tmp, JSON.stringify({ kind: 'reel2real-store', version: STORE_VERSION }) + '\n');
      try {
        fs.linkSync(tmp, marker);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') wrapFileError(err, marker);
      } finally {
        fs.rmSync(tmp, { force: true });
      }
    }
  }
  let meta: any;
  try {
    meta = JSON.parse(fs.readFileSync(marker, 'utf8'));
  } catch {
    throw new UserError('store.json is not valid JSON', marker);
  }
  if (meta?.kind !== 'reel2real-store') throw new UserError('not an episode store', marker);
  if (meta.version > STORE_VERSION) throw new UserError(`store version ${meta.version} is newer than this reel2real understands (${STORE_VERSION})`, marker);
  return new EpisodeStore(abs);
}

/**
 * The CRC-32 of each loaded array, taken from the files it was read from: kept only where the loaded array
 * has the stored bytes (same element type and length; loading converts other dtypes).
 */
function storedChecksums(ep: Episode, contents: Partial<Record<EpisodePart, NpzContent>>): EpisodeChecksums {
  const out: EpisodeChecksums = {};
  const loaded = partArrays(ep);
  for (const part of EPISODE_PARTS) {
    const stored = contents[part]?.arrays;
    if (!stored) continue;
    const sums: Record<string, number> = {};
    for (const [name, a] of Object.entries(stored)) {
      const l = loaded[part][name];
      if (a.crc32 !== undefined && l && l.constructor === a.data.constructor && l.byteLength === a.data.byteLength) sums[name] = a.crc32;
    }
    out[part] = sums;
  }
  return out;
}
