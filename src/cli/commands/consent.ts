import type { CommandModule } from 'yargs';
import * as fs from 'node:fs';
import { UserError, quote } from '../../errors.ts';
import { checkConsent, loadConsent, signManifestFile } from '../../privacy/consent.ts';
import { gateIngest } from '../../privacy/gate.ts';
import { storeConsents } from '../../privacy/purge.ts';
import { loadOperatorKey } from '../../privacy/pseudonym.ts';

const KEY_FILE = { type: 'string', describe: 'operator key file (else $REEL2REAL_PSEUDONYM_KEY): checks signatures, makes pseudonyms' } as const;

const check: CommandModule = {
  command: 'check <target>',
  describe: 'Check a recording (every manifest that names it) or one manifest file for a scope; exit 1 with the reason when refused',
  builder: (y) =>
    y
      .positional('target', { type: 'string', demandOption: true, describe: 'recording (its sidecars are read, and --consent) or manifest file' })
      .option('scope', { type: 'string', default: 'robot-training', describe: 'use the run needs, e.g. robot-training, release-to-partners' })
      .option('consent', { type: 'string', describe: 'manifest given for the recording (sidecars beside it are checked as well)' })
      .option('store', { type: 'string', describe: 'also honour withdrawals kept in this store\'s consent records' })
      .option('key-file', KEY_FILE)
      .option('at', { type: 'string', describe: 'check as of this ISO date instead of now' })
      .option('json', { type: 'boolean', default: false })
      .example('$0 consent check clips/kitchen-0001.mp4 --scope robot-training', 'is this recording usable for training today?'),
  handler: (argv) => {
    const target = String(argv.target);
    const now = argv.at ? new Date(String(argv.at)) : new Date();
    if (Number.isNaN(now.getTime())) throw new UserError(`--at is not a date: ${quote(argv.at)}`);
    const scope = String(argv.scope);
    const key = loadOperatorKey({ keyFile: argv['key-file'] as string | undefined });
    const isManifest = /\.consent\.(json|ya?ml)$/i.test(target) || (!argv.consent && /\.(json|ya?ml)$/i.test(target));
    let out: Record<string, unknown>;
    if (isManifest) {
      if (!fs.existsSync(target)) throw new UserError('no consent manifest at this path', target);
      const m = loadConsent(target);
      checkConsent(m, { scope, now, key });
      out = { ok: true, consent: m.consent_id, version: m.consent_version, scope, scopes: m.scopes, expires: m.expires, retention_days: m.retention_days, recordings: m.recordings ?? [] };
    } else {
      const known = argv.store && fs.existsSync(String(argv.store)) ? storeConsents(String(argv.store)) : [];
      const g = gateIngest({ recording: target, manifestPath: argv.consent as string | undefined, scope, key, now, known });
      out = { ok: true, consent: g.consentRef.id, version: g.consentRef.version, scope, scopes: g.consentRef.scopes, expires: g.consentRef.expires, retention_days: g.consentRef.retention_days, contributor: g.contributorPseudonym, recording: g.recording };
    }
    if (argv.json) process.stdout.write(JSON.stringify(out, null, 2) + '\n');
    else process.stdout.write(`consent ${out.consent} (v${out.version}) allows ${scope}${out.expires ? ` until ${out.expires}` : ''}${out.contributor ? `; contributor ${String(out.contributor).slice(0, 14)}…` : ''}\n`);
  },
};

const sign: CommandModule = {
  command: 'sign <manifests..>',
  describe: 'Register consent manifests: check each and write it back signed with the operator key (HMAC-SHA256)',
  builder: (y) =>
    y
      .positional('manifests', { type: 'string', array: true, demandOption: true, describe: 'manifest files (JSON or YAML); each must list its recordings by sha256' })
      .option('key-file', KEY_FILE)
      .example('$0 consent sign clips/kitchen-0001.mp4.consent.json --key-file ~/.reel2real/operator.key', ''),
  handler: (argv) => {
    const key = loadOperatorKey({ keyFile: argv['key-file'] as string | undefined });
    for (const f of argv.manifests as string[]) {
      const m = signManifestFile(f, key);
      process.stdout.write(`${f}: signed consent ${m.consent_id} (${m.recordings!.length} recording(s), scopes ${m.scopes.join(', ')})\n`);
    }
  },
};

export const command: CommandModule = {
  command: 'consent <command>',
  describe: 'Consent manifests: sign (register) them, check a recording\'s consent for a use',
  builder: (y) => y.command(check).command(sign).demandCommand(1, 'Name a consent subcommand; see --help.'),
  handler: () => {},
};
