// The desk without this file works the same; this only keeps "last checked" current,
// says when a check brought new messages (it never reloads a page with a draft), and
// posts each form marked data-autopost as the page opens (the case's read receipt, the
// inbox's "seen": no GET changes anything, so the page sends it, as its button would).
(function () {
  "use strict";
  Array.prototype.forEach.call(document.querySelectorAll("form[data-autopost]"), function (form) {
    var body = new URLSearchParams(new FormData(form));
    fetch(form.action, { method: "POST", credentials: "same-origin", body: body })
      .then(function (r) {
        // Done: redirected to a page saying so. Locked meanwhile: redirected to "/" only.
        if (!r.ok || !r.redirected || !new URL(r.url).searchParams.get("done")) return;
        if (!form.dataset.autopost) { form.remove(); return; }  // nothing to say (seen)
        var done = document.createElement("p");
        done.className = "done";
        done.setAttribute("role", "status");
        done.textContent = form.dataset.autopost;
        form.replaceWith(done);
      })
      .catch(function () { /* the button stays: the lead can press it */ });
  });
  var body = document.body;
  var line = document.getElementById("last-checked");
  var fresh = document.getElementById("fresh");

  function drafting() {
    return Array.prototype.some.call(document.querySelectorAll("textarea"), function (t) {
      return t.value.trim() !== "";
    });
  }
  if (!line || !body.dataset.fetches) return;
  var seen = Number(body.dataset.fetches);
  var wasChecking = body.dataset.checking === "yes";

  function show(status) {
    if (!status.unlocked) {
      // Locked (the button elsewhere, or the idle lock): go to the unlock page, unless
      // that would throw away text the lead is writing.
      if (!drafting()) { window.location.assign("/"); return; }
      fresh.textContent = "The desk is locked. Your text is still here: copy it, " +
        "then unlock again from All cases.";
      fresh.className = "problem";
      fresh.hidden = false;
      return;
    }
    if (status.checking) {
      line.textContent = "Checking for new messages…";
    } else if (status.last_checked) {
      var news = status.new === 1 ? ": 1 new message" : status.new > 1 ? ": " + status.new + " new messages" : "";
      line.textContent = "Last checked at " + status.last_checked + news + ".";
    }
    if (status.fetches > seen && status.new > 0) {
      // On the inbox, right after unlocking, show the cases at once; elsewhere, say so.
      if (wasChecking && body.dataset.page === "inbox") { window.location.reload(); return; }
      fresh.hidden = false;
    }
    if (status.fetches > seen) { seen = status.fetches; wasChecking = false; }
  }

  function poll() {
    fetch("/status", { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (status) {
        if (status) show(status);
        window.setTimeout(poll, status && status.checking ? 2000 : 15000);
      })
      .catch(function () { window.setTimeout(poll, 15000); });
  }
  window.setTimeout(poll, wasChecking ? 1000 : 15000);
})();
