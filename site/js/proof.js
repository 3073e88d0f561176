/* Quiet Door proof of work: the relay's challenge, solved while the student writes.
 *
 * The challenge is ALTCHA's format, version 2, with PBKDF2/SHA-256 (docs/PROTOCOL.md,
 * "Proof of work"): try counters 0, 1, 2 ... until PBKDF2(nonce followed by the counter
 * as 4 bytes big-endian, salt, cost iterations) starts with the challenge's keyPrefix.
 * WebCrypto does the hashing (no hand-written primitive), off the page's main thread;
 * a few chains of tries run side by side so that a phone's other cores help. Nothing
 * is stored, and the solution does not say how long it took.
 *
 *   var proof = QuietDoorProof.start(relayUrl, school);   // fetches the challenge
 *   proof.busy.then(function (isBusy) { ... });             // a harder challenge than normal
 *   proof.ready.then(function (header) { ... });            // the X-QD-Proof header's value
 *
 * Loaded on its own (no dependency), by the landing page and by the course.
 */
(function (root, factory) {
  if (typeof module === 'object' && module.exports) {
    module.exports = factory(globalThis.crypto);
  } else {
    root.QuietDoorProof = factory(root.crypto);
  }
})(typeof self !== 'undefined' ? self : globalThis, function (crypto) {
  'use strict';

  var CHAINS = 4;
  var ALGORITHM = 'PBKDF2/SHA-256';
  var MAX_COUNTER = 0xffffffff;

  function fromHex(text) {
    if (typeof text !== 'string' || !/^([0-9a-f]{2})*$/.test(text)) {
      throw new Error('the challenge is not hex');
    }
    var out = new Uint8Array(text.length / 2);
    for (var i = 0; i < out.length; i++) out[i] = parseInt(text.substr(i * 2, 2), 16);
    return out;
  }

  function toHex(bytes) {
    var out = '';
    for (var i = 0; i < bytes.length; i++) out += (bytes[i] < 16 ? '0' : '') + bytes[i].toString(16);
    return out;
  }

  function derive(parameters, nonce, salt, counter) {
    var password = new Uint8Array(nonce.length + 4);
    password.set(nonce);
    new DataView(password.buffer).setUint32(nonce.length, counter, false);
    return crypto.subtle.importKey('raw', password, 'PBKDF2', false, ['deriveBits'])
      .then(function (key) {
        return crypto.subtle.deriveBits(
          { name: 'PBKDF2', hash: 'SHA-256', salt: salt, iterations: parameters.cost },
          key, parameters.keyLength * 8);
      })
      .then(function (bits) { return toHex(new Uint8Array(bits)); });
  }

  /* The solution of a challenge: {counter, derivedKey}. */
  function solve(challenge) {
    var parameters = challenge.parameters;
    if (parameters.algorithm !== ALGORITHM) {
      return Promise.reject(new Error('unknown challenge algorithm'));
    }
    var nonce = fromHex(parameters.nonce);
    var salt = fromHex(parameters.salt);
    var prefix = parameters.keyPrefix;
    var tries = parameters.data && parameters.data.tries;
    var limit = typeof tries === 'number' ? Math.min(tries * 2, MAX_COUNTER) : MAX_COUNTER;
    var found = null;
    function chain(counter) {
      if (found || counter > limit) return Promise.resolve();
      return derive(parameters, nonce, salt, counter).then(function (key) {
        if (key.indexOf(prefix) === 0 && !found) found = { counter: counter, derivedKey: key };
        return chain(counter + CHAINS);
      });
    }
    var chains = [];
    for (var i = 0; i < CHAINS; i++) chains.push(chain(i));
    return Promise.all(chains).then(function () {
      if (!found) throw new Error('the challenge has no solution');
      return found;
    });
  }

  /* ALTCHA's payload: base64 of the challenge and its solution, as JSON. */
  function payload(challenge, solution) {
    return btoa(JSON.stringify({ challenge: challenge, solution: solution }));
  }

  /* Fetch a challenge for the school and solve it. */
  function start(relay, school) {
    var challenge = fetch(relay + '/api/v1/challenge?school=' + encodeURIComponent(school), {
      credentials: 'omit',
      referrerPolicy: 'no-referrer',
      cache: 'no-store'
    }).then(function (response) {
      if (!response.ok) throw new Error('no challenge: ' + response.status);
      return response.json();
    });
    var handle = {
      expiresAt: Infinity,
      busy: challenge.then(function (c) { return Boolean(c.parameters.data && c.parameters.data.busy); }),
      ready: challenge.then(function (c) {
        handle.expiresAt = c.parameters.expiresAt || Infinity;
        return solve(c).then(function (solution) { return payload(c, solution); });
      })
    };
    handle.busy.catch(function () {});
    handle.ready.catch(function () {});
    return handle;
  }

  /* Still good for a minute or more? A student may write for a long time. */
  function fresh(handle) {
    return Boolean(handle) && handle.expiresAt - Date.now() / 1000 > 60;
  }

  return { start: start, solve: solve, payload: payload, fresh: fresh };
});
