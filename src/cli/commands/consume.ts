import * as fs from 'node:fs';
import type { CommandModule } from 'yargs';
import { UserError, safeText } from '../../errors.ts';
import { removeStaleTemps } from '../../io/atomic.ts';
import { EpisodeConsumer, readKeyPair, readPublicKey } from '../../transport/index.ts';
import { saveReceived } from '../../transport/save.ts';

export const command: CommandModule = {
  command: 'consume',
  describe: 'Receive episodes from `reel2real serve` as a named trainer (acks each one; resumes where that name stood)',
  builder: (y) =>
    y
      .option('connect', { type: 'string', demandOption: true, describe: 'server endpoint, e.g. tcp://127.0.0.1:5555' })
      .option('name', { type: 'string', demandOption: true, describe: 'trainer name (its cursor survives restarts)' })
      .option('mode', { choices: ['shared', 'broadcast'] as const, describe: 'broadcast: this name gets every episode; shared: the group splits them' })
      .option('group', { type: 'string', describe: 'shared mode: group name (default: the trainer name)' })
      .option('credit', { type: 'string', describe: 'episodes in flight at once (default: as many as fit in 64 MiB, 4 to 64)' })
      .option('out', { type: 'string', describe: 'save each episode as <out>/<seq>-<id>.npz (acked after it is written)' })
      .option('max', { type: 'string', describe: 'stop after this many episodes (the rest stay for next time)' })
      .option('server-key', { type: 'string', describe: 'the server\'s public key (Z85 text or a file): turns CURVE on' })
      .option('key', { type: 'string', describe: 'this trainer\'s key pair file (from `keys gen`)' })
      .option('timeout', { type: 'string', default: '10', describe: 'seconds to wait for the server to answer' })
      .option('json', { type: 'boolean', default: false, describe: 'one JSON line per episode, then a summary line' })
      .example('$0 consume --connect tcp://127.0.0.1:5555 --name trainer-a --out received/', 'save every episode')
      .example('$0 consume --connect tcp://gpu-host:5555 --name a --server-key server.pub --key a.key', 'over CURVE'),
  handler: async (argv) => {
    // Options are read as text so that an error names what was given.
    const max = argv.max === undefined ? Infinity : Number(argv.max);
    if (!(max >= 0) || String(argv.max).trim() === '') throw new UserError(`--max must be a non-negative number, got ${JSON.stringify(argv.max)}`);
    const credit = argv.credit === undefined ? undefined : Number(argv.credit);
    if (credit !== undefined && !(/^\s*\d+\s*$/.test(String(argv.credit)) && credit >= 1)) {
      throw new UserError(`--credit must be a whole number of episodes ≥ 1, got ${JSON.stringify(argv.credit)}`);
    }
    const timeout = Number(argv.timeout);
    if (!(timeout > 0)) throw new UserError(`--timeout must be a number of seconds > 0, got ${JSON.stringify(argv.timeout)}`);
    let curve = null;
    if (argv['server-key'] || argv.key) {
      if (!argv['server-key'] || !argv.key) throw new UserError('CURVE needs both --server-key <server public key> and --key <trainer key pair file>');
      const kp = readKeyPair(String(argv.key));
      curve = { serverKey: readPublicKey(String(argv['server-key']), 'server public key'), ...kp };
    }
    const out = argv.out ? String(argv.out) : null;
    let outMade = false;
    // Temporary files of an earlier consume that was killed mid-write.
    if (out) for (const f of removeStaleTemps(out)) process.stderr.write(`removed stale temporary file ${safeText(f)}\n`);
    const asJson = Boolean(argv.json);
    const consumer = new EpisodeConsumer({
      connect: String(argv.connect),
      name: String(argv.name),
      mode: argv.mode as 'shared' | 'broadcast' | undefined,
      group: argv.group ? String(argv.group) : undefined,
      credit,
      curve,
      connectTimeoutMs: timeout * 1000,
    });
    let stop = false;
    const onSignal = () => { stop = true; void consumer.close(); };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    const welcome = await consumer.start();
    if (!asJson) process.stderr.write(`connected as ${safeText(welcome.cursor)}: ${welcome.acked}/${welcome.total} already acked\n`);
    let n = 0;
    if (max > 0) {
      for await (const ep of consumer) {
        // The directory appears with the first episode: nothing is left behind if none arrives.
        if (out && !outMade) { fs.mkdirSync(out, { recursive: true }); outMade = true; }
        const file = out ? saveReceived(out, ep) : null;
        n++;
        if (asJson) {
          process.stdout.write(JSON.stringify({
            seq: ep.seq, id: ep.id, delivery: ep.header.delivery, robot: ep.header.robot, frames: ep.header.frames, fps: ep.header.fps,
            tensors: ep.header.tensors.map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape, crc32: t.crc32 })),
            ...(file ? { file } : {}),
          }) + '\n');
        } else {
          const bytes = ep.header.tensors.reduce((a, t) => a + t.bytes, 0);
          process.stdout.write(`#${ep.seq} ${ep.id.slice(0, 12)} ${safeText(ep.header.robot ?? '-', 80)} ${ep.header.frames} frames, ${ep.header.tensors.length} tensors, ${(bytes / 1e6).toFixed(2)} MB${file ? ` -> ${file}` : ''}\n`);
        }
        if (n >= max || stop) break;
      }
    }
    await consumer.close();
    const s = consumer.stats;
    const end = consumer.end;
    const unreadable = end?.unreadable ?? [];
    if (asJson) process.stdout.write(JSON.stringify({ done: true, received: n, acked: s.acked, confirmed: s.confirmed, corrupt_redelivered: s.corrupt, duplicates_dropped: s.duplicates, unreadable, removed: end?.removed ?? [] }) + '\n');
    else {
      process.stderr.write(`received ${n} episodes (${s.confirmed} acks confirmed, ${s.corrupt} corrupt copies re-requested)\n`);
      if (end?.removed.length) process.stderr.write(`${end.removed.length} episode(s) were removed from the server's store (positions ${end.removed.slice(0, 20).join(', ')}${end.removed.length > 20 ? ', …' : ''})\n`);
    }
    // Episodes the server could not read are lost to this trainer: a failure scripts must see (exit 1).
    if (unreadable.length) {
      throw new UserError(`the server could not read ${unreadable.length} episode(s) from its store (positions ${unreadable.slice(0, 20).join(', ')}${unreadable.length > 20 ? ', …' : ''}): run \`reel2real store verify\` on the server's store`, String(argv.connect));
    }
  },
};
