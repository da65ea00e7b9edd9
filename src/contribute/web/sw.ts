/**
 * Service worker of the contributor page: offline-first. On install it caches the page, its scripts, the four
 * pose models and TF.js's .wasm files (the list comes from the server: /precache.json); afterwards those are
 * answered from the cache, so a phone that loaded the page once can record and capture without a network. Of the
 * API only the two public, unsigned documents the page needs to start are cached — the task scripts and the consent
 * text (/api/tasks, /api/consent): network first, the cached copy when the server cannot be reached. Nothing
 * signed or personal (uploads, the contributor's episodes) is ever cached; an upload made offline waits in the
 * page's outbox (IndexedDB) and is sent when the server answers again. A new server version (another script
 * hash) installs a new cache and drops the old.
 */
/// <reference lib="webworker" />
declare const self: ServiceWorkerGlobalScope & { R2R_VERSION?: string };

const CACHE = `reel2real-contribute-${self.R2R_VERSION ?? 'dev'}`;

self.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    const list: string[] = await (await fetch('precache.json', { cache: 'no-store' })).json();
    const cache = await caches.open(CACHE);
    await cache.addAll(list);
    await self.skipWaiting();
  })());
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) if (name.startsWith('reel2real-contribute-') && name !== CACHE) await caches.delete(name);
    await self.clients.claim();
  })());
});

/** The API documents kept for offline starts (public, the same for every contributor). */
const OFFLINE_API = ['/api/tasks', '/api/consent'];

self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== 'GET' || url.origin !== location.origin) return;
  if (OFFLINE_API.includes(url.pathname)) {
    event.respondWith((async () => {
      const cache = await caches.open(CACHE);
      try {
        const r = await fetch(event.request);
        if (r.ok) await cache.put(url.pathname, r.clone());
        return r;
      } catch (err) {
        const hit = await cache.match(url.pathname);
        if (hit) return hit;
        throw err;
      }
    })());
    return;
  }
  if (url.pathname.startsWith('/api/')) return;
  event.respondWith((async () => {
    const cache = await caches.open(CACHE);
    const hit = await cache.match(event.request, { ignoreSearch: true });
    if (hit) return hit;
    return fetch(event.request);
  })());
});
