import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runCli } from '../helpers/cli.ts';
import { checkConsent, loadConsent, findConsent } from '../../src/privacy/consent.ts';
import { gateIngest } from '../../src/privacy/gate.ts';
import { loadPseudonymKey, pseudonymize } from '../../src/privacy/pseudonym.ts';
import { recordConsent } from '../../src/privacy/purge.ts';

let tmp: string;
const KEY = Buffer.from('00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff', 'hex');
const NOW = new Date('2026-06-01T00:00:00Z');
const base = {
  consent_id: 'c-0001', contributor: 'worker-8812', consent_version: '2.1', scopes: ['robot-training'],
  granted: '2026-01-10', expires: '2027-01-10', withdrawn: null, retention_days: 365,
};

/** Every file under dir (relative), to prove a refusal wrote nothing. */
function tree(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => { for (const f of fs.readdirSync(d)) { const p = path.join(d, f); out.push(path.relative(dir, p)); if (fs.statSync(p).isDirectory()) walk(p); } };
  walk(dir);
  return out.sort();
}

function recording(name: string, manifest?: object | string, ext = '.consent.json'): string {
  const rec = path.join(tmp, name);
  fs.writeFileSync(rec, `not really a video: ${name}`);
  if (manifest !== undefined) fs.writeFileSync(rec + ext, typeof manifest === 'string' ? manifest : JSON.stringify(manifest));
  return rec;
}

beforeAll(() => { tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'r2r-consent-')); });
afterAll(() => { fs.rmSync(tmp, { recursive: true, force: true }); });

describe('consent gate', () => {
  it('accepts a valid sidecar and returns the pseudonym, never the raw id', () => {
    const rec = recording('ok.mp4', base);
    const g = gateIngest({ recording: rec, scope: 'robot-training', key: KEY, now: NOW });
    expect(g.contributorPseudonym).toMatch(/^p-[0-9a-f]{64}$/);
    expect(g.contributorPseudonym).toBe(pseudonymize('worker-8812', KEY));
    expect(g.consentRef).toMatchObject({ id: 'c-0001', version: '2.1', scopes: ['robot-training'], expires: '2027-01-10', retention_days: 365 });
    expect(JSON.stringify(g)).not.toContain('worker-8812');
    expect(g.recording.file).toBe('ok.mp4');
    // YAML sidecars work the same.
    const y = recording('ok2.mp4', 'consent_id: c-0002\ncontributor: worker-1\nconsent_version: "1"\nscopes: [robot-training]\ngranted: 2026-01-01\nexpires: null\nwithdrawn: null\n', '.consent.yaml');
    expect(gateIngest({ recording: y, scope: 'robot-training', key: KEY, now: NOW }).consentRef.expires).toBeNull();
  });

  const refusals: [string, object | string | undefined, RegExp][] = [
    ['missing', undefined, /no consent manifest: expected missing\.mp4\.consent\.json/],
    ['expired', { ...base, expires: '2026-05-01' }, /consent c-0001 expired on 2026-05-01/],
    ['withdrawn', { ...base, withdrawn: '2026-03-03' }, /consent c-0001 was withdrawn on 2026-03-03/],
    ['wrong-scope', { ...base, scopes: ['research-publication'] }, /does not grant scope "robot-training" \(granted: research-publication\)/],
    ['malformed', '{"consent_id": "c-9", "contributor": ', /malformed consent manifest/],
    ['no-date', { ...base, granted: 'last tuesday' }, /granted is not an ISO date/],
    ['not-covered', { ...base, recordings: ['other.mp4'] }, /does not cover recording not-covered\.mp4/],
  ];
  for (const [name, manifest, msg] of refusals) {
    it(`refuses ${name} consent with a clear message and writes nothing`, () => {
      const rec = recording(`${name}.mp4`, manifest);
      const before = tree(tmp);
      expect(() => gateIngest({ recording: rec, scope: 'robot-training', key: KEY, now: NOW })).toThrow(msg);
      expect(tree(tmp)).toEqual(before);
      // The CLI says the same on one line, exit 1, and writes nothing either (two cases: each CLI start costs seconds).
      if (name !== 'missing' && name !== 'withdrawn') return;
      const store = path.join(tmp, `store-${name}`);
      const r = runCli(['consent', 'check', rec, '--at', NOW.toISOString()], { env: { REEL2REAL_PSEUDONYM_KEY: KEY.toString('hex') } });
      expect(r.code).toBe(1);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(msg);
      expect(fs.existsSync(store)).toBe(false);
      expect(tree(tmp)).toEqual(before);
    });
  }

  it('consent check prints what the consent allows', () => {
    const rec = recording('cli-ok.mp4', { ...base, scopes: ['robot-training', 'release-to-partners'] });
    const r = runCli(['consent', 'check', rec, '--scope', 'release-to-partners', '--json', '--at', NOW.toISOString()], { env: { REEL2REAL_PSEUDONYM_KEY: KEY.toString('hex') } });
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j).toMatchObject({ ok: true, consent: 'c-0001', scope: 'release-to-partners', contributor: pseudonymize('worker-8812', KEY) });
    expect(r.stdout).not.toContain('worker-8812');
  });

  it('checks dates against "now": a consent not yet granted, or expiring later, is judged at that time', () => {
    const m = loadConsent(recording('dates.mp4', base) + '.consent.json');
    expect(() => checkConsent(m, { scope: 'robot-training', now: new Date('2025-12-31') })).toThrow(/only granted from 2026-01-10/);
    expect(() => checkConsent(m, { scope: 'robot-training', now: new Date('2027-01-11') })).toThrow(/expired/);
    expect(() => checkConsent(m, { scope: 'robot-training', now: NOW })).not.toThrow();
    expect(findConsent(path.join(tmp, 'dates.mp4'))).toBe(path.join(tmp, 'dates.mp4.consent.json'));
  });
});

describe('pseudonyms', () => {
  it('are HMAC-SHA256 under the operator key: stable, key-dependent, not the raw id', () => {
    const a = pseudonymize('worker-8812', KEY);
    expect(pseudonymize('worker-8812', KEY)).toBe(a);
    expect(pseudonymize('worker-8813', KEY)).not.toBe(a);
    const other = Buffer.from(KEY);
    other[0] ^= 1;
    expect(pseudonymize('worker-8812', other)).not.toBe(a);
    expect(a).not.toContain('8812');
  });

  it('the key comes from --key-file or the environment, and a missing or short key is refused', () => {
    const kf = path.join(tmp, 'op.key');
    fs.writeFileSync(kf, KEY.toString('hex') + '\n');
    expect(loadPseudonymKey({ keyFile: kf }).equals(KEY)).toBe(true);
    expect(loadPseudonymKey({ env: { REEL2REAL_PSEUDONYM_KEY: KEY.toString('base64') } }).equals(KEY)).toBe(true);
    expect(() => loadPseudonymKey({ env: {} })).toThrow(/no pseudonym key: set REEL2REAL_PSEUDONYM_KEY/);
    expect(() => loadPseudonymKey({ env: { REEL2REAL_PSEUDONYM_KEY: 'short' } })).toThrow(/shorter than 16 bytes/);
  });

  it('a consent record kept in the store carries the pseudonym only', () => {
    const rec = recording('rec-keep.mp4', base);
    const g = gateIngest({ recording: rec, scope: 'robot-training', key: KEY, now: NOW });
    const store = path.join(tmp, 'store-rec');
    const f = recordConsent(store, g.manifest);
    const text = fs.readFileSync(f, 'utf8');
    expect(text).not.toContain('worker-8812');
    expect(JSON.parse(text).contributor).toBe(g.contributorPseudonym);
    expect(() => recordConsent(store, { ...g.manifest, contributor: 'worker-8812' })).toThrow(/never the raw id/);
  });
});
