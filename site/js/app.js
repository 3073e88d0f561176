/* Quiet Door landing page: the form, sending, and what the student reads after.
 *
 * Inline after page.js (which provides window.QuietDoorPage), so the form works
 * while the crypto libraries are still on their way. Nothing is stored: no
 * cookie, no web storage, no draft. Localised text comes from data-msg-*
 * attributes of #report-data (after the form, so none of it comes before the text
 * box); the school's keys, the relay and the read hours from data-* too.
 */
(function () {
  'use strict';

  var page = window.QuietDoorPage;
  page.started();
  var form = document.getElementById('report');
  var what = document.getElementById('what');
  var more = document.getElementById('more');
  var whatError = document.getElementById('what-error');
  var formError = document.getElementById('form-error');
  var status = document.getElementById('status');
  var send = document.getElementById('send');
  var unsafeNote = document.getElementById('unsafe-note');
  var result = document.getElementById('result');
  var caseCode = document.getElementById('case-code');
  var nextRead = document.getElementById('next-read');
  var config = document.getElementById('report-data').dataset;

  /* The last sealed envelope and what it holds: a retry with the same words posts the
   * same bytes, which the relay stores once (it keys envelopes by nonce). */
  var pending = null;
  var sending = false;
  /* The proof of work the relay asks for, started when the student starts typing
   * (not at page load: a page view stays invisible to the relay). site/js/proof.js */
  var proof = null;

  function startProof() {
    if (!window.QuietDoorProof) return null;
    if (!window.QuietDoorProof.fresh(proof)) proof = window.QuietDoorProof.start(config.relay, config.school);
    return proof;
  }

  /* Calls back with the X-QD-Proof header's value ('' if there is none to give). */
  function withProof(callback) {
    var handle = startProof();
    if (!handle) return callback('');
    handle.busy.then(function (busy) { if (busy && sending) status.textContent = config.msgKeepOpen; });
    handle.ready.then(callback, function () { callback(''); });
  }

  function clearForm() {
    form.reset();
    what.value = '';
    more.value = '';
    showWhatError(false);
    formError.textContent = '';
    status.textContent = '';
    unsafeNote.hidden = true;
    send.textContent = config.msgSend;
    pending = null;
  }

  page.onLeave(function () {
    clearForm();
    caseCode.textContent = '';
    nextRead.textContent = '';
    result.hidden = true;
    form.hidden = false;
  });

  // --- the form --------------------------------------------------------------

  send.disabled = false;

  // Say at once if the crypto did not arrive, before the student writes it all out.
  page.whenCrypto(function (qd) {
    if (!qd) formError.textContent = config.msgNotLoaded;
  });

  form.addEventListener('change', function (event) {
    if (event.target.name === 'safe_now') unsafeNote.hidden = event.target.value !== 'no';
  });

  what.addEventListener('input', function () {
    if (what.value.trim()) showWhatError(false);
    startProof();
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

  function fail(message) {
    sending = false;
    send.disabled = false;
    send.textContent = config.msgTryAgain;
    status.textContent = '';
    formError.textContent = message;
  }

  function succeed(code) {
    clearForm();
    sending = false;
    send.disabled = false;
    form.hidden = true;
    caseCode.textContent = code;
    try {
      nextRead.textContent = nextReadText(new Date());
    } catch (error) {
      nextRead.textContent = ''; // a browser without the time zone: the hours above still say it
    }
    result.hidden = false;
    // Focus alone centres a section taller than the screen, its heading out of sight or
    // under the sticky bar; its top goes to the top instead, below the bar (scroll-padding).
    result.focus({ preventScroll: true });
    result.scrollIntoView({ block: 'start' });
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
    var waited = page.whenCrypto(function (qd) {
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
      var sent = pending;
      function post(header, retried) {
        var headers = { 'Content-Type': 'application/json' };
        if (header) headers['X-QD-Proof'] = header;
        // Opt-in (config urgent_hint): one bit beside the envelope, so the relay alerts
        // whoever is on call at once. Nothing else of what the student wrote leaves sealed.
        if (config.urgentHint === '1' && current.safe_now === 'no') headers['X-QD-Urgent'] = '1';
        page.request(config.relay + '/api/v1/cases', {
          method: 'POST',
          headers: headers,
          body: sent.body
        }, function (statusCode) {
          if (statusCode === 201 || statusCode === 200) succeed(sent.code);
          else if (statusCode === 428 && !retried) {
            // The proof expired or the school got busier: a new one, the same envelope.
            proof = null;
            withProof(function (again) { post(again, true); });
          } else fail(page.sendProblem(statusCode, config));
        });
      }
      withProof(function (header) { post(header, false); });
    });
    if (waited) status.textContent = config.msgGettingReady;
  });

  // --- when the school reads it ----------------------------------------------

  var WEEKDAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];

  function minutes(hhmm) {
    return parseInt(hhmm.slice(0, 2), 10) * 60 + parseInt(hhmm.slice(3), 10);
  }

  /* The day (0 = Monday) and minute of the day at `date` in the school's time zone. */
  function schoolClock(date) {
    var parts = {};
    new Intl.DateTimeFormat('en-US', {
      timeZone: config.timezone, weekday: 'short', hour: '2-digit', minute: '2-digit',
      hourCycle: 'h23'
    }).formatToParts(date).forEach(function (part) { parts[part.type] = part.value; });
    return {
      day: WEEKDAYS.indexOf(parts.weekday),
      minute: (parseInt(parts.hour, 10) % 24) * 60 + parseInt(parts.minute, 10)
    };
  }

  /* "The next time is tomorrow after 7:30 a.m.", from the school's read hours. */
  function nextReadText(date) {
    if (!config.readDays) return '';
    var days = config.readDays.split(' ').map(Number);
    var start = minutes(config.readStart);
    var end = minutes(config.readEnd);
    var now = schoolClock(date);
    if (days.indexOf(now.day) >= 0) {
      if (now.minute >= start && now.minute < end) return config.msgNextNow;
      if (now.minute < start) return config.msgNextToday;
    }
    for (var ahead = 1; ahead <= 7; ahead++) {
      var day = (now.day + ahead) % 7;
      if (days.indexOf(day) < 0) continue;
      if (ahead === 1) return config.msgNextTomorrow;
      return config.msgNextDay.replace('{day}', config.dayNames.split(',')[day]);
    }
    return '';
  }
})();
