/* Offline reading for the staff course: every page and file fetched is kept,
 * and served from the cache when the network is gone. Network first, so an
 * updated module is always shown when there is a connection. The relay is
 * never cached: only GET requests under this course's own scope are. */
'use strict';

var CACHE = 'quietdoor-training-v1';

self.addEventListener('install', function () { self.skipWaiting(); });
self.addEventListener('activate', function (event) { event.waitUntil(self.clients.claim()); });

self.addEventListener('fetch', function (event) {
  var request = event.request;
  var scope = self.registration.scope;
  var assets = new URL('../assets/', scope).href;
  var ours = request.url.indexOf(scope) === 0 || request.url.indexOf(assets) === 0;
  if (request.method !== 'GET' || !ours) return;
  event.respondWith(
    fetch(request).then(function (answer) {
      if (answer.ok) {
        var copy = answer.clone();
        caches.open(CACHE).then(function (cache) { cache.put(request, copy); });
      }
      return answer;
    }).catch(function () {
      return caches.match(request).then(function (hit) {
        return hit || Response.error();
      });
    })
  );
});
