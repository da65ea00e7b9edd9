/**
 * The ingest gate the pipeline (`run`, `batch`) calls before it writes anything: find every consent manifest
 * that speaks about a recording, check each for the scope the run needs, and turn the contributor id into its
 * pseudonym. Refusals are UserErrors naming the manifest (or the recording when there is none).
 *
 * The rule (docs/privacy.md): a recording is used only if every manifest that names it — the one given, each
 * sidecar beside it, and the store's kept consent records for it — is signed by the operator over its exact
 * content, lists the recording's sha256, is granted and not expired, grants the scope, and was never
 * withdrawn. Any one that withdraws, lapses or narrows refuses. For an upload server that holds the bytes'
 * hash and parsed manifests rather than files: `gateRecording({sha256, manifests, scope, key, now})`.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../errors.ts';
import type { Provenance } from '../store/episode.ts';
import { checkConsent, consentLapsed, findConsents, loadConsent, recordingHash, type ConsentManifest } from './consent.ts';
import { pseudonymize } from './pseudonym.ts';

export interface GateInput {
  /** Path of the recording (video or mocap file). */
  recording: string;
  /** Consent manifest given by the operator; sidecars beside the recording are always read too. */
  manifestPath?: string;
  /** Consent records already known (the store's, see storeConsents): their withdrawals and expiries count. */
  known?: ConsentManifest[];
  /** The use this run makes of the data, e.g. 'robot-training'. */
  scope: string;
  /** The operator's pseudonym key (see loadPseudonymKey). */
  key: Buffer | Uint8Array;
  now?: Date;
}

type ProvenanceConsent = Provenance['consent'];

/** What an episode's provenance.consent holds (id, version, scopes, expires) plus what purge and audits need. */
export interface ConsentRef extends ProvenanceConsent {
  granted: string;
  retention_days: number | null;
  /** sha256 of the manifest file as it was at ingest. */
  manifest_sha256: string;
}

export interface GateResult {
  contributorPseudonym: string;
  consentRef: ConsentRef;
  /** sha256 and base name of the recording. */
  recording: { file: string; sha256: string; bytes: number };
  manifest: Omit<ConsentManifest, 'contributor'> & { contributor: string };
}

export function sha256File(file: string): string {
  const h = createHash('sha256');
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(1 << 20);
    let n: number;
    while ((n = fs.readSync(fd, buf, 0, buf.length, null)) > 0) h.update(buf.subarray(0, n));
  } finally {
    fs.closeSync(fd);
  }
  return h.digest('hex');
}

export interface RecordingGate {
  /** sha256 of the recording's bytes (hex). */
  sha256: string;
  /** Every manifest that speaks about the recording; the first is the one the episode refers to. */
  manifests: ConsentManifest[];
  /** Records that count only for refusals (withdrawn or lapsed ones that name the recording or share an id). */
  known?: ConsentManifest[];
  scope: string;
  /** The operator key: checks signatures and makes the pseudonym. */
  key: Buffer | Uint8Array;
  now?: Date;
}

/**
 * The gate on a recording's hash and its manifests, for callers without files (an upload server): throws a
 * UserError unless every manifest grants; returns the governing manifest and the contributor's pseudonym.
 */
export function gateRecording(g: RecordingGate): { manifest: ConsentManifest; contributorPseudonym: string } {
  if (!/^[0-9a-f]{64}$/i.test(g.sha256)) throw new UserError(`not a sha256: ${g.sha256.slice(0, 80)}`);
  if (!g.manifests.length) throw new UserError('no consent manifest for this recording');
  const now = g.now ?? new Date();
  const sha = g.sha256.toLowerCase();
  // Refusals first, from every source, signed or not: a withdrawal anywhere wins.
  const ids = new Set(g.manifests.map((m) => m.consent_id));
  for (const k of g.known ?? []) {
    const names = (k.recordings ?? []).some((r) => recordingHash(r) === sha);
    if (!names && !ids.has(k.consent_id)) continue;
    const why = consentLapsed(k, now);
    if (why) throw new UserError(`${why}: the recording may not be used`, k.file);
  }
  for (const m of g.manifests) checkConsent(m, { scope: g.scope, now, sha256: sha, key: g.key });
  const contributors = new Set(g.manifests.map((m) => m.contributor));
  if (contributors.size > 1) throw new UserError(`the manifests for this recording name different contributors (${g.manifests.map((m) => m.file ?? m.consent_id).join(', ')})`, g.manifests[0].file);
  return { manifest: g.manifests[0], contributorPseudonym: pseudonymize(g.manifests[0].contributor, g.key) };
}

/** Check consent for one recording; returns the pseudonym and the consent reference, or throws. Writes nothing. */
export function gateIngest(input: GateInput): GateResult {
  if (!fs.existsSync(input.recording)) throw new UserError('no such file', input.recording);
  const files = findConsents(input.recording, input.manifestPath);
  const manifests = files.map(loadConsent);
  const sha = sha256File(input.recording);
  const name = path.basename(input.recording);
  const { manifest: m, contributorPseudonym: pseudo } = gateRecording({ sha256: sha, manifests, known: input.known, scope: input.scope, key: input.key, now: input.now });
  const file = m.file!;
  return {
    contributorPseudonym: pseudo,
    consentRef: {
      id: m.consent_id,
      version: m.consent_version,
      scopes: [...m.scopes],
      expires: m.expires,
      granted: m.granted,
      retention_days: m.retention_days,
      manifest_sha256: sha256File(file),
    },
    recording: { file: name, sha256: sha, bytes: fs.statSync(input.recording).size },
    // The manifest as it may be kept: the raw contributor id replaced by its pseudonym (its signature no
    // longer verifies then: a kept record only ever counts for refusals).
    manifest: { ...m, contributor: pseudo, file: undefined },
  };
}
