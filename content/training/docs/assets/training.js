/* Quiet Door staff training: knowledge checks, the checks before and after the course,
 * progress on this device, the encrypted completion record and the certificate.
 * No third-party code; the crypto comes from the same vendored, integrity-checked
 * files the student pages use. */
(function () {
  'use strict';

  var STORE = 'quietdoor.training';
  var SLUG = /^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/;
  var MIN_ACK_WORDS = 10;
  /* This language's pages; the course's data (course.json, the schools) is the English
   * course's, whose translations sit one folder below it (training/es/). */
  var site = new URL('..', document.currentScript.src);
  var root = document.documentElement.lang === 'en' ? site : new URL('..', site);

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === 'text') node.textContent = attrs[k];
      else node.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) { node.appendChild(c); });
    return node;
  }

  function isoDate(d) {
    var pad = function (n) { return (n < 10 ? '0' : '') + n; };
    return d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' + pad(d.getDate());
  }

  function today() { return isoDate(new Date()); }

  /* A date (YYYY-MM-DD) within the last `months` months: the current training cycle. */
  function inCycle(date, months) {
    var start = new Date();
    start.setMonth(start.getMonth() - months);
    return !!date && date >= isoDate(start);
  }

  function loadProgress() {
    var stored;
    try { stored = JSON.parse(localStorage.getItem(STORE)) || {}; } catch (e) { stored = {}; }
    if (!stored.modules) {  /* progress saved before the tests existed: module ids at the top */
      var modules = {};
      Object.keys(stored).forEach(function (k) { if (/^m\d\d$/.test(k)) modules[k] = stored[k]; });
      stored = { modules: modules, tests: {} };
    }
    stored.tests = stored.tests || {};
    var post = stored.tests.post;
    if (post && !post.first) stored.tests.post = { first: post };  /* kept before the pass mark */
    return stored;
  }

  /* Time on task: the seconds a module's page is in view, added up over visits. */
  var MAX_SECONDS = 86400;
  function timeOnPage(moduleId) {
    var since = document.visibilityState === 'visible' ? Date.now() : 0;
    function bank() {
      if (!since) return;
      var progress = loadProgress();
      progress.time = progress.time || {};
      var spent = (progress.time[moduleId] || 0) + Math.round((Date.now() - since) / 1000);
      progress.time[moduleId] = Math.min(MAX_SECONDS, spent);
      saveProgress(progress);
      since = 0;
    }
    document.addEventListener('visibilitychange', function () {
      if (document.visibilityState === 'visible') since = Date.now(); else bank();
    });
    window.addEventListener('pagehide', bank);
    return bank;
  }

  function saveProgress(progress) {
    try { localStorage.setItem(STORE, JSON.stringify(progress)); } catch (e) { /* private mode */ }
  }

  function samePage(path) {
    var strip = function (p) { return p.replace(/index\.html$/, ''); };
    return strip(new URL(path, site).pathname) === strip(location.pathname);
  }

  function fetchJSON(path) {
    return fetch(new URL(path, root).href).then(function (answer) {
      if (!answer.ok) throw new Error('could not load ' + path);
      return answer.json();
    });
  }

  /* A different order on every visit, so that the place of the right answer tells nothing. */
  function shuffled(items) {
    var out = items.slice();
    var random = new Uint32Array(out.length);
    window.crypto.getRandomValues(random);
    for (var i = out.length - 1; i > 0; i--) {
      var j = random[i] % (i + 1);
      var t = out[i]; out[i] = out[j]; out[j] = t;
    }
    return out;
  }

  /* ```quiz blocks: "? question", "+ right" / "- wrong" options, "= feedback". */
  function parseQuiz(text) {
    var q = { text: '', options: [] };
    text.split('\n').forEach(function (raw) {
      var line = raw.trim();
      var mark = line.charAt(0);
      var rest = line.slice(1).trim();
      if (mark === '?') q.text = rest;
      else if (mark === '+' || mark === '-') q.options.push({ text: rest, correct: mark === '+', feedback: '' });
      else if (mark === '=' && q.options.length) q.options[q.options.length - 1].feedback = rest;
    });
    return q;
  }

  /* A module's knowledge check is practice: when every question has a first answer, the
   * module is marked as done (once per version); returns the summary. */
  function recordResult(page, course, score, total) {
    var progress = loadProgress();
    var intro = 'You answered ' + score + ' of ' + total + ' correctly on the first try. ';
    var kept = progress.modules[page.module.id];
    if (kept && kept.version === page.module.version) {
      return 'You answered ' + score + ' of ' + total + '. This was practice: the module was ' +
        'already marked as done on ' + kept.completed_on + '.';
    }
    progress.modules[page.module.id] = {
      version: page.module.version, score: score, questions: total, completed_on: today()
    };
    saveProgress(progress);
    return intro + 'This module is marked as done on this device.';
  }
  function renderQuizzes(page, course) {
    var blocks = Array.prototype.slice.call(
      document.querySelectorAll('pre.quiz > code, div.language-quiz, pre > code.language-quiz'));
    if (!blocks.length) return;
    var results = new Array(blocks.length);
    var summary = el('p', { 'class': 'qd-summary', role: 'status' });
    blocks.forEach(function (block, index) {
      var container = block.tagName === 'CODE' ? block.parentNode : block;
      var q = parseQuiz(block.textContent);
      var name = 'qd-q' + index;
      var feedback = el('p', { 'class': 'qd-feedback', 'aria-live': 'polite' });
      var fieldset = el('fieldset', { 'class': 'qd-question' }, [
        el('legend', { text: (index + 1) + '. ' + q.text })
      ]);
      /* Each radio keeps the option's written position as its value, whatever order it shows in. */
      shuffled(q.options.map(function (option, i) { return { option: option, i: i }; }))
        .forEach(function (item, shown) {
          var id = name + '-' + shown;
          fieldset.appendChild(el('div', { 'class': 'qd-option' }, [
            el('input', { type: 'radio', name: name, id: id, value: String(item.i) }),
            el('label', { 'for': id, text: item.option.text })
          ]));
        });
      var check = el('button', { type: 'submit', 'class': 'md-button md-button--primary',
        text: 'Check my answer' });
      var form = el('form', { 'class': 'qd-quiz', novalidate: '' }, [fieldset, check, feedback]);
      form.addEventListener('submit', function (event) {
        event.preventDefault();
        var chosen = form.querySelector('input[name="' + name + '"]:checked');
        if (!chosen) {
          feedback.textContent = 'Choose an answer first.';
          return;
        }
        var option = q.options[Number(chosen.value)];
        feedback.className = 'qd-feedback ' + (option.correct ? 'qd-right' : 'qd-wrong');
        feedback.textContent = (option.correct ? 'Correct. ' : 'Not quite. ') + option.feedback;
        if (results[index] === undefined) results[index] = option.correct;
        var answered = results.filter(function (r) { return r !== undefined; }).length;
        if (answered === results.length && page && !summary.textContent) {
          summary.textContent = recordResult(page, course, results.filter(Boolean).length,
            results.length);
        }
      });
      container.parentNode.replaceChild(form, container);
      if (index === blocks.length - 1) form.parentNode.insertBefore(summary, form.nextSibling);
    });
  }

  /* The scored tests (before the course, final check): one item per skill, drawn from the
   * bank in items.json so that a retake or a refresher sees other items. No feedback per
   * question: the score and the skills to revisit come after submission. Each item's key
   * is a digest of its id and its right option, compared with the chosen one's. */
  function digest(text) {
    return window.crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)).then(function (b) {
      return Array.prototype.map.call(new Uint8Array(b), function (x) {
        return (x < 16 ? '0' : '') + x.toString(16);
      }).join('').slice(0, 24);
    });
  }

  function draw(bank, seen) {
    return bank.skills.map(function (skill) {
      var items = bank.items.filter(function (i) { return i.skill === skill.id; });
      var fresh = items.filter(function (i) { return seen.indexOf(i.id) < 0; });
      if (fresh.length) return shuffled(fresh)[0];
      return items.sort(function (a, b) { return seen.indexOf(a.id) - seen.indexOf(b.id); })[0];
    });
  }

  function passes(t, course) { return !!t && t.score * 100 >= course.pass_percent * t.questions; }

  function recordAttempt(page, course, attempt) {
    var progress = loadProgress();
    var months = course.refresher_months;
    var id = page.test.id;
    progress.seen = (progress.seen || []).filter(function (i) {
      return !attempt.answers.some(function (a) { return a.item === i; });
    }).concat(attempt.answers.map(function (a) { return a.item; }));
    var kept = progress.tests[id];
    var note;
    if (id === 'pre') {
      var started = Object.keys(progress.modules).some(function (m) {
        return inCycle(progress.modules[m].completed_on, months);
      });
      if (kept && inCycle(kept.taken_on, months)) {
        note = 'Your first attempt, on ' + kept.taken_on + ', is the one that counts.';
      } else if (started) {
        note = 'It is not recorded as your starting score, because you had already started the modules.';
      } else {
        progress.tests.pre = attempt;
        note = 'This is recorded on this device as your score before the course.';
      }
    } else {
      var post = kept && kept.first && inCycle(kept.first.taken_on, months) ? kept : {};
      post.first = post.first || attempt;
      if (!post.passed && passes(attempt, course)) post.passed = attempt;
      progress.tests.post = post;
      note = post.first === attempt ? 'This is recorded on this device as your first final check.'
        : 'Your first attempt, on ' + post.first.taken_on + ', stays in your record too.';
    }
    saveProgress(progress);
    return note;
  }

  function renderScored(page, course, mount) {
    fetchJSON('items.json').then(function (bank) {
      var skills = {};
      bank.skills.forEach(function (s) { skills[s.id] = s; });
      var items = draw(bank, loadProgress().seen || []);
      var fieldsets = items.map(function (item, index) {
        var name = 'qd-s' + index;
        var fieldset = el('fieldset', { 'class': 'qd-question' }, [
          el('legend', { text: (index + 1) + '. ' + item.text })]);
        shuffled(item.options.map(function (text, i) { return { text: text, i: i }; }))
          .forEach(function (option, shown) {
            var id = name + '-' + shown;
            fieldset.appendChild(el('div', { 'class': 'qd-option' }, [
              el('input', { type: 'radio', name: name, id: id, value: String(option.i) }),
              el('label', { 'for': id, text: option.text })]));
          });
        return fieldset;
      });
      var submit = el('button', { type: 'submit', 'class': 'md-button md-button--primary',
        text: 'Submit my answers' });
      var result = el('div', { 'class': 'qd-summary', role: 'status', id: 'qd-result' });
      var form = el('form', { 'class': 'qd-scored', novalidate: '' }, fieldsets.concat([submit]));
      mount.appendChild(el('p', { 'class': 'qd-help', text: items.length + ' questions. ' +
        (page.test.id === 'post' ? 'The pass mark is ' + course.pass_percent + '%. ' : '') +
        'You see your score when you submit.' }));
      mount.appendChild(form);
      mount.appendChild(result);
      form.addEventListener('submit', function (event) {
        event.preventDefault();
        var chosen = items.map(function (item, index) {
          var c = form.querySelector('input[name="qd-s' + index + '"]:checked');
          return c ? Number(c.value) : -1;
        });
        if (chosen.indexOf(-1) >= 0) {
          result.textContent = 'Please answer every question first (question ' +
            (chosen.indexOf(-1) + 1) + ' has no answer).';
          return;
        }
        submit.disabled = true;
        Promise.all(items.map(function (item, i) {
          return digest(item.id + '\n' + item.options[chosen[i]]).then(function (d) {
            return d === item.key;
          });
        })).then(function (right) {
          var attempt = {
            score: right.filter(Boolean).length, questions: items.length, taken_on: today(),
            skills_right: items.filter(function (it, i) { return right[i]; })
              .map(function (it) { return it.skill; }),
            answers: items.map(function (it, i) { return { item: it.id, chosen: chosen[i] }; })
          };
          form.hidden = true;
          showResult(page, course, attempt, items, right, skills, result);
        });
      });
    }).catch(function () {
      mount.textContent = 'The questions could not be loaded. Check your connection and reload the page.';
    });
  }

  function showResult(page, course, attempt, items, right, skills, result) {
    var note = recordAttempt(page, course, attempt);
    var percent = Math.round(100 * attempt.score / attempt.questions);
    var missed = items.filter(function (it, i) { return !right[i]; })
      .map(function (it) { return skills[it.skill]; });
    var titles = {};
    course.modules.forEach(function (m) { titles[m.id] = m; });
    result.textContent = '';
    result.appendChild(el('p', { text: 'You answered ' + attempt.score + ' of ' +
      attempt.questions + ' correctly (' + percent + '%). ' + note }));
    var post = page.test.id === 'post';
    if (post) {
      result.appendChild(el('p', { 'class': 'qd-pass', text: passes(attempt, course)
        ? 'You passed: the pass mark is ' + course.pass_percent + '%.'
        : 'This is below the pass mark of ' + course.pass_percent + '%. Read the modules below ' +
          'again, then take the check again. It asks other questions.' }));
    }
    if (missed.length) {
      result.appendChild(el('p', { text: post ? 'Skills to revisit:' : 'Skills to look at in the course:' }));
      result.appendChild(el('ul', { 'class': 'qd-revisit' }, missed.map(function (s) {
        var links = s.modules.filter(function (m) { return titles[m]; }).map(function (m) {
          return el('a', { href: new URL(titles[m].path, site).href, text: titles[m].title });
        });
        var item = el('li', { text: s.title + ': ' });
        links.forEach(function (a, i) {
          if (i) item.appendChild(document.createTextNode(', '));
          item.appendChild(a);
        });
        return item;
      })));
    }
    if (post && !passes(attempt, course)) {
      var again = el('button', { type: 'button', 'class': 'md-button', id: 'qd-retake',
        text: 'Take the final check again' });
      again.addEventListener('click', function () { location.reload(); });
      result.appendChild(again);
    }
  }

  function loadScript(script) {
    return new Promise(function (resolve, reject) {
      var s = el('script', { src: new URL(script.src, root).href, integrity: script.integrity,
        crossorigin: 'anonymous' });
      s.onload = resolve;
      s.onerror = function () { reject(new Error('could not load ' + script.src)); };
      document.head.appendChild(s);
    });
  }

  /* Where this device stands: modules done at their current version, and the two checks. */
  function standing(course) {
    var progress = loadProgress();
    var months = course.refresher_months;
    var done = [];
    var time = progress.time || {};
    var rows = course.modules.map(function (m) {
      var p = progress.modules[m.id];
      var state = 'not done yet';
      if (p && p.version === m.version) {
        state = 'done on ' + p.completed_on + ' (' + p.score + ' of ' + p.questions + ')';
        done.push({ id: m.id, version: p.version, score: p.score, questions: p.questions,
          completed_on: p.completed_on, seconds: Math.min(MAX_SECONDS, time[m.id] || 0) });
      } else if (p) {
        state = 'changed since you read it: please read it again';
      }
      return { title: m.title, path: m.path, state: state };
    });
    var tests = {};
    var pre = progress.tests.pre;
    var post = progress.tests.post;
    tests.pre = pre && inCycle(pre.taken_on, months) ? pre : null;
    tests.post = post && inCycle(post.first.taken_on, months) ? post.first : null;
    tests.passed = tests.post && post.passed && inCycle(post.passed.taken_on, months)
      ? post.passed : null;
    return {
      modules: done, rows: rows, pre: tests.pre, post: tests.post, passed: tests.passed,
      complete: done.length === course.modules.length && !!tests.passed
    };
  }

  /* The one place that builds a completion record's payload (see docs/PROTOCOL.md). */
  /* The training record's own fields (docs/PROTOCOL.md, kind "training"); the envelope code
   * adds the header (kind, school, case, message id, time) and the throwaway key the record
   * is sealed to and bound by (record_pk), and seals it. */
  function completionPayload(course, person, status, acknowledgment, day) {
    var payload = { person: person, state: course.state.code, modules: status.modules };
    if (course.version) payload.course_version = course.version;
    ['pre', 'post', 'passed'].forEach(function (id) {
      var t = status[id];
      if (t) payload[id === 'passed' ? 'post_passed' : id] = { score: t.score,
        questions: t.questions, taken_on: t.taken_on, skills_right: t.skills_right || [],
        answers: t.answers || [] };
    });
    if (status.complete) {
      payload.acknowledgment = { text: acknowledgment, on: day };
      payload.attestation = { text: attestationText(course, day), on: day,
        wording: course.state.code + '.' + course.state.version };
    }
    return payload;
  }

  /* The dated statement a staff member signs: the state's wording (its file's `attestation`),
   * in the page's language, for the day given (the school's day when it is known). */
  function attestationText(course, day) {
    var texts = course.state.attestation;
    return (texts[document.documentElement.lang] || texts.en).replace('{date}', day);
  }

  /* Today as the school's clock reads it (its IANA zone, from its entry). */
  function schoolDay(zone) {
    if (!zone) return today();
    var parts = {};
    new Intl.DateTimeFormat('en-US', { timeZone: zone, year: 'numeric', month: '2-digit',
      day: '2-digit' }).formatToParts(new Date()).forEach(function (p) { parts[p.type] = p.value; });
    return parts.year + '-' + parts.month + '-' + parts.day;
  }

  /* Credited minutes for a module: the time measured, at most the module's nominal time. */
  function credited(course, m) {
    var nominal = 0;
    course.modules.forEach(function (c) { if (c.id === m.id) nominal = c.minutes; });
    return Math.min(nominal, Math.floor((m.seconds || 0) / 60));
  }

  function option(value, text) { return el('option', { value: value, text: text }); }

  function fill(select, placeholder, items) {
    select.textContent = '';
    select.appendChild(option('', placeholder));
    items.forEach(function (item) { select.appendChild(option(item.slug, item.name)); });
  }

  /* District, then school: each list is loaded only when it is needed. */
  function schoolPicker(course, status) {
    var district = el('select', { id: 'qd-district', name: 'district' });
    var school = el('select', { id: 'qd-school', name: 'school', required: '', disabled: '' });
    var districtField = el('div', { 'class': 'qd-field' }, [
      el('label', { 'for': 'qd-district', text: 'Your district' }), district]);
    var schoolField = el('div', { 'class': 'qd-field' }, [
      el('label', { 'for': 'qd-school', text: 'Your school' }), school]);
    fill(district, 'Loading districts\u2026', []);
    fill(school, 'Choose your district first', []);

    function loadDistrict(slug) {
      school.disabled = true;
      fill(school, 'Loading schools\u2026', []);
      if (!SLUG.test(slug)) { fill(school, 'Choose your district first', []); return Promise.resolve(); }
      return fetchJSON(course.schools.district + slug + '.json').then(function (d) {
        fill(school, 'Choose your school', d.schools);
        school.disabled = false;
      }).catch(function () {
        fill(school, 'Choose your district first', []);
        status.textContent = 'The list of schools could not be loaded. Check your connection and try again.';
      });
    }

    district.addEventListener('change', function () { loadDistrict(district.value); });
    var ready = fetchJSON(course.schools.districts).then(function (index) {
      fill(district, 'Choose your district', index.districts);
      if (index.districts.length === 1) {
        district.value = index.districts[0].slug;
        districtField.hidden = true;
        return loadDistrict(district.value);
      }
    }).then(function () {
      /* A link from the lead can name the school: complete/?school=lincoln-high */
      var wanted = new URLSearchParams(location.search).get('school');
      if (!wanted || !SLUG.test(wanted)) return;
      return fetchJSON(course.schools.school + wanted + '.json').then(function (s) {
        district.value = s.district;
        return loadDistrict(s.district).then(function () { school.value = s.slug; });
      }).catch(function () { /* an unknown school in the link: the pickers still work */ });
    }).catch(function () {
      status.textContent = 'The list of districts could not be loaded. Check your connection and try again.';
    });
    return { fields: [districtField, schoolField], school: school, ready: ready };
  }

  function certificate(course, payload, schoolName, reference) {
    var titles = {};
    course.modules.forEach(function (m) { titles[m.id] = m.title; });
    var score = function (t) { return t ? t.score + ' of ' + t.questions + ' (' + t.taken_on + ')' : 'not taken'; };
    var total = 0;
    var table = el('table', {}, [
      el('thead', {}, [el('tr', {}, [
        el('th', { scope: 'col', text: 'Module' }), el('th', { scope: 'col', text: 'Version' }),
        el('th', { scope: 'col', text: 'Completed' }),
        el('th', { scope: 'col', text: 'Time on task' }),
        el('th', { scope: 'col', text: 'Credited' })])]),
      el('tbody', {}, payload.modules.map(function (m) {
        var minutes = credited(course, m);
        total += minutes;
        return el('tr', {}, [el('td', { text: titles[m.id] || m.id }), el('td', { text: m.version }),
          el('td', { text: m.completed_on }),
          el('td', { text: Math.round((m.seconds || 0) / 60) + ' min' }),
          el('td', { text: minutes + ' min' })]);
      }))
    ]);
    var print = el('button', { type: 'button', 'class': 'md-button md-button--primary qd-print',
      text: 'Print my certificate' });
    print.addEventListener('click', function () { window.print(); });
    document.documentElement.classList.add('qd-has-certificate');
    return el('section', { id: 'qd-certificate', 'aria-labelledby': 'qd-certificate-title' }, [
      el('h2', { id: 'qd-certificate-title', text: 'Certificate of completion' }),
      el('p', { 'class': 'qd-cert-name', text: payload.person.name }),
      el('p', { text: payload.person.role + ', ' + schoolName +
        (payload.person.staff_id ? ' (staff ID ' + payload.person.staff_id + ')' : '') }),
      el('p', { text: 'Provider: ' + (course.provider || 'not named') + '. Course version ' +
        (course.version || 'not named') + '.' }),
      el('p', { text: 'completed Quiet Door staff training on ' + payload.attestation.on + ', ' +
        (course.state.code === 'general' ? 'with the general text on reporting (no state set).'
          : 'with the reporting rules for ' + course.state.name + '.') }),
      table,
      el('p', { text: 'Credited time: ' + (total / 60).toFixed(2) + ' hours (for each module, ' +
        'the time measured on its page, at most its nominal time).' }),
      el('p', { text: 'Check before the course: ' + score(payload.pre) + '. Final check, ' +
        'first attempt: ' + score(payload.post) + '; passed with ' + score(payload.post_passed) +
        ' (pass mark ' + course.pass_percent + '%).' }),
      el('p', { text: 'Attestation, signed on ' + payload.attestation.on + ' (the school\u2019s ' +
        'date), in the wording for ' + course.state.name + ' (' + payload.attestation.wording + '):' }),
      el('blockquote', { 'class': 'qd-attestation', text: payload.attestation.text }),
      el('p', { text: 'In their own words:' }),
      el('blockquote', { text: payload.acknowledgment.text }),
      el('p', { 'class': 'qd-cert-ref', text: 'Record reference ' + reference.id +
        ', received by the school\u2019s relay on ' + reference.received +
        '. The school\u2019s training roster lists the same reference.' }),
      print
    ]);
  }

  function renderCompletion(course, mount) {
    var status = standing(course);
    var list = el('ul', { 'class': 'qd-progress' });
    var testRow = function (label, path, t) {
      return el('li', {}, [el('a', { href: new URL(path, site).href, text: label }),
        document.createTextNode(': ' + (t ? 'taken on ' + t.taken_on + ' (' + t.score + ' of ' +
          t.questions + ')' : 'not taken yet'))]);
    };
    list.appendChild(testRow('Before you start', course.tests.pre.path, status.pre));
    status.rows.forEach(function (r) {
      list.appendChild(el('li', {}, [el('a', { href: new URL(r.path, site).href, text: r.title }),
        document.createTextNode(': ' + r.state)]));
    });
    list.appendChild(testRow('Final check', course.tests.post.path, status.post));

    var message = el('p', { id: 'qd-status', role: 'status' });
    var name = el('input', { id: 'qd-name', name: 'name', autocomplete: 'name', required: '' });
    var role = el('input', { id: 'qd-role', name: 'role', required: '',
      placeholder: 'for example: teacher, counselor, bus driver' });
    var staffId = el('input', { id: 'qd-staff-id', name: 'staff_id', maxlength: '64',
      autocomplete: 'off' });
    var picker = schoolPicker(course, message);
    var fields = [
      el('div', { 'class': 'qd-field' }, [el('label', { 'for': 'qd-name', text: 'Your name' }), name]),
      el('div', { 'class': 'qd-field' }, [el('label', { 'for': 'qd-role', text: 'Your role' }), role]),
      el('div', { 'class': 'qd-field' }, [
        el('label', { 'for': 'qd-staff-id', text: 'Your staff ID (if your school uses one)' }), staffId])
    ].concat(picker.fields);
    var ack = null;
    var attest = null;
    if (status.complete) {
      attest = el('input', { type: 'checkbox', id: 'qd-attest', name: 'attest', required: '' });
      fields.push(el('div', { 'class': 'qd-field qd-attest' }, [attest,
        el('label', { 'for': 'qd-attest', text: attestationText(course, today()) })]));
      ack = el('textarea', { id: 'qd-ack', name: 'acknowledgment', rows: '4', required: '',
        maxlength: '1000', 'aria-describedby': 'qd-ack-help' });
      fields.push(el('div', { 'class': 'qd-field' }, [
        el('label', { 'for': 'qd-ack', text: 'Your acknowledgment' }),
        el('p', { id: 'qd-ack-help', 'class': 'qd-help', text: 'In a sentence or two, in your ' +
          'own words: confirm that you completed this course, and say how you would report a ' +
          'concern about a student at your school.' }),
        ack]));
    } else {
      fields.push(el('p', { 'class': 'qd-help', text: 'When you have finished every module and ' +
        'passed the final check, this page asks for your acknowledgment and gives you a certificate. ' +
        'Until then you can send your progress so far.' }));
    }
    var send = el('button', { type: 'submit', 'class': 'md-button md-button--primary',
      text: status.complete ? 'Send my completion record' : 'Send my progress so far' });
    var form = el('form', { id: 'qd-completion-form', novalidate: '' }, fields.concat([send]));
    mount.appendChild(list);
    mount.appendChild(form);
    mount.appendChild(message);

    form.addEventListener('submit', function (event) {
      event.preventDefault();
      var slug = picker.school.value;
      if (!name.value.trim() || !role.value.trim() || !slug) {
        message.textContent = 'Please fill in your name, role and school.';
        return;
      }
      if (!status.modules.length) {
        message.textContent = 'Finish at least one module\u2019s knowledge check first.';
        return;
      }
      if (attest && !attest.checked) {
        message.textContent = 'Please tick the attestation to sign it.';
        attest.focus();
        return;
      }
      var words = ack ? ack.value.trim().split(/\s+/).filter(Boolean).length : 0;
      if (ack && words < MIN_ACK_WORDS) {
        message.textContent = 'Please write your acknowledgment in your own words: at least ' +
          MIN_ACK_WORDS + ' words.';
        ack.focus();
        return;
      }
      var person = { name: name.value.trim(), role: role.value.trim(), school: slug };
      if (staffId.value.trim()) person.staff_id = staffId.value.trim();
      var payload = null;
      var target = null;
      send.disabled = true;
      message.textContent = 'Sending\u2026';
      fetchJSON(course.schools.school + slug + '.json')
        .then(function (s) {
          target = s;
          var day = schoolDay(s.timezone);
          var label = attest && form.querySelector('label[for="qd-attest"]');
          if (label && label.textContent !== attestationText(course, day)) {
            /* The school's day is not this device's: sign only what was shown. */
            label.textContent = attestationText(course, day);
            attest.checked = false;
            throw new Error('the date is ' + day + ' at your school; read the attestation ' +
              'again and tick it');
          }
          payload = completionPayload(course, person, status, ack ? ack.value.trim() : '', day);
          return course.scripts.reduce(function (p, script) {
            return p.then(function () { return loadScript(script); });
          }, Promise.resolve());
        })
        .then(function () {
          // The relay's proof of work (site/js/proof.js), as for a student's report.
          return window.QuietDoorProof.start(course.relay_url, slug).ready;
        })
        .then(function (proof) {
          var qd = window.QuietDoorEnvelope(window.nacl, window.blakejs);
          var body = qd.newTraining(slug, target.recipients, payload, new Date());
          return fetch(course.relay_url + '/api/v1/cases', {
            method: 'POST', body: JSON.stringify(body), credentials: 'omit',
            headers: { 'content-type': 'application/json', 'x-qd-proof': proof },
            referrerPolicy: 'no-referrer'
          });
        })
        .then(function (answer) {
          return answer.json().then(function (body) {
            if (answer.status !== 201 && answer.status !== 200) throw new Error(body.error);
            return body;
          });
        })
        .then(function (reference) {
          var count = payload.modules.length;
          message.textContent = 'Recorded on ' + today() + ' for ' + count +
            (count === 1 ? ' module' : ' modules') + '. Your safeguarding lead can now see it.';
          if (payload.acknowledgment) {
            form.hidden = true;
            var cert = certificate(course, payload, target.name, reference);
            mount.appendChild(cert);
            cert.querySelector('h2').setAttribute('tabindex', '-1');
            cert.querySelector('h2').focus();
          } else {
            send.disabled = false;
          }
        })
        .catch(function (error) {
          send.disabled = false;
          message.textContent = 'Not sent: ' + error.message + '. Please try again.';
        });
    });
  }

  fetchJSON('course.json')
    .then(function (course) {
      var module = course.modules.filter(function (m) { return samePage(m.path); })[0];
      var test = ['pre', 'post'].map(function (id) {
        return { id: id, path: course.tests[id].path };
      }).filter(function (t) { return samePage(t.path); })[0];
      var page = module ? { kind: 'module', module: module } : test ? { kind: 'test', test: test } : null;
      if (module) timeOnPage(module.id);
      renderQuizzes(page, course);
      var scored = document.getElementById('qd-scored');
      if (scored && test) renderScored(page, course, scored);
      var mount = document.getElementById('qd-completion');
      if (mount) renderCompletion(course, mount);
    })
    .catch(function () { renderQuizzes(null, null); });

  if ('serviceWorker' in navigator && location.protocol !== 'file:') {
    navigator.serviceWorker.register(new URL('sw.js', root).href).catch(function () {});
  }
})();
