/* Quiet Door case page: open a conversation with its case code, read it, add to it.
 *
 * Inline after page.js (window.QuietDoorPage), allowed by its hash in the page's
 * policy: it waits for the crypto with page.whenCrypto; it tells page.js it ran
 * (page.started), and if it never does (a relay whose policy lacks its hash),
 * page.js says the page did not load. The case code is turned into the
 * case's keys at once and the typed code is wiped; keys and thread live only in
 * this tab's memory and are wiped on the quick exit, on "Close", and when the
 * page is left or the tab closed. Nothing is stored: no cookie, no web storage.
 * Every message is opened and checked by envelope.js (readCase): a message of
 * the student's that does not open, does not belong to this school and case, or
 * that the code's keys do not prove is not shown (one line says so); a school's
 * message whose signer is not in data-signers is shown, marked.
 * Text is only ever set with textContent. Localised text comes from data-msg-*
 * attributes of #case-data (and data-calendar, the day names of a language Intl lacks),
 * the school's keys and the relay from its other data-*.
 */
(function () {
  'use strict';

  var page = window.QuietDoorPage;
  page.started();
  var config = document.getElementById('case-data').dataset;
  var codeForm = document.getElementById('code-form');
  var codeInput = document.getElementById('code');
  var codeError = document.getElementById('code-error');
  var codeStatus = document.getElementById('code-status');
  var openButton = document.getElementById('open');
  var entry = document.getElementById('entry');
  var thread = document.getElementById('thread');
  var list = document.getElementById('messages');
  var unreadable = document.getElementById('unreadable');
  var v1Note = document.getElementById('v1-note');
  var readState = document.getElementById('read-state');
  var threadStatus = document.getElementById('thread-status');
  var refreshButton = document.getElementById('refresh');
  var closeButton = document.getElementById('close');
  var addForm = document.getElementById('add-form');
  var addText = document.getElementById('add-text');
  var addError = document.getElementById('add-error');
  var addStatus = document.getElementById('add-status');
  var addButton = document.getElementById('add-send');

  var open = null; // {qd, keys, caseId}: the case this tab has open, and the id it was found by
  var pending = null; // the last sealed update, resent as it is on "Try again"
  var busy = false;
  var signers = readSigners(config.signers);

  /* The school's staff keys, [{key, until}], as the builder wrote them; none if damaged. */
  function readSigners(text) {
    try {
      var list = JSON.parse(text);
      return Array.isArray(list) ? list.filter(function (s) {
        return s && typeof s.key === 'string' && (s.until === null || typeof s.until === 'string');
      }) : [];
    } catch (error) {
      return [];
    }
  }

  // --- opening a case --------------------------------------------------------

  openButton.disabled = false;

  page.whenCrypto(function (qd) {
    if (!qd) showCodeError(config.msgNotLoaded);
  });

  codeInput.addEventListener('input', function () {
    if (codeInput.getAttribute('aria-invalid')) showCodeError('');
  });

  function showCodeError(message) {
    codeError.textContent = message;
    if (message) codeInput.setAttribute('aria-invalid', 'true');
    else codeInput.removeAttribute('aria-invalid');
  }

  codeForm.addEventListener('submit', function (event) {
    event.preventDefault();
    if (busy) return;
    showCodeError('');
    var typed = codeInput.value;
    if (!typed.trim()) {
      showCodeError(config.msgCodeMissing);
      codeInput.focus();
      return;
    }
    busy = true;
    openButton.disabled = true;
    var waited = page.whenCrypto(function (qd) {
      if (!qd) return openFailed(config.msgNotLoaded);
      var keys;
      try {
        keys = qd.deriveCase(qd.normaliseCaseCode(typed));
      } catch (error) {
        return openFailed(config.msgCodeFormat);
      }
      codeStatus.textContent = config.msgOpening;
      load(qd, keys, function (problem) {
        if (problem) {
          wipeKeys(keys);
          return openFailed(problem);
        }
        busy = false;
        openButton.disabled = false;
        codeStatus.textContent = '';
        codeInput.value = ''; // the keys are enough from here on
        entry.hidden = true;
        thread.hidden = false;
        // The conversation at the top of the screen (the help stays just above it).
        thread.scrollIntoView({ block: 'start' });
        thread.focus({ preventScroll: true });
      });
    });
    if (waited) codeStatus.textContent = config.msgGettingReady;
  });

  function openFailed(message) {
    busy = false;
    openButton.disabled = false;
    codeStatus.textContent = '';
    showCodeError(message);
    codeInput.focus();
  }

  /* The case id the relay says it found: the code's version-2 id, or its version-1 id for
   * a case opened before version 2. Anything else is no case of this code. */
  function matchedId(qd, keys, body) {
    if (body.case_id === qd.b64uEncode(keys.caseId)) return keys.caseId;
    if (body.case_id === qd.b64uEncode(keys.caseIdV1)) return keys.caseIdV1;
    return null;
  }

  /* Ask the relay for the case (by both ids, one request) and show it; calls back with a
   * message to show if it could not. A case of another school is answered exactly like a
   * code that matches nothing. */
  function load(qd, keys, done) {
    page.request(config.relay + '/api/v1/case', { headers: qd.lookupHeaders(keys) },
      function (statusCode, body) {
        var caseId = statusCode === 200 && body && body.school === config.school &&
          Array.isArray(body.messages) ? matchedId(qd, keys, body) : null;
        if (caseId) {
          if (open && open.keys !== keys) wipeKeys(open.keys);
          open = { qd: qd, keys: keys, caseId: caseId };
          show(qd.readCase(keys, config.school, caseId, body.messages, signers));
          return done('');
        }
        if (statusCode === 200 || statusCode === 404) return done(config.msgNoMatch);
        if (statusCode === 429) return done(config.msgTooManyTries);
        if (statusCode === 0) return done(config.msgOffline);
        return done(config.msgNotOpened);
      });
  }

  // --- showing the thread ----------------------------------------------------

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text) node.textContent = text;
    return node;
  }

  /* What someone wrote, in whatever language and direction they wrote it. */
  function written(text) {
    var node = element('p', 'text', text);
    node.dir = 'auto';
    return node;
  }

  /* A formatter in the school's time zone; in the phone's own if the browser does not know
   * the zone (an old browser), rather than showing nothing. */
  function zoned(locale, options) {
    try {
      return new Intl.DateTimeFormat(locale, Object.assign({ timeZone: config.timezone }, options));
    } catch (error) {
      return new Intl.DateTimeFormat(locale, options);
    }
  }

  /* The page's own day and month names (data-calendar, from its translation file) for a
   * language Intl has no words for; null where the page asks Intl. */
  var calendar = readCalendar(config.calendar);

  function readCalendar(text) {
    try {
      var words = JSON.parse(text || 'null');
      return words && Array.isArray(words.days) && words.days.length === 7 &&
        Array.isArray(words.months) && words.months.length === 12 &&
        typeof words.date === 'string' ? words : null;
    } catch (error) {
      return null;
    }
  }

  /* The day of a message in the school's time zone: "today", "Tuesday" within the last
   * week, "Tuesday, November 28" before that. */
  function day(sent) {
    var date = new Date(sent);
    var numeric = zoned('en-US', { year: 'numeric', month: 'numeric', day: 'numeric' });
    function schoolDay(d) {
      var parts = {};
      numeric.formatToParts(d).forEach(function (p) { parts[p.type] = p.value; });
      return { year: +parts.year, month: +parts.month, day: +parts.day };
    }
    function dayNumber(d) {
      return Date.UTC(d.year, d.month - 1, d.day) / 86400000;
    }
    var when = schoolDay(date);
    var ago = dayNumber(schoolDay(new Date())) - dayNumber(when);
    if (ago === 0) return { today: true, text: config.msgToday };
    var recent = ago > 0 && ago < 7;
    if (calendar) return { today: false, text: ownWords(when, recent) };
    var options = recent ? { weekday: 'long' } :
      { weekday: 'long', month: 'long', day: 'numeric' };
    return { today: false, text: zoned(document.documentElement.lang, options).format(date) };
  }

  /* A school day in the file's words: the day's name, or the calendar's date pattern. */
  function ownWords(when, recent) {
    var monday = (new Date(Date.UTC(when.year, when.month - 1, when.day)).getUTCDay() + 6) % 7;
    var weekday = calendar.days[monday];
    if (recent) return weekday;
    return calendar.date.split('{weekday}').join(weekday).split('{day}').join(String(when.day))
      .split('{month}').join(calendar.months[when.month - 1]);
  }

  function meta(who, sent) {
    var line = element('p', 'meta');
    line.appendChild(element('strong', '', who));
    line.appendChild(document.createTextNode(' · ' + day(sent).text));
    return line;
  }

  var SAFE = { yes: 'msgSafeYes', no: 'msgSafeNo', unsure: 'msgSafeUnsure' };

  function messageItem(payload, recognised) {
    var mine = payload.kind !== 'reply';
    var item = element('li', mine ? 'message from-me' :
      recognised ? 'message from-school' : 'message from-unknown');
    item.appendChild(meta(mine ? config.msgYou : recognised ? config.msgSchool :
      config.msgSenderUnknown, payload.sent));
    if (payload.kind === 'report') {
      var answers = payload.answers;
      item.appendChild(written(answers.what));
      if (answers.safe_now) {
        var safe = element('p', 'answer');
        safe.appendChild(element('span', 'question', config.msgSafeQuestion + ' '));
        safe.appendChild(document.createTextNode(config[SAFE[answers.safe_now]]));
        item.appendChild(safe);
      }
      if (answers.more) {
        item.appendChild(element('p', 'question', config.msgMoreQuestion));
        item.appendChild(written(answers.more));
      }
    } else {
      item.appendChild(written(payload.text));
    }
    return item;
  }

  function receiptItem(payload, recognised) {
    var when = day(payload.sent);
    var text = when.today ? config.msgReadToday : config.msgReadOn.replace('{day}', when.text);
    if (!recognised) return element('li', 'receipt from-unknown', text + ' (' + config.msgSenderUnknown + ')');
    return element('li', 'receipt', text);
  }

  /* read: what envelope.js readCase returns. */
  function show(read) {
    list.textContent = '';
    var unread = false;
    var lastWasReceipt = false;
    read.messages.forEach(function (message) {
      var payload = message.payload;
      if (payload.kind === 'receipt') {
        // Colleagues' receipts: once. One whose signer is not known is shown, and proves nothing.
        if (!lastWasReceipt || !message.recognised) list.appendChild(receiptItem(payload, message.recognised));
        lastWasReceipt = message.recognised;
        unread = unread && !message.recognised;
        return;
      }
      lastWasReceipt = false;
      if (payload.kind !== 'reply') unread = true;
      list.appendChild(messageItem(payload, message.recognised));
    });
    readState.textContent = unread ? config.msgNotReadYet : '';
    readState.hidden = !unread;
    unreadable.hidden = read.unverified === 0;
    v1Note.hidden = !read.v1;
  }

  /* Every value of a case's keys is bytes: zero them all. */
  function wipeKeys(keys) {
    Object.keys(keys).forEach(function (name) { keys[name].fill(0); });
  }

  function closeCase() {
    if (open) wipeKeys(open.keys);
    open = null;
    pending = null;
    busy = false;
    list.textContent = '';
    readState.textContent = '';
    threadStatus.textContent = '';
    unreadable.hidden = true;
    v1Note.hidden = true;
    addForm.reset();
    addText.value = '';
    addError.textContent = '';
    addStatus.textContent = '';
    addButton.textContent = config.msgSend;
    addButton.disabled = false;
    codeInput.value = '';
    showCodeError('');
    codeStatus.textContent = '';
    openButton.disabled = false;
    thread.hidden = true;
    entry.hidden = false;
  }

  page.onLeave(closeCase);

  closeButton.addEventListener('click', function () {
    closeCase();
    codeInput.focus();
  });

  refreshButton.addEventListener('click', function () {
    if (!open || busy) return;
    threadStatus.textContent = config.msgOpening;
    load(open.qd, open.keys, function (problem) {
      threadStatus.textContent = problem || config.msgUpToDate;
    });
  });

  // --- adding a message ------------------------------------------------------

  function addFailed(message) {
    busy = false;
    addButton.disabled = false;
    addButton.textContent = config.msgTryAgain;
    addStatus.textContent = '';
    addError.textContent = message;
  }

  addText.addEventListener('input', function () {
    if (addText.value.trim()) addError.textContent = '';
  });

  addForm.addEventListener('submit', function (event) {
    event.preventDefault();
    if (busy || !open) return;
    addError.textContent = '';
    var text = addText.value;
    if (!text.trim()) {
      addError.textContent = config.msgAddMissing;
      addText.focus();
      return;
    }
    var qd = open.qd;
    var keys = open.keys;
    if (!pending || pending.text !== text) {
      var envelope;
      try {
        envelope = qd.newUpdate(keys, open.caseId, config.school, config.lang,
          config.recipients.split(' '), text, new Date());
      } catch (error) {
        addError.textContent = error.code === 'too_long' ? config.msgTooLong : config.msgNotSent;
        return;
      }
      pending = { text: text, body: JSON.stringify(envelope) };
    }
    busy = true;
    addButton.disabled = true;
    addStatus.textContent = config.msgSending;
    var headers = qd.caseHeaders(keys, open.caseId);
    headers['Content-Type'] = 'application/json';
    page.request(config.relay + '/api/v1/case/messages', {
      method: 'POST', headers: headers, body: pending.body
    }, function added(statusCode) {
      if (statusCode === 428 && !headers['X-QD-Proof'] && window.QuietDoorProof) {
        // The school is busy: the relay asks for a proof of work (site/js/proof.js).
        var proof = window.QuietDoorProof.start(config.relay, config.school);
        proof.busy.then(function (isBusy) { if (isBusy) addStatus.textContent = config.msgKeepOpen; });
        proof.ready.then(function (header) {
          headers['X-QD-Proof'] = header;
          page.request(config.relay + '/api/v1/case/messages', {
            method: 'POST', headers: headers, body: pending.body
          }, added);
        }, function () { addFailed(config.msgNotSent); });
        return;
      }
      if (statusCode !== 201 && statusCode !== 200) {
        return addFailed(page.sendProblem(statusCode, config));
      }
      pending = null;
      addForm.reset();
      addText.value = '';
      addButton.textContent = config.msgSend;
      load(qd, keys, function () {
        busy = false;
        addButton.disabled = false;
        addStatus.textContent = config.msgAdded;
      });
    });
  });
})();
