import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runCli } from '../helpers/cli.ts';
import { PROJECT_ROOT } from '../helpers/shared.ts';
import { appendAudit, verifyAudit, entryHash, type AuditEntry } from '../../src/privacy/audit.ts';
import { createHash } from 'node:crypto';

const KEY = Buffer.from('0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0', 'hex');
const OTHER = Buffer.from('aa'.repeat(32), 'hex');

let tmp: string;
beforeAll(() => { tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'r2r-audit-')); });
afterAll(() => { fs.rmSync(tmp, { recursive: true, force: true }); });

/** A fresh store directory with a log of n entries. */
function makeLog(name: string, n = 6): string {
  const dir = path.join(tmp, name);
  for (let i = 0; i < n; i++) {
    appendAudit(dir, { action: i % 2 ? 'retarget' : 'ingest', actor: 'operator-a', recording: `sha-${i}`, episode: i > 2 ? `ep-${i}` : null, details: { step: i, robot: 'g1' } }, KEY);
  }
  return dir;
}
const lines = (dir: string) => fs.readFileSync(path.join(dir, 'audit.jsonl'), 'utf8').trimEnd().split('\n');
const writeLines = (dir: string, l: string[]) => fs.writeFileSync(path.join(dir, 'audit.jsonl'), l.join('\n') + '\n');

describe('audit log', () => {
  it('an intact log verifies, and every line chains to the previous one', () => {
    const dir = makeLog('intact');
    const r = verifyAudit(dir, KEY);
    expect(r).toMatchObject({ ok: true, entries: 6, head: 'matches', problems: [] });
    const es = lines(dir).map((l) => JSON.parse(l) as AuditEntry);
    expect(es.map((e) => e.seq)).toEqual([0, 1, 2, 3, 4, 5]);
    for (let i = 1; i < es.length; i++) expect(es[i].prev_hash).toBe(es[i - 1].hash);
    const { hash, ...body } = es[3];
    expect(entryHash(body, KEY)).toBe(hash);
  });

  it('detects an edited entry', () => {
    const dir = makeLog('edit');
    const l = lines(dir);
    l[2] = l[2].replace('"operator-a"', '"operator-b"');
    writeLines(dir, l);
    const r = verifyAudit(dir, KEY);
    expect(r.ok).toBe(false);
    expect(r.problems).toEqual([expect.objectContaining({ line: 3, seq: 2, problem: expect.stringMatching(/edited/) })]);
  });

  it('detects an edit that also recomputes the line\'s own hash (the next line no longer chains)', () => {
    const dir = makeLog('edit-rehash');
    const l = lines(dir);
    const e = JSON.parse(l[2]) as AuditEntry;
    e.action = 'nothing-happened';
    const { hash: _h, ...body } = e;
    e.hash = entryHash(body, KEY);
    l[2] = JSON.stringify(e);
    writeLines(dir, l);
    const r = verifyAudit(dir, KEY);
    expect(r.ok).toBe(false);
    expect(r.problems.map((p) => p.line)).toEqual([4]);
    expect(r.problems[0].problem).toMatch(/chain broken/);
  });

  it('detects a deleted entry (truncation of the middle)', () => {
    const dir = makeLog('delete');
    const l = lines(dir);
    l.splice(2, 2);
    writeLines(dir, l);
    const r = verifyAudit(dir, KEY);
    expect(r.ok).toBe(false);
    expect(r.problems.some((p) => /2 entries missing/.test(p.problem))).toBe(true);
  });

  it('detects reordered entries', () => {
    const dir = makeLog('reorder');
    const l = lines(dir);
    [l[1], l[2]] = [l[2], l[1]];
    writeLines(dir, l);
    const r = verifyAudit(dir, KEY);
    expect(r.ok).toBe(false);
    expect(r.problems.some((p) => /reordered/.test(p.problem))).toBe(true);
  });

  it('detects entries cut off the end (against the head file)', () => {
    const dir = makeLog('tail');
    writeLines(dir, lines(dir).slice(0, 4));
    const r = verifyAudit(dir, KEY);
    expect(r.ok).toBe(false);
    expect(r.head).toBe('mismatch');
    expect(r.problems[0].problem).toMatch(/log ends at seq 3 but the head records seq 5/);
  });

  // Issue 16 item 4: the chain is keyed, and a missing head is a failure.
  it('detects a chain rewritten from scratch without the key (plain sha256, or another key)', () => {
    for (const [name, rehash] of [
      ['rewrite-sha', (b: Omit<AuditEntry, 'hash'>) => createHash('sha256').update(JSON.stringify(b)).digest('hex')],
      ['rewrite-other', (b: Omit<AuditEntry, 'hash'>) => entryHash(b, OTHER)],
    ] as const) {
      const dir = makeLog(name);
      let prev = '0'.repeat(64);
      const l = lines(dir).map((t) => {
        const { hash: _h, ...body } = JSON.parse(t) as AuditEntry;
        const b = { ...body, actor: 'nobody', prev_hash: prev };
        const e = { ...b, hash: rehash(b) };
        prev = e.hash;
        return JSON.stringify(e);
      });
      writeLines(dir, l);
      fs.writeFileSync(path.join(dir, 'audit.head.json'), JSON.stringify({ seq: 5, hash: prev }));
      const r = verifyAudit(dir, KEY);
      expect(r.ok, name).toBe(false);
      expect(r.problems.filter((p) => /keyed hash/.test(p.problem))).toHaveLength(6);
      expect(r.problems.some((p) => /head file is not sealed/.test(p.problem))).toBe(true);
    }
  });

  it('detects a forged entry appended without the key', () => {
    const dir = makeLog('forge');
    const last = JSON.parse(lines(dir).at(-1)!) as AuditEntry;
    const b = { seq: last.seq + 1, time: new Date().toISOString(), actor: 'operator-a', action: 'purge', recording: null, episode: null, details: null, prev_hash: last.hash };
    const forged = { ...b, hash: entryHash(b, OTHER) };
    fs.appendFileSync(path.join(dir, 'audit.jsonl'), JSON.stringify(forged) + '\n');
    fs.writeFileSync(path.join(dir, 'audit.head.json'), JSON.stringify({ seq: forged.seq, hash: forged.hash }));
    const r = verifyAudit(dir, KEY);
    expect(r.ok).toBe(false);
    expect(r.problems[0]).toMatchObject({ line: 7, seq: 6 });
    expect(r.problems[0].problem).toMatch(/keyed hash/);
  });

  it('a log cut to its first entry with the head deleted is a failure; an empty log without a head is fine', () => {
    const dir = makeLog('cut-head');
    writeLines(dir, lines(dir).slice(0, 1));
    fs.rmSync(path.join(dir, 'audit.head.json'));
    const r = verifyAudit(dir, KEY);
    expect(r.ok).toBe(false);
    expect(r.head).toBe('missing');
    expect(r.problems[0].problem).toMatch(/audit\.head\.json is missing/);
    const empty = path.join(tmp, 'empty');
    fs.mkdirSync(empty);
    fs.writeFileSync(path.join(empty, 'audit.jsonl'), '');
    expect(verifyAudit(empty, KEY)).toMatchObject({ ok: true, entries: 0 });
  });

  it('verifying with another key fails every line, and appending needs a key', () => {
    const dir = makeLog('wrong-key', 2);
    expect(verifyAudit(dir, OTHER).ok).toBe(false);
    const saved = process.env.REEL2REAL_PSEUDONYM_KEY;
    delete process.env.REEL2REAL_PSEUDONYM_KEY;
    try {
      expect(() => appendAudit(dir, { action: 'x' })).toThrow(/audit log is keyed with the operator key: set REEL2REAL_PSEUDONYM_KEY/);
    } finally {
      process.env.REEL2REAL_PSEUDONYM_KEY = saved;
    }
  });

  it('several processes appending at once keep one valid chain', async () => {
    const dir = path.join(tmp, 'concurrent');
    const script = `import { appendAudit } from ${JSON.stringify(path.join(PROJECT_ROOT, 'src/privacy/audit.ts'))};
for (let i = 0; i < 40; i++) appendAudit(${JSON.stringify(dir)}, { action: 'put', actor: process.argv[2], details: { i } }, Buffer.from(process.argv[3], 'hex'));`;
    const f = path.join(tmp, 'writer.mts');
    fs.writeFileSync(f, script);
    const tsx = path.join(PROJECT_ROOT, 'node_modules', '.bin', 'tsx');
    const run = (who: string) => new Promise<number>((resolve) => spawn(tsx, [f, who, KEY.toString('hex')], { stdio: 'ignore' }).on('close', (c) => resolve(c ?? -1)));
    expect(await Promise.all([run('w1'), run('w2'), run('w3')])).toEqual([0, 0, 0]);
    const r = verifyAudit(dir, KEY);
    expect(r.problems).toEqual([]);
    expect(r.entries).toBe(120);
  }, 60_000);

  it('audit verify: exit 0 when intact, 1 with the problems when tampered', () => {
    const good = makeLog('cli-good', 3);
    const ok = runCli(['audit', 'verify', good], { env: { REEL2REAL_PSEUDONYM_KEY: KEY.toString('hex') } });
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/intact, 3 entries/);
    const bad = makeLog('cli-bad', 3);
    const l = lines(bad);
    l[1] = l[1].replace('"retarget"', '"delete-everything"');
    writeLines(bad, l);
    const r = runCli(['audit', 'verify', path.join(bad, 'audit.jsonl'), '--json'], { env: { REEL2REAL_PSEUDONYM_KEY: KEY.toString('hex') } });
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).ok).toBe(false);
  });
});
