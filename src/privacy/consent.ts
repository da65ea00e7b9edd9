/**
 * Consent manifests: one per recording (a JSON or YAML sidecar such as `<recording>.consent.json`), stating
 * who agreed (a contributor id that is pseudonymised again at ingest, never stored raw), to which consent
 * text version, for which uses (scopes), from when, until when, whether it was withdrawn, how long derived
 * data may be kept, which recordings it covers (by content hash), and the operator's signature.
 *
 *     consent_id: c-2026-0412            # stable id of this consent record
 *     contributor: worker-8812           # the collection platform's id for the person
 *     consent_version: "2.1"             # version of the consent text signed
 *     scopes: [robot-training, release-to-partners]
 *     granted: 2026-01-10                # ISO date or date-time (a real calendar date)
 *     expires: 2027-01-10                # or null (no end date)
 *     withdrawn: null                    # date the person withdrew, or null; any withdrawal is final at once
 *     retention_days: 365                # derived data older than this (from its creation) must go; or null
 *     recordings: [9f2c…64 hex…]         # sha256 of every recording it covers (names alone are refused)
 *     signature: hmac-sha256:v1:…        # written by `reel2real consent sign` (signManifest)
 *
 * The API (what an upload server or the pipeline calls):
 *
 *     signManifest(manifest, key) → manifest with `signature`      (operator registers a consent)
 *     verifyManifest(manifest, key) → 'valid' | 'unsigned' | 'altered'
 *     checkConsent(manifest, {scope, sha256, key, now})            throws UserError unless it grants
 *     gateRecording({sha256, manifests, scope, key, now})          (gate.ts) every manifest must grant;
 *                                                                  any withdrawn/expired/narrower one refuses
 *
 * `key` is the operator key (loadOperatorKey, pseudonym.ts); signatures use a subkey derived from it for this
 * purpose only (operatorSubkey(key, 'manifest')). A withdrawal never needs a signature to count: refusing is
 * always safe, granting needs the operator's signature over the exact content.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { UserError, quote } from '../errors.ts';
import { writeFileAtomic } from '../io/atomic.ts';
import { readFileBounded } from '../io/text.ts';
import { operatorSubkey } from './pseudonym.ts';

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
  /** sha256 (64 hex digits, optionally prefixed `sha256:`) of each recording covered. */
  recordings?: string[];
  /** `hmac-sha256:v1:<hex>` over the canonical content (signManifest). */
  signature?: string;
  /** File it was read from. */
  file?: string;
}

const KEYS = new Set(['consent_id', 'contributor', 'consent_version', 'scopes', 'granted', 'expires', 'withdrawn', 'retention_days', 'recordings', 'signature', 'kind']);
const SIG_PREFIX = 'hmac-sha256:v1:';

/** A real calendar date (and time of day), ISO 8601: 2027-02-30 and 25:00 are refused. */
export function isIsoDate(s: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/.exec(s);
  if (!m) return false;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (mo < 1 || mo > 12 || d < 1) return false;
  const days = new Date(Date.UTC(y, mo, 0)).getUTCDate();
  if (d > days) return false;
  if (m[4] !== undefined && (Number(m[4]) > 23 || Number(m[5]) > 59 || Number(m[6] ?? 0) > 59)) return false;
  if (m[7] && m[7] !== 'Z') {
    const z = m[7].replace(':', '');
    if (Number(z.slice(1, 3)) > 23 || Number(z.slice(3, 5)) > 59) return false;
  }
  return !Number.isNaN(Date.parse(s.replace(' ', 'T')));
}

/** Milliseconds of an ISO date (validated by parseConsent). */
function ms(s: string): number {
  return Date.parse(s.replace(' ', 'T'));
}

function parseDate(v: unknown, key: string, file: string, nullable: boolean): string | null {
  if (v === null || v === undefined) {
    if (nullable) return null;
    throw new UserError(`consent manifest lacks ${key}`, file);
  }
  const s = v instanceof Date ? v.toISOString() : String(v);
  if (!isIsoDate(s)) throw new UserError(`${key} is not a valid ISO calendar date: ${quote(s)}`, file);
  return s;
}

/** sha256 in a `recordings` entry, lower case, or null when the entry is not one. */
export function recordingHash(entry: string): string | null {
  const m = /^(?:sha256:)?([0-9a-fA-F]{64})$/.exec(entry.trim());
  return m ? m[1].toLowerCase() : null;
}

/** Validate a parsed manifest object read from `file`. */
export function parseConsent(raw: unknown, file: string): ConsentManifest {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new UserError('consent manifest must be a JSON/YAML object', file);
  const o = raw as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!KEYS.has(k)) throw new UserError(`unknown key ${quote(k)} in consent manifest`, file);
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
  if (recs !== undefined && recs !== null && (!Array.isArray(recs) || recs.some((r) => typeof r !== 'string'))) throw new UserError('recordings must be a list of sha256 hashes', file);
  const sig = o.signature;
  if (sig !== undefined && sig !== null && typeof sig !== 'string') throw new UserError('signature must be a string (written by `reel2real consent sign`)', file);
  const m: ConsentManifest = {
    consent_id: str('consent_id'),
    contributor: str('contributor'),
    consent_version: str('consent_version'),
    scopes: scopes as string[],
    granted: parseDate(o.granted, 'granted', file, false)!,
    expires: parseDate(o.expires, 'expires', file, true),
    withdrawn: parseDate(o.withdrawn, 'withdrawn', file, true),
    retention_days: (rd as number | undefined) ?? null,
    recordings: (recs as string[] | null | undefined) ?? undefined,
    signature: (sig as string | null | undefined) ?? undefined,
    file,
  };
  if (m.expires && ms(m.expires) <= ms(m.granted)) throw new UserError('expires is not after granted', file);
  return m;
}

function readManifestFile(file: string): { raw: unknown; yaml: boolean } {
  if (!fs.existsSync(file) && !fs.lstatSync(file, { throwIfNoEntry: false })) throw new UserError('no consent manifest at this path', file);
  const text = readFileBounded(file, 16 * 2 ** 20).toString('utf8');
  if (!text.trim()) throw new UserError('consent manifest is empty', file);
  const yaml = !/\.json$/i.test(file);
  try {
    return { raw: yaml ? parseYaml(text) : JSON.parse(text), yaml };
  } catch (err) {
    throw new UserError(`malformed consent manifest: ${quote((err as Error).message || String(err))}`, file);
  }
}

export function loadConsent(file: string): ConsentManifest {
  return parseConsent(readManifestFile(file).raw, file);
}

/** The bytes a signature covers: every field but `signature` and `file`, normalised, in a fixed order. */
export function canonicalManifest(m: ConsentManifest): string {
  return JSON.stringify([
    'reel2real-consent-v1', m.consent_id, m.contributor, m.consent_version, [...m.scopes], m.granted, m.expires, m.withdrawn,
    m.retention_days, (m.recordings ?? []).map((r) => recordingHash(r) ?? r),
  ]);
}

function mac(m: ConsentManifest, key: Buffer | Uint8Array): Buffer {
  return createHmac('sha256', operatorSubkey(key, 'manifest')).update(canonicalManifest(m), 'utf8').digest();
}

/** A copy of the manifest with the operator's signature over its content. */
export function signManifest<T extends ConsentManifest>(m: T, key: Buffer | Uint8Array): T & { signature: string } {
  return { ...m, signature: SIG_PREFIX + mac(m, key).toString('hex') };
}

/** Whether the manifest carries the operator's signature over exactly its current content. */
export function verifyManifest(m: ConsentManifest, key: Buffer | Uint8Array): 'valid' | 'unsigned' | 'altered' {
  if (!m.signature) return 'unsigned';
  if (!m.signature.startsWith(SIG_PREFIX)) return 'altered';
  const got = Buffer.from(m.signature.slice(SIG_PREFIX.length), 'hex');
  const want = mac(m, key);
  return got.length === want.length && timingSafeEqual(got, want) ? 'valid' : 'altered';
}

/**
 * `reel2real consent sign`: check the manifest is well formed and bound to recordings by hash, then write
 * it back (atomically, same format) with the operator's signature. Returns the signed manifest.
 */
export function signManifestFile(file: string, key: Buffer | Uint8Array): ConsentManifest {
  const { raw, yaml } = readManifestFile(file);
  const m = parseConsent(raw, file);
  requireBinding(m, file);
  const signed = signManifest(m, key);
  const out: Record<string, unknown> = { ...(raw as Record<string, unknown>), signature: signed.signature };
  // Keep the validated (normalised) values, which are what the signature covers.
  for (const k of ['consent_id', 'contributor', 'consent_version', 'scopes', 'granted', 'expires', 'withdrawn', 'retention_days', 'recordings'] as const) out[k] = signed[k] ?? null;
  writeFileAtomic(file, yaml ? stringifyYaml(out) : JSON.stringify(out, null, 2) + '\n');
  return signed;
}

function requireBinding(m: ConsentManifest, file?: string): string[] {
  const recs = m.recordings ?? [];
  if (!recs.length) throw new UserError(`consent ${quote(m.consent_id)} names no recordings: list the sha256 of each recording it covers`, file);
  const bad = recs.find((r) => !recordingHash(r));
  if (bad !== undefined) throw new UserError(`consent ${quote(m.consent_id)} names a recording by ${quote(bad)}: list recordings by sha256 (a name alone does not bind the consent to the content)`, file);
  return recs.map((r) => recordingHash(r)!);
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
  return findConsents(recording, manifestPath)[0];
}

/**
 * Every manifest that speaks about a recording: the one given, and every sidecar beside it. The gate
 * requires each to grant, so a withdrawn sidecar is not bypassed by `--consent other.json`.
 */
export function findConsents(recording: string, manifestPath?: string): string[] {
  const out: string[] = [];
  if (manifestPath) {
    if (!fs.existsSync(manifestPath)) throw new UserError('no consent manifest at this path', manifestPath);
    out.push(manifestPath);
  }
  for (const f of sidecarCandidates(recording)) if (fs.existsSync(f) && !out.some((o) => path.resolve(o) === path.resolve(f))) out.push(f);
  if (!out.length) throw new UserError(`no consent manifest: expected ${path.basename(sidecarCandidates(recording)[0])} (or .yaml) beside the recording, or --consent <manifest>`, recording);
  return out;
}

export interface ConsentCheck {
  scope: string;
  now?: Date;
  /** sha256 of the recording: the manifest must list it. Without it the binding is not checked. */
  sha256?: string;
  /** Operator key: the signature must be valid. Without it the signature is not checked. */
  key?: Buffer | Uint8Array;
}

/** Why a manifest does not withdraw or lapse at `now`, or null: the refusals that need no signature to count. */
function refusal(m: ConsentManifest, now: number): string | null {
  // A withdrawal is final from the moment it is recorded, whatever date it carries.
  if (m.withdrawn) return `consent ${m.consent_id} was withdrawn on ${m.withdrawn}: the recording may not be used`;
  if (ms(m.granted) > now) return `consent ${m.consent_id} is only granted from ${m.granted}`;
  if (m.expires && ms(m.expires) <= now) return `consent ${m.consent_id} expired on ${m.expires}`;
  return null;
}

/**
 * Refuse (UserError naming the manifest) unless the consent grants `scope` at `now`: not withdrawn (ever),
 * granted, not expired, the scope granted, and — when given — covering the recording's sha256 and signed
 * by the operator's key over its exact content.
 */
export function checkConsent(m: ConsentManifest, opts: ConsentCheck): void {
  const now = (opts.now ?? new Date()).getTime();
  const f = m.file;
  const why = refusal(m, now);
  if (why) throw new UserError(why, f);
  if (!m.scopes.includes(opts.scope)) throw new UserError(`consent ${m.consent_id} does not grant scope ${quote(opts.scope)} (granted: ${m.scopes.map((s) => quote(s)).join(', ') || 'none'})`, f);
  if (opts.sha256 !== undefined) {
    const hashes = requireBinding(m, f);
    if (!hashes.includes(opts.sha256.toLowerCase())) throw new UserError(`consent ${m.consent_id} does not cover this recording (sha256 ${opts.sha256.slice(0, 16)}… is not in its recordings)`, f);
  }
  if (opts.key) {
    const v = verifyManifest(m, opts.key);
    if (v === 'unsigned') throw new UserError(`consent ${m.consent_id} is not signed by the operator (register it with \`reel2real consent sign\`)`, f);
    if (v === 'altered') throw new UserError(`consent ${m.consent_id} was altered after it was signed (or signed with another key): its signature does not match`, f);
  }
}

/** Whether a consent is no longer in force at `now` (withdrawn — at any date — or expired), with the reason. */
export function consentLapsed(m: Pick<ConsentManifest, 'consent_id' | 'expires' | 'withdrawn'>, now: Date): string | null {
  const t = now.getTime();
  if (m.withdrawn) return `consent ${m.consent_id} withdrawn on ${m.withdrawn}`;
  if (m.expires && ms(m.expires) <= t) return `consent ${m.consent_id} expired on ${m.expires}`;
  return null;
}
