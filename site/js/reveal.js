/* Inline just after the text box: shows it as soon as it has arrived, not after the whole page. */
document.querySelectorAll('[data-needs-js]').forEach(function (element) { element.hidden = false; });
