/**
 * The ingest gate the pipeline (`run`, `batch`) calls before it writes anything: find and check the consent
 * manifest of a recording for the scope the run needs, and turn the contributor id into its pseudonym.
 * Refusals are UserErrors naming the manifest (or the recording when there is none).
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../errors.ts';
import type { Provenance } from '../store/episode.ts';
import { checkConsent, findConsent, loadConsent, type ConsentManifest } from './consent.ts';
import { pseudonymize } from './pseudonym.ts';

export interface GateInput {
  /** Path of the recording (video or mocap file). */
  recording: string;
  /** Consent manifest; default: the sidecar beside the recording. */
  manifestPath?: string;
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

/** Check consent for one recording; returns the pseudonym and the consent reference, or throws. Writes nothing. */
export function gateIngest(input: GateInput): GateResult {
  if (!fs.existsSync(input.recording)) throw new UserError('no such file', input.recording);
  const file = findConsent(input.recording, input.manifestPath);
  const m = loadConsent(file);
  const sha = sha256File(input.recording);
  const name = path.basename(input.recording);
  checkConsent(m, { scope: input.scope, now: input.now, recording: { name, sha256: sha } });
  const pseudo = pseudonymize(m.contributor, input.key);
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
    // The manifest as it may be kept: the raw contributor id replaced by its pseudonym.
    manifest: { ...m, contributor: pseudo, file: undefined },
  };
}
