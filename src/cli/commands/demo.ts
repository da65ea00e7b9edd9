import type { CommandModule } from 'yargs';
import { runDemo } from '../../pipeline/demo.ts';

export const command: CommandModule<object, { out: string }> = {
  command: 'demo',
  describe: 'The whole pipeline on built-in data (own humanoid and hand, a built-in human motion); prints where to look',
  builder: (y) => y.option('out', { type: 'string', default: 'demo-output', describe: 'output directory (replaced)' }),
  handler: async (a) => {
    await runDemo({ out: a.out });
  },
};
