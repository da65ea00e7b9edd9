import type { CommandModule } from 'yargs';
import { loadPseudonymKey } from '../../privacy/pseudonym.ts';

interface ServeArgs { store: string; rest?: string[]; url: string; robot?: string; hand?: string; bind: string; 'key-file'?: string; 'tls-cert'?: string; 'tls-key'?: string; mode: string }

/** `contribute register <store> <contributor>`: the contributor's personal link, with a token tied to their pseudonym. */
async function register(store: string | undefined, contributor: string | undefined, keyFile: string | undefined, url: string): Promise<void> {
  const { registerContributor } = await import('../../contribute/auth.ts');
  const { UserError } = await import('../../errors.ts');
  if (!store || !contributor) throw new UserError('usage: reel2real contribute register <store> <contributor-id>');
  const r = registerContributor(store, contributor, loadPseudonymKey({ keyFile }));
  console.log(`registered ${r.pseudonym.slice(0, 14)}… (token serial ${r.serial}${r.serial > 1 ? '; earlier tokens are revoked' : ''})`);
  console.log(`personal link (give it to the contributor only; it is not stored):\n${url}#token=${r.token}`);
}

export const command: CommandModule<object, ServeArgs> = {
  command: 'contribute <store> [rest..]',
  describe: 'Serve the contributor page (capture on their device; only poses and consent are sent) and its ingest API, in front of the run pipeline',
  builder: (y) => y
    .positional('store', { type: 'string', demandOption: true, describe: 'episode store directory (created if missing); or "register", then <store> <contributor-id>' })
    .positional('rest', { type: 'string', array: true, describe: 'with register: <store> <contributor-id>' })
    .option('robot', { type: 'string', describe: 'humanoid or hand URDF the uploads are retargeted onto (required to serve)' })
    .option('hand', { type: 'string', describe: 'a separate dexterous-hand URDF driven by the right hand' })
    .option('bind', { type: 'string', default: '127.0.0.1:8443', describe: 'host:port to listen on' })
    .option('key-file', { type: 'string', describe: 'pseudonym key file (default: $REEL2REAL_PSEUDONYM_KEY)' })
    .option('tls-cert', { type: 'string', describe: 'PEM certificate: serve https (phones need it for the camera)' })
    .option('tls-key', { type: 'string', describe: 'PEM private key of --tls-cert' })
    .option('url', { type: 'string', default: 'http://127.0.0.1:8443/', describe: 'register: the server\'s address as the contributor opens it' })
    .option('mode', { choices: ['assisted', 'unassisted', 'both'], default: 'both', describe: 'closed-loop validation mode' })
    .example('$0 contribute register ./store worker-8812', 'make a contributor\'s personal link')
    .example('$0 contribute ./store --robot g1.urdf --bind 0.0.0.0:8443 --tls-cert cert.pem --tls-key key.pem', 'serve it'),
  handler: async (a) => {
    if (a.store === 'register') return register(a.rest?.[0], a.rest?.[1], a['key-file'], a.url);
    const { startContribute } = await import('../../contribute/server.ts');
    const { UserError } = await import('../../errors.ts');
    if (a.rest?.length) throw new UserError(`unexpected argument ${JSON.stringify(a.rest[0])} (serve: contribute <store> --robot <urdf>; register: contribute register <store> <contributor-id>)`);
    if (!a.robot) throw new UserError('--robot <urdf> is required to serve (the robot uploads are retargeted onto)');
    if (Boolean(a['tls-cert']) !== Boolean(a['tls-key'])) throw new UserError('--tls-cert and --tls-key go together');
    const s = await startContribute({
      store: a.store, robot: a.robot, hand: a.hand, key: loadPseudonymKey({ keyFile: a['key-file'] }), bind: a.bind, mode: a.mode as 'both',
      tls: a['tls-cert'] ? { cert: a['tls-cert'], key: a['tls-key']! } : undefined,
      log: (line) => console.log(line),
    });
    console.log(`contributor page at ${s.url} (store ${a.store}); Ctrl-C to stop`);
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    await s.close();
  },
};
