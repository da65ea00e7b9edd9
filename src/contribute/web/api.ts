/**
 * The page's side of the ingest API: signed requests (HMAC-SHA256 with the contributor's token secret over
 * method, path, time, a fresh nonce and the content digest; see ../auth.ts), and an outbox in IndexedDB so an
 * upload that fails (offline, server down) is kept and sent again later under the same content id — the server
 * answers a content id it already has with the first verdict instead of storing it twice.
 */
export interface Token {
  id: string;
  secret: string;
}

const hex = (b: ArrayBuffer) => [...new Uint8Array(b)].map((x) => x.toString(16).padStart(2, '0')).join('');

export async function sha256Hex(data: Uint8Array | string): Promise<string> {
  const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
  return hex(await crypto.subtle.digest('SHA-256', bytes as BufferSource));
}

/** Parse a token as the operator hands it out: `<pseudonym>.<serial>.<secret>`. */
export function parseToken(s: string): Token | null {
  const m = /^(p-[0-9a-f]{64}\.[0-9]+)\.([0-9a-f]{64})$/.exec(s.trim());
  return m ? { id: m[1], secret: m[2] } : null;
}

async function sign(token: Token, method: string, path: string, digest: string): Promise<Record<string, string>> {
  const time = String(Math.floor(Date.now() / 1000));
  const nonce = hex(crypto.getRandomValues(new Uint8Array(16)).buffer);
  const key = await crypto.subtle.importKey('raw', new TextEncoder().encode(token.secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const sig = await crypto.subtle.sign('HMAC', key, new TextEncoder().encode([method, path, time, nonce, digest].join('\n')));
  return { 'x-r2r-token': token.id, 'x-r2r-time': time, 'x-r2r-nonce': nonce, 'x-r2r-signature': hex(sig) };
}

export class ApiError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

async function answer(r: Response): Promise<any> {
  const text = await r.text();
  let body: any = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  if (!r.ok) throw new ApiError(r.status, body?.error ?? `server answered ${r.status}`);
  return body;
}

export async function signedFetch(token: Token, method: string, path: string, init: RequestInit = {}, digest = ''): Promise<any> {
  const headers = { ...(init.headers as Record<string, string> | undefined), ...(await sign(token, method, path, digest)) };
  return answer(await fetch(path, { ...init, method, headers }));
}

export async function getJson(path: string): Promise<any> {
  return answer(await fetch(path));
}

/** What an upload carries besides the track. */
export interface UploadMeta {
  content_id: string;
  task: string;
  consent: { version: string; scopes: Record<string, boolean> };
  device_quality: unknown;
  /** Only with the video scope ticked: the video part's sha256, type and size (the signature covers them). */
  video?: { sha256: string; type: string; bytes: number };
}

export interface Pending {
  contentId: string;
  track: Blob;
  /** The video, only when the contributor ticked the scope that sends it. */
  video?: Blob;
  meta: UploadMeta;
  queuedAt: number;
}

/**
 * Send one upload: multipart with the pose track (.npz) and the JSON meta, and a third part, the video, only when
 * the contributor ticked the scope that sends it (its hash is in the signed meta).
 */
export async function sendUpload(token: Token, p: Pending): Promise<any> {
  const metaText = JSON.stringify(p.meta);
  const form = new FormData();
  form.append('meta', new Blob([metaText], { type: 'application/json' }), 'meta.json');
  form.append('track', p.track, `${p.contentId}.npz`);
  if (p.video) form.append('video', p.video, p.video.type.includes('webm') ? 'video.webm' : 'video.mp4');
  return signedFetch(token, 'POST', '/api/episodes', { body: form }, `${p.contentId}.${await sha256Hex(metaText)}`);
}

// ---- outbox (IndexedDB) -------------------------------------------------------------------------------

function db(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open('reel2real-contribute', 1);
    req.onupgradeneeded = () => req.result.createObjectStore('outbox', { keyPath: 'contentId' });
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

async function tx<T>(mode: IDBTransactionMode, fn: (s: IDBObjectStore) => IDBRequest<T>): Promise<T> {
  const d = await db();
  return new Promise((resolve, reject) => {
    const r = fn(d.transaction('outbox', mode).objectStore('outbox'));
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}

export const outbox = {
  put: (p: Pending) => tx('readwrite', (s) => s.put(p)),
  remove: (id: string) => tx('readwrite', (s) => s.delete(id)),
  all: () => tx<Pending[]>('readonly', (s) => s.getAll() as IDBRequest<Pending[]>),
};
