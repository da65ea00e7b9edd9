/** Consent manifests for tests: bound to the recording's sha256 and signed with the operator key, as `consent sign` does. */
import * as fs from 'node:fs';
import { loadOperatorKey } from '../../src/privacy/pseudonym.ts';
import { signManifest, type ConsentManifest } from '../../src/privacy/consent.ts';
import { sha256File } from '../../src/privacy/gate.ts';

/** The operator key the tests run with (vitest.config.ts sets REEL2REAL_PSEUDONYM_KEY). */
export const TEST_OPERATOR_KEY: Buffer = loadOperatorKey();

export const BASE_CONSENT = {
  consent_id: 'c-0001', contributor: 'worker-8812', consent_version: '2.1', scopes: ['robot-training'],
  granted: '2026-01-01', expires: '2030-01-01', withdrawn: null as string | null, retention_days: 365 as number | null,
};

/**
 * A manifest object for `recordings` (paths: their sha256 are listed), signed with `key` (default the test
 * operator key; `null` leaves it unsigned).
 */
export function signedConsent(recordings: string[], fields: Partial<ConsentManifest> & Record<string, unknown> = {}, key: Buffer | null = TEST_OPERATOR_KEY): Record<string, unknown> {
  const m = { ...BASE_CONSENT, recordings: recordings.map(sha256File), ...fields } as ConsentManifest;
  return (key ? signManifest(m, key) : { ...m }) as unknown as Record<string, unknown>;
}

/** Write a signed manifest for `recording` to `file` (JSON). */
export function writeConsent(file: string, recording: string | string[], fields: Partial<ConsentManifest> & Record<string, unknown> = {}, key: Buffer | null = TEST_OPERATOR_KEY): string {
  fs.writeFileSync(file, JSON.stringify(signedConsent(Array.isArray(recording) ? recording : [recording], fields, key), null, 2));
  return file;
}
