/**
 * Service worker of the contributor page: offline-first. On install it caches the page, its script, the four
 * pose models and TF.js's .wasm files (the list comes from the server: /precache.json); afterwards those are
 * answered from the cache, so a phone that loaded the page once can record and capture without a network. The
 * API (/api/…) is never cached. A new server version (another script hash) installs a new cache and drops the old.
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

self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== 'GET' || url.origin !== location.origin || url.pathname.startsWith('/api/')) return;
  event.respondWith((async () => {
    const cache = await caches.open(CACHE);
    const hit = await cache.match(event.request, { ignoreSearch: true });
    if (hit) return hit;
    return fetch(event.request);
  })());
});
