import type { CommandModule } from 'yargs';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../../errors.ts';
import { checkConsent, findConsent, loadConsent } from '../../privacy/consent.ts';
import { gateIngest } from '../../privacy/gate.ts';
import { loadPseudonymKey } from '../../privacy/pseudonym.ts';

const check: CommandModule = {
  command: 'check <target>',
  describe: 'Check the consent manifest of a recording (or a manifest file) for a scope; exit 1 with the reason when refused',
  builder: (y) =>
    y
      .positional('target', { type: 'string', demandOption: true, describe: 'recording (its sidecar <name>.consent.json/yaml is used) or manifest file' })
      .option('scope', { type: 'string', default: 'robot-training', describe: 'use the run needs, e.g. robot-training, release-to-partners' })
      .option('consent', { type: 'string', describe: 'manifest to use instead of the sidecar' })
      .option('key-file', { type: 'string', describe: 'operator pseudonym key file (else $REEL2REAL_PSEUDONYM_KEY); with a recording, prints the pseudonym' })
      .option('at', { type: 'string', describe: 'check as of this ISO date instead of now' })
      .option('json', { type: 'boolean', default: false })
      .example('$0 consent check clips/kitchen-0001.mp4 --scope robot-training', 'is this recording usable for training today?'),
  handler: (argv) => {
    const target = String(argv.target);
    const now = argv.at ? new Date(String(argv.at)) : new Date();
    if (Number.isNaN(now.getTime())) throw new UserError(`--at is not a date: ${argv.at}`);
    const scope = String(argv.scope);
    const isManifest = /\.consent\.(json|ya?ml)$/i.test(target) || (!argv.consent && /\.(json|ya?ml)$/i.test(target));
    let out: Record<string, unknown>;
    if (isManifest) {
      if (!fs.existsSync(target)) throw new UserError('no consent manifest at this path', target);
      const m = loadConsent(target);
      checkConsent(m, { scope, now });
      out = { ok: true, consent: m.consent_id, version: m.consent_version, scope, scopes: m.scopes, expires: m.expires, retention_days: m.retention_days };
    } else {
      const hasKey = Boolean(argv['key-file'] || process.env.REEL2REAL_PSEUDONYM_KEY);
      if (hasKey) {
        const key = loadPseudonymKey({ keyFile: argv['key-file'] as string | undefined });
        const g = gateIngest({ recording: target, manifestPath: argv.consent as string | undefined, scope, key, now });
        out = { ok: true, consent: g.consentRef.id, version: g.consentRef.version, scope, scopes: g.consentRef.scopes, expires: g.consentRef.expires, retention_days: g.consentRef.retention_days, contributor: g.contributorPseudonym, recording: g.recording };
      } else {
        const file = findConsent(target, argv.consent as string | undefined);
        const m = loadConsent(file);
        checkConsent(m, { scope, now, recording: { name: path.basename(target) } });
        out = { ok: true, consent: m.consent_id, version: m.consent_version, scope, scopes: m.scopes, expires: m.expires, retention_days: m.retention_days };
      }
    }
    if (argv.json) process.stdout.write(JSON.stringify(out, null, 2) + '\n');
    else process.stdout.write(`consent ${out.consent} (v${out.version}) allows ${scope}${out.expires ? ` until ${out.expires}` : ''}${out.contributor ? `; contributor ${String(out.contributor).slice(0, 14)}…` : ''}\n`);
  },
};

export const command: CommandModule = {
  command: 'consent <command>',
  describe: 'Consent manifests: check a recording\'s consent for a use',
  builder: (y) => y.command(check).demandCommand(1, 'Name a consent subcommand; see --help.'),
  handler: () => {},
};
