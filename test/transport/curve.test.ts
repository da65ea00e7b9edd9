/**
 * CURVE + ZAP: a trainer whose public key is on the allow-list gets the stream encrypted; one with another
 * key, or without CURVE, gets nothing (the handshake is refused and the server never sees a message).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { EpisodeServer, type ServerEvent } from '../../src/transport/server.ts';
import { EpisodeConsumer } from '../../src/transport/consumer.ts';
import { generateKeyPair, readAllowList, readKeyPair, writeKeyPair, z85Decode, z85Encode } from '../../src/transport/keys.ts';
import { runCli } from '../helpers/cli.ts';
import { syntheticSource } from './fixtures/episodes.ts';
import { tmpDir } from './helpers.ts';

describe('transport security', () => {
  it('allowed key receives over CURVE; a key not on the list and a plain client get nothing', async () => {
    const dir = tmpDir();
    const server = generateKeyPair();
    const good = generateKeyPair();
    const bad = generateKeyPair();
    const source = syntheticSource(5, 0.5, 50);
    const events: ServerEvent[] = [];
    // Even on loopback, with keys given the server runs CURVE.
    const srv = new EpisodeServer({
      source, bind: 'tcp://127.0.0.1:*', stateDir: dir, onEvent: (e) => events.push(e),
      curve: { ...server, allow: [good.publicKey] },
    });
    const ep = await srv.start();
    try {
      const ok = new EpisodeConsumer({ connect: ep, name: 'good', curve: { serverKey: server.publicKey, ...good } });
      const got: string[] = [];
      for await (const e of ok) got.push(e.id);
      await ok.close();
      expect(got).toEqual(source.list().map((e) => e.id));

      const intruder = new EpisodeConsumer({ connect: ep, name: 'bad', connectTimeoutMs: 3000, curve: { serverKey: server.publicKey, ...bad } });
      await expect(intruder.start()).rejects.toThrow(/refused this trainer's key/);
      expect(intruder.stats.received).toBe(0);
      await intruder.close();

      const plain = new EpisodeConsumer({ connect: ep, name: 'plain', connectTimeoutMs: 1500 });
      await expect(plain.start()).rejects.toThrow();
      expect(plain.stats.received).toBe(0);
      await plain.close();

      expect(events.some((e) => e.type === 'refused' && e.publicKey === bad.publicKey)).toBe(true);
      const hellos = events.filter((e) => e.type === 'hello').map((e) => (e as { name: string }).name);
      expect(hellos).toEqual(['good']);
    } finally {
      await srv.close();
    }
  }, 90_000);

  it('key files: Z85 round trip, 0600 key pair from `keys gen`, allow-list parsing and errors', () => {
    const kp = generateKeyPair();
    expect(z85Encode(z85Decode(kp.publicKey)!)).toBe(kp.publicKey);
    // ZeroMQ RFC 32 test vector.
    expect(z85Encode(Uint8Array.from([0x86, 0x4f, 0xd2, 0x6f, 0xb5, 0x59, 0xf7, 0x5b]))).toBe('HelloWorld');
    const dir = tmpDir();
    const f = path.join(dir, 'trainer.key');
    const r = runCli(['keys', 'gen', '--out', f, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const pub = JSON.parse(r.stdout).public;
    expect(fs.statSync(f).mode & 0o777).toBe(0o600);
    expect(readKeyPair(f).publicKey).toBe(pub);
    const pubOut = runCli(['keys', 'pub', f]);
    expect(pubOut.stdout.trim()).toBe(pub);
    const allow = path.join(dir, 'allow.txt');
    fs.writeFileSync(allow, `# trainers\n${pub} alice\n\n${kp.publicKey}\n`);
    expect(readAllowList(allow)).toEqual([pub, kp.publicKey]);
    // Z85 keys may contain '#': it is not taken for a comment.
    const hashKey = z85Encode(Uint8Array.from({ length: 32 }, (_, i) => (i % 4 === 3 ? 84 : 0)));
    expect(hashKey).toContain('#');
    fs.writeFileSync(allow, `# comment\n${hashKey}  # a key with hashes\n`);
    expect(readAllowList(allow)).toEqual([hashKey]);
    // Z85 keys may start with '{': such an allow-list is still a list, not a JSON key file.
    const braceKey = z85Encode(Uint8Array.from({ length: 32 }, (_, i) => (i === 0 ? 0xf6 : i)));
    expect(braceKey.startsWith('{')).toBe(true);
    fs.writeFileSync(allow, `${braceKey} trainer\n`);
    expect(readAllowList(allow)).toEqual([braceKey]);
    fs.writeFileSync(allow, 'not-a-key\n');
    expect(() => readAllowList(allow)).toThrow(/line 1/);
    // Never overwrites a key pair unless forced.
    expect(() => writeKeyPair(f, kp)).toThrow(/already exists/);
    writeKeyPair(f, kp, { force: true });
    expect(readKeyPair(f).publicKey).toBe(kp.publicKey);
  }, 120_000);
});
