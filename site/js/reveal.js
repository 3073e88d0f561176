/* Inline just after the text box: shows it as soon as it has arrived, not after the whole page. */
Array.prototype.forEach.call(document.querySelectorAll('[data-needs-js]'), function (e) { e.hidden = false; });
