// The handheld page's service worker (served at /scan/sw.js, scope /scan/).
//
// It keeps the page's own files so the page loads when the server cannot be reached
// (a dead spot in the aisle, the server restarting): scans taken then wait in the
// page's outbox. Network first, so a reachable server always serves the current page;
// the cache answers only when the network fails. It never touches the API, the feed or
// the scan socket.

const CACHE = "stockd-scan-v1";
const SHELL = [
  "/scan/",
  "/static/scan/scan.css",
  "/static/scan/scan.js",
  "/static/scan/wedge.js",
  "/static/scan/outbox.js",
  "/static/scan/camera.js",
  "/static/feed.js",
  "/static/vendor/zxing-wasm/reader/index.js",
  "/static/vendor/zxing-wasm/share.js",
  "/static/vendor/zxing-wasm/zxing_reader.wasm",
];

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll(SHELL))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((names) => Promise.all(names.filter((n) => n !== CACHE).map((n) => caches.delete(n))))
      .then(() => self.clients.claim()),
  );
});

function kept(url) {
  if (url.origin !== self.location.origin) return false;
  if (url.pathname === "/scan/" || url.pathname === "/scan") return true;
  return SHELL.includes(url.pathname);
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (!kept(url)) return;
  const key = url.pathname === "/scan" ? "/scan/" : url.pathname;
  event.respondWith(
    fetch(request)
      .then((response) => {
        if (response.ok) {
          const copy = response.clone();
          caches.open(CACHE).then((cache) => cache.put(key, copy));
        }
        return response;
      })
      .catch(() =>
        caches.match(key).then((hit) => hit || new Response("offline", { status: 503 })),
      ),
  );
});
