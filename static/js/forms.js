// Forms (issue 11): the error summary takes the focus when the page opens, so a keyboard or
// screen-reader user hears what to fix; each of its links moves the focus to its field.
"use strict";

(function () {
  function focusSummary() {
    var summary = document.querySelector("[data-error-summary]");
    if (summary && !summary.dataset.focused) {
      summary.dataset.focused = "1";
      summary.focus();
    }
  }

  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("a[data-focus-field]");
    if (!link) {
      return;
    }
    var field = document.getElementById(link.dataset.focusField);
    if (field && field.matches("div, fieldset")) {
      field = field.querySelector("input, select, textarea"); // a group of checkboxes
    }
    if (!field) {
      return;
    }
    event.preventDefault();
    // The field's wrapper holds its label: scroll so the label shows above the field.
    var wrapper = field.closest(".field") || field;
    wrapper.scrollIntoView({ block: "start" });
    field.focus({ preventScroll: true });
  });

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", focusSummary);
  } else {
    focusSummary();
  }
})();
