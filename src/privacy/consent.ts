/**
 * Consent manifests: one per recording (a JSON or YAML sidecar such as `<recording>.consent.json`), stating
 * who agreed (a contributor id that is pseudonymised again at ingest, never stored raw), to which consent
 * text version, for which uses (scopes), from when, until when, whether it was withdrawn, and how long derived
 * data may be kept.
 *
 *     consent_id: c-2026-0412            # stable id of this consent record
 *     contributor: worker-8812           # the collection platform's id for the person
 *     consent_version: "2.1"             # version of the consent text signed
 *     scopes: [robot-training, release-to-partners]
 *     granted: 2026-01-10                # ISO date or date-time
 *     expires: 2027-01-10                # or null (no end date)
 *     withdrawn: null                    # date the person withdrew, or null
 *     retention_days: 365                # derived data older than this (from its creation) must go; or null
 *     recordings: [kitchen-0001.mp4]     # optional: base names or sha256 of the recordings it covers
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { UserError } from '../errors.ts';

/** Uses a contributor can consent to. */
export const KNOWN_SCOPES = ['robot-training', 'release-to-partners', 'public-release', 'research-publication', 'video-retention'] as const;

export interface ConsentManifest {
  consent_id: string;
  contributor: string;
  consent_version: string;
  scopes: string[];
  granted: string;
  expires: string | null;
  withdrawn: string | null;
  retention_days: number | null;
  recordings?: string[];
  /** File it was read from. */
  file?: string;
}

const KEYS = new Set(['consent_id', 'contributor', 'consent_version', 'scopes', 'granted', 'expires', 'withdrawn', 'retention_days', 'recordings', 'kind']);

function parseDate(v: unknown, key: string, file: string, nullable: boolean): string | null {
  if (v === null || v === undefined) {
    if (nullable) return null;
    throw new UserError(`consent manifest lacks ${key}`, file);
  }
  const s = v instanceof Date ? v.toISOString() : String(v);
  if (!/^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(s) || Number.isNaN(Date.parse(s))) {
    throw new UserError(`${key} is not an ISO date: ${JSON.stringify(s)}`, file);
  }
  return s;
}

/** Validate a parsed manifest object read from `file`. */
export function parseConsent(raw: unknown, file: string): ConsentManifest {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new UserError('consent manifest must be a JSON/YAML object', file);
  const o = raw as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!KEYS.has(k)) throw new UserError(`unknown key "${k}" in consent manifest`, file);
  const str = (k: string) => {
    const v = o[k];
    if (typeof v === 'number') return String(v);
    if (typeof v !== 'string' || !v.trim()) throw new UserError(`consent manifest lacks ${k} (a non-empty string)`, file);
    return v.trim();
  };
  const scopes = o.scopes;
  if (!Array.isArray(scopes) || scopes.some((s) => typeof s !== 'string' || !s)) throw new UserError('scopes must be a list of scope names', file);
  const rd = o.retention_days;
  if (rd !== undefined && rd !== null && !(typeof rd === 'number' && rd > 0 && Number.isFinite(rd))) throw new UserError('retention_days must be a positive number of days or null', file);
  const recs = o.recordings;
  if (recs !== undefined && (!Array.isArray(recs) || recs.some((r) => typeof r !== 'string'))) throw new UserError('recordings must be a list of file names or sha256 hashes', file);
  const m: ConsentManifest = {
    consent_id: str('consent_id'),
    contributor: str('contributor'),
    consent_version: str('consent_version'),
    scopes: scopes as string[],
    granted: parseDate(o.granted, 'granted', file, false)!,
    expires: parseDate(o.expires, 'expires', file, true),
    withdrawn: parseDate(o.withdrawn, 'withdrawn', file, true),
    retention_days: (rd as number | undefined) ?? null,
    recordings: recs as string[] | undefined,
    file,
  };
  if (m.expires && Date.parse(m.expires) <= Date.parse(m.granted)) throw new UserError('expires is not after granted', file);
  return m;
}

export function loadConsent(file: string): ConsentManifest {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new UserError(e.code === 'ENOENT' ? 'no consent manifest at this path' : (e.message || String(e)).split('\n')[0], file);
  }
  if (!text.trim()) throw new UserError('consent manifest is empty', file);
  let raw: unknown;
  try {
    raw = /\.json$/i.test(file) ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new UserError(`malformed consent manifest: ${((err as Error).message || String(err)).split('\n')[0]}`, file);
  }
  return parseConsent(raw, file);
}

/** Sidecar names looked for beside a recording, in order. */
export function sidecarCandidates(recording: string): string[] {
  const dir = path.dirname(recording);
  const base = path.basename(recording);
  const stem = base.replace(/\.[^.]+$/, '');
  const out: string[] = [];
  for (const name of [base, stem]) for (const ext of ['.consent.json', '.consent.yaml', '.consent.yml']) out.push(path.join(dir, name + ext));
  return [...new Set(out)];
}

/** The consent manifest path for a recording: the given one, else the first sidecar that exists. */
export function findConsent(recording: string, manifestPath?: string): string {
  if (manifestPath) {
    if (!fs.existsSync(manifestPath)) throw new UserError('no consent manifest at this path', manifestPath);
    return manifestPath;
  }
  const found = sidecarCandidates(recording).find((f) => fs.existsSync(f));
  if (!found) throw new UserError(`no consent manifest: expected ${path.basename(sidecarCandidates(recording)[0])} (or .yaml) beside the recording, or --consent <manifest>`, recording);
  return found;
}

export interface ConsentCheck {
  scope: string;
  now?: Date;
  /** Base name and/or sha256 of the recording, checked against `recordings` when the manifest lists them. */
  recording?: { name?: string; sha256?: string };
}

/**
 * Refuse (UserError naming the manifest) unless the consent is in force at `now` for `scope`: granted, not
 * expired, not withdrawn, scope granted, and covering the recording when the manifest lists recordings.
 */
export function checkConsent(m: ConsentManifest, opts: ConsentCheck): void {
  const now = (opts.now ?? new Date()).getTime();
  const f = m.file;
  if (m.withdrawn && Date.parse(m.withdrawn) <= now) throw new UserError(`consent ${m.consent_id} was withdrawn on ${m.withdrawn}: the recording may not be used`, f);
  if (Date.parse(m.granted) > now) throw new UserError(`consent ${m.consent_id} is only granted from ${m.granted}`, f);
  if (m.expires && Date.parse(m.expires) <= now) throw new UserError(`consent ${m.consent_id} expired on ${m.expires}`, f);
  if (!m.scopes.includes(opts.scope)) throw new UserError(`consent ${m.consent_id} does not grant scope "${opts.scope}" (granted: ${m.scopes.join(', ') || 'none'})`, f);
  if (m.recordings && m.recordings.length && opts.recording) {
    const { name, sha256 } = opts.recording;
    const covered = m.recordings.some((r) => r === name || (sha256 && r.toLowerCase() === sha256.toLowerCase()));
    if (!covered) throw new UserError(`consent ${m.consent_id} does not cover recording ${name ?? sha256}`, f);
  }
}

/** Whether a consent is no longer in force at `now` (withdrawn or expired), with the reason. */
export function consentLapsed(m: Pick<ConsentManifest, 'consent_id' | 'expires' | 'withdrawn'>, now: Date): string | null {
  const t = now.getTime();
  if (m.withdrawn && Date.parse(m.withdrawn) <= t) return `consent ${m.consent_id} withdrawn on ${m.withdrawn}`;
  if (m.expires && Date.parse(m.expires) <= t) return `consent ${m.consent_id} expired on ${m.expires}`;
  return null;
}
