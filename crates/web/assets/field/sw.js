// The field app's service worker (served at /field/sw.js; its scope is /field/). The server
// fills in the app's files at their content-hashed URLs and a version that changes with them.
// It keeps those files so the app opens with no network at all after one visit:
//
// - the page (/field/): from the network when it answers, else from the cache, so a new
//   version is picked up at once when online;
// - hashed assets: from the cache (their content never changes under a name);
// - the API (/v1/…) and everything else: never cached here; the app keeps its data itself.

const VERSION = "{{version}}";
const SHELL = [/*{{shell}}*/];
const CACHE = `paicha-field-${VERSION}`;

self.addEventListener('install', (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll(SHELL))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith('paicha-field-') && k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== 'GET' || url.origin !== location.origin) return;
  if (url.pathname === '/field/' || url.pathname === '/field') {
    event.respondWith(
      fetch(event.request)
        .then((response) => {
          if (response.ok) {
            const copy = response.clone();
            caches.open(CACHE).then((cache) => cache.put('/field/', copy));
          }
          return response;
        })
        .catch(() => caches.match('/field/')),
    );
    return;
  }
  if (url.pathname.startsWith('/assets/')) {
    event.respondWith(caches.match(event.request).then((hit) => hit || fetch(event.request)));
  }
});
