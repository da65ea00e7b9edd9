/**
 * `npm run demo`: the whole pipeline on an embedded default that needs no external file.
 *
 * The project's own humanoid and hand (robots/), the built-in pick-and-place human motion (body and both
 * hands, src/pose/builtin.ts) saved as a recording with a consent manifest beside it — bound to the
 * recording's sha256 and signed with a key made up for this run only (the demo needs no operator key; a real
 * run takes the operator's, see docs/privacy.md) — then: consent gate →
 * import → quality report → retargeting (body, fingers onto the separate hand) → physics stage → validation
 * (articulated dynamics; Rapier only for mesh hulls and self-contact) →
 * episode store → LeRobot v3 export → a ZeroMQ stream to an in-process trainer that checks every array it
 * receives against the store. Prints where to look.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { builtinMotion } from '../pose/builtin.ts';
import { saveTrack } from '../pose/track.ts';
import { signManifestFile } from '../privacy/consent.ts';
import { sha256File } from '../privacy/gate.ts';
import { writeFileAtomic } from '../io/atomic.ts';
import { runClip, type ClipResult, type Stage } from './run.ts';
import { openStore } from '../store/store.ts';
import { exportDataset } from '../export/index.ts';
import { EpisodeConsumer, EpisodeServer } from '../transport/index.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const DEMO_HUMANOID = path.join(ROOT, 'robots/r2r_humanoid/r2r_humanoid.urdf');
export const DEMO_HAND = path.join(ROOT, 'robots/r2r_hand/r2r_hand.urdf');

export interface DemoResult {
  out: string;
  clip: ClipResult;
  store: string;
  motion: string;
  dataset: string;
  streamed: { episodes: number; arraysChecked: number; bytes: number };
  seconds: number;
}

export async function runDemo(opts: { out?: string; log?: (line: string) => void } = {}): Promise<DemoResult> {
  const t0 = performance.now();
  const log = opts.log ?? ((l: string) => console.log(l));
  const out = path.resolve(opts.out ?? 'demo-output');
  // Start clean: the demo's output is all derived from built-in data.
  fs.rmSync(out, { recursive: true, force: true });
  fs.mkdirSync(out, { recursive: true });

  // 1. The recording and its consent manifest.
  const recording = path.join(out, 'recordings', 'pick-and-place.npz');
  const track = builtinMotion('pick-and-place');
  saveTrack(recording, track);
  const now = new Date();
  // An operator key for this demo only (its pseudonyms, its manifest signature, its audit log): made up now,
  // never saved, so nothing the demo signs can be passed off as the operator's.
  const key = randomBytes(32);
  const manifest = recording.replace(/\.npz$/, '.consent.json');
  writeFileAtomic(manifest, JSON.stringify({
    consent_id: 'demo-consent-0001',
    contributor: 'demo-worker-42',
    consent_version: '1.0',
    scopes: ['robot-training'],
    granted: now.toISOString().slice(0, 10),
    expires: new Date(now.getTime() + 365 * 86400e3).toISOString().slice(0, 10),
    withdrawn: null,
    retention_days: 365,
    recordings: [sha256File(recording)],
  }, null, 2));
  signManifestFile(manifest, key);
  log(`recording   built-in pick-and-place: ${track.timestamps.length} frames at ${track.fps} fps, ${track.jointNames.length} joints (body + both hands)`);
  log('manifest    demo manifest bound to the recording\'s sha256 and signed with a one-off demo key (real runs: the operator key)');

  // 2. The pipeline.
  const store = path.join(out, 'store');
  const stageLine = (clip: string, stage: Stage, state: 'start' | 'end', detail?: string) => {
    if (state === 'end') log(`${stage.padEnd(11)} ${detail ?? 'done'}`);
  };
  const clip = await runClip(recording, {
    robot: DEMO_HUMANOID, hand: DEMO_HAND, store, task: 'pick-and-place', key, actor: 'demo', onStage: stageLine, balance: true,
  });
  if (clip.status !== 'stored' || !clip.id) throw new Error(`demo clip was ${clip.status}: ${clip.reasons.join('; ')}`);
  const ep = openStore(store).get(clip.id);
  // The stage lines above gave each verdict once; here is what stands behind them.
  const q = ep.quality as { verdict: string; reasons: { code: string; message: string }[] };
  for (const r of q.reasons) log(`  quality     ${r.code}: ${r.message}`);
  const rq = ep.motion?.quality as Record<string, unknown> | undefined;
  if (rq) log(`  body        ${ep.motion!.robot.name}: keypoint error mean ${fmt(rq.keypoint_error_mean_m, 3)} m, max ${fmt(rq.keypoint_error_max_m, 3)} m; limit violations ${rq.joint_limit_violations}; stance skate ${fmt(rq.stance_skate_max_cm_s, 2)} cm/s max`);
  const hq = ep.handMotion?.quality as Record<string, unknown> | undefined;
  if (hq) log(`  right hand  ${ep.handMotion!.robot.name}: fingertip error mean ${fmt(hq.fingertip_error_mean_m, 3)} m, max ${fmt(hq.fingertip_error_max_m, 3)} m; limit violations ${hq.joint_limit_violations}`);
  const v = ep.validation as { feasible: boolean; reasons: { kind: string; hard: boolean; message: string; frames: [number, number][] }[]; sim?: { joint_drift_mm?: number } };
  log(`  validation  ${v.feasible ? 'feasible' : 'infeasible'}; joint drift ${fmt(v.sim?.joint_drift_mm, 3)} mm${v.reasons.some((r) => !r.hard) ? '; the warnings below do not change the verdict' : v.reasons.length ? '' : ', no warnings'}`);
  for (const r of v.reasons) log(`                ${r.hard ? 'infeasible' : 'warning'}: ${r.message} (frames ${r.frames.map(([a, b]) => (a === b ? `${a}` : `${a}-${b}`)).join(', ')})`);

  // 3. Files for Python users.
  const motionFile = path.join(out, 'motion.npz');
  fs.copyFileSync(openStore(store).files(clip.id)['motion.npz'], motionFile);

  // 4. LeRobot export.
  const dataset = path.join(out, 'lerobot');
  const summary = await exportDataset(store, { format: 'lerobot-v3', out: dataset, key });
  log(`export      LeRobot v3.0: ${summary.episodes ?? 1} episode(s), ${summary.frames ?? ''} frames → ${path.relative(process.cwd(), dataset)}`);

  // 5. Stream to an in-process trainer over ZeroMQ and check what arrives.
  const streamed = await streamToTrainer(store, out, ep);
  log(`stream      ${streamed.episodes} episode(s) delivered over ZeroMQ, ${streamed.arraysChecked} arrays equal to the store's, ${(streamed.bytes / 1024).toFixed(0)} KiB`);

  const seconds = (performance.now() - t0) / 1000;
  const rel = (p: string) => path.relative(process.cwd(), p) || '.';
  log('');
  log(`Done in ${seconds.toFixed(1)} s. Where to look:`);
  log(`  ${rel(store)}            the episode store:  npx reel2real store ls ${rel(store)}`);
  log(`  ${rel(motionFile)}       the robot motion (numpy: np.load(...)["q"])`);
  log(`  ${rel(dataset)}          the LeRobot dataset`);
  log(`  npx reel2real view ${rel(store)}   the human and the robot side by side in a browser`);
  return { out, clip, store, motion: motionFile, dataset, streamed, seconds };
}

function fmt(v: unknown, digits: number): string {
  return typeof v === 'number' ? v.toFixed(digits) : '?';
}

async function streamToTrainer(store: string, out: string, stored: ReturnType<ReturnType<typeof openStore>['get']>) {
  const source = openStore(store);
  const sock = path.join(out, '.demo-stream.sock');
  const endpoint = `ipc://${sock}`;
  const server = new EpisodeServer({ source, bind: endpoint, stateDir: path.join(out, '.transport') });
  await server.start();
  const trainer = new EpisodeConsumer({ connect: endpoint, name: 'demo-trainer' });
  let episodes = 0;
  let arraysChecked = 0;
  let bytes = 0;
  try {
    await trainer.start();
    for await (const ep of trainer) {
      episodes++;
      const m = stored.motion!;
      const expect: Record<string, ArrayLike<number>> = { q: m.q, root_pos: m.rootPos, root_quat: m.rootQuat };
      for (const [name, want] of Object.entries(expect)) {
        const got = ep.arrays[name]?.data as ArrayLike<number> | undefined;
        if (!got || got.length !== want.length) throw new Error(`stream: ${name} missing or of the wrong length`);
        for (let i = 0; i < want.length; i++) if (got[i] !== want[i]) throw new Error(`stream: ${name}[${i}] differs from the store`);
        arraysChecked++;
      }
      for (const a of Object.values(ep.arrays)) bytes += (a.data as ArrayBufferView).byteLength;
      ep.ack();
    }
  } finally {
    await trainer.close();
    await server.close();
    // ZeroMQ leaves an ipc socket file behind when it unbinds.
    fs.rmSync(sock, { force: true });
  }
  return { episodes, arraysChecked, bytes };
}
