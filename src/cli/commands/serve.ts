import type { CommandModule } from 'yargs';
import { UserError, safeText } from '../../errors.ts';
import {
  EpisodeServer, defaultStateDir, formatServerEvent, generateKeyPair, openStoreSource, readAllowList, readKeyPair, writeKeyPair,
} from '../../transport/index.ts';

const serve: CommandModule = {
  command: 'serve <store>',
  describe: 'Stream a store\'s episodes to trainers over ZeroMQ (credit, acks, redelivery, a durable cursor per trainer)',
  builder: (y) =>
    y
      .positional('store', { type: 'string', demandOption: true, describe: 'episode store directory' })
      .option('bind', { type: 'string', demandOption: true, describe: 'endpoint, e.g. tcp://127.0.0.1:5555, tcp://0.0.0.0:5555 (needs CURVE), ipc:///tmp/r2r.sock' })
      .option('mode', { choices: ['shared', 'broadcast'] as const, describe: 'accept only this mode (default: trainers choose; broadcast if they do not say)' })
      .option('follow', { type: 'boolean', default: false, describe: 'keep serving episodes appended to the store (no END)' })
      .option('curve', { type: 'boolean', default: false, describe: 'encrypt with CURVE even on loopback (always on for other endpoints)' })
      .option('server-key', { type: 'string', describe: 'server key pair file (from `keys gen`)' })
      .option('allow', { type: 'string', describe: 'allow-list: trainer public keys, one per line' })
      .option('state', { type: 'string', describe: 'cursor directory (default <store>/.transport)' })
      .option('telemetry', { type: 'string', describe: 'PUB endpoint for progress and counters (never data)' })
      .option('heartbeat-ms', { type: 'number', default: 1000, describe: 'trainer ping interval' })
      .option('timeout-ms', { type: 'number', default: 5000, describe: 'a trainer silent this long is lost; its unacked episodes go to others' })
      .option('json', { type: 'boolean', default: false, describe: 'log events as JSON lines' })
      .example('$0 serve ./store --bind tcp://127.0.0.1:5555', 'serve locally, plain')
      .example('$0 serve ./store --bind tcp://0.0.0.0:5555 --server-key server.key --allow trainers.txt', 'serve on the network with CURVE'),
  handler: async (argv) => {
    const store = String(argv.store);
    const curveWanted = Boolean(argv.curve) || argv['server-key'] !== undefined || argv.allow !== undefined;
    let curve = null;
    if (curveWanted) {
      if (!argv['server-key'] || !argv.allow) throw new UserError('CURVE needs both --server-key <key pair file> and --allow <trainer keys file>');
      const kp = readKeyPair(String(argv['server-key']));
      curve = { ...kp, allow: readAllowList(String(argv.allow)) };
    }
    const source = openStoreSource(store);
    const asJson = Boolean(argv.json);
    const server = new EpisodeServer({
      source,
      bind: String(argv.bind),
      stateDir: argv.state ? String(argv.state) : defaultStateDir(store),
      curve,
      mode: (argv.mode as 'shared' | 'broadcast' | undefined) ?? null,
      follow: Boolean(argv.follow),
      telemetry: argv.telemetry ? String(argv.telemetry) : null,
      heartbeatMs: Number(argv['heartbeat-ms']),
      timeoutMs: Number(argv['timeout-ms']),
      onEvent: (e) => {
        if (asJson) process.stdout.write(JSON.stringify(e) + '\n');
        else {
          const line = formatServerEvent(e);
          // Events carry text from trainers (names, nack reasons): never raw to the terminal.
          if (line) process.stdout.write(safeText(line, 2000) + '\n');
        }
      },
    });
    await server.start();
    await new Promise<void>((resolve) => {
      const stop = () => resolve();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    await server.close();
  },
};

const keys: CommandModule = {
  command: 'keys <action> [file]',
  describe: 'CURVE keys for serve/consume: `keys gen --out <file>` writes a Z85 key pair (mode 0600); `keys pub <file>` prints its public key',
  builder: (y) =>
    y
      .positional('action', { choices: ['gen', 'pub'] as const, demandOption: true })
      .positional('file', { type: 'string', describe: 'pub: the key pair file' })
      .option('out', { type: 'string', describe: 'gen: key pair file to write (JSON, 0600)' })
      .option('force', { type: 'boolean', default: false, describe: 'gen: replace an existing file' })
      .option('json', { type: 'boolean', default: false, describe: 'print {"public", "file"} as JSON' })
      .example('$0 keys gen --out trainer.key', 'make a trainer key pair; add its public key to the server\'s allow-list')
      .example('$0 keys pub server.key > server.pub', 'the public key to give to trainers (--server-key)'),
  handler: (argv) => {
    if (argv.action === 'pub') {
      if (!argv.file) throw new UserError('keys pub needs the key pair file');
      const kp = readKeyPair(String(argv.file));
      process.stdout.write(argv.json ? JSON.stringify({ public: kp.publicKey, file: argv.file }) + '\n' : kp.publicKey + '\n');
      return;
    }
    if (!argv.out) throw new UserError('keys gen needs --out <file>');
    const out = String(argv.out);
    const kp = generateKeyPair();
    writeKeyPair(out, kp, { force: Boolean(argv.force) });
    if (argv.json) process.stdout.write(JSON.stringify({ public: kp.publicKey, file: out }) + '\n');
    else process.stdout.write(`${kp.publicKey}  (public key; secret key in ${out})\n`);
  },
};

export const command: CommandModule[] = [serve, keys];
