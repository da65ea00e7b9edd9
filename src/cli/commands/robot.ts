import type { CommandModule } from 'yargs';
import { loadUrdf } from '../../robot/urdf.ts';
import { forwardKinematics, inspectRobot, readConfigs } from '../../robot/inspect.ts';

interface Args { urdf: string; json?: boolean; q?: string; 'package-path'?: string[] }

const packagePath = { type: 'string', array: true, describe: 'directories searched for package:// mesh URIs' } as const;

const inspect: CommandModule<object, Args> = {
  command: 'inspect <urdf>',
  describe: 'Name, root link, dof, joints, links and masses of a URDF',
  builder: (y) => y
    .positional('urdf', { type: 'string', demandOption: true, describe: 'URDF file' })
    .option('json', { type: 'boolean', describe: 'print JSON' })
    .option('package-path', packagePath)
    .example('$0 robot inspect robots/r2r_humanoid/r2r_humanoid.urdf --json', ''),
  handler: (a) => {
    const s = inspectRobot(loadUrdf(a.urdf, { packagePaths: a['package-path'] }));
    if (a.json) {
      process.stdout.write(JSON.stringify(s, null, 2) + '\n');
      return;
    }
    console.log(`${s.name}: root ${s.root_link}, ${s.dof} dof, ${s.joints.length} joints, ${s.links.length} links, ${s.total_mass.toFixed(2)} kg`);
    for (const j of s.joints) {
      if (j.type === 'fixed') continue;
      const lim = j.lower === null ? 'unlimited' : `[${j.lower}, ${j.upper}]`;
      console.log(`  ${j.name.padEnd(32)} ${j.type.padEnd(10)} ${lim}${j.mimic ? `  mimic ${j.mimic.joint} x${j.mimic.multiplier}${j.mimic.offset ? ` + ${j.mimic.offset}` : ''}` : ''}`);
    }
  },
};

const fk: CommandModule<object, Args> = {
  command: 'fk <urdf>',
  describe: "Every link's pose in the root link's frame for one or more joint configurations",
  builder: (y) => y
    .positional('urdf', { type: 'string', demandOption: true, describe: 'URDF file' })
    .option('q', { type: 'string', demandOption: true, describe: 'JSON file: {joint: value} or a list of them (missing joints 0; mimic joints are computed)' })
    .option('json', { type: 'boolean', describe: 'print JSON (the default output)' })
    .option('package-path', packagePath)
    .example('$0 robot fk robots/r2r_hand/r2r_hand.urdf --q q.json --json', ''),
  handler: (a) => {
    const robot = loadUrdf(a.urdf, { packagePaths: a['package-path'], checkMeshes: false });
    const frames = forwardKinematics(robot, readConfigs(a.q!), a.q);
    process.stdout.write(JSON.stringify({ frames }) + '\n');
  },
};

export const command: CommandModule = {
  command: 'robot <command>',
  describe: 'Robot models: inspect a URDF, forward kinematics',
  builder: (y) => y.command(inspect as CommandModule).command(fk as CommandModule).demandCommand(1),
  handler: () => {},
};
