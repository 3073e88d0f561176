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
  var LANG = document.documentElement.lang || 'en';
  var site = new URL('..', document.currentScript.src);
  var root = LANG === 'en' ? site : new URL('..', site);
  /* This language's words (training-text.js, loaded before this script). */
  var TEXT = window.QuietDoorTrainingText || {};
  var WORDS = TEXT[LANG] || TEXT.en || {};

  /* One whole sentence or label of this language, with its {names} filled in. */
  function say(key, values) {
    return (WORDS[key] || key).replace(/\{(\w+)\}/g, function (all, name) {
      return values && values[name] !== undefined ? String(values[name]) : all;
    });
  }

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
  }

  function saveProgress(progress) {
    try { localStorage.setItem(STORE, JSON.stringify(progress)); } catch (e) { /* private mode */ }
  }

  function samePage(path) {
    var strip = function (p) { return p.replace(/index\.html$/, ''); };
    return strip(new URL(path, site).pathname) === strip(location.pathname);
  }

  /* The schools' files are the English course's; course.json and items.json are this
   * language's (its titles and items: same ids, versions and option order). */
  function fetchJSON(path, base) {
    return fetch(new URL(path, base || root).href).then(function (answer) {
      if (!answer.ok) throw new Error(say('load_failed', { path: path }));
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
  function recordResult(page, score, total) {
    var progress = loadProgress();
    var kept = progress.modules[page.module.id];
    if (kept && kept.version === page.module.version) {
      return say('practice_again', { score: score, total: total, date: kept.completed_on });
    }
    progress.modules[page.module.id] = {
      version: page.module.version, score: score, questions: total, completed_on: today()
    };
    saveProgress(progress);
    return say('practice_first', { score: score, total: total });
  }
  /* A question with its options in a shuffled order; each radio keeps the option's written
     position as its value, whatever order it shows in. */
  function questionFieldset(name, number, text, options) {
    var fieldset = el('fieldset', { 'class': 'qd-question' }, [
      el('legend', { text: number + '. ' + text })]);
    shuffled(options.map(function (option, i) { return { text: option, i: i }; }))
      .forEach(function (option, shown) {
        var id = name + '-' + shown;
        fieldset.appendChild(el('div', { 'class': 'qd-option' }, [
          el('input', { type: 'radio', name: name, id: id, value: String(option.i) }),
          el('label', { 'for': id, text: option.text })]));
      });
    return fieldset;
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
      var fieldset = questionFieldset(name, index + 1, q.text,
        q.options.map(function (option) { return option.text; }));
      var check = el('button', { type: 'submit', 'class': 'md-button md-button--primary',
        text: say('check_answer') });
      var form = el('form', { 'class': 'qd-quiz', novalidate: '' }, [fieldset, check, feedback]);
      form.addEventListener('submit', function (event) {
        event.preventDefault();
        var chosen = form.querySelector('input[name="' + name + '"]:checked');
        if (!chosen) {
          feedback.textContent = say('choose_first');
          return;
        }
        var option = q.options[Number(chosen.value)];
        feedback.className = 'qd-feedback ' + (option.correct ? 'qd-right' : 'qd-wrong');
        feedback.textContent = say(option.correct ? 'feedback_right' : 'feedback_wrong',
          { feedback: option.feedback });
        if (results[index] === undefined) results[index] = option.correct;
        var answered = results.filter(function (r) { return r !== undefined; }).length;
        // Only a module's checks count (a quiz on another page is practice and no more).
        if (answered === results.length && page && page.kind === 'module' &&
            !summary.textContent) {
          summary.textContent = recordResult(page, results.filter(Boolean).length, results.length);
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
        note = say('pre_kept', { date: kept.taken_on });
      } else if (started) {
        note = say('pre_started');
      } else {
        progress.tests.pre = attempt;
        note = say('pre_recorded');
      }
    } else {
      var post = kept && kept.first && inCycle(kept.first.taken_on, months) ? kept : {};
      post.first = post.first || attempt;
      if (!post.passed && passes(attempt, course)) post.passed = attempt;
      progress.tests.post = post;
      note = post.first === attempt ? say('post_first')
        : say('post_again', { date: post.first.taken_on });
    }
    saveProgress(progress);
    return note;
  }

  function renderScored(page, course, mount) {
    fetchJSON('items.json', site).then(function (bank) {
      var skills = {};
      bank.skills.forEach(function (s) { skills[s.id] = s; });
      var items = draw(bank, loadProgress().seen || []);
      var fieldsets = items.map(function (item, index) {
        return questionFieldset('qd-s' + index, index + 1, item.text, item.options);
      });
      var submit = el('button', { type: 'submit', 'class': 'md-button md-button--primary',
        text: say('submit_answers') });
      var result = el('div', { 'class': 'qd-summary', role: 'status', id: 'qd-result' });
      var form = el('form', { 'class': 'qd-scored', novalidate: '' }, fieldsets.concat([submit]));
      mount.appendChild(el('p', { 'class': 'qd-help', text: say(
        page.test.id === 'post' ? 'help_post' : 'help_pre',
        { count: items.length, pass: course.pass_percent }) }));
      mount.appendChild(form);
      mount.appendChild(result);
      form.addEventListener('submit', function (event) {
        event.preventDefault();
        var chosen = items.map(function (item, index) {
          var c = form.querySelector('input[name="qd-s' + index + '"]:checked');
          return c ? Number(c.value) : -1;
        });
        if (chosen.indexOf(-1) >= 0) {
          result.textContent = say('answer_all', { number: chosen.indexOf(-1) + 1 });
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
      mount.textContent = say('questions_failed');
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
    result.appendChild(el('p', { text: say('score', { score: attempt.score,
      total: attempt.questions, percent: percent, note: note }) }));
    var post = page.test.id === 'post';
    if (post) {
      result.appendChild(el('p', { 'class': 'qd-pass', text: say(
        passes(attempt, course) ? 'passed' : 'below_pass', { pass: course.pass_percent }) }));
    }
    if (missed.length) {
      result.appendChild(el('p', { text: say(post ? 'revisit_post' : 'revisit_pre') }));
      result.appendChild(el('ul', { 'class': 'qd-revisit' }, missed.map(function (s) {
        var links = s.modules.filter(function (m) { return titles[m]; }).map(function (m) {
          return el('a', { href: new URL(titles[m].path, site).href, text: titles[m].title });
        });
        var item = el('li', { text: say('skill_modules', { skill: s.title }) });
        links.forEach(function (a, i) {
          if (i) item.appendChild(document.createTextNode(say('list_separator')));
          item.appendChild(a);
        });
        return item;
      })));
    }
    if (post && !passes(attempt, course)) {
      var again = el('button', { type: 'button', 'class': 'md-button', id: 'qd-retake',
        text: say('retake') });
      again.addEventListener('click', function () { location.reload(); });
      result.appendChild(again);
    }
  }

  function loadScript(script) {
    return new Promise(function (resolve, reject) {
      var s = el('script', { src: new URL(script.src, root).href, integrity: script.integrity,
        crossorigin: 'anonymous' });
      s.onload = resolve;
      s.onerror = function () { reject(new Error(say('load_failed', { path: script.src }))); };
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
      var state = say('module_not_done');
      if (p && p.version === m.version) {
        state = say('module_done', { date: p.completed_on, score: p.score, total: p.questions });
        done.push({ id: m.id, version: p.version, score: p.score, questions: p.questions,
          completed_on: p.completed_on, seconds: Math.min(MAX_SECONDS, time[m.id] || 0) });
      } else if (p) {
        state = say('module_changed');
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

  /* The one place that builds a completion record's payload: the training record's own fields (docs/PROTOCOL.md, kind "training"); the envelope code
   * adds the header (kind, school, case, message id, time) and the throwaway key the record
   * is sealed to and bound by (record_pk), and seals it. */
  function completionPayload(course, person, status, acknowledgment, day) {
    var payload = { person: person, state: course.state.code, modules: status.modules,
      language: LANG };
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
    return (texts[LANG] || texts.en).replace('{date}', day);
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
      el('label', { 'for': 'qd-district', text: say('your_district') }), district]);
    var schoolField = el('div', { 'class': 'qd-field' }, [
      el('label', { 'for': 'qd-school', text: say('your_school') }), school]);
    fill(district, say('loading_districts'), []);
    fill(school, say('choose_district_first'), []);

    function loadDistrict(slug) {
      school.disabled = true;
      fill(school, say('loading_schools'), []);
      if (!SLUG.test(slug)) { fill(school, say('choose_district_first'), []); return Promise.resolve(); }
      return fetchJSON(course.schools.district + slug + '.json').then(function (d) {
        fill(school, say('choose_school'), d.schools);
        school.disabled = false;
      }).catch(function () {
        fill(school, say('choose_district_first'), []);
        status.textContent = say('schools_failed');
      });
    }

    district.addEventListener('change', function () { loadDistrict(district.value); });
    var ready = fetchJSON(course.schools.districts).then(function (index) {
      fill(district, say('choose_district'), index.districts);
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
      status.textContent = say('districts_failed');
    });
    return { fields: [districtField, schoolField], school: school, ready: ready };
  }

  function certificate(course, payload, schoolName, reference) {
    var titles = {};
    course.modules.forEach(function (m) { titles[m.id] = m.title; });
    var score = function (t) {
      return t ? say('test_score', { score: t.score, total: t.questions, date: t.taken_on })
        : say('not_taken');
    };
    var total = 0;
    var table = el('table', {}, [
      el('thead', {}, [el('tr', {}, [
        el('th', { scope: 'col', text: say('col_module') }),
        el('th', { scope: 'col', text: say('col_version') }),
        el('th', { scope: 'col', text: say('col_completed') }),
        el('th', { scope: 'col', text: say('col_time') }),
        el('th', { scope: 'col', text: say('col_credited') })])]),
      el('tbody', {}, payload.modules.map(function (m) {
        var minutes = credited(course, m);
        total += minutes;
        return el('tr', {}, [el('td', { text: titles[m.id] || m.id }), el('td', { text: m.version }),
          el('td', { text: m.completed_on }),
          el('td', { text: say('minutes', { minutes: Math.round((m.seconds || 0) / 60) }) }),
          el('td', { text: say('minutes', { minutes: minutes }) })]);
      }))
    ]);
    var print = el('button', { type: 'button', 'class': 'md-button md-button--primary qd-print',
      text: say('print') });
    print.addEventListener('click', function () { window.print(); });
    document.documentElement.classList.add('qd-has-certificate');
    return el('section', { id: 'qd-certificate', 'aria-labelledby': 'qd-certificate-title' }, [
      el('h2', { id: 'qd-certificate-title', text: say('cert_title') }),
      el('p', { 'class': 'qd-cert-name', text: payload.person.name }),
      el('p', { text: say(payload.person.staff_id ? 'cert_role_staff_id' : 'cert_role', {
        role: payload.person.role, school: schoolName, staff_id: payload.person.staff_id }) }),
      el('p', { text: say('cert_provider', { provider: course.provider || say('not_named'),
        version: course.version || say('not_named') }) }),
      el('p', { text: say(course.state.code === 'general' ? 'cert_done_general' : 'cert_done_state',
        { date: payload.attestation.on, state: course.state.name }) }),
      el('p', { text: say('cert_language') }),
      table,
      el('p', { text: say('cert_hours', { hours: (total / 60).toLocaleString(LANG,
        { minimumFractionDigits: 2, maximumFractionDigits: 2 }) }) }),
      el('p', { text: say('cert_tests', { pre: score(payload.pre), post: score(payload.post),
        passed: score(payload.post_passed), pass: course.pass_percent }) }),
      el('p', { text: say('cert_attested', { date: payload.attestation.on,
        state: course.state.name, wording: payload.attestation.wording }) }),
      el('blockquote', { 'class': 'qd-attestation', text: payload.attestation.text }),
      el('p', { text: say('cert_own_words') }),
      el('blockquote', { text: payload.acknowledgment.text }),
      el('p', { 'class': 'qd-cert-ref', text: say('cert_reference',
        { id: reference.id, received: reference.received }) }),
      print
    ]);
  }

  function renderCompletion(course, mount) {
    var status = standing(course);
    var list = el('ul', { 'class': 'qd-progress' });
    var testRow = function (label, path, t) {
      return el('li', {}, [el('a', { href: new URL(path, site).href, text: label }),
        document.createTextNode(say('row_status', { status: t
          ? say('test_taken', { date: t.taken_on, score: t.score, total: t.questions })
          : say('test_not_taken') }))]);
    };
    list.appendChild(testRow(say('before_start'), course.tests.pre.path, status.pre));
    status.rows.forEach(function (r) {
      list.appendChild(el('li', {}, [el('a', { href: new URL(r.path, site).href, text: r.title }),
        document.createTextNode(say('row_status', { status: r.state }))]));
    });
    list.appendChild(testRow(say('final_check'), course.tests.post.path, status.post));

    var message = el('p', { id: 'qd-status', role: 'status' });
    // The key tool reads at most 200 characters of a name or role (quietdoor/payloads).
    var name = el('input', { id: 'qd-name', name: 'name', autocomplete: 'name', required: '',
      maxlength: '200' });
    var role = el('input', { id: 'qd-role', name: 'role', required: '', maxlength: '200',
      placeholder: say('role_example') });
    var staffId = el('input', { id: 'qd-staff-id', name: 'staff_id', maxlength: '64',
      autocomplete: 'off' });
    var picker = schoolPicker(course, message);
    var fields = [
      el('div', { 'class': 'qd-field' }, [el('label', { 'for': 'qd-name', text: say('your_name') }), name]),
      el('div', { 'class': 'qd-field' }, [el('label', { 'for': 'qd-role', text: say('your_role') }), role]),
      el('div', { 'class': 'qd-field' }, [
        el('label', { 'for': 'qd-staff-id', text: say('your_staff_id') }), staffId])
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
        el('label', { 'for': 'qd-ack', text: say('your_ack') }),
        el('p', { id: 'qd-ack-help', 'class': 'qd-help', text: say('ack_help') }),
        ack]));
    } else {
      fields.push(el('p', { 'class': 'qd-help', text: say('finish_first') }));
    }
    var send = el('button', { type: 'submit', 'class': 'md-button md-button--primary',
      text: say(status.complete ? 'send_complete' : 'send_progress') });
    var form = el('form', { id: 'qd-completion-form', novalidate: '' }, fields.concat([send]));
    mount.appendChild(list);
    mount.appendChild(form);
    mount.appendChild(message);

    form.addEventListener('submit', function (event) {
      event.preventDefault();
      var slug = picker.school.value;
      if (!name.value.trim() || !role.value.trim() || !slug) {
        message.textContent = say('fill_in');
        return;
      }
      if (!status.modules.length) {
        message.textContent = say('one_module_first');
        return;
      }
      if (attest && !attest.checked) {
        message.textContent = say('tick_attest');
        attest.focus();
        return;
      }
      var words = ack ? ack.value.trim().split(/\s+/).filter(Boolean).length : 0;
      if (ack && words < MIN_ACK_WORDS) {
        message.textContent = say('ack_words', { count: MIN_ACK_WORDS });
        ack.focus();
        return;
      }
      var person = { name: name.value.trim(), role: role.value.trim(), school: slug };
      if (staffId.value.trim()) person.staff_id = staffId.value.trim();
      var payload = null;
      var target = null;
      send.disabled = true;
      message.textContent = say('sending');
      fetchJSON(course.schools.school + slug + '.json')
        .then(function (s) {
          target = s;
          var day = schoolDay(s.timezone);
          var label = attest && form.querySelector('label[for="qd-attest"]');
          if (label && label.textContent !== attestationText(course, day)) {
            /* The school's day is not this device's: sign only what was shown. */
            label.textContent = attestationText(course, day);
            attest.checked = false;
            throw new Error(say('school_day_changed', { date: day }));
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
          message.textContent = say(count === 1 ? 'recorded_one' : 'recorded_many',
            { date: today(), count: count });
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
          message.textContent = say('not_sent', { error: error.message });
        });
    });
  }

  fetchJSON('course.json', site)
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
