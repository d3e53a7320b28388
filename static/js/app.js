// Small behaviours the pages share; no inline handlers, so the Content-Security-Policy
// allows no inline script.
"use strict";

// A <select data-autosubmit> sends its form as soon as a choice is made (the language picker).
document.addEventListener("change", function (event) {
  var field = event.target;
  if (field.matches && field.matches("[data-autosubmit]") && field.form) {
    field.form.submit();
  }
});

// An <input data-select-on-focus> selects its whole value when focused (a secret to copy).
document.addEventListener("focusin", function (event) {
  var field = event.target;
  if (field.matches && field.matches("[data-select-on-focus]")) {
    field.select();
  }
});
