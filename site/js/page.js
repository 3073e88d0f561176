/* Quiet Door student pages: what every page does, before the page's own script.
 *
 * Inline at the end of the body (allowed by its hash in the page's CSP), so it
 * runs as soon as the HTML has arrived: it shows what needs JavaScript, arms the
 * quick exit, and watches the crypto scripts, which load after it. Nothing is
 * stored: no cookie, no web storage, no worker. It defines window.QuietDoorPage
 * for the page's own script (app.js or case.js, inline after it).
 */
(function () {
  'use strict';

  var exitLink = document.getElementById('quick-exit');
  var SHIFT_PRESSES = 3;
  var SHIFT_WINDOW_MS = 1500;
  var REQUEST_TIMEOUT_MS = 45000;
  var cleaners = [];

  // Without JavaScript these stay hidden: a form that could never send is not offered.
  // reveal.js, inline just after the text box, has shown those that come before it.
  Array.prototype.forEach.call(document.querySelectorAll('[data-needs-js]'), function (element) {
    element.hidden = false;
  });

  /* Something to wipe when the student leaves: the quick exit, Back, a link, closing the tab. */
  function onLeave(clean) {
    cleaners.push(clean);
  }

  function clearAll() {
    cleaners.forEach(function (clean) { clean(); });
  }

  // --- the language the browser prefers ---------------------------------------

  /* One line offering another of the school's languages, in its own name, when the browser
   * lists it before this page's. Nothing is stored or sent: the list is read, a link made. */
  (function offerLanguage() {
    var offer = document.getElementById('language-offer');
    var links = document.querySelectorAll('.languages a[hreflang]');
    var preferred = navigator.languages || [navigator.language || ''];
    function primary(tag) { return String(tag).toLowerCase().split('-')[0]; }
    var here = primary(document.documentElement.lang);
    for (var i = 0; i < preferred.length; i++) {
      var wanted = primary(preferred[i]);
      if (wanted === here) return;
      for (var j = 0; j < links.length; j++) {
        var link = links[j];
        if (primary(link.hreflang) !== wanted) continue;
        var a = document.createElement('a');
        a.href = link.href;
        a.hreflang = a.lang = link.hreflang;
        a.dir = link.dir;
        a.textContent = link.textContent;
        offer.appendChild(a);
        offer.hidden = false;
        return;
      }
    }
  })();

  // --- quick exit ------------------------------------------------------------

  function leave(event) {
    if (event) event.preventDefault();
    clearAll();
    // replace(): the page leaves no entry in the tab's history.
    window.location.replace(exitLink.dataset.exitUrl);
  }

  exitLink.addEventListener('click', leave);

  /* Shift pressed on its own three times within 1.5 s. Any other key starts the count
   * again, so typing capital letters never triggers it. */
  var shiftTimes = [];
  document.addEventListener('keydown', function (event) {
    if (event.key !== 'Shift') {
      shiftTimes = [];
      return;
    }
    if (event.repeat) return;
    var now = Date.now();
    shiftTimes = shiftTimes.filter(function (t) { return now - t < SHIFT_WINDOW_MS; });
    shiftTimes.push(now);
    if (shiftTimes.length >= SHIFT_PRESSES) leave();
  });

  // Leaving any other way (a language link, Back, closing the tab) clears the page too, so
  // the copy the browser may keep for its Back button shows nobody anything.
  window.addEventListener('pagehide', clearAll);

  // --- the crypto scripts ----------------------------------------------------

  /* The crypto scripts are deferred: they run after the page is parsed, before
   * DOMContentLoaded. One that fails (network, integrity check) never defines its global. */
  var parsed = false;
  var started = false;
  var waiting = [];

  function crypto() {
    if (window.QuietDoorEnvelope && window.nacl && window.blakejs) {
      return window.QuietDoorEnvelope(window.nacl, window.blakejs);
    }
    return null;
  }

  document.addEventListener('DOMContentLoaded', function () {
    parsed = true;
    if (!started) sayNotLoaded();
    var qd = crypto();
    waiting.splice(0).forEach(function (callback) { callback(qd); });
  });

  /* app.js and case.js call started(); if the page's one never ran (a policy without its
   * hash), [data-not-loaded] says so. */
  function start() {
    started = true;
  }

  function sayNotLoaded() {
    Array.prototype.forEach.call(document.querySelectorAll('[data-not-loaded]'), function (el) {
      el.textContent = el.dataset.notLoaded;
    });
  }

  /* Calls back with the envelope library, or null if a script failed to load. Returns
   * true when it had to wait (so the page can say "getting ready"). */
  function whenCrypto(callback) {
    var qd = crypto();
    if (qd || parsed) {
      callback(qd);
      return false;
    }
    waiting.push(callback);
    return true;
  }

  // --- the relay -------------------------------------------------------------

  /* A request to the relay: no cookie, no referrer, nothing cached. Calls back with the
   * HTTP status and the parsed JSON body (or null), or with status 0 when the relay could
   * not be reached or did not answer in time. */
  function request(url, options, callback) {
    var controller = new AbortController();
    var timer = setTimeout(function () { controller.abort(); }, REQUEST_TIMEOUT_MS);
    fetch(url, {
      method: options.method || 'GET',
      headers: options.headers || {},
      body: options.body,
      credentials: 'omit',
      referrerPolicy: 'no-referrer',
      cache: 'no-store',
      signal: controller.signal
    }).then(function (response) {
      return response.json().then(
        function (body) { return [response.status, body]; },
        function () { return [response.status, null]; }
      );
    }).then(function (answer) {
      clearTimeout(timer);
      callback(answer[0], answer[1]);
    }, function () {
      clearTimeout(timer);
      callback(0, null);
    });
  }

  /* What to tell the student when the relay refused what they sent, or did not answer:
   * one of the page's data-msg-* texts (msg is the dataset that holds them). */
  var PROBLEMS = {
    0: 'msgOffline', 404: 'msgNoMatch', 409: 'msgFull', 413: 'msgTooLong', 422: 'msgOutdated',
    429: 'msgBusy', 507: 'msgNotSentFull'
  };

  function sendProblem(statusCode, msg) {
    if (statusCode === 507) showInboxFull();
    return msg[PROBLEMS[statusCode]] || msg.msgNotSent;
  }

  /* The school's inbox is full (507): the line above the hotline's numbers, which are
   * always on the page, and the student taken there. */
  function showInboxFull() {
    var help = document.getElementById('help');
    document.getElementById('inbox-full').hidden = false;
    help.scrollIntoView();
    help.focus();
  }

  window.QuietDoorPage = {
    onLeave: onLeave,
    leave: leave,
    started: start,
    whenCrypto: whenCrypto,
    request: request,
    sendProblem: sendProblem
  };
})();
