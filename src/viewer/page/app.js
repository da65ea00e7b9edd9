// The reel2real viewer page: the human skeleton and the robot side by side, a scrubbable timeline, and the
// quality and validation lanes under it (marked frames; click to jump). World frame is Z up.
import * as THREE from 'three';
import { OrbitControls } from 'three/addons/controls/OrbitControls.js';
import { GLTFLoader } from 'three/addons/loaders/GLTFLoader.js';
import { OBJLoader } from 'three/addons/loaders/OBJLoader.js';
import URDFLoader from 'urdf-loader';

const $ = (id) => document.getElementById(id);
const HUMAN_OFFSET = new THREE.Vector3(0, 1.0, 0); // the human is drawn 1 m to the robot's left

// State exposed for tests and for the console.
const state = (window.__viewer = { ready: false, robotLoaded: false, frame: 0, frames: 0, episode: null, error: null });

const renderer = new THREE.WebGLRenderer({ antialias: true, preserveDrawingBuffer: true });
renderer.setPixelRatio(window.devicePixelRatio);
$('scene').appendChild(renderer.domElement);
const scene = new THREE.Scene();
scene.background = new THREE.Color(0x202327);
THREE.Object3D.DEFAULT_UP.set(0, 0, 1);
const camera = new THREE.PerspectiveCamera(45, 1, 0.01, 100);
camera.up.set(0, 0, 1);
camera.position.set(3.2, -2.2, 1.8);
const controls = new OrbitControls(camera, renderer.domElement);
controls.target.set(0, 0.5, 0.8);
scene.add(new THREE.HemisphereLight(0xffffff, 0x404040, 2.2));
const sun = new THREE.DirectionalLight(0xffffff, 1.5);
sun.position.set(2, -3, 5);
scene.add(sun);
const grid = new THREE.GridHelper(10, 20, 0x555555, 0x333333);
grid.rotation.x = Math.PI / 2;
scene.add(grid);

let robot = null;
let human = null; // { group, joints: Mesh[], bones: LineSegments }
let ep = null;
let playing = false;
let lastTick = 0;

function resize() {
  const el = $('scene');
  const w = el.clientWidth, h = el.clientHeight;
  renderer.setSize(w, h);
  camera.aspect = w / Math.max(1, h);
  camera.updateProjectionMatrix();
}
window.addEventListener('resize', resize);
// The scene's box changes without a window resize too (the video panel appears or goes): follow it.
new ResizeObserver(resize).observe($('scene'));

function loadMesh(path, manager, material, done) {
  const ext = path.split('.').pop().toLowerCase();
  const fail = (err) => done(null, err);
  if (ext === 'glb' || ext === 'gltf') new GLTFLoader(manager).load(path, (g) => done(g.scene), undefined, fail);
  else if (ext === 'obj') new OBJLoader(manager).load(path, (o) => done(o), undefined, fail);
  else loader.defaultMeshLoader(path, manager, material, done);
}
const manager = new THREE.LoadingManager();
const loader = new URDFLoader(manager);
loader.loadMeshCb = (path, mgr, material, done) => loadMesh(path, mgr, material, done);

function buildHuman(h) {
  const group = new THREE.Group();
  const joints = [];
  const mat = new THREE.MeshStandardMaterial({ color: 0x5ab0ff });
  const sphere = new THREE.SphereGeometry(0.025, 10, 8);
  for (let j = 0; j < h.joint_names.length; j++) {
    const m = new THREE.Mesh(sphere, mat);
    m.scale.setScalar(h.joint_names[j].includes('_hand_') ? 0.35 : 1);
    group.add(m);
    joints.push(m);
  }
  const pairs = h.parents.map((p, j) => [p, j]).filter(([p]) => p >= 0);
  const geom = new THREE.BufferGeometry();
  geom.setAttribute('position', new THREE.BufferAttribute(new Float32Array(pairs.length * 6), 3));
  const bones = new THREE.LineSegments(geom, new THREE.LineBasicMaterial({ color: 0x9fd0ff }));
  group.add(bones);
  group.position.copy(HUMAN_OFFSET);
  scene.add(group);
  return { group, joints, bones, pairs };
}

function setFrame(f) {
  if (!ep) return;
  f = Math.max(0, Math.min(ep.frames - 1, Math.round(f)));
  state.frame = f;
  $('scrub').value = String(f);
  $('frame').textContent = `${f} / ${ep.frames - 1} · ${ep.timestamps[f].toFixed(2)} s`;
  if (robot) {
    const p = ep.root_pos[f], q = ep.root_quat[f];
    robot.position.set(p[0], p[1], p[2]);
    robot.quaternion.set(q[1], q[2], q[3], q[0]);
    const qf = ep.q[f];
    for (let i = 0; i < ep.joint_names.length; i++) robot.setJointValue(ep.joint_names[i], qf[i]);
    robot.updateMatrixWorld(true);
  }
  if (human && ep.human) {
    const row = ep.human.frames[f];
    human.joints.forEach((m, j) => {
      const x = row[3 * j];
      m.visible = x !== null;
      if (x !== null) m.position.set(row[3 * j], row[3 * j + 1], row[3 * j + 2]);
    });
    const attr = human.bones.geometry.getAttribute('position');
    human.pairs.forEach(([a, b], k) => {
      for (const [s, j] of [[0, a], [1, b]]) {
        const x = row[3 * j] ?? NaN;
        attr.setXYZ(2 * k + s, x, row[3 * j + 1] ?? NaN, row[3 * j + 2] ?? NaN);
      }
    });
    attr.needsUpdate = true;
  }
  const v = $('video');
  if (ep.video && Math.abs(v.currentTime - ep.timestamps[f]) > 0.05) v.currentTime = ep.timestamps[f];
  const info = $('info');
  info.replaceChildren();
  ep.markers.filter((m) => m.frame === f).forEach((m, i) => {
    if (i) info.append(' · ');
    const s = document.createElement('span');
    s.className = m.severity;
    s.textContent = `${m.lane} ${m.severity}: ${m.label}${m.detail ? ` — ${m.detail}` : ''}`;
    info.append(s);
  });
}

function drawLane(lane) {
  const c = $(`lane-${lane}`);
  c.width = c.clientWidth || 1000;
  const g = c.getContext('2d');
  g.clearRect(0, 0, c.width, c.height);
  const marks = ep.markers.filter((m) => m.lane === lane);
  const w = Math.max(2, c.width / Math.max(1, ep.frames));
  // Warnings (amber) first, failures (red) over them.
  for (const sev of ['warning', 'failure']) {
    g.fillStyle = sev === 'failure' ? '#e05050' : '#e0a030';
    for (const m of marks) if (m.severity === sev) g.fillRect((m.frame / Math.max(1, ep.frames - 1)) * (c.width - w), 0, w, c.height);
  }
  c.onclick = (e) => {
    const x = e.offsetX / c.clientWidth;
    let f = Math.round(x * (ep.frames - 1));
    // Jump to the nearest marked frame when one is close.
    let best = null;
    for (const m of marks) if (best === null || Math.abs(m.frame - f) < Math.abs(best - f)) best = m.frame;
    if (best !== null && Math.abs(best - f) <= Math.max(3, ep.frames / 100)) f = best;
    pause();
    setFrame(f);
  };
  return marks.length;
}

function pause() {
  playing = false;
  $('play').textContent = '▶';
  $('video').pause();
}

async function openEpisode(id) {
  state.ready = false;
  state.robotLoaded = false;
  $('status').textContent = 'loading…';
  const res = await fetch(`/api/episodes/${encodeURIComponent(id)}`);
  if (!res.ok) throw new Error(`episode ${id}: ${res.status} ${await res.text()}`);
  ep = await res.json();
  state.episode = ep.id;
  state.frames = ep.frames;
  if (robot) scene.remove(robot);
  if (human) scene.remove(human.group);
  human = ep.human ? buildHuman(ep.human) : null;
  $('scrub').max = String(ep.frames - 1);
  $('summary').textContent = `${ep.label} · ${ep.robot} · ${ep.frames} frames @ ${ep.fps} fps` +
    (ep.verdict ? ` · quality: ${ep.verdict}` : '') + (ep.feasible === null ? '' : ` · ${ep.feasible ? 'feasible' : 'infeasible'}`);
  const v = $('video');
  if (ep.video) { v.src = ep.video; v.style.display = 'block'; } else { v.removeAttribute('src'); v.style.display = 'none'; }
  resize(); // the scene's width changed with the video panel
  state.markers = { quality: drawLane('quality'), validation: drawLane('validation') };
  robot = await new Promise((resolve, reject) => {
    let r = null;
    manager.onLoad = () => resolve(r);
    manager.onError = (url) => reject(new Error(`could not load ${url}`));
    // The manager's onLoad fires once the URDF and every mesh it started are in.
    loader.load(ep.urdf, (loaded) => { r = loaded; }, undefined, reject);
  });
  robot.traverse((o) => { if (o.isMesh) { o.castShadow = false; } });
  scene.add(robot);
  state.robotLoaded = true;
  state.robotMeshes = 0;
  robot.traverse((o) => { if (o.isMesh) state.robotMeshes++; });
  setFrame(0);
  state.ready = true;
  $('status').textContent = 'ready';
}

/** World position of a robot link (for tests): [x, y, z]. */
state.linkPosition = (name) => {
  const l = robot?.links?.[name];
  if (!l) return null;
  const v = new THREE.Vector3();
  l.getWorldPosition(v);
  return [v.x, v.y, v.z];
};
state.setFrame = setFrame;

$('scrub').addEventListener('input', (e) => { pause(); setFrame(Number(e.target.value)); });
$('play').addEventListener('click', () => {
  playing = !playing;
  $('play').textContent = playing ? '❚❚' : '▶';
  lastTick = performance.now();
  if (playing && ep?.video) $('video').play().catch(() => {});
  if (!playing) $('video').pause();
});
$('episode').addEventListener('change', (e) => openEpisode(e.target.value).catch(fail));
window.addEventListener('keydown', (e) => {
  if (e.key === 'ArrowRight') setFrame(state.frame + 1);
  if (e.key === 'ArrowLeft') setFrame(state.frame - 1);
  if (e.key === ' ') $('play').click();
});

let acc = 0;
function tick(now) {
  requestAnimationFrame(tick);
  if (playing && ep) {
    acc += (now - lastTick) / 1000;
    lastTick = now;
    const f = state.frame;
    const next = f + 1 < ep.frames ? ep.timestamps[f + 1] - ep.timestamps[f] : Infinity;
    if (acc >= next) { acc -= next; setFrame(f + 1); }
    if (state.frame >= ep.frames - 1) pause();
  }
  controls.update();
  renderer.render(scene, camera);
}

function fail(err) {
  state.error = String(err?.message ?? err);
  $('status').textContent = `error: ${state.error}`;
  console.error(err);
}

async function start() {
  resize();
  requestAnimationFrame(tick);
  const list = await (await fetch('/api/episodes')).json();
  for (const e of list) {
    const o = document.createElement('option');
    o.value = e.id;
    o.textContent = e.label;
    $('episode').appendChild(o);
  }
  if (!list.length) { $('status').textContent = 'no episodes'; return; }
  await openEpisode(list[0].id);
}
start().catch(fail);
