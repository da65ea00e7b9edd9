import * as fs from 'node:fs';
import type { CommandModule } from 'yargs';
import { UserError } from '../../errors.ts';
import { motionFileSource, startViewer, type ViewerSource } from '../../viewer/server.ts';

interface Args { input: string; port?: number; host?: string; robot?: string; track?: string; 'allow-host'?: string[] }

/** Pick the viewer source: an episode store directory, or a motion .npz. */
export async function viewerSource(input: string, opts: { robot?: string; track?: string }): Promise<ViewerSource> {
  if (!fs.existsSync(input)) throw new UserError('no such file or directory', input);
  if (fs.statSync(input).isDirectory()) {
    const { storeSource } = await import('../../viewer/store-source.ts');
    return storeSource(input, opts);
  }
  return motionFileSource(input, opts);
}

export const command: CommandModule<object, Args> = {
  command: 'view <input>',
  describe: 'Web viewer: the human and the robot side by side, scrubbable, with quality and validation timelines',
  builder: (y) => y
    .positional('input', { type: 'string', demandOption: true, describe: 'an episode store directory or a motion .npz' })
    .option('port', { type: 'number', default: 8080, describe: 'port to listen on (0 = any free port)' })
    .option('host', { type: 'string', default: '127.0.0.1', describe: 'address to listen on' })
    .option('allow-host', { type: 'string', array: true, describe: 'host names the browser may use besides IP addresses and localhost (DNS-rebinding guard)' })
    .option('robot', { type: 'string', describe: 'URDF to draw (default: the one recorded in the motion)' })
    .option('track', { type: 'string', describe: 'pose track .npz to draw beside the robot (motion files only)' })
    .example('$0 view out/store', '')
    .example('$0 view walk_g1.npz --robot g1.urdf --track walk.npz', ''),
  handler: async (a) => {
    const source = await viewerSource(a.input, { robot: a.robot, track: a.track });
    const server = await startViewer(source, { port: a.port, host: a.host, allowHosts: a['allow-host'] });
    console.log(`reel2real viewer: ${server.url}  (Ctrl-C to stop)`);
    await new Promise<void>((resolve) => {
      const stop = () => { void server.close().then(resolve); };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
  },
};
