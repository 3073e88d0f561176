/* Quiet Door staff training: knowledge checks, progress on this device, and the
 * encrypted completion record. No third-party code; the crypto comes from the
 * same vendored, integrity-checked files the student pages use. */
(function () {
  'use strict';

  var STORE = 'quietdoor.training';
  var root = new URL('..', document.currentScript.src);

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === 'text') node.textContent = attrs[k];
      else node.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) { node.appendChild(c); });
    return node;
  }

  function today() {
    var d = new Date();
    var pad = function (n) { return (n < 10 ? '0' : '') + n; };
    return d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' + pad(d.getDate());
  }

  function loadProgress() {
    try { return JSON.parse(localStorage.getItem(STORE)) || {}; } catch (e) { return {}; }
  }

  function saveProgress(progress) {
    try { localStorage.setItem(STORE, JSON.stringify(progress)); } catch (e) { /* private mode */ }
  }

  function samePage(path) {
    var strip = function (p) { return p.replace(/index\.html$/, ''); };
    return strip(new URL(path, root).pathname) === strip(location.pathname);
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

  function renderQuizzes(module) {
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
      q.options.forEach(function (option, i) {
        var id = name + '-' + i;
        fieldset.appendChild(el('div', { 'class': 'qd-option' }, [
          el('input', { type: 'radio', name: name, id: id, value: String(i) }),
          el('label', { 'for': id, text: option.text })
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
        if (answered === results.length && module) {
          var score = results.filter(Boolean).length;
          var progress = loadProgress();
          progress[module.id] = {
            version: module.version, score: score, questions: results.length, completed_on: today()
          };
          saveProgress(progress);
          summary.textContent = 'You answered ' + score + ' of ' + results.length +
            ' correctly on the first try. This module is marked as done on this device.';
        }
      });
      container.parentNode.replaceChild(form, container);
      if (index === blocks.length - 1) form.parentNode.insertBefore(summary, form.nextSibling);
    });
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

  function renderCompletion(course, mount) {
    var progress = loadProgress();
    var list = el('ul', { 'class': 'qd-progress' });
    var done = [];
    course.modules.forEach(function (m) {
      var p = progress[m.id];
      var state = 'not done yet';
      if (p && p.version === m.version) {
        state = 'done on ' + p.completed_on + ' (' + p.score + ' of ' + p.questions + ')';
        done.push({ id: m.id, version: p.version, score: p.score, questions: p.questions,
          completed_on: p.completed_on });
      } else if (p) {
        state = 'changed since you read it: please read it again';
      }
      list.appendChild(el('li', {}, [
        el('a', { href: new URL(m.path, root).href, text: m.title }),
        document.createTextNode(': ' + state)
      ]));
    });
    var school = el('select', { id: 'qd-school', name: 'school', required: '' },
      [el('option', { value: '', text: 'Choose your school' })].concat(course.schools.map(function (s) {
        return el('option', { value: s.slug, text: s.name });
      })));
    var name = el('input', { id: 'qd-name', name: 'name', autocomplete: 'name', required: '' });
    var role = el('input', { id: 'qd-role', name: 'role', required: '',
      placeholder: 'for example: teacher, counselor, bus driver' });
    var status = el('p', { id: 'qd-status', role: 'status' });
    var send = el('button', { type: 'submit', 'class': 'md-button md-button--primary',
      text: 'Send my completion record' });
    var form = el('form', { id: 'qd-completion-form', novalidate: '' }, [
      el('label', { 'for': 'qd-name', text: 'Your name' }), name,
      el('label', { 'for': 'qd-role', text: 'Your role' }), role,
      el('label', { 'for': 'qd-school', text: 'Your school' }), school,
      send, status
    ]);
    mount.appendChild(list);
    mount.appendChild(form);
    form.addEventListener('submit', function (event) {
      event.preventDefault();
      if (!name.value.trim() || !role.value.trim() || !school.value) {
        status.textContent = 'Please fill in your name, role and school.';
        return;
      }
      if (!done.length) {
        status.textContent = 'Finish at least one module\u2019s knowledge check first.';
        return;
      }
      var target = course.schools.filter(function (s) { return s.slug === school.value; })[0];
      send.disabled = true;
      status.textContent = 'Sending\u2026';
      course.scripts.reduce(function (p, s) { return p.then(function () { return loadScript(s); }); },
        Promise.resolve())
        .then(function () {
          var qd = window.QuietDoorEnvelope(window.nacl, window.blakejs);
          var record = {
            person: { name: name.value.trim(), role: role.value.trim(), school: target.slug },
            modules: done
          };
          var body = qd.newTraining(target.slug, target.recipients, record, new Date());
          return fetch(course.relay_url + '/api/v1/cases', {
            method: 'POST', body: JSON.stringify(body), credentials: 'omit',
            headers: { 'content-type': 'application/json' }, referrerPolicy: 'no-referrer'
          });
        })
        .then(function (answer) {
          if (answer.status !== 201) {
            return answer.json().then(function (body) { throw new Error(body.error); });
          }
          status.textContent = 'Recorded on ' + today() + ' for ' + done.length +
            ' module(s). Your safeguarding lead can now see it. You can print this page for your own records.';
        })
        .catch(function (error) {
          send.disabled = false;
          status.textContent = 'Not sent: ' + error.message + '. Please try again.';
        });
    });
  }

  fetch(new URL('course.json', root).href)
    .then(function (answer) { return answer.json(); })
    .then(function (course) {
      var module = course.modules.filter(function (m) { return samePage(m.path); })[0];
      renderQuizzes(module);
      var mount = document.getElementById('qd-completion');
      if (mount) renderCompletion(course, mount);
    })
    .catch(function () { renderQuizzes(null); });

  if ('serviceWorker' in navigator && location.protocol !== 'file:') {
    navigator.serviceWorker.register(new URL('sw.js', root).href).catch(function () {});
  }
})();
