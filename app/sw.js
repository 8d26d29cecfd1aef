// The static studio's service worker (written out by app/static.py, which fills in VERSION and SHELL).
// - Offline: the page, onnxruntime-web and models.json are cached when it installs; each model and example
//   the first time the page uses it. Everything is then served from the cache, network or not.
// - Updates: one cache per export (VERSION hashes every file). A new export installs a new worker that
//   drops the old cache; model files carry a hash of their bytes in their names, so a page of one export
//   never runs a model of another.
// - Threads: it adds the cross-origin isolation headers to what it serves, so hosts that cannot set
//   headers still get multi-threaded WASM (from the second visit on).
const VERSION = "{{version}}";
const SHELL = {{shell}};
const CACHE = `pix2pix-studio-${VERSION}`;
const ISOLATION = {"Cross-Origin-Opener-Policy": "same-origin", "Cross-Origin-Embedder-Policy": "require-corp"};

self.addEventListener("install", event => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    await cache.addAll(SHELL.map(path => new Request(path, {cache: "reload"})));
    await self.skipWaiting();
  })());
});

self.addEventListener("activate", event => {
  event.waitUntil((async () => {
    for (const key of await caches.keys()) {
      if (key.startsWith("pix2pix-studio-") && key !== CACHE) await caches.delete(key);
    }
    await self.clients.claim();
  })());
});

// The page sends the model and example files it loaded before this worker took over.
self.addEventListener("message", event => {
  const urls = (event.data && event.data.cache) || [];
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    for (const url of urls.filter(u => /^(models|examples)\/[^/]+$/.test(u))) {
      if (!(await cache.match(url))) await cache.add(url).catch(() => {});  // gone: a newer export's page will fetch its own
    }
    if (event.ports[0]) event.ports[0].postMessage("ready");
  })());
});

function isolated(response) {
  if (response.type === "opaque" || response.status === 0) return response;
  const headers = new Headers(response.headers);
  for (const [name, value] of Object.entries(ISOLATION)) headers.set(name, value);
  return new Response(response.body, {status: response.status, statusText: response.statusText, headers});
}

async function respond(request) {
  const cache = await caches.open(CACHE);
  const url = new URL(request.url);
  const key = request.mode === "navigate" ? new URL("./", self.registration.scope).href : request;
  const cached = await cache.match(key, {ignoreSearch: request.mode === "navigate"});
  if (cached) return isolated(cached);
  const response = await fetch(request);
  if (response.ok && /\/(models|examples)\/[^/]+$/.test(url.pathname)) await cache.put(request, response.clone());
  return isolated(response);
}

self.addEventListener("fetch", event => {
  const request = event.request;
  if (request.method !== "GET" || new URL(request.url).origin !== self.location.origin) return;
  event.respondWith(respond(request));
});
