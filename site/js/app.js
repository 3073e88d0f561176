/* Quiet Door landing page: the form, sending, and the quick exit.
 *
 * Loaded first of the page's deferred scripts, so the form and the quick exit
 * work while the crypto libraries are still on their way. Nothing is stored:
 * no cookie, no web storage, no draft. Localised text comes from data-msg-*
 * attributes on the form; the school's keys and the relay from data-* too.
 */
(function () {
  'use strict';

  var form = document.getElementById('report');
  var exitLink = document.getElementById('quick-exit');
  var what = document.getElementById('what');
  var more = document.getElementById('more');
  var whatError = document.getElementById('what-error');
  var formError = document.getElementById('form-error');
  var status = document.getElementById('status');
  var send = document.getElementById('send');
  var unsafeNote = document.getElementById('unsafe-note');
  var result = document.getElementById('result');
  var caseCode = document.getElementById('case-code');
  var config = form.dataset;
  var SEND_TIMEOUT_MS = 45000;
  var SHIFT_PRESSES = 3;
  var SHIFT_WINDOW_MS = 1500;

  /* The last sealed envelope and what it holds: a retry with the same words posts the
   * same bytes, which the relay stores once (it keys envelopes by nonce). */
  var pending = null;
  var sending = false;

  function clearAll() {
    form.reset();
    what.value = '';
    more.value = '';
    showWhatError(false);
    caseCode.textContent = '';
    formError.textContent = '';
    status.textContent = '';
    unsafeNote.hidden = true;
    send.textContent = config.msgSend;
    pending = null;
  }

  // --- quick exit ------------------------------------------------------------

  function leave(event) {
    if (event) event.preventDefault();
    clearAll();
    result.hidden = true;
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

  // Leaving any other way (a language link, Back) clears the page too, so the copy the
  // browser may keep for its Back button shows nobody what was written.
  window.addEventListener('pagehide', function () {
    clearAll();
    result.hidden = true;
    form.hidden = false;
  });

  // --- the form --------------------------------------------------------------

  send.disabled = false;

  form.addEventListener('change', function (event) {
    if (event.target.name === 'safe_now') unsafeNote.hidden = event.target.value !== 'no';
  });

  what.addEventListener('input', function () {
    if (what.value.trim()) showWhatError(false);
  });

  function showWhatError(show) {
    whatError.hidden = !show;
    if (show) {
      what.setAttribute('aria-invalid', 'true');
      what.setAttribute('aria-describedby', 'what-hint what-error');
    } else {
      what.removeAttribute('aria-invalid');
      what.setAttribute('aria-describedby', 'what-hint');
    }
  }

  function answers() {
    var checked = form.querySelector('input[name="safe_now"]:checked');
    return { what: what.value, safe_now: checked ? checked.value : '', more: more.value };
  }

  /* Calls back with the envelope library, or null if a script failed to load. */
  function whenReady(callback) {
    function ready() {
      return window.QuietDoorEnvelope && window.nacl && window.blakejs;
    }
    if (ready()) return callback(window.QuietDoorEnvelope(window.nacl, window.blakejs));
    if (document.readyState === 'complete') return callback(null);
    status.textContent = config.msgGettingReady;
    window.addEventListener('load', function () { whenReady(callback); }, { once: true });
  }

  function fail(message) {
    sending = false;
    send.disabled = false;
    send.textContent = config.msgTryAgain;
    status.textContent = '';
    formError.textContent = message;
  }

  function succeed(code) {
    clearAll();
    sending = false;
    send.disabled = false;
    form.hidden = true;
    caseCode.textContent = code;
    result.hidden = false;
    result.focus();
  }

  function errorFor(statusCode) {
    if (statusCode === 413) return config.msgTooLong;
    if (statusCode === 422) return config.msgOutdated;
    if (statusCode === 429) return config.msgBusy;
    return config.msgNotSent;
  }

  function post(body, code) {
    var controller = new AbortController();
    var timer = setTimeout(function () { controller.abort(); }, SEND_TIMEOUT_MS);
    fetch(config.relay + '/api/v1/cases', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: body,
      credentials: 'omit',
      referrerPolicy: 'no-referrer',
      cache: 'no-store',
      signal: controller.signal
    }).then(function (response) {
      clearTimeout(timer);
      if (response.status === 201) succeed(code);
      else fail(errorFor(response.status));
    }, function () {
      clearTimeout(timer);
      fail(config.msgOffline);
    });
  }

  form.addEventListener('submit', function (event) {
    event.preventDefault();
    if (sending) return;
    formError.textContent = '';
    var current = answers();
    if (!current.what.trim()) {
      showWhatError(true);
      what.focus();
      return;
    }
    sending = true;
    send.disabled = true;
    whenReady(function (qd) {
      if (!qd) return fail(config.msgNotLoaded);
      var key = JSON.stringify(current);
      if (!pending || pending.key !== key) {
        var report;
        try {
          report = qd.newReport(config.school, config.lang, config.recipients.split(' '),
            current, new Date());
        } catch (error) {
          fail(error.code === 'too_long' ? config.msgTooLong : config.msgNotSent);
          return;
        }
        pending = { key: key, code: report.caseCode, body: JSON.stringify(report.body) };
      }
      status.textContent = config.msgSending;
      post(pending.body, pending.code);
    });
  });
})();
