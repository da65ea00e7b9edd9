import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { stringify as toYaml } from 'yaml';
import { runCli } from '../helpers/cli.ts';
import { checkConsent, loadConsent, findConsent, isIsoDate, parseConsent, signManifest, verifyManifest, type ConsentManifest } from '../../src/privacy/consent.ts';
import { gateIngest, gateRecording, sha256File } from '../../src/privacy/gate.ts';
import { loadPseudonymKey, pseudonymize } from '../../src/privacy/pseudonym.ts';
import { recordConsent, storeConsents } from '../../src/privacy/purge.ts';

let tmp: string;
const KEY = Buffer.from('00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff', 'hex');
const OTHER_KEY = Buffer.from('ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100', 'hex');
const NOW = new Date('2026-06-01T00:00:00Z');
const ENV = { REEL2REAL_PSEUDONYM_KEY: KEY.toString('hex') };
const base = {
  consent_id: 'c-0001', contributor: 'worker-8812', consent_version: '2.1', scopes: ['robot-training'],
  granted: '2026-01-10', expires: '2027-01-10', withdrawn: null as string | null, retention_days: 365,
};

/** Every file under dir (relative), to prove a refusal wrote nothing. */
function tree(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => { for (const f of fs.readdirSync(d)) { const p = path.join(d, f); out.push(path.relative(dir, p)); if (fs.statSync(p).isDirectory()) walk(p); } };
  walk(dir);
  return out.sort();
}

/** A recording (unique bytes) and, unless `manifest` is undefined, its sidecar: bound to its hash and signed unless told. */
function recording(name: string, manifest?: Record<string, unknown> | string, opts: { ext?: string; sign?: Buffer | null; bind?: boolean } = {}): string {
  const rec = path.join(tmp, name);
  fs.writeFileSync(rec, `not really a video: ${name}`);
  if (manifest !== undefined) {
    let text: string;
    if (typeof manifest === 'string') text = manifest;
    else {
      let m = { ...(opts.bind === false ? {} : { recordings: [sha256File(rec)] }), ...manifest } as unknown as ConsentManifest;
      if (opts.sign !== null) m = signManifest(m, opts.sign ?? KEY);
      text = (opts.ext ?? '.consent.json').endsWith('.json') ? JSON.stringify(m) : toYaml(m);
    }
    fs.writeFileSync(rec + (opts.ext ?? '.consent.json'), text);
  }
  return rec;
}

beforeAll(() => { tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'r2r-consent-')); });
afterAll(() => { fs.rmSync(tmp, { recursive: true, force: true }); });

describe('consent gate', () => {
  it('accepts a signed, content-bound sidecar and returns the pseudonym, never the raw id', () => {
    const rec = recording('ok.mp4', base);
    const g = gateIngest({ recording: rec, scope: 'robot-training', key: KEY, now: NOW });
    expect(g.contributorPseudonym).toMatch(/^p-[0-9a-f]{64}$/);
    expect(g.contributorPseudonym).toBe(pseudonymize('worker-8812', KEY));
    expect(g.consentRef).toMatchObject({ id: 'c-0001', version: '2.1', scopes: ['robot-training'], expires: '2027-01-10', retention_days: 365 });
    expect(JSON.stringify(g)).not.toContain('worker-8812');
    expect(g.recording.file).toBe('ok.mp4');
    // YAML sidecars work the same, and the signature does not depend on the format.
    const y = recording('ok2.mp4', { ...base, consent_id: 'c-0002', expires: null }, { ext: '.consent.yaml' });
    expect(gateIngest({ recording: y, scope: 'robot-training', key: KEY, now: NOW }).consentRef.expires).toBeNull();
  });

  const refusals: [string, Record<string, unknown> | string | undefined, RegExp, { sign?: Buffer | null; bind?: boolean }?][] = [
    ['missing', undefined, /no consent manifest: expected missing\.mp4\.consent\.json/],
    ['expired', { ...base, expires: '2026-05-01' }, /consent c-0001 expired on 2026-05-01/],
    ['withdrawn', { ...base, withdrawn: '2026-03-03' }, /consent c-0001 was withdrawn on 2026-03-03/],
    // Item 5: a withdrawal is final at once, whatever date it carries.
    ['withdrawn-future', { ...base, withdrawn: '2026-12-24' }, /consent c-0001 was withdrawn on 2026-12-24/],
    ['wrong-scope', { ...base, scopes: ['research-publication'] }, /does not grant scope "robot-training" \(granted: "research-publication"\)/],
    ['malformed', '{"consent_id": "c-9", "contributor": ', /malformed consent manifest/],
    ['no-date', { ...base, granted: 'last tuesday' }, /granted is not a valid ISO calendar date/],
    // Item 5: invalid calendar dates.
    ['feb-30', { ...base, expires: '2027-02-30' }, /expires is not a valid ISO calendar date: "2027-02-30"/],
    ['hour-25', { ...base, granted: '2026-01-10T25:00:00Z' }, /granted is not a valid ISO calendar date/],
    // Item 2: bound by content.
    ['not-covered', { ...base, recordings: ['a'.repeat(64)] }, /does not cover this recording \(sha256 /],
    ['name-only', { ...base, recordings: ['name-only.mp4'] }, /names a recording by "name-only\.mp4": list recordings by sha256/],
    ['unbound', base, /names no recordings: list the sha256/, { bind: false }],
    // Item 3: signed, untampered.
    ['unsigned', base, /is not signed by the operator/, { sign: null }],
    ['other-key', base, /signature does not match/, { sign: OTHER_KEY }],
  ];
  for (const [name, manifest, msg, opts] of refusals) {
    it(`refuses ${name} consent with a clear message and writes nothing`, () => {
      const rec = recording(`${name}.mp4`, manifest, opts);
      const before = tree(tmp);
      expect(() => gateIngest({ recording: rec, scope: 'robot-training', key: KEY, now: NOW })).toThrow(msg);
      expect(tree(tmp)).toEqual(before);
      // The CLI says the same on one line, exit 1, and writes nothing either (two cases: each CLI start costs seconds).
      if (name !== 'missing' && name !== 'withdrawn') return;
      const r = runCli(['consent', 'check', rec, '--at', NOW.toISOString()], { env: ENV });
      expect(r.code).toBe(1);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(msg);
      expect(tree(tmp)).toEqual(before);
    });
  }

  it('refuses a manifest edited after signing: scopes widened, expiry moved, withdrawal removed, recording added', () => {
    const rec = recording('tamper.mp4', { ...base, withdrawn: null });
    const file = rec + '.consent.json';
    const signed = JSON.parse(fs.readFileSync(file, 'utf8'));
    expect(() => gateIngest({ recording: rec, scope: 'robot-training', key: KEY, now: NOW })).not.toThrow();
    const edits: Record<string, unknown>[] = [
      { scopes: ['robot-training', 'public-release'] },
      { expires: '2099-01-10' },
      { retention_days: null },
      { recordings: [...signed.recordings, 'b'.repeat(64)] },
      { contributor: 'worker-0001' },
    ];
    for (const e of edits) {
      fs.writeFileSync(file, JSON.stringify({ ...signed, ...e }));
      expect(() => gateIngest({ recording: rec, scope: 'robot-training', key: KEY, now: NOW }), JSON.stringify(e)).toThrow(/altered after it was signed/);
    }
    // A withdrawal written into a signed manifest (unsigned again) still counts: refusing needs no signature.
    fs.writeFileSync(file, JSON.stringify({ ...signed, withdrawn: '2026-05-05' }));
    expect(() => gateIngest({ recording: rec, scope: 'robot-training', key: KEY, now: NOW })).toThrow(/withdrawn on 2026-05-05/);
  });

  it('binds by content: another file with the same name is not covered', () => {
    const rec = recording('same-name.mp4', base);
    const dir = path.join(tmp, 'elsewhere');
    fs.mkdirSync(dir, { recursive: true });
    const impostor = path.join(dir, 'same-name.mp4');
    fs.writeFileSync(impostor, 'different bytes, same name');
    fs.copyFileSync(rec + '.consent.json', impostor + '.consent.json');
    expect(() => gateIngest({ recording: rec, scope: 'robot-training', key: KEY, now: NOW })).not.toThrow();
    expect(() => gateIngest({ recording: impostor, scope: 'robot-training', key: KEY, now: NOW })).toThrow(/does not cover this recording/);
  });

  it('a withdrawal anywhere wins: a valid --consent does not bypass a withdrawn or narrower sidecar (item 1)', () => {
    const rec = recording('rec.bvh', { ...base, withdrawn: '2026-04-01' });
    const valid = path.join(tmp, 'valid.json');
    fs.writeFileSync(valid, JSON.stringify(signManifest({ ...base, consent_id: 'c-valid', recordings: [sha256File(rec)] } as ConsentManifest, KEY)));
    expect(() => gateIngest({ recording: rec, manifestPath: valid, scope: 'robot-training', key: KEY, now: NOW })).toThrow(/rec\.bvh\.consent\.json: consent c-0001 was withdrawn/);
    const r = runCli(['consent', 'check', rec, '--consent', valid, '--at', NOW.toISOString()], { env: ENV });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/withdrawn/);
    // A stem sidecar (rec.consent.yaml) lacking the scope refuses too.
    const rec2 = recording('rec2.bvh', base);
    fs.writeFileSync(path.join(tmp, 'rec2.consent.yaml'), toYaml(signManifest({ ...base, consent_id: 'c-narrow', scopes: ['research-publication'], recordings: [sha256File(rec2)] } as ConsentManifest, KEY)));
    expect(() => gateIngest({ recording: rec2, scope: 'robot-training', key: KEY, now: NOW })).toThrow(/rec2\.consent\.yaml: consent c-narrow does not grant scope/);
    // A withdrawal kept in the store's consent records (same id, or naming the recording) refuses as well.
    const rec3 = recording('rec3.mp4', { ...base, consent_id: 'c-kept' });
    const g = gateIngest({ recording: rec3, scope: 'robot-training', key: KEY, now: NOW });
    const store = path.join(tmp, 'store-known');
    recordConsent(store, { ...g.manifest, withdrawn: '2026-05-20' });
    expect(() => gateIngest({ recording: rec3, scope: 'robot-training', key: KEY, now: NOW, known: storeConsents(store) })).toThrow(/c-kept withdrawn on 2026-05-20/);
  });

  it('gateRecording works on a hash and parsed manifests (for an upload server)', () => {
    const sha = 'c'.repeat(64);
    const m = signManifest(parseConsent({ ...base, recordings: [`sha256:${sha.toUpperCase()}`] }, 'upload:1'), KEY);
    expect(verifyManifest(m, KEY)).toBe('valid');
    expect(verifyManifest(m, OTHER_KEY)).toBe('altered');
    expect(verifyManifest({ ...m, signature: undefined }, KEY)).toBe('unsigned');
    expect(gateRecording({ sha256: sha, manifests: [m], scope: 'robot-training', key: KEY, now: NOW }).contributorPseudonym).toBe(pseudonymize('worker-8812', KEY));
    expect(() => gateRecording({ sha256: 'd'.repeat(64), manifests: [m], scope: 'robot-training', key: KEY, now: NOW })).toThrow(/does not cover/);
    expect(() => gateRecording({ sha256: sha, manifests: [], scope: 'robot-training', key: KEY, now: NOW })).toThrow(/no consent manifest/);
    expect(() => gateRecording({ sha256: 'x', manifests: [m], scope: 'robot-training', key: KEY, now: NOW })).toThrow(/not a sha256/);
  });

  it('consent sign registers a manifest (JSON and YAML); check then allows, and prints what the consent allows', () => {
    const rec = recording('cli-ok.mp4', { ...base, scopes: ['robot-training', 'release-to-partners'] }, { sign: null });
    const y = recording('cli-ok2.mp4', { ...base, consent_id: 'c-y' }, { sign: null, ext: '.consent.yaml' });
    const before = runCli(['consent', 'check', rec, '--at', NOW.toISOString()], { env: ENV });
    expect(before.code).toBe(1);
    expect(before.stderr).toMatch(/not signed by the operator/);
    const s = runCli(['consent', 'sign', rec + '.consent.json', y + '.consent.yaml'], { env: ENV });
    expect(s.code, s.stderr).toBe(0);
    expect(s.stdout).toMatch(/signed consent c-0001/);
    expect(verifyManifest(loadConsent(y + '.consent.yaml'), KEY)).toBe('valid');
    const r = runCli(['consent', 'check', rec, '--scope', 'release-to-partners', '--json', '--at', NOW.toISOString()], { env: ENV });
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j).toMatchObject({ ok: true, consent: 'c-0001', scope: 'release-to-partners', contributor: pseudonymize('worker-8812', KEY) });
    expect(r.stdout).not.toContain('worker-8812');
  });

  it('checks dates against "now": a consent not yet granted, or expiring later, is judged at that time', () => {
    const m = loadConsent(recording('dates.mp4', base) + '.consent.json');
    expect(() => checkConsent(m, { scope: 'robot-training', now: new Date('2025-12-31') })).toThrow(/only granted from 2026-01-10/);
    expect(() => checkConsent(m, { scope: 'robot-training', now: new Date('2027-01-11') })).toThrow(/expired/);
    expect(() => checkConsent(m, { scope: 'robot-training', now: NOW, key: KEY })).not.toThrow();
    expect(findConsent(path.join(tmp, 'dates.mp4'))).toBe(path.join(tmp, 'dates.mp4.consent.json'));
  });

  it('accepts real calendar dates only', () => {
    for (const d of ['2024-02-29', '2026-12-31', '2026-01-10T10:20:30Z', '2026-01-10T10:20:30.5+02:00', '2026-01-10 10:20']) expect(isIsoDate(d), d).toBe(true);
    for (const d of ['2027-02-29', '2026-04-31', '2026-13-01', '2026-00-10', '2026-01-00', '2026-01-10T24:00:00Z', '2026-01-10T10:60', '2026-1-10', '10/01/2026']) expect(isIsoDate(d), d).toBe(false);
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
